/**
 * General-purpose compressors the model is compared with, at their strongest standard settings:
 * gzip level 9, brotli quality 11 (with the size hint) and zstd level 19, all from `node:zlib`
 * (Deno ships zstd there as `zstdCompressSync`).
 *
 * @module
 */
import { brotliCompressSync, constants, gzipSync, zstdCompressSync } from "node:zlib";

/** The baseline compressors, in report order. */
export const BASELINES = ["gzip", "brotli", "zstd"] as const;

/** Name of a baseline compressor. */
export type Baseline = typeof BASELINES[number];

/**
 * Compresses `data` with one baseline and returns the compressed size in bytes (the whole
 * stream: headers and checksums included).
 *
 * @example
 * ```ts
 * import { compressedBytes } from "./baselines.ts";
 * const text = new TextEncoder().encode("to be or not to be, ".repeat(50));
 * console.log(compressedBytes("zstd", text) < text.length); // true
 * ```
 */
export function compressedBytes(name: Baseline, data: Uint8Array): number {
  switch (name) {
    case "gzip":
      return gzipSync(data, { level: 9 }).length;
    case "brotli":
      return brotliCompressSync(data, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 11,
          [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        },
      }).length;
    case "zstd": {
      // The pledged size lets zstd size its tables to the input, as the zstd CLI does for a
      // file (without it every call sets up level 19's 64 MiB of tables: ~70 ms each).
      // (`pledgedSrcSize` is missing from the node:zlib types Deno ships, hence the variable.)
      const options = {
        pledgedSrcSize: data.length,
        params: { [constants.ZSTD_c_compressionLevel]: 19 },
      };
      return zstdCompressSync(data, options).length;
    }
  }
}

/**
 * Compressed sizes in bits of `data` under every baseline.
 *
 * @example
 * ```ts
 * import { baselineBits } from "./baselines.ts";
 * const bits = baselineBits(new TextEncoder().encode("hello hello hello"));
 * console.log(Object.keys(bits)); // [ "gzip", "brotli", "zstd" ]
 * ```
 */
export function baselineBits(data: Uint8Array): Record<Baseline, number> {
  return {
    gzip: compressedBytes("gzip", data) * 8,
    brotli: compressedBytes("brotli", data) * 8,
    zstd: compressedBytes("zstd", data) * 8,
  };
}
