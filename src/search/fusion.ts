/**
 * Hybrid search: reciprocal-rank fusion of the memory-key ranking and the lexical (BM25)
 * ranking. A node's fused score is `Σ 1 / (RRF_K + rank)` over the rankings that hold it (rank 1
 * first; each ranking cut at its best {@link FUSION_DEPTH}), so a node both rankings like beats
 * one only either likes, and neither ranking's score scale matters. Shared by `R3Mem.search` and
 * the server's `/v1/search`.
 *
 * `RRF_K` is 1, not the customary 60: 60 suits many comparable rankings read deep; here two
 * unequal ones (keys find 0.85 of the evaluation's paragraphs, BM25 all) are read for the top
 * five, and with 60 a node both rankings place around 30th outranks BM25's first: hybrid recall@5
 * 0.95 on validation and 0.93 on unseen text, below BM25's 1.00 (docs/EVAL.md). With 1, the top
 * of either ranking stays on top.
 *
 * @module
 */
import type { NodeLevel } from "../codec/memory.ts";

/** How search ranks: fused (default), memory keys alone, or BM25 alone. */
export type SearchMode = "hybrid" | "keys" | "lexical";

/**
 * The search modes.
 *
 * @example
 * ```ts
 * import { SEARCH_MODES } from "./fusion.ts";
 * console.log(SEARCH_MODES); // [ "hybrid", "keys", "lexical" ]
 * ```
 */
export const SEARCH_MODES: readonly SearchMode[] = ["hybrid", "keys", "lexical"];

/** The constant of reciprocal-rank fusion (see the module on why 1). */
export const RRF_K = 1;

/** How many of each ranking's best nodes take part in the fusion. */
export const FUSION_DEPTH = 100;

/** A ranked node as both rankings give it. */
export interface Ranked<T> {
  /** Which memory. */
  owner: T;
  /** The node. */
  node: number;
  /** Its level. */
  level: NodeLevel;
  /** Its score in that ranking. */
  score: number;
  /** The node whose text or memory reached that score. */
  match: number;
}

/** A fused node: its fused score, and its score in each ranking that holds it. */
export interface Fused<T> extends Ranked<T> {
  /** Cosine of the query's key with `match`'s, when the key ranking holds the node. */
  keyScore?: number;
  /** BM25 score, when the lexical ranking holds the node. */
  lexicalScore?: number;
}

/**
 * Fuses a key ranking and a lexical ranking (each best first) by reciprocal rank. A node's
 * `match` is the one of the ranking that places it higher. Ties: the order of the key
 * ranking, then of the lexical one.
 *
 * @param keys Nodes ranked by memory keys.
 * @param lexical Nodes ranked by BM25.
 * @param id A node's identity (its memory and node index).
 *
 * @example
 * ```ts
 * import { fuseRankings } from "./fusion.ts";
 * const n = (owner: string, score: number) => ({ owner, node: 0, level: "document" as const, score, match: 0 });
 * const fused = fuseRankings([n("landlord", 0.9), n("peanuts", 0.8)], [n("peanuts", 3.1)], (h) => h.owner);
 * console.log(fused.map((h) => h.owner)); // [ "peanuts", "landlord" ]
 * ```
 */
export function fuseRankings<T>(
  keys: readonly Ranked<T>[],
  lexical: readonly Ranked<T>[],
  id: (hit: Ranked<T>) => string,
): Fused<T>[] {
  const byId = new Map<string, Fused<T> & { best: number; order: number }>();
  const add = (list: readonly Ranked<T>[], which: "keyScore" | "lexicalScore", base: number) => {
    list.slice(0, FUSION_DEPTH).forEach((h, i) => {
      const key = id(h);
      const rrf = 1 / (RRF_K + i + 1);
      let f = byId.get(key);
      if (!f) {
        f = { ...h, score: 0, best: Infinity, order: base + i };
        byId.set(key, f);
      }
      f[which] = h.score;
      f.score += rrf;
      if (i < f.best) {
        f.best = i;
        f.match = h.match;
      }
    });
  };
  add(keys, "keyScore", 0);
  add(lexical, "lexicalScore", FUSION_DEPTH);
  return [...byId.values()]
    .sort((a, b) => b.score - a.score || a.order - b.order)
    .map(({ best: _best, order: _order, ...f }) => f);
}
