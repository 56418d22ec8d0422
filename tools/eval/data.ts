/**
 * Data selection for `deno task eval`: which documents, which paragraphs ("messages"), which
 * retrieval queries. Everything here is pure and deterministic (no model, no file system except
 * {@link loadValidation} and {@link loadFiles}).
 *
 * @module
 */
import { readCorpusDocuments } from "../corpus.ts";
import { splitText } from "../../src/model/segment.ts";
import { mulberry32 } from "../../src/prng.ts";

/** The seeded generator every eval sample is drawn with. */
export { mulberry32 };

/** One evaluation document. */
export interface EvalDocument {
  /** Corpus id, or the file's path. */
  id: string;
  /** The text (UTF-8 when encoded). */
  text: string;
}

const encoder = new TextEncoder();

/**
 * UTF-8 length of a string in bytes.
 *
 * @example
 * ```ts
 * import { utf8Bytes } from "./data.ts";
 * console.log(utf8Bytes("é🐈")); // 6
 * ```
 */
export function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

/**
 * Reads the documents of a corpus file (`.corpus/valid.txt`) in file order.
 *
 * @param path The corpus file.
 * @param limitDocs Stop after this many documents (default: all).
 * @returns The documents.
 * @throws {Deno.errors.NotFound} When the file is missing.
 */
export async function loadValidation(
  path: string,
  limitDocs = Infinity,
): Promise<EvalDocument[]> {
  const docs: EvalDocument[] = [];
  for await (const d of readCorpusDocuments(path)) {
    if (docs.length >= limitDocs) break;
    if (d.text.trim()) docs.push({ id: d.id, text: d.text });
  }
  return docs;
}

/**
 * Reads UTF-8 files, one document each.
 *
 * @param paths The files.
 * @returns The documents (empty files are skipped).
 * @throws {Error} When a file is not valid UTF-8.
 */
export async function loadFiles(paths: string[]): Promise<EvalDocument[]> {
  const docs: EvalDocument[] = [];
  const dec = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  for (const p of paths) {
    let text: string;
    try {
      text = dec.decode(await Deno.readFile(p));
    } catch (e) {
      if (e instanceof TypeError) throw new Error(`${p} is not valid UTF-8 text`);
      throw e;
    }
    if (text.trim()) docs.push({ id: p, text });
  }
  return docs;
}

/**
 * Splits text into paragraphs on blank lines (lines empty or holding only spaces and tabs). The
 * separators are dropped and so are paragraphs that are only whitespace.
 *
 * @example
 * ```ts
 * import { splitParagraphs } from "./data.ts";
 * console.log(splitParagraphs("One\ntwo\n\n  \nThree\n\n")); // [ "One\ntwo", "Three" ]
 * ```
 */
export function splitParagraphs(text: string): string[] {
  return text.split(/\n[ \t]*\n(?:[ \t]*\n)*/).filter((p) => p.trim().length > 0);
}

/**
 * The "message" items of a text: its paragraphs of at most `maxBytes` UTF-8 bytes (default
 * 1024), each to be compressed on its own.
 *
 * @example
 * ```ts
 * import { messageParagraphs } from "./data.ts";
 * console.log(messageParagraphs("short\n\n" + "x".repeat(2000) + "\n\nend")); // [ "short", "end" ]
 * ```
 */
export function messageParagraphs(text: string, maxBytes = 1024): string[] {
  return splitParagraphs(text).filter((p) => utf8Bytes(p) <= maxBytes);
}

/**
 * The longest prefix of `text` made of whole paragraphs (with the blank lines between them) that
 * fits in `maxBytes` UTF-8 bytes; when even the first paragraph is longer, that paragraph cut at
 * a code point boundary.
 *
 * @example
 * ```ts
 * import { truncateText } from "./data.ts";
 * console.log(JSON.stringify(truncateText("aaa\n\nbbb\n\nccc", 9))); // "aaa\n\nbbb"
 * console.log(truncateText("abcdef", 3)); // abc
 * ```
 */
export function truncateText(text: string, maxBytes: number): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  const re = /\n[ \t]*\n(?:[ \t]*\n)*/g;
  let best = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (utf8Bytes(text.slice(0, m.index)) > maxBytes) break;
    best = m.index;
  }
  if (best > 0) return text.slice(0, best);
  let out = "", bytes = 0;
  for (const ch of text) {
    const n = utf8Bytes(ch);
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/**
 * Takes items in order while their total UTF-8 size stays within `maxBytes` (always at least one
 * item when there is any).
 *
 * @example
 * ```ts
 * import { takeBytes } from "./data.ts";
 * console.log(takeBytes(["aaaa", "bbbb", "cccc"], 9)); // [ "aaaa", "bbbb" ]
 * ```
 */
export function takeBytes(items: string[], maxBytes: number): string[] {
  const out: string[] = [];
  let total = 0;
  for (const it of items) {
    const n = utf8Bytes(it);
    if (out.length > 0 && total + n > maxBytes) break;
    out.push(it);
    total += n;
  }
  return out;
}

/** Mixes a seed and an index into a new 32-bit seed. */
export function mixSeed(seed: number, index: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  return (h ^ (h >>> 15)) >>> 0;
}

/**
 * Drops `floor(words × share)` of the whitespace-separated words of `text` (default a third),
 * chosen by `seed`; the others are kept in order and joined by single spaces.
 *
 * @example
 * ```ts
 * import { dropWords } from "./data.ts";
 * const q = dropWords("one two three four five six", 42);
 * console.log(q.split(" ").length, q === dropWords("one two three four five six", 42)); // 4 true
 * ```
 */
export function dropWords(text: string, seed: number, share = 1 / 3): string {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  const drop = Math.floor(words.length * share);
  const order = words.map((_, i) => i);
  const rand = mulberry32(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const dropped = new Set(order.slice(0, drop));
  return words.filter((_, i) => !dropped.has(i)).join(" ");
}

/**
 * A retrieval query for a paragraph: one of its sentences (chosen by `seed` among those of at
 * least 5 words; the longest when none is) with a third of its words dropped.
 *
 * @example
 * ```ts
 * import { makeQuery } from "./data.ts";
 * const p = "Cats purr when they are content. Dogs bark at strangers passing by the gate.";
 * console.log(makeQuery(p, 1) === makeQuery(p, 1)); // true
 * ```
 */
export function makeQuery(paragraph: string, seed: number): string {
  const sentence = querySentence(paragraph, seed);
  const query = dropWords(sentence, mixSeed(seed, 1));
  return query.length > 0 ? query : sentence;
}

/**
 * The sentence a paragraph's query is made from: one of at least five words, picked by the
 * seed, or the longest.
 *
 * @example
 * ```ts
 * import { querySentence } from "./data.ts";
 * console.log(querySentence("Short one. This sentence has six words here.", 1)); // "This sentence has six words here."
 * ```
 */
export function querySentence(paragraph: string, seed: number): string {
  const sentences = splitText(paragraph).flatMap((p) =>
    p.sentences.map((s) => paragraph.slice(s.start, s.end).trim())
  ).filter((s) => s.length > 0);
  const count = (s: string) => s.split(/\s+/).filter((w) => w).length;
  const long = sentences.filter((s) => count(s) >= 5);
  const rand = mulberry32(seed);
  const sentence = long.length > 0
    ? long[Math.floor(rand() * long.length)]
    : sentences.reduce((a, b) => (count(b) > count(a) ? b : a), paragraph.trim());
  return sentence;
}

/** Options of {@link retrievalPool}. */
export interface PoolOptions {
  /** Most paragraphs in the pool (default 300). */
  size?: number;
  /** Smallest paragraph in UTF-8 bytes (default 100). */
  minBytes?: number;
  /** Largest paragraph in UTF-8 bytes (default 1024). */
  maxBytes?: number;
}

/**
 * The paragraph pool of the retrieval metric: distinct paragraphs of `minBytes…maxBytes` UTF-8
 * bytes, taken round-robin over the documents (first paragraph of each, then the second…) so
 * that every document contributes, up to `size`.
 *
 * @example
 * ```ts
 * import { retrievalPool } from "./data.ts";
 * const para = (w: string) => (w + " ").repeat(30).trim();
 * const pool = retrievalPool([
 *   { id: "a", text: para("apple") + "\n\n" + para("apricot") },
 *   { id: "b", text: para("banana") + "\n\nshort" },
 * ], { size: 2 });
 * console.log(pool.map((p) => p.split(" ")[0])); // [ "apple", "banana" ]
 * ```
 */
export function retrievalPool(docs: EvalDocument[], options: PoolOptions = {}): string[] {
  const size = options.size ?? 300, min = options.minBytes ?? 100, max = options.maxBytes ?? 1024;
  const lists = docs.map((d) =>
    splitParagraphs(d.text).filter((p) => {
      const n = utf8Bytes(p);
      return n >= min && n <= max;
    })
  );
  const seen = new Set<string>();
  const pool: string[] = [];
  for (let round = 0; pool.length < size; round++) {
    let any = false;
    for (const list of lists) {
      if (round >= list.length) continue;
      any = true;
      const p = list[round];
      if (seen.has(p)) continue;
      seen.add(p);
      pool.push(p);
      if (pool.length >= size) break;
    }
    if (!any) break;
  }
  return pool;
}

/**
 * Picks up to `count` spans of `length` consecutive tokens: as evenly as possible from every
 * token sequence long enough (at most `ceil(count / sequences)` each, in order), spread evenly
 * over each sequence (one span comes from its middle), aligned to multiples of `length`.
 *
 * @example
 * ```ts
 * import { pickSpans } from "./data.ts";
 * const seq = Array.from({ length: 10 }, (_, i) => i);
 * console.log(pickSpans([seq], 3, 2)); // [ [ 0, 1, 2 ], [ 6, 7, 8 ] ]
 * ```
 */
export function pickSpans(
  sequences: ArrayLike<number>[],
  length: number,
  count: number,
): number[][] {
  const out: number[][] = [];
  if (length <= 0 || count <= 0) return out;
  const usable = sequences.filter((s) => s.length >= length);
  if (usable.length === 0) return out;
  const perSeq = Math.ceil(count / usable.length);
  for (const seq of usable) {
    const available = Math.floor(seq.length / length);
    const take = Math.min(perSeq, available, count - out.length);
    for (let i = 0; i < take; i++) {
      const at = Math.floor(((i + 0.5) * available) / take) * length;
      out.push(Array.from(Array.prototype.slice.call(seq, at, at + length) as number[]));
    }
    if (out.length >= count) break;
  }
  return out;
}
