/**
 * Paragraph retrieval: recall@5 of memory keys, BM25 and hybrid search over a pool of stored paragraphs. Part of `deno task eval` (`./run.ts`).
 *
 * @module
 */
import type { R3Mem } from "../../src/r3mem.ts";
import { Bm25Index } from "./bm25.ts";
/** Recall@5 of each ranking on one query set. */
export interface RecallSet {
  /** Share of queries whose paragraph is among the top `k` of memory-key search. */
  r3mem: number;
  /** The same for BM25 over the paragraphs' text (`./bm25.ts`, the baseline). */
  bm25: number;
  /** The same for `R3Mem.search` with `mode: "lexical"` (the library's own BM25 index). */
  lexical: number;
  /** The same for `R3Mem.search` with `mode: "hybrid"` (keys and BM25 fused by rank). */
  hybrid: number;
  /** Queries asked (one per paragraph). */
  queries: number;
}

/** Result of {@link retrievalRecall}. */
export interface RecallResult extends RecallSet {
  /** The same with each document scored by its own key alone (`scoring: "node"`). */
  r3memNode: number;
  /** Paragraphs in the pool. */
  pool: number;
  /** The second query set (WordNet paraphrases, `./paraphrase.ts`), when given. */
  paraphrased?: RecallSet;
}

/**
 * Paragraph retrieval: each paragraph is compressed (lossless, slots at every level: the keys
 * of a lossy memory, and the exact text the lexical index needs) into its own memory; query `i`
 * should find paragraph `i`. `R3Mem.search` ranks the document node of every memory by memory
 * keys (each scored by the best-matching node of its tree), by BM25 over its words, and by both
 * fused; the baseline BM25 ranks the paragraphs' text.
 *
 * @param r3 The runtime.
 * @param pool The paragraphs.
 * @param queries One query per paragraph.
 * @param k Cut-off (default 5).
 * @param paraphrased A second query set, one per paragraph (optional).
 */
export async function retrievalRecall(
  r3: R3Mem,
  pool: string[],
  queries: string[],
  k = 5,
  paraphrased?: string[],
): Promise<RecallResult> {
  if (queries.length !== pool.length) throw new RangeError("One query per paragraph");
  if (paraphrased && paraphrased.length !== pool.length) {
    throw new RangeError("One paraphrased query per paragraph");
  }
  const memories = pool.map((p) => r3.compressSync(p, { lossless: true, slots: "all" }));
  const bm25 = new Bm25Index(pool);
  const opts = { k, levels: ["document" as const], withText: false };
  let hitsNode = 0;
  const recallOf = async (qs: string[], ablation: boolean): Promise<RecallSet> => {
    let keys = 0, base = 0, lexical = 0, hybrid = 0;
    for (const [i, q] of qs.entries()) {
      const found = (hits: { memory: number }[]) => hits.some((h) => h.memory === i);
      if (q.length > 0) {
        if (found(await r3.search(q, memories, { ...opts, mode: "keys" }))) keys++;
        if (found(await r3.search(q, memories, { ...opts, mode: "lexical" }))) lexical++;
        if (found(await r3.search(q, memories, { ...opts, mode: "hybrid" }))) hybrid++;
        if (ablation) {
          const own = await r3.search(q, memories, { ...opts, mode: "keys", scoring: "node" });
          if (found(own)) hitsNode++;
        }
      }
      if (bm25.search(q, k).some((h) => h.index === i)) base++;
    }
    const n = qs.length || 1;
    return {
      r3mem: keys / n,
      bm25: base / n,
      lexical: lexical / n,
      hybrid: hybrid / n,
      queries: qs.length,
    };
  };
  const first = await recallOf(queries, true);
  return {
    ...first,
    r3memNode: hitsNode / (queries.length || 1),
    pool: pool.length,
    ...(paraphrased ? { paraphrased: await recallOf(paraphrased, false) } : {}),
  };
}
