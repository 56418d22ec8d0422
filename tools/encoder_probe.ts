/**
 * `deno task probe:encoder`: a cheap diagnostic of the memory path before a long run. From a
 * trainer master, a few hundred stage-2 steps on chosen spans and losses, then the held-out
 * reconstruction from each span's own memory beside the same span from another span's memory.
 * Own falling while other does not is the encoder writing the span into its slots; both falling
 * is the decoder learning the text's prior.
 *
 * ```sh
 * deno task probe:encoder --spans windows --length 16 --loss rec   # fixed-length windows
 * deno task probe:encoder --spans recipe --loss recipe             # the trainer's own samples
 * deno task probe:encoder --only fwd                               # the encoder alone learns
 * ```
 *
 * Training spans come from the first `--data-mb` MB of `.corpus/train.txt`, held-out spans
 * (32, drawn the same way) from `.corpus/valid.txt`. Constant learning rate, AdamW with
 * `--wd`, gradient norm clipped to 1, like the trainer's stage 2 otherwise.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createWasmBackend } from "../src/backend/wasm/wasm_backend.ts";
import { Tokenizer } from "../src/model/tokenizer.ts";
import { readMasterFile } from "../src/train/checkpoint.ts";
import { TrainEngine } from "../src/train/engine.ts";
import { Sampler, type TokenizedCorpus, tokenizeDocuments } from "../src/train/data.ts";
import type { LossWeights, MemorySample } from "../src/train/engine.ts";
import type { Recipe } from "../src/train/trainer.ts";
import { spanLoss } from "../src/train/slots.ts";
import { mulberry32 } from "../src/prng.ts";
import { readDocs } from "./train/io.ts";
import { runMain, UsageError } from "./_main.ts";

const HELP = `Usage: deno task probe:encoder [options]

  --master PATH   trainer master (default weights/r3mem-default.master.r3w)
  --spans KIND    windows (random windows of --length tokens) or recipe (the trainer's stage-2
                  sampler: sentences, paragraphs, chunks); default windows
  --length N      window length (default 16)
  --loss KIND     rec (reconstruction only) or recipe (the master's loss weights); default rec
  --only fwd      train the encoder side only (forward direction, mem_init, mem_fresh)
  --steps N       steps (default 150); --every N: held-out report every N (default 50)
  --lr X          constant learning rate (default 3e-3); --wd X: weight decay (default 0)
  --batch N       spans per step (default 16)
  --data-mb N     MB of training text to sample from (default 4)
  --corpus DIR    corpus directory (default .corpus)
  --help`;

// Spans of one kind from one corpus: fixed-length windows or the trainer's samples.
function spanSource(
  corpus: TokenizedCorpus,
  recipe: Recipe,
  kind: string,
  length: number,
  seed: number,
) {
  if (kind === "recipe") {
    const sampler = new Sampler(corpus, seed);
    return () => sampler.memorySample(recipe.sampling) as MemorySample;
  }
  const rand = mulberry32(seed), { tokens, docStart } = corpus;
  return (): MemorySample => {
    for (;;) {
      const d = Math.floor(rand() * (docStart.length - 1));
      const a = docStart[d], b = docStart[d + 1];
      if (b - a < length + 1) continue;
      const s = a + Math.floor(rand() * (b - a - length));
      return {
        span: tokens.slice(s, s + length),
        next: tokens.slice(s + length, Math.min(b, s + length + 64)),
      };
    }
  };
}

/** Runs the probe; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  const { values: a } = parseArgs({
    args,
    options: {
      master: { type: "string", default: "weights/r3mem-default.master.r3w" },
      spans: { type: "string", default: "windows" },
      length: { type: "string", default: "16" },
      loss: { type: "string", default: "rec" },
      only: { type: "string" },
      steps: { type: "string", default: "150" },
      every: { type: "string", default: "50" },
      lr: { type: "string", default: "3e-3" },
      wd: { type: "string", default: "0" },
      batch: { type: "string", default: "16" },
      "data-mb": { type: "string", default: "4" },
      corpus: { type: "string", default: ".corpus" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (a.help) return console.log(HELP), 0;
  if (a.spans !== "windows" && a.spans !== "recipe") {
    throw new UsageError("--spans: windows or recipe");
  }
  if (a.loss !== "rec" && a.loss !== "recipe") throw new UsageError("--loss: rec or recipe");
  if (a.only !== undefined && a.only !== "fwd") throw new UsageError("--only: fwd");
  const [steps, every, batch, length] = [a.steps, a.every, a.batch, a.length].map(Number);
  const lr = Number(a.lr), wd = Number(a.wd);
  const master = await readMasterFile(await Deno.readFile(a.master!));
  const c = master.config, tok = Tokenizer.fromBytes(master.tokenizer);
  const recipe = master.state.recipe as Recipe;
  const loss: LossWeights = a.loss === "rec" ? { rec: 1, fwd: 0, cyc: 0 } : recipe.loss;
  const train = tokenizeDocuments(
    await readDocs(`${a.corpus}/train.txt`, Number(a["data-mb"]) * 1e6),
    tok,
  );
  const valid = tokenizeDocuments(await readDocs(`${a.corpus}/valid.txt`, 2e6), tok);
  const e = new TrainEngine(await createWasmBackend(), c, master.params, {
    rank: master.rank,
    maxRows: Math.max(2 * c.memorySlots + c.segmentTokens, c.memorySlots + c.window + 1),
  });
  e.setStage(2);
  const heldDraw = spanSource(valid, recipe, a.spans!, length, 77);
  const held = Array.from({ length: 32 }, () => heldDraw().span.slice(0, c.window));
  const report = () => {
    let l = 0, acc = 0, lo = 0, ao = 0;
    const n = held.length;
    for (const [i, s] of held.entries()) {
      const own = spanLoss(e, e.compress(s), s),
        other = spanLoss(e, e.compress(held[(i + 1) % n]), s);
      l += own.loss / n, acc += own.accuracy / n, lo += other.loss / n, ao += other.accuracy / n;
    }
    const f = (x: number) => x.toFixed(3);
    return `own memory ${f(l)} nats, tf ${f(acc)}; another span's memory ${f(lo)} nats, tf ${
      f(ao)
    }`;
  };
  const mean = held.reduce((s, x) => s + x.length, 0) / held.length;
  console.log(
    `probe: spans ${a.spans}${a.spans === "windows" ? ` of ${length}` : ""} (held-out mean ${
      mean.toFixed(1)
    } tokens), loss ${JSON.stringify(loss)}, ${
      a.only ? "encoder only" : "all stage-2 parameters"
    }, lr ${lr}, wd ${wd}`,
  );
  console.log(`step 0: ${report()}`);
  // which gradient values train: all, or the encoder side's
  const keep: boolean[] = [];
  for (const s of e.trainable) {
    const k = !a.only || s.name.includes("fwd") || s.name === "mem_fresh" || s.name === "mem_init";
    for (let i = 0, n = s.shape.reduce((x, y) => x * y, 1); i < n; i++) keep.push(k);
  }
  const draw = spanSource(train, recipe, a.spans!, length, 5);
  for (let step = 1; step <= steps; step++) {
    e.beginStep();
    let rec = 0;
    for (let i = 0; i < batch; i++) rec += e.memoryLoss(draw(), loss, 1 / batch).rec / batch;
    const g = e.gradients();
    let norm = 0;
    for (let i = 0; i < g.length; i++) keep[i] ? (norm += g[i] * g[i]) : (g[i] = 0);
    norm = Math.sqrt(norm);
    e.applyUpdate(g, norm > 1 ? 1 / norm : 1, lr, step, {
      beta1: 0.9,
      beta2: 0.95,
      eps: 1e-8,
      weightDecay: wd,
    });
    if (step % every === 0 || step === steps) {
      console.log(`step ${step} (train rec ${rec.toFixed(3)}): ${report()}`);
    }
  }
  e.free();
  return 0;
}

if (import.meta.main) await runMain(main);
