/**
 * The document cache of the lossless residual: the model's next-token distribution mixed with
 * order-1, -2 and -3 token statistics of the text coded so far.
 *
 * Why: the model sees at most its window (128 tokens) and knows nothing of the document beyond
 * it, while real documents repeat themselves (names, terms, whole phrases). Counting which token
 * followed each context earlier in the same document, and mixing those counts with the model,
 * codes the validation documents in about a fifth fewer bits (docs/FORMAT.md, "Document cache").
 *
 * Components, for the next token `v` after history `h`:
 * - `p₀(v)`: the model's probability;
 * - for each order `k` in 1, 2, 3: if the last `k` tokens have occurred as a context before (and
 *   `h` has at least `k` tokens), `p_k(v) = (c_k(v) + α·p₀(v)) / (n_k + α)` with `c_k(v)` the
 *   times `v` followed that context and `n_k` their sum; otherwise `p_k = p₀`.
 * The mixture is `Σ w_k·p_k` with weights that start uniform and after each token become
 * `w_k ← (1 − s)·w_k·p_k(y) / Σ_j w_j·p_j(y) + s / 4` (Bayes with a fixed share `s`, so a
 * component that was wrong lately recovers quickly). α = 1, s = 0.2. All arithmetic is IEEE
 * double in a fixed order, so encoder and decoder compute the same bits everywhere.
 *
 * @example
 * ```ts
 * import { CacheMixer } from "./cache_mixer.ts";
 * const mixer = new CacheMixer(4);
 * const lm = new Float32Array([0.25, 0.25, 0.25, 0.25]);
 * const out = new Float32Array(4);
 * for (const t of [1, 2, 1, 2, 1]) { mixer.mix(lm, out); mixer.update(t); }
 * mixer.mix(lm, out); // after "1 2 1 2 1" the cache expects 2
 * console.log(out[2] > 0.5, Math.abs(out.reduce((a, b) => a + b) - 1) < 1e-6); // true true
 * ```
 *
 * @module
 */

import { ContextCounts } from "./context_counts.ts";

/** Context orders of the cache components. */
export const CACHE_ORDERS: readonly number[] = [1, 2, 3];
/** Pseudo-count of the model's distribution inside each cache component. */
export const CACHE_ALPHA = 1;
/** Fixed share of the mixture weights. */
export const CACHE_SHARE = 0.2;
/**
 * Contexts each order records at most, and (context, token) pairs: past them new ones are not
 * recorded (known ones keep counting). They bound the cache to about 13 MB on any input (`deno task bench:cache`) and are
 * part of the format, since they change the statistics.
 */
export const CACHE_MAX_CONTEXTS = 1 << 16;
/** See {@linkcode CACHE_MAX_CONTEXTS}. */
export const CACHE_MAX_PAIRS = 1 << 17;

/**
 * Online mixture of a model's next-token distributions with document statistics. Call
 * {@linkcode CacheMixer.mix} with the model's distribution for the next token, code or decode
 * the token with the result, then {@linkcode CacheMixer.update} with it.
 *
 * @example
 * ```ts
 * import { CacheMixer } from "./cache_mixer.ts";
 * const mixer = new CacheMixer(3);
 * const out = new Float32Array(3);
 * mixer.mix(new Float32Array([0.5, 0.25, 0.25]), out); // nothing seen yet: the model's own
 * console.log(Array.from(out)); // [ 0.5, 0.25, 0.25 ]
 * mixer.update(2);
 * ```
 */
export class CacheMixer {
  readonly #V: number;
  readonly #weights: Float64Array;
  readonly #tables: ContextCounts[];
  readonly #history: number[] = [];
  /** Per order, the context index found for the pending token (-1: not seen, or too short). */
  readonly #pending: Int32Array;
  /** Per order, the pending context's key. */
  readonly #keys: Float64Array;
  #lm: Float32Array | null = null;

  /** @param vocabSize Tokens in the vocabulary (at most 2^17, so order-3 keys fit 2^53). */
  constructor(vocabSize: number) {
    this.#V = vocabSize;
    const K = 1 + CACHE_ORDERS.length;
    this.#weights = new Float64Array(K).fill(1 / K);
    this.#tables = CACHE_ORDERS.map(() => new ContextCounts(CACHE_MAX_CONTEXTS, CACHE_MAX_PAIRS));
    this.#pending = new Int32Array(CACHE_ORDERS.length).fill(-1);
    this.#keys = new Float64Array(CACHE_ORDERS.length);
  }

  /** Contexts and pairs recorded per order (for tests and memory checks). */
  get sizes(): { contexts: number; pairs: number; bytes: number }[] {
    return this.#tables.map((t) => ({ contexts: t.contexts, pairs: t.pairs, bytes: t.bytes }));
  }

  // Context key of order k: the last k tokens as one number (< V^3 ≤ 2^51 for V ≤ 2^17).
  #key(k: number): number {
    const h = this.#history;
    let key = 0;
    for (let i = h.length - k; i < h.length; i++) key = key * this.#V + h[i];
    return key;
  }

  /**
   * Writes the mixture for the next token into `out` (`probs` is the model's distribution; it
   * is kept until {@linkcode CacheMixer.update}, do not modify it before).
   */
  mix(probs: Float32Array, out: Float32Array): void {
    const V = this.#V, w = this.#weights;
    // Σ_k w_k p_k(v) = a·p₀(v) + Σ_k w_k c_k(v) / (n_k + α), a collecting every p₀ term.
    let a = w[0];
    for (let k = 0; k < CACHE_ORDERS.length; k++) {
      const order = CACHE_ORDERS[k];
      let ci = -1;
      if (this.#history.length >= order) {
        this.#keys[k] = this.#key(order);
        ci = this.#tables[k].find(this.#keys[k]);
      }
      this.#pending[k] = ci;
      a += ci >= 0
        ? (w[k + 1] * CACHE_ALPHA) / (this.#tables[k].total(ci) + CACHE_ALPHA)
        : w[k + 1];
    }
    for (let v = 0; v < V; v++) out[v] = a * probs[v];
    for (let k = 0; k < CACHE_ORDERS.length; k++) {
      const ci = this.#pending[k];
      if (ci < 0) continue;
      const table = this.#tables[k];
      const f = w[k + 1] / (table.total(ci) + CACHE_ALPHA);
      table.forEach(ci, (v, n) => (out[v] += f * n));
    }
    this.#lm = probs;
  }

  /** Records the token that came (after {@linkcode CacheMixer.mix}): weights, counts, history. */
  update(token: number): void {
    const lm = this.#lm;
    if (!lm) throw new Error("CacheMixer.update before mix");
    const w = this.#weights, K = w.length;
    const p0 = lm[token];
    // Bayes with fixed share.
    let z = 0;
    for (let k = 0; k < K; k++) {
      const ci = k === 0 ? -1 : this.#pending[k - 1];
      const t = this.#tables[k - 1];
      const pk = ci >= 0
        ? (t.count(ci, token) + CACHE_ALPHA * p0) / (t.total(ci) + CACHE_ALPHA)
        : p0;
      w[k] *= pk;
      z += w[k];
    }
    for (let k = 0; k < K; k++) {
      w[k] = z > 0 ? (1 - CACHE_SHARE) * (w[k] / z) + CACHE_SHARE / K : 1 / K;
    }
    // Counts of every order with enough history.
    for (let k = 0; k < CACHE_ORDERS.length; k++) {
      if (this.#history.length < CACHE_ORDERS[k]) continue;
      this.#tables[k].add(this.#keys[k], token, this.#pending[k]);
    }
    this.#history.push(token);
    if (this.#history.length > 64) this.#history.splice(0, this.#history.length - 3);
    this.#lm = null;
  }
}
