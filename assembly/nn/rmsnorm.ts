// RMSNorm over rows of width d: y = x · r · w with r = 1 / sqrt(mean(x²) + eps).

import { hsum } from "./math";

// Σ x² over one row in a fixed order (four lanes, (l0+l1)+(l2+l3), then the tail).
@inline
function sumsq(row: usize, d: i32): f32 {
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= d; j += 4) {
    const v = v128.load(row + (<usize>j << 2));
    acc = f32x4.add(acc, f32x4.mul(v, v));
  }
  let s = hsum(acc);
  for (; j < d; j++) {
    const v = load<f32>(row + (<usize>j << 2));
    s += v * v;
  }
  return s;
}

@inline
function inv_rms(row: usize, d: i32, eps: f32): f32 {
  return <f32>1 / sqrt<f32>(sumsq(row, d) / <f32>d + eps);
}

/**
 * out[r] = x[r] · invRms[r] · w, invRms[r] = 1/sqrt(mean(x[r]²) + eps). Writes invRms when its
 * pointer is not 0. `out` may alias `x`.
 */
export function rmsnorm_f32(
  out: usize,
  x: usize,
  w: usize,
  rows: i32,
  d: i32,
  eps: f32,
  invRms: usize,
): void {
  const rowBytes = <usize>d << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    const or = out + <usize>r * rowBytes;
    const inv = inv_rms(xr, d, eps);
    if (invRms) store<f32>(invRms + (<usize>r << 2), inv);
    const vi = f32x4.splat(inv);
    let j = 0;
    for (; j + 4 <= d; j += 4) {
      const o = <usize>j << 2;
      v128.store(or + o, f32x4.mul(f32x4.mul(v128.load(xr + o), vi), v128.load(w + o)));
    }
    for (; j < d; j++) {
      const o = <usize>j << 2;
      store<f32>(or + o, (load<f32>(xr + o) * inv) * load<f32>(w + o));
    }
  }
}

/**
 * Backward of rmsnorm. With r = invRms of the row and c = r³/d · Σ dy·w·x:
 * dx = dy·w·r − x·c (written), dw += dy·x·r (accumulated, rows in order). `dx` may alias `dy`.
 */
export function rmsnorm_backward_f32(
  dx: usize,
  dw: usize,
  dy: usize,
  x: usize,
  w: usize,
  rows: i32,
  d: i32,
  eps: f32,
): void {
  const rowBytes = <usize>d << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    const gr = dy + <usize>r * rowBytes;
    const dr = dx + <usize>r * rowBytes;
    const inv = inv_rms(xr, d, eps);
    // Σ dy·w·x
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= d; j += 4) {
      const o = <usize>j << 2;
      acc = f32x4.add(
        acc,
        f32x4.mul(f32x4.mul(v128.load(gr + o), v128.load(w + o)), v128.load(xr + o)),
      );
    }
    let s = hsum(acc);
    for (; j < d; j++) {
      const o = <usize>j << 2;
      s += (load<f32>(gr + o) * load<f32>(w + o)) * load<f32>(xr + o);
    }
    const c: f32 = ((inv * inv) * inv) * s / <f32>d;
    const vi = f32x4.splat(inv);
    const vc = f32x4.splat(c);
    j = 0;
    for (; j + 4 <= d; j += 4) {
      const o = <usize>j << 2;
      const g = v128.load(gr + o);
      const xv = v128.load(xr + o);
      v128.store(dw + o, f32x4.add(v128.load(dw + o), f32x4.mul(f32x4.mul(g, xv), vi)));
      v128.store(
        dr + o,
        f32x4.sub(f32x4.mul(f32x4.mul(g, v128.load(w + o)), vi), f32x4.mul(xv, vc)),
      );
    }
    for (; j < d; j++) {
      const o = <usize>j << 2;
      const g = load<f32>(gr + o);
      const xv = load<f32>(xr + o);
      store<f32>(dw + o, load<f32>(dw + o) + (g * xv) * inv);
      store<f32>(dr + o, (g * load<f32>(w + o)) * inv - xv * c);
    }
  }
}
