// `deno task eval`'s pieces: BM25, the splitters, query word dropping, the SVG plot, and an
// end-to-end run of every metric on a tiny random model.
import { assert, assertEquals } from "./_assert.ts";
import { buildRandomModel } from "../src/model/random_model.ts";
import { Bm25Index, words } from "../tools/eval/bm25.ts";
import {
  dropWords,
  makeQuery,
  messageParagraphs,
  pickSpans,
  retrievalPool,
  splitParagraphs,
  takeBytes,
  truncateText,
} from "../tools/eval/data.ts";
import { baselineBits } from "../tools/eval/baselines.ts";
import { rateDistortionSeries, rateDistortionSvg } from "../tools/eval/plot.ts";
import { runEval } from "../tools/eval/run.ts";
import { formatReport } from "../tools/eval/report.ts";
import { loadEvalModel } from "../tools/eval/metrics.ts";

Deno.test("eval bm25: exact match first, empty and unknown queries give no hits", () => {
  const docs = [
    "PostgreSQL stores large values out of line with TOAST.",
    "The git commit command records changes to the repository.",
    "A dictionary entry: cat, a small domesticated carnivorous mammal.",
    "Python's os module offers operating system interfaces.",
  ];
  const index = new Bm25Index(docs);
  assertEquals(index.size, 4);
  for (const [i, d] of docs.entries()) assertEquals(index.search(d, 5)[0].index, i);
  assertEquals(index.search("git repository changes", 1)[0].index, 1);
  assertEquals(index.search("", 5), []);
  assertEquals(index.search("   ...  ", 5), []);
  assertEquals(index.search("zebra quantum", 5), []);
  assert(index.scores("").every((s) => s === 0));
  assertEquals(new Bm25Index([]).search("anything"), []);
  assertEquals(words("Don't PANIC, it's 42!"), ["don", "t", "panic", "it", "s", "42"]);
  // Repeated words saturate (k1) and longer passages are penalised (b).
  const sat = new Bm25Index(["cat", "cat cat cat cat cat cat", "cat dog dog dog dog dog dog"]);
  const s = sat.scores("cat");
  assert(s[1] > s[0] && s[1] < 2 * s[0] && s[2] < s[0], `scores ${s}`);
});

Deno.test("eval data: paragraphs, messages, truncation, budgets", () => {
  const text = "First line\nsecond line\n\nTwo\n \t\n\nThree " + "x".repeat(1100) + "\n\nLast";
  assertEquals(splitParagraphs(text).length, 4);
  assertEquals(splitParagraphs(text)[0], "First line\nsecond line");
  assertEquals(splitParagraphs("\n\n  \n"), []);
  assertEquals(messageParagraphs(text), ["First line\nsecond line", "Two", "Last"]);
  assertEquals(messageParagraphs("é".repeat(512)), ["é".repeat(512)]); // exactly 1024 bytes
  assertEquals(messageParagraphs("é".repeat(513)), []);
  assertEquals(truncateText(text, 30), "First line\nsecond line\n\nTwo");
  assertEquals(truncateText("🐈🐈🐈", 9), "🐈🐈");
  assertEquals(truncateText("short", 100), "short");
  assertEquals(takeBytes(["a", "bb", "ccc"], 3), ["a", "bb"]);
  assertEquals(takeBytes(["toolong"], 3), ["toolong"]);
  const seq = Array.from({ length: 100 }, (_, i) => i);
  const spans = pickSpans([seq, seq.slice(0, 5), seq.slice(0, 30)], 10, 4);
  assertEquals(spans.length, 4);
  assert(spans.every((s) => s.length === 10 && s[9] - s[0] === 9));
  assertEquals(pickSpans([seq.slice(0, 5)], 10, 4), []);
  const para = (w: string) => Array.from({ length: 25 }, () => w).join(" ");
  const pool = retrievalPool([
    { id: "a", text: `${para("alpha")}\n\nshort\n\n${para("alpha")}\n\n${para("gamma")}` },
    { id: "b", text: para("beta") },
  ]);
  assertEquals(pool.map((p) => p.split(" ")[0]), ["alpha", "beta", "gamma"]);
});

Deno.test("eval data: word dropping and queries are deterministic for a seed", () => {
  const s = "the quick brown fox jumps over the lazy sleeping dog";
  const a = dropWords(s, 7), b = dropWords(s, 7);
  assertEquals(a, b);
  assertEquals(a.split(" ").length, 10 - 3);
  // The kept words stay in order.
  const kept = a.split(" ");
  let at = 0;
  const all = s.split(" ");
  for (const w of kept) {
    at = all.indexOf(w, at);
    assert(at >= 0, `word ${w} out of order`);
    at++;
  }
  const variants = new Set(Array.from({ length: 20 }, (_, i) => dropWords(s, i)));
  assert(variants.size > 1, "different seeds should drop different words");
  assertEquals(dropWords("", 1), "");
  assertEquals(dropWords("one", 1), "one");
  const p = "Short one. This sentence has quite a few words in it. And another sentence here too.";
  assertEquals(makeQuery(p, 3), makeQuery(p, 3));
  assert(makeQuery(p, 3).length > 0);
  assert(makeQuery("x", 3) === "x");
});

Deno.test("eval baselines: all three compress redundant text", () => {
  const data = new TextEncoder().encode("memory is the treasury of everything. ".repeat(40));
  const bits = baselineBits(data);
  for (const v of Object.values(bits)) assert(v > 0 && v < data.length * 8, `bits ${v}`);
});

// Tag balance of a small XML document (no CDATA or comments expected).
function checkXml(svg: string): void {
  assert(svg.startsWith("<svg"), "starts with <svg");
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w-]*)([^>]*?)(\/?)>/g)) {
    const [, close, name, attrs, self] = m;
    const quotes = (attrs.match(/"/g) ?? []).length;
    assert(quotes % 2 === 0, `unbalanced quotes in <${name}${attrs}>`);
    if (self) continue;
    if (close) assertEquals(stack.pop(), name, `closing </${name}>`);
    else stack.push(name);
  }
  assertEquals(stack, [], "every tag closed");
  const text = svg.replace(/<[^>]*>/g, "");
  assert(!/[<>]/.test(text), "no stray angle brackets");
  assert(!/&(?!(amp|lt|gt|quot|apos);)/.test(text), "entities escaped");
}

Deno.test("eval plot: the SVG is well formed and has axes and a legend", () => {
  const b = { bpb_lossless: 2.1, bpb_gzip: 2.9, bpb_brotli: 2.5, bpb_zstd: 2.7 };
  const series = rateDistortionSeries({
    bpb: { doc: b, msg: { ...b, bpb_gzip: 4.4 } },
    recon: {
      "4": { accuracy: 0.6, bpb_memory: 3 },
      "8": { accuracy: 0.4, bpb_memory: 1.5 },
      "16": { accuracy: 0.2, bpb_memory: 0.75 },
    },
  });
  const svg = rateDistortionSvg(series, { title: "A & B <test>", subtitle: "sub" });
  checkXml(svg);
  assert(svg.includes("bits per byte"), "x label");
  assert(svg.includes("token reconstruction accuracy"), "y label");
  for (const name of ["gzip", "brotli", "zstd", "r3mem lossless", "memory only"]) {
    assert(svg.includes(name), `legend ${name}`);
  }
  assert(svg.includes("A &amp; B &lt;test&gt;"));
  checkXml(rateDistortionSvg([], {}));
  checkXml(rateDistortionSvg([{ name: "nan", color: "red", points: [{ x: NaN, y: 1 }] }]));
});

Deno.test("eval end to end: every metric on a tiny random model", async () => {
  const m = await loadEvalModel(await buildRandomModel({ seed: 5 }));
  const para = (n: number) =>
    `Paragraph ${n} talks about topic number ${n}. It has a second sentence about item ${n}, ` +
    `and a third one that mentions the colour ${["red", "green", "blue", "grey"][n % 4]}.`;
  const docs = [
    { id: "one", text: [0, 1, 2, 3].map(para).join("\n\n") },
    { id: "two", text: [4, 5, 6].map(para).join("\n\n") + "\n\nA short ending." },
  ];
  const lines: string[] = [];
  const r = await runEval(m, docs, {
    maxBytes: 2048,
    reconSpans: 2,
    tokensPerSlot: [4, 8],
    poolSize: 6,
    log: (l) => lines.push(l),
  }, "inline");
  assert(lines.some((l) => l.includes("took")), "timings are logged");
  assert(r.bpb, "bpb");
  for (const key of ["doc", "msg"] as const) {
    const b = r.bpb[key];
    for (const v of [b.bpb_lossless, b.bpb_gzip, b.bpb_brotli, b.bpb_zstd]) {
      assert(Number.isFinite(v) && v > 0, `${key} bpb ${v}`);
    }
    assert(b.items > 0 && b.bytes > 0);
  }
  assertEquals(r.bpb.msg.items, 8);
  assertEquals(r.bpb_lossless, r.bpb.doc.bpb_lossless);
  assertEquals(Object.keys(r.recon_token_acc!), ["4", "8"]);
  for (const [k, acc] of Object.entries(r.recon_token_acc!)) {
    assert(acc >= 0 && acc <= 1, `acc ${acc}`);
    assertEquals(r.recon![k].tokens, r.recon![k].spans * Number(k) * m.config.memorySlots);
    assert(r.recon![k].spans > 0 && r.recon![k].bpb_memory > 0);
  }
  for (const p of [r.ppl_none!, r.ppl_r3mem!, r.ppl_full!]) {
    assert(Number.isFinite(p) && p >= 1, `ppl ${p}`);
  }
  assert(r.ppl!.tokens > 0);
  assert(r.gap_closed === null || Number.isFinite(r.gap_closed), "gap closed");
  for (const v of [r.recall_at_5_r3mem!, r.recall_at_5_bm25!]) assert(v >= 0 && v <= 1);
  assertEquals(r.recall!.pool, 6); // 7 paragraphs of ≥ 100 bytes, capped by poolSize
  assert(r.recall_at_5_bm25! >= 0.5, `bm25 recall ${r.recall_at_5_bm25}`);
  for (const k of ["bpb_doc", "bpb_msg", "recon_4", "recon_8", "ppl", "recall", "total"]) {
    assert(r.timings_s[k] >= 0, `timing ${k}`);
  }
  const c = r.conversation!;
  assertEquals([c.conversations, c.turns], [2, 6]); // two documents of four paragraphs
  for (const v of Object.values(c.bpb)) assert(Number.isFinite(v) && v > 0, `conversation ${v}`);
  // "best" stores no more than either condition it chooses between (none is the default).
  assert(
    c.sizes.append_best_bytes <= Math.min(c.sizes.append_conversation_bytes, c.sizes.append_bytes),
    JSON.stringify(c.sizes),
  );
  assert(c.sizes.append_bytes > 0 && c.recall[0].lag === 0, "conversation sizes and recall");
  const json = JSON.parse(JSON.stringify(r));
  assertEquals(json.recon_token_acc["8"], r.recon_token_acc!["8"]);
  assert(formatReport(r).includes("recall@5"));
  const svg = rateDistortionSvg(rateDistortionSeries({ bpb: r.bpb, recon: r.recon! }));
  checkXml(svg);
});
