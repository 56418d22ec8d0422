// The document cache's count tables (src/codec/context_counts.ts) against a Map-of-Maps model,
// through table growth and past the caps.
import { ContextCounts } from "../src/codec/context_counts.ts";
import { assert, assertEquals } from "./_assert.ts";
import { rng } from "./_rng.ts";

Deno.test("context counts match a Map model, keep first-sight order and respect the caps", () => {
  const rnd = rng(11);
  const maxContexts = 300, maxPairs = 900;
  const c = new ContextCounts(maxContexts, maxPairs);
  const model = new Map<number, Map<number, number>>();
  let pairs = 0;
  for (let i = 0; i < 20000; i++) {
    // keys up to 2^45 (order-3 keys of a large vocabulary), skewed so some repeat often
    const key = rnd() < 0.5 ? Math.floor(rnd() * 50) : Math.floor(rnd() * 2 ** 45);
    const token = Math.floor(rnd() * (rnd() < 0.7 ? 5 : 4096));
    const ci = c.find(key);
    assertEquals(ci >= 0, model.has(key), `find(${key})`);
    c.add(key, token, ci);
    let m = model.get(key);
    if (!m) {
      if (model.size >= maxContexts) continue;
      model.set(key, m = new Map());
    }
    if (!m.has(token)) {
      if (pairs >= maxPairs) continue;
      pairs++;
      m.set(token, 0);
    }
    m.set(token, m.get(token)! + 1);
  }
  assertEquals([c.contexts, c.pairs], [model.size, pairs]);
  assert(c.contexts === maxContexts && c.pairs === maxPairs, "the caps were not reached");
  for (const [key, m] of model) {
    const ci = c.find(key);
    const seen: [number, number][] = [];
    c.forEach(ci, (t, n) => seen.push([t, n]));
    assertEquals(seen, [...m.entries()], `tokens after ${key}`);
    assertEquals(c.total(ci), [...m.values()].reduce((a, b) => a + b, 0));
    for (const [t, n] of m) assertEquals(c.count(ci, t), n);
    assertEquals(c.count(ci, 99999), 0);
  }
  assertEquals(c.find(2 ** 50), -1);
});
