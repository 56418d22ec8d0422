/**
 * Trainer benchmark: the f32 matrix products of a real training step, and the whole trainer's
 * tokens per second, each beside its peer in the same run.
 *
 * ```sh
 * deno task bench:train [--json] [--baseline DIR] [--corpus DIR] [--data-mb N]
 *   [--steps1 N] [--steps2 N] [--workers N] [--rounds N] [--only gemm|profile|train]
 * ```
 *
 * - **gemm**: every product shape a `small` training step runs most (taken from a profile of
 *   one step), r3mem's f32 GEMM in fast mode (relaxed FMA, what the trainer uses) and in
 *   deterministic mode, the kernels of `--baseline` (another checkout's committed `.wasm`, as
 *   its trainer ran them: deterministic), and onnxruntime-node's native f32 `MatMul` (1 thread)
 *   on the same `[M, K, N]`. Engines take turns within each sample, so a load change on the
 *   machine hits them alike; the figure is the median of the samples.
 * - **profile**: one worker's share of time per backend op (matrix products by form and shape)
 *   over a few stage-1 and stage-2 steps of random tokens, for this checkout and `--baseline`
 *   (its own engine and kernels, loaded from its tree). Single-threaded, so it says where a
 *   step's time goes, not the trainer's speed.
 * - **train**: `tools/train.ts` of this checkout and of `--baseline`, same corpus, data,
 *   steps, shape and workers, alternating for `--rounds` rounds; the stage-1 and stage-2
 *   tokens/s of each run's last progress line, medians per checkout, and their ratio.
 *
 * `--baseline` is a checkout of an earlier commit, e.g.
 * `git worktree add /tmp/r3-base ef21404`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type KernelExports, loadKernels } from "../src/backend/wasm/kernels_module.ts";
import { mulberry32 } from "../src/prng.ts";
import { type Align, renderTable } from "./_table.ts";
import { matmulModel } from "./onnx_model.ts";
import { profileInProcess, profileRows } from "./_train_profile.ts";

/** One product of a training step: `out[M,N] (+)= op(a)[M,K] · op(b)[K,N]`. */
export interface GemmShape {
  /** Where it comes from. */
  role: string;
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
  accumulate: boolean;
}

const g = (role: string, form: string, m: number, k: number, n: number): GemmShape => ({
  role,
  m,
  k,
  n,
  transA: form[0] === "T",
  transB: form[1] === "T",
  accumulate: form.endsWith("+"),
});

/** The products that take most of a `small` step (stage 1: 128-token sequences; stage 2: spans). */
export const TRAIN_SHAPES: readonly GemmShape[] = [
  g("s1 linear fwd (w1, w3)", "NT", 128, 128, 384),
  g("s1 linear fwd (wq..wo)", "NT", 128, 128, 128),
  g("s1 linear fwd (w2)", "NT", 128, 384, 128),
  g("s1 logits", "NT", 128, 128, 4096),
  g("s1 dlogits · E", "NN", 128, 4096, 128),
  g("s1 head grad", "TN+", 128, 128, 4096),
  g("s1 weight grad (w1, w3)", "TN+", 384, 128, 128),
  g("s1 weight grad (wq..wo)", "TN+", 128, 128, 128),
  g("s1 dx (w2)", "NN+", 128, 384, 128),
  g("s2 linear fwd (w1, w3)", "NT", 72, 128, 384),
  g("s2 dlogits · E", "NN", 72, 4096, 128),
  g("s2 weight grad (w1, w3)", "TN+", 384, 72, 128),
];

const USAGE = `usage: deno task bench:train [--json] [--baseline DIR] [--corpus DIR] [--data-mb N]
  [--steps1 N] [--steps2 N] [--workers N] [--rounds N] [--only gemm|profile|train]`;

// ── GEMM ──────────────────────────────────────────────────────────────────────

type Timed = () => Promise<void> | void;

/** A product on raw kernel exports (works for any version's `matmul_f32`). */
function kernelGemm(
  k: KernelExports,
  s: GemmShape,
  fast: boolean,
  a: Float32Array,
  b: Float32Array,
): Timed {
  const bytes = (n: number) => n * 4;
  const pa = k.alloc(bytes(a.length)), pb = k.alloc(bytes(b.length));
  const po = k.alloc(bytes(s.m * s.n));
  // Enough for any version's packing (the current one needs op(a) packed plus one b panel).
  const scratch = k.alloc(8 << 20);
  new Float32Array(k.memory.buffer, pa, a.length).set(a);
  new Float32Array(k.memory.buffer, pb, b.length).set(b);
  new Float32Array(k.memory.buffer, po, s.m * s.n).fill(0);
  const t = (v: boolean) => (v ? 1 : 0);
  return () =>
    k.matmul_f32(
      po,
      pa,
      pb,
      s.m,
      s.k,
      s.n,
      t(s.transA),
      t(s.transB),
      t(s.accumulate),
      t(fast),
      scratch,
    );
}

// deno-lint-ignore no-explicit-any
async function ortGemm(ort: any, s: GemmShape, a: Float32Array, b: Float32Array): Promise<Timed> {
  const model = matmulModel("f32", [s.m, s.k, s.n], b);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
  });
  const feeds = { A: new ort.Tensor("float32", a, [s.m, s.k]) };
  return async () => void (await session.run(feeds));
}

/** Milliseconds per call: repeat until `minMs` have passed. */
async function timeOnce(fn: Timed, minMs: number): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    await fn();
    n++;
    t = performance.now();
  }
  return (t - t0) / n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** GFLOP/s per engine and shape. */
export interface GemmResult {
  shape: string;
  role: string;
  gflops: Record<string, number>;
}

async function benchGemm(baseline: string | null, samples: number): Promise<GemmResult[]> {
  const now = await loadKernels("auto");
  const old = baseline
    ? await loadKernels(await Deno.readFile(`${baseline}/src/backend/wasm/r3mem_kernels.wasm`))
    : null;
  // deno-lint-ignore no-import-prefix
  const ort = await import("npm:onnxruntime-node@1.30.0");
  const rnd = mulberry32(11);
  const out: GemmResult[] = [];
  for (const s of TRAIN_SHAPES) {
    const a = Float32Array.from({ length: s.m * s.k }, () => rnd() - 0.5);
    const b = Float32Array.from({ length: s.k * s.n }, () => rnd() - 0.5);
    const engines: [string, Timed][] = [
      ["r3mem fast", kernelGemm(now, s, true, a, b)],
      ["r3mem det", kernelGemm(now, s, false, a, b)],
    ];
    if (old) engines.push(["baseline det", kernelGemm(old, s, false, a, b)]);
    engines.push(["ort-node", await ortGemm(ort, s, a, b)]);
    for (const [, fn] of engines) await timeOnce(fn, 30); // warm-up
    const times: number[][] = engines.map(() => []);
    for (let i = 0; i < samples; i++) {
      for (let e = 0; e < engines.length; e++) times[e].push(await timeOnce(engines[e][1], 60));
    }
    const flop = 2 * s.m * s.k * s.n;
    const gflops: Record<string, number> = {};
    engines.forEach(([name], e) => gflops[name] = flop / (median(times[e]) * 1e6));
    const form = `${s.transA ? "T" : "N"}${s.transB ? "T" : "N"}${s.accumulate ? "+" : ""}`;
    out.push({ shape: `${form} ${s.m}x${s.k}x${s.n}`, role: s.role, gflops });
  }
  return out;
}

// ── the trainer ───────────────────────────────────────────────────────────────

/** Tokens/s of one trainer run. */
export interface TrainRun {
  tree: string;
  stage1: number;
  stage2: number;
}

/** The last `N tok/s` of each stage in a trainer's log. */
export function parseTokensPerSecond(log: string): { stage1: number; stage2: number } {
  const last = (stage: number) => {
    const re = new RegExp(`stage ${stage} step \\d+/\\d+ .*\\| (\\d+) tok/s`, "g");
    let v = NaN;
    for (const m of log.matchAll(re)) v = Number(m[1]);
    return v;
  };
  return { stage1: last(1), stage2: last(2) };
}

async function runTrainer(tree: string, args: string[]): Promise<TrainRun> {
  const work = await Deno.makeTempDir({ prefix: "r3-bench-train-" });
  try {
    const cmd = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${tree}/tools/train.ts`, ...args, "--out", work, "--work", work],
      cwd: tree,
      stdout: "piped",
      stderr: "piped",
    });
    const r = await cmd.output();
    const log = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    if (!r.success) throw new Error(`trainer in ${tree} failed:\n${log.slice(-2000)}`);
    return { tree, ...parseTokensPerSecond(log) };
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

// ── main ──────────────────────────────────────────────────────────────────────

async function main(): Promise<number> {
  const { values: a } = parseArgs({
    args: Deno.args,
    options: {
      json: { type: "boolean", default: false },
      baseline: { type: "string" },
      corpus: { type: "string", default: ".corpus" },
      "data-mb": { type: "string", default: "4" },
      steps1: { type: "string", default: "40" },
      steps2: { type: "string", default: "30" },
      workers: { type: "string", default: "2" },
      rounds: { type: "string", default: "2" },
      samples: { type: "string", default: "5" },
      only: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (a.help) {
    console.log(USAGE);
    return 0;
  }
  const here = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const baseline = a.baseline ? await Deno.realPath(a.baseline) : null;
  const report: Record<string, unknown> = { baseline };
  if (a.only === "gemm" || a.only === undefined) {
    const gemm = await benchGemm(baseline, Number(a.samples));
    report.gemm = gemm;
    if (!a.json) {
      const names = Object.keys(gemm[0].gflops);
      const rows = gemm.map((r) => [
        r.shape,
        r.role,
        ...names.map((n) => r.gflops[n].toFixed(1)),
        (r.gflops["r3mem fast"] / r.gflops["ort-node"]).toFixed(2),
      ]);
      const align: Align[] = ["left", "left", ...names.map(() => "right" as const), "right"];
      console.log("f32 GEMM, GFLOP/s (median of samples; engines take turns)\n");
      console.log(renderTable(["shape", "role", ...names, "fast/ort"], rows, align) + "\n");
    }
  }
  if (a.only === "profile" || a.only === undefined) {
    const profiles = [...await profileInProcess(here, false)];
    if (baseline) profiles.push(...await profileInProcess(baseline, true));
    report.profile = profiles;
    if (!a.json) {
      for (const p of profiles) {
        const who = p.tree === baseline ? "baseline (deterministic)" : "current (fast)";
        console.log(
          `profile, stage ${p.stage}, ${who}: ${
            p.tokensPerSecond.toFixed(0)
          } tok/s on one thread\n`,
        );
        console.log(renderTable(["op", "% of wall"], profileRows(p, 14), ["left", "right"]) + "\n");
      }
    }
  }
  if (a.only === "train" || a.only === undefined) {
    const corpus = await Deno.realPath(a.corpus!);
    const args = [
      "--corpus",
      corpus,
      "--data-mb",
      a["data-mb"]!,
      "--steps1",
      a.steps1!,
      "--steps2",
      a.steps2!,
      "--workers",
      a.workers!,
      "--checkpoint-every",
      "0",
    ];
    const runs: TrainRun[] = [];
    for (let r = 0; r < Number(a.rounds); r++) {
      if (baseline) runs.push(await runTrainer(baseline, args));
      runs.push(await runTrainer(here, args));
    }
    const med = (tree: string, k: "stage1" | "stage2") =>
      median(runs.filter((r) => r.tree === tree).map((r) => r[k]));
    const summary = {
      current: { stage1: med(here, "stage1"), stage2: med(here, "stage2") },
      baseline: baseline
        ? { stage1: med(baseline, "stage1"), stage2: med(baseline, "stage2") }
        : null,
    };
    report.train = { args, runs, summary };
    if (!a.json) {
      console.log(
        `trainer tokens/s (small shape, ${a.workers} workers, medians of ${a.rounds} runs)\n`,
      );
      const rows = [[
        "current",
        summary.current.stage1.toFixed(0),
        summary.current.stage2.toFixed(0),
      ]];
      if (summary.baseline) {
        rows.push([
          "baseline",
          summary.baseline.stage1.toFixed(0),
          summary.baseline.stage2.toFixed(0),
        ]);
        rows.push([
          "ratio",
          (summary.current.stage1 / summary.baseline.stage1).toFixed(2),
          (summary.current.stage2 / summary.baseline.stage2).toFixed(2),
        ]);
      }
      console.log(renderTable(["trainer", "stage 1", "stage 2"], rows, ["left", "right", "right"]));
    }
  }
  if (a.json) console.log(JSON.stringify(report));
  return 0;
}

if (import.meta.main) Deno.exit(await main());
