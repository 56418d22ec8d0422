/** Helpers for tests that edit .r3m bytes by hand. */
import { crc32 } from "../src/codec/crc32.ts";
import { R3M_HEADER_BYTES } from "../src/codec/r3m_format.ts";

/**
 * Recomputes the header's payload length and both CRCs after an edit, so the reader's structural
 * checks (not the checksums) are what a test exercises. Files too short to hold a header are
 * returned unchanged.
 */
export function fixup(f: Uint8Array): Uint8Array {
  if (f.length < R3M_HEADER_BYTES + 4) return f;
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  v.setUint32(40, f.length - R3M_HEADER_BYTES - 4, true);
  v.setUint32(44, crc32(f, 0, 44), true);
  v.setUint32(f.length - 4, crc32(f, R3M_HEADER_BYTES, f.length - 4), true);
  return f;
}

/** LEB128 encoding of a non-negative integer, as the format writes its varints. */
export function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
