/**
 * The range coder's bounds, shared by the encoder and the decoder: the largest frequency total,
 * the renormalisation threshold, and the error for a symbol triple outside them.
 *
 * @module
 */
import { InputError } from "../../errors.ts";

/** Largest `totalFreq` the coder accepts: 2^16. */
export const MAX_TOTAL_FREQ = 0x10000;
/** Largest `totalBits` accepted by {@linkcode probsToFreqs}: 16 (so `2^totalBits ≤ MAX_TOTAL_FREQ`). */
export const MAX_TOTAL_BITS = 16;

/** Renormalisation threshold, 2^24. */
export const TOP = 0x1000000; // 2^24: renormalisation threshold
/** 2^32. */
export const TWO32 = 0x100000000; // 2^32

/** The error of a symbol triple outside the coder's bounds. */
export function badArgs(cumFreq: number, freq: number, totalFreq: number): InputError {
  return new InputError(
    `Range coder symbol must satisfy 1 <= totalFreq <= ${MAX_TOTAL_FREQ}, freq >= 1, ` +
      `0 <= cumFreq, cumFreq + freq <= totalFreq (all integers); got cumFreq=${cumFreq}, ` +
      `freq=${freq}, totalFreq=${totalFreq}`,
  );
}
