/**
 * The reference backend's buffers: f32 and i32 arrays and int8 matrices behind the opaque
 * handles of the backend seam, and the checks that turn a handle back into its array.
 *
 * @module
 */
import type { F32, I32, Q8Matrix } from "../backend.ts";

/** An f32 buffer: a plain `Float32Array`. */
export class RefF32 implements F32 {
  readonly dtype = "f32" as const;
  freed = false;
  constructor(readonly data: Float32Array) {}
  get length(): number {
    return this.data.length;
  }
}

/** An i32 buffer: a plain `Int32Array`. */
export class RefI32 implements I32 {
  readonly dtype = "i32" as const;
  freed = false;
  constructor(readonly data: Int32Array) {}
  get length(): number {
    return this.data.length;
  }
}

/** An int8 matrix with one f32 scale per row (output channel). */
export class RefQ8 implements Q8Matrix {
  readonly dtype = "q8" as const;
  freed = false;
  constructor(
    readonly q: Int8Array,
    readonly scales: Float32Array,
    readonly rows: number,
    readonly cols: number,
  ) {}
}

/** The array of a live f32 handle of this backend with at least `n` elements. */
export function f32Of(b: F32, n: number, what: string): Float32Array {
  if (!(b instanceof RefF32) || b.freed) {
    throw new TypeError(`${what}: not a live f32 buffer of this backend`);
  }
  if (n > b.length) throw new RangeError(`${what}: needs ${n} elements, buffer has ${b.length}`);
  return b.data;
}

/** The array of a live i32 handle of this backend with at least `n` elements. */
export function i32Of(b: I32, n: number, what: string): Int32Array {
  if (!(b instanceof RefI32) || b.freed) {
    throw new TypeError(`${what}: not a live i32 buffer of this backend`);
  }
  if (n > b.length) throw new RangeError(`${what}: needs ${n} elements, buffer has ${b.length}`);
  return b.data;
}

/** Checks that `q` and `scales` hold a `[rows, cols]` int8 matrix. */
export function checkQ8Shape(
  q: Int8Array,
  scales: Float32Array,
  rows: number,
  cols: number,
  what: string,
): void {
  if (q.length !== rows * cols) {
    throw new RangeError(`${what}: expected ${rows * cols} weights, got ${q.length}`);
  }
  if (scales.length !== rows) {
    throw new RangeError(`${what}: expected ${rows} scales, got ${scales.length}`);
  }
}
