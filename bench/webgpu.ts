/**
 * WebGPU against WebAssembly in one run: per-kernel throughput (GOP/s for the int8 matmul,
 * GFLOP/s for the rest) at the default model's shapes, and the model's compress and greedy
 * reconstruct throughput (tokens/s) for batches of 1, 8 and 64 texts.
 *
 * ```sh
 * deno task bench:webgpu [--json] [--quick]
 * ```
 *
 * Kernel times are the best of 3 rounds of `reps` calls each, ended by a 1-element read (so the
 * GPU's queue is drained and the read's latency is spread over the round). Model rows: the
 * texts are compressed one after another (`lossless: false`: the memory slots, which is what
 * WebGPU runs; the residual is coded on WebAssembly on every backend) and reconstructed
 * greedily. On a software adapter (Mesa's llvmpipe here) the numbers show correctness and
 * overheads only, not what a GPU does.
 *
 * @module
 */
import type { Backend, F32 } from "../src/backend/backend.ts";
import { createWasmBackend } from "../src/backend/wasm/wasm_backend.ts";
import { createWebGpuBackend, type WebGpuBackend } from "../src/backend/webgpu/webgpu_backend.ts";
import { isSoftwareAdapter } from "../src/backend/webgpu/select.ts";
import { R3Mem } from "../src/r3mem.ts";
import { mulberry32 as rng } from "../src/prng.ts";
import { renderTable } from "./_table.ts";

const json = Deno.args.includes("--json");
const quick = Deno.args.includes("--quick");
const log = (s: string) => json || console.error(s);

interface KernelRow {
  backend: string;
  kernel: string;
  shape: string;
  ms: number;
  rate: number;
  unit: "GOP/s" | "GFLOP/s";
}
interface ModelRow {
  backend: string;
  op: "compress" | "reconstruct";
  texts: number;
  tokens: number;
  ms: number;
  tokensPerSecond: number;
}

function time(be: Backend, sync: F32, reps: number, op: () => void): number {
  op();
  be.read(sync, 0, 1);
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) op();
    be.read(sync, 0, 1);
    best = Math.min(best, (performance.now() - t) / reps);
  }
  return best;
}

function kernels(be: Backend, name: string, D: number, F: number, V: number, H: number) {
  const rand = rng(1);
  const vec = (n: number) => be.f32(Float32Array.from({ length: n }, () => rand() * 2 - 1));
  const mat = (n: number, k: number) =>
    be.q8(
      Int8Array.from({ length: n * k }, () => Math.floor(rand() * 255) - 127),
      new Float32Array(n).fill(0.01),
      n,
      k,
    );
  const rows: KernelRow[] = [];
  const reps = quick ? 2 : 5;
  for (const m of [1, 80]) {
    for (const [n, k] of [[F, D], [V, D]]) {
      const x = vec(m * k), w = mat(n, k), out = be.f32(m * n);
      const ms = time(be, out, reps, () => be.matmulQ8(out, x, w, m));
      rows.push({
        backend: name,
        kernel: "matmulQ8",
        shape: `${m}x${k}x${n}`,
        ms,
        rate: 2 * m * k * n / (ms * 1e6),
        unit: "GOP/s",
      });
    }
  }
  const t = 80, hd = D / H;
  const q = vec(t * D), k = vec(t * D), v = vec(t * D), o = vec(t * D);
  const lim = be.i32(Int32Array.from({ length: t }, (_, i) => i + 1));
  const shape = { tq: t, tk: t, heads: H, headDim: hd };
  const att = time(be, o, reps, () => be.attention(o, q, k, v, lim, shape));
  rows.push({
    backend: name,
    kernel: "attention",
    shape: `${t}x${t}x${H}x${hd}`,
    ms: att,
    rate: 4 * t * t * D / 2 / (att * 1e6),
    unit: "GFLOP/s",
  });
  const g = vec(D);
  const norm = time(be, o, reps, () => be.rmsnorm(o, q, g, t, D, 1e-5));
  rows.push({
    backend: name,
    kernel: "rmsnorm",
    shape: `${t}x${D}`,
    ms: norm,
    rate: 4 * t * D / (norm * 1e6),
    unit: "GFLOP/s",
  });
  const a = vec(t * F), b = vec(t * F);
  const swi = time(be, a, reps, () => {
    be.silu(a, a, t * F);
    be.mul(a, a, b, t * F);
  });
  rows.push({
    backend: name,
    kernel: "silu+mul",
    shape: `${t}x${F}`,
    ms: swi,
    rate: 6 * t * F / (swi * 1e6),
    unit: "GFLOP/s",
  });
  return rows;
}

async function model(name: "webgpu" | "wasm", texts: string[]): Promise<ModelRow[]> {
  const r3 = await R3Mem.load({ backend: name });
  if (r3.backend !== name) throw new Error(`Asked for ${name}, got ${r3.backend}`);
  const rows: ModelRow[] = [];
  for (const n of quick ? [1, 8] : [1, 8, 64]) {
    const batch = texts.slice(0, n);
    const tokens = batch.reduce((s, t) => s + r3.tokenizer.encode(t).length, 0);
    await r3.compress(batch[0], { lossless: false }); // warm-up (pipelines compile)
    let t = performance.now();
    const memories = [];
    for (const text of batch) memories.push(await r3.compress(text, { lossless: false }));
    let ms = performance.now() - t;
    rows.push({
      backend: name,
      op: "compress",
      texts: n,
      tokens,
      ms,
      tokensPerSecond: tokens / ms * 1e3,
    });
    t = performance.now();
    for (const m of memories) await r3.reconstruct(m);
    ms = performance.now() - t;
    rows.push({
      backend: name,
      op: "reconstruct",
      texts: n,
      tokens,
      ms,
      tokensPerSecond: tokens / ms * 1e3,
    });
    log(`  ${name} batch ${n}: done`);
  }
  return rows;
}

const TEXTS = Array.from(
  { length: 64 },
  (_, i) => `Note ${i}: the meeting moved to room ${100 + i} on day ${i % 7 + 1}.`,
);

let gpu: WebGpuBackend | null = null;
try {
  gpu = await createWebGpuBackend();
} catch (e) {
  log(`No WebGPU: ${(e as Error).message}; WebAssembly only.`);
}
const wasm = await createWasmBackend();
const cfg = (await R3Mem.load({ backend: "wasm" })).config;
const [D, F, V, H] = [cfg.dim, cfg.ffnDim, cfg.vocabSize, cfg.heads];
log("kernels…");
const kernelRows = [...kernels(wasm, "wasm", D, F, V, H)];
if (gpu) kernelRows.push(...kernels(gpu, "webgpu", D, F, V, H));
log("model…");
const modelRows = [...await model("wasm", TEXTS)];
if (gpu) modelRows.push(...await model("webgpu", TEXTS));
const adapter = gpu ? { ...gpu.info, software: isSoftwareAdapter(gpu.info) } : null;
await gpu?.shutdown();

if (json) {
  console.log(JSON.stringify({ adapter, kernels: kernelRows, model: modelRows }, null, 2));
} else {
  if (adapter) {
    console.log(
      `adapter: ${adapter.description}${adapter.software ? " (software)" : ""}, ` +
        `packed int8 dot: ${adapter.packedDot}`,
    );
  }
  console.log(renderTable(
    ["backend", "kernel", "shape", "ms", "rate"],
    kernelRows.map((
      r,
    ) => [r.backend, r.kernel, r.shape, r.ms.toFixed(3), `${r.rate.toFixed(2)} ${r.unit}`]),
    ["left", "left", "left", "right", "right"],
  ));
  console.log();
  console.log(renderTable(
    ["backend", "op", "texts", "tokens", "ms", "tokens/s"],
    modelRows.map((
      r,
    ) => [
      r.backend,
      r.op,
      String(r.texts),
      String(r.tokens),
      r.ms.toFixed(0),
      r.tokensPerSecond.toFixed(0),
    ]),
    ["left", "left", "right", "right", "right", "right"],
  ));
}
