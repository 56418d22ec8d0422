/**
 * Messages between the WebGPU backend (the caller's thread) and its GPU worker. Ops are queued
 * as commands and sent in batches; a batch that ends in a read is answered through a
 * `SharedArrayBuffer` the caller waits on with `Atomics.wait`, which is how a synchronous
 * `Backend` (`read` returns the numbers) runs on an API whose reads are asynchronous.
 *
 * @module
 */
/** One queued op: its name, then buffer ids and scalars. Data travels as typed arrays. */
export type Command =
  | ["alloc", id: number, elements: number]
  | ["write", id: number, offset: number, data: Float32Array<ArrayBuffer> | Int32Array<ArrayBuffer>]
  | [
    "q8",
    id: number,
    words: Uint32Array<ArrayBuffer>,
    scales: Float32Array<ArrayBuffer>,
    rows: number,
    cols: number,
  ]
  | ["free", id: number]
  | ["copy", dst: number, dstOffset: number, src: number, srcOffset: number, n: number]
  | ["fill", id: number, n: number, value: number]
  | ["matmulQ8", out: number, x: number, w: number, m: number]
  | [
    "matmul",
    out: number,
    a: number,
    b: number,
    m: number,
    k: number,
    n: number,
    transA: number,
    transB: number,
    accumulate: number,
  ]
  | ["binary", op: "add" | "mul", out: number, a: number, b: number, n: number]
  | ["axpy", out: number, x: number, alpha: number, n: number]
  | ["unary", op: "silu" | "gelu", out: number, x: number, n: number]
  | [
    "rmsnorm",
    out: number,
    x: number,
    w: number,
    inv: number,
    rows: number,
    d: number,
    eps: number,
  ]
  | ["softmax", out: number, x: number, rows: number, n: number]
  | [
    "rope",
    x: number,
    t: number,
    heads: number,
    headDim: number,
    pos0: number,
    theta: number,
    inverse: number,
  ]
  | ["embedding", out: number, table: number, ids: number, count: number, d: number]
  | [
    "attention",
    out: number,
    q: number,
    k: number,
    v: number,
    keyLimit: number,
    probs: number,
    tq: number,
    tk: number,
    heads: number,
    headDim: number,
  ]
  | ["couple", out: number, x: number, f: number, n: number, inverse: number]
  | [
    "coupleFixed",
    out: number,
    x: number,
    f: number,
    n: number,
    fracBits: number,
    inverse: number,
  ]
  | ["toFixed", out: number, x: number, n: number, fracBits: number]
  | ["fromFixed", out: number, x: number, n: number, fracBits: number];

/** A read at the end of a batch: `length` 4-byte elements of buffer `id` from `offset`. */
export interface ReadRequest {
  id: number;
  offset: number;
  length: number;
}

/** Options of the worker's device. */
export interface GpuInit {
  /** Use `dot4I8Packed` when offered (default true); false forces the unpacked path. */
  packedDot: boolean;
  /** Adapter power preference. */
  powerPreference: "high-performance" | "low-power";
}

/** What the worker reports about its adapter once the device is up. */
export interface GpuInfo {
  /** The adapter's description (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"). */
  description: string;
  /** Vendor and architecture strings, as the adapter gives them. */
  vendor: string;
  architecture: string;
  /** The adapter says it is a fallback (software) adapter. */
  isFallbackAdapter: boolean;
  /** The WGSL packed 4×int8 dot product runs (`packed_4x8_integer_dot_product`). */
  packedDot: boolean;
  /** Adapter features (e.g. "timestamp-query", "shader-f16"). */
  features: string[];
}

/** Caller → worker. */
export type ToGpuWorker =
  | { type: "init"; ctrl: SharedArrayBuffer; data: SharedArrayBuffer; init: GpuInit }
  | { type: "batch"; cmds: Command[]; read?: ReadRequest; data?: SharedArrayBuffer }
  | { type: "close" };

/** Worker → caller (only during start-up; batches answer through the shared buffer). */
export type FromGpuWorker =
  | { type: "ready"; info: GpuInfo }
  | { type: "init_error"; message: string };

/** Control words of the shared buffer. */
export const CTRL_STATE = 0;
/** Elements (or, for an error, UTF-8 bytes of the message) in the data buffer. */
export const CTRL_LENGTH = 1;
/** States of {@link CTRL_STATE}. */
export const STATE_PENDING = 0, STATE_DONE = 1, STATE_ERROR = 2, STATE_CLOSED = 3;
