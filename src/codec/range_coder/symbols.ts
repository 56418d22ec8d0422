/**
 * Coding one symbol of a prefix-sum frequency table, both directions.
 *
 * @module
 */
import { InputError } from "../../errors.ts";
import type { RangeDecoder } from "./decoder.ts";
import type { RangeEncoder } from "./encoder.ts";
import { findSymbol } from "./freqs.ts";

/**
 * Encode one symbol of a frequency table given as prefix sums (convenience around
 * {@linkcode RangeEncoder.encode}).
 *
 * @example
 * ```ts
 * import { cumulativeFreqs, decodeSymbol, encodeSymbol, RangeDecoder, RangeEncoder } from "../range_coder.ts";
 * const cum = cumulativeFreqs([5, 2, 1]);
 * const enc = new RangeEncoder();
 * for (const s of [2, 0, 1]) encodeSymbol(enc, cum, s);
 * const dec = new RangeDecoder(enc.finish());
 * console.log([0, 1, 2].map(() => decodeSymbol(dec, cum)).join(",")); // "2,0,1"
 * ```
 */
export function encodeSymbol(enc: RangeEncoder, cum: Uint32Array, symbol: number): void {
  const n = cum.length - 1;
  if (!(Number.isInteger(symbol) && symbol >= 0 && symbol < n)) {
    throw new InputError(`Symbol ${symbol} is outside the table of ${n} symbols`);
  }
  enc.encode(cum[symbol], cum[symbol + 1] - cum[symbol], cum[n]);
}

/**
 * Decode one symbol of a frequency table given as prefix sums (convenience around
 * {@linkcode RangeDecoder.getFreq}, {@linkcode findSymbol} and {@linkcode RangeDecoder.decode}).
 *
 * @example
 * ```ts
 * import { cumulativeFreqs, decodeSymbol, RangeDecoder } from "../range_coder.ts";
 * const s = decodeSymbol(new RangeDecoder(new Uint8Array([0xff])), cumulativeFreqs([1, 1]));
 * console.log(s); // 1
 * ```
 */
export function decodeSymbol(dec: RangeDecoder, cum: Uint32Array): number {
  const n = cum.length - 1;
  const total = cum[n];
  const s = findSymbol(cum, dec.getFreq(total));
  dec.decode(cum[s], cum[s + 1] - cum[s], total);
  return s;
}
