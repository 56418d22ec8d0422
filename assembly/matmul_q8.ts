// int8 x int8 -> int32 matrix product with per-row activation scales and per-output-channel
// weight scales: out[M,N] = (quantize(x)[M,K] · Wq[N,K]ᵀ) * sx[m] * sw[n].
//
// Exact integer arithmetic (i32x4.dot_i16x8_s, i.e. pmaddwd), so the result is identical on
// every machine. Operands are widened int8 -> int16 at load (v128.load8x8_s is one instruction).
//
// Packed weight layout ("panels"): output channels are grouped in panels of 8; K is split in
// pairs (kp = ceil(K/2)). For panel p and pair j, 16 bytes hold
//   [c0k0 c0k1 c1k0 c1k1 c2k0 c2k1 c3k0 c3k1 | c4k0 c4k1 ... c7k1]
// so one widening load gives the (k, k+1) weights of four channels, and a dot with the
// broadcast activation pair (x[k], x[k+1]) yields four column partial sums with no horizontal
// reduction. Missing channels and the odd K tail are zero padded.
//
// Quantized activations are int16 pairs, row-major [M, kp] x 4 bytes, so load32_splat
// broadcasts one pair.

/** Bytes of a packed weight matrix of `n` rows (channels) and `k` columns. */
export function q8_packed_bytes(n: i32, k: i32): i32 {
  return ((n + 7) >> 3) * ((k + 1) >> 1) * 16;
}

/** Repacks a row-major int8 [n, k] matrix into the panel layout. `dst` must be zeroed. */
export function q8_pack(dst: usize, src: usize, n: i32, k: i32): void {
  const kp = (k + 1) >> 1;
  for (let r = 0; r < n; r++) {
    const panel = r >> 3;
    const lane = r & 7;
    const half = lane >> 2; // which 8-byte half of the 16
    const col = lane & 3;
    const pbase = dst + <usize>panel * <usize>kp * 16 + <usize>(half * 8 + col * 2);
    const row = src + <usize>r * <usize>k;
    for (let c = 0; c < k; c++) {
      store<i8>(pbase + <usize>(c >> 1) * 16 + <usize>(c & 1), load<i8>(row + <usize>c));
    }
  }
}

/** Bytes of scratch that matmul_q8_f32 needs for `m` rows of width `k`. */
export function q8_scratch_bytes(m: i32, k: i32): i32 {
  return m * (((k + 1) >> 1) * 4) + m * 4 + 16;
}

// Quantizes each row of x[m,k] symmetrically to -127..127, widened to int16, padded to an even
// width. Writes the per-row scale (maxabs/127, or 0 for an all-zero row) to sx.
function quantize_rows(xq: usize, sx: usize, x: usize, m: i32, k: i32): void {
  const kp = (k + 1) >> 1;
  for (let r = 0; r < m; r++) {
    const row = x + <usize>r * <usize>k * 4;
    const qrow = xq + <usize>r * <usize>kp * 4;
    let vmax = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= k; c += 4) vmax = f32x4.max(vmax, f32x4.abs(v128.load(row + <usize>c * 4)));
    let amax = max(
      max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)),
      max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)),
    );
    for (; c < k; c++) amax = max(amax, abs(load<f32>(row + <usize>c * 4)));
    const scale: f32 = amax > 0 ? amax / 127 : 0;
    const inv: f32 = amax > 0 ? <f32>127 / amax : 0;
    store<f32>(sx + <usize>r * 4, scale);
    const vinv = f32x4.splat(inv);
    c = 0;
    for (; c + 8 <= k; c += 8) {
      const a = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(row + <usize>c * 4), vinv)));
      const b = i32x4.trunc_sat_f32x4_s(
        f32x4.nearest(f32x4.mul(v128.load(row + <usize>c * 4 + 16), vinv)),
      );
      v128.store(qrow + <usize>c * 2, i16x8.narrow_i32x4_s(a, b));
    }
    for (; c < k; c++) {
      store<i16>(qrow + <usize>c * 2, <i16>(<i32>nearest(load<f32>(row + <usize>c * 4) * inv)));
    }
    if (k & 1) store<i16>(qrow + <usize>k * 2, 0);
  }
}

// Stores 8 accumulated columns of one row, rescaled, clipping at n.
@inline
function store_row8(
  out: usize,
  acc0: v128,
  acc1: v128,
  s: f32,
  sw: usize,
  col: i32,
  n: i32,
): void {
  const vs = f32x4.splat(s);
  const r0 = f32x4.mul(f32x4.mul(f32x4.convert_i32x4_s(acc0), vs), v128.load(sw + <usize>col * 4));
  const r1 = f32x4.mul(
    f32x4.mul(f32x4.convert_i32x4_s(acc1), vs),
    v128.load(sw + <usize>col * 4 + 16),
  );
  const dst = out + <usize>col * 4;
  if (col + 8 <= n) {
    v128.store(dst, r0);
    v128.store(dst, r1, 16);
  } else {
    const left = n - col;
    if (left > 0) store<f32>(dst, f32x4.extract_lane(r0, 0));
    if (left > 1) store<f32>(dst, f32x4.extract_lane(r0, 1), 4);
    if (left > 2) store<f32>(dst, f32x4.extract_lane(r0, 2), 8);
    if (left > 3) store<f32>(dst, f32x4.extract_lane(r0, 3), 12);
    if (left > 4) store<f32>(dst, f32x4.extract_lane(r1, 0), 16);
    if (left > 5) store<f32>(dst, f32x4.extract_lane(r1, 1), 20);
    if (left > 6) store<f32>(dst, f32x4.extract_lane(r1, 2), 24);
  }
}

/**
 * out[m,n] = x[m,k] · Wᵀ. `wp` is the packed weight (q8_pack), `sw` the per-channel scales
 * padded to a multiple of 8 (zeros), `scratch` at least q8_scratch_bytes(m, k) bytes.
 */
export function matmul_q8_f32(
  out: usize,
  x: usize,
  wp: usize,
  sw: usize,
  m: i32,
  k: i32,
  n: i32,
  scratch: usize,
): void {
  const kp = (k + 1) >> 1;
  const rowBytes = <usize>kp * 4;
  const xq = scratch;
  const sx = scratch + <usize>m * rowBytes;
  quantize_rows(xq, sx, x, m, k);
  const panels = (n + 7) >> 3;
  const panelBytes = <usize>kp * 16;
  const outRow = <usize>n * 4;

  // Rows in blocks of 4: 8 accumulators (4 rows x 2 vectors of 4 channels).
  let r = 0;
  for (; r + 4 <= m; r += 4) {
    const x0 = xq + <usize>r * rowBytes;
    const x1 = x0 + rowBytes;
    const x2 = x1 + rowBytes;
    const x3 = x2 + rowBytes;
    for (let p = 0; p < panels; p++) {
      let w = wp + <usize>p * panelBytes;
      let a00 = i32x4.splat(0), a01 = i32x4.splat(0);
      let a10 = i32x4.splat(0), a11 = i32x4.splat(0);
      let a20 = i32x4.splat(0), a21 = i32x4.splat(0);
      let a30 = i32x4.splat(0), a31 = i32x4.splat(0);
      for (let j: usize = 0; j < <usize>kp * 4; j += 4) {
        const w0 = v128.load8x8_s(w);
        const w1 = v128.load8x8_s(w, 8);
        w += 16;
        let a = v128.load32_splat(x0 + j);
        a00 = i32x4.add(a00, i32x4.dot_i16x8_s(a, w0));
        a01 = i32x4.add(a01, i32x4.dot_i16x8_s(a, w1));
        a = v128.load32_splat(x1 + j);
        a10 = i32x4.add(a10, i32x4.dot_i16x8_s(a, w0));
        a11 = i32x4.add(a11, i32x4.dot_i16x8_s(a, w1));
        a = v128.load32_splat(x2 + j);
        a20 = i32x4.add(a20, i32x4.dot_i16x8_s(a, w0));
        a21 = i32x4.add(a21, i32x4.dot_i16x8_s(a, w1));
        a = v128.load32_splat(x3 + j);
        a30 = i32x4.add(a30, i32x4.dot_i16x8_s(a, w0));
        a31 = i32x4.add(a31, i32x4.dot_i16x8_s(a, w1));
      }
      const col = p << 3;
      const o = out + <usize>r * outRow;
      store_row8(o, a00, a01, load<f32>(sx + <usize>r * 4), sw, col, n);
      store_row8(o + outRow, a10, a11, load<f32>(sx + <usize>(r + 1) * 4), sw, col, n);
      store_row8(o + 2 * outRow, a20, a21, load<f32>(sx + <usize>(r + 2) * 4), sw, col, n);
      store_row8(o + 3 * outRow, a30, a31, load<f32>(sx + <usize>(r + 3) * 4), sw, col, n);
    }
  }
  // Remaining rows one at a time, two panels per pass for more independent accumulators.
  for (; r < m; r++) {
    const x0 = xq + <usize>r * rowBytes;
    const o = out + <usize>r * outRow;
    const s = load<f32>(sx + <usize>r * 4);
    let p = 0;
    for (; p + 2 <= panels; p += 2) {
      let w = wp + <usize>p * panelBytes;
      let v = w + panelBytes;
      let a00 = i32x4.splat(0), a01 = i32x4.splat(0);
      let a10 = i32x4.splat(0), a11 = i32x4.splat(0);
      for (let j: usize = 0; j < <usize>kp * 4; j += 4) {
        const a = v128.load32_splat(x0 + j);
        a00 = i32x4.add(a00, i32x4.dot_i16x8_s(a, v128.load8x8_s(w)));
        a01 = i32x4.add(a01, i32x4.dot_i16x8_s(a, v128.load8x8_s(w, 8)));
        a10 = i32x4.add(a10, i32x4.dot_i16x8_s(a, v128.load8x8_s(v)));
        a11 = i32x4.add(a11, i32x4.dot_i16x8_s(a, v128.load8x8_s(v, 8)));
        w += 16;
        v += 16;
      }
      store_row8(o, a00, a01, s, sw, p << 3, n);
      store_row8(o, a10, a11, s, sw, (p + 1) << 3, n);
    }
    for (; p < panels; p++) {
      let w = wp + <usize>p * panelBytes;
      let a00 = i32x4.splat(0), a01 = i32x4.splat(0);
      for (let j: usize = 0; j < <usize>kp * 4; j += 4) {
        const a = v128.load32_splat(x0 + j);
        a00 = i32x4.add(a00, i32x4.dot_i16x8_s(a, v128.load8x8_s(w)));
        a01 = i32x4.add(a01, i32x4.dot_i16x8_s(a, v128.load8x8_s(w, 8)));
        w += 16;
      }
      store_row8(o, a00, a01, s, sw, p << 3, n);
    }
  }
}
