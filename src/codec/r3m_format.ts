/**
 * The `.r3m` binary format: its constants and limits, the validation of {@linkcode MemoryData}
 * and the writer. The byte layout is specified in `docs/FORMAT.md`; this file and the reader
 * (`./r3m_read.ts`) are its reference implementation.
 *
 * The reader trusts nothing: it checks the magic, the version, both CRC-32s and the exact file
 * length before it parses anything, checks every count against the bytes that remain before it
 * allocates, and validates the whole node tree. Every accepted file is canonical: encoding what
 * was decoded gives back the same bytes.
 *
 * Most code should use the {@linkcode Memory} class of `./memory.ts` rather than these
 * functions.
 *
 * @example
 * ```ts
 * import { encodeR3M } from "./r3m_format.ts";
 * import { decodeR3M } from "./r3m_read.ts";
 * const bytes = encodeR3M({
 *   modelFingerprint: "ab".repeat(32),
 *   slotCount: 1,
 *   dim: 2,
 *   textBytes: 5,
 *   tokenCount: 2,
 *   nodes: [{
 *     level: "document", parent: -1, byteStart: 0, byteEnd: 5, tokenStart: 0, tokenEnd: 2,
 *     slots: new Int8Array([3, -4]), scales: new Float32Array([0.5]),
 *   }],
 * });
 * console.log(decodeR3M(bytes).nodes[0].slots[1]); // -4
 * ```
 *
 * @module
 */

import { InputError } from "../errors.ts";
import {
  ByteWriter,
  MAX_META_ENTRIES,
  MAX_META_KEY_BYTES,
  MAX_META_VALUE_BYTES,
  type MetaPlan,
  metaSize,
  planMeta,
  varintSize,
  writeHex,
  writeMeta,
} from "./byte_io.ts";
import { crc32 } from "./crc32.ts";
import type { MemoryData, MemoryNode, NodeLevel } from "./memory_data.ts";
import { codeProblem } from "./memory_code.ts";
import { compactSize, encodeCompact, SHORT_FINGERPRINT_BYTES } from "./r3m_compact.ts";
import { FLAG_TURNS, turnsProblem, turnsSize, writeTurns } from "./r3m_turns.ts";

/** The four bytes every `.r3m` file starts with: `R`, `3`, `M`, `0x1A`. */
export const R3M_MAGIC: Uint8Array = new Uint8Array([0x52, 0x33, 0x4d, 0x1a]);
/** The format version this module writes and reads. */
export const R3M_VERSION = 1;
/** Size of the fixed header, including its CRC-32. */
export const R3M_HEADER_BYTES = 48;
/** Size of the trailer (the payload's CRC-32). */
export const R3M_TRAILER_BYTES = 4;

/** Flag bit: a residual section is present. */
export const FLAG_RESIDUAL = 1;
/** Flag bit: a meta section is present. */
export const FLAG_META = 2;
/** Flag bit: the residual was coded with the document cache (`residual.cache`). */
export const FLAG_CACHE = 4;
/** Internal to the .r3m reader and writer. */
export const KNOWN_FLAGS = FLAG_RESIDUAL | FLAG_META | FLAG_CACHE | FLAG_TURNS;

/** Limits enforced on write and on read. */
export const R3M_LIMITS: {
  readonly maxSlotCount: number;
  readonly maxDim: number;
  readonly maxValuesPerNode: number;
  readonly maxCount: number;
  readonly maxMetaEntries: number;
  readonly maxMetaKeyBytes: number;
  readonly maxMetaValueBytes: number;
} = Object.freeze({
  /** Memory slots per node. */
  maxSlotCount: 4096,
  /** Width of one slot. */
  maxDim: 65536,
  /** `slotCount * dim`. */
  maxValuesPerNode: 1 << 24,
  /** Text bytes, tokens, nodes, coded tokens, residual bytes: anything stored as a varint. */
  maxCount: 0xffffffff,
  /** Entries in `meta`. */
  maxMetaEntries: MAX_META_ENTRIES,
  /** UTF-8 bytes of one meta key (at least 1). */
  maxMetaKeyBytes: MAX_META_KEY_BYTES,
  /** UTF-8 bytes of one meta value. */
  maxMetaValueBytes: MAX_META_VALUE_BYTES,
});

/** Internal to the .r3m reader and writer. */
export const LEVELS: readonly NodeLevel[] = ["document", "paragraph", "sentence"];
const LEVEL_CODE: Record<string, number> = { document: 0, paragraph: 1, sentence: 2 };
/** Set in a node's level byte when the node stores no slots (a compact lossless memory). */
/** Internal to the .r3m reader and writer. */
export const SLOTLESS_BIT = 0x80;
/** Internal to the .r3m reader and writer. */
export const EMPTY_SLOTS = new Int8Array(0);
/** Internal to the .r3m reader and writer. */
export const EMPTY_SCALES = new Float32Array(0);
const HEX_RE = /^[0-9a-f]{64}$/;
const SHORT_HEX_RE = new RegExp(`^[0-9a-f]{${2 * SHORT_FINGERPRINT_BYTES}}$`);
const utf8Encoder = new TextEncoder();

/** Builds the error that {@linkcode validateMemoryData} throws for a problem it finds. */
export type ErrorFactory = (message: string) => Error;
const inputError: ErrorFactory = (m) => new InputError(m);

function isU32(v: unknown): v is number {
  return typeof v === "number" && (v >>> 0) === v;
}

/**
 * Normalise a model fingerprint (64 hex characters, the SHA-256 of the weights file) to lower
 * case, or throw.
 *
 * @throws {InputError} If it is not 64 hexadecimal characters.
 *
 * @example
 * ```ts
 * import { normalizeFingerprint } from "./r3m_format.ts";
 * console.log(normalizeFingerprint("AB".repeat(32)) === "ab".repeat(32)); // true
 * ```
 */
export function normalizeFingerprint(fp: unknown, what = "Model fingerprint"): string {
  const s = typeof fp === "string" ? fp.toLowerCase() : "";
  if (!HEX_RE.test(s)) {
    throw new InputError(
      `${what} must be 64 hexadecimal characters (a SHA-256), got ${describe(fp)}`,
    );
  }
  return s;
}

/** Internal to the .r3m reader and writer. */
export function spaced(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** Internal to the .r3m reader and writer. */
export function describe(v: unknown): string {
  if (typeof v === "string") {
    return v.length > 80 ? `a ${v.length}-character string` : JSON.stringify(v);
  }
  return v === null ? "null" : typeof v;
}

/**
 * Check that `data` is a well-formed memory: fingerprint, limits, array lengths, finite scales,
 * the node tree (node 0 is the only `document` and the root; every other node's parent comes
 * earlier; a paragraph's parent is the document, a sentence's parent a paragraph), the spans
 * (start ≤ end, inside the parent's span — the root's inside `[0, textBytes]` and
 * `[0, tokenCount]` — and siblings in order without overlap), the residual and the meta.
 *
 * @param data The memory to check.
 * @param errorFactory Builds the error to throw (default: {@linkcode InputError}).
 * @throws The factory's error (an `InputError` by default) describing the first problem.
 *
 * @example
 * ```ts
 * import { validateMemoryData } from "./r3m_format.ts";
 * import { InputError } from "../errors.ts";
 * try {
 *   validateMemoryData({
 *     modelFingerprint: "00".repeat(32), slotCount: 1, dim: 1, textBytes: 0, tokenCount: 0,
 *     nodes: [],
 *   });
 * } catch (e) {
 *   console.log(e instanceof InputError); // true: a memory needs its document node
 * }
 * ```
 */
export function validateMemoryData(
  data: MemoryData,
  errorFactory: ErrorFactory = inputError,
): void {
  const fail = (m: string): never => {
    throw errorFactory(m);
  };
  if (typeof data !== "object" || data === null) fail(`Memory data must be an object`);
  const container = data.container ?? "full";
  if (container !== "full" && container !== "compact") {
    fail(`container must be "full" or "compact", got ${describe(container)}`);
  }
  const fp = data.modelFingerprint;
  if (
    typeof fp !== "string" ||
    !(HEX_RE.test(fp) || (container === "compact" && SHORT_HEX_RE.test(fp)))
  ) {
    fail(
      `modelFingerprint must be 64 lower-case hex characters` +
        (container === "compact" ? ` (or the ${2 * SHORT_FINGERPRINT_BYTES} of a short one)` : "") +
        `, got ${describe(fp)}`,
    );
  }
  const { slotCount, dim, textBytes, tokenCount, nodes } = data;
  const L = R3M_LIMITS;
  if (!isU32(slotCount) || slotCount < 1 || slotCount > L.maxSlotCount) {
    fail(`slotCount must be an integer in 1..${L.maxSlotCount}, got ${slotCount}`);
  }
  if (!isU32(dim) || dim < 1 || dim > L.maxDim) {
    fail(`dim must be an integer in 1..${L.maxDim}, got ${dim}`);
  }
  const perNode = slotCount * dim;
  if (perNode > L.maxValuesPerNode) {
    fail(`slotCount*dim must be at most ${L.maxValuesPerNode}, got ${perNode}`);
  }
  if (!isU32(textBytes)) fail(`textBytes must be an integer in 0..2^32-1, got ${textBytes}`);
  if (!isU32(tokenCount)) fail(`tokenCount must be an integer in 0..2^32-1, got ${tokenCount}`);
  if (!Array.isArray(nodes) || nodes.length < 1 || nodes.length > L.maxCount) {
    fail(`nodes must be a non-empty array (the document node first)`);
  }
  // Per node: end of its last child so far (children must come in order, without overlap).
  const lastByte: number[] = new Array(nodes.length);
  const lastToken: number[] = new Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const n: MemoryNode = nodes[i];
    if (typeof n !== "object" || n === null) fail(`Node ${i} is not an object`);
    const code = LEVEL_CODE[n.level];
    if (code === undefined || !Object.hasOwn(LEVEL_CODE, n.level)) {
      fail(
        `Node ${i}: level must be "document", "paragraph" or "sentence", got ${describe(n.level)}`,
      );
    }
    let byteAnchor = 0, byteLimit = textBytes, tokenAnchor = 0, tokenLimit = tokenCount;
    if (i === 0) {
      if (n.parent !== -1 || code !== 0) {
        fail(`Node 0 must be the document root (level "document", parent -1)`);
      }
    } else {
      const p = n.parent;
      if (!Number.isInteger(p) || p < 0 || p >= i) {
        fail(`Node ${i}: parent must be an earlier node index (0..${i - 1}), got ${p}`);
      }
      const pc = LEVEL_CODE[nodes[p].level];
      if (code !== pc + 1) {
        fail(
          `Node ${i}: a ${n.level} node cannot be a child of a ${nodes[p].level} node ` +
            `(paragraphs belong to the document, sentences to paragraphs)`,
        );
      }
      byteAnchor = lastByte[p];
      byteLimit = nodes[p].byteEnd;
      tokenAnchor = lastToken[p];
      tokenLimit = nodes[p].tokenEnd;
    }
    const { byteStart, byteEnd, tokenStart, tokenEnd } = n;
    if (
      !isU32(byteStart) || !isU32(byteEnd) || byteStart < byteAnchor || byteStart > byteEnd ||
      byteEnd > byteLimit
    ) {
      fail(
        `Node ${i}: byte span [${byteStart}, ${byteEnd}) must be ordered and lie in ` +
          `[${byteAnchor}, ${byteLimit}] (inside its parent, after its previous sibling)`,
      );
    }
    if (
      !isU32(tokenStart) || !isU32(tokenEnd) || tokenStart < tokenAnchor ||
      tokenStart > tokenEnd || tokenEnd > tokenLimit
    ) {
      fail(
        `Node ${i}: token span [${tokenStart}, ${tokenEnd}) must be ordered and lie in ` +
          `[${tokenAnchor}, ${tokenLimit}] (inside its parent, after its previous sibling)`,
      );
    }
    if (i > 0) {
      lastByte[n.parent] = byteEnd;
      lastToken[n.parent] = tokenEnd;
    }
    lastByte[i] = byteStart;
    lastToken[i] = tokenStart;
    const slotless = n.slots instanceof Int8Array && n.slots.length === 0;
    if (!(n.slots instanceof Int8Array) || (n.slots.length !== perNode && !slotless)) {
      fail(
        `Node ${i}: slots must be an Int8Array of slotCount*dim = ${perNode} values (or empty)`,
      );
    }
    const wantScales = slotless ? 0 : slotCount;
    if (!(n.scales instanceof Float32Array) || n.scales.length !== wantScales) {
      fail(`Node ${i}: scales must be a Float32Array of ${wantScales} values`);
    }
    for (let s = 0; s < wantScales; s++) {
      if (!Number.isFinite(n.scales[s])) fail(`Node ${i}: scale ${s} is ${n.scales[s]}`);
    }
  }
  const r = data.residual;
  if (r !== undefined) {
    if (typeof r !== "object" || r === null || !(r.bytes instanceof Uint8Array)) {
      fail(`residual must be { codedTokens, bytes: Uint8Array }`);
    }
    if (!isU32(r.codedTokens) || r.codedTokens > tokenCount) {
      fail(
        `residual.codedTokens must be an integer in 0..tokenCount (${tokenCount}), got ${r.codedTokens}`,
      );
    }
    if (r.bytes.length > L.maxCount) fail(`residual is larger than 4 GiB`);
    if (r.cache !== undefined && typeof r.cache !== "boolean") {
      fail(`residual.cache must be a boolean, got ${describe(r.cache)}`);
    }
  }
  if (container === "compact") {
    const root = nodes[0];
    if (
      nodes.length !== 1 || root.slots.length !== 0 || root.byteStart !== 0 ||
      root.byteEnd !== textBytes || root.tokenStart !== 0 || root.tokenEnd !== tokenCount ||
      r === undefined || r.codedTokens !== tokenCount
    ) {
      fail(
        `The compact container holds only lossless memories without slots: one document node ` +
          `spanning the whole text and a residual that codes every token`,
      );
    }
  }
  if (data.code !== undefined) {
    if (container !== "compact") fail(`A memory code is only stored in the compact container`);
    const problem = codeProblem(data.code);
    if (problem) fail(problem);
  }
  if (data.turns !== undefined) {
    if (container !== "full") fail(`A conversation memory is only stored in the full container`);
    const problem = turnsProblem(data);
    if (problem) fail(problem);
  }
  const m = data.meta;
  if (m !== undefined) {
    if (typeof m !== "object" || m === null || Array.isArray(m)) {
      fail(`meta must be a plain object of strings`);
    }
    const entries = Object.entries(m);
    if (entries.length > L.maxMetaEntries) {
      fail(`meta has ${entries.length} entries; at most ${L.maxMetaEntries} are allowed`);
    }
    for (const [k, v] of entries) {
      if (typeof v !== "string") fail(`meta[${JSON.stringify(k)}] must be a string`);
      if (!k.isWellFormed() || !v.isWellFormed()) {
        fail(`meta[${JSON.stringify(k)}] contains a lone surrogate`);
      }
      const kb = utf8Encoder.encode(k).length, vb = utf8Encoder.encode(v).length;
      if (kb < 1 || kb > L.maxMetaKeyBytes) {
        fail(`meta keys must have 1..${L.maxMetaKeyBytes} UTF-8 bytes, got ${kb}`);
      }
      if (vb > L.maxMetaValueBytes) {
        fail(`meta[${JSON.stringify(k)}] has ${vb} UTF-8 bytes; at most ${L.maxMetaValueBytes}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

interface Plan {
  size: number;
  payloadSize: number;
  /** Per node: the six table fields' values, in order (level, parentDelta, gaps, lengths). */
  table: number[];
  meta: MetaPlan;
}

function plan(data: MemoryData): Plan {
  const { nodes, slotCount, dim } = data;
  const n = nodes.length;
  const table: number[] = new Array(n * 6);
  const lastByte: number[] = new Array(n);
  const lastToken: number[] = new Array(n);
  let size = varintSize(slotCount) + varintSize(dim) + varintSize(data.textBytes) +
    varintSize(data.tokenCount) + varintSize(n);
  for (let i = 0; i < n; i++) {
    const node = nodes[i];
    const p = node.parent;
    const byteAnchor = i === 0 ? 0 : lastByte[p];
    const tokenAnchor = i === 0 ? 0 : lastToken[p];
    const f = i * 6;
    table[f] = LEVEL_CODE[node.level] | (node.slots.length === 0 ? SLOTLESS_BIT : 0);
    table[f + 1] = i - p;
    table[f + 2] = node.byteStart - byteAnchor;
    table[f + 3] = node.byteEnd - node.byteStart;
    table[f + 4] = node.tokenStart - tokenAnchor;
    table[f + 5] = node.tokenEnd - node.tokenStart;
    size += 1;
    for (let k = 1; k < 6; k++) size += varintSize(table[f + k]);
    if (i > 0) {
      lastByte[p] = node.byteEnd;
      lastToken[p] = node.tokenEnd;
    }
    lastByte[i] = node.byteStart;
    lastToken[i] = node.tokenStart;
  }
  for (const node of data.nodes) if (node.slots.length) size += slotCount * (dim + 4);
  if (data.residual !== undefined) {
    const r = data.residual;
    size += varintSize(r.codedTokens) + varintSize(r.bytes.length) + r.bytes.length;
  }
  if (data.turns !== undefined) size += turnsSize(data.turns);
  const meta = planMeta(data.meta);
  size += metaSize(meta);
  return { size: R3M_HEADER_BYTES + size + R3M_TRAILER_BYTES, payloadSize: size, table, meta };
}

/**
 * Exact size in bytes of the `.r3m` encoding of `data` (without encoding it). `data` must be
 * valid (see {@linkcode validateMemoryData}).
 *
 * @example
 * ```ts
 * import { encodedSize, encodeR3M } from "./r3m_format.ts";
 * const data = {
 *   modelFingerprint: "ab".repeat(32), slotCount: 2, dim: 4, textBytes: 0, tokenCount: 0,
 *   nodes: [{ level: "document" as const, parent: -1, byteStart: 0, byteEnd: 0,
 *     tokenStart: 0, tokenEnd: 0, slots: new Int8Array(8), scales: new Float32Array(2) }],
 * };
 * console.log(encodedSize(data) === encodeR3M(data).length); // true
 * ```
 */
export function encodedSize(data: MemoryData): number {
  if (data.container === "compact") return compactSize(data);
  return plan(data).size;
}

/**
 * Encode a memory as `.r3m` bytes. Validates first.
 *
 * @throws {InputError} If `data` is not a valid memory (see {@linkcode validateMemoryData}) or
 *   is larger than the format allows (payload over 4 GiB).
 *
 * @example
 * ```ts
 * import { encodeR3M } from "./r3m_format.ts";
 * const bytes = encodeR3M({
 *   modelFingerprint: "ab".repeat(32), slotCount: 1, dim: 1, textBytes: 0, tokenCount: 0,
 *   nodes: [{ level: "document", parent: -1, byteStart: 0, byteEnd: 0, tokenStart: 0,
 *     tokenEnd: 0, slots: new Int8Array(1), scales: new Float32Array(1) }],
 * });
 * console.log(new TextDecoder().decode(bytes.subarray(0, 3))); // "R3M"
 * ```
 */
export function encodeR3M(data: MemoryData): Uint8Array {
  validateMemoryData(data);
  return encodeValidated(data);
}

/** Encode without validating (the caller has validated). @internal */
export function encodeValidated(data: MemoryData): Uint8Array {
  if (data.container === "compact") return encodeCompact(data);
  const p = plan(data);
  if (p.payloadSize > R3M_LIMITS.maxCount) {
    throw new InputError(`Memory too large for the .r3m format: payload of ${p.payloadSize} bytes`);
  }
  const out = new Uint8Array(p.size);
  const w = new ByteWriter(out);
  // Header.
  w.bytes(R3M_MAGIC);
  w.view.setUint16(4, R3M_VERSION, true);
  let flags = 0;
  if (data.residual !== undefined) flags |= FLAG_RESIDUAL;
  if (p.meta.length > 0) flags |= FLAG_META;
  if (data.residual?.cache) flags |= FLAG_CACHE;
  if (data.turns !== undefined) flags |= FLAG_TURNS;
  w.view.setUint16(6, flags, true);
  writeHex(data.modelFingerprint, out, 8);
  w.view.setUint32(40, p.payloadSize, true);
  w.view.setUint32(44, crc32(out, 0, 44), true);
  w.pos = R3M_HEADER_BYTES;
  // Payload.
  const { nodes, slotCount, dim } = data;
  w.varint(slotCount);
  w.varint(dim);
  w.varint(data.textBytes);
  w.varint(data.tokenCount);
  w.varint(nodes.length);
  const t = p.table;
  for (let i = 0; i < nodes.length; i++) {
    out[w.pos++] = t[i * 6];
    for (let k = 1; k < 6; k++) w.varint(t[i * 6 + k]);
  }
  for (const node of nodes) {
    out.set(node.slots, w.pos); // Int8 → Uint8 conversion keeps the bit pattern
    w.pos += node.slots.length;
  }
  for (const node of nodes) {
    for (let s = 0; s < node.scales.length; s++) {
      w.view.setFloat32(w.pos, node.scales[s], true);
      w.pos += 4;
    }
  }
  if (data.residual !== undefined) {
    w.varint(data.residual.codedTokens);
    w.varint(data.residual.bytes.length);
    w.bytes(data.residual.bytes);
  }
  if (data.turns !== undefined) writeTurns(w, data.turns);
  if (p.meta.length > 0) writeMeta(w, p.meta);
  const end = R3M_HEADER_BYTES + p.payloadSize;
  if (w.pos !== end) throw new Error(`internal: wrote ${w.pos} bytes, planned ${end}`);
  w.view.setUint32(end, crc32(out, R3M_HEADER_BYTES, end), true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding
