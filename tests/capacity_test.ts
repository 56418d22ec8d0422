/**
 * `deno task capacity`'s pieces: the memory gradient of the frozen decoder against finite
 * differences, the runtime's sliding windows, greedy decoding consistent with teacher forcing,
 * slot optimization lowering the loss, and the command end to end on a tiny master file. Also
 * `deno task eval`'s teacher-forced reconstruction accuracy (the same idea on the runtime).
 */
import { createReferenceBackend } from "../src/backend/reference.ts";
import { Tokenizer } from "../src/model/tokenizer.ts";
import { writeMasterFile } from "../src/train/checkpoint.ts";
import { TrainEngine } from "../src/train/engine.ts";
import { initParams, Rng } from "../src/train/params.ts";
import { decodeWindows, greedyDecodeF32, optimizeSlots, spanLoss } from "../src/train/slots.ts";
import { type CapacityReport, main, pickNestedSpans } from "../tools/capacity.ts";
import { buildRandomModel } from "../src/model/random_model.ts";
import { loadEvalModel } from "../tools/eval/metrics.ts";
import { greedyDecode, reconstructionAccuracy, teacherForcedCorrect } from "../tools/eval/recon.ts";
import { assert, assertEquals } from "./_assert.ts";
import { RANK, TINY } from "./_tiny.ts";

const SM = TINY.memorySlots * TINY.dim;

/**
 * Parameters at a scale where the memory clearly moves the logits (at the initial scale the
 * decoder's rows barely mix, and finite differences would only measure rounding).
 */
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

function engine(): TrainEngine {
  const e = new TrainEngine(createReferenceBackend(), TINY, testParams(1), {
    rank: RANK,
    maxRows: 2 * TINY.memorySlots + TINY.window + 1,
  });
  e.setStage(2);
  return e;
}

function randomMemory(seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: SM }, () => rng.normal());
}

function randomTokens(seed: number, n: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => 65 + rng.int(200));
}

/** Central difference of `f` along `dir` at `x`. */
function directional(f: (x: Float32Array) => number, x: Float32Array, dir: Float32Array) {
  const h = 1e-2;
  const at = (s: number) => f(x.map((v, i) => v + s * h * dir[i]));
  return (at(1) - at(-1)) / (2 * h);
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

Deno.test("capacity: memoryGradient matches finite differences, with and without a context", () => {
  const e = engine();
  const tokens = randomTokens(3, 7);
  for (const scoreFrom of [0, 3]) {
    const m = randomMemory(4 + scoreFrom);
    const r = e.memoryGradient(m, tokens, scoreFrom);
    assertEquals(r.scored, tokens.length - scoreFrom);
    assert(r.correct >= 0 && r.correct <= r.scored);
    for (let k = 0; k < 3; k++) {
      const dir = randomMemory(10 + k);
      const fd = directional((x) => e.memoryGradient(x, tokens, scoreFrom).loss, m, dir);
      const an = dot(r.grad, dir);
      assert(Math.abs(an) > 1e-3, `direction ${k}: gradient too small to check (${an})`);
      assert(
        Math.abs(fd - an) <= 2e-3 + 0.05 * Math.abs(an),
        `scoreFrom ${scoreFrom}, direction ${k}: finite difference ${fd}, analytic ${an}`,
      );
    }
  }
  e.free();
});

Deno.test("capacity: memoryGradient scores what decodeLogits predicts and leaves parameter gradients alone", () => {
  const e = engine();
  const tokens = randomTokens(5, 8), m = randomMemory(6), V = TINY.vocabSize;
  const logits = e.decodeLogits(m, tokens);
  let nll = 0, right = 0;
  for (let j = 2; j < tokens.length; j++) {
    const row = logits.subarray(j * V, (j + 1) * V);
    const max = Math.max(...row);
    let z = 0, best = 0;
    for (let v = 0; v < V; v++) {
      z += Math.exp(row[v] - max);
      if (row[v] > row[best]) best = v;
    }
    nll += max + Math.log(z) - row[tokens[j]];
    if (best === tokens[j]) right++;
  }
  e.beginStep();
  const r = e.memoryGradient(m, tokens, 2);
  assert(Math.abs(r.loss - nll / 6) < 1e-4, `loss ${r.loss} against ${nll / 6}`);
  assertEquals(r.correct, right);
  assert(e.gradients().every((g) => g === 0), "a parameter gradient changed");
  e.free();
});

Deno.test("capacity: decode windows tile the span like the runtime's sliding decoder", () => {
  assertEquals(decodeWindows(5, 8), [{ start: 0, scoreFrom: 0, end: 5 }]);
  assertEquals(decodeWindows(9, 8), [{ start: 0, scoreFrom: 0, end: 9 }]);
  assertEquals(decodeWindows(20, 8).map((w) => [w.start, w.scoreFrom, w.end]), [
    [0, 0, 9],
    [4, 9, 13],
    [8, 13, 17],
    [12, 17, 20],
  ]);
  for (const n of [1, 16, 129, 130, 256, 300]) {
    const ws = decodeWindows(n, 128);
    assertEquals(ws[0].scoreFrom, 0);
    assertEquals(ws[ws.length - 1].end, n);
    for (const [i, w] of ws.entries()) {
      // a window holds BOS and at most `window` text tokens: `window + 1` predictions
      assert(w.end - w.start <= 129 && w.start <= w.scoreFrom && w.scoreFrom < w.end);
      if (i > 0) {
        assertEquals(w.scoreFrom, ws[i - 1].end);
        assertEquals(w.scoreFrom - w.start, 65); // the kept half window, then the fed token
      }
    }
  }
  assertEquals(decodeWindows(0, 8), []);
});

Deno.test("capacity: greedy decoding is what teacher forcing predicts on its own output, across slides", () => {
  const e = engine();
  const m = randomMemory(7);
  const out = greedyDecodeF32(e, m, 20); // 4 windows of the 8-token window
  assertEquals(out.length, 20);
  assertEquals(spanLoss(e, m, out).accuracy, 1);
  e.free();
});

Deno.test("capacity: spanLoss gradient matches finite differences across windows; slot optimization lowers the loss", () => {
  const e = engine();
  const tokens = randomTokens(8, 14), m = randomMemory(9), dir = randomMemory(11);
  const r = spanLoss(e, m, tokens);
  const fd = directional((x) => spanLoss(e, x, tokens).loss, m, dir);
  const an = dot(r.grad, dir);
  assert(Math.abs(fd - an) <= 2e-3 + 0.05 * Math.abs(an), `fd ${fd}, analytic ${an}`);
  const o = optimizeSlots(e, tokens, m, { steps: 80, lr: 0.1 });
  assertEquals(o.initial.loss, r.loss);
  assert(o.loss < r.loss - 0.15, `loss ${r.loss} → ${o.loss}`);
  assert(o.accuracy >= r.accuracy);
  assertEquals(spanLoss(e, o.memory, tokens).loss, o.loss);
  e.free();
});

Deno.test("capacity: nested spans come from documents long enough, seeded", () => {
  const docs = [new Int32Array(10), Int32Array.from({ length: 50 }, (_, i) => i)];
  const a = pickNestedSpans(docs, 3, 20, 1);
  assertEquals(a.length, 3);
  for (const s of a) {
    assertEquals(s.length, 20);
    assertEquals(s[19] - s[0], 19); // a contiguous run of the long document
  }
  assertEquals(pickNestedSpans(docs, 3, 20, 1), a);
  assertEquals(pickNestedSpans(docs, 3, 60, 1), []);
});

Deno.test("capacity: the command measures every length on a tiny master file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const params = testParams(1);
    const e = new TrainEngine(createReferenceBackend(), TINY, params, { rank: RANK, maxRows: 16 });
    const master = await writeMasterFile({
      config: TINY,
      rank: RANK,
      tokenizer: new Tokenizer([]).toBytes(),
      params,
      merged: e.mergedMatrices(),
    });
    e.free();
    await Deno.writeFile(`${dir}/m.r3w`, master);
    await Deno.writeTextFile(
      `${dir}/t.txt`,
      "The quick brown fox jumps over the lazy dog. ".repeat(3),
    );
    const lines: string[] = [];
    const log = console.log, err = console.error;
    console.log = (s: string) => lines.push(s);
    console.error = () => {};
    let code: number;
    try {
      code = await main([
        "--json",
        "--weights",
        `${dir}/m.r3w`,
        "--file",
        `${dir}/t.txt`,
        "--lengths",
        "6,12",
        "--spans",
        "2",
        "--steps",
        "5",
      ]);
    } finally {
      console.log = log;
      console.error = err;
    }
    assertEquals(code, 0);
    const r: CapacityReport = JSON.parse(lines.join("\n"));
    assertEquals(Object.keys(r.results), ["6", "12"]);
    for (const [len, { spans, mean }] of Object.entries(r.results)) {
      assertEquals(spans.length, 2);
      for (const s of spans) {
        assertEquals(s.tokens, Number(len));
        assert(s.loss <= s.encoder.loss, `optimized loss ${s.loss} > encoder's ${s.encoder.loss}`);
        assert(Math.abs(s.bits - ((s.empty.loss - s.loss) * s.tokens) / Math.LN2) < 1e-9);
        assert(s.empty.loss > 0 && s.empty.accuracy >= 0 && s.empty.accuracy <= 1);
        for (const x of [s.accuracy, s.accuracy_int8, s.greedy_accuracy]) assert(x >= 0 && x <= 1);
      }
      assert(Math.abs(mean.loss - (spans[0].loss + spans[1].loss) / 2) < 1e-9);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("eval recon: teacher forcing gets a greedy decode all right across slides; the report carries both", async () => {
  const m = await loadEvalModel(await buildRandomModel({ seed: 3 }));
  const { model, config } = m;
  const memory = model.memInit.map((v, i) => v + Math.sin(i));
  const n = 3 * config.window; // the context slides twice
  const out = greedyDecode(model, memory, n);
  assertEquals(teacherForcedCorrect(model, memory, out), n);
  // a different span: teacher forcing scores each position on the true prefix
  const other = out.map((t, i) => (i % 5 === 4 ? (t + 1) % 256 : t));
  const tf = teacherForcedCorrect(model, memory, other);
  assert(tf < n && tf >= 4, `teacher-forced ${tf} of ${n}`);
  assertEquals(teacherForcedCorrect(model, memory, []), 0);
  const r = reconstructionAccuracy(m, [out.slice(0, 20), other.slice(0, 20)]);
  assertEquals(r.tokens, 40);
  assert(r.tf_correct >= 0 && r.tf_correct <= 40 && r.tf_accuracy === r.tf_correct / 40);
  assert(r.correct <= 40 && r.accuracy === r.correct / 40);
});
