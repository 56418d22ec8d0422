import { deepStrictEqual, ok, strictEqual, throws } from "node:assert";
import { FormatError, InputError } from "../src/errors.ts";
import {
  BOS_ID,
  EOS_ID,
  FIRST_MERGE_ID,
  MAX_CHUNK_LENGTH,
  NUM_SPECIAL_TOKENS,
  PAD_ID,
  pretokenize,
  SEP_ID,
  Tokenizer,
  trainBpe,
} from "../src/model/tokenizer.ts";
import { rng } from "./_rng.ts";

// ---------------------------------------------------------------------------------------------
// helpers

/** Ranges of code points to draw from, with weights: every plane and the tricky corners. */
const RANGES: [number, number, number][] = [
  [0x20, 0x7e, 30], // printable ASCII
  [0x61, 0x7a, 30], // lowercase letters (so merges fire)
  [0x00, 0x1f, 3], // C0 controls incl. NUL, tab, newlines
  [0x7f, 0x9f, 1], // DEL and C1 controls
  [0x20, 0x20, 15], // spaces
  [0x27, 0x27, 3], // apostrophe (contractions)
  [0x30, 0x39, 5], // digits
  [0xa0, 0x2ff, 4], // Latin-1 and extended Latin
  [0x300, 0x36f, 4], // combining marks
  [0x370, 0x52f, 2], // Greek, Cyrillic
  [0x600, 0x6ff, 2], // Arabic (incl. Arabic-Indic digits)
  [0x900, 0x97f, 1], // Devanagari
  [0x2000, 0x206f, 2], // general punctuation, odd spaces, ZWJ, LS/PS
  [0x3000, 0x303f, 1], // CJK punctuation, ideographic space
  [0x4e00, 0x9fff, 6], // CJK ideographs
  [0xac00, 0xd7a3, 2], // Hangul
  [0xe000, 0xf8ff, 1], // private use
  [0xfe00, 0xffff, 1], // variation selectors, BOM, specials, U+FFFE/FFFF
  [0x1f300, 0x1faff, 6], // emoji
  [0x1f3fb, 0x1f3ff, 1], // skin tones
  [0x10000, 0x10ffff, 3], // anything in the supplementary planes
  [0x1d7ce, 0x1d7ff, 1], // mathematical digits (astral \p{N})
];
const TOTAL_WEIGHT = RANGES.reduce((s, r) => s + r[2], 0);

function randomCodePoint(rand: () => number): number {
  let w = rand() * TOTAL_WEIGHT;
  for (const [lo, hi, weight] of RANGES) {
    if ((w -= weight) < 0) return lo + Math.floor(rand() * (hi - lo + 1));
  }
  return 0x41;
}

function randomString(rand: () => number, maxLen: number): string {
  const n = Math.floor(rand() * maxLen);
  const cps: number[] = [];
  for (let i = 0; i < n; i++) cps.push(randomCodePoint(rand));
  return String.fromCodePoint(...cps);
}

const ENGLISH = `It was the best of times, it was the worst of times, it was the age of wisdom,
it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity, it
was the season of Light, it was the season of Darkness, it was the spring of hope, it was the
winter of despair. We had everything before us, we had nothing before us; we were all going
direct to Heaven, we were all going direct the other way. There were 2 kings and 1,234 queens
in 1775. Don't you think they'd've known? She's here; we'll see. The function f(x) = x**2 + 3
returns 12 when x == 3.\n\n\tIndented line.\r\nWindows line. 日本語のテキストも少し。 Ünïcödé!`;

function trainingCorpus(): string[] {
  const rand = rng(7);
  const texts = [ENGLISH, ENGLISH.toUpperCase(), ENGLISH.replaceAll(" ", "  ")];
  for (let i = 0; i < 50; i++) texts.push(randomString(rand, 200));
  return texts;
}

const TOK = trainBpe(trainingCorpus(), 700);

/** Reference BPE of one chunk: apply merges in rank order, all occurrences left to right. */
function naiveBpe(bytes: Uint8Array, merges: Uint32Array): number[] {
  let ids = Array.from(bytes);
  for (let r = 0; r < merges.length / 2 && ids.length > 1; r++) {
    const a = merges[2 * r], b = merges[2 * r + 1];
    const out: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
        out.push(FIRST_MERGE_ID + r);
        i++;
      } else out.push(ids[i]);
    }
    ids = out;
  }
  return ids;
}

/** Reference trainer: recount every pair before each merge. */
function naiveTrain(texts: string[], vocabSize: number): number[] {
  const counts = new Map<string, number>();
  for (const t of texts) for (const c of pretokenize(t)) counts.set(c, (counts.get(c) ?? 0) + 1);
  const enc = new TextEncoder();
  const words = [...counts].map(([c, f]) => ({ ids: Array.from(enc.encode(c)), f }));
  const merges: number[] = [];
  for (let z = FIRST_MERGE_ID; z < vocabSize; z++) {
    const pc = new Map<number, number>();
    for (const w of words) {
      for (let i = 0; i + 1 < w.ids.length; i++) {
        const k = w.ids[i] * 2 ** 20 + w.ids[i + 1];
        pc.set(k, (pc.get(k) ?? 0) + w.f);
      }
    }
    let best = -1, bestCount = 0;
    for (const [k, c] of pc) {
      if (c > bestCount || (c === bestCount && k < best)) [best, bestCount] = [k, c];
    }
    if (bestCount < 2) break;
    const a = Math.floor(best / 2 ** 20), b = best % 2 ** 20;
    merges.push(a, b);
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.ids.length; i++) {
        if (i + 1 < w.ids.length && w.ids[i] === a && w.ids[i + 1] === b) {
          out.push(z);
          i++;
        } else out.push(w.ids[i]);
      }
      w.ids = out;
    }
  }
  return merges;
}

/** The pre-split rule as the reference regular expression, plus the length cap. */
const REFERENCE_RE =
  /'(?:[sdmt]|ll|ve|re)(?![\p{L}\p{M}])| ?[\p{L}\p{M}]+| ?\p{N}{1,3}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function referencePretokenize(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(REFERENCE_RE)) {
    let s = m[0];
    while (s.length > MAX_CHUNK_LENGTH) {
      let cut = MAX_CHUNK_LENGTH;
      if ((s.charCodeAt(cut - 1) & 0xfc00) === 0xd800) cut--;
      out.push(s.slice(0, cut));
      s = s.slice(cut);
    }
    out.push(s);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// pre-split

Deno.test("pretokenize: matches the reference regex on random strings", () => {
  const rand = rng(1);
  for (let i = 0; i < 3000; i++) {
    const s = randomString(rand, 80);
    deepStrictEqual(pretokenize(s), referencePretokenize(s), JSON.stringify(s));
  }
});

Deno.test("pretokenize: fixed cases", () => {
  deepStrictEqual(pretokenize(""), []);
  deepStrictEqual(pretokenize("Hello, world!"), ["Hello", ",", " world", "!"]);
  deepStrictEqual(pretokenize("a   b"), ["a", "  ", " b"]);
  deepStrictEqual(pretokenize("a  \nb"), ["a", "  ", "\n", "b"]);
  deepStrictEqual(pretokenize("x  "), ["x", "  "]);
  deepStrictEqual(pretokenize("I'm we'll 'sup"), ["I", "'m", " we", "'ll", " '", "sup"]);
  deepStrictEqual(pretokenize("12345 678"), ["123", "45", " 678"]);
  deepStrictEqual(pretokenize("e\u0301te\u0301"), ["e\u0301te\u0301"]);
  deepStrictEqual(pretokenize("👍🏽!?"), ["👍🏽!?"]);
  // long runs are capped without splitting a surrogate pair
  const long = "a" + "😀".repeat(300);
  const chunks = pretokenize(long);
  strictEqual(chunks.join(""), long);
  ok(chunks.every((c) => c.length <= MAX_CHUNK_LENGTH && c.isWellFormed()));
  deepStrictEqual(chunks, referencePretokenize(long));
});

// ---------------------------------------------------------------------------------------------
// encode / decode

Deno.test("special token ids are fixed", () => {
  deepStrictEqual([BOS_ID, EOS_ID, PAD_ID, SEP_ID, FIRST_MERGE_ID], [256, 257, 258, 259, 264]);
  strictEqual(NUM_SPECIAL_TOKENS, 8);
  for (const id of [BOS_ID, EOS_ID, PAD_ID, SEP_ID]) {
    ok(TOK.isSpecial(id));
    strictEqual(TOK.decodePiece(id).length, 0);
  }
  ok(!TOK.isSpecial(255) && !TOK.isSpecial(FIRST_MERGE_ID));
  const ids = TOK.encode("hi", { bos: true, eos: true });
  strictEqual(ids[0], BOS_ID);
  strictEqual(ids[ids.length - 1], EOS_ID);
  strictEqual(TOK.decode(ids), "hi");
});

Deno.test("round trip: random strings across all planes (property test)", () => {
  const rand = rng(2);
  const bytesOnly = new Tokenizer([]);
  const enc = new TextEncoder();
  for (let i = 0; i < 3000; i++) {
    const s = randomString(rand, 120);
    const ids = TOK.encode(s);
    strictEqual(TOK.decode(ids), s);
    deepStrictEqual(TOK.decodeBytes(ids), enc.encode(s));
    ok(ids.every((id) => id >= 0 && id < TOK.vocabSize && !TOK.isSpecial(id)));
    strictEqual(bytesOnly.decode(bytesOnly.encode(s)), s);
  }
});

Deno.test("round trip: edge cases", () => {
  const cases = [
    "",
    "\0",
    "\0\0\0 a\0b",
    "\uFEFFleading byte order mark",
    "\uFEFF",
    "\r\n\t\v\f\u0085\u2028\u2029",
    "e\u0301\u0302\u0303 combining",
    "\u0301 leading mark",
    "👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 👍🏿",
    "中文字符和日本語のかな、한국어",
    "\u{10FFFF}\u{E0001}\u{F0000}\uFFFF\uFFFE",
    " ".repeat(1000),
    "x".repeat(5000),
    "ab".repeat(3000),
    "😀".repeat(2000),
  ];
  for (const s of cases) strictEqual(TOK.decode(TOK.encode(s)), s, JSON.stringify(s.slice(0, 40)));
});

Deno.test("encode equals the reference BPE, short and long chunks", () => {
  const rand = rng(3);
  const enc = new TextEncoder();
  const samples = [ENGLISH, ENGLISH.toUpperCase(), "the".repeat(100), "aaaa".repeat(70)];
  for (let i = 0; i < 300; i++) samples.push(randomString(rand, 100));
  for (let i = 0; i < 20; i++) {
    // long letter runs take the heap path
    let s = "";
    for (let k = 0; k < 200; k++) s += "etaoinsh"[Math.floor(rand() * 8)];
    samples.push(s);
  }
  for (const s of samples) {
    const expected: number[] = [];
    for (const chunk of pretokenize(s)) expected.push(...naiveBpe(enc.encode(chunk), TOK.merges));
    deepStrictEqual(Array.from(TOK.encode(s)), expected, JSON.stringify(s.slice(0, 60)));
  }
});

Deno.test("encode: 10 MB input round-trips quickly", () => {
  const rand = rng(4);
  const words = ENGLISH.split(/(?<= )/);
  const parts: string[] = [];
  let length = 0;
  while (length < 10_000_000) {
    const p = rand() < 0.9 ? words[Math.floor(rand() * words.length)] : randomString(rand, 12);
    parts.push(p);
    length += p.length;
  }
  const text = parts.join("");
  const bytes = new TextEncoder().encode(text).length;
  const tok = Tokenizer.fromBytes(TOK.toBytes()); // fresh cache
  const t0 = performance.now();
  const ids = tok.encode(text);
  const t1 = performance.now();
  const back = tok.decode(ids);
  const t2 = performance.now();
  strictEqual(back.length, text.length);
  ok(back === text, "10 MB round trip differs");
  const mbps = bytes / 1e6 / ((t1 - t0) / 1000);
  console.log(
    `encode ${(bytes / 1e6).toFixed(1)} MB in ${(t1 - t0).toFixed(0)} ms (${
      mbps.toFixed(1)
    } MB/s), ` +
      `decode ${(t2 - t1).toFixed(0)} ms, ${(bytes / ids.length).toFixed(2)} bytes/token`,
  );
  ok(t1 - t0 < 8000, `encoding 10 MB took ${t1 - t0} ms`);
});

Deno.test("encode: refuses lone surrogates, naming the position", () => {
  const cases: [string, number][] = [
    ["\uD800", 0],
    ["ab\uDC00cd", 2],
    ["ok 😀 then \uD83D", 11],
    ["\uDE00\uD83D", 0],
    ["x".repeat(1000) + "\uDBFF" + "y", 1000],
  ];
  for (const [s, at] of cases) {
    throws(() => TOK.encode(s), (e: unknown) => {
      ok(e instanceof InputError);
      ok(e.message.includes(`at index ${at}`), e.message);
      ok(e.message.includes("lone surrogate"), e.message);
      return true;
    });
  }
  throws(() => pretokenize("\uD800"), InputError);
  throws(() => trainBpe(["fine", "bad \uDFFF"], 300), InputError);
});

Deno.test("encode: refuses non-strings", () => {
  for (const v of [1, null, undefined, {}, ["a"], new String("a"), new Uint8Array(2)]) {
    throws(() => TOK.encode(v as unknown as string), InputError);
  }
});

Deno.test("decode: split UTF-8 does not throw; decodeBytes is exact", () => {
  const ids = new Tokenizer([]).encode("a€😀");
  for (let cut = 0; cut <= ids.length; cut++) {
    const part = ids.subarray(0, cut);
    const text = TOK.decode(part);
    strictEqual(typeof text, "string");
    deepStrictEqual(TOK.decodeBytes(part), new TextEncoder().encode("a€😀").subarray(0, cut));
  }
  strictEqual(TOK.decode([0xff, 0x61]), "\uFFFDa");
  strictEqual(TOK.decode([0x61, 0xf0, 0x9f]), "a\uFFFD");
});

Deno.test("decode: refuses invalid ids", () => {
  for (const bad of [[-1], [TOK.vocabSize], [1.5], [NaN], [1e10]]) {
    throws(() => TOK.decode(bad), InputError);
    throws(() => TOK.decodeBytes(bad), InputError);
    throws(() => TOK.decodePiece(bad[0]), InputError);
  }
});

Deno.test("streamDecoder: token by token equals decode", () => {
  const rand = rng(5);
  for (let i = 0; i < 200; i++) {
    const s = randomString(rand, 60);
    const d = TOK.streamDecoder();
    let out = "";
    for (const id of TOK.encode(s)) out += d.push(id);
    out += d.flush();
    strictEqual(out, s);
  }
});

// ---------------------------------------------------------------------------------------------
// training

Deno.test("trainBpe: deterministic and equal to the reference trainer", () => {
  const texts = trainingCorpus();
  const a = trainBpe(texts, 700);
  const b = trainBpe(texts, 700);
  deepStrictEqual(a.merges, b.merges);
  deepStrictEqual(a.merges, TOK.merges);
  // generators work too
  const c = trainBpe(
    (function* () {
      yield* texts;
    })(),
    700,
  );
  deepStrictEqual(c.merges, a.merges);
  const small = texts.slice(0, 6);
  deepStrictEqual(Array.from(trainBpe(small, 500).merges), naiveTrain(small, 500));
});

Deno.test("trainBpe: tie-breaking by lowest pair, early stop, limits", () => {
  // "ab" and "cd" both occur twice: (a, b) has the lower ids and wins
  const tok = trainBpe(["cd", "ab", "cd", "ab"], FIRST_MERGE_ID + 1);
  deepStrictEqual(Array.from(tok.merges), [0x61, 0x62]);
  // runs out of pairs occurring at least twice
  const few = trainBpe(["abc abc"], 10_000);
  ok(few.vocabSize < 300);
  strictEqual(trainBpe(["abc"], FIRST_MERGE_ID).vocabSize, FIRST_MERGE_ID);
  throws(() => trainBpe(["x"], 100), InputError);
  throws(() => trainBpe(["x"], 1.5 as number), InputError);
  throws(() => trainBpe(42 as unknown as string[], 300), InputError);
  throws(() => trainBpe([7 as unknown as string], 300), InputError);
});

Deno.test("trainBpe: reports progress", () => {
  const seen: string[] = [];
  trainBpe(trainingCorpus(), 600, { onProgress: (p) => seen.push(p.phase) });
  ok(seen.includes("merge"));
});

// ---------------------------------------------------------------------------------------------
// binary form

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function reseal(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

Deno.test("toBytes/fromBytes round trip", () => {
  const bytes = TOK.toBytes();
  const back = Tokenizer.fromBytes(bytes);
  deepStrictEqual(back.merges, TOK.merges);
  strictEqual(back.vocabSize, TOK.vocabSize);
  deepStrictEqual(back.encode(ENGLISH), TOK.encode(ENGLISH));
  deepStrictEqual(back.toBytes(), bytes);
  // from a view at an odd offset
  const padded = new Uint8Array(bytes.length + 3);
  padded.set(bytes, 3);
  deepStrictEqual(Tokenizer.fromBytes(padded.subarray(3)).merges, TOK.merges);
  // wide ids (vocab over 65536) use 4-byte ids
  const wide = new Uint32Array(2 * (70_000 - FIRST_MERGE_ID));
  for (let r = 0; r < wide.length / 2; r++) {
    if (r < 65536) [wide[2 * r], wide[2 * r + 1]] = [r >> 8, r & 255]; // all byte pairs
    else [wide[2 * r], wide[2 * r + 1]] = [FIRST_MERGE_ID + r - 65536, 97];
  }
  const big = new Tokenizer(wide);
  strictEqual(big.vocabSize, 70_000);
  const bigBytes = big.toBytes();
  strictEqual(bigBytes.length, 24 + wide.length * 4 + 4);
  deepStrictEqual(Tokenizer.fromBytes(bigBytes).merges, big.merges);
  strictEqual(big.decode(big.encode("The wide one")), "The wide one");
});

Deno.test("fromBytes refuses damaged or foreign bytes", () => {
  const good = TOK.toBytes();
  const bad = (b: Uint8Array, needle: string) =>
    throws(() => Tokenizer.fromBytes(b), (e: unknown) => {
      ok(e instanceof FormatError, String(e));
      ok(e.message.includes(needle), `${e.message} should mention ${needle}`);
      return true;
    });
  bad(new Uint8Array(0), "truncated");
  bad(good.subarray(0, 20), "truncated");
  bad(good.subarray(0, good.length - 1), "truncated");
  bad(new Uint8Array([...good, 0]), "wrong length");
  const magic = good.slice();
  magic[0] = 0x58;
  bad(magic, "magic");
  const version = good.slice();
  version[4] = 2;
  bad(reseal(version), "version");
  const width = good.slice();
  width[20] = 3;
  bad(reseal(width), "width");
  for (let i = 24; i < good.length; i += 97) {
    const flipped = good.slice();
    flipped[i] ^= 0x10;
    bad(flipped, "checksum");
  }
  // a merge that refers to a later token, with a valid checksum
  const future = good.slice();
  new DataView(future.buffer).setUint16(24, 5000, true);
  bad(reseal(future), "does not exist");
  const special = good.slice();
  new DataView(special.buffer).setUint16(24, BOS_ID, true);
  bad(reseal(special), "special");
  throws(() => Tokenizer.fromBytes([1, 2] as unknown as Uint8Array), FormatError);
});

Deno.test("constructor validates merges", () => {
  throws(() => new Tokenizer([[300, 1]]), InputError);
  throws(() => new Tokenizer([[97, 98], [97, 98]]), /repeats the pair \(97, 98\)/);
  throws(() => new Tokenizer([[97, -1]]), InputError);
  throws(() => new Tokenizer([97, 98, 99]), InputError);
  throws(() => new Tokenizer("ab" as unknown as number[]), InputError);
  // a chain of merges making a token longer than any chunk (a cheap way to blow up memory)
  const chain: number[] = [97, 97];
  for (let r = 1; r < 1000; r++) chain.push(FIRST_MERGE_ID + r - 1, 97);
  throws(() => new Tokenizer(chain), /longer than any chunk/);
  strictEqual(new Tokenizer([97, 98, 264, 99]).vocabSize, 266);
  strictEqual(new Tokenizer([97, 98, 264, 99]).decode([265]), "abc");
});
