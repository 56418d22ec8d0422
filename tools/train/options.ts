/**
 * The trainer's command line: its options and help text.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** The options `deno task train` takes (see {@link HELP}). */
export const TRAIN_OPTIONS = {
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
} as const;

/** The parsed command line. */
export type TrainArgs = ReturnType<typeof parseTrainArgs>;

/**
 * Parses the trainer's command line.
 *
 * @example
 * ```ts
 * import { parseTrainArgs } from "./options.ts";
 * console.log(parseTrainArgs(["--minutes", "5"]).minutes); // "5"
 * ```
 */
export function parseTrainArgs(args: string[]) {
  return parseArgs({ args, options: TRAIN_OPTIONS }).values;
}

/** The help text. */
export const HELP = `Usage: deno task train [options]

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
  --ret W            stage-2 retrieval term (InfoNCE on search keys) with weight W (default off;
                     also with --extend2)
  --workers N        data-parallel workers (default: CPU cores, at most 2; 1 = in-thread)
  --deterministic    kernels without fused multiply-add: the same parameters on every machine
                     (default: fast kernels, the same parameters run to run on one machine)
  --data-mb N        use only the first N MB of training text (quick runs)
  --checkpoint-every N    steps between checkpoints (default 200)
  --stop-after N     save a checkpoint and exit after N steps (to test --resume)
  --help`;
