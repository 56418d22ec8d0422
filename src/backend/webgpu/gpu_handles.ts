/**
 * The WebGPU backend's buffer handles (ids of buffers that live in the GPU worker) and the check
 * of an int8 matrix's sizes.
 *
 * @module
 */
import type { F32, I32, Q8Matrix } from "../backend.ts";

/** An f32 buffer on the GPU. */
export class GpuF32 implements F32 {
  readonly dtype = "f32" as const;
  constructor(readonly id: number, readonly length: number) {}
}

/** An i32 buffer on the GPU. */
export class GpuI32 implements I32 {
  readonly dtype = "i32" as const;
  constructor(readonly id: number, readonly length: number) {}
}

/** An int8 matrix (packed words and scales) on the GPU. */
export class GpuQ8 implements Q8Matrix {
  readonly dtype = "q8" as const;
  constructor(readonly id: number, readonly rows: number, readonly cols: number) {}
}

/** Checks an int8 matrix's sizes. */
export function checkQ8(
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
