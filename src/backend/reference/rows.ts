/**
 * The reference row ops: RMSNorm and its backward, softmax, rotary embedding, embedding
 * gathers and their backward, and the cross-entropy loss (float64 arithmetic, f32 stores).
 *
 * @module
 */
import type { F32, I32 } from "../backend.ts";
import { f32Of, i32Of } from "./handles.ts";

const fround = Math.fround;

/** `out = x / rms(x) · weight` per row; `invRms` receives `1 / rms` per row. */
export function rmsnorm(
  out: F32,
  x: F32,
  weight: F32,
  rows: number,
  d: number,
  eps: number,
  invRms?: F32,
): void {
  const o = f32Of(out, rows * d, "rmsnorm out");
  const xs = f32Of(x, rows * d, "rmsnorm x");
  const w = f32Of(weight, d, "rmsnorm weight");
  const ir = invRms ? f32Of(invRms, rows, "rmsnorm invRms") : undefined;
  for (let r = 0; r < rows; r++) {
    const inv = inverseRms(xs, r * d, d, eps);
    if (ir) ir[r] = inv;
    for (let j = 0; j < d; j++) o[r * d + j] = xs[r * d + j] * inv * w[j];
  }
}

/** `1 / √(mean(x²) + eps)` of one row. */
function inverseRms(x: Float32Array, off: number, d: number, eps: number): number {
  let ss = 0;
  for (let j = 0; j < d; j++) ss += x[off + j] * x[off + j];
  return 1 / Math.sqrt(ss / d + fround(eps));
}

/** Backward of {@link rmsnorm}: `dx` written, `dweight` accumulated. */
export function rmsnormBackward(
  dx: F32,
  dweight: F32,
  dy: F32,
  x: F32,
  weight: F32,
  rows: number,
  d: number,
  eps: number,
): void {
  const n = rows * d;
  const gx = f32Of(dx, n, "rmsnormBackward dx");
  const gw = f32Of(dweight, d, "rmsnormBackward dweight");
  const gy = f32Of(dy, n, "rmsnormBackward dy");
  const xs = f32Of(x, n, "rmsnormBackward x");
  const w = f32Of(weight, d, "rmsnormBackward weight");
  for (let r = 0; r < rows; r++) {
    const off = r * d;
    const inv = inverseRms(xs, off, d, eps);
    // y_j = x_j·r·w_j, r = (Σx²/d + eps)^(-1/2), ∂r/∂x_j = −r³·x_j/d.
    let s = 0;
    for (let j = 0; j < d; j++) s += gy[off + j] * w[j] * xs[off + j];
    const c = inv * inv * inv * s / d;
    for (let j = 0; j < d; j++) {
      gw[j] += gy[off + j] * xs[off + j] * inv;
      gx[off + j] = gy[off + j] * w[j] * inv - xs[off + j] * c;
    }
  }
}

/** Softmax of each row. */
export function softmax(out: F32, x: F32, rows: number, n: number): void {
  const o = f32Of(out, rows * n, "softmax"), xs = f32Of(x, rows * n, "softmax");
  for (let r = 0; r < rows; r++) softmaxRow(o, xs, r * n, n);
}

/** Rotary position embedding in place (its inverse with `inverse`). */
export function rope(
  x: F32,
  t: number,
  heads: number,
  headDim: number,
  pos0: number,
  theta: number,
  inverse = false,
): void {
  if (headDim % 2) throw new RangeError(`rope: headDim must be even, got ${headDim}`);
  const w = heads * headDim;
  const xs = f32Of(x, t * w, "rope");
  for (let r = 0; r < t; r++) {
    for (let i = 0; i < headDim / 2; i++) {
      const angle = (pos0 + r) * Math.pow(fround(theta), -(2 * i) / headDim);
      const c = Math.cos(angle);
      const s = inverse ? -Math.sin(angle) : Math.sin(angle);
      for (let h = 0; h < heads; h++) {
        const p = r * w + h * headDim + 2 * i;
        const a = xs[p], b = xs[p + 1];
        xs[p] = a * c - b * s;
        xs[p + 1] = a * s + b * c;
      }
    }
  }
}

/** Gathers table rows by id (a negative id gives zeros). */
export function embedding(out: F32, table: F32, ids: I32, count: number, d: number): void {
  const o = f32Of(out, count * d, "embedding out");
  const tab = f32Of(table, 0, "embedding table");
  const id = i32Of(ids, count, "embedding ids");
  for (let i = 0; i < count; i++) {
    if (id[i] < 0) o.fill(0, i * d, (i + 1) * d);
    else o.set(tab.subarray(tableRow(id[i], d, tab), (id[i] + 1) * d), i * d);
  }
}

/** Backward of {@link embedding}: rows of `dout` added into `dtable` (negative ids skipped). */
export function embeddingBackward(
  dtable: F32,
  dout: F32,
  ids: I32,
  count: number,
  d: number,
): void {
  const tab = f32Of(dtable, 0, "embeddingBackward dtable");
  const g = f32Of(dout, count * d, "embeddingBackward dout");
  const id = i32Of(ids, count, "embeddingBackward ids");
  for (let i = 0; i < count; i++) {
    if (id[i] < 0) continue;
    const base = tableRow(id[i], d, tab);
    for (let j = 0; j < d; j++) tab[base + j] += g[i * d + j];
  }
}

/** Start of row `id` of `table`, checked. */
function tableRow(id: number, d: number, table: Float32Array): number {
  if ((id + 1) * d > table.length) {
    throw new RangeError(`embedding: id ${id} is outside a table of ${table.length / d} rows`);
  }
  return id * d;
}

/** Mean cross-entropy over rows whose target is not negative; `dlogits` receives its gradient. */
export function crossEntropy(
  logits: F32,
  targets: I32,
  rows: number,
  vocab: number,
  dlogits?: F32,
): number {
  const x = f32Of(logits, rows * vocab, "crossEntropy logits");
  const t = i32Of(targets, rows, "crossEntropy targets");
  const g = dlogits ? f32Of(dlogits, rows * vocab, "crossEntropy dlogits") : undefined;
  let count = 0;
  for (let r = 0; r < rows; r++) {
    if (t[r] >= vocab) {
      throw new RangeError(`crossEntropy: target ${t[r]} is outside a vocabulary of ${vocab}`);
    }
    if (t[r] >= 0) count++;
  }
  let total = 0;
  const p = new Float64Array(vocab);
  for (let r = 0; r < rows; r++) {
    const off = r * vocab;
    if (t[r] < 0) {
      g?.fill(0, off, off + vocab);
      continue;
    }
    const xt = x[off + t[r]];
    softmaxRow(p, x, off, vocab, 0);
    let max = -Infinity;
    for (let j = 0; j < vocab; j++) max = Math.max(max, x[off + j]);
    let sum = 0;
    for (let j = 0; j < vocab; j++) sum += Math.exp(x[off + j] - max);
    total += max + Math.log(sum) - xt;
    if (g) {
      for (let j = 0; j < vocab; j++) g[off + j] = p[j] / count;
      g[off + t[r]] = (p[t[r]] - 1) / count;
    }
  }
  return count > 0 ? fround(total / count) : 0;
}

/** Softmax of `x[off .. off+n)` into `out[outOff ..]` (float64 arithmetic). */
function softmaxRow(
  out: Float32Array | Float64Array,
  x: Float32Array,
  off: number,
  n: number,
  outOff = off,
): void {
  let max = -Infinity;
  for (let j = 0; j < n; j++) max = Math.max(max, x[off + j]);
  const e = new Float64Array(n);
  let sum = 0;
  for (let j = 0; j < n; j++) sum += e[j] = Math.exp(x[off + j] - max);
  for (let j = 0; j < n; j++) out[outOff + j] = e[j] / sum;
}
