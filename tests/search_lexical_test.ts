// The lexical index, rank fusion and R3Mem.search's modes (src/search/, src/r3mem.ts).
import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";
import { stem, terms } from "../src/search/analyze.ts";
import {
  decodeLexicalTerms,
  encodeLexicalTerms,
  type LexicalDoc,
  lexicalTermsOf,
  rankLexical,
} from "../src/search/lexical.ts";
import { fuseRankings, FUSION_DEPTH, type Ranked, RRF_K } from "../src/search/fusion.ts";
import { R3Mem } from "../src/r3mem.ts";
import { buildRandomModel } from "../src/model/random_model.ts";
import { InputError } from "../src/errors.ts";
import { FormatError } from "../src/errors.ts";
import type { NodeLevel } from "../src/codec/memory.ts";

Deno.test("analyze: words, stems, stopwords kept", () => {
  assertEquals(terms("The Peanuts were BARKING, cities' boxes!"), [
    "the",
    "peanut",
    "were",
    "bark",
    "city",
    "box",
  ]);
  assertEquals(["glass", "news", "ted", "sing", "hopped", "café"].map(stem), [
    "glass",
    "new",
    "ted",
    "sing",
    "hop",
    "café",
  ]);
});

// A one-paragraph, two-sentence tree: document 0 → paragraph 1 → sentences 2, 3.
function tree(text: string, cut: number) {
  const n = new TextEncoder().encode(text).length;
  const spans = [[0, n], [0, n], [0, cut], [cut, n]];
  return {
    nodes: spans.map(([byteStart, byteEnd]) => ({ byteStart, byteEnd })),
    parents: [-1, 0, 1, 1],
    levels: ["document", "paragraph", "sentence", "sentence"] as NodeLevel[],
  };
}

Deno.test("lexical: term counts per node, and their bytes round-trip", () => {
  const text = "Peanuts hurt me. I eat peanuts never.";
  const t = tree(text, 17);
  const lex = lexicalTermsOf(t.nodes, text);
  assertEquals(lex.lengths, [7, 7, 3, 4]);
  const peanut = lex.terms.indexOf("peanut");
  const count = (n: number) => {
    const c = lex.counts[n];
    for (let j = 0; j < c.length; j += 2) if (c[j] === peanut) return c[j + 1];
    return 0;
  };
  assertEquals([0, 1, 2, 3].map(count), [2, 2, 1, 1]);
  assertEquals(decodeLexicalTerms(encodeLexicalTerms(lex)), lex);
  assertThrows(() => decodeLexicalTerms(new TextEncoder().encode("{}")), FormatError);
  assertThrows(() => decodeLexicalTerms(new Uint8Array([0xff])), FormatError);
});

Deno.test("lexical: BM25 ranks nodes by their best sentence, match and levels kept", () => {
  const docs: LexicalDoc<string>[] = [
    ["rent", "The landlord comes Tuesday. Rent is due.", 27],
    ["food", "I am allergic to peanuts. Dogs bark loudly.", 26],
    ["math", "Babbage built engines. Engines compute tables.", 23],
  ].map(([owner, text, cut]) => {
    const t = tree(text as string, cut as number);
    return { owner: owner as string, terms: lexicalTermsOf(t.nodes, text as string), ...t };
  });
  const all = rankLexical("peanut allergy allergic", docs);
  // One hit: the sentence (its paragraph and document owe their score to it).
  assertEquals(all.map((h) => [h.owner, h.node, h.match, h.level]), [
    ["food", 2, 2, "sentence"],
  ]);
  assert(all[0].score > 0);
  const byDoc = rankLexical("peanuts", docs, { levels: ["document"] });
  assertEquals(byDoc.map((h) => [h.owner, h.node, h.match]), [["food", 0, 2]]);
  const own = rankLexical("peanuts", docs, { levels: ["document"], subtree: false });
  assertEquals(own.map((h) => [h.owner, h.node, h.match]), [["food", 0, 0]]);
  assertEquals(rankLexical("zebra", docs), []);
  assertEquals(rankLexical("...", docs), []);
  // Every memory sharing a word is ranked.
  const two = rankLexical("engines tuesday", docs, { levels: ["document"] });
  assertEquals(two.map((h) => h.owner).sort(), ["math", "rent"]);
});

Deno.test("fusion: reciprocal rank, match of the better ranking, depth", () => {
  const n = (owner: string, node: number, score: number, match = node): Ranked<string> => ({
    owner,
    node,
    level: "sentence",
    score,
    match,
  });
  const keys = [n("a", 1, 0.9), n("b", 1, 0.8, 3), n("c", 1, 0.7)];
  const lexical = [n("b", 1, 7.5, 2), n("d", 1, 2.0)];
  const fused = fuseRankings(keys, lexical, (h) => `${h.owner}:${h.node}`);
  assertEquals(fused.map((h) => h.owner), ["b", "a", "d", "c"]);
  assertEquals(fused[0].score, 1 / (RRF_K + 2) + 1 / (RRF_K + 1));
  assertEquals([fused[0].match, fused[0].keyScore, fused[0].lexicalScore], [2, 0.8, 7.5]);
  assertEquals([fused[1].keyScore, fused[1].lexicalScore], [0.9, undefined]);
  // Ties keep the key ranking's order.
  const tie = fuseRankings([n("a", 1, 0.1)], [n("d", 1, 9)], (h) => h.owner);
  assertEquals(tie.map((h) => [h.owner, h.score]), [["a", 0.5], ["d", 0.5]]);
  const deep = Array.from({ length: FUSION_DEPTH + 5 }, (_, i) => n("x", i, 1 - i / 1000));
  assertEquals(fuseRankings(deep, [], (h) => String(h.node)).length, FUSION_DEPTH);
});

const r3 = await R3Mem.load({ weights: await buildRandomModel({ seed: 1 }) });

Deno.test("R3Mem.search: hybrid finds by words what random keys miss; modes; lossy keys only", async () => {
  const notes = [
    "The landlord visits on Tuesday at ten.",
    "I am allergic to peanuts.",
    "Charles Babbage designed the analytical engine.",
  ];
  const memories = await Promise.all(notes.map((t) => r3.compress(t)));
  const lexical = await r3.search("which nuts am I allergic to", memories, {
    k: 3,
    mode: "lexical",
  });
  assertEquals(lexical[0].memory, 1);
  assertEquals(lexical[0].text, "I am allergic to peanuts.");
  const hybrid = await r3.search("which nuts am I allergic to", memories, { k: 3 });
  assertEquals(hybrid[0].memory, 1);
  assert(hybrid[0].lexicalScore! > 0 && hybrid[0].keyScore !== undefined);
  const keys = await r3.search("which nuts am I allergic to", memories, { k: 3, mode: "keys" });
  assert(keys.every((h) => h.keyScore === undefined && h.score <= 1));
  // Lossy memories carry no words: keys only, the same as mode "keys".
  const lossy = await Promise.all(notes.map((t) => r3.compress(t, { lossless: false })));
  assertEquals(r3.lexicalTerms(lossy[1]), null);
  assertEquals(await r3.search("allergic", lossy, { k: 3, mode: "lexical" }), []);
  const h = await r3.search("allergic", lossy, { k: 3, withText: false });
  const k = await r3.search("allergic", lossy, { k: 3, withText: false, mode: "keys" });
  assertEquals(h.map((x) => [x.memory, x.node]), k.map((x) => [x.memory, x.node]));
  // A memory read back from bytes has its words decoded once.
  const { Memory } = await import("../src/codec/memory.ts");
  const read = Memory.fromBytes(memories[1].toBytes());
  assertEquals(r3.lexicalTerms(read), r3.lexicalTerms(memories[1]));
  await assertRejects(
    () => r3.search("x", memories, { mode: "fuzzy" as "keys" }),
    InputError,
    "mode must be",
  );
});
