/**
 * Search over memories in hand (`R3Mem.search`): memory keys (cosine of search keys, each node
 * scored by the best match in its subtree), BM25 over the words of lossless memories, or both
 * fused by reciprocal rank. The server's search (`src/server/app.ts`) ranks stored memories with
 * the same pieces (`../codec/search_keys.ts`, `./lexical.ts`, `./fusion.ts`).
 *
 * @module
 */
import type { Memory, MemoryNode } from "../codec/memory.ts";
import { cosine, scoreNodes } from "../codec/search_keys.ts";
import { InputError } from "../errors.ts";
import type { ReconstructOptions, SearchHit, SearchOptions } from "../r3mem_options.ts";
import { fuseRankings, type Ranked, SEARCH_MODES } from "./fusion.ts";
import { type LexicalDoc, type LexicalTerms, rankLexical } from "./lexical.ts";

/** What searching needs of the model (`R3Mem` hands its own methods). */
export interface SearchModel {
  /** Checks a memory is this model's (throws otherwise). */
  checkMemory(memory: Memory): void;
  /** The memory's full node tree. */
  tree(memory: Memory): readonly MemoryNode[];
  /** One search key (or null) per node of the tree. */
  nodeKeys(memory: Memory): (Float32Array | null)[];
  /** Term counts per node of the tree, or null (no exact text). */
  lexicalTerms(memory: Memory): LexicalTerms | null;
  /** The query's search key. */
  queryKey(query: string): Float32Array;
  /** A node's text. */
  reconstruct(memory: Memory, options: ReconstructOptions): Promise<string>;
}

/**
 * Ranks the nodes of `memories` for `query`.
 *
 * @param m The model's search parts.
 * @param query Non-empty text.
 * @param memories Memories the model wrote.
 * @param options `k`, levels, text, scoring, mode (as `R3Mem.search`).
 * @returns Up to `k` hits, best first.
 * @throws {InputError} For a bad query or option.
 *
 * @example
 * ```ts
 * import { R3Mem } from "../r3mem.ts";
 * import { buildRandomModel } from "../model/random_model.ts";
 * // R3Mem.search is searchMemories over the model's own parts.
 * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
 * const m = await r3.compress("Cats purr.\n\nDogs bark.");
 * console.log((await r3.search("dogs", [m], { k: 1, mode: "lexical" }))[0].text); // "Dogs bark."
 * ```
 */
export async function searchMemories(
  m: SearchModel,
  query: string,
  memories: Memory[],
  options: SearchOptions = {},
): Promise<SearchHit[]> {
  if (typeof query !== "string" || query.length === 0) {
    throw new InputError("Query must be a non-empty string");
  }
  const k = options.k ?? 5;
  if (!Number.isInteger(k) || k < 1) {
    throw new InputError(`k must be a positive integer, got ${k}`);
  }
  const scoring = options.scoring ?? "subtree";
  if (scoring !== "subtree" && scoring !== "node") {
    throw new InputError(`scoring must be "subtree" or "node", got ${String(scoring)}`);
  }
  const mode = options.mode ?? "hybrid";
  if (!SEARCH_MODES.includes(mode)) {
    throw new InputError(`mode must be "hybrid", "keys" or "lexical", got ${String(mode)}`);
  }
  for (const memory of memories) m.checkMemory(memory);
  const keyHits: Ranked<number>[] = [];
  if (mode !== "lexical") {
    const key = m.queryKey(query);
    memories.forEach((memory, mi) => {
      // Own scores; nodes compressed without slots have nothing to compare (a code memory's
      // keys come from its text).
      const nodes = m.tree(memory);
      const own = m.nodeKeys(memory).map((k) => (k ? cosine(key, k) : -Infinity));
      const ranked = scoreNodes(
        nodes.map((n) => n.parent),
        nodes.map((n) => n.level),
        own,
        options.levels,
        scoring === "subtree",
      );
      for (const r of ranked) keyHits.push({ owner: mi, level: nodes[r.node].level, ...r });
    });
    keyHits.sort((a, b) => b.score - a.score || a.owner - b.owner || a.node - b.node);
  }
  let lexHits: Ranked<number>[] = [];
  if (mode !== "keys") {
    const docs: LexicalDoc<number>[] = [];
    memories.forEach((memory, mi) => {
      const terms = m.lexicalTerms(memory);
      if (!terms) return;
      const nodes = m.tree(memory);
      docs.push({
        owner: mi,
        terms,
        parents: nodes.map((n) => n.parent),
        levels: nodes.map((n) => n.level),
      });
    });
    lexHits = rankLexical(query, docs, { levels: options.levels, subtree: scoring === "subtree" });
  }
  const ranked = mode === "keys"
    ? keyHits
    : mode === "lexical"
    ? lexHits
    : fuseRankings(keyHits, lexHits, (h) => `${h.owner}:${h.node}`);
  const top: SearchHit[] = ranked.slice(0, k).map(({ owner, ...h }) => ({ memory: owner, ...h }));
  if (options.withText ?? true) {
    for (const h of top) h.text = await m.reconstruct(memories[h.memory], { node: h.node });
  }
  return top;
}
