/**
 * The `.r3m` binary format's writer, and the format's public surface: its constants
 * (`./r3m_constants.ts`) and the validation of {@linkcode MemoryData} (`./r3m_validate.ts`) are
 * re-exported here. The byte layout is specified in `docs/FORMAT.md`; this file and the reader
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
  type MetaPlan,
  metaSize,
  planMeta,
  varintSize,
  writeHex,
  writeMeta,
} from "./byte_io.ts";
import { crc32 } from "./crc32.ts";
import type { MemoryData } from "./memory_data.ts";
import { compactSize, encodeCompact } from "./r3m_compact.ts";
import {
  FLAG_CACHE,
  FLAG_META,
  FLAG_RESIDUAL,
  LEVEL_CODE,
  R3M_HEADER_BYTES,
  R3M_LIMITS,
  R3M_MAGIC,
  R3M_TRAILER_BYTES,
  R3M_VERSION,
  SLOTLESS_BIT,
} from "./r3m_constants.ts";
import { FLAG_TURNS, turnsSize, writeTurns } from "./r3m_turns.ts";
import { validateMemoryData } from "./r3m_validate.ts";

export {
  EMPTY_SCALES,
  EMPTY_SLOTS,
  FLAG_CACHE,
  FLAG_META,
  FLAG_RESIDUAL,
  KNOWN_FLAGS,
  LEVELS,
  R3M_HEADER_BYTES,
  R3M_LIMITS,
  R3M_MAGIC,
  R3M_TRAILER_BYTES,
  R3M_VERSION,
  SLOTLESS_BIT,
} from "./r3m_constants.ts";
export {
  describe,
  type ErrorFactory,
  normalizeFingerprint,
  spaced,
  validateMemoryData,
} from "./r3m_validate.ts";

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
