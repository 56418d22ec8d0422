/**
 * The WebAssembly backend: owns buffers in the kernel module's linear memory and forwards each
 * op to its SIMD kernel. Scratch space is kept and only grown, so repeated calls of the same
 * shapes allocate nothing.
 *
 * @module
 */
import type { AttentionShape, Backend, F32, I32, MatmulOptions, Q8Matrix } from "../backend.ts";
import { type KernelVariant, type LoadedKernels, loadKernels } from "./kernels_module.ts";

class WasmF32 implements F32 {
  readonly dtype = "f32" as const;
  constructor(readonly ptr: number, readonly length: number) {}
}
class WasmI32 implements I32 {
  readonly dtype = "i32" as const;
  constructor(readonly ptr: number, readonly length: number) {}
}
class WasmQ8 implements Q8Matrix {
  readonly dtype = "q8" as const;
  constructor(
    readonly packed: number,
    readonly scales: number,
    readonly rows: number,
    readonly cols: number,
  ) {}
}
type AnyBuf = WasmF32 | WasmI32 | WasmQ8;

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
  #live = new Map<number, number>(); // ptr -> bytes
  #bytes = 0;
  #scratch = 0;
  #scratchBytes = 0;

  /** Which build of the kernels runs. */
  readonly variant: KernelVariant;

  constructor(private readonly k: LoadedKernels, readonly deterministic: boolean) {
    this.variant = k.variant;
  }

  // ── memory ─────────────────────────────────────────────────────────────────
  // The buffer object changes when memory grows: always take views afresh.
  #mem(): ArrayBuffer {
    return this.k.memory.buffer as ArrayBuffer;
  }
  // Zeroed unless the caller overwrites every byte (heap blocks are reused, so not zero).
  #alloc(bytes: number, zero = true): number {
    const size = Math.max(16, bytes);
    const ptr = this.k.alloc(size);
    if (!ptr) throw new RangeError(`WebAssembly allocation of ${size} bytes failed`);
    if (zero) new Uint8Array(this.#mem(), ptr, size).fill(0);
    this.#live.set(ptr, size);
    this.#bytes += size;
    return ptr;
  }
  #release(ptr: number): void {
    const size = this.#live.get(ptr);
    if (size === undefined) throw new Error("Buffer was already freed or is foreign");
    this.#live.delete(ptr);
    this.#bytes -= size;
    this.k.free(ptr);
  }
  #scratchFor(bytes: number): number {
    if (bytes > this.#scratchBytes) {
      if (this.#scratch) this.#release(this.#scratch);
      this.#scratchBytes = Math.ceil(bytes * 1.25);
      this.#scratch = this.#alloc(this.#scratchBytes, false); // kernels write before they read
    }
    return this.#scratch;
  }
  #f32view(b: WasmF32): Float32Array {
    return new Float32Array(this.#mem(), b.ptr, b.length);
  }
  #check(b: F32 | I32, n: number, what: string): number {
    const w = b as AnyBuf;
    if (!(w instanceof WasmF32 || w instanceof WasmI32) || !this.#live.has(w.ptr)) {
      throw new TypeError(`${what}: not a live buffer of this backend`);
    }
    if (n > w.length) throw new RangeError(`${what}: needs ${n} elements, buffer has ${w.length}`);
    return w.ptr;
  }

  f32(init: number | ArrayLike<number>): F32 {
    const n = typeof init === "number" ? init : init.length;
    const b = new WasmF32(this.#alloc(n * 4), n);
    if (typeof init !== "number") this.#f32view(b).set(init);
    return b;
  }
  i32(init: number | ArrayLike<number>): I32 {
    const n = typeof init === "number" ? init : init.length;
    const b = new WasmI32(this.#alloc(n * 4), n);
    if (typeof init !== "number") new Int32Array(this.#mem(), b.ptr, n).set(init);
    return b;
  }
  read(buf: F32, offset = 0, length?: number): Float32Array {
    this.#check(buf, 0, "read");
    const end = length === undefined ? buf.length : offset + length;
    if (offset < 0 || end > buf.length || end < offset) {
      throw new RangeError(`read: range [${offset}, ${end}) outside a buffer of ${buf.length}`);
    }
    return this.#f32view(buf as WasmF32).slice(offset, end);
  }
  readI32(buf: I32): Int32Array {
    const p = this.#check(buf, 0, "readI32");
    return new Int32Array(this.#mem(), p, buf.length).slice();
  }
  write(buf: F32 | I32, data: ArrayLike<number>, offset = 0): void {
    const p = this.#check(buf, offset + data.length, "write");
    const View = buf.dtype === "f32" ? Float32Array : Int32Array;
    new View(this.#mem(), p + offset * 4, data.length).set(data);
  }
  copy(dst: F32, dstOffset: number, src: F32, srcOffset: number, n: number): void {
    const d = this.#check(dst, dstOffset + n, "copy dst");
    const s = this.#check(src, srcOffset + n, "copy src");
    const u8 = new Uint8Array(this.#mem());
    u8.copyWithin(d + dstOffset * 4, s + srcOffset * 4, s + (srcOffset + n) * 4);
  }
  fill(buf: F32, value: number): void {
    this.#check(buf, 0, "fill");
    this.#f32view(buf as WasmF32).fill(value);
  }
  f32FromQ8(q: Int8Array, scales: Float32Array, rows: number, cols: number): F32 {
    if (q.length !== rows * cols) {
      throw new RangeError(`f32FromQ8: expected ${rows * cols} weights, got ${q.length}`);
    }
    if (scales.length !== rows) {
      throw new RangeError(`f32FromQ8: expected ${rows} scales, got ${scales.length}`);
    }
    const out = new WasmF32(this.#alloc(rows * cols * 4, false), rows * cols);
    const qp = this.#alloc(q.length, false);
    const sp = this.#alloc(rows * 4, false);
    new Int8Array(this.#mem(), qp, q.length).set(q);
    new Float32Array(this.#mem(), sp, rows).set(scales);
    this.k.dequant_rows_i8(out.ptr, qp, sp, rows, cols);
    this.#release(qp);
    this.#release(sp);
    return out;
  }
  q8(q: Int8Array, scales: Float32Array, rows: number, cols: number): Q8Matrix {
    if (q.length !== rows * cols) {
      throw new RangeError(`q8: expected ${rows * cols} weights, got ${q.length}`);
    }
    if (scales.length !== rows) {
      throw new RangeError(`q8: expected ${rows} scales, got ${scales.length}`);
    }
    const packed = this.#alloc(this.k.q8_packed_bytes(rows, cols));
    const paddedRows = Math.ceil(rows / 8) * 8;
    const sp = this.#alloc(paddedRows * 4);
    new Float32Array(this.#mem(), sp, rows).set(scales);
    const tmp = this.#alloc(q.length, false); // overwritten right away
    new Int8Array(this.#mem(), tmp, q.length).set(q);
    this.k.q8_pack(packed, tmp, rows, cols);
    this.#release(tmp);
    return new WasmQ8(packed, sp, rows, cols);
  }
  free(buf: F32 | I32 | Q8Matrix): void {
    const b = buf as AnyBuf;
    if (b instanceof WasmQ8) {
      this.#release(b.packed);
      this.#release(b.scales);
    } else this.#release(b.ptr);
  }
  bytesInUse(): number {
    return this.#bytes;
  }
  memoryBytes(): number {
    return this.k.memory.buffer.byteLength;
  }

  // ── matrix products ────────────────────────────────────────────────────────
  matmulQ8(out: F32, x: F32, w: Q8Matrix, m: number): void {
    const wq = w as WasmQ8;
    if (!(wq instanceof WasmQ8) || !this.#live.has(wq.packed)) {
      throw new TypeError("matmulQ8: not a live matrix of this backend");
    }
    const o = this.#check(out, m * wq.rows, "matmulQ8 out");
    const xp = this.#check(x, m * wq.cols, "matmulQ8 x");
    const scratch = this.#scratchFor(this.k.q8_scratch_bytes(m, wq.cols));
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
    const o = this.#check(out, m * n, "matmul out");
    const ap = this.#check(a, m * k, "matmul a");
    const bp = this.#check(b, k * n, "matmul b");
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
      this.#scratchFor(this.k.matmul_f32_scratch_bytes(m, k, n)),
    );
  }

  // ── elementwise and row ops ────────────────────────────────────────────────
  add(out: F32, a: F32, b: F32, n: number): void {
    this.k.add_f32(
      this.#check(out, n, "add"),
      this.#check(a, n, "add"),
      this.#check(b, n, "add"),
      n,
    );
  }
  axpy(out: F32, x: F32, alpha: number, n: number): void {
    this.k.axpy_f32(this.#check(out, n, "axpy"), this.#check(x, n, "axpy"), alpha, n);
  }
  mul(out: F32, x: F32, y: F32, n: number): void {
    this.k.mul_f32(
      this.#check(out, n, "mul"),
      this.#check(x, n, "mul"),
      this.#check(y, n, "mul"),
      n,
    );
  }
  rmsnorm(out: F32, x: F32, weight: F32, rows: number, d: number, eps: number, invRms?: F32): void {
    this.k.rmsnorm_f32(
      this.#check(out, rows * d, "rmsnorm out"),
      this.#check(x, rows * d, "rmsnorm x"),
      this.#check(weight, d, "rmsnorm weight"),
      rows,
      d,
      eps,
      invRms ? this.#check(invRms, rows, "rmsnorm invRms") : 0,
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
      this.#check(dx, n, "rmsnormBackward dx"),
      this.#check(dweight, d, "rmsnormBackward dweight"),
      this.#check(dy, n, "rmsnormBackward dy"),
      this.#check(x, n, "rmsnormBackward x"),
      this.#check(weight, d, "rmsnormBackward weight"),
      rows,
      d,
      eps,
    );
  }
  softmax(out: F32, x: F32, rows: number, n: number): void {
    this.k.softmax_f32(
      this.#check(out, rows * n, "softmax"),
      this.#check(x, rows * n, "softmax"),
      rows,
      n,
    );
  }
  silu(out: F32, x: F32, n: number): void {
    this.k.silu_f32(this.#check(out, n, "silu"), this.#check(x, n, "silu"), n);
  }
  siluBackward(dx: F32, dy: F32, x: F32, n: number): void {
    this.k.silu_backward_f32(
      this.#check(dx, n, "siluBackward"),
      this.#check(dy, n, "siluBackward"),
      this.#check(x, n, "siluBackward"),
      n,
    );
  }
  gelu(out: F32, x: F32, n: number): void {
    this.k.gelu_f32(this.#check(out, n, "gelu"), this.#check(x, n, "gelu"), n);
  }
  geluBackward(dx: F32, dy: F32, x: F32, n: number): void {
    this.k.gelu_backward_f32(
      this.#check(dx, n, "geluBackward"),
      this.#check(dy, n, "geluBackward"),
      this.#check(x, n, "geluBackward"),
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
      this.#check(x, t * heads * headDim, "rope"),
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
      this.#check(out, count * d, "embedding out"),
      this.#check(table, 0, "embedding table"),
      this.#check(ids, count, "embedding ids"),
      count,
      d,
    );
  }
  embeddingBackward(dtable: F32, dout: F32, ids: I32, count: number, d: number): void {
    this.k.embedding_backward_f32(
      this.#check(dtable, 0, "embeddingBackward dtable"),
      this.#check(dout, count * d, "embeddingBackward dout"),
      this.#check(ids, count, "embeddingBackward ids"),
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
    const scratch = this.#scratchFor(
      this.k.attention_scratch_bytes(s.tq, s.tk, s.heads, s.headDim),
    );
    this.k.attention_f32(
      this.#check(out, s.tq * w, "attention out"),
      this.#check(q, s.tq * w, "attention q"),
      this.#check(k, s.tk * w, "attention k"),
      this.#check(v, s.tk * w, "attention v"),
      this.#check(keyLimit, s.tq, "attention keyLimit"),
      s.tq,
      s.tk,
      s.heads,
      s.headDim,
      probs ? this.#check(probs, s.heads * s.tq * s.tk, "attention probs") : 0,
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
    const scratch = this.#scratchFor(
      this.k.attention_backward_scratch_bytes(s.tq, s.tk, s.heads, s.headDim),
    );
    this.k.attention_backward_f32(
      this.#check(dq, s.tq * w, "attentionBackward dq"),
      this.#check(dk, s.tk * w, "attentionBackward dk"),
      this.#check(dv, s.tk * w, "attentionBackward dv"),
      this.#check(dout, s.tq * w, "attentionBackward dout"),
      this.#check(q, s.tq * w, "attentionBackward q"),
      this.#check(k, s.tk * w, "attentionBackward k"),
      this.#check(v, s.tk * w, "attentionBackward v"),
      this.#check(probs, s.heads * s.tq * s.tk, "attentionBackward probs"),
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
      this.#check(logits, rows * vocab, "crossEntropy logits"),
      this.#check(targets, rows, "crossEntropy targets"),
      rows,
      vocab,
      dlogits ? this.#check(dlogits, rows * vocab, "crossEntropy dlogits") : 0,
    );
  }

  // ── reversible coupling ────────────────────────────────────────────────────
  couple(out: F32, x: F32, f: F32, n: number, inverse: boolean): void {
    this.k.couple_f32(
      this.#check(out, n, "couple"),
      this.#check(x, n, "couple"),
      this.#check(f, n, "couple"),
      n,
      inverse ? 1 : 0,
    );
  }
  coupleFixed(out: I32, x: I32, f: F32, n: number, fracBits: number, inverse: boolean): void {
    this.k.couple_fixed(
      this.#check(out, n, "coupleFixed"),
      this.#check(x, n, "coupleFixed"),
      this.#check(f, n, "coupleFixed"),
      n,
      fracBits,
      inverse ? 1 : 0,
    );
  }
  fromFixed(out: F32, x: I32, n: number, fracBits: number): void {
    this.k.from_fixed(
      this.#check(out, n, "fromFixed"),
      this.#check(x, n, "fromFixed"),
      n,
      fracBits,
    );
  }
  toFixed(out: I32, x: F32, n: number, fracBits: number): void {
    this.k.to_fixed(this.#check(out, n, "toFixed"), this.#check(x, n, "toFixed"), n, fracBits);
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
      this.#check(param, n, "adamw param"),
      this.#check(grad, n, "adamw grad"),
      this.#check(m, n, "adamw m"),
      this.#check(v, n, "adamw v"),
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
