/**
 * The reference elementwise ops: sums and products, the activations (SiLU, GELU) and their
 * backward, the reversible couplings in f32 and in fixed point, and the AdamW update.
 *
 * @module
 */
import type { F32, I32 } from "../backend.ts";
import { f32Of, i32Of } from "./handles.ts";
import { roundSatI32 } from "./rounding.ts";

const fround = Math.fround;

/** GELU's inner argument and its derivative. */
const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

/** `out = a + b`. */
export function add(out: F32, a: F32, b: F32, n: number): void {
  const o = f32Of(out, n, "add"), x = f32Of(a, n, "add"), y = f32Of(b, n, "add");
  for (let i = 0; i < n; i++) o[i] = x[i] + y[i];
}

/** `out += alpha · x`. */
export function axpy(out: F32, x: F32, alpha: number, n: number): void {
  const o = f32Of(out, n, "axpy"), xs = f32Of(x, n, "axpy");
  for (let i = 0; i < n; i++) o[i] += alpha * xs[i];
}

/** `out = x ⊙ y`. */
export function mul(out: F32, x: F32, y: F32, n: number): void {
  const o = f32Of(out, n, "mul"), a = f32Of(x, n, "mul"), b = f32Of(y, n, "mul");
  for (let i = 0; i < n; i++) o[i] = a[i] * b[i];
}

/** `out = x · sigmoid(x)`. */
export function silu(out: F32, x: F32, n: number): void {
  const o = f32Of(out, n, "silu"), xs = f32Of(x, n, "silu");
  for (let i = 0; i < n; i++) o[i] = xs[i] / (1 + Math.exp(-xs[i]));
}

/** Backward of {@link silu}. */
export function siluBackward(dx: F32, dy: F32, x: F32, n: number): void {
  const gx = f32Of(dx, n, "siluBackward"), gy = f32Of(dy, n, "siluBackward");
  const xs = f32Of(x, n, "siluBackward");
  for (let i = 0; i < n; i++) {
    const s = 1 / (1 + Math.exp(-xs[i]));
    gx[i] = gy[i] * s * (1 + xs[i] * (1 - s));
  }
}

/**
 * GELU, tanh approximation: 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³). Written with
 * 0.5·(1 + tanh(u)) = sigmoid(2u), which keeps its accuracy in the tails.
 */
export function gelu(out: F32, x: F32, n: number): void {
  const o = f32Of(out, n, "gelu"), xs = f32Of(x, n, "gelu");
  for (let i = 0; i < n; i++) {
    const v = xs[i];
    const u = GELU_K * (v + GELU_C * v * v * v);
    o[i] = v / (1 + Math.exp(-2 * u));
  }
}

/** Backward of {@link gelu}. */
export function geluBackward(dx: F32, dy: F32, x: F32, n: number): void {
  const gx = f32Of(dx, n, "geluBackward"), gy = f32Of(dy, n, "geluBackward");
  const xs = f32Of(x, n, "geluBackward");
  for (let i = 0; i < n; i++) {
    const v = xs[i];
    const s = 1 / (1 + Math.exp(-2 * GELU_K * (v + GELU_C * v * v * v)));
    const du = GELU_K * (1 + 3 * GELU_C * v * v);
    // d/dx [x·s(2u)] = s + x·2·s·(1 − s)·u'
    gx[i] = gy[i] * (s + 2 * v * s * (1 - s) * du);
  }
}

/** `out = x ± f` (the f32 coupling and its inverse). */
export function couple(out: F32, x: F32, f: F32, n: number, inverse: boolean): void {
  const o = f32Of(out, n, "couple"), xs = f32Of(x, n, "couple");
  const fs = f32Of(f, n, "couple");
  for (let i = 0; i < n; i++) o[i] = inverse ? xs[i] - fs[i] : xs[i] + fs[i];
}

/** `out = x ± round(f · 2^fracBits)` in int32, wrapping (the fixed-point coupling). */
export function coupleFixed(
  out: I32,
  x: I32,
  f: F32,
  n: number,
  fracBits: number,
  inverse: boolean,
): void {
  const o = i32Of(out, n, "coupleFixed"), xs = i32Of(x, n, "coupleFixed");
  const fs = f32Of(f, n, "coupleFixed");
  const sc = 2 ** fracBits;
  for (let i = 0; i < n; i++) {
    const q = roundSatI32(fround(fs[i] * sc));
    o[i] = inverse ? (xs[i] - q) | 0 : (xs[i] + q) | 0; // wraps modulo 2^32
  }
}

/** `out = x · 2^-fracBits`. */
export function fromFixed(out: F32, x: I32, n: number, fracBits: number): void {
  const o = f32Of(out, n, "fromFixed"), xs = i32Of(x, n, "fromFixed");
  const sc = 2 ** -fracBits;
  for (let i = 0; i < n; i++) o[i] = fround(xs[i]) * sc;
}

/** `out = round(x · 2^fracBits)`, saturated. */
export function toFixed(out: I32, x: F32, n: number, fracBits: number): void {
  const o = i32Of(out, n, "toFixed"), xs = f32Of(x, n, "toFixed");
  const sc = 2 ** fracBits;
  for (let i = 0; i < n; i++) o[i] = roundSatI32(fround(xs[i] * sc));
}

/** One AdamW step (decoupled weight decay, bias-corrected moments). */
export function adamw(
  param: F32,
  grad: F32,
  m: F32,
  v: F32,
  n: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  step: number,
): void {
  const p = f32Of(param, n, "adamw param"), g = f32Of(grad, n, "adamw grad");
  const M = f32Of(m, n, "adamw m"), V = f32Of(v, n, "adamw v");
  // Hyper-parameters as the f32 kernel sees them.
  const b1 = fround(beta1), b2 = fround(beta2);
  const bc1 = 1 / (1 - b1 ** Math.max(step, 1));
  const bc2 = 1 / (1 - b2 ** Math.max(step, 1));
  for (let i = 0; i < n; i++) {
    M[i] = b1 * M[i] + (1 - b1) * g[i];
    V[i] = b2 * V[i] + (1 - b2) * g[i] * g[i];
    const mh = M[i] * bc1, vh = V[i] * bc2;
    p[i] -= fround(lr) * (mh / (Math.sqrt(vh) + fround(eps)) + fround(weightDecay) * p[i]);
  }
}
