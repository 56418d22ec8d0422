/**
 * The residual coder's document cache on a synthetic stream: time per token and the memory its
 * count tables hold (bounded by the caps of `src/codec/cache_mixer.ts` whatever the input).
 *
 * `deno run -A bench/cache.ts [tokens=1000000] [vocab=4096]`
 *
 * @module
 */
import { CacheMixer } from "../src/codec/cache_mixer.ts";
import { mulberry32 } from "../src/prng.ts";

const N = Number(Deno.args[0] ?? 1_000_000), V = Number(Deno.args[1] ?? 4096);
const mixer = new CacheMixer(V);
const probs = new Float32Array(V).fill(1 / V), out = new Float32Array(V);
const rnd = mulberry32(7);
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  // a third of the tokens from the whole vocabulary, the rest from 300 frequent ones
  const t = Math.floor(rnd() * (i % 3 === 0 ? V : 300));
  mixer.mix(probs, out);
  mixer.update(t);
}
const ms = performance.now() - t0;
const sizes = mixer.sizes;
console.log(JSON.stringify({
  tokens: N,
  us_per_token: Number(((ms * 1000) / N).toFixed(2)),
  table_mb: Number((sizes.reduce((a, s) => a + s.bytes, 0) / 2 ** 20).toFixed(1)),
  per_order: sizes,
}));
