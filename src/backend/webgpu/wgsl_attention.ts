/**
 * Scaled dot-product attention with r3mem's prefix masks (query `i` sees keys
 * `0 … keyLimit[i]−1`, which expresses the causal, bidirectional and memory-slot masks), as a
 * WGSL kernel: one thread per (query, head). Two passes over the visible keys, like the
 * reference: the maximum score first, then `exp(s − max)` summed and accumulated against the
 * values, divided once at the end. The head width is a compile-time constant (the query and
 * the accumulator live in registers), so there is one pipeline per head width.
 *
 * @module
 */
import type { KernelSpec } from "./kernel_spec.ts";

/**
 * The attention kernel for heads of `headDim` channels. Writes `out[tq, heads·hd]` and, when
 * `has_probs`, the probabilities `probs[heads, tq, tk]` (zero past the mask).
 *
 * @param headDim Channels per head.
 * @returns The kernel.
 */
export function attentionKernel(headDim: number): KernelSpec {
  if (!Number.isInteger(headDim) || headDim < 1 || headDim > 512) {
    throw new RangeError(`attention: headDim must be 1…512, got ${headDim}`);
  }
  return {
    name: `attention_hd${headDim}`,
    buffers: [
      ["out", "f32"],
      ["q", "f32"],
      ["k", "f32"],
      ["v", "f32"],
      ["key_limit", "i32"],
      ["probs", "f32"],
    ],
    params: [
      ["tq", "u32"],
      ["tk", "u32"],
      ["heads", "u32"],
      ["scale", "f32"],
      ["has_probs", "u32"],
    ],
    workgroupSize: 64,
    prelude: `const HD: u32 = ${headDim}u;`,
    body: `
  let idx = gid.x + gid.y * nwg.x * 64u;
  if (idx >= p.tq * p.heads) { return; }
  let i = idx / p.heads;
  let h = idx % p.heads;
  let w = p.heads * HD;
  let qo = i * w + h * HD;
  let lim = u32(clamp(key_limit[i], 0, i32(p.tk)));
  var qv: array<f32, HD>;
  var acc: array<f32, HD>;
  for (var d = 0u; d < HD; d++) { qv[d] = q[qo + d]; acc[d] = 0.0; }
  var mx = -3.4028234e38;
  for (var j = 0u; j < lim; j++) {
    let ko = j * w + h * HD;
    var dot = 0.0;
    for (var d = 0u; d < HD; d++) { dot += qv[d] * k[ko + d]; }
    mx = max(mx, dot * p.scale);
  }
  var sum = 0.0;
  for (var j = 0u; j < lim; j++) {
    let ko = j * w + h * HD;
    var dot = 0.0;
    for (var d = 0u; d < HD; d++) { dot += qv[d] * k[ko + d]; }
    let e = exp(dot * p.scale - mx);
    sum += e;
    for (var d = 0u; d < HD; d++) { acc[d] += e * v[ko + d]; }
  }
  var inv = 0.0;
  if (lim > 0u) { inv = 1.0 / sum; }
  for (var d = 0u; d < HD; d++) { out[qo + d] = acc[d] * inv; }
  if (p.has_probs != 0u) {
    let po = (h * p.tq + i) * p.tk;
    for (var j = 0u; j < p.tk; j++) {
      var pj = 0.0;
      if (j < lim) {
        let ko = j * w + h * HD;
        var dot = 0.0;
        for (var d = 0u; d < HD; d++) { dot += qv[d] * k[ko + d]; }
        pj = exp(dot * p.scale - mx) * inv;
      }
      probs[po + j] = pj;
    }
  }`,
  };
}
