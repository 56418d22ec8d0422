// f32 matrix products for training: out[M,N] (+)= op(a)[M,K] · op(b)[K,N].
//
// NN and TN forms broadcast one element of a and multiply it with 8 consecutive columns of b
// (4 rows x 8 columns = 8 accumulators), so no horizontal sums are needed. NT (b stored [N,K],
// the y = x·Wᵀ of a linear layer) takes dot products along K instead.
//
// Deterministic mode multiplies then adds (two roundings, the same on every engine); fast mode
// uses relaxed fused multiply-add, whose rounding depends on the machine. The mode is a
// compile-time type parameter (i32 = deterministic, f32 = fast) so the inner loops carry no
// branch.

@inline
function madd<MODE>(a: v128, b: v128, c: v128): v128 {
  // Without the relaxed-SIMD feature (the portable build) fast mode multiplies then adds.
  if (ASC_FEATURE_RELAXED_SIMD) {
    if (isFloat<MODE>()) return f32x4.relaxed_madd(a, b, c);
  }
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline
function finish(dst: usize, v: v128, accumulate: bool): void {
  v128.store(dst, accumulate ? f32x4.add(v128.load(dst), v) : v);
}

@inline
function finishScalar(dst: usize, v: f32, accumulate: bool): void {
  store<f32>(dst, accumulate ? load<f32>(dst) + v : v);
}

// a element (m, k) lives at a + m*ams + k*aks (bytes); b is row-major [K, N].
// Column strips of 8 are the outer loop, so a strip of b (K x 32 bytes) stays in cache while
// every row block of a passes over it; 6 rows x 8 columns = 12 accumulators per block.
function mm_broadcast<MODE>(out: usize, a: usize, ams: usize, aks: usize, b: usize, m: i32, k: i32, n: i32, accumulate: bool, scratch: usize): void {
  // With several row blocks, copy each strip of b to contiguous scratch first: b's rows are
  // often a power-of-two apart, and walking them would thrash a few L1 sets.
  const pack = m >= 6 && scratch != 0;
  const bRow: usize = pack ? 32 : <usize>n * 4;
  const oRow = <usize>n * 4;
  const n8 = n & ~7;
  for (let c = 0; c < n8; c += 8) {
    let bc = b + <usize>c * 4;
    if (pack) {
      const src = bc;
      for (let kk = 0; kk < k; kk++) {
        const row = src + <usize>kk * <usize>n * 4;
        v128.store(scratch + <usize>kk * 32, v128.load(row));
        v128.store(scratch + <usize>kk * 32, v128.load(row, 16), 16);
      }
      bc = scratch;
    }
    let r = 0;
    for (; r + 6 <= m; r += 6) {
      const a0 = a + <usize>r * ams;
      const a1 = a0 + ams;
      const a2 = a1 + ams;
      const a3 = a2 + ams;
      const a4 = a3 + ams;
      const a5 = a4 + ams;
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
      let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
      let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
      let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
      let bp = bc;
      let ak: usize = 0;
      for (let kk = 0; kk < k; kk++) {
        const b0 = v128.load(bp);
        const b1 = v128.load(bp, 16);
        bp += bRow;
        const s0 = v128.load32_splat(a0 + ak);
        c00 = madd<MODE>(s0, b0, c00);
        c01 = madd<MODE>(s0, b1, c01);
        const s1 = v128.load32_splat(a1 + ak);
        c10 = madd<MODE>(s1, b0, c10);
        c11 = madd<MODE>(s1, b1, c11);
        const s2 = v128.load32_splat(a2 + ak);
        c20 = madd<MODE>(s2, b0, c20);
        c21 = madd<MODE>(s2, b1, c21);
        const s3 = v128.load32_splat(a3 + ak);
        c30 = madd<MODE>(s3, b0, c30);
        c31 = madd<MODE>(s3, b1, c31);
        const s4 = v128.load32_splat(a4 + ak);
        c40 = madd<MODE>(s4, b0, c40);
        c41 = madd<MODE>(s4, b1, c41);
        const s5 = v128.load32_splat(a5 + ak);
        c50 = madd<MODE>(s5, b0, c50);
        c51 = madd<MODE>(s5, b1, c51);
        ak += aks;
      }
      const o = out + <usize>r * oRow + <usize>c * 4;
      finish(o + 0 * oRow, c00, accumulate);
      finish(o + 0 * oRow + 16, c01, accumulate);
      finish(o + 1 * oRow, c10, accumulate);
      finish(o + 1 * oRow + 16, c11, accumulate);
      finish(o + 2 * oRow, c20, accumulate);
      finish(o + 2 * oRow + 16, c21, accumulate);
      finish(o + 3 * oRow, c30, accumulate);
      finish(o + 3 * oRow + 16, c31, accumulate);
      finish(o + 4 * oRow, c40, accumulate);
      finish(o + 4 * oRow + 16, c41, accumulate);
      finish(o + 5 * oRow, c50, accumulate);
      finish(o + 5 * oRow + 16, c51, accumulate);
    }
    for (; r < m; r++) {
      const a0 = a + <usize>r * ams;
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
      let bp = bc;
      let ak: usize = 0;
      for (let kk = 0; kk < k; kk++) {
        const s = v128.load32_splat(a0 + ak);
        c00 = madd<MODE>(s, v128.load(bp), c00);
        c01 = madd<MODE>(s, v128.load(bp, 16), c01);
        bp += bRow;
        ak += aks;
      }
      const o = out + <usize>r * oRow + <usize>c * 4;
      finish(o, c00, accumulate);
      finish(o + 16, c01, accumulate);
    }
  }
  // Column tail (n % 8), scalar, same k order.
  for (let c = n8; c < n; c++) {
    for (let r = 0; r < m; r++) {
      let s: f32 = 0;
      const a0 = a + <usize>r * ams;
      for (let kk = 0; kk < k; kk++) {
        s += load<f32>(a0 + <usize>kk * aks) * load<f32>(b + (<usize>kk * <usize>n + <usize>c) * 4);
      }
      finishScalar(out + <usize>r * oRow + <usize>c * 4, s, accumulate);
    }
  }
}

@inline
function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) +
    (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// out[m,n] = Σ_k a[m,k] b[n,k]: a row-major [M,K], b row-major [N,K]. Two rows of a against
// four rows of b per block; 4-wide partial sums, then a fixed-order horizontal sum and tail.
// Rows of b are taken in blocks of about 32 KB that every row of a passes over before the next
// block: with b large (the output layer, [vocab, dim]) it would otherwise be read from memory
// once per pair of rows of a. Each output's summation order does not depend on the blocking.
function mm_dot<MODE>(out: usize, a: usize, b: usize, m: i32, k: i32, n: i32, accumulate: bool): void {
  const row = <usize>k * 4;
  const k4 = k & ~3;
  const oRow = <usize>n * 4;
  const nb = max(4, (8192 / max(k, 1)) & ~3);
  for (let c0 = 0; c0 < n; c0 += nb) {
    const cEnd = min(n, c0 + nb);
    let r = 0;
    // Two rows of a against four rows of b: eight independent accumulators.
    for (; r + 2 <= m; r += 2) {
      const ar = a + <usize>r * row;
      const as = ar + row;
      const o = out + <usize>r * oRow;
      let c = c0;
      for (; c + 4 <= cEnd; c += 4) {
        const b0 = b + <usize>c * row;
        const b1 = b0 + row;
        const b2 = b1 + row;
        const b3 = b2 + row;
        let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
        let u0 = f32x4.splat(0), u1 = f32x4.splat(0), u2 = f32x4.splat(0), u3 = f32x4.splat(0);
        for (let j: usize = 0; j < <usize>k4 * 4; j += 16) {
          const av = v128.load(ar + j);
          const aw = v128.load(as + j);
          const v0 = v128.load(b0 + j);
          const v1 = v128.load(b1 + j);
          const v2 = v128.load(b2 + j);
          const v3 = v128.load(b3 + j);
          s0 = madd<MODE>(av, v0, s0);
          s1 = madd<MODE>(av, v1, s1);
          s2 = madd<MODE>(av, v2, s2);
          s3 = madd<MODE>(av, v3, s3);
          u0 = madd<MODE>(aw, v0, u0);
          u1 = madd<MODE>(aw, v1, u1);
          u2 = madd<MODE>(aw, v2, u2);
          u3 = madd<MODE>(aw, v3, u3);
        }
        let t0 = hsum(s0), t1 = hsum(s1), t2 = hsum(s2), t3 = hsum(s3);
        let w0 = hsum(u0), w1 = hsum(u1), w2 = hsum(u2), w3 = hsum(u3);
        for (let kk = k4; kk < k; kk++) {
          const off = <usize>kk * 4;
          const x = load<f32>(ar + off);
          const y = load<f32>(as + off);
          const e0 = load<f32>(b0 + off), e1 = load<f32>(b1 + off);
          const e2 = load<f32>(b2 + off), e3 = load<f32>(b3 + off);
          t0 += x * e0;
          t1 += x * e1;
          t2 += x * e2;
          t3 += x * e3;
          w0 += y * e0;
          w1 += y * e1;
          w2 += y * e2;
          w3 += y * e3;
        }
        const oc = o + <usize>c * 4;
        finishScalar(oc, t0, accumulate);
        finishScalar(oc + 4, t1, accumulate);
        finishScalar(oc + 8, t2, accumulate);
        finishScalar(oc + 12, t3, accumulate);
        finishScalar(oc + oRow, w0, accumulate);
        finishScalar(oc + oRow + 4, w1, accumulate);
        finishScalar(oc + oRow + 8, w2, accumulate);
        finishScalar(oc + oRow + 12, w3, accumulate);
      }
      for (; c < cEnd; c++) {
        dot_one<MODE>(o + <usize>c * 4, ar, b + <usize>c * row, k, k4, accumulate);
        dot_one<MODE>(o + oRow + <usize>c * 4, as, b + <usize>c * row, k, k4, accumulate);
      }
    }
    for (; r < m; r++) {
      const ar = a + <usize>r * row;
      const o = out + <usize>r * oRow;
      for (let c = c0; c < cEnd; c++) {
        dot_one<MODE>(o + <usize>c * 4, ar, b + <usize>c * row, k, k4, accumulate);
      }
    }
  }
}

// One output of the NT form, with the same summation order as the blocked loop above.
@inline
function dot_one<MODE>(dst: usize, ar: usize, br: usize, k: i32, k4: i32, accumulate: bool): void {
  let s0 = f32x4.splat(0);
  for (let j: usize = 0; j < <usize>k4 * 4; j += 16) {
    s0 = madd<MODE>(v128.load(ar + j), v128.load(br + j), s0);
  }
  let t0 = hsum(s0);
  for (let kk = k4; kk < k; kk++) t0 += load<f32>(ar + <usize>kk * 4) * load<f32>(br + <usize>kk * 4);
  finishScalar(dst, t0, accumulate);
}

// Both operands transposed: rare, plain loops.
function mm_tt(out: usize, a: usize, b: usize, m: i32, k: i32, n: i32, accumulate: bool): void {
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) {
      let s: f32 = 0;
      for (let kk = 0; kk < k; kk++) {
        s += load<f32>(a + (<usize>kk * <usize>m + <usize>r) * 4) *
          load<f32>(b + (<usize>c * <usize>k + <usize>kk) * 4);
      }
      finishScalar(out + (<usize>r * <usize>n + <usize>c) * 4, s, accumulate);
    }
  }
}

/** Scratch bytes matmul_f32 wants for inner size k (one packed strip of b). */
export function matmul_f32_scratch_bytes(k: i32): i32 {
  return k * 32 + 16;
}

/**
 * out[m,n] (+)= op(a)[m,k] · op(b)[k,n]. transA: a stored [k,m]; transB: b stored [n,k].
 * fast != 0 allows fused multiply-add (not deterministic across machines).
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
  const acc = accumulate != 0;
  if (transB != 0) {
    if (transA != 0) mm_tt(out, a, b, m, k, n, acc);
    else if (fast) mm_dot<f32>(out, a, b, m, k, n, acc);
    else mm_dot<i32>(out, a, b, m, k, n, acc);
    return;
  }
  const ams: usize = transA != 0 ? 4 : <usize>k * 4;
  const aks: usize = transA != 0 ? <usize>m * 4 : 4;
  if (fast) mm_broadcast<f32>(out, a, ams, aks, b, m, k, n, acc, scratch);
  else mm_broadcast<i32>(out, a, ams, aks, b, m, k, n, acc, scratch);
}
