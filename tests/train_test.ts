/**
 * The trainer: gradients against finite differences, reversible recomputation against stored
 * activations, a short training run, checkpoints, and the exported model against the runtime.
 */
import { createReferenceBackend } from "../src/backend/reference.ts";
import { createWasmBackend } from "../src/backend/wasm/wasm_backend.ts";
import type { ModelConfig } from "../src/model/config.ts";
import { Tokenizer, trainBpe } from "../src/model/tokenizer.ts";
import { ReversibleTransformer } from "../src/model/transformer.ts";
import { TYPE_FRESH, TYPE_MEMORY, TYPE_TEXT, uploadWeights } from "../src/model/weights.ts";
import { readWeights } from "../src/model/weights_format.ts";
import { readMasterFile, writeMasterFile, writeModelFile } from "../src/train/checkpoint.ts";
import { Sampler, tokenizeDocuments } from "../src/train/data.ts";
import { type LossWeights, type MemorySample, TrainEngine } from "../src/train/engine.ts";
import { copyBaseNorms, initParams, numel, Rng } from "../src/train/params.ts";
import { LocalPool, WorkerPool } from "../src/train/pool.ts";
import {
  evaluate,
  makeBatch,
  newStageState,
  type Recipe,
  trainStage,
} from "../src/train/trainer.ts";
import { assert, assertEquals } from "./_assert.ts";
import { RANK, TINY } from "./_tiny.ts";

const TOKENS = new Int32Array([65, 290, 66, 67, 270, 68, 69, 70, 280, 71]);
const SAMPLE: MemorySample = {
  span: new Int32Array([65, 290, 66, 67, 270, 68]), // two segments
  next: new Int32Array([69, 70, 280]),
};
const W: LossWeights = { rec: 1, fwd: 0.5, cyc: 2 };

/** Parameters at a scale where every path carries a clear gradient (B ≠ 0, norms ≠ 1). */
function testParams(seed: number): Map<string, Float32Array> {
  const p = initParams(TINY, RANK, seed);
  const rng = new Rng(seed + 100);
  for (const [k, v] of p) {
    if (k.endsWith("norm")) { for (let i = 0; i < v.length; i++) v[i] = 1 + 0.3 * rng.normal(); }
    else if (k.endsWith(".b") || k === "type_embed") {
      for (let i = 0; i < v.length; i++) v[i] = 0.1 * rng.normal();
    } else if (k.startsWith("base.")) { for (let i = 0; i < v.length; i++) v[i] *= 10; }
  }
  return p;
}

/** How block activations reach the backward pass (see `EngineOptions`). */
type Activations = "kept" | "stored streams" | "recomputed";

function engine(params: Map<string, Float32Array>, acts: Activations = "kept"): TrainEngine {
  return new TrainEngine(createReferenceBackend(), TINY, params, {
    rank: RANK,
    maxRows: 24,
    quantizeMemory: false,
    cycleStopGradient: false,
    storeActivations: acts === "stored streams",
    recompute: acts === "recomputed",
  });
}

function stageLoss(e: TrainEngine, weight: number): number {
  if (e.stage === 1) return e.lmLoss(TOKENS, weight);
  const l = e.memoryLoss(SAMPLE, W, weight);
  return W.rec * l.rec + W.fwd * l.fwd + W.cyc * l.cyc;
}

/** Offset of each trainable tensor in the flat gradient. */
function offsets(e: TrainEngine): Map<string, number> {
  const out = new Map<string, number>();
  let o = 0;
  for (const s of e.trainable) out.set(s.name, o), o += numel(s.shape);
  return out;
}

/**
 * Central differences of the full loss against the analytic gradient for the given
 * (tensor, index) pairs.
 */
function gradCheck(e: TrainEngine, picks: [string, number][]): void {
  e.beginStep();
  stageLoss(e, 1);
  const g = e.gradients();
  const off = offsets(e);
  const params = e.readParams();
  const h = 1e-2;
  for (const [name, i] of picks) {
    const t = params.get(name)!;
    const x = t[i];
    const at = (v: number) => {
      t[i] = v;
      e.writeParams(new Map([[name, t]]));
      e.beginStep();
      return stageLoss(e, 0);
    };
    const fd = (at(x + h) - at(x - h)) / (2 * h);
    at(x);
    const an = g[off.get(name)! + i];
    assert(
      Math.abs(fd - an) <= 2e-3 + 0.05 * Math.abs(an),
      `stage ${e.stage} ${name}[${i}]: finite difference ${fd}, analytic ${an}`,
    );
  }
}

Deno.test("train: stage-1 gradient matches finite differences", () => {
  const e = engine(testParams(1));
  e.setStage(1);
  const D = TINY.dim, rng = new Rng(5);
  const picks: [string, number][] = [];
  for (let r = 0; r < 3; r++) {
    // embedding rows that are both input and output, and one only in the head
    picks.push(["base.embed", TOKENS[r + 1] * D + rng.int(D)]);
    picks.push(["base.embed", 10 * D + rng.int(D)]);
    for (const w of ["wq", "wk", "wv", "wo", "w1", "w3", "w2"]) {
      const name = `base.blocks.${r % 2}.${w}`;
      picks.push([
        name,
        rng.int(e.specs.find((s) => s.name === name)!.shape.reduce((a, b) => a * b)),
      ]);
    }
    picks.push([`base.blocks.${r % 2}.attn_norm`, rng.int(D)]);
    picks.push([`base.blocks.${r % 2}.ffn_norm`, rng.int(D)]);
    picks.push(["base.final_norm", rng.int(D)]);
    picks.push(["type_embed", TYPE_TEXT * D + rng.int(D)]);
  }
  gradCheck(e, picks);
  e.free();
});

Deno.test("train: stage-2 gradient (reconstruction, continuation, cycle) matches finite differences", () => {
  const params = testParams(2);
  copyBaseNorms(TINY, params);
  const e = engine(params);
  e.setStage(2);
  const D = TINY.dim, rng = new Rng(6);
  const picks: [string, number][] = [];
  for (const dir of ["fwd", "bwd"]) {
    for (const w of ["wq", "wv", "wo", "w1", "w2"]) {
      for (const ab of ["a", "b"]) {
        const name = `lora.${dir}.blocks.${rng.int(2)}.${w}.${ab}`;
        picks.push([name, rng.int(numel(e.specs.find((s) => s.name === name)!.shape))]);
      }
    }
    picks.push([`${dir}.blocks.${rng.int(2)}.attn_norm`, rng.int(D)]);
    picks.push([`${dir}.blocks.${rng.int(2)}.ffn_norm`, rng.int(D)]);
    picks.push([`${dir}.final_norm`, rng.int(D)]);
  }
  for (let r = 0; r < 3; r++) {
    picks.push(["mem_fresh", rng.int(TINY.memorySlots * D)]);
    picks.push(["mem_init", rng.int(TINY.memorySlots * D)]);
    for (const t of [TYPE_MEMORY, TYPE_TEXT, TYPE_FRESH]) {
      picks.push(["type_embed", t * D + rng.int(D)]);
    }
  }
  gradCheck(e, picks);
  e.free();
});

Deno.test("train: retrieval (InfoNCE on search keys) gradient matches finite differences", () => {
  const params = testParams(3);
  copyBaseNorms(TINY, params);
  const e = engine(params);
  e.setStage(2);
  const samples: MemorySample[] = [
    {
      span: new Int32Array([65, 290, 66, 67, 270, 68]),
      next: new Int32Array(0),
      query: new Int32Array([290, 67]),
    },
    {
      span: new Int32Array([71, 72, 73]),
      next: new Int32Array(0),
      query: new Int32Array([72, 73]),
    },
    {
      span: new Int32Array([80, 281, 82, 83, 84]),
      next: new Int32Array(0),
      query: new Int32Array([80, 83, 84]),
    },
  ];
  const weights = [0.5, 0.3, 0.2];
  const off = new Map<string, number>();
  let o = 0;
  for (const s of e.trainable) off.set(s.name, o), o += numel(s.shape);
  // Only the retrieval term: memoryLoss with zero weights just runs the span's gradient back.
  const zero: LossWeights = { rec: 0, fwd: 0, cyc: 0 };
  const loss = (grad: boolean) => {
    e.beginStep();
    const r = e.retrievalLoss(samples, grad ? weights : [0, 0, 0], 1);
    samples.forEach((s, i) => e.memoryLoss(s, zero, grad ? weights[i] : 0, r.dSpan[i]));
    return r.losses.reduce((a, l, i) => a + weights[i] * l, 0);
  };
  const l0 = loss(true);
  assert(Number.isFinite(l0) && l0 > 0, `retrieval loss ${l0}`);
  const g = e.gradients();
  const current = e.readParams();
  const rng = new Rng(8);
  const picks: [string, number][] = [];
  for (const w of ["wq", "wv", "wo", "w1", "w2"]) {
    for (const ab of ["a", "b"]) {
      const name = `lora.fwd.blocks.${rng.int(2)}.${w}.${ab}`;
      picks.push([name, rng.int(numel(e.specs.find((s) => s.name === name)!.shape))]);
    }
  }
  for (let r = 0; r < 3; r++) {
    picks.push(["mem_fresh", rng.int(TINY.memorySlots * TINY.dim)]);
    picks.push([`fwd.blocks.${rng.int(2)}.attn_norm`, rng.int(TINY.dim)]);
  }
  let nonzero = 0;
  for (const [name, i] of picks) {
    const t = current.get(name)!;
    const x = t[i], h = 1e-2;
    const at = (v: number) => {
      t[i] = v;
      e.writeParams(new Map([[name, t]]));
      return loss(false);
    };
    const fd = (at(x + h) - at(x - h)) / (2 * h);
    at(x);
    const an = g[off.get(name)! + i];
    if (Math.abs(an) > 1e-4) nonzero++;
    assert(
      Math.abs(fd - an) <= 2e-3 + 0.05 * Math.abs(an),
      `retrieval ${name}[${i}]: finite difference ${fd}, analytic ${an}`,
    );
  }
  assert(nonzero >= picks.length / 2, `only ${nonzero} of ${picks.length} gradients are non-zero`);
  // The decoder's parameters take no part in the search key.
  const bwd = off.get("lora.bwd.blocks.0.wq.b")!;
  assertEquals(g[bwd], 0);
  e.free();
});

Deno.test("train: reversible recomputation and kept internals give the stored-activation gradients", () => {
  for (const stage of [1, 2] as const) {
    const params = testParams(3);
    copyBaseNorms(TINY, params);
    const modes: Activations[] = ["recomputed", "stored streams", "kept"];
    const grads = modes.map((acts) => {
      const e = engine(params, acts);
      e.setStage(stage);
      e.beginStep();
      stageLoss(e, 1);
      const g = e.gradients();
      e.free();
      return g;
    });
    for (const m of [0, 2]) {
      let max = 0, scale = 0;
      for (let i = 0; i < grads[1].length; i++) {
        max = Math.max(max, Math.abs(grads[m][i] - grads[1][i]));
        scale = Math.max(scale, Math.abs(grads[1][i]));
      }
      assert(
        scale > 0 && max <= 1e-4 * scale,
        `stage ${stage}, ${modes[m]}: max diff ${max} (scale ${scale})`,
      );
    }
  }
});

const TEXT = [
  "The cat sat on the mat. The dog sat on the log. The cat saw the dog.",
  "A bird sang in the tree. The bird flew over the cat and the dog.",
  "The dog ran after the cat. The cat ran up the tree. The bird sang.",
].join("\n\n");

function tinyRecipe(config: ModelConfig): Recipe {
  return {
    config,
    rank: RANK,
    seed: 1,
    seqLen: 16,
    stage1: { steps: 40, batch: 4, lr: 1e-2, warmup: 4, minLrRatio: 0.1 },
    stage2: { steps: 12, batch: 4, lr: 5e-3, warmup: 2, minLrRatio: 0.1 },
    sampling: {
      segmentTokens: config.segmentTokens,
      maxSegments: 2,
      nextTokens: config.segmentTokens,
      levels: { sentence: 0.5, paragraph: 0.25, chunk: 0.25 },
      queryDrop: 1 / 3,
    },
    loss: { rec: 1, fwd: 1, cyc: 0.5, ret: 0.5 },
    clip: 1,
    adam: { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01 },
  };
}

Deno.test("train: a tiny model learns a small text (both stages) and runs deterministically", async () => {
  const tok = trainBpe([TEXT], 300);
  const corpus = tokenizeDocuments([TEXT, TEXT.toUpperCase()], tok);
  const config = { ...TINY, vocabSize: tok.vocabSize, segmentTokens: 8, window: 16 };
  const recipe = tinyRecipe(config);
  const run = async () => {
    const pool = new LocalPool(await createWasmBackend({ deterministic: true }), {
      config,
      rank: RANK,
      params: initParams(config, RANK, 1),
      maxRows: 32,
    });
    await pool.setStage(1);
    const losses: number[] = [];
    const s1 = await trainStage({
      pool,
      recipe,
      sampler: new Sampler(corpus, 0),
      state: newStageState(1, recipe.stage1.steps, 7),
      onProgress: (p) => losses.push(p.loss),
    });
    assertEquals(s1.step, recipe.stage1.steps);
    const st = await pool.state();
    copyBaseNorms(config, st.params);
    await pool.setStage(2);
    await pool.load(st.params);
    // a fixed held-out batch, scored before and after stage 2
    const held = makeBatch(2, recipe, new Sampler(corpus, 99)).work;
    const before = (await evaluate(pool, held)).terms!;
    const rec: number[] = [];
    await trainStage({
      pool,
      recipe,
      sampler: new Sampler(corpus, 0),
      state: newStageState(2, recipe.stage2.steps, 8),
      onProgress: (p) => {
        rec.push(p.state.last.rec);
        assert(recipe.loss.ret === 0 || Number.isFinite(p.state.last.ret), "no retrieval term");
      },
    });
    const after = (await evaluate(pool, held)).terms!;
    const final = await pool.state();
    await pool.close();
    return { losses, rec, final, before, after };
  };
  const a = await run();
  const head = a.losses.slice(0, 3).reduce((x, y) => x + y) / 3;
  const tail = a.losses.slice(-5).reduce((x, y) => x + y) / 5;
  assert(tail < head - 1.5, `stage-1 loss fell only from ${head} to ${tail}`);
  assert(
    a.after.rec < a.before.rec,
    `held-out reconstruction loss did not fall: ${a.before.rec} → ${a.after.rec}`,
  );
  assert(
    a.after.ret! < a.before.ret!,
    `held-out retrieval loss did not fall: ${a.before.ret} → ${a.after.ret}`,
  );
  // same seed, same steps: bit-identical parameters
  const b = await run();
  for (const [k, v] of a.final.params) {
    assertEquals(Array.from(b.final.params.get(k)!), Array.from(v), k);
  }
});

Deno.test("train: two workers compute the local pool's gradient", async () => {
  const params = testParams(4);
  const init = { config: TINY, rank: RANK, params, maxRows: 24, deterministic: true };
  const work = {
    kind: "lm" as const,
    items: [TOKENS, TOKENS.subarray(2), TOKENS.subarray(0, 6)],
    weights: [0.5, 0.3, 0.2],
  };
  const local = new LocalPool(await createWasmBackend({ deterministic: true }), init);
  await local.setStage(1);
  const l = await local.compute(work);
  await local.close();
  const pool = await WorkerPool.create(2, init);
  try {
    await pool.setStage(1);
    const r = await pool.compute(work);
    assertEquals(r.losses, l.losses);
    let max = 0, scale = 0;
    for (let i = 0; i < l.grad!.length; i++) {
      max = Math.max(max, Math.abs(l.grad![i] - r.grad![i]));
      scale = Math.max(scale, Math.abs(l.grad![i]));
    }
    assert(max <= 1e-5 * scale, `worker gradient differs by ${max} (scale ${scale})`);
  } finally {
    await pool.close();
  }
});

Deno.test("train: stage-2 samples carry a query: a sentence of the span with tokens dropped", () => {
  const tok = trainBpe([TEXT], 300);
  const corpus = tokenizeDocuments([TEXT], tok);
  const sampler = new Sampler(corpus, 3);
  const o = {
    segmentTokens: 8,
    maxSegments: 2,
    nextTokens: 8,
    levels: { sentence: 1, paragraph: 1, chunk: 1 },
    queryDrop: 1 / 3,
  };
  let kept = 0, total = 0;
  for (let i = 0; i < 200; i++) {
    const s = sampler.memorySample(o);
    assert(s.query && s.query.length >= 1 && s.query.length <= s.span.length);
    // the query's tokens appear in the span, in order
    let j = 0;
    for (const t of s.query) {
      while (j < s.span.length && s.span[j] !== t) j++;
      assert(j < s.span.length, "query token not in the span, in order");
      j++;
    }
    kept += s.query.length;
    total += s.span.length;
  }
  assert(kept < total, "queries keep every token");
  const without = new Sampler(corpus, 3).memorySample({ ...o, queryDrop: undefined });
  assertEquals(without.query, undefined);
});

Deno.test("train: --windows spans are fixed windows of the corpus, each followed by its text", () => {
  const tok = trainBpe([TEXT], 300);
  const corpus = tokenizeDocuments([TEXT], tok);
  const sampler = new Sampler(corpus, 9);
  const o = {
    segmentTokens: 8,
    maxSegments: 2,
    nextTokens: 8,
    levels: { sentence: 1, paragraph: 0, chunk: 0 },
    windowTokens: 12,
  };
  const starts = new Set<number>();
  for (let i = 0; i < 100; i++) {
    const s = sampler.memorySample(o);
    assertEquals(s.level, "window");
    assertEquals(s.span.length, 12);
    // the span and its continuation are consecutive corpus tokens
    const whole = [...s.span, ...s.next];
    let at = -1;
    for (let p = 0; p + whole.length <= corpus.tokens.length && at < 0; p++) {
      if (whole.every((t, j) => corpus.tokens[p + j] === t)) at = p;
    }
    assert(at >= 0, "window is not a run of corpus tokens");
    starts.add(at);
  }
  // windows start anywhere, not only at sentence starts
  assert(starts.size > 20, `only ${starts.size} distinct window starts`);
});

Deno.test("train: checkpoint round trip keeps parameters, moments and state", async () => {
  const e = new TrainEngine(createReferenceBackend(), TINY, testParams(5), {
    rank: RANK,
    maxRows: 24,
  });
  e.setStage(2);
  e.beginStep();
  e.memoryLoss(SAMPLE, W, 1);
  e.applyUpdate(e.gradients(), 1, 1e-3, 1, {
    beta1: 0.9,
    beta2: 0.95,
    eps: 1e-8,
    weightDecay: 0.1,
  });
  const { m, v } = e.readOptimizer();
  const input = {
    config: TINY,
    rank: RANK,
    tokenizer: new Tokenizer([]).toBytes(),
    params: e.readParams(),
    merged: e.mergedMatrices(),
  };
  const bytes = await writeMasterFile(input, { m, v, state: { step: 1, rng: 42 } });
  const back = await readMasterFile(bytes);
  assertEquals(back.rank, RANK);
  assertEquals(back.state.rng, 42);
  for (const [k, x] of input.params) {
    assertEquals(Array.from(back.params.get(k)!), Array.from(x), k);
  }
  for (const [k, x] of m) assertEquals(Array.from(back.m.get(k)!), Array.from(x), k);
  for (const [k, x] of v) assertEquals(Array.from(back.v.get(k)!), Array.from(x), k);
  e.free();
});

Deno.test("train: the exported model runs in the runtime and matches the trainer's f32 forward", async () => {
  const be = await createWasmBackend({ deterministic: true });
  const config = { ...TINY, dim: 32, ffnDim: 64, segmentTokens: 8, window: 16 };
  const params = initParams(config, RANK, 9);
  const rng = new Rng(10);
  for (const [k, v] of params) {
    if (k.endsWith(".b")) { for (let i = 0; i < v.length; i++) v[i] = 0.05 * rng.normal(); }
    else if (k.startsWith("base.blocks") && !k.endsWith("norm")) {
      for (let i = 0; i < v.length; i++) v[i] *= 5;
    }
  }
  copyBaseNorms(config, params);
  const e = new TrainEngine(be, config, params, { rank: RANK, maxRows: 40 });
  e.setStage(2);
  const merges = Array.from(
    { length: 36 },
    (_, i) => [97 + (i % 26), 97 + Math.floor(i / 26)] as [number, number],
  );
  const bytes = await writeModelFile({
    config,
    rank: RANK,
    tokenizer: new Tokenizer(merges).toBytes(),
    params: e.readParams(),
    merged: e.mergedMatrices(),
  });
  const file = await readWeights(bytes);
  assertEquals(file.tensors.get("fwd.blocks.0.wq")!.dtype, "i8");
  const rt = new ReversibleTransformer(be, config, uploadWeights(be, config, file.tensors));
  const relRms = (a: Float32Array, b: Float32Array) => {
    let num = 0, den = 0;
    for (let i = 0; i < a.length; i++) num += (a[i] - b[i]) ** 2, den += a[i] ** 2;
    return Math.sqrt(num / den);
  };
  const toks = new Int32Array([65, 290, 66, 67, 270, 68, 69, 70]);
  // forward direction: one segment from the learned initial memory
  const ours = e.compress(toks);
  const theirs = rt.compressSegment(rt.memInit, toks);
  const errC = relRms(ours, theirs);
  assert(errC < 0.1, `compressSegment differs from the trainer by ${errC} (relative RMS)`);
  // the tolerance is well below how much the memory depends on its text
  const other = e.compress(toks.map((t) => (t * 7 + 3) % 300));
  assert(relRms(ours, other) > 3 * errC, `not discriminative: ${relRms(ours, other)} vs ${errC}`);
  // backward direction: teacher-forced logits from that memory, [memory | BOS | text]
  const trainerLogits = e.decodeLogits(ours, toks);
  const s = rt.startDecoder(ours);
  const V = config.vocabSize;
  s.begin();
  const first = rt.readLogits(1).slice(); // the BOS row: the first token's distribution
  s.feed(toks.subarray(0, toks.length - 1));
  const rest = rt.readLogits(toks.length - 1).slice();
  s.free();
  const runtimeLogits = new Float32Array(toks.length * V);
  runtimeLogits.set(first, 0);
  runtimeLogits.set(rest, V);
  const errD = relRms(trainerLogits, runtimeLogits);
  assert(errD < 0.1, `decoder logits differ from the trainer by ${errD} (relative RMS)`);
  rt.free();
  e.free();
});
