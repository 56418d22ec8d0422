/**
 * The reference backend: every op of {@link Backend} in plain, readable TypeScript over typed
 * arrays. It is the yardstick the WebAssembly (and any future) kernels are tested against, and a
 * fallback where WebAssembly SIMD is missing.
 *
 * Arithmetic is done in float64 and rounded to float32 when stored, except `matmulQ8`, which
 * follows the int8 kernel's rule exactly (f32 rounding at each step) so the two agree bit for
 * bit.
 *
 * Buffers live in this file (`reference/handles.ts` holds their classes); the ops are plain
 * functions, one family per file as in the WebGPU backend: matrix products (`matmul.ts`), row
 * ops and the loss (`rows.ts`), attention (`attention.ts`), elementwise ops, couplings and
 * AdamW (`elementwise.ts`), and WebAssembly's rounding rules (`rounding.ts`).
 *
 * @module
 */
import type { Backend, F32, I32, Q8Matrix } from "./backend.ts";
import { attention, attentionBackward } from "./reference/attention.ts";
import {
  adamw,
  add,
  axpy,
  couple,
  coupleFixed,
  fromFixed,
  gelu,
  geluBackward,
  mul,
  silu,
  siluBackward,
  toFixed,
} from "./reference/elementwise.ts";
import { checkQ8Shape, f32Of, i32Of, RefF32, RefI32, RefQ8 } from "./reference/handles.ts";
import { matmul, matmulQ8 } from "./reference/matmul.ts";
import {
  crossEntropy,
  embedding,
  embeddingBackward,
  rmsnorm,
  rmsnormBackward,
  rope,
  softmax,
} from "./reference/rows.ts";

/** The reference backend: buffers here, every op a function of `reference/` over their arrays. */
class ReferenceBackend implements Backend {
  readonly name = "reference";
  /** Plain JavaScript arithmetic in a fixed order: repeatable within one engine. */
  readonly deterministic = true;
  #bytes = 0;

  // ── buffers ────────────────────────────────────────────────────────────────
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
    const data = f32Of(buf, 0, "read");
    const end = length === undefined ? data.length : offset + length;
    if (offset < 0 || end > data.length || end < offset) {
      throw new RangeError(`read: range [${offset}, ${end}) outside a buffer of ${data.length}`);
    }
    return data.slice(offset, end);
  }
  readI32(buf: I32): Int32Array {
    return i32Of(buf, 0, "readI32").slice();
  }
  write(buf: F32 | I32, data: ArrayLike<number>, offset = 0): void {
    const n = offset + data.length;
    const dst = buf.dtype === "f32" ? f32Of(buf, n, "write") : i32Of(buf, n, "write");
    dst.set(data, offset);
  }
  copy(dst: F32, dstOffset: number, src: F32, srcOffset: number, n: number): void {
    const d = f32Of(dst, dstOffset + n, "copy dst");
    const s = f32Of(src, srcOffset + n, "copy src");
    d.set(s.subarray(srcOffset, srcOffset + n), dstOffset); // overlap-safe
  }
  fill(buf: F32, value: number): void {
    f32Of(buf, 0, "fill").fill(value);
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

  // ── ops, one family per file ───────────────────────────────────────────────
  readonly matmulQ8: Backend["matmulQ8"] = matmulQ8;
  readonly matmul: Backend["matmul"] = matmul;
  readonly add: Backend["add"] = add;
  readonly axpy: Backend["axpy"] = axpy;
  readonly mul: Backend["mul"] = mul;
  readonly rmsnorm: Backend["rmsnorm"] = rmsnorm;
  readonly rmsnormBackward: Backend["rmsnormBackward"] = rmsnormBackward;
  readonly softmax: Backend["softmax"] = softmax;
  readonly silu: Backend["silu"] = silu;
  readonly siluBackward: Backend["siluBackward"] = siluBackward;
  readonly gelu: Backend["gelu"] = gelu;
  readonly geluBackward: Backend["geluBackward"] = geluBackward;
  readonly rope: Backend["rope"] = rope;
  readonly embedding: Backend["embedding"] = embedding;
  readonly embeddingBackward: Backend["embeddingBackward"] = embeddingBackward;
  readonly attention: Backend["attention"] = attention;
  readonly attentionBackward: Backend["attentionBackward"] = attentionBackward;
  readonly crossEntropy: Backend["crossEntropy"] = crossEntropy;
  readonly couple: Backend["couple"] = couple;
  readonly coupleFixed: Backend["coupleFixed"] = coupleFixed;
  readonly fromFixed: Backend["fromFixed"] = fromFixed;
  readonly toFixed: Backend["toFixed"] = toFixed;
  readonly adamw: Backend["adamw"] = adamw;
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
