/**
 * One small seeded generator for everything that needs reproducible randomness without a
 * dependency: random initialisation, evaluation sampling, benchmark inputs and tests.
 *
 * @module
 */

/**
 * Mulberry32: a 32-bit seeded generator of floats in [0, 1).
 *
 * @param seed Any number (its low 32 bits are used).
 * @returns The generator.
 *
 * @example
 * ```ts
 * import { mulberry32 } from "./prng.ts";
 * const a = mulberry32(7), b = mulberry32(7);
 * console.log(a() === b()); // true
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Normal samples (mean 0, standard deviation 1) from {@link mulberry32} by Box–Muller.
 *
 * @param seed Any number.
 * @returns The generator.
 *
 * @example
 * ```ts
 * import { gaussian } from "./prng.ts";
 * const g = gaussian(1);
 * console.log(Number.isFinite(g())); // true
 * ```
 */
export function gaussian(seed: number): () => number {
  const uniform = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}
