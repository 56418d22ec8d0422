/**
 * The `.r3m` reader: bytes of either container back to validated {@link MemoryData}. The full
 * container is read in steps, each a function: the header (magic, version, checksums, length,
 * fingerprint), the shape, the node table, the slots and scales, the residual and annotations.
 * The layout is in `docs/FORMAT.md`; the writer and the shared checks are in `./r3m_format.ts`.
 *
 * @module
 */
import { FormatError, InputError, ModelMismatchError } from "../errors.ts";
import { ByteReader, hex, readMeta } from "./byte_io.ts";
import { crc32 } from "./crc32.ts";
import type { MemoryData, MemoryNode } from "./memory_data.ts";
import { COMPACT_MAGIC, decodeCompact } from "./r3m_compact.ts";
import { FLAG_TURNS, readTurns, turnsProblem } from "./r3m_turns.ts";
import {
  describe,
  EMPTY_SCALES,
  EMPTY_SLOTS,
  FLAG_CACHE,
  FLAG_META,
  FLAG_RESIDUAL,
  KNOWN_FLAGS,
  LEVELS,
  normalizeFingerprint,
  R3M_HEADER_BYTES,
  R3M_LIMITS,
  R3M_MAGIC,
  R3M_TRAILER_BYTES,
  R3M_VERSION,
  SLOTLESS_BIT,
  spaced,
  validateMemoryData,
} from "./r3m_format.ts";

/** Options of {@link decodeR3M}. */
export interface DecodeOptions {
  /**
   * Fingerprint (64 hex characters) of the model that will use the memory. If given and the
   * file was written by another model, decoding throws {@linkcode ModelMismatchError}.
   */
  expectModel?: string;
}

/**
 * Decode and fully validate `.r3m` bytes. The typed arrays of the result are fresh copies; the
 * input is not kept. Allocation is bounded by the input size (slots, scales and residual take
 * exactly the bytes they occupy in the file).
 *
 * Checks, in order: magic, version, header length and CRC, reserved flags, exact file length
 * (truncation, trailing bytes), payload CRC, model fingerprint (`opts.expectModel`), then the
 * structure (every count against the remaining bytes, the node tree and spans as in
 * `validateMemoryData`, canonical encoding, no unread bytes).
 *
 * @throws {FormatError} If the bytes are not a valid `.r3m` file (message says why).
 * @throws {ModelMismatchError} If `opts.expectModel` differs from the file's model.
 * @throws {InputError} If `bytes` is not a Uint8Array or `expectModel` is not a fingerprint.
 *
 * @example
 * ```ts
 * import { decodeR3M } from "./r3m_read.ts";
 * import { FormatError } from "../errors.ts";
 * try {
 *   decodeR3M(new TextEncoder().encode("hello"));
 * } catch (e) {
 *   console.log(e instanceof FormatError, (e as Error).message); // true "Not an .r3m file…"
 * }
 * ```
 */
export function decodeR3M(bytes: Uint8Array, opts: DecodeOptions = {}): MemoryData {
  if (!(bytes instanceof Uint8Array)) {
    throw new InputError(`Expected the .r3m bytes as a Uint8Array, got ${describe(bytes)}`);
  }
  const expect = opts.expectModel === undefined
    ? undefined
    : normalizeFingerprint(opts.expectModel, "expectModel");
  if (bytes.length >= 2 && bytes[0] === COMPACT_MAGIC[0] && bytes[1] === COMPACT_MAGIC[1]) {
    const data = decodeCompact(bytes, expect);
    validateMemoryData(data, (m) => new FormatError(`Invalid compact .r3m file: ${m}`));
    return data;
  }
  const head = readHeader(bytes, expect);
  const r = new ByteReader(bytes, R3M_HEADER_BYTES, head.end);
  const shape = readShape(r);
  const table = readNodeTable(r, shape);
  readSlots(r, head.view, shape, table);
  const { slotCount, dim, textBytes, tokenCount } = shape;
  const data: MemoryData = {
    modelFingerprint: head.modelFingerprint,
    slotCount,
    dim,
    textBytes,
    tokenCount,
    nodes: table.nodes,
  };
  if (head.flags & FLAG_RESIDUAL) {
    data.residual = readResidual(r, bytes, shape.tokenCount);
    if (head.flags & FLAG_CACHE) data.residual.cache = true;
  }
  if (head.flags & FLAG_TURNS) {
    data.turns = readTurns(r, table.nodes.length - 1);
    const problem = turnsProblem(data);
    if (problem) throw new FormatError(`Invalid conversation memory: ${problem}`);
  }
  if (head.flags & FLAG_META) data.meta = readMeta(r);
  if (r.pos !== head.end) {
    throw new FormatError(`${head.end - r.pos} unexpected bytes at the end of the payload`);
  }
  return data;
}

/** What the header says: flags, where the payload ends, which model wrote the file. */
interface Header {
  view: DataView;
  flags: number;
  end: number;
  modelFingerprint: string;
}

// Magic, version, lengths, both checksums, flags and the fingerprint, in that order.
function readHeader(bytes: Uint8Array, expect: string | undefined): Header {
  const len = bytes.length;
  for (let i = 0; i < 4; i++) {
    if (i >= len || bytes[i] !== R3M_MAGIC[i]) {
      throw new FormatError(
        `Not an .r3m file: expected magic bytes ${spaced(R3M_MAGIC)} (or ` +
          `${spaced(COMPACT_MAGIC)} for a compact one), got ` +
          `${spaced(bytes.subarray(0, 4)) || "nothing"}`,
      );
    }
  }
  if (len < 6) throw new FormatError(`Truncated .r3m file: ${len} bytes, header needs 48`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(4, true);
  if (version !== R3M_VERSION) {
    throw new FormatError(
      `Unsupported .r3m version ${version}: this reader supports version ${R3M_VERSION}`,
    );
  }
  if (len < R3M_HEADER_BYTES + R3M_TRAILER_BYTES) {
    throw new FormatError(
      `Truncated .r3m file: ${len} bytes, the smallest possible file has ` +
        `${R3M_HEADER_BYTES + R3M_TRAILER_BYTES}`,
    );
  }
  if (view.getUint32(44, true) !== crc32(bytes, 0, 44)) {
    throw new FormatError(`Header checksum mismatch: the .r3m file is damaged`);
  }
  const flags = view.getUint16(6, true);
  if ((flags & ~KNOWN_FLAGS) !== 0) {
    throw new FormatError(`Unknown flags 0x${flags.toString(16)} in .r3m header`);
  }
  if ((flags & (FLAG_CACHE | FLAG_TURNS)) && !(flags & FLAG_RESIDUAL)) {
    throw new FormatError(`The document-cache or turns flag is set but there is no residual`);
  }
  const payloadLen = view.getUint32(40, true);
  const expectedLen = R3M_HEADER_BYTES + payloadLen + R3M_TRAILER_BYTES;
  if (len < expectedLen) {
    throw new FormatError(`Truncated .r3m file: ${len} bytes, header says ${expectedLen}`);
  }
  if (len > expectedLen) {
    throw new FormatError(
      `${len - expectedLen} unexpected bytes after the end of the .r3m file ` +
        `(header says ${expectedLen} bytes)`,
    );
  }
  const end = R3M_HEADER_BYTES + payloadLen;
  if (view.getUint32(end, true) !== crc32(bytes, R3M_HEADER_BYTES, end)) {
    throw new FormatError(`Payload checksum mismatch: the .r3m file is damaged`);
  }
  const modelFingerprint = hex(bytes.subarray(8, 40));
  if (expect !== undefined && expect !== modelFingerprint) {
    throw new ModelMismatchError(
      `Memory was written by model ${modelFingerprint}, but model ${expect} was asked to read it`,
    );
  }
  return { view, flags, end, modelFingerprint };
}

/** The memory's shape: slots per node, their width, the text's length in bytes and tokens. */
interface Shape {
  slotCount: number;
  dim: number;
  textBytes: number;
  tokenCount: number;
}

// The shape and the node count, each against its limit and the bytes left.
function readShape(r: ByteReader): Shape & { nodeCount: number } {
  const L = R3M_LIMITS;
  const slotCount = r.varint("slotCount");
  const dim = r.varint("dim");
  const textBytes = r.varint("textBytes");
  const tokenCount = r.varint("tokenCount");
  const nodeCount = r.varint("node count");
  if (slotCount < 1 || slotCount > L.maxSlotCount) {
    throw new FormatError(`slotCount ${slotCount} out of range 1..${L.maxSlotCount}`);
  }
  if (dim < 1 || dim > L.maxDim) throw new FormatError(`dim ${dim} out of range 1..${L.maxDim}`);
  const perNode = slotCount * dim;
  if (perNode > L.maxValuesPerNode) {
    throw new FormatError(`slotCount*dim = ${perNode} exceeds ${L.maxValuesPerNode}`);
  }
  if (nodeCount < 1) throw new FormatError(`A memory needs at least its document node`);
  // Each node takes at least 6 table bytes (slots and scales are checked after the table).
  r.need(nodeCount * 6, `A node table of ${nodeCount} nodes`);
  return { slotCount, dim, textBytes, tokenCount, nodeCount };
}

/** The node table read: nodes without slots yet, and which of them carry slots. */
interface NodeTable {
  nodes: MemoryNode[];
  slotted: boolean[];
  slottedCount: number;
}

// The node table: level and slot bit, parent (a backward delta), spans as deltas from the end of
// the previous sibling; each checked against its parent as it is read.
function readNodeTable(r: ByteReader, shape: Shape & { nodeCount: number }): NodeTable {
  const { nodeCount, textBytes, tokenCount } = shape;
  // Plain arrays for the per-node bookkeeping: cheaper than typed arrays for small counts, and
  // bounded like everything else by the node count already checked.
  const nodes: MemoryNode[] = new Array(nodeCount);
  const levels: number[] = new Array(nodeCount);
  // Per node: end of its last child so far (the anchor of the next child's start).
  const lastByte: number[] = new Array(nodeCount);
  const lastToken: number[] = new Array(nodeCount);
  const slotted: boolean[] = new Array(nodeCount);
  let slottedCount = 0;
  for (let i = 0; i < nodeCount; i++) {
    const code = r.u8("level", i);
    const level = code & ~SLOTLESS_BIT;
    if (level > 2) throw new FormatError(`Node ${i}: unknown level code ${code}`);
    slotted[i] = (code & SLOTLESS_BIT) === 0;
    if (slotted[i]) slottedCount++;
    const delta = r.varint("parent", i);
    const parent = i - delta;
    let byteAnchor = 0, byteLimit = textBytes, tokenAnchor = 0, tokenLimit = tokenCount;
    if (i === 0) {
      if (delta !== 1 || level !== 0) {
        throw new FormatError(`Node 0 must be the document root (level document, no parent)`);
      }
    } else {
      if (delta < 1 || parent < 0) {
        throw new FormatError(`Node ${i}: parent index ${parent} is not an earlier node`);
      }
      if (level !== levels[parent] + 1) {
        throw new FormatError(
          `Node ${i}: a ${LEVELS[level]} node cannot be a child of a ` +
            `${LEVELS[levels[parent]]} node`,
        );
      }
      const pn = nodes[parent];
      byteAnchor = lastByte[parent];
      byteLimit = pn.byteEnd;
      tokenAnchor = lastToken[parent];
      tokenLimit = pn.tokenEnd;
    }
    const byteStart = byteAnchor + r.varint("byte start", i);
    const byteEnd = byteStart + r.varint("byte length", i);
    const tokenStart = tokenAnchor + r.varint("token start", i);
    const tokenEnd = tokenStart + r.varint("token length", i);
    if (byteEnd > byteLimit) {
      throw new FormatError(
        `Node ${i}: byte span [${byteStart}, ${byteEnd}) overruns its parent (ends at ${byteLimit})`,
      );
    }
    if (tokenEnd > tokenLimit) {
      throw new FormatError(
        `Node ${i}: token span [${tokenStart}, ${tokenEnd}) overruns its parent ` +
          `(ends at ${tokenLimit})`,
      );
    }
    levels[i] = level;
    nodes[i] = {
      level: LEVELS[level],
      parent,
      byteStart,
      byteEnd,
      tokenStart,
      tokenEnd,
      slots: EMPTY_SLOTS,
      scales: EMPTY_SCALES,
    };
    if (i > 0) {
      lastByte[parent] = byteEnd;
      lastToken[parent] = tokenEnd;
    }
    lastByte[i] = byteStart;
    lastToken[i] = tokenStart;
  }
  return { nodes, slotted, slottedCount };
}

// Slots and scales of the slotted nodes, into one buffer (scales 4-byte aligned after the slots);
// every scale must be finite.
function readSlots(r: ByteReader, view: DataView, shape: Shape, table: NodeTable): void {
  const { slotCount } = shape;
  const perNode = slotCount * shape.dim;
  const { nodes, slotted, slottedCount } = table;
  const slotBytes = slottedCount * perNode;
  const scaleCount = slottedCount * slotCount;
  r.need(slotBytes + scaleCount * 4, `Slot data of ${slottedCount} nodes`);
  const scaleOffset = Math.ceil(slotBytes / 4) * 4;
  const store = new ArrayBuffer(scaleOffset + scaleCount * 4);
  const slotAll = new Int8Array(store, 0, slotBytes);
  const scaleAll = new Float32Array(store, scaleOffset, scaleCount);
  for (let i = 0, j = 0; i < nodes.length; i++) {
    if (!slotted[i]) {
      continue; // keeps EMPTY_SLOTS / EMPTY_SCALES (zero-length, so immutable in effect)
    }
    nodes[i].slots = slotAll.subarray(j * perNode, (j + 1) * perNode);
    nodes[i].scales = scaleAll.subarray(j * slotCount, (j + 1) * slotCount);
    j++;
  }
  slotAll.set(new Int8Array(view.buffer, view.byteOffset + r.pos, slotBytes));
  r.pos += slotBytes;
  for (let k = 0; k < scaleCount; k++) {
    const v = view.getFloat32(r.pos, true);
    if (!Number.isFinite(v)) {
      throw new FormatError(
        `Slotted node ${Math.floor(k / slotCount)}: scale ${k % slotCount} is ${v}`,
      );
    }
    scaleAll[k] = v;
    r.pos += 4;
  }
}

// The residual: how many tokens it codes (at most the memory's), then its bytes, copied.
function readResidual(
  r: ByteReader,
  bytes: Uint8Array,
  tokenCount: number,
): NonNullable<MemoryData["residual"]> {
  const codedTokens = r.varint("residual coded tokens");
  if (codedTokens > tokenCount) {
    throw new FormatError(
      `Residual codes ${codedTokens} tokens but the memory has only ${tokenCount}`,
    );
  }
  const n = r.varint("residual length");
  r.need(n, "The residual");
  const residual = { codedTokens, bytes: bytes.slice(r.pos, r.pos + n) };
  r.pos += n;
  return residual;
}
