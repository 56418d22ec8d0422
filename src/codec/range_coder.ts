/**
 * A deterministic range coder (arithmetic coder) for the lossless residual of a memory.
 *
 * Design (see `docs/FORMAT.md`, "Residual stream"):
 *
 * - State: `low` (33 bits: 32 plus one carry bit) and `range` (32 bits), kept in JS numbers
 *   and only ever holding integers below 2^53, so every operation is exact and identical on
 *   every machine. Bytes leave the encoder LZMA-style (one cached byte plus a count of pending
 *   `0xFF` bytes) so carries propagate correctly.
 * - A symbol with cumulative frequency `cum`, frequency `freq` out of `total` narrows the
 *   interval to `[low + ⌊range·cum/total⌋, low + ⌊range·(cum+freq)/total⌋)`. The products
 *   are below 2^48 and the divisions cannot round across an integer (proved in the comments of
 *   {@linkcode RangeEncoder.encode}), so the floors are exact. Unlike the cheaper
 *   `⌊range/total⌋·cum` form this wastes no code space, which matters for highly skewed
 *   distributions.
 * - `range` is renormalised to at least 2^24 after each symbol; `total` is at most
 *   {@linkcode MAX_TOTAL_FREQ} = 2^16, so every symbol with `freq ≥ 1` keeps a non-empty
 *   sub-interval (at least 255 codes wide).
 * - The encoder drops the always-zero leading byte, ends on the value of the final interval with
 *   the most trailing zero bits, and trims trailing zero bytes; the decoder reads zeros past the
 *   end of its input. It never reads out of bounds and never loops more than three times per
 *   symbol, whatever bytes it is given.
 *
 * @example
 * ```ts
 * import { RangeDecoder, RangeEncoder } from "./range_coder.ts";
 * // Three symbols with frequencies 6, 1, 1 out of 8.
 * const cum = [0, 6, 7, 8];
 * const message = [0, 0, 1, 0, 2, 0, 0];
 * const enc = new RangeEncoder();
 * for (const s of message) enc.encode(cum[s], cum[s + 1] - cum[s], 8);
 * const bytes = enc.finish();
 *
 * const dec = new RangeDecoder(bytes);
 * const out: number[] = [];
 * for (let i = 0; i < message.length; i++) {
 *   const f = dec.getFreq(8);
 *   const s = f < 6 ? 0 : f < 7 ? 1 : 2;
 *   dec.decode(cum[s], cum[s + 1] - cum[s], 8);
 *   out.push(s);
 * }
 * console.log(out.join(",") === message.join(",")); // true
 * ```
 *
 * The implementation is split under `range_coder/`: the bounds both directions share
 * (`bounds.ts`), the encoder (`encoder.ts`), the decoder (`decoder.ts`), frequency tables
 * (`freqs.ts`) and one-symbol helpers over a table (`symbols.ts`).
 *
 * @module
 */
export { MAX_TOTAL_BITS, MAX_TOTAL_FREQ } from "./range_coder/bounds.ts";
export { RangeEncoder } from "./range_coder/encoder.ts";
export { RangeDecoder } from "./range_coder/decoder.ts";
export { cumulativeFreqs, findSymbol, probsToFreqs } from "./range_coder/freqs.ts";
export { decodeSymbol, encodeSymbol } from "./range_coder/symbols.ts";
