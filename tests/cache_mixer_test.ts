// The document cache of the residual coder (src/codec/cache_mixer.ts): proper distributions,
// determinism, and fewer bits than the model alone on repetitive token streams.
import { CacheMixer } from "../src/codec/cache_mixer.ts";
import { assert, assertEquals } from "./_assert.ts";
import { rng } from "./_rng.ts";

function randomDist(rnd: () => number, V: number): Float32Array {
  const p = new Float32Array(V);
  let s = 0;
  for (let v = 0; v < V; v++) s += p[v] = rnd() ** 4;
  for (let v = 0; v < V; v++) p[v] /= s;
  return p;
}

Deno.test("cache mixer: every mixture is a distribution, identical across runs", () => {
  const rnd = rng(3);
  const V = 50;
  const stream = Array.from({ length: 600 }, (_, i) => (i % 7 < 4 ? i % 7 : Math.floor(rnd() * V)));
  const dists = stream.map(() => randomDist(rnd, V));
  const run = () => {
    const mixer = new CacheMixer(V);
    const outs: number[] = [];
    const out = new Float32Array(V);
    stream.forEach((t, i) => {
      mixer.mix(dists[i], out);
      let s = 0;
      for (const x of out) {
        assert(x >= 0, "negative probability");
        s += x;
      }
      assert(Math.abs(s - 1) < 1e-5, `mixture sums to ${s}`);
      outs.push(out[t]);
      mixer.update(t);
    });
    return outs;
  };
  assertEquals(run(), run());
});

Deno.test("cache mixer: a repetitive stream costs far fewer bits than the model alone", () => {
  const rnd = rng(4);
  const V = 1000;
  const phrase = Array.from({ length: 12 }, () => Math.floor(rnd() * V));
  const stream: number[] = [];
  for (let r = 0; r < 20; r++) stream.push(...phrase, Math.floor(rnd() * V));
  const uniform = new Float32Array(V).fill(1 / V);
  const mixer = new CacheMixer(V);
  const out = new Float32Array(V);
  let bits = 0;
  for (const t of stream) {
    mixer.mix(uniform, out);
    bits -= Math.log2(out[t]);
    mixer.update(t);
  }
  const alone = stream.length * Math.log2(V);
  assert(bits < 0.3 * alone, `${bits.toFixed(0)} bits with the cache, ${alone.toFixed(0)} without`);
});

Deno.test("cache mixer: update before mix is refused", () => {
  let threw = false;
  try {
    new CacheMixer(4).update(1);
  } catch {
    threw = true;
  }
  assert(threw);
});
