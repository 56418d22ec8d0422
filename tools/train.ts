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
import { cpus } from "node:os";
import { createWasmBackend } from "../src/backend/wasm/wasm_backend.ts";
import { trainBpe } from "../src/model/tokenizer.ts";
import { writeMasterFile, writeModelFile } from "../src/train/checkpoint.ts";
import { Sampler, tokenizeDocuments } from "../src/train/data.ts";
import { copyBaseNorms, initParams, numel, paramSpecs, type Stage } from "../src/train/params.ts";
import { type GradPool, LocalPool, type Work, WorkerPool } from "../src/train/pool.ts";
import type { MemoryLosses } from "../src/train/engine.ts";
import {
  evaluate,
  newStageState,
  type Progress,
  type StageState,
  trainStage,
} from "../src/train/trainer.ts";
import {
  exists,
  fmtTime,
  log,
  readDocs,
  tokenizerSample,
  validationWork,
  writeAtomic,
} from "./train/io.ts";
import { HELP, parseTrainArgs } from "./train/options.ts";
import { planRun } from "./train/recipe.ts";

export { CONFIGS, defaultRecipe } from "./train/recipe.ts";

async function main(): Promise<number> {
  const a = parseTrainArgs(Deno.args);
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
  const planned = await planRun(a, ckptPath, masterPath);
  if (typeof planned === "string") {
    console.error(planned);
    return 1;
  }
  const { recipe, resumed, history, resumedFrom } = planned;
  let { tokenizer, params } = planned;
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
