/**
 * Matrix-product WGSL kernels.
 *
 * `matmulQ8` follows the backend's one numeric definition (docs/ARCHITECTURE.md): each
 * activation row is quantized to 7-bit integers (`quantize_rows`: scale = max|x|/63, ties to
 * even), packed four to a `u32`, and dotted with the int8 weight rows (four to a `u32`) in
 * exact int32 sums (`matmul_q8`), then rescaled: `f32(acc) · scale_x · scale_w`. The dot uses
 * WGSL's `dot4I8Packed` where the adapter offers `packed_4x8_integer_dot_product`, sign-extending
 * shifts otherwise; both give the same integers. Each thread computes {@link Q8_ROWS} rows of one
 * output channel, so a weight word is read once per {@link Q8_ROWS} rows.
 *
 * @module
 */
import type { KernelSpec } from "./kernel_spec.ts";
import { ROW_WG } from "./wgsl_rows.ts";

/** Activation rows per thread of `matmul_q8`. */
export const Q8_ROWS = 4;
/** Output channels per workgroup of `matmul_q8`. */
export const Q8_COLS = 64;

/** Quantizes rows of `x[m, k]` to packed 7-bit words `xq[m, k4]` and scales `xs[m]`. */
export const QUANTIZE_ROWS: KernelSpec = {
  name: "quantize_rows",
  buffers: [["xq", "u32"], ["xs", "f32"], ["x", "f32"]],
  params: [["m", "u32"], ["k", "u32"], ["k4", "u32"]],
  workgroupSize: ROW_WG,
  prelude: `var<workgroup> red: array<f32, ${ROW_WG}>;`,
  body: `
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.m) { return; }
  let off = row * p.k;
  var a = 0.0;
  for (var j = lid.x; j < p.k; j += ${ROW_WG}u) { a = max(a, abs(x[off + j])); }
  red[lid.x] = a;
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid.x < s) { red[lid.x] = max(red[lid.x], red[lid.x + s]); }
    workgroupBarrier();
  }
  let amax = red[0];
  var scale = 0.0;
  var inv = 0.0;
  if (amax > 0.0) { scale = amax / 63.0; inv = 63.0 / amax; }
  if (lid.x == 0u) { xs[row] = scale; }
  for (var w = lid.x; w < p.k4; w += ${ROW_WG}u) {
    var word = 0u;
    for (var b = 0u; b < 4u; b++) {
      let c = w * 4u + b;
      if (c < p.k) {
        let q = i32(clamp(round(x[off + c] * inv), -63.0, 63.0));
        word = word | ((bitcast<u32>(q) & 0xffu) << (8u * b));
      }
    }
    xq[row * p.k4 + w] = word;
  }`,
};

const DOT4_PACKED = `fn dot4(a: u32, b: u32) -> i32 { return dot4I8Packed(a, b); }`;
const DOT4_UNPACKED = `fn dot4(a: u32, b: u32) -> i32 {
  let x = bitcast<i32>(a);
  let y = bitcast<i32>(b);
  return ((x << 24u) >> 24u) * ((y << 24u) >> 24u) + ((x << 16u) >> 24u) * ((y << 16u) >> 24u) +
    ((x << 8u) >> 24u) * ((y << 8u) >> 24u) + (x >> 24u) * (y >> 24u);
}`;

/**
 * `out[m, n] = dequant(xq[m, k4] · w)` with the weight words stored `[k4, n]`; `packed` picks
 * `dot4I8Packed`.
 *
 * @param packed Use the packed 4×int8 dot product.
 * @returns The kernel.
 */
export function matmulQ8Kernel(packed: boolean): KernelSpec {
  const rows = Array.from({ length: Q8_ROWS }, (_, i) => i);
  return {
    name: packed ? "matmul_q8_packed" : "matmul_q8_unpacked",
    buffers: [["out", "f32"], ["xq", "u32"], ["xs", "f32"], ["w", "u32"], ["ws", "f32"]],
    params: [["m", "u32"], ["n", "u32"], ["k4", "u32"]],
    workgroupSize: Q8_COLS,
    prelude: packed ? DOT4_PACKED : DOT4_UNPACKED,
    body: `
  let j = wid.x * ${Q8_COLS}u + lid.x;
  let r0 = wid.y * ${Q8_ROWS}u;
  if (j >= p.n) { return; }
  ${rows.map((i) => `var acc${i} = 0;`).join(" ")}
  // Rows past m read row m-1 (in bounds) and are not stored.
  ${rows.map((i) => `let x${i} = min(r0 + ${i}u, p.m - 1u) * p.k4;`).join(" ")}
  for (var c = 0u; c < p.k4; c++) {
    let wv = w[c * p.n + j]; // weights are stored [k4, n]: neighbours read neighbours
    ${rows.map((i) => `acc${i} += dot4(xq[x${i} + c], wv);`).join("\n    ")}
  }
  let sw = ws[j];
  ${
      rows.map((i) =>
        `if (r0 + ${i}u < p.m) { out[(r0 + ${i}u) * p.n + j] = f32(acc${i}) * xs[r0 + ${i}u] * sw; }`
      ).join("\n  ")
    }`,
  };
}

/** `out[m, n] (+)= op(a)[m, k] · op(b)[k, n]` in f32, one thread per output. */
export const MATMUL_F32: KernelSpec = {
  name: "matmul_f32",
  buffers: [["out", "f32"], ["a", "f32"], ["b", "f32"]],
  params: [
    ["m", "u32"],
    ["k", "u32"],
    ["n", "u32"],
    ["trans_a", "u32"],
    ["trans_b", "u32"],
    ["accumulate", "u32"],
  ],
  workgroupSize: 64,
  body: `
  let idx = gid.x + gid.y * nwg.x * 64u;
  if (idx >= p.m * p.n) { return; }
  let i = idx / p.n;
  let j = idx % p.n;
  var s = 0.0;
  for (var q = 0u; q < p.k; q++) {
    var av = a[i * p.k + q];
    if (p.trans_a != 0u) { av = a[q * p.m + i]; }
    var bv = b[q * p.n + j];
    if (p.trans_b != 0u) { bv = b[j * p.k + q]; }
    s += av * bv;
  }
  if (p.accumulate != 0u) { out[idx] = out[idx] + s; } else { out[idx] = s; }`,
};
