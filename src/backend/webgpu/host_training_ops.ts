/**
 * The training ops of a backend without kernels for them (the WebGPU backend): backward passes,
 * cross-entropy and AdamW run on the host through the reference backend, on copies of the
 * buffers read from the device, and the outputs are written back. Correct, not fast: training
 * stays on WebAssembly.
 *
 * @module
 */
import type { AttentionShape, Backend, F32, I32 } from "../backend.ts";
import { createReferenceBackend } from "../reference.ts";

/** The ops {@link HostTrainingOps} runs on the host. */
export type TrainingOps = Pick<
  Backend,
  | "rmsnormBackward"
  | "siluBackward"
  | "geluBackward"
  | "embeddingBackward"
  | "attentionBackward"
  | "crossEntropy"
  | "adamw"
>;

/** The first five elements as a tuple (spread into a five-argument call). */
function fill5<T>(b: T[]): [T, T, T, T, T] {
  return [b[0], b[1], b[2], b[3], b[4]];
}

/**
 * A backend's training ops, run on the host: a subclass gives the reads and writes of its own
 * buffers, this class the ops (on a reference backend created on first use).
 *
 * @example
 * ```ts
 * import { createReferenceBackend } from "../reference.ts";
 * import type { F32, I32 } from "../backend.ts";
 * import { HostTrainingOps } from "./host_training_ops.ts";
 * const device = createReferenceBackend(); // stands in for a GPU backend's buffers
 * class Ops extends HostTrainingOps {
 *   read(b: F32) { return device.read(b); }
 *   readI32(b: I32) { return device.readI32(b); }
 *   write(b: F32 | I32, data: ArrayLike<number>) { device.write(b, data); }
 * }
 * const dx = device.f32(2), dy = device.f32([1, 1]), x = device.f32([0, 0]);
 * new Ops().siluBackward(dx, dy, x, 2);
 * console.log(device.read(dx)); // Float32Array [0.5, 0.5]
 * ```
 */
export abstract class HostTrainingOps implements TrainingOps {
  #host: Backend | null = null;

  /** Reads an f32 buffer (all of it, or `length` elements from `offset`). */
  abstract read(buf: F32, offset?: number, length?: number): Float32Array;
  /** Reads an i32 buffer. */
  abstract readI32(buf: I32): Int32Array;
  /** Writes `data` into a buffer from `offset`. */
  abstract write(buf: F32 | I32, data: ArrayLike<number>, offset?: number): void;

  // Reads the buffers, runs `op` on reference copies, writes back the ones listed as outputs.
  // (`never[]`: each op knows which of its arguments are f32 and which i32.)
  #onHost<R>(bufs: (F32 | I32)[], outputs: number[], op: (h: Backend, b: never[]) => R): R {
    const h = this.#host ??= createReferenceBackend();
    const copies = bufs.map((b) =>
      b.dtype === "f32" ? h.f32(this.read(b)) : h.i32(this.readI32(b))
    );
    const r = op(h, copies as never[]);
    for (const i of outputs) {
      const c = copies[i];
      this.write(bufs[i], c.dtype === "f32" ? h.read(c) : h.readI32(c));
    }
    for (const c of copies) h.free(c);
    return r;
  }
  rmsnormBackward(
    dx: F32,
    dw: F32,
    dy: F32,
    x: F32,
    w: F32,
    rows: number,
    d: number,
    eps: number,
  ): void {
    this.#onHost(
      [dx, dw, dy, x, w],
      [0, 1],
      (h, b) => h.rmsnormBackward(...fill5(b), rows, d, eps),
    );
  }
  siluBackward(dx: F32, dy: F32, x: F32, n: number): void {
    this.#onHost([dx, dy, x], [0], (h, [a, b, c]) => h.siluBackward(a, b, c, n));
  }
  geluBackward(dx: F32, dy: F32, x: F32, n: number): void {
    this.#onHost([dx, dy, x], [0], (h, [a, b, c]) => h.geluBackward(a, b, c, n));
  }
  embeddingBackward(dtable: F32, dout: F32, ids: I32, count: number, d: number): void {
    this.#onHost(
      [dtable, dout, ids],
      [0],
      (h, [a, b, c]) => h.embeddingBackward(a, b, c, count, d),
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
    this.#onHost(
      [dq, dk, dv, dout, q, k, v, probs],
      [0, 1, 2],
      (h, b) => h.attentionBackward(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], s),
    );
  }
  crossEntropy(logits: F32, targets: I32, rows: number, vocab: number, dlogits?: F32): number {
    const bufs = dlogits ? [logits, targets, dlogits] : [logits, targets];
    return this.#onHost(
      bufs,
      dlogits ? [2] : [],
      (h, b) => h.crossEntropy(b[0], b[1], rows, vocab, b[2]),
    );
  }
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
    wd: number,
    step: number,
  ): void {
    this.#onHost(
      [param, grad, m, v],
      [0, 2, 3],
      (h, b) => h.adamw(b[0], b[1], b[2], b[3], n, lr, beta1, beta2, eps, wd, step),
    );
  }
}
