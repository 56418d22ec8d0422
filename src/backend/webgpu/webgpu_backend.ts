/**
 * The WebGPU backend, as the caller sees it: a synchronous {@link Backend} whose ops are queued
 * as commands for a GPU worker (`gpu_worker.ts`) and sent in batches; buffers stay on the GPU
 * between kernels, and only `read`/`readI32` wait (with `Atomics.wait`) for the worker to
 * answer through a `SharedArrayBuffer`. Inference ops run as WGSL kernels; the training-only
 * ops (backward passes, cross-entropy, AdamW) run on the host through the reference backend
 * (`host_training_ops.ts`).
 *
 * Not deterministic across machines (GPU floating point differs), so `R3Mem` never codes a
 * residual with it: see docs/ARCHITECTURE.md, "WebGPU".
 *
 * @module
 */
import type { AttentionShape, Backend, F32, I32, MatmulOptions, Q8Matrix } from "../backend.ts";
import type { Command, GpuInfo, ReadRequest } from "./protocol.ts";
import { GpuChannel } from "./gpu_channel.ts";
import { checkQ8, GpuF32, GpuI32, GpuQ8 } from "./gpu_handles.ts";
import { HostTrainingOps } from "./host_training_ops.ts";

/** Options of {@link createWebGpuBackend}. */
export interface WebGpuBackendOptions {
  /** Use WGSL's packed 4×int8 dot product where offered (default true). */
  packedDot?: boolean;
  /** Adapter power preference (default "high-performance"). */
  powerPreference?: "high-performance" | "low-power";
  /** Longest wait for one read, in milliseconds (default 120 000). */
  timeoutMs?: number;
}

/** A WebGPU {@link Backend}, with what it runs on and a way to stop its worker. */
export interface WebGpuBackend extends Backend {
  /** The adapter. */
  readonly info: GpuInfo;
  /** Waits until every queued op has run (for timing). */
  finish(): void;
  /** Destroys the device and stops the GPU worker; the backend is unusable afterwards. */
  close(): void;
  /** Stops the GPU worker after destroying the device (the safe way before a process exits). */
  shutdown(): Promise<void>;
}

/**
 * Starts a WebGPU backend: a worker that opens the adapter and device.
 *
 * @param options Packed dot product, power preference, read timeout.
 * @returns The backend.
 * @throws {Error} When WebGPU is unavailable (no `navigator.gpu`, no adapter, no shared memory);
 * the message says which.
 *
 * @example
 * ```ts ignore
 * import { createWebGpuBackend } from "./webgpu_backend.ts";
 * const be = await createWebGpuBackend(); // deno run --unstable-webgpu
 * const x = be.f32([1, 2, 3]);
 * be.axpy(x, x, 1, 3);
 * console.log(be.read(x)); // Float32Array [2, 4, 6]
 * be.close();
 * ```
 */
export async function createWebGpuBackend(
  options: WebGpuBackendOptions = {},
): Promise<WebGpuBackend> {
  if (!(navigator as { gpu?: unknown }).gpu) {
    throw new Error("WebGPU is unavailable: navigator.gpu is missing (Deno: --unstable-webgpu)");
  }
  if (typeof SharedArrayBuffer === "undefined") {
    throw new Error("WebGPU backend needs SharedArrayBuffer (cross-origin isolation in browsers)");
  }
  const init = {
    packedDot: options.packedDot ?? true,
    powerPreference: options.powerPreference ?? "high-performance",
  } as const;
  return new GpuBackend(await GpuChannel.open(init, options.timeoutMs ?? 120_000));
}

type Buf = GpuF32 | GpuI32 | GpuQ8;

// The training ops come from the base class, which reads and writes through this one.
class GpuBackend extends HostTrainingOps implements WebGpuBackend {
  readonly name = "webgpu";
  /** GPU floating point differs from machine to machine. */
  readonly deterministic = false;
  readonly #ch: GpuChannel;
  readonly #live = new Map<number, number>(); // id -> bytes
  #bytes = 0;
  #nextId = 1;

  constructor(channel: GpuChannel) {
    super();
    this.#ch = channel;
  }

  get info(): GpuInfo {
    return this.#ch.info;
  }
  #push(c: Command): void {
    this.#ch.push(c);
  }
  #sync(read: ReadRequest): Uint32Array {
    return this.#ch.read(read);
  }
  finish(): void {
    const probe = this.#alloc(1, "i32") as GpuI32;
    this.#sync({ id: probe.id, offset: 0, length: 0 });
    this.free(probe);
  }
  close(): void {
    this.#ch.close();
  }
  shutdown(): Promise<void> {
    return this.#ch.shutdown();
  }

  // ── buffers ────────────────────────────────────────────────────────────────
  #alloc(n: number, dtype: "f32" | "i32"): GpuF32 | GpuI32 {
    const id = this.#nextId++;
    this.#push(["alloc", id, n]);
    this.#live.set(id, Math.max(16, n * 4));
    this.#bytes += Math.max(16, n * 4);
    return dtype === "f32" ? new GpuF32(id, n) : new GpuI32(id, n);
  }
  #check(b: F32 | I32, n: number, what: string): number {
    const g = b as Buf;
    if (!(g instanceof GpuF32 || g instanceof GpuI32) || !this.#live.has(g.id)) {
      throw new TypeError(`${what}: not a live buffer of this backend`);
    }
    if (n > g.length) throw new RangeError(`${what}: needs ${n} elements, buffer has ${g.length}`);
    return g.id;
  }
  f32(init: number | ArrayLike<number>): F32 {
    const n = typeof init === "number" ? init : init.length;
    const b = this.#alloc(n, "f32") as GpuF32;
    if (typeof init !== "number" && n > 0) this.write(b, init);
    return b;
  }
  i32(init: number | ArrayLike<number>): I32 {
    const n = typeof init === "number" ? init : init.length;
    const b = this.#alloc(n, "i32") as GpuI32;
    if (typeof init !== "number" && n > 0) this.write(b, init);
    return b;
  }
  read(buf: F32, offset = 0, length?: number): Float32Array {
    const id = this.#check(buf, 0, "read");
    const end = length === undefined ? buf.length : offset + length;
    if (offset < 0 || end > buf.length || end < offset) {
      throw new RangeError(`read: range [${offset}, ${end}) outside a buffer of ${buf.length}`);
    }
    const words = this.#sync({ id, offset, length: end - offset });
    return new Float32Array(words.buffer, words.byteOffset, words.length);
  }
  readI32(buf: I32): Int32Array {
    const words = this.#sync({ id: this.#check(buf, 0, "readI32"), offset: 0, length: buf.length });
    return new Int32Array(words.buffer, words.byteOffset, words.length);
  }
  write(buf: F32 | I32, data: ArrayLike<number>, offset = 0): void {
    const id = this.#check(buf, offset + data.length, "write");
    if (data.length === 0) return;
    const copy = buf.dtype === "f32" ? Float32Array.from(data) : Int32Array.from(data);
    this.#push(["write", id, offset, copy]);
  }
  copy(dst: F32, dstOffset: number, src: F32, srcOffset: number, n: number): void {
    const d = this.#check(dst, dstOffset + n, "copy dst");
    const s = this.#check(src, srcOffset + n, "copy src");
    this.#push(["copy", d, dstOffset, s, srcOffset, n]);
  }
  fill(buf: F32, value: number): void {
    this.#push(["fill", this.#check(buf, 0, "fill"), buf.length, value]);
  }
  q8(q: Int8Array, scales: Float32Array, rows: number, cols: number): Q8Matrix {
    checkQ8(q, scales, rows, cols, "q8");
    const k4 = Math.ceil(cols / 4);
    // Word c of every row together (`[k4, rows]`): the threads of a workgroup, one output
    // channel each, then read consecutive words. Rows are zero-padded to whole words.
    const bytes = new Int8Array(rows * k4 * 4);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) bytes[((c >> 2) * rows + r) * 4 + (c & 3)] = q[r * cols + c];
    }
    const id = this.#nextId++;
    this.#push(["q8", id, new Uint32Array(bytes.buffer), scales.slice(), rows, cols]);
    const size = bytes.byteLength + scales.byteLength;
    this.#live.set(id, size);
    this.#bytes += size;
    return new GpuQ8(id, rows, cols);
  }
  f32FromQ8(q: Int8Array, scales: Float32Array, rows: number, cols: number): F32 {
    checkQ8(q, scales, rows, cols, "f32FromQ8");
    const out = new Float32Array(rows * cols);
    // int8 × f32 is exact in float64: storing rounds once, as every backend does
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) out[r * cols + c] = q[r * cols + c] * scales[r];
    }
    return this.f32(out);
  }
  free(buf: F32 | I32 | Q8Matrix): void {
    const b = buf as Buf;
    const size = this.#live.get(b.id);
    if (!(b instanceof GpuF32 || b instanceof GpuI32 || b instanceof GpuQ8) || size === undefined) {
      throw new Error("Buffer was already freed or is foreign");
    }
    this.#live.delete(b.id);
    this.#bytes -= size;
    if (!this.#ch.closed) this.#push(["free", b.id]);
  }
  bytesInUse(): number {
    return this.#bytes;
  }

  // ── GPU ops ────────────────────────────────────────────────────────────────
  matmulQ8(out: F32, x: F32, w: Q8Matrix, m: number): void {
    const g = w as GpuQ8;
    if (!(g instanceof GpuQ8) || !this.#live.has(g.id)) {
      throw new TypeError("matmulQ8: not a live matrix of this backend");
    }
    const o = this.#check(out, m * g.rows, "matmulQ8 out");
    this.#push(["matmulQ8", o, this.#check(x, m * g.cols, "matmulQ8 x"), g.id, m]);
  }
  matmul(out: F32, a: F32, b: F32, m: number, k: number, n: number, o: MatmulOptions = {}): void {
    const ids = [
      this.#check(out, m * n, "matmul out"),
      this.#check(a, m * k, "matmul a"),
      this.#check(b, k * n, "matmul b"),
    ] as const;
    const flags = [o.transA ? 1 : 0, o.transB ? 1 : 0, o.accumulate ? 1 : 0] as const;
    this.#push(["matmul", ...ids, m, k, n, ...flags]);
  }
  add(out: F32, a: F32, b: F32, n: number): void {
    const ids = [this.#check(out, n, "add"), this.#check(a, n, "add"), this.#check(b, n, "add")];
    this.#push(["binary", "add", ids[0], ids[1], ids[2], n]);
  }
  mul(out: F32, x: F32, y: F32, n: number): void {
    const ids = [this.#check(out, n, "mul"), this.#check(x, n, "mul"), this.#check(y, n, "mul")];
    this.#push(["binary", "mul", ids[0], ids[1], ids[2], n]);
  }
  axpy(out: F32, x: F32, alpha: number, n: number): void {
    this.#push(["axpy", this.#check(out, n, "axpy"), this.#check(x, n, "axpy"), alpha, n]);
  }
  silu(out: F32, x: F32, n: number): void {
    this.#push(["unary", "silu", this.#check(out, n, "silu"), this.#check(x, n, "silu"), n]);
  }
  gelu(out: F32, x: F32, n: number): void {
    this.#push(["unary", "gelu", this.#check(out, n, "gelu"), this.#check(x, n, "gelu"), n]);
  }
  rmsnorm(out: F32, x: F32, weight: F32, rows: number, d: number, eps: number, invRms?: F32): void {
    this.#push([
      "rmsnorm",
      this.#check(out, rows * d, "rmsnorm out"),
      this.#check(x, rows * d, "rmsnorm x"),
      this.#check(weight, d, "rmsnorm weight"),
      invRms ? this.#check(invRms, rows, "rmsnorm invRms") : -1,
      rows,
      d,
      eps,
    ]);
  }
  softmax(out: F32, x: F32, rows: number, n: number): void {
    const o = this.#check(out, rows * n, "softmax");
    this.#push(["softmax", o, this.#check(x, rows * n, "softmax"), rows, n]);
  }
  rope(
    x: F32,
    t: number,
    heads: number,
    hd: number,
    pos0: number,
    theta: number,
    inv = false,
  ): void {
    if (hd % 2) throw new RangeError(`rope: headDim must be even, got ${hd}`);
    const id = this.#check(x, t * heads * hd, "rope");
    this.#push(["rope", id, t, heads, hd, pos0, theta, inv ? 1 : 0]);
  }
  embedding(out: F32, table: F32, ids: I32, count: number, d: number): void {
    this.#push([
      "embedding",
      this.#check(out, count * d, "embedding out"),
      this.#check(table, 0, "embedding table"),
      this.#check(ids, count, "embedding ids"),
      count,
      d,
    ]);
  }
  attention(out: F32, q: F32, k: F32, v: F32, lim: I32, s: AttentionShape, probs?: F32): void {
    const w = s.heads * s.headDim;
    this.#push([
      "attention",
      this.#check(out, s.tq * w, "attention out"),
      this.#check(q, s.tq * w, "attention q"),
      this.#check(k, s.tk * w, "attention k"),
      this.#check(v, s.tk * w, "attention v"),
      this.#check(lim, s.tq, "attention keyLimit"),
      probs ? this.#check(probs, s.heads * s.tq * s.tk, "attention probs") : -1,
      s.tq,
      s.tk,
      s.heads,
      s.headDim,
    ]);
  }
  couple(out: F32, x: F32, f: F32, n: number, inverse: boolean): void {
    const ids = [this.#check(out, n, "couple"), this.#check(x, n, "couple")] as const;
    this.#push(["couple", ...ids, this.#check(f, n, "couple"), n, inverse ? 1 : 0]);
  }
  coupleFixed(out: I32, x: I32, f: F32, n: number, fracBits: number, inverse: boolean): void {
    const ids = [this.#check(out, n, "coupleFixed"), this.#check(x, n, "coupleFixed")] as const;
    const fid = this.#check(f, n, "coupleFixed");
    this.#push(["coupleFixed", ...ids, fid, n, fracBits, inverse ? 1 : 0]);
  }
  toFixed(out: I32, x: F32, n: number, fracBits: number): void {
    const ids = [this.#check(out, n, "toFixed"), this.#check(x, n, "toFixed")] as const;
    this.#push(["toFixed", ...ids, n, fracBits]);
  }
  fromFixed(out: F32, x: I32, n: number, fracBits: number): void {
    const ids = [this.#check(out, n, "fromFixed"), this.#check(x, n, "fromFixed")] as const;
    this.#push(["fromFixed", ...ids, n, fracBits]);
  }
}
