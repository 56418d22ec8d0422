/**
 * The range encoder: narrows `[low, low + range)` per symbol with exact integer arithmetic and
 * emits bytes LZMA-style (a cached byte and a count of pending `0xFF` bytes, so carries
 * propagate).
 *
 * @module
 */
import { InputError } from "../../errors.ts";
import { badArgs, MAX_TOTAL_FREQ, TOP, TWO32 } from "./bounds.ts";

/**
 * Range encoder. Feed it symbols as `(cumFreq, freq, totalFreq)` triples, then call
 * {@linkcode RangeEncoder.finish}. Handles any number of symbols (the output buffer grows by
 * doubling).
 *
 * @example
 * ```ts
 * import { RangeEncoder } from "../range_coder.ts";
 * const enc = new RangeEncoder();
 * // 10 000 fair coin flips cost 10 000 bits.
 * for (let i = 0; i < 10_000; i++) enc.encode(i % 3 === 0 ? 1 : 0, 1, 2);
 * console.log(enc.finish().length <= 1251); // true
 * ```
 */
export class RangeEncoder {
  #low = 0;
  #range = TWO32 - 1;
  #cache = 0;
  #cacheSize = 1;
  #first = true; // the first byte shifted out is always 0 and is not written
  #buf: Uint8Array;
  #pos = 0;
  #symbols = 0;
  #finished = false;

  /**
   * Start an empty stream.
   *
   * @param initialCapacity Initial output buffer size in bytes (grows as needed).
   */
  constructor(initialCapacity = 1024) {
    this.#buf = new Uint8Array(Math.max(16, initialCapacity | 0));
  }

  /** Number of symbols encoded so far. */
  get symbols(): number {
    return this.#symbols;
  }

  /**
   * Bytes the output would have if finished now (an estimate within 5 bytes; useful for
   * statistics without finishing).
   */
  get byteLength(): number {
    return this.#pos + this.#cacheSize + 4;
  }

  /**
   * Encode one symbol occupying `[cumFreq, cumFreq + freq)` of `[0, totalFreq)`.
   *
   * @param cumFreq Sum of the frequencies of the symbols before this one.
   * @param freq Frequency of this symbol, at least 1.
   * @param totalFreq Sum of all frequencies, 1 … {@linkcode MAX_TOTAL_FREQ}.
   * @throws {InputError} On arguments that do not describe a non-empty sub-interval, or after
   *   {@linkcode RangeEncoder.finish}.
   *
   * @example
   * ```ts
   * import { RangeEncoder } from "../range_coder.ts";
   * const enc = new RangeEncoder();
   * enc.encode(0, 3, 4); // a symbol of probability 3/4
   * console.log(enc.symbols); // 1
   * ```
   */
  encode(cumFreq: number, freq: number, totalFreq: number): void {
    // `x >>> 0 === x` is true exactly for integers 0 … 2^32-1.
    if (
      !((cumFreq >>> 0) === cumFreq && (freq >>> 0) === freq && (totalFreq >>> 0) === totalFreq &&
        freq >= 1 && totalFreq <= MAX_TOTAL_FREQ && cumFreq + freq <= totalFreq)
    ) throw badArgs(cumFreq, freq, totalFreq);
    if (this.#finished) throw new InputError("RangeEncoder.encode called after finish()");
    const range = this.#range;
    // range < 2^32 and cum, cum+freq <= total <= 2^16, so the products are < 2^48 (exact). The
    // quotient x = range·c/total is < 2^32; if it is not an integer it lies at least 1/total >=
    // 2^-16 from one, more than the spacing of doubles near 2^32 (2^-20), so the correctly
    // rounded division never crosses an integer and Math.floor is exact.
    const lo = cumFreq === 0 ? 0 : Math.floor((range * cumFreq) / totalFreq);
    const hi = cumFreq + freq === totalFreq
      ? range
      : Math.floor((range * (cumFreq + freq)) / totalFreq);
    this.#low += lo;
    let r = hi - lo; // >= floor(range·freq/total) >= 255 since range >= 2^24, total <= 2^16
    while (r < TOP) {
      this.#shiftLow();
      r *= 256;
    }
    this.#range = r;
    this.#symbols++;
  }

  #shiftLow(): void {
    const low = this.#low;
    if (low < 0xff000000 || low >= TWO32) {
      const carry = low >= TWO32 ? 1 : 0;
      let n = this.#cacheSize;
      if (this.#pos + n > this.#buf.length) this.#grow(n);
      const buf = this.#buf;
      if (this.#first) {
        this.#first = false; // the virtual leading byte: always 0, never carried into
      } else buf[this.#pos++] = (this.#cache + carry) & 0xff;
      const fill = (0xff + carry) & 0xff;
      while (--n > 0) buf[this.#pos++] = fill;
      this.#cacheSize = 0;
      this.#cache = Math.floor(low / TOP) & 0xff; // bits 24..31 of low
    }
    this.#cacheSize++;
    this.#low = (low % TOP) * 256;
  }

  #grow(extra: number): void {
    let cap = this.#buf.length * 2;
    while (cap < this.#pos + extra) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.#buf.subarray(0, this.#pos));
    this.#buf = b;
  }

  /**
   * Flush the coder and return the coded bytes (a fresh copy, trimmed). Further calls to
   * {@linkcode RangeEncoder.encode} throw; further calls to `finish` return the same bytes.
   *
   * @example
   * ```ts
   * import { RangeEncoder } from "../range_coder.ts";
   * console.log(new RangeEncoder().finish().length); // 0: nothing to code, nothing written
   * ```
   */
  finish(): Uint8Array {
    if (!this.#finished) {
      this.#finished = true;
      // Pick the value in [low, low + range) with the most trailing zero bits: the decoder
      // pads with zero bytes, so those need not be written.
      const low = this.#low;
      const end = low + this.#range;
      let v = low;
      for (let unit = TWO32; unit >= 1; unit /= 2) {
        const c = Math.ceil(low / unit) * unit;
        if (c < end) {
          v = c;
          break;
        }
      }
      this.#low = v;
      for (let i = 0; i < 5; i++) this.#shiftLow();
      // Drop the zero bytes of v (its last four bytes), never more: a zero byte before them is
      // data, and dropping it too made the decoder read 5 past the end, which it takes for a
      // damaged stream (files written so are still read: ../residual_coder.ts).
      for (let i = 0; i < 4 && this.#pos > 0 && this.#buf[this.#pos - 1] === 0; i++) this.#pos--;
    }
    return this.#buf.slice(0, this.#pos);
  }
}
