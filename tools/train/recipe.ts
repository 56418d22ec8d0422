/**
 * The trainer's recipes: named model shapes, the default recipe, and a run's plan from its
 * options (fresh, or resumed from a checkpoint or master). Used by `tools/train.ts`.
 *
 * @module
 */
import { type ModelConfig, parseConfig } from "../../src/model/config.ts";
import { Tokenizer } from "../../src/model/tokenizer.ts";
import { readMasterFile } from "../../src/train/checkpoint.ts";
import { initParams } from "../../src/train/params.ts";
import type { Recipe, StageState } from "../../src/train/trainer.ts";
import { exists, log } from "./io.ts";
import type { TrainArgs } from "./options.ts";

type MasterFile = Awaited<ReturnType<typeof readMasterFile>>;

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
export function withRetrieval(recipe: Recipe, ret: string | undefined): void {
  if (ret === undefined) return;
  const w = Number(ret);
  if (!(w >= 0)) throw new RangeError(`--ret must be a weight >= 0, got ${ret}`);
  recipe.loss = { ...recipe.loss, ret: w };
  recipe.sampling = { ...recipe.sampling, queryDrop: w > 0 ? 1 / 3 : undefined };
}

/** Steps over which the learning rate ramps up again after resuming without optimizer moments. */
export const REWARM_STEPS = 50;

/** What {@link planRun} settles before any data is read. */
export interface RunPlan {
  /** The recipe (fresh from the options, or the resumed run's with the options applied). */
  recipe: Recipe;
  /** The resumed run's tokenizer; a fresh run's is trained later (null until then). */
  tokenizer: Tokenizer;
  /** The parameters to start from. */
  params: Map<string, Float32Array>;
  /** The master or checkpoint resumed from, if any. */
  resumed: MasterFile | null;
  /** The run's history (the resumed run's, continued). */
  history: Record<string, unknown>;
  /** Where it resumed from. */
  resumedFrom: string | null;
}

/**
 * The recipe, tokenizer and parameters of a run: fresh from `--config` and the shape options, or
 * resumed from a checkpoint or master with `--restage2`, `--extend2`/`--restart`, `--lr2`,
 * `--windows` applied.
 *
 * @returns The plan, or the message of what is wrong with the options.
 */
export async function planRun(
  a: TrainArgs,
  ckptPath: string,
  masterPath: string,
): Promise<RunPlan | string> {
  const plan = a.resume ? await resumedPlan(a, ckptPath, masterPath) : freshPlan(a);
  if (typeof plan === "string") return plan;
  return applyWindows(plan.recipe, a.windows) ?? plan;
}

// A run resumed from `--from`, the checkpoint or the master, with the options that may change a
// resumed run applied.
async function resumedPlan(
  a: TrainArgs,
  ckptPath: string,
  masterPath: string,
): Promise<RunPlan | string> {
  const resumedFrom = a.from ??
    ((await exists(ckptPath)) ? ckptPath : (await exists(masterPath)) ? masterPath : null);
  if (!resumedFrom) {
    return `--resume: no checkpoint at ${ckptPath} and no master at ${masterPath}`;
  }
  const resumed = await readMasterFile(await Deno.readFile(resumedFrom));
  if (!resumed.state.stageState) {
    return `--resume: ${resumedFrom} has no loop state (a master written before resumable masters)`;
  }
  const st = resumed.state.stageState as StageState;
  if (resumed.m.size === 0) {
    // A master: no optimizer moments. Start them afresh and ramp the learning rate up again.
    st.rewarm = { from: st.step, steps: REWARM_STEPS };
    log(`${resumedFrom} has no optimizer state: re-warming over ${REWARM_STEPS} steps`);
  }
  const recipe = resumed.state.recipe as Recipe;
  const tokenizer = Tokenizer.fromBytes(resumed.tokenizer);
  const params = resumed.params;
  const history: Record<string, unknown> = {};
  Object.assign(history, resumed.state.history ?? {});
  const wrong = (a.restage2 ? restage2(a, recipe, params, resumed) : undefined) ??
    (a.extend2 ? extend2(a, recipe, resumed) : undefined);
  if (wrong) return wrong;
  log(`resuming from ${resumedFrom}: stage ${st.stage}, step ${st.step}`);
  return { recipe, tokenizer, params, resumed, history, resumedFrom };
}

// `--restage2`: starts stage 2 afresh with this version's stage-2 recipe (and --rank/--lr2/
// --batch2/--steps2), keeping the trained base: only at the stage boundary. Returns what is
// wrong, if anything.
function restage2(
  a: TrainArgs,
  recipe: Recipe,
  params: Map<string, Float32Array>,
  resumed: MasterFile,
): string | undefined {
  const st = resumed.state.stageState as StageState;
  const atBoundary = (st.stage === 2 && st.step === 0) ||
    (st.stage === 1 && st.totalSteps > 0 && st.step >= st.totalSteps);
  if (!atBoundary) {
    return "--restage2 needs a checkpoint taken at the end of stage 1 or the start of stage 2";
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

// `--extend2` (with `--restart`, `--lr2`, `--ret`): continues a stage-2 run. Returns what is
// wrong, if anything.
function extend2(a: TrainArgs, recipe: Recipe, resumed: MasterFile): string | undefined {
  const st = resumed.state.stageState as StageState;
  // A stage planned from the time budget ends at its deadline, a few steps short of its last
  // estimate of the total: that is a finished stage too.
  if (st.stage !== 2) return "--extend2 needs the master or checkpoint of a stage-2 run";
  // Stretch the schedule: planned anew from --steps2 or the budget, as if the stage had been
  // planned longer; fresh moments, so the learning rate ramps up again.
  const more = Number(a.steps2 ?? 0);
  st.totalSteps = more > 0 ? st.step + more : 0;
  st.rewarm = { from: st.step, steps: REWARM_STEPS };
  recipe.stage2.steps = st.totalSteps;
  if (a.restart) st.restartAt = st.step;
  if (a.lr2) recipe.stage2.lr = Number(a.lr2);
  withRetrieval(recipe, a.ret); // --ret W: the retrieval term for the extension
  resumed.m.clear();
  resumed.v.clear();
  log(`--extend2: stage 2 continues from step ${st.step}${more > 0 ? ` for ${more} steps` : ""}`);
}

// A fresh run from `--config` and the shape, step, batch and learning-rate options.
function freshPlan(a: TrainArgs): RunPlan | string {
  const base = CONFIGS[a.config!];
  if (!base) {
    return `Unknown --config ${a.config}; choose one of ${Object.keys(CONFIGS).join(", ")}`;
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
  const recipe = defaultRecipe(config, Number(a.seed));
  if (a.rank) recipe.rank = Number(a.rank);
  const steps = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  recipe.stage1.steps = steps(a.steps1) ?? steps(a.steps) ?? 0;
  recipe.stage2.steps = steps(a.steps2) ?? steps(a.steps) ?? 0;
  if (a.batch1) recipe.stage1.batch = Number(a.batch1);
  if (a.batch2) recipe.stage2.batch = Number(a.batch2);
  if (a.lr1) recipe.stage1.lr = Number(a.lr1);
  if (a.lr2) recipe.stage2.lr = Number(a.lr2);
  withRetrieval(recipe, a.ret);
  // The tokenizer is trained on the corpus later, by the caller.
  const tokenizer = null as unknown as Tokenizer;
  const params = initParams(config, recipe.rank, recipe.seed);
  return { recipe, tokenizer, params, resumed: null, history: {}, resumedFrom: null };
}

// `--windows N`: stage-2 spans of N-token windows (0: the level mix). Returns what is wrong, if
// anything.
function applyWindows(recipe: Recipe, windows: string | undefined): string | undefined {
  if (windows === undefined) return;
  const n = Number(windows);
  if (!Number.isInteger(n) || n < 0 || n > recipe.config.window) {
    return `--windows: a whole number of tokens, 0 to ${recipe.config.window}`;
  }
  recipe.sampling = { ...recipe.sampling, windowTokens: n > 0 ? n : undefined };
  log(n > 0 ? `stage-2 spans: windows of ${n} tokens` : "stage-2 spans: the level mix");
}
