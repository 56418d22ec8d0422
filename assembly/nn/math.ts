// Shared helpers of the nn kernels: a deterministic f32 exp (vector and scalar forms run the
// exact same sequence of IEEE f32 operations, so a value does not depend on whether it fell in a
// SIMD lane or in a scalar tail), sigmoid, and fixed-order horizontal reductions.
//
// exp is Cephes' expf: n = round(x·log2 e), r = x − n·ln2 (split in two constants), a degree-6
// polynomial for e^r, times 2^n built in the exponent bits. Inputs are clamped to
// [EXP_LO, EXP_HI] so 2^n never overflows the exponent; below EXP_LO the result is exactly 0 and
// above EXP_HI it is +Infinity (so sigmoid(−x) = 1/(1 + e^x) is exactly 0 for large x).
// Relative error is about 2 ulp; no relaxed SIMD, no fused multiply-add.

export const EXP_HI: f32 = 88.0;
export const EXP_LO: f32 = -87.33654;
const LOG2E: f32 = 1.44269504088896341;
const MAGIC: f32 = 12582912.0; // 1.5 · 2^23
const MAGIC_BITS: i32 = 0x4b400000;
const C1: f32 = 0.693359375;
const C2: f32 = -2.12194440e-4;
const P0: f32 = 1.9875691500e-4;
const P1: f32 = 1.3981999507e-3;
const P2: f32 = 8.3334519073e-3;
const P3: f32 = 4.1665795894e-2;
const P4: f32 = 1.6666665459e-1;
const P5: f32 = 5.0000001201e-1;

// exp_v's constants as splatted vectors in static memory. Loading them (one instruction each,
// L1 hits) is cheaper than the engine rebuilding a v128.const at every use inside a loop.
const K_LO = 0, K_HI = 16, K_LOG2E = 32, K_MAGIC = 48, K_C1 = 64, K_C2 = 80, K_P0 = 96;
const K_P1 = 112, K_P2 = 128, K_P3 = 144, K_P4 = 160, K_P5 = 176, K_ONE = 192, K_BIAS = 208;
const K_INF = 224;
const EXPK: usize = memory.data<f32>([
  EXP_LO, EXP_LO, EXP_LO, EXP_LO,
  EXP_HI, EXP_HI, EXP_HI, EXP_HI,
  LOG2E, LOG2E, LOG2E, LOG2E,
  MAGIC, MAGIC, MAGIC, MAGIC,
  C1, C1, C1, C1,
  C2, C2, C2, C2,
  P0, P0, P0, P0,
  P1, P1, P1, P1,
  P2, P2, P2, P2,
  P3, P3, P3, P3,
  P4, P4, P4, P4,
  P5, P5, P5, P5,
  1, 1, 1, 1,
  reinterpret<f32>(127 - MAGIC_BITS), reinterpret<f32>(127 - MAGIC_BITS),
  reinterpret<f32>(127 - MAGIC_BITS), reinterpret<f32>(127 - MAGIC_BITS),
  Infinity, Infinity, Infinity, Infinity,
], 16);

@inline
function k(offset: usize): v128 {
  return v128.load(EXPK + offset);
}

/** e^x on four lanes. */
@inline
export function exp_v(x0: v128): v128 {
  // pmax/pmin (a < b ? b : a) are one instruction each, unlike max/min; NaN in x0 stays NaN.
  const x = f32x4.pmin(f32x4.pmax(x0, k(K_LO)), k(K_HI));
  // n = nearest(x·log2 e) by the 1.5·2^23 trick: adding MAGIC rounds to an integer (ties to
  // even, the IEEE default) and leaves n + 0x4B400000 in the bits, from which 2^n is built.
  const t = f32x4.add(f32x4.mul(x, k(K_LOG2E)), k(K_MAGIC));
  const n = f32x4.sub(t, k(K_MAGIC));
  let r = f32x4.sub(x, f32x4.mul(n, k(K_C1)));
  r = f32x4.sub(r, f32x4.mul(n, k(K_C2)));
  const z = f32x4.mul(r, r);
  let p = k(K_P0);
  p = f32x4.add(f32x4.mul(p, r), k(K_P1));
  p = f32x4.add(f32x4.mul(p, r), k(K_P2));
  p = f32x4.add(f32x4.mul(p, r), k(K_P3));
  p = f32x4.add(f32x4.mul(p, r), k(K_P4));
  p = f32x4.add(f32x4.mul(p, r), k(K_P5));
  const y = f32x4.add(f32x4.add(f32x4.mul(p, z), r), k(K_ONE));
  const e = i32x4.shl(i32x4.add(t, k(K_BIAS)), 23);
  const res = f32x4.mul(y, e);
  // Exactly 0 below the range, +∞ above (a NaN input compares false and stays NaN).
  const big = f32x4.gt(x0, k(K_HI));
  return v128.bitselect(k(K_INF), v128.andnot(res, f32x4.lt(x0, k(K_LO))), big);
}

/** e^x, scalar, bit-identical to one lane of exp_v. */
@inline
export function exp_s(x0: f32): f32 {
  const x = min(max(x0, EXP_LO), EXP_HI);
  const t = x * LOG2E + MAGIC;
  const n = t - MAGIC;
  let r = x - n * C1;
  r = r - n * C2;
  const z = r * r;
  let p = P0;
  p = p * r + P1;
  p = p * r + P2;
  p = p * r + P3;
  p = p * r + P4;
  p = p * r + P5;
  const y = (p * z + r) + <f32>1;
  const e = reinterpret<f32>((reinterpret<i32>(t) + (127 - MAGIC_BITS)) << 23);
  const res = y * e;
  return x0 < EXP_LO ? <f32>0 : x0 > EXP_HI ? Infinity : res;
}

/** 1 / (1 + e^-x) on four lanes. */
@inline
export function sigmoid_v(x: v128): v128 {
  return f32x4.div(k(K_ONE), f32x4.add(k(K_ONE), exp_v(f32x4.neg(x))));
}

/** 1 / (1 + e^-x), scalar, identical to one lane of sigmoid_v. */
@inline
export function sigmoid_s(x: f32): f32 {
  return <f32>1 / (<f32>1 + exp_s(-x));
}

/** (l0 + l1) + (l2 + l3). */
@inline
export function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) +
    (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** max of the four lanes. */
@inline
export function hmax(v: v128): f32 {
  return max(
    max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)),
    max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)),
  );
}

/** Σ a[i]·b[i] over n floats: four lanes, then (l0+l1)+(l2+l3), then the tail in order. */
@inline
export function dot_f32(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    acc = f32x4.add(acc, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  let s = hsum(acc);
  for (; i < n; i++) {
    const o = <usize>i << 2;
    s += load<f32>(a + o) * load<f32>(b + o);
  }
  return s;
}

/** out[i] += alpha · x[i] over n floats. */
@inline
export function axpy_inline(out: usize, x: usize, alpha: f32, n: i32): void {
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(out + o), f32x4.mul(va, v128.load(x + o))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(out + o) + alpha * load<f32>(x + o));
  }
}

/** Saturating f32 → i32 after rounding to nearest, ties to even (NaN → 0). */
@inline
export function round_sat_i32(x: f32): i32 {
  return i32x4.extract_lane(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.splat(x))), 0);
}

/**
 * Softmax of one row of n floats from `src` into `dst` (may alias): max, e^(x−max) with a sum in
 * fixed order, then a multiply by 1/sum. Shared with attention and cross-entropy.
 */
@inline
export function softmax_row(dst: usize, src: usize, n: i32): void {
  let vm = f32x4.splat(-Infinity as f32);
  let j = 0;
  for (; j + 4 <= n; j += 4) vm = f32x4.pmax(vm, v128.load(src + (<usize>j << 2)));
  let m = hmax(vm);
  for (; j < n; j++) m = max(m, load<f32>(src + (<usize>j << 2)));
  const vmx = f32x4.splat(m);
  let acc = f32x4.splat(0);
  j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    const e = exp_v(f32x4.sub(v128.load(src + o), vmx));
    v128.store(dst + o, e);
    acc = f32x4.add(acc, e);
  }
  let s = hsum(acc);
  for (; j < n; j++) {
    const o = <usize>j << 2;
    const e = exp_s(load<f32>(src + o) - m);
    store<f32>(dst + o, e);
    s += e;
  }
  const inv: f32 = <f32>1 / s;
  const vi = f32x4.splat(inv);
  j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    v128.store(dst + o, f32x4.mul(v128.load(dst + o), vi));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(dst + o, load<f32>(dst + o) * inv);
  }
}
