/**
 * Okapi BM25 over a fixed set of passages: the lexical baseline of the retrieval metric.
 * Words are runs of letters and digits, lower-cased.
 *
 * @module
 */

/**
 * Lower-cased words (maximal runs of Unicode letters, marks and digits).
 *
 * @example
 * ```ts
 * import { words } from "./bm25.ts";
 * console.log(words("Hello, WORLD! it's 2025")); // [ "hello", "world", "it", "s", "2025" ]
 * ```
 */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? [];
}

/** Parameters of {@link Bm25Index}. */
export interface Bm25Options {
  /** Term-frequency saturation (default 1.2). */
  k1?: number;
  /** Length normalisation (default 0.75). */
  b?: number;
}

/** One ranked passage. */
export interface Bm25Hit {
  /** Index of the passage. */
  index: number;
  /** Its BM25 score. */
  score: number;
}

/**
 * A BM25 index: `score(q, d) = Σ_t idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·|d|/avgdl))` with
 * `idf(t) = ln(1 + (N − df + 0.5) / (df + 0.5))`.
 *
 * @example
 * ```ts
 * import { Bm25Index } from "./bm25.ts";
 * const index = new Bm25Index(["the cat sat", "a dog barked loudly", "the cat purred"]);
 * console.log(index.search("dog barking", 2)[0].index); // 1
 * console.log(index.search("", 2)); // []
 * ```
 */
export class Bm25Index {
  readonly #k1: number;
  readonly #b: number;
  readonly #tf: Map<string, number>[];
  readonly #len: number[];
  readonly #df = new Map<string, number>();
  readonly #avgdl: number;

  /**
   * Indexes `passages`.
   *
   * @param passages The texts to rank.
   * @param options `k1` and `b`.
   */
  constructor(passages: string[], options: Bm25Options = {}) {
    this.#k1 = options.k1 ?? 1.2;
    this.#b = options.b ?? 0.75;
    this.#tf = passages.map((p) => {
      const tf = new Map<string, number>();
      for (const w of words(p)) tf.set(w, (tf.get(w) ?? 0) + 1);
      return tf;
    });
    this.#len = passages.map((p) => words(p).length);
    for (const tf of this.#tf) {
      for (const w of tf.keys()) this.#df.set(w, (this.#df.get(w) ?? 0) + 1);
    }
    const total = this.#len.reduce((a, b) => a + b, 0);
    this.#avgdl = passages.length > 0 ? total / passages.length || 1 : 1;
  }

  /** Number of passages. */
  get size(): number {
    return this.#tf.length;
  }

  /**
   * BM25 score of every passage for `query` (all zero for an empty query).
   *
   * @param query Free text.
   * @returns One score per passage.
   */
  scores(query: string): Float64Array {
    const out = new Float64Array(this.#tf.length);
    const N = this.#tf.length;
    for (const t of new Set(words(query))) {
      const df = this.#df.get(t);
      if (!df) continue;
      const idf = Math.log(1 + (N - df + 0.5) / (df + 0.5));
      for (let d = 0; d < N; d++) {
        const tf = this.#tf[d].get(t);
        if (!tf) continue;
        const norm = this.#k1 * (1 - this.#b + (this.#b * this.#len[d]) / this.#avgdl);
        out[d] += (idf * tf * (this.#k1 + 1)) / (tf + norm);
      }
    }
    return out;
  }

  /**
   * The `k` best passages with a positive score, best first (ties: lower index first). An
   * empty query, or one sharing no word with any passage, gives no hits.
   *
   * @param query Free text.
   * @param k How many (default 5).
   * @returns The hits.
   */
  search(query: string, k = 5): Bm25Hit[] {
    const s = this.scores(query);
    const hits: Bm25Hit[] = [];
    for (let i = 0; i < s.length; i++) if (s[i] > 0) hits.push({ index: i, score: s[i] });
    hits.sort((a, b) => b.score - a.score || a.index - b.index);
    return hits.slice(0, k);
  }
}
