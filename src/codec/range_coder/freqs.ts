/**
 * Frequency tables for the coder: probabilities to integer frequencies (deterministically, the
 * same on every machine), their prefix sums, and the symbol a decoded value falls in.
 *
 * @module
 */
import { InputError } from "../../errors.ts";
import { MAX_TOTAL_BITS } from "./bounds.ts";

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
 * import { probsToFreqs } from "../range_coder.ts";
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
 * import { cumulativeFreqs } from "../range_coder.ts";
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
 * import { cumulativeFreqs, findSymbol } from "../range_coder.ts";
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
