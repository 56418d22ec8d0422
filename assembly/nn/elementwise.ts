// Elementwise f32 kernels. `out` may alias an input.

import { axpy_inline } from "./math";

/** out[i] = a[i] + b[i]. */
export function add_f32(out: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/** out[i] += alpha · x[i]. */
export function axpy_f32(out: usize, x: usize, alpha: f32, n: i32): void {
  axpy_inline(out, x, alpha, n);
}

/** out[i] = x[i] · y[i]. */
export function mul_f32(out: usize, x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(v128.load(x + o), v128.load(y + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(x + o) * load<f32>(y + o));
  }
}
