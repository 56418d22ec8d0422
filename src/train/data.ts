/**
 * Training data: documents tokenized the way the runtime tokenizes them (each sentence of
 * `splitText` encoded on its own, the pieces concatenated), with sentence and paragraph
 * boundaries kept, and seeded samplers for both training stages.
 *
 * @module
 */
import { splitText } from "../model/segment.ts";
import type { Tokenizer } from "../model/tokenizer.ts";
import type { MemorySample } from "./engine.ts";
import { Rng } from "./params.ts";

/** Documents as one token stream with the hierarchy's boundaries. */
export interface TokenizedCorpus {
  /** Every document's tokens, concatenated. */
  tokens: Int32Array;
  /** Start of each document, plus the total at the end. */
  docStart: Int32Array;
  /** Start of each paragraph, plus the total at the end. */
  paraStart: Int32Array;
  /** Start of each sentence, plus the total at the end. */
  sentStart: Int32Array;
}

/**
 * Tokenizes documents as the runtime does: paragraphs and sentences from `splitText`, each
 * sentence encoded separately.
 *
 * @example
 * ```ts
 * import { Tokenizer } from "../model/tokenizer.ts";
 * import { tokenizeDocuments } from "./data.ts";
 * const c = tokenizeDocuments(["One. Two.\n\nThree."], new Tokenizer([]));
 * console.log(c.tokens.length, c.paraStart.length - 1, c.sentStart.length - 1); // 17 2 3
 * ```
 */
export function tokenizeDocuments(texts: Iterable<string>, tok: Tokenizer): TokenizedCorpus {
  let buf = new Int32Array(1 << 16);
  let len = 0;
  const docs: number[] = [], paras: number[] = [], sents: number[] = [];
  for (const text of texts) {
    if (!text) continue;
    docs.push(len);
    for (const p of splitText(text)) {
      paras.push(len);
      for (const s of p.sentences) {
        const ids = tok.encode(text.slice(s.start, s.end));
        if (ids.length === 0) continue;
        sents.push(len);
        if (len + ids.length > buf.length) {
          const g = new Int32Array(Math.max(buf.length * 2, len + ids.length));
          g.set(buf.subarray(0, len));
          buf = g;
        }
        buf.set(ids, len);
        len += ids.length;
      }
    }
  }
  docs.push(len), paras.push(len), sents.push(len);
  return {
    tokens: buf.slice(0, len),
    docStart: Int32Array.from(docs),
    paraStart: Int32Array.from(paras),
    sentStart: Int32Array.from(sents),
  };
}

/** Index of the last element of sorted `a` (excluding the final total) that is ≤ x. */
function floorIndex(a: Int32Array, x: number): number {
  let lo = 0, hi = a.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (a[mid] <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Options of stage-2 sampling. */
export interface MemorySampling {
  /** Tokens per compression segment. */
  segmentTokens: number;
  /** Longest span, in segments. */
  maxSegments: number;
  /** Tokens of continuation after the span. */
  nextTokens: number;
  /** Relative frequency of sentence, paragraph and multi-segment chunk spans. */
  levels: { sentence: number; paragraph: number; chunk: number };
  /**
   * When set, every sample also carries a search query for its span: one of its sentences
   * (at random) with each token dropped with this probability (at least one kept), as the
   * evaluation's retrieval queries drop a third of a sentence's words.
   */
  queryDrop?: number;
  /**
   * When set, every span is a window of exactly this many tokens starting anywhere in a
   * document long enough to hold it, instead of the level mix: the short fixed spans of a
   * curriculum phase (`deno task train --windows N`; docs/TRAINING.md, "The encoder").
   */
  windowTokens?: number;
}

/** Which level a stage-2 span was drawn at. */
export type SpanLevel = "sentence" | "paragraph" | "chunk" | "window";

/**
 * Seeded sampling of training examples. Its whole state is {@link Sampler.rng}'s state, so a
 * checkpoint can resume the exact sequence.
 */
export class Sampler {
  /** The corpus sampled from. */
  readonly corpus: TokenizedCorpus;
  /** The random source. */
  readonly rng: Rng;

  /** Samples from `corpus` with a generator seeded by `seed`. */
  constructor(corpus: TokenizedCorpus, seed: number) {
    if (corpus.tokens.length === 0) throw new RangeError("The corpus has no tokens");
    this.corpus = corpus;
    this.rng = new Rng(seed);
  }

  #docEnd(pos: number): number {
    const d = this.corpus.docStart;
    return d[floorIndex(d, pos) + 1];
  }

  /**
   * A stage-1 sequence of up to `length` tokens from one document, starting at a sentence start
   * half of the time and anywhere otherwise. Sequences shorter than `minLength` are redrawn.
   */
  lmSequence(length: number, minLength = 8): Int32Array {
    const c = this.corpus, total = c.tokens.length;
    for (let attempt = 0;; attempt++) {
      const p = this.rng.int(total);
      const start = this.rng.next() < 0.5 ? c.sentStart[floorIndex(c.sentStart, p)] : p;
      const end = Math.min(start + length, this.#docEnd(start));
      if (end - start >= minLength || attempt >= 20) {
        return c.tokens.slice(start, Math.max(end, start + 1));
      }
    }
  }

  /**
   * A stage-2 example: a span at a random level (a sentence, a paragraph, or a chunk of 1 to
   * `maxSegments` segments from a sentence start), at most `maxSegments` segments long, and the
   * `nextTokens` that follow it in its document.
   */
  memorySample(o: MemorySampling): MemorySample & { level: SpanLevel } {
    if (o.windowTokens !== undefined) return this.#window(o);
    const c = this.corpus, total = c.tokens.length;
    const maxSpan = o.maxSegments * o.segmentTokens;
    const wsum = o.levels.sentence + o.levels.paragraph + o.levels.chunk;
    const u = this.rng.next() * wsum;
    const level: SpanLevel = u < o.levels.sentence
      ? "sentence"
      : u < o.levels.sentence + o.levels.paragraph
      ? "paragraph"
      : "chunk";
    const p = this.rng.int(total);
    let start: number, end: number;
    if (level === "sentence") {
      const k = floorIndex(c.sentStart, p);
      start = c.sentStart[k], end = c.sentStart[k + 1];
    } else if (level === "paragraph") {
      const k = floorIndex(c.paraStart, p);
      start = c.paraStart[k], end = c.paraStart[k + 1];
    } else {
      start = c.sentStart[floorIndex(c.sentStart, p)];
      end = start + (1 + this.rng.int(o.maxSegments)) * o.segmentTokens;
    }
    const docEnd = this.#docEnd(start);
    end = Math.min(end, start + maxSpan, docEnd);
    const nextEnd = Math.min(end + o.nextTokens, docEnd);
    const sample: MemorySample & { level: SpanLevel } = {
      level,
      span: c.tokens.slice(start, end),
      next: c.tokens.slice(end, nextEnd),
    };
    if (o.queryDrop !== undefined && end > start) {
      sample.query = this.#query(start, end, o.queryDrop);
    }
    return sample;
  }

  // A window of `o.windowTokens` tokens from a random position; documents too short for it are
  // redrawn (after 50 tries the window is clipped to its document's end).
  #window(o: MemorySampling): MemorySample & { level: SpanLevel } {
    const c = this.corpus, total = c.tokens.length, n = o.windowTokens!;
    let start = 0, docEnd = total;
    for (let attempt = 0; attempt < 50; attempt++) {
      start = this.rng.int(total);
      docEnd = this.#docEnd(start);
      if (docEnd - start >= n) break;
    }
    const end = Math.min(start + n, docEnd);
    const sample: MemorySample & { level: SpanLevel } = {
      level: "window",
      span: c.tokens.slice(start, end),
      next: c.tokens.slice(end, Math.min(end + o.nextTokens, docEnd)),
    };
    if (o.queryDrop !== undefined && end > start) {
      sample.query = this.#query(start, end, o.queryDrop);
    }
    return sample;
  }

  // One sentence of tokens [start, end) (clipped to it), each token dropped with probability
  // `drop`, at least one kept.
  #query(start: number, end: number, drop: number): Int32Array {
    const c = this.corpus;
    const k = floorIndex(c.sentStart, start + this.rng.int(end - start));
    const a = Math.max(start, c.sentStart[k]), b = Math.min(end, c.sentStart[k + 1]);
    const kept: number[] = [];
    for (let i = a; i < b; i++) if (this.rng.next() >= drop) kept.push(c.tokens[i]);
    if (kept.length === 0) kept.push(c.tokens[a + this.rng.int(b - a)]);
    return Int32Array.from(kept);
  }
}
