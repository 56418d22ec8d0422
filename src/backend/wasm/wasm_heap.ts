/**
 * The WebAssembly backend's memory: buffer handles as pointers into the kernel module's linear
 * memory, allocation through the module's TLSF heap (`alloc` / `free` exports), the one
 * grow-only scratch area the kernels share, and the checks that turn a handle back into its
 * pointer. Only this module and `wasm_backend.ts` touch the memory.
 *
 * @module
 */
import type { F32, I32, Q8Matrix } from "../backend.ts";
import type { LoadedKernels } from "./kernels_module.ts";

/** An f32 buffer: `length` floats at `ptr`. */
export class WasmF32 implements F32 {
  readonly dtype = "f32" as const;
  constructor(readonly ptr: number, readonly length: number) {}
}
/** An i32 buffer: `length` integers at `ptr`. */
export class WasmI32 implements I32 {
  readonly dtype = "i32" as const;
  constructor(readonly ptr: number, readonly length: number) {}
}
/** An int8 matrix packed for the kernels, with its scales (padded to 8 rows). */
export class WasmQ8 implements Q8Matrix {
  readonly dtype = "q8" as const;
  constructor(
    readonly packed: number,
    readonly scales: number,
    readonly rows: number,
    readonly cols: number,
  ) {}
}
type AnyBuf = WasmF32 | WasmI32 | WasmQ8;

/**
 * Buffers in the kernel module's memory: allocation, release, the scratch area and the buffer
 * ops of the backend seam (create, read, write, copy, fill, free).
 */
export class WasmHeap {
  #live = new Map<number, number>(); // ptr -> bytes
  #bytes = 0;
  #scratch = 0;
  #scratchBytes = 0;

  constructor(private readonly k: LoadedKernels) {}

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
  /** The scratch area, grown (never shrunk) to at least `bytes`. */
  scratchFor(bytes: number): number {
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
  /** The pointer of a live f32 or i32 buffer of this heap with at least `n` elements. */
  check(b: F32 | I32, n: number, what: string): number {
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
    this.check(buf, 0, "read");
    const end = length === undefined ? buf.length : offset + length;
    if (offset < 0 || end > buf.length || end < offset) {
      throw new RangeError(`read: range [${offset}, ${end}) outside a buffer of ${buf.length}`);
    }
    return this.#f32view(buf as WasmF32).slice(offset, end);
  }
  readI32(buf: I32): Int32Array {
    const p = this.check(buf, 0, "readI32");
    return new Int32Array(this.#mem(), p, buf.length).slice();
  }
  write(buf: F32 | I32, data: ArrayLike<number>, offset = 0): void {
    const p = this.check(buf, offset + data.length, "write");
    const View = buf.dtype === "f32" ? Float32Array : Int32Array;
    new View(this.#mem(), p + offset * 4, data.length).set(data);
  }
  copy(dst: F32, dstOffset: number, src: F32, srcOffset: number, n: number): void {
    const d = this.check(dst, dstOffset + n, "copy dst");
    const s = this.check(src, srcOffset + n, "copy src");
    const u8 = new Uint8Array(this.#mem());
    u8.copyWithin(d + dstOffset * 4, s + srcOffset * 4, s + (srcOffset + n) * 4);
  }
  fill(buf: F32, value: number): void {
    this.check(buf, 0, "fill");
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
  /** Bytes held by live buffers and the scratch area. */
  bytesInUse(): number {
    return this.#bytes;
  }
  /** Whether `ptr` is a live allocation. */
  isLive(ptr: number): boolean {
    return this.#live.has(ptr);
  }
}
