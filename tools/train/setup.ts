/**
 * What a training run starts from: the corpus, the plan (fresh or resumed), the tokenized data
 * and the pool of gradient engines. `TrainRun` (`run.ts`) trains from it.
 *
 * @module
 */
import { cpus } from "node:os";
import { createWasmBackend } from "../../src/backend/wasm/wasm_backend.ts";
import { trainBpe } from "../../src/model/tokenizer.ts";
import { type TokenizedCorpus, tokenizeDocuments } from "../../src/train/data.ts";
import { initParams, numel, paramSpecs, type Stage } from "../../src/train/params.ts";
import { type GradPool, LocalPool, WorkerPool } from "../../src/train/pool.ts";
import { type CorpusManifest, loadCorpusManifest } from "../corpus/manifest.ts";
import { exists, fmtTime, log, readDocs, tokenizerSample, validationWork } from "./io.ts";
import type { TrainArgs } from "./options.ts";
import { planRun, type RunPlan } from "./recipe.ts";

/** Everything a run starts from (see {@link setUpRun}). */
export interface RunSetup {
  /** The command line. */
  args: TrainArgs;
  /** `performance.now()` when the run started. */
  t0: number;
  /** The whole recipe's time budget (`--minutes`), ms. */
  budgetMs: number;
  /** `performance.now()` time by which the whole recipe should be done. */
  deadline: number;
  /** `performance.now()` time at which this invocation stops (`--part-minutes`), if any. */
  partDeadline: number | undefined;
  /** The checkpoint (with optimizer moments) in the work directory. */
  ckptPath: string;
  /** The f32 master (with loop state) in the work directory. */
  masterPath: string;
  /** The corpus's `manifest.json`, when it has one (recorded in the model's manifest). */
  corpusManifest: CorpusManifest | null;
  /** The recipe, tokenizer and starting parameters, fresh or resumed. */
  plan: RunPlan;
  /** Characters of training text read (Infinity: all of it). */
  maxBytes: number;
  /** The training split, tokenized. */
  train: TokenizedCorpus;
  /** The validation split, tokenized. */
  valid: TokenizedCorpus;
  /** Fixed validation batches of each stage. */
  val: ReturnType<typeof validationWork>;
  /** The gradient engines. */
  pool: GradPool;
  /** Data-parallel workers asked for (`--workers`). */
  workers: number;
  /** Kernels without fused multiply-add (`--deterministic`). */
  deterministic: boolean;
}

/**
 * Checks the corpus, plans the run (fresh or resumed), reads and tokenizes the data (training
 * the tokenizer of a fresh run) and starts the gradient engines.
 *
 * @returns The set-up, or the message of what is missing or wrong.
 *
 * @example
 * ```ts ignore
 * import { parseTrainArgs } from "./options.ts";
 * import { setUpRun } from "./setup.ts";
 * const setup = await setUpRun(parseTrainArgs(["--config", "tiny", "--steps", "6"]));
 * if (typeof setup === "string") console.error(setup);
 * else await setup.pool.close();
 * ```
 */
export async function setUpRun(a: TrainArgs): Promise<RunSetup | string> {
  const t0 = performance.now();
  const budgetMs = Number(a.minutes) * 60_000;
  const trainPath = `${a.corpus}/train.txt`, validPath = `${a.corpus}/valid.txt`;
  if (!(await exists(trainPath)) || !(await exists(validPath))) {
    return `No corpus at ${a.corpus}/ (train.txt, valid.txt). ` +
      "Create it first with:\n\n  deno task corpus\n";
  }
  const corpusManifest = await loadCorpusManifest(a.corpus!);
  await Deno.mkdir(a.work!, { recursive: true });
  await Deno.mkdir(a.out!, { recursive: true });
  const ckptPath = `${a.work}/checkpoint.r3w`;
  const masterPath = `${a.work}/master.r3w`;
  const partDeadline = a["part-minutes"] === undefined
    ? undefined
    : t0 + Number(a["part-minutes"]) * 60_000;
  const plan = await planRun(a, ckptPath, masterPath);
  if (typeof plan === "string") return plan;
  const data = await readData(a, plan, trainPath, validPath);
  const engines = await startPool(a, plan);
  return {
    args: a,
    t0,
    budgetMs,
    deadline: t0 + budgetMs,
    partDeadline,
    ckptPath,
    masterPath,
    corpusManifest,
    plan,
    ...data,
    ...engines,
  };
}

/**
 * Reads both splits and tokenizes them. A fresh run trains its tokenizer first (and, when the
 * tokenizer came out smaller than asked, shrinks the config and initialises the parameters
 * again: `plan` is updated in place).
 */
async function readData(a: TrainArgs, plan: RunPlan, trainPath: string, validPath: string) {
  const { recipe, resumed } = plan, config = recipe.config;
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
    plan.tokenizer = trainBpe(sample, config.vocabSize);
    log(
      `tokenizer: ${plan.tokenizer.vocabSize} tokens from ${sample.length} documents in ${
        fmtTime(performance.now() - tStart)
      }`,
    );
    if (plan.tokenizer.vocabSize !== config.vocabSize) {
      config.vocabSize = plan.tokenizer.vocabSize;
      plan.params = initParams(config, recipe.rank, recipe.seed);
    }
  }
  const tStart = performance.now();
  const train = tokenizeDocuments(trainDocs, plan.tokenizer);
  const valid = tokenizeDocuments(validDocs, plan.tokenizer);
  trainDocs.length = 0;
  log(
    `tokenized: ${train.tokens.length} train / ${valid.tokens.length} valid tokens in ${
      fmtTime(performance.now() - tStart)
    }`,
  );
  return { maxBytes, train, valid, val: validationWork(valid, recipe) };
}

/** Starts the gradient engines: `--workers` Deno workers, or one in this thread. */
async function startPool(a: TrainArgs, plan: RunPlan) {
  const { recipe, params } = plan, config = recipe.config;
  const workers = a.workers ? Number(a.workers) : Math.min(2, cpus().length);
  // the longest sequence an engine runs, in rows: a stage-1 window or a stage-2 pass
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
  return { pool, workers, deterministic };
}
