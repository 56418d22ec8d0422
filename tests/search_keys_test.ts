// Search scoring (src/codec/search_keys.ts): subtree maxima against a brute-force walk of random
// trees, and keys of slot-less nodes.
import { cosine, nodeKey, scoreNodes, subtreeBest } from "../src/codec/search_keys.ts";
import { assert, assertEquals } from "./_assert.ts";
import { rng } from "./_rng.ts";

Deno.test("subtreeBest equals the maximum over each node's subtree (random trees)", () => {
  const rnd = rng(5);
  for (let t = 0; t < 300; t++) {
    const n = 1 + Math.floor(rnd() * 30);
    const parents = Array.from({ length: n }, (_, i) => (i === 0 ? -1 : Math.floor(rnd() * i)));
    const own = Array.from(
      { length: n },
      () => (rnd() < 0.2 ? -Infinity : Math.round(rnd() * 8) / 8),
    );
    const { score, match } = subtreeBest(parents, own);
    for (let i = 0; i < n; i++) {
      // brute force: every j whose ancestor chain reaches i
      let best = -Infinity;
      for (let j = 0; j < n; j++) {
        let a = j;
        while (a > i) a = parents[a];
        if (a === i) best = Math.max(best, own[j]);
      }
      assertEquals(score[i], best, `tree ${t}, node ${i}`);
      let a = match[i];
      while (a > i) a = parents[a];
      assertEquals(a, i, `match ${match[i]} of node ${i} is outside its subtree`);
      assertEquals(own[match[i]], best);
      if (own[i] === best) assertEquals(match[i], i, "a tie keeps the node itself");
    }
  }
});

Deno.test("nodeKey: unit mean of dequantized slots; null without slots", () => {
  const key = nodeKey({ slots: new Int8Array([3, 0, 0, 4]), scales: new Float32Array([1, 1]) }, 2)!;
  assert(Math.abs(cosine(key, key) - 1) < 1e-6);
  assert(Math.abs(key[0] - 0.6) < 1e-6 && Math.abs(key[1] - 0.8) < 1e-6);
  assertEquals(nodeKey({ slots: new Int8Array(0), scales: new Float32Array(0) }, 2), null);
});

Deno.test("scoreNodes: one hit per match, the deepest allowed node; levels filter; own scoring", () => {
  // document 0 → paragraphs 1, 4; sentences 2, 3 under 1; 5 under 4 (no key)
  const parents = [-1, 0, 1, 1, 0, 4];
  const levels = [
    "document",
    "paragraph",
    "sentence",
    "sentence",
    "paragraph",
    "sentence",
  ] as const;
  const own = [0.1, 0.3, 0.9, 0.2, 0.4, -Infinity];
  // all levels: the document and paragraph 1 owe their score to sentence 2, which stands for them
  assertEquals(scoreNodes(parents, levels, own), [
    { node: 2, score: 0.9, match: 2 },
    { node: 3, score: 0.2, match: 3 },
    { node: 4, score: 0.4, match: 4 },
  ]);
  // only documents: the document, through sentence 2
  assertEquals(scoreNodes(parents, levels, own, ["document"]), [{ node: 0, score: 0.9, match: 2 }]);
  // paragraphs: paragraph 1 through sentence 2, paragraph 4 by itself
  assertEquals(scoreNodes(parents, levels, own, ["paragraph"]), [
    { node: 1, score: 0.9, match: 2 },
    { node: 4, score: 0.4, match: 4 },
  ]);
  // own scoring: each node by itself; the keyless sentence is left out
  assertEquals(
    scoreNodes(parents, levels, own, ["document", "sentence"], false).map((h) => h.node),
    [0, 2, 3],
  );
});
