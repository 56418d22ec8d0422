/**
 * The reference backend: every op of {@link Backend} in plain, readable TypeScript over typed
 * arrays. It is the yardstick the WebAssembly (and any future) kernels are tested against, and a
 * fallback where WebAssembly SIMD is missing.
 *
 * Arithmetic is done in float64 and rounded to float32 when stored, except `matmulQ8`, which
 * follows the int8 kernel's rule exactly (f32 rounding at each step) so the two agree bit for
 * bit.
 *
 * @module
 */
import type { AttentionShape, Backend, F32, I32, MatmulOptions, Q8Matrix } from "./backend.ts";

const fround = Math.fround;

/**
 * Activations of `matmulQ8` are quantized symmetrically to `-ACT_LEVELS .. ACT_LEVELS` (7 bits:
 * the int8 kernel feeds them to a dot product that is exact only for 7-bit operands).
 */
const ACT_LEVELS = 63;

class RefF32 implements F32 {
  readonly dtype = "f32" as const;
  freed = false;
  constructor(readonly data: Float32Array) {}
  get length(): number {
    return this.data.length;
  }
}

class RefI32 implements I32 {
  readonly dtype = "i32" as const;
  freed = false;
  constructor(readonly data: Int32Array) {}
  get length(): number {
    return this.data.length;
  }
}

class RefQ8 implements Q8Matrix {
  readonly dtype = "q8" as const;
  freed = false;
  constructor(
    readonly q: Int8Array,
    readonly scales: Float32Array,
    readonly rows: number,
    readonly cols: number,
  ) {}
}

/** Rounds to the nearest integer, ties to even (like WebAssembly's `f32.nearest`). */
function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties toward +∞
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `round(x)` (ties to even) saturated to the int32 range; NaN gives 0. */
function roundSatI32(x: number): number {
  if (Number.isNaN(x)) return 0;
  const r = roundHalfEven(x);
  return r >= 2147483647 ? 2147483647 : r <= -2147483648 ? -2147483648 : r;
}

/** Number of keys query `i` may see under a prefix mask, clamped to `[0, tk]`. */
function visibleKeys(limit: number, tk: number): number {
  return Math.max(0, Math.min(tk, limit));
}

/** GELU's inner argument and its derivative. */
const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

class ReferenceBackend implements Backend {
  readonly name = "reference";
  /** Plain JavaScript arithmetic in a fixed order: repeatable within one engine. */
  readonly deterministic = true;
  #bytes = 0;

  // ── buffers ────────────────────────────────────────────────────────────────
  #f(b: F32, n: number, what: string): Float32Array {
    if (!(b instanceof RefF32) || b.freed) {
      throw new TypeError(`${what}: not a live f32 buffer of this backend`);
    }
    if (n > b.length) throw new RangeError(`${what}: needs ${n} elements, buffer has ${b.length}`);
    return b.data;
  }
  #i(b: I32, n: number, what: string): Int32Array {
    if (!(b instanceof RefI32) || b.freed) {
      throw new TypeError(`${what}: not a live i32 buffer of this backend`);
    }
    if (n > b.length) throw new RangeError(`${what}: needs ${n} elements, buffer has ${b.length}`);
    return b.data;
  }

  f32(init: number | ArrayLike<number>): F32 {
    const data = typeof init === "number" ? new Float32Array(init) : Float32Array.from(init);
    this.#bytes += data.byteLength;
    return new RefF32(data);
  }
  i32(init: number | ArrayLike<number>): I32 {
    const data = typeof init === "number" ? new Int32Array(init) : Int32Array.from(init);
    this.#bytes += data.byteLength;
    return new RefI32(data);
  }
  read(buf: F32, offset = 0, length?: number): Float32Array {
    const data = this.#f(buf, 0, "read");
    const end = length === undefined ? data.length : offset + length;
    if (offset < 0 || end > data.length || end < offset) {
      throw new RangeError(`read: range [${offset}, ${end}) outside a buffer of ${data.length}`);
    }
    return data.slice(offset, end);
  }
  readI32(buf: I32): Int32Array {
    return this.#i(buf, 0, "readI32").slice();
  }
  write(buf: F32 | I32, data: ArrayLike<number>, offset = 0): void {
    const n = offset + data.length;
    const dst = buf.dtype === "f32" ? this.#f(buf, n, "write") : this.#i(buf, n, "write");
    dst.set(data, offset);
  }
  copy(dst: F32, dstOffset: number, src: F32, srcOffset: number, n: number): void {
    const d = this.#f(dst, dstOffset + n, "copy dst");
    const s = this.#f(src, srcOffset + n, "copy src");
    d.set(s.subarray(srcOffset, srcOffset + n), dstOffset); // overlap-safe
  }
  fill(buf: F32, value: number): void {
    this.#f(buf, 0, "fill").fill(value);
  }
  f32FromQ8(q: Int8Array, scales: Float32Array, rows: number, cols: number): F32 {
    checkQ8Shape(q, scales, rows, cols, "f32FromQ8");
    const out = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const s = scales[r];
      // int8 × f32 is exact in float64, so storing it rounds once, as an f32 multiply does
      for (let c = 0; c < cols; c++) out[r * cols + c] = q[r * cols + c] * s;
    }
    this.#bytes += out.byteLength;
    return new RefF32(out);
  }
  q8(q: Int8Array, scales: Float32Array, rows: number, cols: number): Q8Matrix {
    if (q.length !== rows * cols) {
      throw new RangeError(`q8: expected ${rows * cols} weights, got ${q.length}`);
    }
    if (scales.length !== rows) {
      throw new RangeError(`q8: expected ${rows} scales, got ${scales.length}`);
    }
    this.#bytes += q.byteLength + scales.byteLength;
    return new RefQ8(q.slice(), scales.slice(), rows, cols);
  }
  free(buf: F32 | I32 | Q8Matrix): void {
    if (!(buf instanceof RefF32 || buf instanceof RefI32 || buf instanceof RefQ8) || buf.freed) {
      throw new Error("Buffer was already freed or is foreign");
    }
    buf.freed = true;
    this.#bytes -= buf instanceof RefQ8
      ? buf.q.byteLength + buf.scales.byteLength
      : buf.data.byteLength;
  }
  bytesInUse(): number {
    return this.#bytes;
  }

  // ── matrix products ────────────────────────────────────────────────────────
  matmulQ8(out: F32, x: F32, w: Q8Matrix, m: number): void {
    if (!(w instanceof RefQ8) || w.freed) {
      throw new TypeError("matmulQ8: not a live matrix of this backend");
    }
    const n = w.rows, k = w.cols;
    const o = this.#f(out, m * n, "matmulQ8 out");
    const xs = this.#f(x, m * k, "matmulQ8 x");
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
  matmul(
    out: F32,
    a: F32,
    b: F32,
    m: number,
    k: number,
    n: number,
    opts: MatmulOptions = {},
  ): void {
    const o = this.#f(out, m * n, "matmul out");
    const A = this.#f(a, m * k, "matmul a");
    const B = this.#f(b, k * n, "matmul b");
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

  // ── elementwise and row ops ────────────────────────────────────────────────
  add(out: F32, a: F32, b: F32, n: number): void {
    const o = this.#f(out, n, "add"), x = this.#f(a, n, "add"), y = this.#f(b, n, "add");
    for (let i = 0; i < n; i++) o[i] = x[i] + y[i];
  }
  axpy(out: F32, x: F32, alpha: number, n: number): void {
    const o = this.#f(out, n, "axpy"), xs = this.#f(x, n, "axpy");
    for (let i = 0; i < n; i++) o[i] += alpha * xs[i];
  }
  mul(out: F32, x: F32, y: F32, n: number): void {
    const o = this.#f(out, n, "mul"), a = this.#f(x, n, "mul"), b = this.#f(y, n, "mul");
    for (let i = 0; i < n; i++) o[i] = a[i] * b[i];
  }
  rmsnorm(out: F32, x: F32, weight: F32, rows: number, d: number, eps: number, invRms?: F32): void {
    const o = this.#f(out, rows * d, "rmsnorm out");
    const xs = this.#f(x, rows * d, "rmsnorm x");
    const w = this.#f(weight, d, "rmsnorm weight");
    const ir = invRms ? this.#f(invRms, rows, "rmsnorm invRms") : undefined;
    for (let r = 0; r < rows; r++) {
      const inv = this.#invRms(xs, r * d, d, eps);
      if (ir) ir[r] = inv;
      for (let j = 0; j < d; j++) o[r * d + j] = xs[r * d + j] * inv * w[j];
    }
  }
  #invRms(x: Float32Array, off: number, d: number, eps: number): number {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += x[off + j] * x[off + j];
    return 1 / Math.sqrt(ss / d + fround(eps));
  }
  rmsnormBackward(
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
    const gx = this.#f(dx, n, "rmsnormBackward dx");
    const gw = this.#f(dweight, d, "rmsnormBackward dweight");
    const gy = this.#f(dy, n, "rmsnormBackward dy");
    const xs = this.#f(x, n, "rmsnormBackward x");
    const w = this.#f(weight, d, "rmsnormBackward weight");
    for (let r = 0; r < rows; r++) {
      const off = r * d;
      const inv = this.#invRms(xs, off, d, eps);
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
  softmax(out: F32, x: F32, rows: number, n: number): void {
    const o = this.#f(out, rows * n, "softmax"), xs = this.#f(x, rows * n, "softmax");
    for (let r = 0; r < rows; r++) softmaxRow(o, xs, r * n, n);
  }
  silu(out: F32, x: F32, n: number): void {
    const o = this.#f(out, n, "silu"), xs = this.#f(x, n, "silu");
    for (let i = 0; i < n; i++) o[i] = xs[i] / (1 + Math.exp(-xs[i]));
  }
  siluBackward(dx: F32, dy: F32, x: F32, n: number): void {
    const gx = this.#f(dx, n, "siluBackward"), gy = this.#f(dy, n, "siluBackward");
    const xs = this.#f(x, n, "siluBackward");
    for (let i = 0; i < n; i++) {
      const s = 1 / (1 + Math.exp(-xs[i]));
      gx[i] = gy[i] * s * (1 + xs[i] * (1 - s));
    }
  }
  // GELU, tanh approximation: 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³). Written with
  // 0.5·(1 + tanh(u)) = sigmoid(2u), which keeps its accuracy in the tails.
  gelu(out: F32, x: F32, n: number): void {
    const o = this.#f(out, n, "gelu"), xs = this.#f(x, n, "gelu");
    for (let i = 0; i < n; i++) {
      const v = xs[i];
      const u = GELU_K * (v + GELU_C * v * v * v);
      o[i] = v / (1 + Math.exp(-2 * u));
    }
  }
  geluBackward(dx: F32, dy: F32, x: F32, n: number): void {
    const gx = this.#f(dx, n, "geluBackward"), gy = this.#f(dy, n, "geluBackward");
    const xs = this.#f(x, n, "geluBackward");
    for (let i = 0; i < n; i++) {
      const v = xs[i];
      const s = 1 / (1 + Math.exp(-2 * GELU_K * (v + GELU_C * v * v * v)));
      const du = GELU_K * (1 + 3 * GELU_C * v * v);
      // d/dx [x·s(2u)] = s + x·2·s·(1 − s)·u'
      gx[i] = gy[i] * (s + 2 * v * s * (1 - s) * du);
    }
  }
  rope(
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
    const xs = this.#f(x, t * w, "rope");
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
  embedding(out: F32, table: F32, ids: I32, count: number, d: number): void {
    const o = this.#f(out, count * d, "embedding out");
    const tab = this.#f(table, 0, "embedding table");
    const id = this.#i(ids, count, "embedding ids");
    for (let i = 0; i < count; i++) {
      if (id[i] < 0) o.fill(0, i * d, (i + 1) * d);
      else o.set(tab.subarray(this.#row(id[i], d, tab), (id[i] + 1) * d), i * d);
    }
  }
  embeddingBackward(dtable: F32, dout: F32, ids: I32, count: number, d: number): void {
    const tab = this.#f(dtable, 0, "embeddingBackward dtable");
    const g = this.#f(dout, count * d, "embeddingBackward dout");
    const id = this.#i(ids, count, "embeddingBackward ids");
    for (let i = 0; i < count; i++) {
      if (id[i] < 0) continue;
      const base = this.#row(id[i], d, tab);
      for (let j = 0; j < d; j++) tab[base + j] += g[i * d + j];
    }
  }
  #row(id: number, d: number, table: Float32Array): number {
    if ((id + 1) * d > table.length) {
      throw new RangeError(`embedding: id ${id} is outside a table of ${table.length / d} rows`);
    }
    return id * d;
  }

  // ── attention ──────────────────────────────────────────────────────────────
  attention(
    out: F32,
    q: F32,
    k: F32,
    v: F32,
    keyLimit: I32,
    s: AttentionShape,
    probs?: F32,
  ): void {
    const { tq, tk, heads, headDim } = s;
    const w = heads * headDim;
    const o = this.#f(out, tq * w, "attention out");
    const Q = this.#f(q, tq * w, "attention q");
    const K = this.#f(k, tk * w, "attention k");
    const V = this.#f(v, tk * w, "attention v");
    const lim = this.#i(keyLimit, tq, "attention keyLimit");
    const P = probs ? this.#f(probs, heads * tq * tk, "attention probs") : undefined;
    const scale = 1 / Math.sqrt(headDim);
    const p = new Float64Array(tk);
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < tq; i++) {
        const L = visibleKeys(lim[i], tk);
        const qo = i * w + h * headDim;
        p.fill(0);
        if (L > 0) {
          let max = -Infinity;
          for (let j = 0; j < L; j++) {
            let dot = 0;
            for (let d = 0; d < headDim; d++) dot += Q[qo + d] * K[j * w + h * headDim + d];
            p[j] = dot * scale;
            max = Math.max(max, p[j]);
          }
          let sum = 0;
          for (let j = 0; j < L; j++) sum += p[j] = Math.exp(p[j] - max);
          for (let j = 0; j < L; j++) p[j] /= sum;
        }
        for (let d = 0; d < headDim; d++) {
          let acc = 0;
          for (let j = 0; j < L; j++) acc += p[j] * V[j * w + h * headDim + d];
          o[qo + d] = acc;
        }
        if (P) P.set(p, (h * tq + i) * tk);
      }
    }
  }
  attentionBackward(
    dq: F32,
    dk: F32,
    dv: F32,
    dout: F32,
    q: F32,
    k: F32,
    v: F32,
    probs: F32,
    s: AttentionShape,
  ): void {
    const { tq, tk, heads, headDim } = s;
    const w = heads * headDim;
    const gQ = this.#f(dq, tq * w, "attentionBackward dq");
    const gK = this.#f(dk, tk * w, "attentionBackward dk");
    const gV = this.#f(dv, tk * w, "attentionBackward dv");
    const gO = this.#f(dout, tq * w, "attentionBackward dout");
    const Q = this.#f(q, tq * w, "attentionBackward q");
    const K = this.#f(k, tk * w, "attentionBackward k");
    const V = this.#f(v, tk * w, "attentionBackward v");
    const P = this.#f(probs, heads * tq * tk, "attentionBackward probs");
    const scale = 1 / Math.sqrt(headDim);
    // Accumulate in float64, store once.
    const aQ = new Float64Array(tq * w), aK = new Float64Array(tk * w);
    const aV = new Float64Array(tk * w);
    const dP = new Float64Array(tk);
    for (let h = 0; h < heads; h++) {
      const ho = h * headDim;
      for (let i = 0; i < tq; i++) {
        const pr = (h * tq + i) * tk;
        let rowSum = 0;
        for (let j = 0; j < tk; j++) {
          let dot = 0;
          for (let d = 0; d < headDim; d++) dot += gO[i * w + ho + d] * V[j * w + ho + d];
          dP[j] = dot;
          rowSum += P[pr + j] * dot;
        }
        for (let j = 0; j < tk; j++) {
          const pj = P[pr + j];
          const dS = pj * (dP[j] - rowSum) * scale;
          for (let d = 0; d < headDim; d++) {
            aQ[i * w + ho + d] += dS * K[j * w + ho + d];
            aK[j * w + ho + d] += dS * Q[i * w + ho + d];
            aV[j * w + ho + d] += pj * gO[i * w + ho + d];
          }
        }
      }
    }
    gQ.set(aQ);
    gK.set(aK);
    gV.set(aV);
  }

  // ── loss ───────────────────────────────────────────────────────────────────
  crossEntropy(logits: F32, targets: I32, rows: number, vocab: number, dlogits?: F32): number {
    const x = this.#f(logits, rows * vocab, "crossEntropy logits");
    const t = this.#i(targets, rows, "crossEntropy targets");
    const g = dlogits ? this.#f(dlogits, rows * vocab, "crossEntropy dlogits") : undefined;
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

  // ── reversible coupling ────────────────────────────────────────────────────
  couple(out: F32, x: F32, f: F32, n: number, inverse: boolean): void {
    const o = this.#f(out, n, "couple"), xs = this.#f(x, n, "couple");
    const fs = this.#f(f, n, "couple");
    for (let i = 0; i < n; i++) o[i] = inverse ? xs[i] - fs[i] : xs[i] + fs[i];
  }
  coupleFixed(out: I32, x: I32, f: F32, n: number, fracBits: number, inverse: boolean): void {
    const o = this.#i(out, n, "coupleFixed"), xs = this.#i(x, n, "coupleFixed");
    const fs = this.#f(f, n, "coupleFixed");
    const sc = 2 ** fracBits;
    for (let i = 0; i < n; i++) {
      const q = roundSatI32(fround(fs[i] * sc));
      o[i] = inverse ? (xs[i] - q) | 0 : (xs[i] + q) | 0; // wraps modulo 2^32
    }
  }
  fromFixed(out: F32, x: I32, n: number, fracBits: number): void {
    const o = this.#f(out, n, "fromFixed"), xs = this.#i(x, n, "fromFixed");
    const sc = 2 ** -fracBits;
    for (let i = 0; i < n; i++) o[i] = fround(xs[i]) * sc;
  }
  toFixed(out: I32, x: F32, n: number, fracBits: number): void {
    const o = this.#i(out, n, "toFixed"), xs = this.#f(x, n, "toFixed");
    const sc = 2 ** fracBits;
    for (let i = 0; i < n; i++) o[i] = roundSatI32(fround(xs[i] * sc));
  }

  // ── optimiser ──────────────────────────────────────────────────────────────
  adamw(
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
    const p = this.#f(param, n, "adamw param"), g = this.#f(grad, n, "adamw grad");
    const M = this.#f(m, n, "adamw m"), V = this.#f(v, n, "adamw v");
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

/**
 * Creates the plain-TypeScript reference backend.
 *
 * @example
 * ```ts
 * import { createReferenceBackend } from "./reference.ts";
 * const be = createReferenceBackend();
 * const x = be.f32([1, 2, 3]);
 * be.axpy(x, x, 1, 3);
 * console.log(be.read(x)); // Float32Array [2, 4, 6]
 * const logits = be.f32([0, 0, 0, 0]);
 * const loss = be.crossEntropy(logits, be.i32([2]), 1, 4);
 * console.log(loss.toFixed(4)); // "1.3863" (= ln 4)
 * ```
 */
export function createReferenceBackend(): Backend {
  return new ReferenceBackend();
}

function checkQ8Shape(
  q: Int8Array,
  scales: Float32Array,
  rows: number,
  cols: number,
  what: string,
): void {
  if (q.length !== rows * cols) {
    throw new RangeError(`${what}: expected ${rows * cols} weights, got ${q.length}`);
  }
  if (scales.length !== rows) {
    throw new RangeError(`${what}: expected ${rows} scales, got ${scales.length}`);
  }
}
