// int8 weights x 7-bit activations -> int32, rescaled to f32:
//   out[M,N] = (xq[M,K] · Wq[N,K]ᵀ) * sx[m] * sw[n]
//
// One numeric definition, two implementations that agree bit for bit:
// - relaxed: i32x4.relaxed_dot_i8x16_i7x16_add_s. It is exact whenever every lane of its second
//   operand is in 0..127 (pmaddubsw cannot saturate, VNNI is exact, ARM sdot is exact), so we
//   feed it the int8 weights first and the activations, quantized to -63..63 and shifted by a
//   zero point of 64, second: Σ w·(xq+64) − 64·Σ w = Σ w·xq.
// - portable (deterministic mode, no relaxed SIMD): the same integers through widening loads and
//   i32x4.dot_i16x8_s (pmaddwd).
// Integer sums are exact, so both give identical results on every machine; a test checks it.
//
// Packed weight layout: output channels in panels of 8; K in quads (kq = ceil(K/4)). For panel
// p and quad j, 32 bytes hold [c0k0..c0k3 c1k0..c1k3 c2k0..c2k3 c3k0..c3k3 | c4k0 .. c7k3], so
// one 16-byte load gives four channels' quad and a dot with the broadcast activation quad gives
// four column sums. After the quads, each panel stores 8 i32 column sums Σ_k w (for the zero
// point). Padding (channels beyond N, K beyond its end) is zero.
// Quantized activations: u8 rows [M, kq*4], padded with the zero point.

/** Bytes of a packed weight matrix of `n` channels and `k` inputs. */
export function q8_packed_bytes(n: i32, k: i32): i32 {
  return ((n + 7) >> 3) * (((k + 3) >> 2) * 32 + 32);
}

/** Repacks a row-major int8 [n, k] matrix (values -127..127) into the panel layout. `dst` zeroed. */
export function q8_pack(dst: usize, src: usize, n: i32, k: i32): void {
  const kq = (k + 3) >> 2;
  const panelBytes = <usize>kq * 32 + 32;
  for (let r = 0; r < n; r++) {
    const panel = dst + <usize>(r >> 3) * panelBytes;
    const lane = r & 7;
    const base = panel + <usize>((lane >> 2) * 16 + (lane & 3) * 4);
    const row = src + <usize>r * <usize>k;
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const v = load<i8>(row + <usize>c);
      sum += <i32>v;
      store<i8>(base + <usize>(c >> 2) * 32 + <usize>(c & 3), v);
    }
    store<i32>(panel + <usize>kq * 32 + <usize>lane * 4, sum);
  }
}

/** Bytes of scratch that matmul_q8_f32 needs for `m` rows of width `k`. */
export function q8_scratch_bytes(m: i32, k: i32): i32 {
  return m * (((k + 3) >> 2) * 4) + m * 4 + 16;
}

// Quantizes each row symmetrically to -63..63 (scale = maxabs/63), adds the zero point 64, and
// pads the row to a multiple of 4 with the zero point. Writes the per-row scale to sx.
function quantize_rows(xq: usize, sx: usize, x: usize, m: i32, k: i32): void {
  const kq = (k + 3) >> 2;
  for (let r = 0; r < m; r++) {
    const row = x + <usize>r * <usize>k * 4;
    const qrow = xq + <usize>r * <usize>kq * 4;
    let vmax = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= k; c += 4) vmax = f32x4.pmax(vmax, f32x4.abs(v128.load(row + <usize>c * 4)));
    let amax = max(
      max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)),
      max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)),
    );
    for (; c < k; c++) amax = max(amax, abs(load<f32>(row + <usize>c * 4)));
    const scale: f32 = amax > 0 ? amax / 63 : 0;
    const inv: f32 = amax > 0 ? <f32>63 / amax : 0;
    store<f32>(sx + <usize>r * 4, scale);
    const vinv = f32x4.splat(inv);
    const zp = i32x4.splat(64);
    c = 0;
    for (; c + 16 <= k; c += 16) {
      const p = row + <usize>c * 4;
      const a = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p), vinv)));
      const b = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 16), vinv)));
      const d = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 32), vinv)));
      const e = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 48), vinv)));
      const lo = i16x8.narrow_i32x4_s(i32x4.add(a, zp), i32x4.add(b, zp));
      const hi = i16x8.narrow_i32x4_s(i32x4.add(d, zp), i32x4.add(e, zp));
      v128.store(qrow + <usize>c, i8x16.narrow_i16x8_u(lo, hi));
    }
    for (; c < k; c++) {
      store<u8>(qrow + <usize>c, <u8>(<i32>nearest(load<f32>(row + <usize>c * 4) * inv) + 64));
    }
    for (; c < kq * 4; c++) store<u8>(qrow + <usize>c, 64);
  }
}

// Rescales 8 accumulated columns of one row (after the zero-point correction) and stores them,
// clipping at n.
@inline
function store_row8(
  out: usize,
  acc0: v128,
  acc1: v128,
  sums: usize,
  s: f32,
  sw: usize,
  col: i32,
  n: i32,
): void {
  const vs = f32x4.splat(s);
  const i0 = i32x4.sub(acc0, i32x4.shl(v128.load(sums), 6));
  const i1 = i32x4.sub(acc1, i32x4.shl(v128.load(sums, 16), 6));
  const r0 = f32x4.mul(f32x4.mul(f32x4.convert_i32x4_s(i0), vs), v128.load(sw + <usize>col * 4));
  const r1 = f32x4.mul(f32x4.mul(f32x4.convert_i32x4_s(i1), vs), v128.load(sw + <usize>col * 4, 16));
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

@inline
function rdot(w: v128, x: v128, acc: v128): v128 {
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(w, x, acc);
}

// Relaxed path, 6 rows x 8 channels: 12 independent accumulators.
function relaxed_rows6(out: usize, xq: usize, rowBytes: usize, sx: usize, r: i32, wp: usize, kq: i32, n: i32, sw: usize): void {
  const panelBytes = <usize>kq * 32 + 32;
  const outRow = <usize>n * 4;
  const x0 = xq + <usize>(r + 0) * rowBytes;
  const x1 = xq + <usize>(r + 1) * rowBytes;
  const x2 = xq + <usize>(r + 2) * rowBytes;
  const x3 = xq + <usize>(r + 3) * rowBytes;
  const x4 = xq + <usize>(r + 4) * rowBytes;
  const x5 = xq + <usize>(r + 5) * rowBytes;
  for (let col = 0; col < n; col += 8) {
    const panel = wp + <usize>(col >> 3) * panelBytes;
    let w = panel;
    let a00 = i32x4.splat(0), a01 = i32x4.splat(0);
    let a10 = i32x4.splat(0), a11 = i32x4.splat(0);
    let a20 = i32x4.splat(0), a21 = i32x4.splat(0);
    let a30 = i32x4.splat(0), a31 = i32x4.splat(0);
    let a40 = i32x4.splat(0), a41 = i32x4.splat(0);
    let a50 = i32x4.splat(0), a51 = i32x4.splat(0);
    for (let j: usize = 0; j < rowBytes; j += 4) {
      const w0 = v128.load(w);
      const w1 = v128.load(w, 16);
      w += 32;
      const s0 = v128.load32_splat(x0 + j);
      a00 = rdot(w0, s0, a00);
      a01 = rdot(w1, s0, a01);
      const s1 = v128.load32_splat(x1 + j);
      a10 = rdot(w0, s1, a10);
      a11 = rdot(w1, s1, a11);
      const s2 = v128.load32_splat(x2 + j);
      a20 = rdot(w0, s2, a20);
      a21 = rdot(w1, s2, a21);
      const s3 = v128.load32_splat(x3 + j);
      a30 = rdot(w0, s3, a30);
      a31 = rdot(w1, s3, a31);
      const s4 = v128.load32_splat(x4 + j);
      a40 = rdot(w0, s4, a40);
      a41 = rdot(w1, s4, a41);
      const s5 = v128.load32_splat(x5 + j);
      a50 = rdot(w0, s5, a50);
      a51 = rdot(w1, s5, a51);
    }
    const sums = panel + <usize>kq * 32;
    const o = out + <usize>r * outRow;
    store_row8(o + 0 * outRow, a00, a01, sums, load<f32>(sx + <usize>(r + 0) * 4), sw, col, n);
    store_row8(o + 1 * outRow, a10, a11, sums, load<f32>(sx + <usize>(r + 1) * 4), sw, col, n);
    store_row8(o + 2 * outRow, a20, a21, sums, load<f32>(sx + <usize>(r + 2) * 4), sw, col, n);
    store_row8(o + 3 * outRow, a30, a31, sums, load<f32>(sx + <usize>(r + 3) * 4), sw, col, n);
    store_row8(o + 4 * outRow, a40, a41, sums, load<f32>(sx + <usize>(r + 4) * 4), sw, col, n);
    store_row8(o + 5 * outRow, a50, a51, sums, load<f32>(sx + <usize>(r + 5) * 4), sw, col, n);
  }
}

// Relaxed path, 2 rows x 8 channels: 4 independent accumulators.
function relaxed_rows2(out: usize, xq: usize, rowBytes: usize, sx: usize, r: i32, wp: usize, kq: i32, n: i32, sw: usize): void {
  const panelBytes = <usize>kq * 32 + 32;
  const outRow = <usize>n * 4;
  const x0 = xq + <usize>(r + 0) * rowBytes;
  const x1 = xq + <usize>(r + 1) * rowBytes;
  for (let col = 0; col < n; col += 8) {
    const panel = wp + <usize>(col >> 3) * panelBytes;
    let w = panel;
    let a00 = i32x4.splat(0), a01 = i32x4.splat(0);
    let a10 = i32x4.splat(0), a11 = i32x4.splat(0);
    for (let j: usize = 0; j < rowBytes; j += 4) {
      const w0 = v128.load(w);
      const w1 = v128.load(w, 16);
      w += 32;
      const s0 = v128.load32_splat(x0 + j);
      a00 = rdot(w0, s0, a00);
      a01 = rdot(w1, s0, a01);
      const s1 = v128.load32_splat(x1 + j);
      a10 = rdot(w0, s1, a10);
      a11 = rdot(w1, s1, a11);
    }
    const sums = panel + <usize>kq * 32;
    const o = out + <usize>r * outRow;
    store_row8(o + 0 * outRow, a00, a01, sums, load<f32>(sx + <usize>(r + 0) * 4), sw, col, n);
    store_row8(o + 1 * outRow, a10, a11, sums, load<f32>(sx + <usize>(r + 1) * 4), sw, col, n);
  }
}

// Relaxed path, one row: four panels (32 channels) per pass so eight accumulators hide the
// dot product's latency; leftover panels one at a time.
function relaxed_rows1(out: usize, xq: usize, rowBytes: usize, sx: usize, r: i32, wp: usize, kq: i32, n: i32, sw: usize): void {
  const panelBytes = <usize>kq * 32 + 32;
  const x0 = xq + <usize>r * rowBytes;
  const o = out + <usize>r * <usize>n * 4;
  const s = load<f32>(sx + <usize>r * 4);
  let col = 0;
  for (; col + 32 <= n; col += 32) {
    const p0 = wp + <usize>(col >> 3) * panelBytes;
    const p1 = p0 + panelBytes;
    const p2 = p1 + panelBytes;
    const p3 = p2 + panelBytes;
    let a00 = i32x4.splat(0), a01 = i32x4.splat(0), a10 = i32x4.splat(0), a11 = i32x4.splat(0);
    let a20 = i32x4.splat(0), a21 = i32x4.splat(0), a30 = i32x4.splat(0), a31 = i32x4.splat(0);
    for (let j: usize = 0; j < rowBytes; j += 4) {
      const x = v128.load32_splat(x0 + j);
      const off = j * 8;
      a00 = rdot(v128.load(p0 + off), x, a00);
      a01 = rdot(v128.load(p0 + off, 16), x, a01);
      a10 = rdot(v128.load(p1 + off), x, a10);
      a11 = rdot(v128.load(p1 + off, 16), x, a11);
      a20 = rdot(v128.load(p2 + off), x, a20);
      a21 = rdot(v128.load(p2 + off, 16), x, a21);
      a30 = rdot(v128.load(p3 + off), x, a30);
      a31 = rdot(v128.load(p3 + off, 16), x, a31);
    }
    const sums = <usize>kq * 32;
    store_row8(o, a00, a01, p0 + sums, s, sw, col, n);
    store_row8(o, a10, a11, p1 + sums, s, sw, col + 8, n);
    store_row8(o, a20, a21, p2 + sums, s, sw, col + 16, n);
    store_row8(o, a30, a31, p3 + sums, s, sw, col + 24, n);
  }
  for (; col < n; col += 8) {
    const p0 = wp + <usize>(col >> 3) * panelBytes;
    let a00 = i32x4.splat(0), a01 = i32x4.splat(0);
    for (let j: usize = 0; j < rowBytes; j += 4) {
      const x = v128.load32_splat(x0 + j);
      a00 = rdot(v128.load(p0 + j * 8), x, a00);
      a01 = rdot(v128.load(p0 + j * 8, 16), x, a01);
    }
    store_row8(o, a00, a01, p0 + <usize>kq * 32, s, sw, col, n);
  }
}

// Portable path (no relaxed SIMD), one row x 8 channels. The activation quad is widened to
// int16 [k0 k1 k2 k3 k0 k1 k2 k3]; each weight half widened to four channels' (k0k1, k2k3)
// pairs; pmaddwd leaves two partial sums per channel, added pairwise at the end.
function portable_row(out: usize, xrow: usize, rowBytes: usize, s: f32, wp: usize, kq: i32, n: i32, sw: usize): void {
  const panelBytes = <usize>kq * 32 + 32;
  for (let col = 0; col < n; col += 8) {
    const panel = wp + <usize>(col >> 3) * panelBytes;
    let w = panel;
    // acc{c}: channels 2c, 2c+1 as [ch_a(k0k1), ch_a(k2k3), ch_b(k0k1), ch_b(k2k3)]
    let c0 = i32x4.splat(0), c1 = i32x4.splat(0), c2 = i32x4.splat(0), c3 = i32x4.splat(0);
    for (let j: usize = 0; j < rowBytes; j += 4) {
      const sx = i16x8.extend_low_i8x16_u(v128.load32_splat(xrow + j));
      c0 = i32x4.add(c0, i32x4.dot_i16x8_s(v128.load8x8_s(w), sx));
      c1 = i32x4.add(c1, i32x4.dot_i16x8_s(v128.load8x8_s(w, 8), sx));
      c2 = i32x4.add(c2, i32x4.dot_i16x8_s(v128.load8x8_s(w, 16), sx));
      c3 = i32x4.add(c3, i32x4.dot_i16x8_s(v128.load8x8_s(w, 24), sx));
      w += 32;
    }
    // Pairwise-add adjacent lanes: [c0a+c0b, c1a+c1b, c2a+c2b, c3a+c3b] per half.
    const acc0 = i32x4.add(
      i32x4.shuffle(c0, c1, 0, 2, 4, 6),
      i32x4.shuffle(c0, c1, 1, 3, 5, 7),
    );
    const acc1 = i32x4.add(
      i32x4.shuffle(c2, c3, 0, 2, 4, 6),
      i32x4.shuffle(c2, c3, 1, 3, 5, 7),
    );
    store_row8(out, acc0, acc1, panel + <usize>kq * 32, s, sw, col, n);
  }
}

/**
 * out[m,n] = x[m,k] · Wᵀ. `wp` is the packed weight (q8_pack), `sw` the per-channel scales padded
 * to a multiple of 8 (zeros), `scratch` at least q8_scratch_bytes(m, k) bytes. `relaxed` != 0
 * uses the relaxed-SIMD dot product; the result is identical either way.
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
  relaxed: i32,
): void {
  const kq = (k + 3) >> 2;
  const rowBytes = <usize>kq * 4;
  const xq = scratch;
  const sx = scratch + <usize>m * rowBytes;
  quantize_rows(xq, sx, x, m, k);
  let r = 0;
  // The portable build (no relaxed-SIMD feature) compiles this branch away: a constant
  // condition, so the relaxed kernels are never referenced there.
  if (ASC_FEATURE_RELAXED_SIMD) {
    if (relaxed != 0) {
      for (; r + 6 <= m; r += 6) relaxed_rows6(out, xq, rowBytes, sx, r, wp, kq, n, sw);
      for (; r + 2 <= m; r += 2) relaxed_rows2(out, xq, rowBytes, sx, r, wp, kq, n, sw);
      for (; r < m; r++) relaxed_rows1(out, xq, rowBytes, sx, r, wp, kq, n, sw);
      return;
    }
  }
  const outRow = <usize>n * 4;
  for (; r < m; r++) {
    portable_row(out + <usize>r * outRow, xq + <usize>r * rowBytes, rowBytes, load<f32>(sx + <usize>r * 4), wp, kq, n, sw);
  }
}
