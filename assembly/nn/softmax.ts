// Row-wise softmax. `out` may alias `x`.

import { softmax_row } from "./math";

/** out[r] = softmax(x[r]) for `rows` rows of width n. */
export function softmax_f32(out: usize, x: usize, rows: i32, n: i32): void {
  if (n <= 0) return;
  const rowBytes = <usize>n << 2;
  for (let r = 0; r < rows; r++) {
    softmax_row(out + <usize>r * rowBytes, x + <usize>r * rowBytes, n);
  }
}
