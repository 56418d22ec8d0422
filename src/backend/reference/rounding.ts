/**
 * Rounding as WebAssembly does it: to nearest with ties to even, and saturated to int32.
 *
 * @module
 */

/** Rounds to the nearest integer, ties to even (like WebAssembly's `f32.nearest`). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties toward +∞
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `round(x)` (ties to even) saturated to the int32 range; NaN gives 0. */
export function roundSatI32(x: number): number {
  if (Number.isNaN(x)) return 0;
  const r = roundHalfEven(x);
  return r >= 2147483647 ? 2147483647 : r <= -2147483648 ? -2147483648 : r;
}
