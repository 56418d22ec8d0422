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
 * @module
 */

import { InputError } from "../errors.ts";

/** Largest `totalFreq` the coder accepts: 2^16. */
export const MAX_TOTAL_FREQ = 0x10000;
/** Largest `totalBits` accepted by {@linkcode probsToFreqs}: 16 (so `2^totalBits ≤ MAX_TOTAL_FREQ`). */
export const MAX_TOTAL_BITS = 16;

const TOP = 0x1000000; // 2^24: renormalisation threshold
const TWO32 = 0x100000000; // 2^32

function badArgs(cumFreq: number, freq: number, totalFreq: number): InputError {
  return new InputError(
    `Range coder symbol must satisfy 1 <= totalFreq <= ${MAX_TOTAL_FREQ}, freq >= 1, ` +
      `0 <= cumFreq, cumFreq + freq <= totalFreq (all integers); got cumFreq=${cumFreq}, ` +
      `freq=${freq}, totalFreq=${totalFreq}`,
  );
}

/**
 * Range encoder. Feed it symbols as `(cumFreq, freq, totalFreq)` triples, then call
 * {@linkcode RangeEncoder.finish}. Handles any number of symbols (the output buffer grows by
 * doubling).
 *
 * @example
 * ```ts
 * import { RangeEncoder } from "./range_coder.ts";
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
   * import { RangeEncoder } from "./range_coder.ts";
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
   * import { RangeEncoder } from "./range_coder.ts";
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
      while (this.#pos > 0 && this.#buf[this.#pos - 1] === 0) this.#pos--;
    }
    return this.#buf.slice(0, this.#pos);
  }
}

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
 * import { RangeDecoder } from "./range_coder.ts";
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
   * plus the zero bytes trimmed by the encoder, so a large overrun signals a corrupt stream or
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
   * import { RangeDecoder, RangeEncoder } from "./range_coder.ts";
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
   * import { RangeDecoder, RangeEncoder } from "./range_coder.ts";
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

/**
 * Turn a probability vector into integer frequencies for the coder, deterministically: each
 * probability is quantized to 20-bit fixed point (`⌊p·2^20⌋` on the f32 value, exact; NaN and
 * negatives count as 0, values ≥ 1 as 1), then every symbol gets `1 + ⌊q_i·(T − n)/Σq⌋` with
 * exact integer division (`T = 2^totalBits`, `n` symbols), and what the floors leave over goes to
 * the most probable symbol (the first one on ties). Hence every frequency is ≥ 1 and they sum to
 * exactly `T`, with the same result on every machine. If every `q_i` is 0 the table is uniform.
 *
 * Coding cost versus the exact probabilities: at most `−log2(1 − n/T)` bits per symbol for the
 * reserved minimum frequencies, plus the 2^-20 quantization.
 *
 * @param probs Probabilities (need not sum to 1 exactly; they are normalised).
 * @param totalBits log2 of the frequency total, 1 … {@linkcode MAX_TOTAL_BITS}; needs
 *   `probs.length ≤ 2^totalBits`.
 * @param out Optional output of length `probs.length` (reused to avoid allocation).
 * @returns `out` (or a new array) holding the frequencies.
 * @throws {InputError} On an empty vector, too many symbols for `totalBits`, or a wrong `out`.
 *
 * @example
 * ```ts
 * import { probsToFreqs } from "./range_coder.ts";
 * const f = probsToFreqs(new Float32Array([0.7, 0.2, 0.1, 0]), 8);
 * console.log(Array.from(f).join(","), f.reduce((a, b) => a + b)); // "178,51,26,1" 256
 * ```
 */
export function probsToFreqs(
  probs: Float32Array,
  totalBits: number,
  out?: Uint32Array,
): Uint32Array {
  const n = probs.length;
  if (!(Number.isInteger(totalBits) && totalBits >= 1 && totalBits <= MAX_TOTAL_BITS)) {
    throw new InputError(`totalBits must be an integer in 1..${MAX_TOTAL_BITS}, got ${totalBits}`);
  }
  const total = 2 ** totalBits;
  if (n < 1 || n > total) {
    throw new InputError(
      `probsToFreqs needs 1..${total} probabilities for totalBits=${totalBits}, got ${n}`,
    );
  }
  if (out === undefined) out = new Uint32Array(n);
  else if (out.length !== n) {
    throw new InputError(`out must have length ${n} (one per probability), got ${out.length}`);
  }
  const Q = 0x100000; // 2^20
  let sum = 0;
  let arg = 0;
  let best = -1;
  for (let i = 0; i < n; i++) {
    const p = probs[i];
    const q = p > 0 ? (p >= 1 ? Q : Math.floor(p * Q)) : 0; // NaN > 0 is false
    out[i] = q;
    sum += q;
    if (q > best) {
      best = q;
      arg = i;
    }
  }
  const spare = total - n; // mass beyond the reserved 1 per symbol
  let used = 0;
  if (sum === 0) {
    const each = Math.floor(spare / n);
    for (let i = 0; i < n; i++) out[i] = 1 + each;
    used = n * (1 + each);
    arg = 0;
  } else {
    // a = q·spare <= 2^20·2^16 = 2^36 and sum <= 2^36, so q·sum products stay < 2^53: the
    // correction steps make the floor exact integer division whatever the rounding.
    for (let i = 0; i < n; i++) {
      const a = out[i] * spare;
      let d = Math.floor(a / sum);
      if (d * sum > a) d--;
      else if ((d + 1) * sum <= a) d++;
      out[i] = 1 + d;
      used += 1 + d;
    }
  }
  out[arg] += total - used;
  return out;
}

/**
 * Prefix sums of a frequency table: `cum[0] = 0`, `cum[i+1] = cum[i] + freqs[i]`; symbol `i`
 * occupies `[cum[i], cum[i+1])`.
 *
 * @param freqs Frequencies.
 * @param out Optional output of length `freqs.length + 1`.
 * @returns `out` (or a new array) with the prefix sums.
 *
 * @example
 * ```ts
 * import { cumulativeFreqs } from "./range_coder.ts";
 * console.log(Array.from(cumulativeFreqs(new Uint32Array([3, 1, 4]))).join(",")); // "0,3,4,8"
 * ```
 */
export function cumulativeFreqs(freqs: ArrayLike<number>, out?: Uint32Array): Uint32Array {
  const n = freqs.length;
  if (out === undefined) out = new Uint32Array(n + 1);
  else if (out.length !== n + 1) {
    throw new InputError(`out must have length ${n + 1}, got ${out.length}`);
  }
  let s = 0;
  out[0] = 0;
  for (let i = 0; i < n; i++) {
    s += freqs[i];
    out[i + 1] = s;
  }
  return out;
}

/**
 * The symbol whose interval contains `target`: the largest `i` with `cum[i] <= target`, by
 * binary search over a prefix-sum array from {@linkcode cumulativeFreqs} (symbols with zero
 * frequency are skipped). For `target >= cum[n]` returns the last symbol with non-zero
 * frequency, for `target < 0` the first; so it is safe on any value.
 *
 * @param cum Prefix sums, length `n + 1`, non-decreasing, `cum[0] = 0`.
 * @param target Typically {@linkcode RangeDecoder.getFreq}'s result.
 * @returns The symbol index in `[0, n)`.
 *
 * @example
 * ```ts
 * import { cumulativeFreqs, findSymbol } from "./range_coder.ts";
 * const cum = cumulativeFreqs([3, 1, 4]);
 * console.log([0, 2, 3, 4, 7].map((t) => findSymbol(cum, t)).join(",")); // "0,0,1,2,2"
 * ```
 */
export function findSymbol(cum: Uint32Array, target: number): number {
  const n = cum.length - 1;
  if (target >= cum[n]) target = cum[n] - 1;
  // Invariant: cum[lo] <= target < cum[hi].
  let lo = 0;
  let hi = n;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (cum[mid] <= target) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Encode one symbol of a frequency table given as prefix sums (convenience around
 * {@linkcode RangeEncoder.encode}).
 *
 * @example
 * ```ts
 * import { cumulativeFreqs, decodeSymbol, encodeSymbol, RangeDecoder, RangeEncoder } from "./range_coder.ts";
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
 * import { cumulativeFreqs, decodeSymbol, RangeDecoder } from "./range_coder.ts";
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
