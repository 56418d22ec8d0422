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
  if (isFloat<MODE>()) return f32x4.relaxed_madd(a, b, c);
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
function mm_broadcast<MODE>(
  out: usize,
  a: usize,
  ams: usize,
  aks: usize,
  b: usize,
  m: i32,
  k: i32,
  n: i32,
  accumulate: bool,
): void {
  const bRow = <usize>n * 4;
  const oRow = <usize>n * 4;
  const n8 = n & ~7;
  let r = 0;
  for (; r + 4 <= m; r += 4) {
    const a0 = a + <usize>r * ams;
    const a1 = a0 + ams;
    const a2 = a1 + ams;
    const a3 = a2 + ams;
    for (let c = 0; c < n8; c += 8) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
      let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
      let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      let bp = b + <usize>c * 4;
      let ak: usize = 0;
      for (let kk = 0; kk < k; kk++) {
        const b0 = v128.load(bp);
        const b1 = v128.load(bp, 16);
        bp += bRow;
        let s = v128.load32_splat(a0 + ak);
        c00 = madd<MODE>(s, b0, c00);
        c01 = madd<MODE>(s, b1, c01);
        s = v128.load32_splat(a1 + ak);
        c10 = madd<MODE>(s, b0, c10);
        c11 = madd<MODE>(s, b1, c11);
        s = v128.load32_splat(a2 + ak);
        c20 = madd<MODE>(s, b0, c20);
        c21 = madd<MODE>(s, b1, c21);
        s = v128.load32_splat(a3 + ak);
        c30 = madd<MODE>(s, b0, c30);
        c31 = madd<MODE>(s, b1, c31);
        ak += aks;
      }
      const o = out + <usize>r * oRow + <usize>c * 4;
      finish(o, c00, accumulate);
      finish(o + 16, c01, accumulate);
      finish(o + oRow, c10, accumulate);
      finish(o + oRow + 16, c11, accumulate);
      finish(o + 2 * oRow, c20, accumulate);
      finish(o + 2 * oRow + 16, c21, accumulate);
      finish(o + 3 * oRow, c30, accumulate);
      finish(o + 3 * oRow + 16, c31, accumulate);
    }
  }
  // Remaining rows, 8 columns at a time.
  for (; r < m; r++) {
    const a0 = a + <usize>r * ams;
    for (let c = 0; c < n8; c += 8) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
      let bp = b + <usize>c * 4;
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
    for (r = 0; r < m; r++) {
      let s: f32 = 0;
      const a0 = a + <usize>r * ams;
      for (let kk = 0; kk < k; kk++) {
        s += load<f32>(a0 + <usize>kk * aks) * load<f32>(b + <usize>kk * bRow + <usize>c * 4);
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

// out[m,n] = Σ_k a[m,k] b[n,k]: a row-major [M,K], b row-major [N,K]. One row of a against
// four rows of b per pass; 4-wide partial sums, then a fixed-order horizontal sum and tail.
function mm_dot<MODE>(out: usize, a: usize, b: usize, m: i32, k: i32, n: i32, accumulate: bool): void {
  const row = <usize>k * 4;
  const k4 = k & ~3;
  const oRow = <usize>n * 4;
  for (let r = 0; r < m; r++) {
    const ar = a + <usize>r * row;
    const o = out + <usize>r * oRow;
    let c = 0;
    for (; c + 4 <= n; c += 4) {
      const b0 = b + <usize>c * row;
      const b1 = b0 + row;
      const b2 = b1 + row;
      const b3 = b2 + row;
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      for (let j: usize = 0; j < <usize>k4 * 4; j += 16) {
        const av = v128.load(ar + j);
        s0 = madd<MODE>(av, v128.load(b0 + j), s0);
        s1 = madd<MODE>(av, v128.load(b1 + j), s1);
        s2 = madd<MODE>(av, v128.load(b2 + j), s2);
        s3 = madd<MODE>(av, v128.load(b3 + j), s3);
      }
      let t0 = hsum(s0), t1 = hsum(s1), t2 = hsum(s2), t3 = hsum(s3);
      for (let kk = k4; kk < k; kk++) {
        const x = load<f32>(ar + <usize>kk * 4);
        t0 += x * load<f32>(b0 + <usize>kk * 4);
        t1 += x * load<f32>(b1 + <usize>kk * 4);
        t2 += x * load<f32>(b2 + <usize>kk * 4);
        t3 += x * load<f32>(b3 + <usize>kk * 4);
      }
      finishScalar(o + <usize>c * 4, t0, accumulate);
      finishScalar(o + <usize>c * 4 + 4, t1, accumulate);
      finishScalar(o + <usize>c * 4 + 8, t2, accumulate);
      finishScalar(o + <usize>c * 4 + 12, t3, accumulate);
    }
    for (; c < n; c++) {
      const b0 = b + <usize>c * row;
      let s0 = f32x4.splat(0);
      for (let j: usize = 0; j < <usize>k4 * 4; j += 16) {
        s0 = madd<MODE>(v128.load(ar + j), v128.load(b0 + j), s0);
      }
      let t0 = hsum(s0);
      for (let kk = k4; kk < k; kk++) t0 += load<f32>(ar + <usize>kk * 4) * load<f32>(b0 + <usize>kk * 4);
      finishScalar(o + <usize>c * 4, t0, accumulate);
    }
  }
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
  if (fast) mm_broadcast<f32>(out, a, ams, aks, b, m, k, n, acc);
  else mm_broadcast<i32>(out, a, ams, aks, b, m, k, n, acc);
}
