// Reversible coupling of two streams, in f32 and on an int32 fixed-point stream.
// Fixed point: value = x / 2^fracBits. Rounding is to nearest, ties to even (f32x4.nearest),
// conversion saturates to the i32 range (NaN → 0), and the add/sub wraps modulo 2^32, so
// inverse(forward(x)) == x bit for bit whatever f is.

import { round_sat_i32 } from "./math";

// 2^e as f32 (e in [−126, 127]).
@inline
function pow2(e: i32): f32 {
  return reinterpret<f32>((e + 127) << 23);
}

/** out = x + f (inverse = 0) or out = x − f (inverse ≠ 0). */
export function couple_f32(out: usize, x: usize, f: usize, n: i32, inverse: i32): void {
  let i = 0;
  if (inverse) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, f32x4.sub(v128.load(x + o), v128.load(f + o)));
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(out + o, load<f32>(x + o) - load<f32>(f + o));
    }
  } else {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, f32x4.add(v128.load(x + o), v128.load(f + o)));
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(out + o, load<f32>(x + o) + load<f32>(f + o));
    }
  }
}

/** out = x ± q(f), q(f) = i32(nearest(f · 2^fracBits)), wrapping i32 arithmetic. */
export function couple_fixed(
  out: usize,
  x: usize,
  f: usize,
  n: i32,
  fracBits: i32,
  inverse: i32,
): void {
  const sc = pow2(fracBits);
  const vs = f32x4.splat(sc);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const qv = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(f + o), vs)));
    const xv = v128.load(x + o);
    v128.store(out + o, inverse ? i32x4.sub(xv, qv) : i32x4.add(xv, qv));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const qs = round_sat_i32(load<f32>(f + o) * sc);
    const xs = load<i32>(x + o);
    store<i32>(out + o, inverse ? xs - qs : xs + qs);
  }
}

/** out = f32(x) · 2^−fracBits. */
export function from_fixed(out: usize, x: usize, n: i32, fracBits: i32): void {
  const sc = pow2(-fracBits);
  const vs = f32x4.splat(sc);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(f32x4.convert_i32x4_s(v128.load(x + o)), vs));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, <f32>load<i32>(x + o) * sc);
  }
}

/** out = i32(nearest(x · 2^fracBits)), saturating. */
export function to_fixed(out: usize, x: usize, n: i32, fracBits: i32): void {
  const sc = pow2(fracBits);
  const vs = f32x4.splat(sc);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(
      out + o,
      i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(x + o), vs))),
    );
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<i32>(out + o, round_sat_i32(load<f32>(x + o) * sc));
  }
}
