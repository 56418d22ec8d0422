/**
 * The training loop: batches from a seeded sampler, data-parallel gradients from a pool, global
 * gradient-norm clipping, AdamW with linear warmup and cosine decay, progress reports and
 * periodic checkpoints. One call trains one stage.
 *
 * @module
 */
import type { ModelConfig } from "../model/config.ts";
import type { MemorySampling, Sampler } from "./data.ts";
import type { AdamHyper, LossWeights, MemoryLosses, MemorySample } from "./engine.ts";
import type { Stage } from "./params.ts";
import type { GradPool, Work } from "./pool.ts";

/** Hyper-parameters of one stage. */
export interface StageRecipe {
  /** Optimizer steps; 0 means "as many as fit the time budget". */
  steps: number;
  /** Sequences (stage 1) or samples (stage 2) per step. */
  batch: number;
  /** Peak learning rate. */
  lr: number;
  /** Linear warmup steps (at most a tenth of the steps). */
  warmup: number;
  /** Final learning rate as a fraction of the peak (cosine decay). */
  minLrRatio: number;
}

/** Everything that defines a training run (stored in the model's metadata). */
export interface Recipe {
  /** Model shape. */
  config: ModelConfig;
  /** LoRA rank of the stage-2 adapters. */
  rank: number;
  /** Seed of parameter initialisation and sampling. */
  seed: number;
  /** Stage-1 sequence length (tokens). */
  seqLen: number;
  /** Stage 1: base language model. */
  stage1: StageRecipe;
  /** Stage 2: adapters and memory. */
  stage2: StageRecipe;
  /** Stage-2 sampling. */
  sampling: MemorySampling;
  /** Stage-2 loss weights. */
  loss: LossWeights;
  /** Global gradient-norm clip. */
  clip: number;
  /** AdamW settings. */
  adam: AdamHyper;
}

/** Loop state of a stage (JSON; stored in checkpoints). */
export interface StageState {
  /** Which stage. */
  stage: Stage;
  /** Steps done. */
  step: number;
  /** Planned steps (0 until planned from the measured speed). */
  totalSteps: number;
  /** Sampler state after the last step. */
  rng: number;
  /** Training time spent in this stage, ms. */
  elapsedMs: number;
  /** Text tokens processed. */
  tokens: number;
  /** Exponential moving average of the training loss. */
  lossAvg: number;
  /** Last step's loss terms (stage 2: rec, fwd, cyc). */
  last: Record<string, number>;
  /**
   * Set when the stage resumed without optimizer moments (from a master, not a checkpoint): the
   * learning rate ramps up again over `steps` steps after step `from`, and AdamW's bias
   * correction counts from there, as for fresh moments.
   */
  rewarm?: { from: number; steps: number };
  /**
   * Set by a warm restart (`deno task train --extend2 --restart`): the cosine schedule starts
   * again at this step, with its warmup, as if the stage began here (a curriculum phase gets the
   * full learning rate instead of the tail of the previous phase's schedule).
   */
  restartAt?: number;
}

/** One progress report. */
export interface Progress {
  /** The stage's state after the step. */
  state: StageState;
  /** The step's total loss. */
  loss: number;
  /** Learning rate used. */
  lr: number;
  /** Gradient norm before clipping. */
  gradNorm: number;
  /** Text tokens per second over the stage so far. */
  tokensPerSecond: number;
  /** Estimated ms left in the stage. */
  leftMs: number;
}

/** How to run a stage. */
export interface StageRun {
  /** Engines. */
  pool: GradPool;
  /** The recipe. */
  recipe: Recipe;
  /** Example source (its state is restored from `state.rng`). */
  sampler: Sampler;
  /** Where to start (a fresh state or one from a checkpoint). */
  state: StageState;
  /** Time budget in ms: plans `totalSteps` when the recipe says 0, and stops the stage. */
  budgetMs?: number;
  /** With a budget: lengthen the plan when the steps get faster (default true). */
  replan?: boolean;
  /** Called after every step. */
  onProgress?: (p: Progress) => void;
  /** Steps between checkpoints (0 = none). */
  checkpointEvery?: number;
  /** Writes a checkpoint of the current state. */
  saveCheckpoint?: (state: StageState) => Promise<void>;
  /** Return after this many steps of this call even if the stage is not done (testing resume). */
  stopAfter?: number;
  /**
   * Return once `performance.now()` passes this, even if the stage is not done (a run in parts);
   * unlike `budgetMs` it does not shorten the plan.
   */
  stopAtMs?: number;
}

/** A fresh state for `stage`. */
export function newStageState(stage: Stage, steps: number, rng: number): StageState {
  return {
    stage,
    step: 0,
    totalSteps: steps,
    rng,
    elapsedMs: 0,
    tokens: 0,
    lossAvg: NaN,
    last: {},
  };
}

/**
 * Learning rate at `step` (1-based) of `total`: linear warmup, then cosine decay to
 * `minLrRatio × lr`.
 *
 * @example
 * ```ts
 * import { learningRate } from "./trainer.ts";
 * const r = { steps: 100, batch: 1, lr: 1e-3, warmup: 10, minLrRatio: 0.1 };
 * console.log(learningRate(5, 100, r), learningRate(10, 100, r), learningRate(100, 100, r)); // 0.0005 0.001 0.0001
 * ```
 */
export function learningRate(step: number, total: number, r: StageRecipe): number {
  const warm = Math.max(1, Math.min(r.warmup, Math.floor(total / 10)));
  if (step <= warm) return (r.lr * step) / warm;
  const t = Math.min(1, (step - warm) / Math.max(1, total - warm));
  return r.lr * (r.minLrRatio + (1 - r.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/** The batch of one step: examples and their gradient weights. */
export function makeBatch(
  stage: Stage,
  recipe: Recipe,
  sampler: Sampler,
): { work: Work; tokens: number } {
  if (stage === 1) {
    const items: Int32Array[] = [];
    for (let i = 0; i < recipe.stage1.batch; i++) items.push(sampler.lmSequence(recipe.seqLen));
    const tokens = items.reduce((a, t) => a + t.length, 0);
    return { work: { kind: "lm", items, weights: items.map((t) => t.length / tokens) }, tokens };
  }
  const items: MemorySample[] = [];
  for (let i = 0; i < recipe.stage2.batch; i++) {
    const { span, next, query } = sampler.memorySample(recipe.sampling);
    items.push(query ? { span, next, query } : { span, next });
  }
  const tokens = items.reduce((a, s) => a + s.span.length + s.next.length, 0);
  return {
    work: { kind: "mem", items, weights: items.map(() => 1 / items.length), loss: recipe.loss },
    tokens,
  };
}

/** Mean of each stage-2 loss term over samples (ignoring terms that did not apply). */
export function meanMemoryLosses(losses: MemoryLosses[]): MemoryLosses {
  const out: MemoryLosses = { rec: 0, fwd: 0, cyc: 0 };
  for (const k of ["rec", "fwd", "cyc", "ret"] as const) {
    const xs = losses.map((l) => l[k]).filter((x): x is number =>
      x !== undefined && !Number.isNaN(x)
    );
    if (k === "ret" && xs.length === 0) continue; // the term is off: leave it out
    out[k] = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
  }
  return out;
}

/** Total stage-2 loss from its terms. */
export function totalMemoryLoss(l: MemoryLosses, w: LossWeights): number {
  let t = 0;
  if (!Number.isNaN(l.rec)) t += w.rec * l.rec;
  if (!Number.isNaN(l.fwd)) t += w.fwd * l.fwd;
  if (!Number.isNaN(l.cyc)) t += w.cyc * l.cyc;
  if (l.ret !== undefined && !Number.isNaN(l.ret)) t += (w.ret ?? 0) * l.ret;
  return t;
}

/**
 * Evaluates without gradients: stage 1 returns the token-weighted mean cross-entropy of
 * `items`; stage 2 the mean loss terms.
 */
export async function evaluate(
  pool: GradPool,
  work: Work,
): Promise<{ loss: number; terms?: MemoryLosses }> {
  const zero = { ...work, weights: work.weights.map(() => 0) } as Work;
  const { losses } = await pool.compute(zero);
  if (work.kind === "lm") {
    let s = 0, n = 0;
    (losses as number[]).forEach((l, i) => {
      s += l * work.items[i].length;
      n += work.items[i].length;
    });
    return { loss: s / n };
  }
  const terms = meanMemoryLosses(losses as MemoryLosses[]);
  return { loss: totalMemoryLoss(terms, work.loss), terms };
}

/** Global L2 norm of a gradient (f64, in order). */
export function gradientNorm(g: Float32Array): number {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.sqrt(s);
}

/**
 * Trains one stage from `run.state` to its planned number of steps (or until the time budget
 * is spent) and returns the final state. Deterministic for a seed and a pool size when the
 * number of steps is fixed.
 */
export async function trainStage(run: StageRun): Promise<StageState> {
  const { pool, recipe, sampler } = run;
  const state: StageState = { ...run.state, last: { ...run.state.last } };
  const r = state.stage === 1 ? recipe.stage1 : recipe.stage2;
  sampler.rng.state = state.rng;
  const budget = run.budgetMs ?? Infinity;
  if (state.totalSteps <= 0 && !Number.isFinite(budget)) {
    throw new RangeError("A stage needs a number of steps or a time budget");
  }
  const startElapsed = state.elapsedMs;
  const stepTimes: number[] = [];
  while (state.totalSteps <= 0 || state.step < state.totalSteps) {
    const t0 = performance.now();
    const step = state.step + 1;
    // Until planned, the schedule assumes a long run (only warmup steps happen before planning).
    const total = state.totalSteps > 0 ? state.totalSteps : 1e9;
    const rw = state.rewarm, at = state.restartAt ?? 0;
    const lr = learningRate(step - at, total - at, r) *
      (rw ? Math.min(1, (step - rw.from) / Math.max(1, rw.steps)) : 1);
    const { work, tokens } = makeBatch(state.stage, recipe, sampler);
    const { grad, losses } = await pool.compute(work);
    let loss: number;
    if (work.kind === "lm") {
      loss = (losses as number[]).reduce((a, l, i) => a + l * work.weights[i], 0);
      state.last = { lm: loss };
    } else {
      const m = meanMemoryLosses(losses as MemoryLosses[]);
      loss = totalMemoryLoss(m, recipe.loss);
      state.last = { rec: m.rec, fwd: m.fwd, cyc: m.cyc };
      if (m.ret !== undefined) state.last.ret = m.ret;
    }
    const norm = grad ? gradientNorm(grad) : 0;
    if (grad && Number.isFinite(norm)) {
      const scale = norm > recipe.clip ? recipe.clip / norm : 1;
      await pool.update(grad, scale, lr, rw ? step - rw.from : step, recipe.adam);
    }
    state.step = step;
    state.rng = sampler.rng.state;
    state.tokens += tokens;
    // (NaN at a stage's start; a checkpoint's JSON stores it as null)
    const fresh = state.lossAvg === null || Number.isNaN(state.lossAvg);
    state.lossAvg = fresh ? loss : 0.98 * state.lossAvg + 0.02 * loss;
    const dt = performance.now() - t0;
    state.elapsedMs += dt;
    stepTimes.push(dt);
    // Plan the number of steps from the measured speed.
    const spent = state.elapsedMs - startElapsed;
    // mean step time after the first steps (which include compilation and cache warm-up)
    const settled = stepTimes.length > 3 ? stepTimes.slice(3) : stepTimes;
    const msPerStep = settled.reduce((a, b) => a + b, 0) / settled.length;
    if (Number.isFinite(budget)) {
      if (state.totalSteps <= 0 && stepTimes.length >= 5) {
        state.totalSteps = Math.max(step + 1, step + Math.floor((budget - spent) / msPerStep));
      } else if (state.totalSteps > 0 && step % 25 === 0 && step < state.totalSteps) {
        // Re-plan on the recent speed (last 100 steps), which changes when the machine gets busier or quieter:
        // shorten the schedule to end on time, or lengthen it (by at most a tenth at a time, so
        // the cosine's learning rate moves smoothly) to use the budget. Only a run with a
        // budget and planned steps re-plans; fixed --steps stay fixed.
        // 100 steps: long enough that a few slow steps (another job's burst) do not swing the
        // plan, and with it the cosine's learning rate, back and forth.
        const recent = stepTimes.slice(-100);
        const msRecent = recent.reduce((a, b) => a + b, 0) / recent.length;
        const projected = spent + (state.totalSteps - step) * msRecent;
        const fit = step + Math.floor((budget - spent) / msRecent);
        if (projected > budget * 1.03) state.totalSteps = Math.max(step + 1, fit);
        else if (projected < budget * 0.95 && run.replan !== false) {
          state.totalSteps = Math.min(fit, Math.ceil(state.totalSteps * 1.1));
        }
      }
    }
    run.onProgress?.({
      state,
      loss,
      lr,
      gradNorm: norm,
      tokensPerSecond: state.tokens / (state.elapsedMs / 1000),
      leftMs: state.totalSteps > 0 ? (state.totalSteps - step) * msPerStep : budget - spent,
    });
    const every = run.checkpointEvery ?? 0;
    if (run.saveCheckpoint && every > 0 && step % every === 0 && step < state.totalSteps) {
      await run.saveCheckpoint(state);
    }
    if (spent >= budget) break;
    if (run.stopAfter !== undefined && stepTimes.length >= run.stopAfter) break;
    if (run.stopAtMs !== undefined && performance.now() >= run.stopAtMs) break;
  }
  return state;
}
