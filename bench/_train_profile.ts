/**
 * The profile of `deno task bench:train`: where one worker's training step spends its time,
 * op by op, for any checkout's engine and kernels (loaded from its tree). Run as a script in a
 * process configured by that checkout's `deno.json` (its import map resolves its imports):
 * `deno run -A --config TREE/deno.json bench/_train_profile.ts TREE [--deterministic]` prints
 * the results as JSON.
 *
 * @module
 */
import { mulberry32 } from "../src/prng.ts";

// ── profile ───────────────────────────────────────────────────────────────────

/** Time per op of one worker's steps. */
export interface ProfileResult {
  tree: string;
  stage: number;
  /** Text tokens per second of the profiled steps (one thread). */
  tokensPerSecond: number;
  /** Op (matrix products as `matmul FORM MxKxN`) → share of the steps' wall time. */
  shares: Record<string, number>;
}

export async function profileTree(root: string, deterministic: boolean): Promise<ProfileResult[]> {
  const mod = (p: string) => import(`file://${root}/${p}`);
  const { createWasmBackend } = await mod("src/backend/wasm/wasm_backend.ts");
  const { TrainEngine } = await mod("src/train/engine.ts");
  const { initParams } = await mod("src/train/params.ts");
  const { CONFIGS } = await mod("tools/train.ts");
  const be0 = await createWasmBackend({ deterministic });
  const times = new Map<string, number>();
  // Every backend call timed under its name; matrix products also by form and shape.
  const be = new Proxy(be0, {
    get(t, p, r) {
      const v = Reflect.get(t, p, r);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        const t0 = performance.now();
        const out = v.apply(t, args);
        let key = String(p);
        if (p === "matmul") {
          const [, , , m, k, n, o = {}] = args as [0, 0, 0, number, number, number, MatmulOpts];
          key = `matmul ${o.transA ? "T" : "N"}${o.transB ? "T" : "N"}${
            o.accumulate ? "+" : ""
          } ${m}x${k}x${n}`;
        }
        times.set(key, (times.get(key) ?? 0) + performance.now() - t0);
        return out;
      };
    },
  });
  const config = CONFIGS.small, rank = 32;
  const maxRows = Math.max(
    128,
    2 * config.memorySlots + config.segmentTokens,
    config.memorySlots + config.window + 1,
  );
  const eng = new TrainEngine(be, config, initParams(config, rank, 1), { rank, maxRows });
  const rnd = mulberry32(7);
  const toks = (n: number) =>
    Int32Array.from({ length: n }, () => 3 + Math.floor(rnd() * (config.vocabSize - 3)));
  // Stage-2 spans like the sampler's levels: sentences, paragraphs, one or two segments.
  const span = () => {
    const r = rnd();
    return toks(
      r < 0.6
        ? 20 + Math.floor(rnd() * 20)
        : r < 0.8
        ? 60 + Math.floor(rnd() * 60)
        : 64 * (1 + Math.floor(rnd() * 2)),
    );
  };
  const loss = { rec: 1, fwd: 0.5, cyc: 0.05 };
  const out: ProfileResult[] = [];
  for (const stage of [1, 2]) {
    eng.setStage(stage);
    const step = () => {
      eng.beginStep();
      let n = 0;
      for (let i = 0; i < 8; i++) {
        if (stage === 1) {
          eng.lmLoss(toks(128), 1 / 16);
          n += 128;
        } else {
          const s = span();
          eng.memoryLoss({ span: s, next: toks(64) }, loss, 1 / 16);
          n += s.length + 64;
        }
      }
      eng.gradients();
      return n;
    };
    step(); // warm-up (compilation)
    times.clear();
    const t0 = performance.now();
    let tokens = 0;
    for (let i = 0; i < 3; i++) tokens += step();
    const wall = performance.now() - t0;
    const shares: Record<string, number> = {};
    for (const [k, ms] of [...times].sort((x, y) => y[1] - x[1])) shares[k] = ms / wall;
    shares["(outside the backend)"] = 1 - [...times.values()].reduce((x, y) => x + y, 0) / wall;
    out.push({ tree: root, stage, tokensPerSecond: tokens / (wall / 1000), shares });
  }
  eng.free();
  return out;
}

type MatmulOpts = { transA?: boolean; transB?: boolean; accumulate?: boolean };

/** Groups a profile's ops: matrix products, attention, everything else. */
export function profileRows(p: ProfileResult, top: number): string[][] {
  const mm = Object.entries(p.shares).filter(([k]) => k.startsWith("matmul"));
  const rows = Object.entries(p.shares).slice(0, top).map(([k, v]) => [k, (100 * v).toFixed(1)]);
  rows.push(["all matrix products", (100 * mm.reduce((x, [, v]) => x + v, 0)).toFixed(1)]);
  return rows;
}

/** Profiles `tree` in a subprocess that uses the tree's own `deno.json`. */
export async function profileInProcess(
  tree: string,
  deterministic: boolean,
): Promise<ProfileResult[]> {
  const args = [
    "run",
    "-A",
    "--config",
    `${tree}/deno.json`,
    new URL(import.meta.url).pathname,
    tree,
  ];
  if (deterministic) args.push("--deterministic");
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: tree,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(r.stdout);
  if (!r.success) {
    throw new Error(
      `profile of ${tree} failed: ${new TextDecoder().decode(r.stderr).slice(-1500)}`,
    );
  }
  return JSON.parse(text.trim().split("\n").at(-1)!);
}

if (import.meta.main) {
  console.log(
    JSON.stringify(await profileTree(Deno.args[0], Deno.args.includes("--deterministic"))),
  );
}
