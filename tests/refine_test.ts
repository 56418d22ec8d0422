/**
 * Refinement at compress time (`compress(text, { refine })`, `src/train/refiner.ts`): the
 * option's validation, the refiner against the decoder it was built from, and the shipped
 * model, where refined memories give their text back greedily far better than the encoder's.
 */
import { R3Mem } from "../src/r3mem.ts";
import { InputError } from "../src/errors.ts";
import { buildRandomModel } from "../src/model/random_model.ts";
import { parseConfig } from "../src/model/config.ts";
import { readWeights } from "../src/model/weights_format.ts";
import { createWasmBackend } from "../src/backend/wasm/wasm_backend.ts";
import { parseRefine } from "../src/refine_budget.ts";
import { MemoryRefiner } from "../src/train/refiner.ts";
import { assert, assertEquals, assertRejects, assertThrowsMessage } from "./_assert.ts";

Deno.test("refine option: defaults, numbers, budgets; malformed ones are InputErrors", () => {
  assertEquals(parseRefine(undefined), null);
  assertEquals(parseRefine(false), null);
  assertEquals(parseRefine(0), null);
  assertEquals(parseRefine(true), { steps: 200, lr: 1 });
  assertEquals(parseRefine(30), { steps: 30, lr: 1 });
  assertEquals(parseRefine({ steps: 10, ms: 500, lr: 0.2 }), { steps: 10, lr: 0.2, ms: 500 });
  for (
    const [bad, msg] of [
      [-1, "refine.steps"],
      [1.5, "refine.steps"],
      [100_000, "refine.steps"],
      ["10", "refine must be"],
      [{ steps: 5, speed: 1 }, 'unknown field "speed"'],
      [{ ms: -3 }, "refine.ms"],
      [{ lr: 0 }, "refine.lr"],
    ] as const
  ) {
    const e = assertThrowsMessage(() => parseRefine(bad), msg);
    assert(e instanceof InputError, `${JSON.stringify(bad)}: ${e}`);
  }
});

Deno.test("refiner: lowers the decoder's loss of the span, keeps to its steps and deadline", async () => {
  const bytes = await buildRandomModel({ seed: 3 });
  const file = await readWeights(bytes);
  const config = parseConfig(file.config);
  const refiner = new MemoryRefiner(await createWasmBackend(), config, file.tensors);
  const tokens = new Int32Array([11, 12, 13, 14, 15, 16]);
  const init = new Float32Array(config.memorySlots * config.dim).fill(0.1);
  const r = refiner.refine(tokens, init, { steps: 30, lr: 0.1 });
  assertEquals(r.steps, 30);
  assert(r.after.loss < r.before.loss - 0.05, `loss ${r.before.loss} -> ${r.after.loss}`);
  assert(init.every((x) => x === Math.fround(0.1)), "init must not change");
  // a deadline already past: no step, the memory unchanged
  const late = refiner.refine(tokens, init, { steps: 30 }, performance.now() - 1);
  assertEquals(late.steps, 0);
  assertEquals(Array.from(late.memory), Array.from(init));
  refiner.free();
});

Deno.test("compress({ refine }): validated, needs stored slots, stays lossless", async () => {
  const r3 = await R3Mem.load({ weights: await buildRandomModel({ seed: 1 }), backend: "wasm" });
  const text = "Refined memories. They still decode exactly.";
  await assertRejects(() => r3.compress(text, { refine: { steps: -2 } }), InputError);
  await assertRejects(() => r3.compress(text, { refine: 5, slots: "none" }), InputError);
  // compressSync cannot load the refiner itself
  const fresh = await R3Mem.load({ weights: await buildRandomModel({ seed: 1 }), backend: "wasm" });
  assertThrowsMessage(() => fresh.compressSync(text, { refine: 5 }), "asynchronous compress()");
  const plain = await r3.compress(text, { slots: "all" });
  const refined = await r3.compress(text, { slots: "all", refine: 20 });
  assertEquals(await r3.reconstruct(refined), text);
  const same = plain.nodes.every((n, i) =>
    n.slots!.every((v: number, j: number) => v === refined.nodes[i].slots![j])
  );
  assert(!same, "refinement must change the stored slots");
});

Deno.test("shipped model: a refined sentence comes back from its memory alone", async () => {
  const r3 = await R3Mem.load({ backend: "wasm" });
  const text = "The meeting with the landlord is moved to Thursday at 3pm.";
  const acc = async (refine: number) => {
    const m = await r3.compress(text, { lossless: false, slots: "all", refine });
    const a = r3.tokenizer.encode(text), b = r3.tokenizer.encode(await r3.reconstruct(m));
    let right = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) right++;
    return right / a.length;
  };
  const before = await acc(0), after = await acc(200);
  // The session-6 encoder alone gets 0.75 of this sentence (the session-3 one under 0.5).
  assert(before < 1, `encoder alone is already exact (${before}): the test shows nothing`);
  assert(after >= 0.9 && after > before, `refined: ${after} (encoder alone ${before})`);
});
