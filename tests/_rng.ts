/**
 * Tiny seeded PRNG for tests (mulberry32): reproducible inputs without any dependency.
 *
 * @module
 */

/** Returns a generator of uniform floats in [0, 1) for `seed` (mulberry32). */
export { mulberry32 as rng } from "../src/prng.ts";

/** `n` normal samples with standard deviation `std` (Box–Muller), as f32. */
export function randn(rand: () => number, n: number, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - rand(); // (0, 1]
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** `n` uniform floats in [lo, hi), as f32. */
export function uniform(rand: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rand();
  return out;
}

/** `n` integers in [lo, hi). */
export function randint(rand: () => number, n: number, lo: number, hi: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + Math.floor((hi - lo) * rand());
  return out;
}
