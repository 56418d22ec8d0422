/**
 * The WebAssembly backend: owns buffers in the kernel module's linear memory and forwards each
 * op to its SIMD kernel. Scratch space is kept and only grown, so repeated calls of the same
 * shapes allocate nothing.
 *
 * Buffers and the scratch area live in `wasm_heap.ts`; this file forwards each op, after
 * checking its buffers, to its kernel.
 *
 * @module
 */
import type { AttentionShape, Backend, F32, I32, MatmulOptions, Q8Matrix } from "../backend.ts";
import { type KernelVariant, type LoadedKernels, loadKernels } from "./kernels_module.ts";
import { WasmHeap, WasmQ8 } from "./wasm_heap.ts";

/** Options of {@link createWasmBackend}. */
export interface WasmBackendOptions {
  /**
   * Deterministic mode (default true): f32 products use separate multiply and add in a fixed
   * order. `false` allows relaxed-SIMD fused multiply-add, which is faster where the machine has
   * FMA but may round differently from machine to machine.
   */
  deterministic?: boolean;
  /**
   * Which kernels: `"auto"` (default: the relaxed-SIMD build where the engine accepts it, else
   * the portable one), `"relaxed"`, `"portable"`, or a binary / URL of one.
   */
  kernels?: URL | Uint8Array | KernelVariant | "auto";
}

/**
 * Creates a backend running the AssemblyScript SIMD kernels.
 *
 * @example
 * ```ts
 * import { createWasmBackend } from "./wasm_backend.ts";
 * const be = await createWasmBackend();
 * const x = be.f32([1, 2, 3]);
 * be.axpy(x, x, 1, 3);
 * console.log(be.read(x)); // Float32Array [2, 4, 6]
 * ```
 */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<Backend> {
  return new WasmBackend(await loadKernels(options.kernels), options.deterministic ?? true);
}

class WasmBackend implements Backend {
  readonly name = "wasm";
  #h: WasmHeap;

  /** Which build of the kernels runs. */
  readonly variant: KernelVariant;

  constructor(private readonly k: LoadedKernels, readonly deterministic: boolean) {
    this.variant = k.variant;
    this.#h = new WasmHeap(k);
  }

  // ── buffers (wasm_heap.ts) ─────────────────────────────────────────────────
  f32(init: number | ArrayLike<number>): F32 {
    return this.#h.f32(init);
  }
  i32(init: number | ArrayLike<number>): I32 {
    return this.#h.i32(init);
  }
  read(buf: F32, offset = 0, length?: number): Float32Array {
    return this.#h.read(buf, offset, length);
  }
  readI32(buf: I32): Int32Array {
    return this.#h.readI32(buf);
  }
  write(buf: F32 | I32, data: ArrayLike<number>, offset = 0): void {
    this.#h.write(buf, data, offset);
  }
  copy(dst: F32, dstOffset: number, src: F32, srcOffset: number, n: number): void {
    this.#h.copy(dst, dstOffset, src, srcOffset, n);
  }
  fill(buf: F32, value: number): void {
    this.#h.fill(buf, value);
  }
  f32FromQ8(q: Int8Array, scales: Float32Array, rows: number, cols: number): F32 {
    return this.#h.f32FromQ8(q, scales, rows, cols);
  }
  q8(q: Int8Array, scales: Float32Array, rows: number, cols: number): Q8Matrix {
    return this.#h.q8(q, scales, rows, cols);
  }
  free(buf: F32 | I32 | Q8Matrix): void {
    this.#h.free(buf);
  }
  bytesInUse(): number {
    return this.#h.bytesInUse();
  }
  memoryBytes(): number {
    return this.k.memory.buffer.byteLength;
  }

  // ── matrix products ────────────────────────────────────────────────────────
  matmulQ8(out: F32, x: F32, w: Q8Matrix, m: number): void {
    const wq = w as WasmQ8;
    if (!(wq instanceof WasmQ8) || !this.#h.isLive(wq.packed)) {
      throw new TypeError("matmulQ8: not a live matrix of this backend");
    }
    const o = this.#h.check(out, m * wq.rows, "matmulQ8 out");
    const xp = this.#h.check(x, m * wq.cols, "matmulQ8 x");
    const scratch = this.#h.scratchFor(this.k.q8_scratch_bytes(m, wq.cols));
    this.k.matmul_q8_f32(
      o,
      xp,
      wq.packed,
      wq.scales,
      m,
      wq.cols,
      wq.rows,
      scratch,
      this.deterministic ? 0 : 1,
    );
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
    const o = this.#h.check(out, m * n, "matmul out");
    const ap = this.#h.check(a, m * k, "matmul a");
    const bp = this.#h.check(b, k * n, "matmul b");
    this.k.matmul_f32(
      o,
      ap,
      bp,
      m,
      k,
      n,
      opts.transA ? 1 : 0,
      opts.transB ? 1 : 0,
      opts.accumulate ? 1 : 0,
      this.deterministic ? 0 : 1,
      this.#h.scratchFor(this.k.matmul_f32_scratch_bytes(m, k, n)),
    );
  }

  // ── elementwise and row ops ────────────────────────────────────────────────
  add(out: F32, a: F32, b: F32, n: number): void {
    this.k.add_f32(
      this.#h.check(out, n, "add"),
      this.#h.check(a, n, "add"),
      this.#h.check(b, n, "add"),
      n,
    );
  }
  axpy(out: F32, x: F32, alpha: number, n: number): void {
    this.k.axpy_f32(this.#h.check(out, n, "axpy"), this.#h.check(x, n, "axpy"), alpha, n);
  }
  mul(out: F32, x: F32, y: F32, n: number): void {
    this.k.mul_f32(
      this.#h.check(out, n, "mul"),
      this.#h.check(x, n, "mul"),
      this.#h.check(y, n, "mul"),
      n,
    );
  }
  rmsnorm(out: F32, x: F32, weight: F32, rows: number, d: number, eps: number, invRms?: F32): void {
    this.k.rmsnorm_f32(
      this.#h.check(out, rows * d, "rmsnorm out"),
      this.#h.check(x, rows * d, "rmsnorm x"),
      this.#h.check(weight, d, "rmsnorm weight"),
      rows,
      d,
      eps,
      invRms ? this.#h.check(invRms, rows, "rmsnorm invRms") : 0,
    );
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
    this.k.rmsnorm_backward_f32(
      this.#h.check(dx, n, "rmsnormBackward dx"),
      this.#h.check(dweight, d, "rmsnormBackward dweight"),
      this.#h.check(dy, n, "rmsnormBackward dy"),
      this.#h.check(x, n, "rmsnormBackward x"),
      this.#h.check(weight, d, "rmsnormBackward weight"),
      rows,
      d,
      eps,
    );
  }
  softmax(out: F32, x: F32, rows: number, n: number): void {
    this.k.softmax_f32(
      this.#h.check(out, rows * n, "softmax"),
      this.#h.check(x, rows * n, "softmax"),
      rows,
      n,
    );
  }
  silu(out: F32, x: F32, n: number): void {
    this.k.silu_f32(this.#h.check(out, n, "silu"), this.#h.check(x, n, "silu"), n);
  }
  siluBackward(dx: F32, dy: F32, x: F32, n: number): void {
    this.k.silu_backward_f32(
      this.#h.check(dx, n, "siluBackward"),
      this.#h.check(dy, n, "siluBackward"),
      this.#h.check(x, n, "siluBackward"),
      n,
    );
  }
  gelu(out: F32, x: F32, n: number): void {
    this.k.gelu_f32(this.#h.check(out, n, "gelu"), this.#h.check(x, n, "gelu"), n);
  }
  geluBackward(dx: F32, dy: F32, x: F32, n: number): void {
    this.k.gelu_backward_f32(
      this.#h.check(dx, n, "geluBackward"),
      this.#h.check(dy, n, "geluBackward"),
      this.#h.check(x, n, "geluBackward"),
      n,
    );
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
    this.k.rope_f32(
      this.#h.check(x, t * heads * headDim, "rope"),
      t,
      heads,
      headDim,
      pos0,
      theta,
      inverse ? 1 : 0,
    );
  }
  embedding(out: F32, table: F32, ids: I32, count: number, d: number): void {
    this.k.embedding_f32(
      this.#h.check(out, count * d, "embedding out"),
      this.#h.check(table, 0, "embedding table"),
      this.#h.check(ids, count, "embedding ids"),
      count,
      d,
    );
  }
  embeddingBackward(dtable: F32, dout: F32, ids: I32, count: number, d: number): void {
    this.k.embedding_backward_f32(
      this.#h.check(dtable, 0, "embeddingBackward dtable"),
      this.#h.check(dout, count * d, "embeddingBackward dout"),
      this.#h.check(ids, count, "embeddingBackward ids"),
      count,
      d,
    );
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
    const w = s.heads * s.headDim;
    const scratch = this.#h.scratchFor(
      this.k.attention_scratch_bytes(s.tq, s.tk, s.heads, s.headDim),
    );
    this.k.attention_f32(
      this.#h.check(out, s.tq * w, "attention out"),
      this.#h.check(q, s.tq * w, "attention q"),
      this.#h.check(k, s.tk * w, "attention k"),
      this.#h.check(v, s.tk * w, "attention v"),
      this.#h.check(keyLimit, s.tq, "attention keyLimit"),
      s.tq,
      s.tk,
      s.heads,
      s.headDim,
      probs ? this.#h.check(probs, s.heads * s.tq * s.tk, "attention probs") : 0,
      scratch,
    );
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
    const w = s.heads * s.headDim;
    const scratch = this.#h.scratchFor(
      this.k.attention_backward_scratch_bytes(s.tq, s.tk, s.heads, s.headDim),
    );
    this.k.attention_backward_f32(
      this.#h.check(dq, s.tq * w, "attentionBackward dq"),
      this.#h.check(dk, s.tk * w, "attentionBackward dk"),
      this.#h.check(dv, s.tk * w, "attentionBackward dv"),
      this.#h.check(dout, s.tq * w, "attentionBackward dout"),
      this.#h.check(q, s.tq * w, "attentionBackward q"),
      this.#h.check(k, s.tk * w, "attentionBackward k"),
      this.#h.check(v, s.tk * w, "attentionBackward v"),
      this.#h.check(probs, s.heads * s.tq * s.tk, "attentionBackward probs"),
      s.tq,
      s.tk,
      s.heads,
      s.headDim,
      scratch,
    );
  }

  // ── loss ───────────────────────────────────────────────────────────────────
  crossEntropy(logits: F32, targets: I32, rows: number, vocab: number, dlogits?: F32): number {
    return this.k.cross_entropy_f32(
      this.#h.check(logits, rows * vocab, "crossEntropy logits"),
      this.#h.check(targets, rows, "crossEntropy targets"),
      rows,
      vocab,
      dlogits ? this.#h.check(dlogits, rows * vocab, "crossEntropy dlogits") : 0,
    );
  }

  // ── reversible coupling ────────────────────────────────────────────────────
  couple(out: F32, x: F32, f: F32, n: number, inverse: boolean): void {
    this.k.couple_f32(
      this.#h.check(out, n, "couple"),
      this.#h.check(x, n, "couple"),
      this.#h.check(f, n, "couple"),
      n,
      inverse ? 1 : 0,
    );
  }
  coupleFixed(out: I32, x: I32, f: F32, n: number, fracBits: number, inverse: boolean): void {
    this.k.couple_fixed(
      this.#h.check(out, n, "coupleFixed"),
      this.#h.check(x, n, "coupleFixed"),
      this.#h.check(f, n, "coupleFixed"),
      n,
      fracBits,
      inverse ? 1 : 0,
    );
  }
  fromFixed(out: F32, x: I32, n: number, fracBits: number): void {
    this.k.from_fixed(
      this.#h.check(out, n, "fromFixed"),
      this.#h.check(x, n, "fromFixed"),
      n,
      fracBits,
    );
  }
  toFixed(out: I32, x: F32, n: number, fracBits: number): void {
    this.k.to_fixed(this.#h.check(out, n, "toFixed"), this.#h.check(x, n, "toFixed"), n, fracBits);
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
    this.k.adamw_f32(
      this.#h.check(param, n, "adamw param"),
      this.#h.check(grad, n, "adamw grad"),
      this.#h.check(m, n, "adamw m"),
      this.#h.check(v, n, "adamw v"),
      n,
      lr,
      beta1,
      beta2,
      eps,
      weightDecay,
      step,
    );
  }
}
