/**
 * The tokenizer's vocabulary file: magic `R3TK`, u32 version, u32 pre-tokenizer id, u32 number
 * of special tokens, u32 number of merges, u32 id width (2 or 4 bytes), the merges as pairs of
 * little-endian ids of that width, then a CRC-32 of everything before it. `Tokenizer.toBytes`
 * and `Tokenizer.fromBytes` read and write it; the merge table itself is validated by the
 * `Tokenizer` constructor.
 *
 * @module
 */
import { FormatError } from "../../errors.ts";
import {
  FIRST_MERGE_ID,
  FORMAT_VERSION,
  HEADER_BYTES,
  MAGIC,
  MAX_VOCAB_SIZE,
  NUM_SPECIAL_TOKENS,
  PRETOKENIZER_ID,
} from "./constants.ts";
import { crc32 } from "./merges.ts";
import { describe } from "./pretokenize.ts";
import { ascii, hex32 } from "./text_bytes.ts";

/**
 * The vocabulary file of a flat merge table (`numMerges` pairs; ids in 2 bytes when
 * `vocabSize ≤ 2^16`, else 4).
 */
export function writeVocabFile(
  merges: Uint32Array,
  numMerges: number,
  vocabSize: number,
): Uint8Array {
  const width = vocabSize <= 0x10000 ? 2 : 4;
  const out = new Uint8Array(HEADER_BYTES + merges.length * width + 4);
  const dv = new DataView(out.buffer);
  out.set(MAGIC, 0);
  dv.setUint32(4, FORMAT_VERSION, true);
  dv.setUint32(8, PRETOKENIZER_ID, true);
  dv.setUint32(12, NUM_SPECIAL_TOKENS, true);
  dv.setUint32(16, numMerges, true);
  dv.setUint32(20, width, true);
  let p = HEADER_BYTES;
  for (let i = 0; i < merges.length; i++, p += width) {
    if (width === 2) dv.setUint16(p, merges[i], true);
    else dv.setUint32(p, merges[i], true);
  }
  dv.setUint32(p, crc32(out.subarray(0, p)), true);
  return out;
}

/**
 * The flat merge table of a vocabulary file, after checking its header, length and CRC (not the
 * merges themselves).
 *
 * @throws {FormatError} If the bytes are damaged, truncated or not a tokenizer.
 */
export function readVocabFile(bytes: Uint8Array): Uint32Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new FormatError(`Tokenizer bytes must be a Uint8Array, got ${describe(bytes)}`);
  }
  if (bytes.length < HEADER_BYTES + 4) {
    throw new FormatError(
      `Tokenizer bytes are truncated: ${bytes.length} bytes, need at least ${HEADER_BYTES + 4}`,
    );
  }
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== MAGIC[i]) {
      throw new FormatError(
        `Not a tokenizer: expected magic "R3TK", got ${JSON.stringify(ascii(bytes, 0, 4))}`,
      );
    }
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(4, true);
  if (version !== FORMAT_VERSION) {
    throw new FormatError(
      `Unsupported tokenizer format version ${version} (this library reads ${FORMAT_VERSION})`,
    );
  }
  const pre = dv.getUint32(8, true);
  if (pre !== PRETOKENIZER_ID) {
    throw new FormatError(
      `Unsupported pre-tokenizer ${pre} (this library implements ${PRETOKENIZER_ID})`,
    );
  }
  const specials = dv.getUint32(12, true);
  if (specials !== NUM_SPECIAL_TOKENS) {
    throw new FormatError(
      `Tokenizer declares ${specials} special tokens; this library uses ${NUM_SPECIAL_TOKENS}`,
    );
  }
  const numMerges = dv.getUint32(16, true);
  const width = dv.getUint32(20, true);
  if (width !== 2 && width !== 4) {
    throw new FormatError(`Tokenizer id width must be 2 or 4 bytes, got ${width}`);
  }
  if (numMerges > MAX_VOCAB_SIZE - FIRST_MERGE_ID) {
    throw new FormatError(`Tokenizer declares ${numMerges} merges, more than supported`);
  }
  const expected = HEADER_BYTES + numMerges * 2 * width + 4;
  if (bytes.length !== expected) {
    throw new FormatError(
      `Tokenizer bytes have the wrong length: ${numMerges} merges need ${expected} bytes, ` +
        `got ${bytes.length}` + (bytes.length < expected ? " (truncated)" : ""),
    );
  }
  const end = expected - 4;
  const stored = dv.getUint32(end, true), actual = crc32(bytes.subarray(0, end));
  if (stored !== actual) {
    throw new FormatError(
      `Tokenizer checksum mismatch (stored CRC-32 ${hex32(stored)}, computed ${
        hex32(actual)
      }): the bytes are damaged`,
    );
  }
  const flat = new Uint32Array(numMerges * 2);
  for (let i = 0, p = HEADER_BYTES; i < flat.length; i++, p += width) {
    flat[i] = width === 2 ? dv.getUint16(p, true) : dv.getUint32(p, true);
  }
  return flat;
}
