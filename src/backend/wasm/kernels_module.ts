/**
 * The one module that touches the WebAssembly kernels: loads `r3mem_kernels.wasm` and describes
 * its exports. Nothing else imports the binary. The module imports only AssemblyScript's
 * `env.abort`, so it is instantiated directly (no loader package): the library has no
 * dependencies and loads wherever it is served from (a file, JSR, any HTTP server, Node.js).
 *
 * @module
 */
import { readUrl } from "../../local_file.ts";

type Ptr = number;

/** The raw exports of the kernel module (pointers are byte offsets into `memory`). */
export interface KernelExports {
  memory: WebAssembly.Memory;
  alloc(bytes: number): Ptr;
  free(ptr: Ptr): void;
  // matmul
  q8_packed_bytes(n: number, k: number): number;
  q8_pack(dst: Ptr, src: Ptr, n: number, k: number): void;
  dequant_rows_i8(out: Ptr, q: Ptr, scales: Ptr, rows: number, cols: number): void;
  q8_scratch_bytes(m: number, k: number): number;
  matmul_q8_f32(
    out: Ptr,
    x: Ptr,
    wp: Ptr,
    sw: Ptr,
    m: number,
    k: number,
    n: number,
    scratch: Ptr,
    relaxed: number,
  ): void;
  matmul_f32(
    out: Ptr,
    a: Ptr,
    b: Ptr,
    m: number,
    k: number,
    n: number,
    transA: number,
    transB: number,
    accumulate: number,
    fast: number,
    scratch: Ptr,
  ): void;
  matmul_f32_scratch_bytes(m: number, k: number, n: number): number;
  // elementwise / rows
  add_f32(out: Ptr, a: Ptr, b: Ptr, n: number): void;
  axpy_f32(out: Ptr, x: Ptr, alpha: number, n: number): void;
  mul_f32(out: Ptr, x: Ptr, y: Ptr, n: number): void;
  rmsnorm_f32(out: Ptr, x: Ptr, w: Ptr, rows: number, d: number, eps: number, invRms: Ptr): void;
  rmsnorm_backward_f32(
    dx: Ptr,
    dw: Ptr,
    dy: Ptr,
    x: Ptr,
    w: Ptr,
    rows: number,
    d: number,
    eps: number,
  ): void;
  softmax_f32(out: Ptr, x: Ptr, rows: number, n: number): void;
  silu_f32(out: Ptr, x: Ptr, n: number): void;
  silu_backward_f32(dx: Ptr, dy: Ptr, x: Ptr, n: number): void;
  gelu_f32(out: Ptr, x: Ptr, n: number): void;
  gelu_backward_f32(dx: Ptr, dy: Ptr, x: Ptr, n: number): void;
  rope_f32(
    x: Ptr,
    t: number,
    heads: number,
    headDim: number,
    pos0: number,
    theta: number,
    inverse: number,
  ): void;
  embedding_f32(out: Ptr, table: Ptr, ids: Ptr, count: number, d: number): void;
  embedding_backward_f32(dtable: Ptr, dout: Ptr, ids: Ptr, count: number, d: number): void;
  attention_f32(
    out: Ptr,
    q: Ptr,
    k: Ptr,
    v: Ptr,
    keyLimit: Ptr,
    tq: number,
    tk: number,
    heads: number,
    headDim: number,
    probs: Ptr,
    scratch: Ptr,
  ): void;
  attention_scratch_bytes(tq: number, tk: number, heads: number, headDim: number): number;
  attention_backward_f32(
    dq: Ptr,
    dk: Ptr,
    dv: Ptr,
    dout: Ptr,
    q: Ptr,
    k: Ptr,
    v: Ptr,
    probs: Ptr,
    tq: number,
    tk: number,
    heads: number,
    headDim: number,
    scratch: Ptr,
  ): void;
  attention_backward_scratch_bytes(tq: number, tk: number, heads: number, headDim: number): number;
  cross_entropy_f32(logits: Ptr, targets: Ptr, rows: number, vocab: number, dlogits: Ptr): number;
  couple_f32(out: Ptr, x: Ptr, f: Ptr, n: number, inverse: number): void;
  couple_fixed(out: Ptr, x: Ptr, f: Ptr, n: number, fracBits: number, inverse: number): void;
  from_fixed(out: Ptr, x: Ptr, n: number, fracBits: number): void;
  to_fixed(out: Ptr, x: Ptr, n: number, fracBits: number): void;
  adamw_f32(
    param: Ptr,
    grad: Ptr,
    m: Ptr,
    v: Ptr,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
  ): void;
}

/** Which build of the kernels: with relaxed SIMD, or SIMD only. */
export type KernelVariant = "relaxed" | "portable";

/** URLs of the committed kernel binaries, next to this file. */
export const KERNELS_URLS: Record<KernelVariant, URL> = {
  relaxed: new URL("./r3mem_kernels.wasm", import.meta.url),
  portable: new URL("./r3mem_kernels_portable.wasm", import.meta.url),
};

/** The relaxed build's URL (the default). */
export const KERNELS_URL: URL = KERNELS_URLS.relaxed;

async function readBinary(url: URL): Promise<Uint8Array> {
  try {
    return await readUrl(url);
  } catch (e) {
    throw new Error(`Cannot load kernels from ${url}: ${e instanceof Error ? e.message : e}`, {
      cause: e,
    });
  }
}

/** `env.abort` for an AssemblyScript module: its message and file, thrown as an `Error`. */
function abortImport(memory: () => WebAssembly.Memory | undefined) {
  // An AssemblyScript string is UTF-16 code units with its byte length in the u32 before it.
  const text = (ptr: number): string => {
    const mem = memory();
    if (!mem || ptr < 4 || ptr > mem.buffer.byteLength) return "?";
    const bytes = new DataView(mem.buffer).getUint32(ptr - 4, true);
    if (ptr + bytes > mem.buffer.byteLength) return "?";
    return new TextDecoder("utf-16le").decode(new Uint8Array(mem.buffer, ptr, bytes));
  };
  return (msg: number, file: number, line: number, column: number): never => {
    throw new Error(`Kernel abort: ${text(msg)} at ${text(file)}:${line}:${column}`);
  };
}

/** The kernels, and which build they are. */
export type LoadedKernels = KernelExports & { variant: KernelVariant };

/**
 * Instantiates the kernel module (a fresh instance with its own memory on every call). By
 * default the relaxed-SIMD build, or the portable build where the engine does not accept it
 * (Node 20, engines without relaxed SIMD); both compute identical int8 products.
 *
 * @param source A binary or URL (reported as `"relaxed"`: a portable binary simply has no
 *   relaxed code to run), or which committed build (default `"auto"`: the best the engine takes).
 */
export async function loadKernels(
  source: URL | Uint8Array | KernelVariant | "auto" = "auto",
): Promise<LoadedKernels> {
  let bytes: Uint8Array;
  let variant: KernelVariant = "relaxed";
  if (source instanceof Uint8Array) bytes = source;
  else if (source instanceof URL) bytes = await readBinary(source);
  else {
    variant = source === "auto" ? "relaxed" : source;
    bytes = await readBinary(KERNELS_URLS[variant]);
    if (source === "auto" && !WebAssembly.validate(bytes as BufferSource)) {
      variant = "portable";
      bytes = await readBinary(KERNELS_URLS.portable);
    }
  }
  const module: { exports?: KernelExports } = {};
  const imports = { env: { abort: abortImport(() => module.exports?.memory) } };
  const { instance } = await WebAssembly.instantiate(bytes as BufferSource, imports);
  module.exports = instance.exports as unknown as KernelExports;
  return { ...module.exports, variant };
}
