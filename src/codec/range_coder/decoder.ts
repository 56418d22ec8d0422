/**
 * The range decoder, the mirror of the encoder: robust on any bytes (zeros past the end, no
 * out-of-bounds read, at most three renormalisation steps per symbol).
 *
 * @module
 */
import { badArgs, MAX_TOTAL_FREQ, TOP, TWO32 } from "./bounds.ts";

/**
 * Range decoder, the mirror of {@linkcode RangeEncoder}. For each symbol call
 * {@linkcode RangeDecoder.getFreq} with the same `totalFreq` the encoder used, find the symbol
 * whose `[cumFreq, cumFreq + freq)` contains the returned value (for a table, with
 * {@linkcode findSymbol}), then call {@linkcode RangeDecoder.decode} with that symbol's
 * triple.
 *
 * Robust on any input: it reads zeros past the end of its bytes, never reads out of bounds,
 * and `getFreq` always returns a value in `[0, totalFreq)`, so decoding garbage produces
 * garbage symbols but never hangs or throws (apart from argument errors).
 *
 * @example
 * ```ts
 * import { RangeDecoder } from "../range_coder.ts";
 * const dec = new RangeDecoder(new Uint8Array([0xde, 0xad])); // any bytes decode to something
 * const f = dec.getFreq(10);
 * console.log(f >= 0 && f < 10); // true
 * ```
 */
export class RangeDecoder {
  #bytes: Uint8Array;
  #pos = 0;
  #code = 0;
  #range = TWO32 - 1;

  /**
   * Start decoding a stream (reads its first four bytes).
   *
   * @param bytes The output of {@linkcode RangeEncoder.finish} (not copied; do not modify).
   */
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    let code = 0;
    for (let i = 0; i < 4; i++) code = code * 256 + this.#next();
    this.#code = code;
  }

  #next(): number {
    const p = this.#pos++;
    return p < this.#bytes.length ? this.#bytes[p] : 0;
  }

  /** Bytes consumed so far, counting the zero bytes read past the end. */
  get bytesRead(): number {
    return this.#pos;
  }

  /**
   * How many bytes were read past the end of the input. A stream from
   * {@linkcode RangeEncoder.finish} decoded with the same model reads at most 4 past its end
   * (the zero bytes the encoder dropped; before 2026-12-02 it also dropped zero data bytes before
   * them, so older streams may read a few more), so a large overrun signals a corrupt stream or
   * a model mismatch.
   */
  get overrun(): number {
    return Math.max(0, this.#pos - this.#bytes.length);
  }

  /**
   * The cumulative frequency, in `[0, totalFreq)`, that the next symbol's interval contains.
   *
   * @param totalFreq Same total the encoder used for this symbol (1 … {@linkcode MAX_TOTAL_FREQ}).
   * @throws {InputError} If `totalFreq` is out of range.
   *
   * @example
   * ```ts
   * import { RangeDecoder, RangeEncoder } from "../range_coder.ts";
   * const enc = new RangeEncoder();
   * enc.encode(5, 2, 10);
   * const f = new RangeDecoder(enc.finish()).getFreq(10);
   * console.log(f === 5 || f === 6); // true
   * ```
   */
  getFreq(totalFreq: number): number {
    if (!((totalFreq >>> 0) === totalFreq && totalFreq >= 1 && totalFreq <= MAX_TOTAL_FREQ)) {
      throw badArgs(0, 1, totalFreq);
    }
    // Largest c with ⌊range·c/total⌋ <= code is ⌊((code+1)·total − 1)/range⌋. The numerator is
    // < 2^48; for a valid stream the quotient is <= total <= 2^16 and a non-integer quotient
    // lies >= 1/range >= 2^-32 from an integer, more than the double spacing near 2^16 (2^-36),
    // so the floor is exact. Garbage input may give more than total-1: clamp.
    const c = Math.floor(((this.#code + 1) * totalFreq - 1) / this.#range);
    return c < totalFreq ? c : totalFreq - 1;
  }

  /**
   * Consume the symbol `[cumFreq, cumFreq + freq)` of `[0, totalFreq)`: the one whose interval
   * contains the value {@linkcode RangeDecoder.getFreq} returned.
   *
   * @throws {InputError} On arguments that do not describe a non-empty sub-interval.
   *
   * @example
   * ```ts
   * import { RangeDecoder, RangeEncoder } from "../range_coder.ts";
   * const enc = new RangeEncoder();
   * enc.encode(1, 1, 2);
   * const dec = new RangeDecoder(enc.finish());
   * const bit = dec.getFreq(2);
   * dec.decode(bit, 1, 2);
   * console.log(bit); // 1
   * ```
   */
  decode(cumFreq: number, freq: number, totalFreq: number): void {
    if (
      !((cumFreq >>> 0) === cumFreq && (freq >>> 0) === freq && (totalFreq >>> 0) === totalFreq &&
        freq >= 1 && totalFreq <= MAX_TOTAL_FREQ && cumFreq + freq <= totalFreq)
    ) throw badArgs(cumFreq, freq, totalFreq);
    const range = this.#range;
    const lo = cumFreq === 0 ? 0 : Math.floor((range * cumFreq) / totalFreq);
    const hi = cumFreq + freq === totalFreq
      ? range
      : Math.floor((range * (cumFreq + freq)) / totalFreq);
    // On garbage input code may lie outside [lo, hi); keeping it modulo 2^32 keeps every value
    // bounded and the decoder deterministic.
    let code = this.#code - lo;
    if (code < 0) code += TWO32;
    let r = hi - lo;
    while (r < TOP) {
      code = (code % TOP) * 256 + this.#next();
      r *= 256;
    }
    this.#code = code;
    this.#range = r;
  }
}
