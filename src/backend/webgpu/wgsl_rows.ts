/**
 * Row-wise WGSL kernels: RMSNorm and softmax (one workgroup per row, tree reductions in
 * workgroup memory), rotary position embedding (angles from a host-computed table) and the
 * embedding gather.
 *
 * @module
 */
import type { KernelSpec } from "./kernel_spec.ts";

/** Threads per row of the reducing kernels (a power of two). */
export const ROW_WG = 64;

// Tree reduction of `red` (ROW_WG values) with `op`; every thread gets the result.
function reduce(op: "sum" | "max"): string {
  const combine = op === "sum" ? "red[lid.x] + red[lid.x + s]" : "max(red[lid.x], red[lid.x + s])";
  return `
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid.x < s) { red[lid.x] = ${combine}; }
    workgroupBarrier();
  }`;
}

const ROW_PRELUDE = `var<workgroup> red: array<f32, ${ROW_WG}>;`;

/**
 * RMSNorm: `out = x · w / sqrt(mean(x²) + eps)` per row; writes `1/rms` to `inv_rms` when
 * `has_inv`. Each thread reads and writes the same elements, so `out` may be `x`.
 */
export const RMSNORM: KernelSpec = {
  name: "rmsnorm",
  buffers: [["out", "f32"], ["x", "f32"], ["w", "f32"], ["inv_rms", "f32"]],
  params: [["rows", "u32"], ["d", "u32"], ["eps", "f32"], ["has_inv", "u32"]],
  workgroupSize: ROW_WG,
  prelude: ROW_PRELUDE,
  body: `
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let off = row * p.d;
  var ss = 0.0;
  for (var j = lid.x; j < p.d; j += ${ROW_WG}u) { let v = x[off + j]; ss += v * v; }
  red[lid.x] = ss;${reduce("sum")}
  let inv = 1.0 / sqrt(red[0] / f32(p.d) + p.eps);
  if (p.has_inv != 0u && lid.x == 0u) { inv_rms[row] = inv; }
  for (var j = lid.x; j < p.d; j += ${ROW_WG}u) { out[off + j] = x[off + j] * inv * w[j]; }`,
};

/** Softmax per row of width `n` (max subtracted for stability); `out` may be `x`. */
export const SOFTMAX: KernelSpec = {
  name: "softmax",
  buffers: [["out", "f32"], ["x", "f32"]],
  params: [["rows", "u32"], ["n", "u32"]],
  workgroupSize: ROW_WG,
  prelude: ROW_PRELUDE,
  body: `
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let off = row * p.n;
  var m = -3.4028234e38;
  for (var j = lid.x; j < p.n; j += ${ROW_WG}u) { m = max(m, x[off + j]); }
  red[lid.x] = m;${reduce("max")}
  let mx = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var j = lid.x; j < p.n; j += ${ROW_WG}u) {
    let e = exp(x[off + j] - mx);
    out[off + j] = e;
    sum += e;
  }
  red[lid.x] = sum;${reduce("sum")}
  let inv = 1.0 / red[0];
  for (var j = lid.x; j < p.n; j += ${ROW_WG}u) { out[off + j] = out[off + j] * inv; }`,
};

/**
 * RoPE in place on `x[t, heads·hd]`: one thread per (row, pair, head). `table` holds
 * `(cos, sin)` of `pos · theta^(−2i/hd)` per position and pair, computed on the host in float64:
 * WGSL's `sin`/`cos` are only accurate inside [−π, π].
 */
export const ROPE: KernelSpec = {
  name: "rope",
  buffers: [["x", "f32"], ["table", "f32"]],
  params: [["t", "u32"], ["heads", "u32"], ["hd", "u32"], ["pos0", "u32"], ["inverse", "u32"]],
  workgroupSize: 64,
  body: `
  let half = p.hd / 2u;
  let idx = gid.x + gid.y * nwg.x * 64u;
  if (idx >= p.t * half * p.heads) { return; }
  let h = idx % p.heads;
  let i = (idx / p.heads) % half;
  let r = idx / (p.heads * half);
  let tab = ((p.pos0 + r) * half + i) * 2u;
  let c = table[tab];
  var s = table[tab + 1u];
  if (p.inverse != 0u) { s = -s; }
  let at = r * p.heads * p.hd + h * p.hd + 2u * i;
  let a = x[at];
  let b = x[at + 1u];
  x[at] = a * c - b * s;
  x[at + 1u] = a * s + b * c;`,
};

/** Gathers rows of `table[vocab, d]` at `ids` (a negative id gives a zero row). */
export const EMBEDDING: KernelSpec = {
  name: "embedding",
  buffers: [["out", "f32"], ["table", "f32"], ["ids", "i32"]],
  params: [["count", "u32"], ["d", "u32"]],
  workgroupSize: 64,
  body: `
  let idx = gid.x + gid.y * nwg.x * 64u;
  if (idx >= p.count * p.d) { return; }
  let row = idx / p.d;
  let id = ids[row];
  if (id < 0) { out[idx] = 0.0; } else { out[idx] = table[u32(id) * p.d + idx % p.d]; }`,
};
