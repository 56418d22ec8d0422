/**
 * `POST /v1/search` and what it reads fast: each stored memory's search keys and term counts,
 * decoded once and kept in a {@link SearchCache} bounded by bytes. Memories of another model than
 * the one served are listed but not searched. Mounted by `createApp` (`./app.ts`).
 *
 * Search ranks every visible memory of the namespace that the filter selects: memory keys
 * (`./search_index.ts`, top-k by cosine), BM25 over the term counts (`../search/lexical.ts`),
 * fused by reciprocal rank (`../search/fusion.ts`), then reconstructs the hits' text.
 *
 * @module
 */
import type { NodeLevel } from "../codec/memory.ts";
import { type Fused, fuseRankings, FUSION_DEPTH, type Ranked } from "../search/fusion.ts";
import { type LexicalDoc, type LexicalTerms, rankLexical } from "../search/lexical.ts";
import type { R3MemApp } from "./auth.ts";
import type { Engine } from "./engine.ts";
import { parseFilter } from "./filter_schema.ts";
import { scopedFilter } from "./filters.ts";
import { searchRoute } from "./schemas.ts";
import { type SearchKeys, TopK } from "./search_index.ts";
import type { MemoryRecord, Store } from "./store_types.ts";

/** Default bound of a {@link SearchCache}: 256 MiB of keys and term counts. */
export const DEFAULT_SEARCH_CACHE_BYTES = 256 << 20;

/**
 * Search keys and term counts of stored memory versions, read from the store once and kept
 * within a byte budget (once it is full, further entries are read each time, not cached). A version's keys never change, so a cached entry
 * stays right for every instance sharing the store; a deleted memory's entries are dropped by
 * {@link forget} on the instance that deleted it, and on others age out (search only asks for
 * the versions the store lists).
 *
 * @example
 * ```ts
 * import { SearchCache } from "./routes_search.ts";
 * import { MemoryStore } from "./store.ts";
 * const store = new MemoryStore(await Deno.openKv(":memory:"));
 * const cache = new SearchCache(store, 1 << 20);
 * console.log(cache.bytes); // 0
 * store.close();
 * ```
 */
export class SearchCache {
  readonly #store: Store;
  readonly #limit: number;
  readonly #keys = new Map<string, { value: SearchKeys; bytes: number }>();
  readonly #lexical = new Map<string, { value: LexicalTerms | null; bytes: number }>();
  #bytes = 0;

  /**
   * An empty cache over `store`.
   *
   * @param store Where keys and term counts are read from.
   * @param limitBytes The budget (default {@link DEFAULT_SEARCH_CACHE_BYTES}).
   */
  constructor(store: Store, limitBytes: number = DEFAULT_SEARCH_CACHE_BYTES) {
    this.#store = store;
    this.#limit = limitBytes;
  }

  /** Bytes held now (estimated: the arrays' sizes and the terms' characters). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether a memory version's keys (and, with `lexical`, its term counts) are held. */
  holds(ns: string, rec: MemoryRecord, lexical: boolean): boolean {
    const key = entryKey(ns, rec);
    return this.#keys.has(key) && (!lexical || this.#lexical.has(key));
  }

  /** A memory version's search keys (null: none stored, or gone). */
  async keys(ns: string, rec: MemoryRecord): Promise<SearchKeys | null> {
    const key = entryKey(ns, rec);
    const hit = this.#keys.get(key);
    if (hit) return hit.value;
    const value = await this.#store.getKeys(ns, rec.id, rec);
    if (value) this.#add(this.#keys, key, value, keysBytes(value));
    return value;
  }

  /** A memory version's term counts (null: none stored, or gone). */
  async lexical(ns: string, rec: MemoryRecord): Promise<LexicalTerms | null> {
    const key = entryKey(ns, rec);
    const hit = this.#lexical.get(key);
    if (hit) return hit.value;
    const value = await this.#store.getLexical(ns, rec.id, rec);
    this.#add(this.#lexical, key, value, value ? termsBytes(value) : 64);
    return value;
  }

  /** Drops a memory's entries (every version). */
  forget(ns: string, id: string): void {
    const prefix = `${ns}\u0000${id}\u0000`;
    for (const map of [this.#keys, this.#lexical] as Map<string, { bytes: number }>[]) {
      for (const [key, entry] of map) {
        if (!key.startsWith(prefix)) continue;
        map.delete(key);
        this.#bytes -= entry.bytes;
      }
    }
  }

  // Admits an entry while the budget allows; past it, nothing more until entries are forgotten.
  // Search reads every record in the same order on each query, and for such a cyclic scan over
  // more entries than fit, evicting the oldest (FIFO or LRU) makes every lookup miss; keeping what
  // is held makes the share that fits hit.
  #add<T>(map: Map<string, { value: T; bytes: number }>, key: string, value: T, bytes: number) {
    if (this.#bytes + bytes > this.#limit) return;
    map.set(key, { value, bytes });
    this.#bytes += bytes;
  }
}

const entryKey = (ns: string, rec: MemoryRecord) => `${ns}\u0000${rec.id}\u0000${rec.version}`;
const keysBytes = (k: SearchKeys) => k.keys.byteLength + 4 * k.levels.length + 64;
function termsBytes(t: LexicalTerms): number {
  let n = 64;
  for (const term of t.terms) n += 2 * term.length + 16;
  for (const row of t.counts) n += 8 * row.length + 16;
  return n;
}

/** What the search route works with. */
export interface SearchDeps {
  /** The model (for the query's key and the hits' text). */
  engine: Engine;
  /** The store. */
  store: Store;
  /** Keys and term counts, cached. */
  cache: SearchCache;
}

/**
 * Adds `POST /v1/search` to the app.
 *
 * @param app The app (its error handling and middleware already set).
 * @param deps Engine, store, cache.
 *
 * @example
 * ```ts
 * import { createTestApp, json } from "./testing.ts";
 * const t = await createTestApp(); // createApp mounts the route
 * await t.app.request("/v1/memories", json({ text: "I am allergic to peanuts." }));
 * const res = await t.app.request("/v1/search", json({ query: "peanuts", mode: "lexical" }));
 * console.log((await res.json()).hits.length); // 1
 * t.close();
 * ```
 */
export function mountSearchRoute(app: R3MemApp, deps: SearchDeps): void {
  const { engine, store, cache } = deps;
  app.openapi(searchRoute, async (c) => {
    const ns = c.get("namespace");
    const { query, k, levels, mode = "hybrid", filter, ...scope } = c.req.valid("json");
    const where = scopedFilter(scope, parseFilter(filter, "filter"));
    const signal = c.get("signal");
    const want = k ?? 5;
    const only = levels as NodeLevel[] | undefined;
    // Keys: the best nodes by memory keys (as many as the fusion takes); lexical: the term
    // counts stored with every lossless memory, ranked by BM25 over the namespace.
    const key = mode === "lexical" ? null : await engine.queryKey(query, { signal });
    const top = key && new TopK<MemoryRecord>(key, mode === "keys" ? want : FUSION_DEPTH, only);
    const docs: LexicalDoc<MemoryRecord>[] = [];
    // The store reads the search columns only of records the cache lacks (./postgres/).
    const searchData = (rec: MemoryRecord) => !cache.holds(ns, rec, mode !== "keys");
    for await (const rec of store.records(ns, where, { searchData })) {
      if (rec.model !== engine.fingerprint) continue;
      const keys = await cache.keys(ns, rec);
      if (!keys) continue;
      top?.add(rec, keys);
      const terms = mode === "keys" ? null : await cache.lexical(ns, rec);
      if (terms && keys.parents && terms.lengths.length === keys.levels.length) {
        docs.push({ owner: rec, terms, parents: keys.parents, levels: keys.levels });
      }
    }
    const byKeys: Ranked<MemoryRecord>[] = top ? top.results() : [];
    const byWords = mode === "keys" ? [] : rankLexical(query, docs, { levels: only });
    const ranked = mode === "keys"
      ? byKeys
      : mode === "lexical"
      ? byWords
      : fuseRankings(byKeys, byWords, (h) => `${h.owner.id}:${h.node}`);
    const blobs = new Map<string, Promise<Uint8Array | null>>();
    const hits = await Promise.all(
      ranked.slice(0, want).map(async (h: Ranked<MemoryRecord> & Partial<Fused<MemoryRecord>>) => {
        if (!blobs.has(h.owner.id)) blobs.set(h.owner.id, store.getBytes(ns, h.owner.id));
        const bytes = await blobs.get(h.owner.id);
        if (!bytes) return null; // deleted meanwhile
        let text = "";
        for await (const piece of engine.reconstruct(bytes, { node: h.node, signal })) {
          text += piece;
        }
        return {
          id: h.owner.id,
          node: h.node,
          level: h.level,
          score: h.score,
          ...(h.keyScore !== undefined ? { keyScore: h.keyScore } : {}),
          ...(h.lexicalScore !== undefined ? { lexicalScore: h.lexicalScore } : {}),
          match: h.match,
          text,
          metadata: h.owner.metadata,
        };
      }),
    );
    return c.json({ hits: hits.filter((h) => h !== null) }, 200);
  });
}
