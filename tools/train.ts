/**
 * `deno task train`: trains the default model from the corpus (`deno task corpus`) on this
 * machine's CPU cores, within a time budget, and writes the int8 runtime model, its manifest and
 * the f32 master. See `docs/TRAINING.md`.
 *
 * ```sh
 * deno task train                          # 150 minutes, small config, weights/r3mem-default.r3w
 * deno task train --minutes 20 --out build/try
 * deno task train --resume                 # continue from build/train/checkpoint.r3w
 * deno task train --config tiny --steps 20 # a quick end-to-end check
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { cpus } from "node:os";
import { createWasmBackend } from "../src/backend/wasm/wasm_backend.ts";
import { type ModelConfig, parseConfig } from "../src/model/config.ts";
import { Tokenizer, trainBpe } from "../src/model/tokenizer.ts";
import { readMasterFile, writeMasterFile, writeModelFile } from "../src/train/checkpoint.ts";
import { Sampler, type TokenizedCorpus, tokenizeDocuments } from "../src/train/data.ts";
import { copyBaseNorms, initParams, numel, paramSpecs, type Stage } from "../src/train/params.ts";
import { type GradPool, LocalPool, type Work, WorkerPool } from "../src/train/pool.ts";
import type { MemoryLosses } from "../src/train/engine.ts";
import {
  evaluate,
  makeBatch,
  newStageState,
  type Progress,
  type Recipe,
  type StageState,
  trainStage,
} from "../src/train/trainer.ts";
import { readCorpusDocuments } from "./corpus/text.ts";

/** Named model shapes. */
export const CONFIGS: Record<string, ModelConfig> = {
  small: {
    vocabSize: 4096,
    dim: 128,
    layers: 4,
    heads: 4,
    ffnDim: 384,
    memorySlots: 8,
    segmentTokens: 64,
    window: 128,
    ropeTheta: 10000,
    normEps: 1e-5,
  },
  tiny: {
    vocabSize: 512,
    dim: 32,
    layers: 2,
    heads: 2,
    ffnDim: 64,
    memorySlots: 4,
    segmentTokens: 16,
    window: 32,
    ropeTheta: 10000,
    normEps: 1e-5,
  },
};

/** The default recipe for a config (steps 0 = planned from the time budget). */
export function defaultRecipe(config: ModelConfig, seed: number): Recipe {
  return {
    config,
    rank: 32,
    seed,
    seqLen: config.window,
    stage1: { steps: 0, batch: 16, lr: 2e-3, warmup: 100, minLrRatio: 0.1 },
    stage2: { steps: 0, batch: 16, lr: 3e-3, warmup: 50, minLrRatio: 0.1 },
    sampling: {
      segmentTokens: config.segmentTokens,
      maxSegments: Math.max(1, Math.floor(config.window / config.segmentTokens)),
      nextTokens: config.segmentTokens,
      levels: { sentence: 0.6, paragraph: 0.2, chunk: 0.2 },
    },
    // measured on the tiny config (docs/TRAINING.md): a heavier cycle term slows memory learning.
    // The retrieval term (--ret W) is off by default: see docs/TRAINING.md, "Retrieval term".
    loss: { rec: 1, fwd: 0.5, cyc: 0.05 },
    clip: 1,
    adam: { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 },
  };
}

/**
 * `--ret W`: turns on the stage-2 retrieval term with weight W (and the queries it needs, made
 * like the evaluation's: a sentence of the span with a third of its tokens dropped).
 */
function withRetrieval(recipe: Recipe, ret: string | undefined): void {
  if (ret === undefined) return;
  const w = Number(ret);
  if (!(w >= 0)) throw new RangeError(`--ret must be a weight >= 0, got ${ret}`);
  recipe.loss = { ...recipe.loss, ret: w };
  recipe.sampling = { ...recipe.sampling, queryDrop: w > 0 ? 1 / 3 : undefined };
}

/** Steps over which the learning rate ramps up again after resuming without optimizer moments. */
const REWARM_STEPS = 50;

const HELP = `Usage: deno task train [options]

  --minutes N        time budget for the whole recipe (default 150)
  --config NAME      small | tiny (default small)
  --vocab N --dim N --layers N --heads N --ffn N --slots N --segment N --window N --rank N
                     override the config's sizes
  --out DIR          where the model goes (default weights/)
  --name NAME        file name of the model (default r3mem-default)
  --work DIR         checkpoints and the f32 master (default build/train)
  --corpus DIR       corpus directory (default .corpus)
  --resume           continue from WORK/checkpoint.r3w; when it is gone (a new machine), from
                     WORK/master.r3w or --from FILE, a master with loop state (written at every
                     stop), with fresh optimizer moments and the learning rate re-warmed
  --from FILE        with --resume: the checkpoint or master to continue from
  --part-minutes N   stop this invocation after N minutes (checkpoint + master), plan as usual:
                     a run of --minutes in parts, each continued with --resume
  --restage2         with --resume at the start of stage 2: use this version's stage-2 recipe
                     (and --rank, --lr2, --batch2, --steps2), re-initialising the adapters
  --extend2          with --resume from a finished run: continue stage 2 for --steps2 more steps
                     (or what --minutes allows), the cosine schedule stretched to the new end
                     and the learning rate re-warmed (a longer stage 2 is what raises the
                     decoder's capacity, docs/TRAINING.md)
  --restart          with --extend2: the cosine schedule starts again at full learning rate
                     (a warm restart) instead of continuing the stretched one
  --windows N        stage-2 spans are fixed windows of N tokens from anywhere in a document
                     instead of the sentence/paragraph/chunk mix (a curriculum phase: the encoder
                     learns to write short fixed spans first; docs/TRAINING.md); --windows 0
                     goes back to the mix
  --seed N           seed of initialisation and sampling (default 1)
  --steps N          steps of each stage (overrides the time budget; for tests)
  --steps1 N --steps2 N   steps of one stage
  --batch1 N --batch2 N   batch sizes; --lr1 X --lr2 X learning rates
  --ret W            stage-2 retrieval term (InfoNCE on search keys) with weight W (default off)
  --workers N        data-parallel workers (default: CPU cores, at most 2; 1 = in-thread)
  --deterministic    kernels without fused multiply-add: the same parameters on every machine
                     (default: fast kernels, the same parameters run to run on one machine)
  --data-mb N        use only the first N MB of training text (quick runs)
  --checkpoint-every N    steps between checkpoints (default 200)
  --stop-after N     save a checkpoint and exit after N steps (to test --resume)
  --help`;

function fmtTime(ms: number): string {
  if (!Number.isFinite(ms)) return "?";
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(r).padStart(2, "0")}s`;
}

function log(msg: string): void {
  console.log(`[train ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await Deno.writeFile(path + ".tmp", bytes);
  await Deno.rename(path + ".tmp", path);
}

async function readDocs(path: string, maxBytes: number): Promise<string[]> {
  const out: string[] = [];
  let bytes = 0;
  for await (const d of readCorpusDocuments(path)) {
    out.push(d.text);
    bytes += d.text.length;
    if (bytes >= maxBytes) break;
  }
  return out;
}

/** Every k-th document up to `maxChars` characters: the tokenizer's training sample. */
function tokenizerSample(docs: string[], maxChars: number): string[] {
  const total = docs.reduce((a, d) => a + d.length, 0);
  const k = Math.max(1, Math.floor(total / maxChars));
  const out: string[] = [];
  let n = 0;
  for (let i = 0; i < docs.length && n < maxChars; i += k) out.push(docs[i]), n += docs[i].length;
  return out;
}

/** Fixed validation examples (same for every run with the same tokenizer). */
function validationWork(corpus: TokenizedCorpus, recipe: Recipe) {
  const s = new Sampler(corpus, 12345);
  const saved = {
    ...recipe,
    stage1: { ...recipe.stage1, batch: 32 },
    stage2: { ...recipe.stage2, batch: 32 },
  };
  return { lm: makeBatch(1, saved, s).work, mem: makeBatch(2, saved, s).work };
}

async function main(): Promise<number> {
  const { values: a } = parseArgs({
    args: Deno.args,
    options: {
      minutes: { type: "string", default: "150" },
      config: { type: "string", default: "small" },
      vocab: { type: "string" },
      dim: { type: "string" },
      layers: { type: "string" },
      heads: { type: "string" },
      ffn: { type: "string" },
      slots: { type: "string" },
      segment: { type: "string" },
      window: { type: "string" },
      rank: { type: "string" },
      out: { type: "string", default: "weights" },
      name: { type: "string", default: "r3mem-default" },
      work: { type: "string", default: "build/train" },
      corpus: { type: "string", default: ".corpus" },
      resume: { type: "boolean", default: false },
      from: { type: "string" },
      "part-minutes": { type: "string" },
      seed: { type: "string", default: "1" },
      steps: { type: "string" },
      steps1: { type: "string" },
      steps2: { type: "string" },
      batch1: { type: "string" },
      batch2: { type: "string" },
      lr1: { type: "string" },
      lr2: { type: "string" },
      ret: { type: "string" },
      workers: { type: "string" },
      deterministic: { type: "boolean", default: false },
      "data-mb": { type: "string" },
      "checkpoint-every": { type: "string", default: "200" },
      "stop-after": { type: "string" },
      restage2: { type: "boolean", default: false },
      extend2: { type: "boolean", default: false },
      restart: { type: "boolean", default: false },
      windows: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (a.help) {
    console.log(HELP);
    return 0;
  }
  const t0 = performance.now();
  const budgetMs = Number(a.minutes) * 60_000;
  const deadline = t0 + budgetMs;
  const trainPath = `${a.corpus}/train.txt`, validPath = `${a.corpus}/valid.txt`;
  if (!(await exists(trainPath)) || !(await exists(validPath))) {
    console.error(
      `No corpus at ${a.corpus}/ (train.txt, valid.txt). Create it first with:\n\n  deno task corpus\n`,
    );
    return 1;
  }
  const manifest = await exists(`${a.corpus}/manifest.json`)
    ? JSON.parse(await Deno.readTextFile(`${a.corpus}/manifest.json`))
    : null;
  await Deno.mkdir(a.work!, { recursive: true });
  await Deno.mkdir(a.out!, { recursive: true });
  const ckptPath = `${a.work}/checkpoint.r3w`;
  const masterPath = `${a.work}/master.r3w`;
  const partDeadline = a["part-minutes"] === undefined
    ? undefined
    : t0 + Number(a["part-minutes"]) * 60_000;

  // ── recipe, tokenizer and parameters (fresh or resumed) ──────────────────────
  let recipe: Recipe;
  let tokenizer: Tokenizer;
  let params: Map<string, Float32Array>;
  let resumed: Awaited<ReturnType<typeof readMasterFile>> | null = null;
  const history: Record<string, unknown> = {};
  let resumedFrom: string | null = null;
  if (a.resume) {
    resumedFrom = a.from ??
      ((await exists(ckptPath)) ? ckptPath : (await exists(masterPath)) ? masterPath : null);
    if (!resumedFrom) {
      console.error(`--resume: no checkpoint at ${ckptPath} and no master at ${masterPath}`);
      return 1;
    }
    resumed = await readMasterFile(await Deno.readFile(resumedFrom));
    if (!resumed.state.stageState) {
      console.error(
        `--resume: ${resumedFrom} has no loop state (a master written before resumable masters)`,
      );
      return 1;
    }
    if (resumed.m.size === 0) {
      // A master: no optimizer moments. Start them afresh and ramp the learning rate up again.
      const st = resumed.state.stageState as StageState;
      st.rewarm = { from: st.step, steps: REWARM_STEPS };
      log(`${resumedFrom} has no optimizer state: re-warming over ${REWARM_STEPS} steps`);
    }
    recipe = resumed.state.recipe as Recipe;
    tokenizer = Tokenizer.fromBytes(resumed.tokenizer);
    params = resumed.params;
    Object.assign(history, resumed.state.history ?? {});
    if (a.restage2) {
      // Start stage 2 afresh with this version's stage-2 recipe (and --rank/--lr2/--batch2/
      // --steps2), keeping the trained base: only at the stage boundary.
      const st = resumed.state.stageState as StageState;
      const atBoundary = (st.stage === 2 && st.step === 0) ||
        (st.stage === 1 && st.totalSteps > 0 && st.step >= st.totalSteps);
      if (!atBoundary) {
        console.error(
          "--restage2 needs a checkpoint taken at the end of stage 1 or the start of stage 2",
        );
        return 1;
      }
      const fresh = defaultRecipe(recipe.config, recipe.seed);
      const rank = a.rank ? Number(a.rank) : fresh.rank;
      recipe.stage2 = { ...fresh.stage2, steps: Number(a.steps2 ?? a.steps ?? 0) };
      if (a.batch2) recipe.stage2.batch = Number(a.batch2);
      if (a.lr2) recipe.stage2.lr = Number(a.lr2);
      recipe.loss = fresh.loss;
      recipe.sampling = fresh.sampling;
      withRetrieval(recipe, a.ret);
      if (rank !== recipe.rank) {
        const init = initParams(recipe.config, rank, recipe.seed);
        for (const [k, v] of init) if (k.startsWith("lora.")) params.set(k, v);
        recipe.rank = rank;
      }
      if (st.stage === 2) {
        st.totalSteps = recipe.stage2.steps;
        resumed.m.clear();
        resumed.v.clear();
      }
      log(
        `--restage2: rank ${rank}, ${JSON.stringify(recipe.stage2)}, loss ${
          JSON.stringify(recipe.loss)
        }`,
      );
    }
    if (a.extend2) {
      const st = resumed.state.stageState as StageState;
      if (st.stage !== 2 || st.step < st.totalSteps) {
        console.error("--extend2 needs the master or checkpoint of a finished stage 2");
        return 1;
      }
      // Stretch the schedule: planned anew from --steps2 or the budget, as if the stage had been
      // planned longer; fresh moments, so the learning rate ramps up again.
      const more = Number(a.steps2 ?? 0);
      st.totalSteps = more > 0 ? st.step + more : 0;
      st.rewarm = { from: st.step, steps: REWARM_STEPS };
      recipe.stage2.steps = st.totalSteps;
      if (a.restart) st.restartAt = st.step;
      if (a.lr2) recipe.stage2.lr = Number(a.lr2);
      resumed.m.clear();
      resumed.v.clear();
      log(
        `--extend2: stage 2 continues from step ${st.step}${more > 0 ? ` for ${more} steps` : ""}`,
      );
    }
    log(
      `resuming from ${resumedFrom}: stage ${
        (resumed.state.stageState as StageState).stage
      }, step ${(resumed.state.stageState as StageState).step}`,
    );
  } else {
    const base = CONFIGS[a.config!];
    if (!base) {
      console.error(
        `Unknown --config ${a.config}; choose one of ${Object.keys(CONFIGS).join(", ")}`,
      );
      return 1;
    }
    const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v));
    const config = parseConfig({
      ...base,
      vocabSize: num(a.vocab, base.vocabSize),
      dim: num(a.dim, base.dim),
      layers: num(a.layers, base.layers),
      heads: num(a.heads, base.heads),
      ffnDim: num(a.ffn, base.ffnDim),
      memorySlots: num(a.slots, base.memorySlots),
      segmentTokens: num(a.segment, base.segmentTokens),
      window: num(a.window, base.window),
    });
    recipe = defaultRecipe(config, Number(a.seed));
    if (a.rank) recipe.rank = Number(a.rank);
    const steps = (s: string | undefined) => (s === undefined ? undefined : Number(s));
    recipe.stage1.steps = steps(a.steps1) ?? steps(a.steps) ?? 0;
    recipe.stage2.steps = steps(a.steps2) ?? steps(a.steps) ?? 0;
    if (a.batch1) recipe.stage1.batch = Number(a.batch1);
    if (a.batch2) recipe.stage2.batch = Number(a.batch2);
    if (a.lr1) recipe.stage1.lr = Number(a.lr1);
    if (a.lr2) recipe.stage2.lr = Number(a.lr2);
    withRetrieval(recipe, a.ret);
    tokenizer = null as unknown as Tokenizer;
    params = initParams(config, recipe.rank, recipe.seed);
  }
  if (a.windows !== undefined) {
    const n = Number(a.windows);
    if (!Number.isInteger(n) || n < 0 || n > recipe.config.window) {
      console.error(`--windows: a whole number of tokens, 0 to ${recipe.config.window}`);
      return 1;
    }
    recipe.sampling = { ...recipe.sampling, windowTokens: n > 0 ? n : undefined };
    log(n > 0 ? `stage-2 spans: windows of ${n} tokens` : "stage-2 spans: the level mix");
  }
  const config = recipe.config;

  // ── data ─────────────────────────────────────────────────────────────────────
  // a resumed run reads the same data as the run it continues
  const maxBytes = resumed
    ? Number(resumed.state.maxBytes ?? Infinity)
    : a["data-mb"]
    ? Number(a["data-mb"]) * 1e6
    : Infinity;
  log(`reading ${trainPath}`);
  const trainDocs = await readDocs(trainPath, maxBytes);
  const validDocs = await readDocs(validPath, Infinity);
  if (!resumed) {
    const tStart = performance.now();
    const sample = tokenizerSample(trainDocs, 12e6);
    tokenizer = trainBpe(sample, config.vocabSize);
    log(
      `tokenizer: ${tokenizer.vocabSize} tokens from ${sample.length} documents in ${
        fmtTime(performance.now() - tStart)
      }`,
    );
    if (tokenizer.vocabSize !== config.vocabSize) {
      config.vocabSize = tokenizer.vocabSize;
      params = initParams(config, recipe.rank, recipe.seed);
    }
  }
  let tStart = performance.now();
  const train = tokenizeDocuments(trainDocs, tokenizer);
  const valid = tokenizeDocuments(validDocs, tokenizer);
  trainDocs.length = 0;
  log(
    `tokenized: ${train.tokens.length} train / ${valid.tokens.length} valid tokens in ${
      fmtTime(performance.now() - tStart)
    }`,
  );
  const val = validationWork(valid, recipe);

  // ── engines ──────────────────────────────────────────────────────────────────
  const workers = a.workers ? Number(a.workers) : Math.min(2, cpus().length);
  const maxRows = Math.max(
    recipe.seqLen,
    2 * config.memorySlots + config.segmentTokens,
    config.memorySlots + config.window + 1,
  );
  const deterministic = a.deterministic!;
  const init = { config, rank: recipe.rank, params, maxRows, deterministic };
  const pool: GradPool = workers > 1
    ? await WorkerPool.create(workers, init)
    : new LocalPool(await createWasmBackend({ deterministic }), init);
  const nParams = (stage: Stage) =>
    paramSpecs(config, recipe.rank).filter((s) => s.stage === stage).reduce(
      (x, s) => x + numel(s.shape),
      0,
    );
  log(
    `model: ${JSON.stringify(config)}; ${nParams(1)} base + ${
      nParams(2)
    } stage-2 parameters; ${pool.size} worker(s)`,
  );

  const meta = () => ({
    recipe,
    data: manifest
      ? { corpus: manifest.format, hash: manifest.hash, train: manifest.outputs?.train?.sha256 }
      : null,
    tokens: { train: train.tokens.length, valid: valid.tokens.length },
    history,
  });
  let stageState: StageState;
  // This invocation, for the manifest's record of every part of a run.
  const firstState = resumed?.state.stageState as StageState | undefined;
  const part = {
    command: `deno task train ${Deno.args.join(" ")}`.trim(),
    startedAt: new Date().toISOString(),
    resumedFrom,
    kernels: deterministic ? "deterministic" : "fast",
    workers,
    from: { stage: firstState?.stage ?? 1, step: firstState?.step ?? 0 },
  };
  const tokensAtStart = { 1: 0, 2: 0 } as Record<number, number>;
  if (firstState) tokensAtStart[firstState.stage] = firstState.tokens;
  const recordPart = (s: StageState) => {
    const parts = (history.parts ?? []) as unknown[];
    const done = { 1: 0, 2: 0 } as Record<number, number>;
    if (s.stage === 2) {
      done[2] = s.tokens - tokensAtStart[2];
      const s1 = history.stage1 as { tokens?: number } | undefined;
      if (part.from.stage === 1 && s1?.tokens) done[1] = s1.tokens - tokensAtStart[1];
    } else done[1] = s.tokens - tokensAtStart[1];
    parts.push({
      ...part,
      to: { stage: s.stage, step: s.step },
      tokens: done[1] + done[2],
      seconds: Math.round((performance.now() - t0) / 1000),
    });
    history.parts = parts;
  };
  const loopState = (s: StageState) => ({
    recipe,
    stageState: s,
    history,
    maxBytes: Number.isFinite(maxBytes) ? maxBytes : null,
  });
  // The checkpoint (with optimizer moments) or, withMoments false, a master that carries the
  // loop state and can be resumed on another machine (see --resume).
  const saveCheckpoint = async (s: StageState, path = ckptPath, withMoments = true) => {
    const st = await pool.state();
    const bytes = await writeMasterFile(
      {
        config,
        rank: recipe.rank,
        tokenizer: tokenizer.toBytes(),
        params: st.params,
        merged: st.merged,
        metadata: meta(),
      },
      {
        m: withMoments ? st.m : new Map(),
        v: withMoments ? st.v : new Map(),
        state: loopState(s),
      },
    );
    await writeAtomic(path, bytes);
  };
  let lastPrint = 0;
  const onProgress = (p: Progress) => {
    const now = performance.now();
    if (now - lastPrint < 10_000 && p.state.step !== p.state.totalSteps && p.state.step > 3) return;
    lastPrint = now;
    const terms = Object.entries(p.state.last).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(" ");
    log(
      `stage ${p.state.stage} step ${p.state.step}/${p.state.totalSteps || "?"} loss ${
        p.loss.toFixed(4)
      } (avg ${p.state.lossAvg.toFixed(4)}) ${terms} lr ${p.lr.toExponential(2)} |g| ${
        p.gradNorm.toFixed(2)
      } | ${p.tokensPerSecond.toFixed(0)} tok/s | ${fmtTime(now - t0)} elapsed, stage left ${
        fmtTime(p.leftMs)
      }, total left ${fmtTime(deadline - now)}`,
    );
  };
  const reserveMs = Math.max(30_000, budgetMs * 0.02);
  let stopAfter = a["stop-after"] === undefined ? undefined : Number(a["stop-after"]);
  const stopped = async (s: StageState, before: number) => {
    const partOver = partDeadline !== undefined && performance.now() >= partDeadline &&
      s.step < s.totalSteps;
    if (stopAfter !== undefined) stopAfter -= s.step - before;
    if (!partOver && (stopAfter === undefined || stopAfter > 0)) return false;
    recordPart(s);
    await saveCheckpoint(s);
    await saveCheckpoint(s, masterPath, false);
    log(
      `stopped (${
        partOver ? "--part-minutes" : "--stop-after"
      }) at stage ${s.stage} step ${s.step}/${s.totalSteps}: ${ckptPath}, ${masterPath}; continue with --resume`,
    );
    await pool.close();
    return true;
  };
  const stage1Share = 0.62;
  // One stage from `stageState`: validation before, training within `budgetMs` (or its fixed
  // steps), validation after. Null when --stop-after ended the run.
  const runStage = async (
    valWork: Work,
    budgetMs: number | undefined,
    describe: (e: { loss: number; terms?: MemoryLosses }) => string,
  ) => {
    const before = await evaluate(pool, valWork);
    log(`stage ${stageState.stage}: valid ${describe(before)} before training`);
    const step0 = stageState.step;
    stageState = await trainStage({
      pool,
      recipe,
      sampler: new Sampler(train, 0),
      state: stageState,
      budgetMs,
      onProgress,
      checkpointEvery: Number(a["checkpoint-every"]),
      saveCheckpoint,
      stopAfter,
      stopAtMs: partDeadline,
    });
    if (await stopped(stageState, step0)) return null;
    const after = await evaluate(pool, valWork);
    log(`stage ${stageState.stage} done: ${stageState.step} steps, valid ${describe(after)}`);
    return after;
  };
  const stageSummary = (st: StageState) => ({
    steps: st.step,
    tokens: st.tokens,
    seconds: Math.round(st.elapsedMs / 1000),
    trainLoss: st.lossAvg,
  });

  // ── stage 1 ──────────────────────────────────────────────────────────────────
  const resumedState = resumed?.state.stageState as StageState | undefined;
  let stage: Stage = resumedState?.stage ?? 1;
  if (stage === 1) {
    await pool.setStage(1);
    if (resumed) await pool.load(resumed.params, resumed.m, resumed.v);
    stageState = resumedState ?? newStageState(1, recipe.stage1.steps, recipe.seed * 2 + 1);
    const left = deadline - performance.now() - reserveMs;
    const after = await runStage(
      val.lm,
      recipe.stage1.steps > 0 ? undefined : left * stage1Share,
      (e) => `loss ${e.loss.toFixed(4)}`,
    );
    if (!after) return 0;
    history.stage1 = { ...stageSummary(stageState), validLoss: after.loss };
    stage = 2;
    // stage 2 starts from copies of the base norms in each direction
    const st = await pool.state();
    copyBaseNorms(config, st.params);
    await pool.setStage(2);
    await pool.load(st.params);
    stageState = newStageState(2, recipe.stage2.steps, recipe.seed * 2 + 2);
    await saveCheckpoint(stageState);
  } else {
    await pool.setStage(2);
    await pool.load(resumed!.params, resumed!.m, resumed!.v);
    stageState = resumedState!;
  }

  // ── stage 2 ──────────────────────────────────────────────────────────────────
  {
    const left = deadline - performance.now() - reserveMs;
    const after = await runStage(
      val.mem,
      recipe.stage2.steps > 0 ? undefined : left,
      (e) => JSON.stringify(e.terms),
    );
    if (!after) return 0;
    history.stage2 = { ...stageSummary(stageState), valid: after.terms };
  }
  recordPart(stageState);
  await saveCheckpoint(stageState);

  // ── export ───────────────────────────────────────────────────────────────────
  tStart = performance.now();
  const st = await pool.state();
  const finalLm = await evaluate(pool, val.lm);
  const metadata = {
    ...meta(),
    trainedAt: new Date().toISOString(),
    // every part of the run (one, unless it was stopped and resumed)
    durationSeconds: (history.parts as { seconds: number }[]).reduce((x, p) => x + p.seconds, 0),
    workers: pool.size,
    steps: { stage1: (history.stage1 as { steps?: number })?.steps ?? 0, stage2: stageState.step },
    finalLosses: {
      stage1Valid: (history.stage1 as { validLoss?: number })?.validLoss,
      stage2Valid: (history.stage2 as { valid?: unknown })?.valid,
      lmValidAfterStage2: finalLm.loss,
    },
  };
  const input = {
    config,
    rank: recipe.rank,
    tokenizer: tokenizer.toBytes(),
    params: st.params,
    merged: st.merged,
    metadata,
  };
  const modelPath = `${a.out}/${a.name}.r3w`;
  await writeAtomic(modelPath, await writeModelFile(input));
  // The master keeps the loop state (not the optimizer's), so the run can be continued from it.
  await writeAtomic(
    masterPath,
    await writeMasterFile(input, { m: new Map(), v: new Map(), state: loopState(stageState) }),
  );
  await Deno.writeTextFile(`${a.out}/${a.name}.json`, JSON.stringify(metadata, null, 2) + "\n");
  log(
    `wrote ${modelPath} (${
      (await Deno.stat(modelPath)).size
    } bytes), ${masterPath}, ${a.out}/${a.name}.json in ${fmtTime(performance.now() - tStart)}`,
  );
  await pool.close();
  return 0;
}

if (import.meta.main) Deno.exit(await main());
