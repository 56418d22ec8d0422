/**
 * A training run from its set-up (`setup.ts`): stage 1, the switch to stage 2, stage 2, the
 * checkpoints and stops on the way, and the export of the int8 model, its manifest and the f32
 * master. Used by `tools/train.ts`.
 *
 * @module
 */
import { writeMasterFile, writeModelFile } from "../../src/train/checkpoint.ts";
import { Sampler } from "../../src/train/data.ts";
import type { MemoryLosses } from "../../src/train/engine.ts";
import { copyBaseNorms } from "../../src/train/params.ts";
import type { Work } from "../../src/train/pool.ts";
import {
  evaluate,
  newStageState,
  type Progress,
  type Recipe,
  type StageState,
  trainStage,
} from "../../src/train/trainer.ts";
import { fmtTime, log, writeAtomic } from "./io.ts";
import type { RunSetup } from "./setup.ts";

/** Share of the time left that stage 1 gets when its steps are planned from the budget. */
const STAGE1_SHARE = 0.62;

/** A validation result as {@link evaluate} gives it. */
type Validation = { loss: number; terms?: MemoryLosses };

/** This invocation's record in the manifest's `history.parts` (before it knows where it ends). */
interface Part {
  /** The command line, as typed. */
  command: string;
  /** When this invocation started (ISO 8601). */
  startedAt: string;
  /** The checkpoint or master it resumed from, if any. */
  resumedFrom: string | null;
  /** `deterministic` or `fast` kernels. */
  kernels: string;
  /** Data-parallel workers asked for. */
  workers: number;
  /** Where it started. */
  from: { stage: number; step: number };
}

/** A stage's summary in the manifest's history. */
function stageSummary(st: StageState) {
  return {
    steps: st.step,
    tokens: st.tokens,
    seconds: Math.round(st.elapsedMs / 1000),
    trainLoss: st.lossAvg,
  };
}

/**
 * One invocation of `deno task train`: trains what is left of the run it set up (fresh or
 * resumed) and exports the model, or stops early with a checkpoint and a master that `--resume`
 * continues (`--stop-after`, `--part-minutes`). Closes the engines either way.
 *
 * @example
 * ```ts ignore
 * import { parseTrainArgs } from "./options.ts";
 * import { TrainRun } from "./run.ts";
 * import { setUpRun } from "./setup.ts";
 * const argv = ["--config", "tiny", "--steps", "6", "--out", "build/try"];
 * const setup = await setUpRun(parseTrainArgs(argv));
 * if (typeof setup !== "string") await new TrainRun(setup, argv).train();
 * ```
 */
export class TrainRun {
  readonly #s: RunSetup;
  readonly #recipe: Recipe;
  /** The manifest's history: stage summaries and every part of the run. */
  readonly #history: Record<string, unknown>;
  readonly #part: Part;
  /** Tokens each stage had processed when this invocation started. */
  readonly #tokensAtStart: Record<number, number> = { 1: 0, 2: 0 };
  /** Time kept back from the stages' budgets for validation and export. */
  readonly #reserveMs: number;
  /** Steps left before `--stop-after` stops this invocation. */
  #stopAfter: number | undefined;
  #stageState!: StageState;
  #lastPrint = 0;

  /**
   * @param setup What the run starts from ({@link RunSetup}).
   * @param argv The command line as typed, for the manifest's record of this invocation.
   */
  constructor(setup: RunSetup, argv: readonly string[]) {
    this.#s = setup;
    this.#recipe = setup.plan.recipe;
    this.#history = setup.plan.history;
    const firstState = setup.plan.resumed?.state.stageState as StageState | undefined;
    this.#part = {
      command: `deno task train ${argv.join(" ")}`.trim(),
      startedAt: new Date().toISOString(),
      resumedFrom: setup.plan.resumedFrom,
      kernels: setup.deterministic ? "deterministic" : "fast",
      workers: setup.workers,
      from: { stage: firstState?.stage ?? 1, step: firstState?.step ?? 0 },
    };
    if (firstState) this.#tokensAtStart[firstState.stage] = firstState.tokens;
    this.#reserveMs = Math.max(30_000, setup.budgetMs * 0.02);
    const stopAfter = setup.args["stop-after"];
    this.#stopAfter = stopAfter === undefined ? undefined : Number(stopAfter);
  }

  /**
   * Trains both stages (from where a resumed run was) and exports the model, or stops early with
   * a checkpoint and a master.
   */
  async train(): Promise<void> {
    const { pool, plan: { resumed } } = this.#s;
    const resumedState = resumed?.state.stageState as StageState | undefined;
    if ((resumedState?.stage ?? 1) === 1) {
      if (!(await this.#stage1(resumedState))) return;
      await this.#startStage2();
    } else {
      await pool.setStage(2);
      await pool.load(resumed!.params, resumed!.m, resumed!.v);
      this.#stageState = resumedState!;
    }
    if (!(await this.#stage2())) return;
    this.#recordPart(this.#stageState);
    await this.#saveCheckpoint(this.#stageState);
    await this.#export();
  }

  /** Stage 1, fresh or from `resumedState`. False when the run stopped. */
  async #stage1(resumedState: StageState | undefined): Promise<boolean> {
    const { pool, plan: { resumed }, val, deadline } = this.#s, recipe = this.#recipe;
    await pool.setStage(1);
    if (resumed) await pool.load(resumed.params, resumed.m, resumed.v);
    this.#stageState = resumedState ??
      newStageState(1, recipe.stage1.steps, recipe.seed * 2 + 1);
    const left = deadline - performance.now() - this.#reserveMs;
    const after = await this.#runStage(
      val.lm,
      recipe.stage1.steps > 0 ? undefined : left * STAGE1_SHARE,
      (e) => `loss ${e.loss.toFixed(4)}`,
    );
    if (!after) return false;
    this.#history.stage1 = { ...stageSummary(this.#stageState), validLoss: after.loss };
    return true;
  }

  /** Switches the engines to stage 2 and checkpoints its fresh start. */
  async #startStage2(): Promise<void> {
    const { pool } = this.#s, recipe = this.#recipe;
    // stage 2 starts from copies of the base norms in each direction
    const st = await pool.state();
    copyBaseNorms(recipe.config, st.params);
    await pool.setStage(2);
    await pool.load(st.params);
    this.#stageState = newStageState(2, recipe.stage2.steps, recipe.seed * 2 + 2);
    await this.#saveCheckpoint(this.#stageState);
  }

  /** Stage 2 from the current state, within what is left of the budget. False when it stopped. */
  async #stage2(): Promise<boolean> {
    const left = this.#s.deadline - performance.now() - this.#reserveMs;
    const after = await this.#runStage(
      this.#s.val.mem,
      this.#recipe.stage2.steps > 0 ? undefined : left,
      (e) => JSON.stringify(e.terms),
    );
    if (!after) return false;
    this.#history.stage2 = { ...stageSummary(this.#stageState), valid: after.terms };
    return true;
  }

  /**
   * One stage from the current state: validation before, training within `budgetMs` (or its
   * fixed steps), validation after. Null when `--stop-after` or `--part-minutes` ended the run.
   */
  async #runStage(
    valWork: Work,
    budgetMs: number | undefined,
    describe: (e: Validation) => string,
  ): Promise<Validation | null> {
    const { pool, args: a, train, partDeadline } = this.#s;
    const before = await evaluate(pool, valWork);
    log(`stage ${this.#stageState.stage}: valid ${describe(before)} before training`);
    const step0 = this.#stageState.step;
    this.#stageState = await trainStage({
      pool,
      recipe: this.#recipe,
      sampler: new Sampler(train, 0),
      state: this.#stageState,
      budgetMs,
      onProgress: (p) => this.#onProgress(p),
      checkpointEvery: Number(a["checkpoint-every"]),
      saveCheckpoint: (s) => this.#saveCheckpoint(s),
      stopAfter: this.#stopAfter,
      stopAtMs: partDeadline,
    });
    if (await this.#stopped(this.#stageState, step0)) return null;
    const after = await evaluate(pool, valWork);
    const s = this.#stageState;
    log(`stage ${s.stage} done: ${s.step} steps, valid ${describe(after)}`);
    return after;
  }

  /** A progress line every 10 s (and for the first steps and the last). */
  #onProgress(p: Progress): void {
    const { t0, deadline } = this.#s;
    const now = performance.now();
    if (now - this.#lastPrint < 10_000 && p.state.step !== p.state.totalSteps && p.state.step > 3) {
      return;
    }
    this.#lastPrint = now;
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
  }

  /**
   * After a stage's training: when `--part-minutes` or `--stop-after` ended it early, records
   * the part, writes the checkpoint and the master, closes the engines and says true.
   */
  async #stopped(s: StageState, before: number): Promise<boolean> {
    const { partDeadline, ckptPath, masterPath, pool } = this.#s;
    const partOver = partDeadline !== undefined && performance.now() >= partDeadline &&
      s.step < s.totalSteps;
    if (this.#stopAfter !== undefined) this.#stopAfter -= s.step - before;
    if (!partOver && (this.#stopAfter === undefined || this.#stopAfter > 0)) return false;
    this.#recordPart(s);
    await this.#saveCheckpoint(s);
    await this.#saveCheckpoint(s, masterPath, false);
    const why = partOver ? "--part-minutes" : "--stop-after";
    log(
      `stopped (${why}) at stage ${s.stage} step ${s.step}/${s.totalSteps}: ${ckptPath}, ` +
        `${masterPath}; continue with --resume`,
    );
    await pool.close();
    return true;
  }

  /**
   * The checkpoint (with optimizer moments) or, `withMoments` false, a master that carries the
   * loop state and can be resumed on another machine (see `--resume`).
   */
  async #saveCheckpoint(s: StageState, path = this.#s.ckptPath, withMoments = true) {
    const { pool, plan } = this.#s;
    const st = await pool.state();
    const bytes = await writeMasterFile(
      {
        config: this.#recipe.config,
        rank: this.#recipe.rank,
        tokenizer: plan.tokenizer.toBytes(),
        params: st.params,
        merged: st.merged,
        metadata: this.#meta(),
      },
      {
        m: withMoments ? st.m : new Map(),
        v: withMoments ? st.v : new Map(),
        state: this.#loopState(s),
      },
    );
    await writeAtomic(path, bytes);
  }

  /** Writes the int8 model, its manifest and the f32 master, and closes the engines. */
  async #export(): Promise<void> {
    const { pool, val, args: a, masterPath, plan } = this.#s, history = this.#history;
    const tStart = performance.now();
    const st = await pool.state();
    const finalLm = await evaluate(pool, val.lm);
    const metadata = {
      ...this.#meta(),
      trainedAt: new Date().toISOString(),
      // every part of the run (one, unless it was stopped and resumed)
      durationSeconds: (history.parts as { seconds: number }[]).reduce((x, p) => x + p.seconds, 0),
      workers: pool.size,
      steps: {
        stage1: (history.stage1 as { steps?: number })?.steps ?? 0,
        stage2: this.#stageState.step,
      },
      finalLosses: {
        stage1Valid: (history.stage1 as { validLoss?: number })?.validLoss,
        stage2Valid: (history.stage2 as { valid?: unknown })?.valid,
        lmValidAfterStage2: finalLm.loss,
      },
    };
    const input = {
      config: this.#recipe.config,
      rank: this.#recipe.rank,
      tokenizer: plan.tokenizer.toBytes(),
      params: st.params,
      merged: st.merged,
      metadata,
    };
    const modelPath = `${a.out}/${a.name}.r3w`;
    await writeAtomic(modelPath, await writeModelFile(input));
    // The master keeps the loop state (not the optimizer's), so the run can be continued from it.
    const loop = { m: new Map(), v: new Map(), state: this.#loopState(this.#stageState) };
    await writeAtomic(masterPath, await writeMasterFile(input, loop));
    await Deno.writeTextFile(`${a.out}/${a.name}.json`, JSON.stringify(metadata, null, 2) + "\n");
    log(
      `wrote ${modelPath} (${
        (await Deno.stat(modelPath)).size
      } bytes), ${masterPath}, ${a.out}/${a.name}.json in ${fmtTime(performance.now() - tStart)}`,
    );
    await pool.close();
  }

  /** The metadata every checkpoint, master and model carries. */
  #meta() {
    const { corpusManifest: manifest, train, valid } = this.#s;
    return {
      recipe: this.#recipe,
      data: manifest
        ? { corpus: manifest.format, hash: manifest.hash, train: manifest.outputs?.train?.sha256 }
        : null,
      tokens: { train: train.tokens.length, valid: valid.tokens.length },
      history: this.#history,
    };
  }

  /** What `--resume` needs besides the parameters and moments. */
  #loopState(s: StageState) {
    const maxBytes = this.#s.maxBytes;
    return {
      recipe: this.#recipe,
      stageState: s,
      history: this.#history,
      maxBytes: Number.isFinite(maxBytes) ? maxBytes : null,
    };
  }

  /** Adds this invocation, up to `s`, to the manifest's `history.parts`. */
  #recordPart(s: StageState): void {
    const history = this.#history, start = this.#tokensAtStart;
    const parts = (history.parts ?? []) as unknown[];
    const done = { 1: 0, 2: 0 } as Record<number, number>;
    if (s.stage === 2) {
      done[2] = s.tokens - start[2];
      const s1 = history.stage1 as { tokens?: number } | undefined;
      if (this.#part.from.stage === 1 && s1?.tokens) done[1] = s1.tokens - start[1];
    } else done[1] = s.tokens - start[1];
    parts.push({
      ...this.#part,
      to: { stage: s.stage, step: s.step },
      tokens: done[1] + done[2],
      seconds: Math.round((performance.now() - this.#s.t0) / 1000),
    });
    history.parts = parts;
  }
}
