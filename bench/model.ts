/**
 * Model speed: `deno task bench:model [--json] [--weights PATH]`.
 *
 * Prints `{"metric","value","unit"}` lines (with `--json`) or a table for: compress and
 * reconstruct throughput (lossless and greedy), cold start (a new process, from spawn to its
 * first compressed result), peak RSS, and `matmul_share` — the int8 matmul work that compress
 * does per second, counted from the model's shapes, over the int8 matmul kernel's own
 * throughput at the same shapes measured in this run. One thread.
 *
 * Without `--weights` it uses the embedded default model, or — until one is trained — a random
 * model of the intended default size (said in the output).
 *
 * @module
 */
import { R3Mem } from "../mod.ts";
import { buildRandomModel } from "../src/model/random_model.ts";
import { createWasmBackend } from "../src/backend/wasm/wasm_backend.ts";
import { DEFAULT_WEIGHTS_URL } from "../src/r3mem.ts";
import type { ModelConfig } from "../src/model/config.ts";

const json = Deno.args.includes("--json");
const wi = Deno.args.indexOf("--weights");

/** Intended size of the default model, for the random stand-in. */
const DEFAULT_SHAPE: Partial<ModelConfig> = {
  dim: 256,
  layers: 4,
  heads: 4,
  ffnDim: 768,
  memorySlots: 8,
  segmentTokens: 64,
  window: 256,
};

async function weightsBytes(): Promise<{ bytes: Uint8Array; label: string }> {
  if (wi >= 0) return { bytes: await Deno.readFile(Deno.args[wi + 1]), label: Deno.args[wi + 1] };
  try {
    return { bytes: await Deno.readFile(DEFAULT_WEIGHTS_URL), label: "default" };
  } catch {
    return {
      bytes: await buildRandomModel({ seed: 1, config: DEFAULT_SHAPE }),
      label: "random stand-in (no default model yet)",
    };
  }
}

const SAMPLE = (() => {
  const base =
    "The reversible memory compresses each paragraph into a few slots. When it is asked for the " +
    "text again, the network runs backward and the words come back, one token at a time. ";
  return Array.from({ length: 6 }, (_, i) => base.repeat(2) + `Paragraph ${i}.`).join("\n\n");
})();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function coldStartMs(path: string): Promise<number> {
  const child = new URL("./_cold_start.ts", import.meta.url).pathname;
  const times: number[] = [];
  // Nine fresh processes: a single start varies by ±30% on a shared machine.
  for (let i = 0; i < 9; i++) {
    const t0 = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--cached-only", child, path],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!new TextDecoder().decode(out.stdout).includes("done")) {
      throw new Error(new TextDecoder().decode(out.stderr));
    }
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function main() {
  const { bytes, label } = await weightsBytes();
  let peak = Deno.memoryUsage().rss;
  const sample = () => (peak = Math.max(peak, Deno.memoryUsage().rss));
  const r3 = await R3Mem.load({ weights: bytes });
  const c = r3.config;
  const tokens = r3.tokenizer.encode(SAMPLE).length;

  // compress (lossless: includes coding the residual) and its memory-only part
  const compressTimes: number[] = [];
  const lossyTimes: number[] = [];
  let memory = await r3.compress(SAMPLE);
  for (let i = 0; i < 5; i++) {
    let t0 = performance.now();
    memory = await r3.compress(SAMPLE);
    compressTimes.push(performance.now() - t0);
    t0 = performance.now();
    await r3.compress(SAMPLE, { lossless: false });
    lossyTimes.push(performance.now() - t0);
    sample();
  }
  const lossless: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await r3.reconstruct(memory);
    lossless.push(performance.now() - t0);
    sample();
  }
  const greedy: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await r3.reconstruct(memory, { greedy: true });
    greedy.push(performance.now() - t0);
    sample();
  }

  // matmul work of the memory part of compress: every level runs the forward direction over
  // segments of [S | ≤T tokens | S] rows; count rows from the memory's node spans.
  const nodes = memory.nodes;
  let rows = 0;
  const seen = new Set<string>();
  for (const n of nodes) {
    const key = `${n.tokenStart}:${n.tokenEnd}`;
    if (seen.has(key)) continue; // one-sentence paragraphs reuse the sentence's memory
    seen.add(key);
    const len = n.tokenEnd - n.tokenStart;
    const segs = Math.max(1, Math.ceil(len / c.segmentTokens));
    rows += segs * 2 * c.memorySlots + len;
  }
  const perRow = 2 * c.layers * (4 * c.dim * c.dim + 3 * c.dim * c.ffnDim);
  const compressGops = (rows * perRow) / (median(lossyTimes) * 1e6);
  // the kernel alone at the same shapes, same thread
  const be = await createWasmBackend({ deterministic: false });
  const m = 2 * c.memorySlots + c.segmentTokens;
  // One layer's mix: wq, wk, wv, wo (D×D), w1, w3 (F×D), w2 (D×F).
  const layerMix: [number, number][] = [
    [c.dim, c.dim],
    [c.dim, c.dim],
    [c.dim, c.dim],
    [c.dim, c.dim],
    [c.ffnDim, c.dim],
    [c.ffnDim, c.dim],
    [c.dim, c.ffnDim],
  ];
  const kernels = layerMix.map(([n, k]) => ({
    w: be.q8(
      new Int8Array(n * k).map((_, i) => (i * 37) % 255 - 127),
      new Float32Array(n).fill(0.01),
      n,
      k,
    ),
    x: be.f32(new Float32Array(m * k).map((_, i) => Math.sin(i))),
    o: be.f32(m * n),
    ops: 2 * m * n * k,
  }));
  const runLayer = () => kernels.forEach((t) => be.matmulQ8(t.o, t.x, t.w, m));
  for (let i = 0; i < 20; i++) runLayer();
  const layerTimes: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) runLayer();
    layerTimes.push((performance.now() - t0) / 50);
  }
  const kernelGops = kernels.reduce((a, t) => a + t.ops, 0) / (median(layerTimes) * 1e6);

  const path = await Deno.makeTempFile({ suffix: ".r3w" });
  await Deno.writeFile(path, bytes);
  const cold = await coldStartMs(path);
  await Deno.remove(path);

  const metrics = [
    ["compress_tokens_per_s", tokens / (median(compressTimes) / 1000), "tokens/s"],
    ["compress_memory_only_tokens_per_s", tokens / (median(lossyTimes) / 1000), "tokens/s"],
    ["reconstruct_lossless_tokens_per_s", tokens / (median(lossless) / 1000), "tokens/s"],
    ["reconstruct_greedy_tokens_per_s", tokens / (median(greedy) / 1000), "tokens/s"],
    ["cold_start_ms", cold, "ms"],
    ["peak_rss_mb", peak / 2 ** 20, "MB"],
    ["matmul_share", compressGops / kernelGops, "ratio"],
    ["compress_matmul_gops", compressGops, "GOP/s"],
    ["kernel_matmul_gops", kernelGops, "GOP/s"],
  ] as const;
  if (json) {
    for (const [metric, value, unit] of metrics) {
      console.log(JSON.stringify({ metric, value: Number(value.toFixed(3)), unit }));
    }
  } else {
    console.log(`model: ${label}; ${JSON.stringify(c)}; sample ${tokens} tokens`);
    for (const [metric, value, unit] of metrics) {
      console.log(`${metric.padEnd(36)} ${value.toFixed(2).padStart(12)} ${unit}`);
    }
  }
}

await main();
