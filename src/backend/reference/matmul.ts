/**
 * The reference matrix products: int8 weights × f32 activations, quantized per row exactly as
 * the int8 kernel does (f32 rounding at each step, so the two agree bit for bit), and the f32
 * product with its transposed and accumulating forms (float64 sums).
 *
 * @module
 */
import type { F32, MatmulOptions, Q8Matrix } from "../backend.ts";
import { f32Of, RefQ8 } from "./handles.ts";
import { roundHalfEven } from "./rounding.ts";

const fround = Math.fround;

/**
 * Activations of `matmulQ8` are quantized symmetrically to `-ACT_LEVELS .. ACT_LEVELS` (7 bits:
 * the int8 kernel feeds them to a dot product that is exact only for 7-bit operands).
 */
const ACT_LEVELS = 63;

/** `out[m, n] = x[m, k] · wᵀ`, activations quantized to 7 bits per row. */
export function matmulQ8(out: F32, x: F32, w: Q8Matrix, m: number): void {
  if (!(w instanceof RefQ8) || w.freed) {
    throw new TypeError("matmulQ8: not a live matrix of this backend");
  }
  const n = w.rows, k = w.cols;
  const o = f32Of(out, m * n, "matmulQ8 out");
  const xs = f32Of(x, m * k, "matmulQ8 x");
  const xq = new Int32Array(k);
  for (let r = 0; r < m; r++) {
    // Symmetric per-row quantization in f32 arithmetic, rounding ties to even.
    let amax = 0;
    for (let c = 0; c < k; c++) amax = Math.max(amax, Math.abs(xs[r * k + c]));
    const scale = amax > 0 ? fround(amax / ACT_LEVELS) : 0;
    const inv = amax > 0 ? fround(ACT_LEVELS / amax) : 0;
    for (let c = 0; c < k; c++) {
      const q = roundHalfEven(fround(xs[r * k + c] * inv));
      xq[c] = Math.max(-ACT_LEVELS, Math.min(ACT_LEVELS, q));
    }
    for (let j = 0; j < n; j++) {
      let acc = 0; // exact: |acc| < 2^53
      for (let c = 0; c < k; c++) acc += xq[c] * w.q[j * k + c];
      o[r * n + j] = fround(fround(fround(acc) * scale) * w.scales[j]);
    }
  }
}

/** `out[m, n] (+)= op(a)[m, k] · op(b)[k, n]`. */
export function matmul(
  out: F32,
  a: F32,
  b: F32,
  m: number,
  k: number,
  n: number,
  opts: MatmulOptions = {},
): void {
  const o = f32Of(out, m * n, "matmul out");
  const A = f32Of(a, m * k, "matmul a");
  const B = f32Of(b, k * n, "matmul b");
  const { transA = false, transB = false, accumulate = false } = opts;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? A[p * m + i] : A[i * k + p];
        const bv = transB ? B[j * k + p] : B[p * n + j];
        s += av * bv;
      }
      o[i * n + j] = accumulate ? o[i * n + j] + s : s;
    }
  }
}
