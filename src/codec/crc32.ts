/**
 * CRC-32 (IEEE 802.3, reflected polynomial `0xEDB88320`, the one of zlib, PNG and gzip), in
 * plain TypeScript so that it runs on every edge runtime (no `node:zlib` needed).
 *
 * @module
 */

const TABLE: Uint32Array = (() => {
  // Slicing-by-4: four 256-entry tables.
  const t = new Uint32Array(4 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let s = 1; s < 4; s++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[s * 256 + n] = c >>> 0;
    }
  }
  return t;
})();

/**
 * CRC-32 of `bytes[start, end)`, optionally continuing a previous CRC (pass the earlier result
 * as `crc` to checksum data that arrives in pieces).
 *
 * @param bytes The data.
 * @param start First byte (default 0).
 * @param end One past the last byte (default `bytes.length`).
 * @param crc The CRC of the preceding data (default 0, the CRC of nothing).
 * @returns The CRC as an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import { crc32 } from "./crc32.ts";
 * const data = new TextEncoder().encode("123456789");
 * console.log(crc32(data).toString(16)); // "cbf43926", the standard check value
 * // Incremental use gives the same result:
 * console.log(crc32(data, 4, 9, crc32(data, 0, 4)) === crc32(data)); // true
 * ```
 */
export function crc32(bytes: Uint8Array, start = 0, end: number = bytes.length, crc = 0): number {
  const t = TABLE;
  let c = ~crc;
  let i = start;
  const end4 = start + ((end - start) & ~3);
  for (; i < end4; i += 4) {
    c ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    c = t[768 + (c & 0xff)] ^ t[512 + ((c >>> 8) & 0xff)] ^ t[256 + ((c >>> 16) & 0xff)] ^
      t[c >>> 24];
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
