/**
 * The memory path carries information: random token strings (nothing a language model could
 * guess) on the `tiny` config, each compressed by the encoder into its slots, the slots then
 * optimized against the frozen decoder (`src/train/slots.ts`, what `deno task capacity`
 * does on the shipped model). Each string is reconstructed from its own slots far above chance
 * (1/vocab), and not from another string's slots, which is what a decoder that ignored its
 * memory would do for both.
 *
 * Why slot optimization and not a few hundred stage-2 steps: at this size and initial scale the
 * rows barely mix (the reconstruction loss's gradient with respect to the memory is ~1e-7), and
 * 800 stage-2 steps on random strings left the memory ignored (own and other memory decoded
 * equally well, measured while writing this test). The base matrices are scaled ×10 so the random
 * decoder attends to its memory rows at all.
 */
import { createWasmBackend } from "../src/backend/wasm/wasm_backend.ts";
import { mulberry32 } from "../src/prng.ts";
import { TrainEngine } from "../src/train/engine.ts";
import { initParams } from "../src/train/params.ts";
import { greedyDecodeF32, optimizeSlots, spanLoss } from "../src/train/slots.ts";
import { CONFIGS } from "../tools/train.ts";
import { assert } from "./_assert.ts";

Deno.test("memory synthetic: random strings come back from their own slots, not from others'", async () => {
  const c = CONFIGS.tiny, RANK = 4, N = 6, L = 8;
  const params = initParams(c, RANK, 1);
  for (const [k, v] of params) {
    if (k.startsWith("base.") && !k.endsWith("norm")) {
      for (let i = 0; i < v.length; i++) v[i] *= 10;
    }
  }
  const e = new TrainEngine(await createWasmBackend({ deterministic: true }), c, params, {
    rank: RANK,
    maxRows: 2 * c.memorySlots + c.window + 1,
  });
  e.setStage(2);
  const rand = mulberry32(7);
  const strings = Array.from(
    { length: N },
    () => Int32Array.from({ length: L }, () => Math.floor(rand() * c.vocabSize)),
  );
  // encoder → slots → (optimized) → decoder
  const slots = strings.map((s) => optimizeSlots(e, s, e.compress(s), { steps: 300, lr: 0.1 }));
  let own = 0, other = 0, encoder = 0, greedy = 0;
  for (let i = 0; i < N; i++) {
    own += slots[i].accuracy / N;
    encoder += slots[i].initial.accuracy / N;
    other += spanLoss(e, slots[(i + 1) % N].memory, strings[i]).accuracy / N;
    const g = greedyDecodeF32(e, slots[i].memory, L);
    greedy += g.filter((t, j) => t === strings[i][j]).length / L / N;
  }
  e.free();
  const chance = 1 / c.vocabSize;
  const msg = `own ${own}, other ${other}, encoder ${encoder}, greedy ${greedy}`;
  assert(own >= 0.3 && own >= 100 * chance, msg);
  assert(other <= 0.05 && own - other >= 0.25, msg);
  assert(greedy >= 0.1, msg);
});
