// Multi-head scaled dot-product attention with a prefix mask, forward and backward.
//
// q is [tq, H·Dh], k and v are [tk, H·Dh], head h occupies channels [h·Dh, (h+1)·Dh) of a row.
// Query i sees keys 0 .. L−1 with L = clamp(keyLimit[i], 0, tk); with L = 0 its output is zero.
// Scores are dot products in a fixed order (4 lanes, (l0+l1)+(l2+l3), then the tail) scaled by
// 1/√Dh; the weighted sum of values adds keys in increasing order. So results are bit-identical
// run to run.

import { axpy_inline, dot_f32, softmax_row } from "./math";

/** Scratch bytes of attention_f32: one row of scores. */
export function attention_scratch_bytes(tq: i32, tk: i32, heads: i32, headDim: i32): i32 {
  return tk * 4 + 16;
}

/** Scratch bytes of attention_backward_f32: one row of score gradients. */
export function attention_backward_scratch_bytes(
  tq: i32,
  tk: i32,
  heads: i32,
  headDim: i32,
): i32 {
  return tk * 4 + 16;
}

// s[j] = scale · (a · k_j) for j < L; four keys at a time for independent accumulators (each
// key's sum has the same order as dot_f32).
@inline
function scores(s: usize, a: usize, k: usize, stride: usize, L: i32, dh: i32, scale: f32): void {
  let j = 0;
  for (; j + 4 <= L; j += 4) {
    const k0 = k + <usize>j * stride;
    const k1 = k0 + stride;
    const k2 = k1 + stride;
    const k3 = k2 + stride;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let d = 0;
    for (; d + 4 <= dh; d += 4) {
      const o = <usize>d << 2;
      const qv = v128.load(a + o);
      a0 = f32x4.add(a0, f32x4.mul(qv, v128.load(k0 + o)));
      a1 = f32x4.add(a1, f32x4.mul(qv, v128.load(k1 + o)));
      a2 = f32x4.add(a2, f32x4.mul(qv, v128.load(k2 + o)));
      a3 = f32x4.add(a3, f32x4.mul(qv, v128.load(k3 + o)));
    }
    let s0 = (f32x4.extract_lane(a0, 0) + f32x4.extract_lane(a0, 1)) +
      (f32x4.extract_lane(a0, 2) + f32x4.extract_lane(a0, 3));
    let s1 = (f32x4.extract_lane(a1, 0) + f32x4.extract_lane(a1, 1)) +
      (f32x4.extract_lane(a1, 2) + f32x4.extract_lane(a1, 3));
    let s2 = (f32x4.extract_lane(a2, 0) + f32x4.extract_lane(a2, 1)) +
      (f32x4.extract_lane(a2, 2) + f32x4.extract_lane(a2, 3));
    let s3 = (f32x4.extract_lane(a3, 0) + f32x4.extract_lane(a3, 1)) +
      (f32x4.extract_lane(a3, 2) + f32x4.extract_lane(a3, 3));
    for (; d < dh; d++) {
      const o = <usize>d << 2;
      const qs = load<f32>(a + o);
      s0 += qs * load<f32>(k0 + o);
      s1 += qs * load<f32>(k1 + o);
      s2 += qs * load<f32>(k2 + o);
      s3 += qs * load<f32>(k3 + o);
    }
    const so = s + (<usize>j << 2);
    store<f32>(so, s0 * scale);
    store<f32>(so, s1 * scale, 4);
    store<f32>(so, s2 * scale, 8);
    store<f32>(so, s3 * scale, 12);
  }
  for (; j < L; j++) {
    store<f32>(s + (<usize>j << 2), dot_f32(a, k + <usize>j * stride, dh) * scale);
  }
}

// o[d] = Σ_j p_j · v_j[d] for d < dh, keys in increasing order (the order of an axpy per key,
// so the result is bit-identical to it) with 32 channels' sums held in registers across the
// keys instead of loading and storing the output row once per key.
@inline
function weighted_sum(o: usize, p: usize, v: usize, stride: usize, L: i32, dh: i32): void {
  let d = 0;
  for (; d + 32 <= dh; d += 32) {
    const vd = v + (<usize>d << 2);
    let o0 = f32x4.splat(0), o1 = f32x4.splat(0), o2 = f32x4.splat(0), o3 = f32x4.splat(0);
    let o4 = f32x4.splat(0), o5 = f32x4.splat(0), o6 = f32x4.splat(0), o7 = f32x4.splat(0);
    for (let j = 0; j < L; j++) {
      const w = v128.load32_splat(p + (<usize>j << 2));
      const vj = vd + <usize>j * stride;
      o0 = f32x4.add(o0, f32x4.mul(w, v128.load(vj)));
      o1 = f32x4.add(o1, f32x4.mul(w, v128.load(vj, 16)));
      o2 = f32x4.add(o2, f32x4.mul(w, v128.load(vj, 32)));
      o3 = f32x4.add(o3, f32x4.mul(w, v128.load(vj, 48)));
      o4 = f32x4.add(o4, f32x4.mul(w, v128.load(vj, 64)));
      o5 = f32x4.add(o5, f32x4.mul(w, v128.load(vj, 80)));
      o6 = f32x4.add(o6, f32x4.mul(w, v128.load(vj, 96)));
      o7 = f32x4.add(o7, f32x4.mul(w, v128.load(vj, 112)));
    }
    const od = o + (<usize>d << 2);
    v128.store(od, o0);
    v128.store(od, o1, 16);
    v128.store(od, o2, 32);
    v128.store(od, o3, 48);
    v128.store(od, o4, 64);
    v128.store(od, o5, 80);
    v128.store(od, o6, 96);
    v128.store(od, o7, 112);
  }
  for (; d + 4 <= dh; d += 4) {
    const vd = v + (<usize>d << 2);
    let acc = f32x4.splat(0);
    for (let j = 0; j < L; j++) {
      acc = f32x4.add(acc, f32x4.mul(v128.load32_splat(p + (<usize>j << 2)), v128.load(vd + <usize>j * stride)));
    }
    v128.store(o + (<usize>d << 2), acc);
  }
  for (; d < dh; d++) {
    let acc: f32 = 0;
    for (let j = 0; j < L; j++) {
      acc += load<f32>(p + (<usize>j << 2)) * load<f32>(v + <usize>j * stride + (<usize>d << 2));
    }
    store<f32>(o + (<usize>d << 2), acc);
  }
}

/**
 * out = softmax(q·kᵀ/√Dh, masked) · v per head. If `probs` is not 0 it receives the
 * probabilities [heads, tq, tk] (0 on masked keys). `scratch`: attention_scratch_bytes.
 */
export function attention_f32(
  out: usize,
  q: usize,
  k: usize,
  v: usize,
  keyLimit: usize,
  tq: i32,
  tk: i32,
  heads: i32,
  headDim: i32,
  probs: usize,
  scratch: usize,
): void {
  const stride = <usize>(heads * headDim) << 2;
  const headBytes = <usize>headDim << 2;
  const scale: f32 = <f32>1 / sqrt<f32>(<f32>headDim);
  for (let h = 0; h < heads; h++) {
    const hoff = <usize>h * headBytes;
    const kh = k + hoff;
    const vh = v + hoff;
    for (let i = 0; i < tq; i++) {
      const qi = q + <usize>i * stride + hoff;
      const oi = out + <usize>i * stride + hoff;
      let L = load<i32>(keyLimit + (<usize>i << 2));
      if (L < 0) L = 0;
      if (L > tk) L = tk;
      const p = probs ? probs + (<usize>(h * tq + i) * <usize>tk << 2) : scratch;
      memory.fill(oi, 0, headBytes);
      if (probs && L < tk) memory.fill(p + (<usize>L << 2), 0, <usize>(tk - L) << 2);
      if (L == 0) continue;
      scores(p, qi, kh, stride, L, headDim, scale);
      softmax_row(p, p, L);
      weighted_sum(oi, p, vh, stride, L, headDim);
    }
  }
}

/**
 * Backward of attention_f32 given its probabilities P. Per head and query row i, with
 * dP_ij = dout_i·v_j and dS_ij = P_ij·(dP_ij − Σ_l P_il·dP_il):
 * dq_i = Σ_j dS_ij·k_j/√Dh, dk_j = Σ_i dS_ij·q_i/√Dh, dv_j = Σ_i P_ij·dout_i.
 * dq, dk and dv are overwritten. Keys past the last nonzero probability of a row are skipped
 * (they contribute exact zeros). `scratch`: attention_backward_scratch_bytes.
 */
export function attention_backward_f32(
  dq: usize,
  dk: usize,
  dv: usize,
  dout: usize,
  q: usize,
  k: usize,
  v: usize,
  probs: usize,
  tq: i32,
  tk: i32,
  heads: i32,
  headDim: i32,
  scratch: usize,
): void {
  const stride = <usize>(heads * headDim) << 2;
  const headBytes = <usize>headDim << 2;
  const scale: f32 = <f32>1 / sqrt<f32>(<f32>headDim);
  memory.fill(dq, 0, <usize>tq * stride);
  memory.fill(dk, 0, <usize>tk * stride);
  memory.fill(dv, 0, <usize>tk * stride);
  const ds = scratch;
  for (let h = 0; h < heads; h++) {
    const hoff = <usize>h * headBytes;
    for (let i = 0; i < tq; i++) {
      const p = probs + (<usize>(h * tq + i) * <usize>tk << 2);
      let L = tk;
      while (L > 0 && load<f32>(p + (<usize>(L - 1) << 2)) == 0) L--;
      if (L == 0) continue;
      const qi = q + <usize>i * stride + hoff;
      const gi = dout + <usize>i * stride + hoff;
      const dqi = dq + <usize>i * stride + hoff;
      // dP_ij into ds (scale 1), then Σ P·dP in fixed order.
      scores(ds, gi, v + hoff, stride, L, headDim, 1);
      let acc = f32x4.splat(0);
      let j = 0;
      for (; j + 4 <= L; j += 4) {
        const o = <usize>j << 2;
        acc = f32x4.add(acc, f32x4.mul(v128.load(p + o), v128.load(ds + o)));
      }
      let rs = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) +
        (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
      for (; j < L; j++) {
        const o = <usize>j << 2;
        rs += load<f32>(p + o) * load<f32>(ds + o);
      }
      for (j = 0; j < L; j++) {
        const o = <usize>j << 2;
        const pj = load<f32>(p + o);
        const dsj = pj * (load<f32>(ds + o) - rs);
        const kvo = <usize>j * stride + hoff;
        axpy_inline(dqi, k + kvo, dsj, headDim);
        axpy_inline(dk + kvo, qi, dsj * scale, headDim);
        axpy_inline(dv + kvo, gi, pj, headDim);
      }
      // dq_i was accumulated unscaled.
      const vs = f32x4.splat(scale);
      let d = 0;
      for (; d + 4 <= headDim; d += 4) {
        const o = <usize>d << 2;
        v128.store(dqi + o, f32x4.mul(v128.load(dqi + o), vs));
      }
      for (; d < headDim; d++) {
        const o = <usize>d << 2;
        store<f32>(dqi + o, load<f32>(dqi + o) * scale);
      }
    }
  }
}
