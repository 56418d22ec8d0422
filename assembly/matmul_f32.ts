// f32 matrix products for training: out[M,N] (+)= op(a)[M,K] · op(b)[K,N], every transpose form.
//
// A packed GEMM in the BLIS shape. K is cut into blocks of KC; for each block, op(a) is packed
// into panels of MR rows ([kc][MR] contiguous) and op(b) into panels of NR columns ([kc][NR]
// contiguous), zero-padded at the edges. The micro-kernel then computes one MR x NR tile of out
// from one panel of each: per k it broadcasts MR values of a and multiplies them with two
// 4-lane vectors of b, into 12 accumulators (with the two b vectors and one broadcast, 15 of the
// 16 vector registers x64 engines give WebAssembly). Packing makes all four transpose forms run
// the same inner loop on contiguous memory; the loop over b's panels is outside the loop over
// a's, so a b panel (KC x NR x 4 = 8 KB) stays in L1 while every a panel passes over it.
//
// Summation order: each output starts from its old value (accumulate, or a previous K block) or
// zero, then adds a[m,k]·b[k,n] for k in increasing order, one term at a time. Deterministic
// mode multiplies then adds (two roundings, the same on every engine and machine); fast mode
// uses relaxed fused multiply-add, whose rounding depends on the machine but not on the run. The
// mode is a compile-time type parameter (i32 = deterministic, f32 = fast): no branch in the loop.

const MR = 6;
const NR = 8;
const KC = 256;

@inline
function madd<MODE>(a: v128, b: v128, c: v128): v128 {
  // Without the relaxed-SIMD feature (the portable build) fast mode multiplies then adds.
  if (ASC_FEATURE_RELAXED_SIMD) {
    if (isFloat<MODE>()) return f32x4.relaxed_madd(a, b, c);
  }
  return f32x4.add(f32x4.mul(a, b), c);
}

// Packs rows [r0, r0 + MR) and k in [k0, k0 + kc) of op(a) as [kc][MR] floats at dst; rows past
// m are zero. a element (r, k) lives at a + r*ams + k*aks (bytes).
function packA(dst: usize, a: usize, ams: usize, aks: usize, m: i32, r0: i32, k0: i32, kc: i32): void {
  const rows = min(MR, m - r0);
  if (aks == 4) {
    // a row-major: each row is contiguous along k; write it with a stride of MR floats. Full
    // panels go 4 k at a time through register transposes (rows 0-3 as 4 x 4, rows 4-5 as 2 x 4).
    let kk0 = 0;
    if (rows == MR) {
      const s0 = a + <usize>r0 * ams + <usize>k0 * 4;
      for (; kk0 + 4 <= kc; kk0 += 4) {
        const p = s0 + <usize>kk0 * 4;
        const d = dst + <usize>kk0 * (MR * 4);
        const x0 = v128.load(p), x1 = v128.load(p + ams), x2 = v128.load(p + 2 * ams);
        const x3 = v128.load(p + 3 * ams), x4 = v128.load(p + 4 * ams), x5 = v128.load(p + 5 * ams);
        const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
        const t1 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
        const t2 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
        const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
        const u0 = v128.shuffle<f32>(x4, x5, 0, 4, 1, 5);
        const u1 = v128.shuffle<f32>(x4, x5, 2, 6, 3, 7);
        v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
        store<i64>(d, i64x2.extract_lane(u0, 0), 16);
        v128.store(d, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 24);
        store<i64>(d, i64x2.extract_lane(u0, 1), 40);
        v128.store(d, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 48);
        store<i64>(d, i64x2.extract_lane(u1, 0), 64);
        v128.store(d, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 72);
        store<i64>(d, i64x2.extract_lane(u1, 1), 88);
      }
    }
    for (let r = 0; r < rows; r++) {
      const src = a + <usize>(r0 + r) * ams + <usize>k0 * 4;
      const d = dst + <usize>r * 4;
      for (let kk = kk0; kk < kc; kk++) {
        store<f32>(d + <usize>kk * (MR * 4), load<f32>(src + <usize>kk * 4));
      }
    }
  } else {
    // a stored [K, M] (transA): the MR values of one k are contiguous.
    for (let kk = 0; kk < kc; kk++) {
      const src = a + <usize>(k0 + kk) * aks + <usize>r0 * 4;
      const d = dst + <usize>kk * (MR * 4);
      if (rows == MR) {
        v128.store(d, v128.load(src));
        store<u64>(d, load<u64>(src, 16), 16);
      } else {
        for (let r = 0; r < rows; r++) store<f32>(d + <usize>r * 4, load<f32>(src + <usize>r * 4));
      }
    }
  }
  for (let r = rows; r < MR; r++) {
    for (let kk = 0; kk < kc; kk++) store<f32>(dst + (<usize>kk * MR + <usize>r) * 4, 0);
  }
}

// Packs columns [c0, c0 + NR) and k in [k0, k0 + kc) of op(b) as [kc][NR] floats at dst;
// columns past n are zero. b is row-major [K, N], or [N, K] when transB.
function packB(dst: usize, b: usize, transB: bool, k: i32, n: i32, c0: i32, k0: i32, kc: i32): void {
  const cols = min(NR, n - c0);
  if (!transB) {
    const row = <usize>n * 4;
    for (let kk = 0; kk < kc; kk++) {
      const src = b + <usize>(k0 + kk) * row + <usize>c0 * 4;
      const d = dst + <usize>kk * (NR * 4);
      if (cols == NR) {
        v128.store(d, v128.load(src));
        v128.store(d, v128.load(src, 16), 16);
      } else {
        for (let c = 0; c < cols; c++) store<f32>(d + <usize>c * 4, load<f32>(src + <usize>c * 4));
        for (let c = cols; c < NR; c++) store<f32>(d + <usize>c * 4, 0);
      }
    }
    return;
  }
  // b stored [N, K]: transpose. Each column c of op(b) is row c0 + c of b, contiguous along k.
  const row = <usize>k * 4;
  let kk0 = 0;
  if (cols == NR) {
    // Full panels: 4 x 4 register transposes, two per 4 k.
    const s0 = b + <usize>c0 * row + <usize>k0 * 4;
    for (; kk0 + 4 <= kc; kk0 += 4) {
      const d = dst + <usize>kk0 * (NR * 4);
      for (let h = 0; h < 2; h++) {
        const p = s0 + <usize>(h * 4) * row + <usize>kk0 * 4;
        const x0 = v128.load(p), x1 = v128.load(p + row);
        const x2 = v128.load(p + 2 * row), x3 = v128.load(p + 3 * row);
        const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
        const t1 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
        const t2 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
        const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
        const q = d + <usize>h * 16;
        v128.store(q, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
        v128.store(q, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), NR * 4);
        v128.store(q, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 2 * NR * 4);
        v128.store(q, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 3 * NR * 4);
      }
    }
  }
  for (let c = 0; c < cols; c++) {
    const src = b + <usize>(c0 + c) * row + <usize>k0 * 4;
    const d = dst + <usize>c * 4;
    for (let kk = kk0; kk < kc; kk++) store<f32>(d + <usize>kk * (NR * 4), load<f32>(src + <usize>kk * 4));
  }
  for (let c = cols; c < NR; c++) {
    for (let kk = 0; kk < kc; kk++) store<f32>(dst + (<usize>kk * NR + <usize>c) * 4, 0);
  }
}

// One MR x NR tile: o (row stride ldo bytes) = (fromOut ? o : 0) + Σ_k ap[k][r] · bp[k][c].
@inline
function tile6x8<MODE>(o: usize, ldo: usize, ap: usize, bp: usize, kc: i32, fromOut: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  if (fromOut) {
    c00 = v128.load(o);
    c01 = v128.load(o, 16);
    c10 = v128.load(o + ldo);
    c11 = v128.load(o + ldo, 16);
    c20 = v128.load(o + 2 * ldo);
    c21 = v128.load(o + 2 * ldo, 16);
    c30 = v128.load(o + 3 * ldo);
    c31 = v128.load(o + 3 * ldo, 16);
    c40 = v128.load(o + 4 * ldo);
    c41 = v128.load(o + 4 * ldo, 16);
    c50 = v128.load(o + 5 * ldo);
    c51 = v128.load(o + 5 * ldo, 16);
  }
  let pa = ap, pb = bp;
  const end = bp + <usize>kc * (NR * 4);
  while (pb < end) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let s = v128.load32_splat(pa);
    c00 = madd<MODE>(s, b0, c00);
    c01 = madd<MODE>(s, b1, c01);
    s = v128.load32_splat(pa, 4);
    c10 = madd<MODE>(s, b0, c10);
    c11 = madd<MODE>(s, b1, c11);
    s = v128.load32_splat(pa, 8);
    c20 = madd<MODE>(s, b0, c20);
    c21 = madd<MODE>(s, b1, c21);
    s = v128.load32_splat(pa, 12);
    c30 = madd<MODE>(s, b0, c30);
    c31 = madd<MODE>(s, b1, c31);
    s = v128.load32_splat(pa, 16);
    c40 = madd<MODE>(s, b0, c40);
    c41 = madd<MODE>(s, b1, c41);
    s = v128.load32_splat(pa, 20);
    c50 = madd<MODE>(s, b0, c50);
    c51 = madd<MODE>(s, b1, c51);
    pa += MR * 4;
    pb += NR * 4;
  }
  v128.store(o, c00);
  v128.store(o, c01, 16);
  v128.store(o + ldo, c10);
  v128.store(o + ldo, c11, 16);
  v128.store(o + 2 * ldo, c20);
  v128.store(o + 2 * ldo, c21, 16);
  v128.store(o + 3 * ldo, c30);
  v128.store(o + 3 * ldo, c31, 16);
  v128.store(o + 4 * ldo, c40);
  v128.store(o + 4 * ldo, c41, 16);
  v128.store(o + 5 * ldo, c50);
  v128.store(o + 5 * ldo, c51, 16);
}

// A tile at the bottom or right edge: through a full MR x NR buffer, copying the valid part.
function edgeTile<MODE>(o: usize, ldo: usize, rows: i32, cols: i32, ap: usize, bp: usize, kc: i32, fromOut: bool, buf: usize): void {
  if (fromOut) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        store<f32>(buf + <usize>(r * NR + c) * 4, load<f32>(o + <usize>r * ldo + <usize>c * 4));
      }
    }
  }
  tile6x8<MODE>(buf, NR * 4, ap, bp, kc, fromOut);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      store<f32>(o + <usize>r * ldo + <usize>c * 4, load<f32>(buf + <usize>(r * NR + c) * 4));
    }
  }
}

function gemm<MODE>(out: usize, a: usize, ams: usize, aks: usize, b: usize, transB: bool, m: i32, k: i32, n: i32, accumulate: bool, scratch: usize): void {
  const ldo = <usize>n * 4;
  const mPanels = (m + MR - 1) / MR;
  const nPanels = (n + NR - 1) / NR;
  const kcMax = min(k, KC);
  // One b panel at a time: it is packed just before every a panel passes over it.
  const packedA = scratch;
  const bp = packedA + <usize>mPanels * MR * <usize>kcMax * 4;
  const buf = bp + <usize>(NR * kcMax * 4);
  if (k == 0) {
    // An empty sum: out = 0, or unchanged when accumulating.
    if (!accumulate) memory.fill(out, 0, <usize>m * ldo);
    return;
  }
  for (let k0 = 0; k0 < k; k0 += KC) {
    const kc = min(KC, k - k0);
    const fromOut = accumulate || k0 > 0;
    for (let i = 0; i < mPanels; i++) {
      packA(packedA + <usize>i * MR * <usize>kc * 4, a, ams, aks, m, i * MR, k0, kc);
    }
    for (let j = 0; j < nPanels; j++) {
      packB(bp, b, transB, k, n, j * NR, k0, kc);
      const c0 = j * NR;
      const cols = min(NR, n - c0);
      for (let i = 0; i < mPanels; i++) {
        const r0 = i * MR;
        const rows = min(MR, m - r0);
        const ap = packedA + <usize>i * MR * <usize>kc * 4;
        const o = out + <usize>r0 * ldo + <usize>c0 * 4;
        if (rows == MR && cols == NR) tile6x8<MODE>(o, ldo, ap, bp, kc, fromOut);
        else edgeTile<MODE>(o, ldo, rows, cols, ap, bp, kc, fromOut, buf);
      }
    }
  }
}

/** Scratch bytes matmul_f32 wants for an [m, k] x [k, n] product: op(a) packed, one panel of op(b), one tile. */
export function matmul_f32_scratch_bytes(m: i32, k: i32, n: i32): i32 {
  const kc = min(k, KC);
  const mp = (m + MR - 1) / MR * MR;
  return (mp + NR) * kc * 4 + MR * NR * 4 + 16;
}

/**
 * out[m,n] (+)= op(a)[m,k] · op(b)[k,n]. transA: a stored [k,m]; transB: b stored [n,k].
 * fast != 0 allows fused multiply-add (not deterministic across machines). scratch holds
 * matmul_f32_scratch_bytes(m, k, n) bytes.
 */
export function matmul_f32(
  out: usize,
  a: usize,
  b: usize,
  m: i32,
  k: i32,
  n: i32,
  transA: i32,
  transB: i32,
  accumulate: i32,
  fast: i32,
  scratch: usize,
): void {
  if (m <= 0 || n <= 0) return;
  const ams: usize = transA != 0 ? 4 : <usize>k * 4;
  const aks: usize = transA != 0 ? <usize>m * 4 : 4;
  if (fast) gemm<f32>(out, a, ams, aks, b, transB != 0, m, k, n, accumulate != 0, scratch);
  else gemm<i32>(out, a, ams, aks, b, transB != 0, m, k, n, accumulate != 0, scratch);
}
