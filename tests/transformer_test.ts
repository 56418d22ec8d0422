// Decoder mechanics: batched and one-at-a-time feeding agree bit for bit.
import { assert, assertClose } from "./_assert.ts";
import { buildRandomModel } from "../src/model/random_model.ts";
import { createWasmBackend } from "../src/backend/wasm/wasm_backend.ts";
import { parseConfig } from "../src/model/config.ts";
import { ReversibleTransformer } from "../src/model/transformer.ts";
import { uploadWeights } from "../src/model/weights.ts";
import { readWeights } from "../src/model/weights_format.ts";

const file = await readWeights(await buildRandomModel({ seed: 4 }));
const config = parseConfig(file.config);
const be = await createWasmBackend();
const model = new ReversibleTransformer(be, config, uploadWeights(be, config, file.tensors));
const memory = model.memInit.map((v, i) => v + Math.sin(i));

Deno.test("batched and one-at-a-time decoding give bit-identical distributions", () => {
  const V = config.vocabSize;
  const s = model.startDecoder(memory);
  s.begin();
  const first = model.readLogits(1).slice();
  s.feed([5, 6, 7]);
  const rows = model.readLogits(3).slice();
  s.free();
  assert(first.length === V && rows.length === 3 * V);
  const w = model.startDecoder(memory);
  w.begin();
  assertClose(model.readLogits(1), first, 0, "begin() twice");
  for (let i = 0; i < 3; i++) {
    w.feed([5 + i]);
    assertClose(model.readLogits(1), rows.subarray(i * V, (i + 1) * V), 0, `row ${i}`);
  }
  w.free();
});
