// The eval's format metric (tools/eval/format_size.ts) on a tiny random model with a fitted
// memory basis: sizes of default, compact and slots-all files, the memory gain, and recall over
// default memories equal to recall over slots-all ones.
import { assert, assertEquals } from "./_assert.ts";
import { rng } from "./_rng.ts";
import { buildRandomModel } from "../src/model/random_model.ts";
import { R3Mem } from "../src/r3mem.ts";
import { loadEvalModel } from "../tools/eval/metrics.ts";
import { formatRecall, formatSizes, memoryGain } from "../tools/eval/format_size.ts";
import { fittedBasis, sentence } from "./_basis.ts";

const weights = await buildRandomModel({ seed: 1 });
const bare = await loadEvalModel(weights);
const withBasis = {
  ...bare,
  r3: await R3Mem.load({ weights, basis: await fittedBasis(weights, 3) }),
};
const rnd = rng(17);
const texts = Array.from({ length: 12 }, () => sentence(rnd) + sentence(rnd) + sentence(rnd));

Deno.test("format: the default file is a code memory, far smaller than slots all", () => {
  const f = formatSizes(withBasis, texts);
  assertEquals([f.default_slots, f.items], ["code", 12]);
  assert(f.bpb_default < f.bpb_slots_all / 4, `${f.bpb_default} vs ${f.bpb_slots_all}`);
  // The code costs a few bytes over the compact archive (and may save some residual).
  assert(f.bpb_default > f.bpb_compact - 1 && f.bpb_default < f.bpb_compact + 8);
  assert(Math.abs(f.default_vs_brotli - f.bpb_default / f.bpb_brotli) < 1e-9);
  // Without a basis the default is slots all.
  const plain = formatSizes(bare, texts.slice(0, 3));
  assertEquals(plain.default_slots, "all");
  assert(Math.abs(plain.bpb_default - plain.bpb_slots_all) < 1e-9);
});

Deno.test("format: memory gain with int8 slots and with the code", () => {
  const g = memoryGain(withBasis, texts);
  assertEquals(g.items, 12);
  assert(Number.isFinite(g.gain_int8) && g.gain_code !== null && Number.isFinite(g.gain_code));
  assert(Math.abs(g.gain_int8 - (g.bpb_other - g.bpb_own_int8)) < 1e-9);
  assertEquals(memoryGain(bare, texts.slice(0, 3)).kept, null);
});

Deno.test("format: recall over default memories equals recall over slots all", async () => {
  const queries = texts.map((t) => t.split(". ")[0]);
  const r = await formatRecall(withBasis, texts, queries, 3);
  assertEquals(r.pool, 12);
  assertEquals(r.default, r.all);
  assert(r.default > 0);
});
