/**
 * The compact `.r3m` container: a lossless archive of one text with no memory slots, in as few
 * bytes as the residual allows. It is what `compress(text, { slots: "none" })` writes, and it
 * exists for short texts (chat messages, paragraphs), where the full container's 52-byte frame,
 * 32-byte fingerprint and node table would cost more than the text's own coded bits.
 *
 * What it drops, and why that loses nothing: the node table (a slot-less document node always
 * spans the whole text, and paragraphs and sentences follow from the text), the residual's
 * length and coded-token count (the residual runs to the trailer and codes every token), and
 * 28 of the fingerprint's 32 bytes (4 bytes still tell a wrong model apart with probability
 * 1 − 2⁻³²; a reader given the full fingerprint checks the prefix and restores the rest).
 * Layout in `docs/FORMAT.md`.
 *
 * Most code should use `Memory` (`./memory.ts`), which picks the container from
 * `MemoryData.container`.
 *
 * @example
 * ```ts
 * import { compactSize, decodeCompact, encodeCompact } from "./r3m_compact.ts";
 * const data = {
 *   modelFingerprint: "ab".repeat(32), container: "compact" as const, slotCount: 8, dim: 128,
 *   textBytes: 5, tokenCount: 2,
 *   nodes: [{ level: "document" as const, parent: -1, byteStart: 0, byteEnd: 5, tokenStart: 0,
 *     tokenEnd: 2, slots: new Int8Array(0), scales: new Float32Array(0) }],
 *   residual: { codedTokens: 2, bytes: new Uint8Array([9, 9, 9]) },
 * };
 * const bytes = encodeCompact(data);
 * console.log(bytes.length === compactSize(data), decodeCompact(bytes).modelFingerprint);
 * // true "abababab"
 * ```
 *
 * @module
 */

import { FormatError, ModelMismatchError } from "../errors.ts";
import {
  ByteReader,
  ByteWriter,
  hex,
  metaSize,
  planMeta,
  readMeta,
  varintSize,
  writeHex,
  writeMeta,
} from "./byte_io.ts";
import { crc32 } from "./crc32.ts";
import type { MemoryData } from "./memory_data.ts";
import { codeSize, EMPTY_CODE, isEmptyCode, readCode, writeCode } from "./memory_code.ts";

/** The two bytes a compact `.r3m` starts with: `0xB3` ("³" in Latin-1) and `0x1A`. */
export const COMPACT_MAGIC: Uint8Array = new Uint8Array([0xb3, 0x1a]);
/**
 * The compact container version of files without a memory code (low 4 bits of byte 2); files
 * with one are {@linkcode COMPACT_CODE_VERSION}. The reader takes both.
 */
export const COMPACT_VERSION = 1;
/** The compact container version of files that carry a memory code (`MemoryData.code`). */
export const COMPACT_CODE_VERSION = 2;
/**
 * The compact container version of code memories whose code is the empty code (no coefficients,
 * no code section: otherwise version 1's layout). Written since 2026-12-02.
 */
export const COMPACT_EMPTY_CODE_VERSION = 3;
/** Bytes of the model fingerprint a compact file keeps (a prefix of the SHA-256). */
export const SHORT_FINGERPRINT_BYTES = 4;
/** Byte-2 flag: a meta section follows the counts. */
const FLAG_META = 0x10;
/** Byte-2 flag: the residual was coded with the document cache (`residual.cache`). */
const FLAG_CACHE = 0x20;
/** Magic, version/flags byte, short fingerprint. */
const HEAD_BYTES = 2 + 1 + SHORT_FINGERPRINT_BYTES;
const CRC_BYTES = 4;

/**
 * Exact size of the compact encoding of `data` (which must be valid and compact-eligible: one
 * slot-less document node and a residual that codes every token).
 *
 * @example
 * ```ts
 * import { compactSize, decodeCompact, encodeCompact } from "./r3m_compact.ts";
 * const data = {
 *   modelFingerprint: "ab".repeat(32), container: "compact" as const, slotCount: 8, dim: 128,
 *   textBytes: 3, tokenCount: 1,
 *   nodes: [{ level: "document" as const, parent: -1, byteStart: 0, byteEnd: 3, tokenStart: 0,
 *     tokenEnd: 1, slots: new Int8Array(0), scales: new Float32Array(0) }],
 *   residual: { codedTokens: 1, bytes: new Uint8Array([7]) },
 * };
 * const bytes = encodeCompact(data);
 * console.log(bytes.length, compactSize(data), decodeCompact(bytes, "ab".repeat(32)).textBytes); // 17 17 3
 * ```
 */
export function compactSize(data: MemoryData): number {
  return HEAD_BYTES + varintSize(data.slotCount) + varintSize(data.dim) +
    varintSize(data.textBytes) + varintSize(data.tokenCount) + codeSize(data.code) +
    metaSize(planMeta(data.meta)) + data.residual!.bytes.length + CRC_BYTES;
}

/**
 * Encode compact-eligible, validated `data` (see `validateMemoryData` in `./r3m_format.ts`).
 * Writes the first 4 bytes of the fingerprint, whether `data` holds the full 64 hex
 * characters or the 8 of a memory read back from compact bytes.
 *
 * @example
 * ```ts
 * import { compactSize, decodeCompact, encodeCompact } from "./r3m_compact.ts";
 * const data = {
 *   modelFingerprint: "ab".repeat(32), container: "compact" as const, slotCount: 8, dim: 128,
 *   textBytes: 3, tokenCount: 1,
 *   nodes: [{ level: "document" as const, parent: -1, byteStart: 0, byteEnd: 3, tokenStart: 0,
 *     tokenEnd: 1, slots: new Int8Array(0), scales: new Float32Array(0) }],
 *   residual: { codedTokens: 1, bytes: new Uint8Array([7]) },
 * };
 * const bytes = encodeCompact(data);
 * console.log(bytes.length, compactSize(data), decodeCompact(bytes, "ab".repeat(32)).textBytes); // 17 17 3
 * ```
 */
export function encodeCompact(data: MemoryData): Uint8Array {
  const meta = planMeta(data.meta);
  const out = new Uint8Array(compactSize(data));
  const w = new ByteWriter(out);
  w.bytes(COMPACT_MAGIC);
  const version = !data.code
    ? COMPACT_VERSION
    : isEmptyCode(data.code)
    ? COMPACT_EMPTY_CODE_VERSION
    : COMPACT_CODE_VERSION;
  out[w.pos++] = version |
    (meta.length > 0 ? FLAG_META : 0) | (data.residual!.cache ? FLAG_CACHE : 0);
  writeHex(data.modelFingerprint.slice(0, 2 * SHORT_FINGERPRINT_BYTES), out, w.pos);
  w.pos += SHORT_FINGERPRINT_BYTES;
  w.varint(data.slotCount);
  w.varint(data.dim);
  w.varint(data.textBytes);
  w.varint(data.tokenCount);
  if (data.code && !isEmptyCode(data.code)) writeCode(w, data.code);
  if (meta.length > 0) writeMeta(w, meta);
  w.bytes(data.residual!.bytes);
  const end = out.length - CRC_BYTES;
  if (w.pos !== end) throw new Error(`internal: wrote ${w.pos} bytes, planned ${end}`);
  w.view.setUint32(end, crc32(out, 0, end), true);
  return out;
}

/**
 * Decode compact bytes (the caller has seen the magic). Checks the version, flags, length and
 * CRC before anything else, then the model (`expectModel`, 64 lower-case hex characters: its
 * first 4 bytes must match, and the result carries it whole; without it the result carries the
 * 8-character short fingerprint). Structural validation of the result (slot shape, limits) is
 * the caller's (`decodeR3M` runs `validateMemoryData` on it).
 *
 * @throws {FormatError} On a damaged or non-canonical file.
 * @throws {ModelMismatchError} If `expectModel` does not start with the file's fingerprint.
 *
 * @example
 * ```ts
 * import { compactSize, decodeCompact, encodeCompact } from "./r3m_compact.ts";
 * const data = {
 *   modelFingerprint: "ab".repeat(32), container: "compact" as const, slotCount: 8, dim: 128,
 *   textBytes: 3, tokenCount: 1,
 *   nodes: [{ level: "document" as const, parent: -1, byteStart: 0, byteEnd: 3, tokenStart: 0,
 *     tokenEnd: 1, slots: new Int8Array(0), scales: new Float32Array(0) }],
 *   residual: { codedTokens: 1, bytes: new Uint8Array([7]) },
 * };
 * const bytes = encodeCompact(data);
 * console.log(bytes.length, compactSize(data), decodeCompact(bytes, "ab".repeat(32)).textBytes); // 17 17 3
 * ```
 */
export function decodeCompact(bytes: Uint8Array, expectModel?: string): MemoryData {
  const len = bytes.length;
  if (len < 3) throw new FormatError(`Truncated compact .r3m file: ${len} bytes`);
  const version = bytes[2] & 0x0f;
  if (
    version !== COMPACT_VERSION && version !== COMPACT_CODE_VERSION &&
    version !== COMPACT_EMPTY_CODE_VERSION
  ) {
    throw new FormatError(
      `Unsupported compact .r3m version ${version}: this reader supports versions ` +
        `${COMPACT_VERSION} to ${COMPACT_EMPTY_CODE_VERSION}`,
    );
  }
  if ((bytes[2] & ~(0x0f | FLAG_META | FLAG_CACHE)) !== 0) {
    throw new FormatError(`Unknown flags 0x${(bytes[2] & 0xf0).toString(16)} in compact .r3m`);
  }
  const minimum = HEAD_BYTES + 4 + CRC_BYTES;
  if (len < minimum) {
    throw new FormatError(
      `Truncated compact .r3m file: ${len} bytes, the smallest possible one has ${minimum}`,
    );
  }
  const end = len - CRC_BYTES;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(end, true) !== crc32(bytes, 0, end)) {
    throw new FormatError(`Checksum mismatch: the compact .r3m file is damaged or truncated`);
  }
  const short = hex(bytes.subarray(3, HEAD_BYTES));
  if (expectModel !== undefined && !expectModel.startsWith(short)) {
    throw new ModelMismatchError(
      `Memory was written by model ${short}…, but model ${expectModel} was asked to read it`,
    );
  }
  const r = new ByteReader(bytes, HEAD_BYTES, end);
  const slotCount = r.varint("slotCount");
  const dim = r.varint("dim");
  const textBytes = r.varint("textBytes");
  const tokenCount = r.varint("tokenCount");
  const data: MemoryData = {
    modelFingerprint: expectModel ?? short,
    container: "compact",
    slotCount,
    dim,
    textBytes,
    tokenCount,
    nodes: [{
      level: "document",
      parent: -1,
      byteStart: 0,
      byteEnd: textBytes,
      tokenStart: 0,
      tokenEnd: tokenCount,
      slots: new Int8Array(0),
      scales: new Float32Array(0),
    }],
    residual: { codedTokens: tokenCount, bytes: new Uint8Array(0) },
  };
  if (version === COMPACT_CODE_VERSION) data.code = readCode(r);
  if (version === COMPACT_EMPTY_CODE_VERSION) {
    data.code = { ...EMPTY_CODE, values: new Int8Array(0) };
  }
  if (bytes[2] & FLAG_CACHE) data.residual!.cache = true;
  if (bytes[2] & FLAG_META) data.meta = readMeta(r);
  data.residual!.bytes = bytes.slice(r.pos, end);
  return data;
}
