/**
 * Which backend runs the model: `R3Mem.load({ backend: "auto" })` asks here. WebGPU is used
 * only when `navigator.gpu` gives an adapter that is not a software rasterizer, passes a short
 * self-test against the reference kernels, and runs a model-shaped workload faster than the
 * WebAssembly kernels; otherwise WebAssembly, with the reason.
 *
 * @module
 */
import type { Backend, F32, I32, Q8Matrix } from "../backend.ts";
import { createReferenceBackend } from "../reference.ts";
import type { GpuInfo } from "./protocol.ts";
import { createWebGpuBackend, type WebGpuBackend } from "./webgpu_backend.ts";

/** Result of {@link probeWebGpu}: a working backend, or why there is none. */
export interface GpuProbe {
  /** The backend (self-test passed), or null. */
  backend: WebGpuBackend | null;
  /** What happened, in a sentence (for progress events and logs). */
  reason: string;
}

/** Shape of the workload {@link gpuIsFaster} times: one compression segment of the model. */
export interface WorkloadShape {
  dim: number;
  ffnDim: number;
  heads: number;
  layers: number;
  /** Rows of one call (memory slots, segment tokens, fresh slots). */
  rows: number;
}

/**
 * Whether the adapter is a CPU/software implementation (llvmpipe, lavapipe, SwiftShader, WARP,
 * or one that says it is a fallback adapter): WebAssembly on the same CPU is faster.
 *
 * @param info The adapter's info.
 * @returns True for software adapters.
 *
 * @example
 * ```ts
 * import { isSoftwareAdapter } from "./select.ts";
 * const info = { description: "llvmpipe (LLVM 15.0.6, 256 bits)", vendor: "65541",
 *   architecture: "", isFallbackAdapter: false, packedDot: true, features: [] };
 * console.log(isSoftwareAdapter(info)); // true
 * ```
 */
export function isSoftwareAdapter(info: GpuInfo): boolean {
  if (info.isFallbackAdapter) return true;
  const text = `${info.description} ${info.vendor} ${info.architecture}`;
  return /llvmpipe|lavapipe|softpipe|swiftshader|warp|software|\bcpu\b/i.test(text);
}

/**
 * Starts WebGPU and runs the self-test; never throws.
 *
 * @param options `packedDot: false` forces the unpacked int8 path; `reject` may refuse the
 * adapter (a reason) before the self-test runs.
 * @returns The backend or the reason there is none.
 */
export async function probeWebGpu(
  options: { packedDot?: boolean; reject?: (info: GpuInfo) => string | null } = {},
): Promise<GpuProbe> {
  let be: WebGpuBackend;
  try {
    be = await createWebGpuBackend(options);
  } catch (e) {
    return { backend: null, reason: e instanceof Error ? e.message : String(e) };
  }
  const refused = options.reject?.(be.info);
  if (refused) {
    await be.shutdown();
    return { backend: null, reason: refused };
  }
  try {
    const failure = selfTest(be);
    if (failure) {
      await be.shutdown();
      return { backend: null, reason: `WebGPU self-test failed: ${failure}` };
    }
  } catch (e) {
    await be.shutdown();
    return { backend: null, reason: `WebGPU self-test failed: ${(e as Error).message}` };
  }
  return { backend: be, reason: `WebGPU adapter "${be.info.description}" passed the self-test` };
}

/**
 * Runs the int8 matmul, attention, RMSNorm, RoPE and SwiGLU pieces on small random inputs (odd
 * sizes) and compares them with the reference backend.
 *
 * @param be The backend under test.
 * @returns Null when every result is within tolerance, else what differed.
 */
export function selfTest(be: Backend): string | null {
  const ref = createReferenceBackend();
  const rnd = lcg(12345);
  const made: (F32 | I32 | Q8Matrix)[] = [];
  const keep = <T extends F32 | I32 | Q8Matrix>(b: T): T => (made.push(b), b);
  const both = (data: Float32Array): [F32, F32] => [keep(be.f32(data)), ref.f32(data)];
  const vec = (n: number) => Float32Array.from({ length: n }, () => rnd() * 2 - 1);
  const m = 5, k = 37, n = 19, heads = 2, hd = 8, w = heads * hd;
  const q = Int8Array.from({ length: n * k }, () => Math.floor(rnd() * 255) - 127);
  const sc = Float32Array.from({ length: n }, () => 0.001 + rnd() * 0.01);
  const checks: [string, F32, F32][] = [];
  // int8 matmul
  const [x, xr] = both(vec(m * k));
  const [o, or] = [keep(be.f32(m * n)), ref.f32(m * n)];
  be.matmulQ8(o, x, keep(be.q8(q, sc, n, k)), m);
  ref.matmulQ8(or, xr, ref.q8(q, sc, n, k), m);
  checks.push(["matmulQ8", o, or]);
  // RMSNorm, SiLU·mul, RoPE, attention with a causal mask after 2 memory rows
  const [h, hr] = both(vec(m * w));
  const [g, gr] = both(vec(w));
  be.rmsnorm(h, h, g, m, w, 1e-5);
  ref.rmsnorm(hr, hr, gr, m, w, 1e-5);
  checks.push(["rmsnorm", h, hr]);
  const [a, ar] = both(vec(m * w));
  be.silu(a, a, m * w);
  ref.silu(ar, ar, m * w);
  be.mul(a, a, h, m * w);
  ref.mul(ar, ar, hr, m * w);
  checks.push(["silu·mul", a, ar]);
  be.rope(a, m, heads, hd, 3, 10000);
  ref.rope(ar, m, heads, hd, 3, 10000);
  checks.push(["rope", a, ar]);
  const lim = Int32Array.from({ length: m }, (_, i) => Math.max(2, i + 1));
  const [att, attr] = [keep(be.f32(m * w)), ref.f32(m * w)];
  be.attention(att, a, h, a, keep(be.i32(lim)), { tq: m, tk: m, heads, headDim: hd });
  ref.attention(attr, ar, hr, ar, ref.i32(lim), { tq: m, tk: m, heads, headDim: hd });
  checks.push(["attention", att, attr]);
  try {
    for (const [name, got, want] of checks) {
      const gv = be.read(got), wv = ref.read(want);
      for (let i = 0; i < wv.length; i++) {
        const tol = 1e-4 * Math.max(1, Math.abs(wv[i]));
        if (!(Math.abs(gv[i] - wv[i]) <= tol)) {
          return `${name}[${i}]: expected ${wv[i]}, got ${gv[i]}`;
        }
      }
    }
    return null;
  } finally {
    for (const b of made) be.free(b);
  }
}

/**
 * Times one model-shaped compression segment (random int8 weights, `shape`'s sizes) on both
 * backends, best of three after a warm-up, including the read of the result.
 *
 * @param gpu The WebGPU backend.
 * @param wasm The WebAssembly backend.
 * @param shape The model's sizes.
 * @returns The milliseconds of each, and whether the GPU was faster.
 */
export function gpuIsFaster(
  gpu: Backend,
  wasm: Backend,
  shape: WorkloadShape,
): { gpuMs: number; wasmMs: number; faster: boolean } {
  const gpuMs = timeSegment(gpu, shape), wasmMs = timeSegment(wasm, shape);
  return { gpuMs, wasmMs, faster: gpuMs < wasmMs };
}

function timeSegment(be: Backend, s: WorkloadShape): number {
  const rnd = lcg(7);
  const { dim: D, ffnDim: F, rows: n } = s;
  const mat = (rows: number, cols: number) =>
    be.q8(
      Int8Array.from({ length: rows * cols }, () => Math.floor(rnd() * 255) - 127),
      new Float32Array(rows).fill(0.01),
      rows,
      cols,
    );
  const wd = [mat(D, D), mat(D, D), mat(D, D), mat(D, D)];
  const [w1, w3, w2] = [mat(F, D), mat(F, D), mat(D, F)];
  const x = be.f32(Float32Array.from({ length: n * D }, () => rnd() - 0.5));
  const norm = be.f32(new Float32Array(D).fill(1));
  const [h, qb, kb, vb, att, f] = Array.from({ length: 6 }, () => be.f32(n * D));
  const [a, b] = [be.f32(n * F), be.f32(n * F)];
  const lim = be.i32(new Int32Array(n).fill(n));
  const run = () => {
    for (let l = 0; l < s.layers; l++) {
      be.rmsnorm(h, x, norm, n, D, 1e-5);
      be.matmulQ8(qb, h, wd[0], n);
      be.matmulQ8(kb, h, wd[1], n);
      be.matmulQ8(vb, h, wd[2], n);
      be.attention(att, qb, kb, vb, lim, { tq: n, tk: n, heads: s.heads, headDim: D / s.heads });
      be.matmulQ8(f, att, wd[3], n);
      be.couple(x, x, f, n * D, false);
      be.rmsnorm(h, x, norm, n, D, 1e-5);
      be.matmulQ8(a, h, w1, n);
      be.matmulQ8(b, h, w3, n);
      be.silu(a, a, n * F);
      be.mul(a, a, b, n * F);
      be.matmulQ8(f, a, w2, n);
      be.couple(x, x, f, n * D, false);
    }
    be.read(x, 0, D);
  };
  run();
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    run();
    best = Math.min(best, performance.now() - t);
  }
  for (const buf of [...wd, w1, w3, w2, x, norm, h, qb, kb, vb, att, f, a, b, lim]) be.free(buf);
  return best;
}

/** A small deterministic generator in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** What {@link selectBackend} chose. */
export interface BackendSelection {
  /** Runs the model: memory slots, greedy decoding, search keys. */
  backend: Backend;
  /** Codes the lossless residual: always a deterministic CPU backend (WebAssembly here). */
  coder: Backend;
  /** Why, in a sentence. */
  reason: string;
  /**
   * For `"auto"`: the background WebGPU probe. Resolves to a WebGPU backend to move the model
   * to, or null to stay (with the reason either way).
   */
  upgrade?: Promise<{ backend: Backend | null; reason: string }>;
}

// A verdict against WebGPU holds for the process (the adapter does not change): later "auto"
// loads skip the probe.
let refusal: string | null = null;

/**
 * Starts WebGPU for a model of `shape` and decides whether to use it. `"auto"`: only an adapter
 * that is not a software rasterizer, passes the self-test and runs a compression segment faster
 * than `wasm`. `"webgpu"`: any adapter that passes the self-test. Never throws for lack of a
 * GPU: the reason says what happened.
 *
 * @param choice `"auto"` or `"webgpu"`.
 * @param shape The model's sizes (for the speed comparison).
 * @param wasm The WebAssembly backend to compare with.
 * @returns The WebGPU backend, or null, and the reason.
 */
export async function selectBackend(
  choice: "auto" | "webgpu",
  shape: WorkloadShape,
  wasm: Backend,
): Promise<{ backend: WebGpuBackend | null; reason: string }> {
  if (choice === "auto" && refusal) return { backend: null, reason: refusal };
  const probe = await probeWebGpu({
    reject: (info) =>
      choice === "auto" && isSoftwareAdapter(info)
        ? `WebGPU adapter "${info.description}" is a software rasterizer (WebAssembly is faster)`
        : null,
  });
  if (!probe.backend || choice === "webgpu") {
    if (choice === "auto") refusal = probe.reason;
    return probe;
  }
  const t = gpuIsFaster(probe.backend, wasm, shape);
  const timing = `one segment ${t.gpuMs.toFixed(1)} ms on WebGPU, ${
    t.wasmMs.toFixed(1)
  } ms on wasm`;
  if (!t.faster) {
    await probe.backend.shutdown();
    refusal = `${probe.reason}, but ${timing}`;
    return { backend: null, reason: refusal };
  }
  return { backend: probe.backend, reason: `${probe.reason}; ${timing}` };
}
