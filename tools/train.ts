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
 * The options are in `train/options.ts`, the recipes in `train/recipe.ts`, what a run starts from
 * in `train/setup.ts` and the stages, checkpoints and export in `train/run.ts`.
 *
 * @module
 */
import { HELP, parseTrainArgs } from "./train/options.ts";
import { TrainRun } from "./train/run.ts";
import { setUpRun } from "./train/setup.ts";

export { CONFIGS, defaultRecipe } from "./train/recipe.ts";

async function main(): Promise<number> {
  const a = parseTrainArgs(Deno.args);
  if (a.help) {
    console.log(HELP);
    return 0;
  }
  // the corpus, the plan (fresh or resumed), the data and the engines
  const setup = await setUpRun(a);
  if (typeof setup === "string") {
    console.error(setup);
    return 1;
  }
  await new TrainRun(setup, Deno.args).train();
  return 0;
}

if (import.meta.main) Deno.exit(await main());
