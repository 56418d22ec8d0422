/**
 * What the app asks of a memory store, independent of where memories live: the records, the
 * changes and the {@link Store} interface. `MemoryStore` (`./store.ts`) implements it on Deno KV;
 * another store (PostgreSQL…) implements the same methods and reuses the pure filter evaluation
 * of `./filters.ts`.
 *
 * Contract every implementation keeps:
 * - A memory is visible (get, list, records, history, search) only once every part of it is
 *   durable; a failed write leaves nothing visible.
 * - An expired memory (`expiresAt` ≤ now) is invisible at once to every read, update and delete,
 *   whether or not {@link Store.purgeExpired} has removed it yet.
 * - Namespaces never see each other's memories.
 *
 * `tests/_store_contract.ts` states the contract as tests that use this interface only; a new
 * store runs them with `runStoreContract(t, open)` (`tests/store_contract_test.ts` runs them on
 * Deno KV and PostgreSQL).
 *
 * @module
 */
import type { MemoryStats } from "../codec/memory.ts";
import type { LexicalTerms } from "../search/lexical.ts";
import type { ConversationStore } from "./conversation_store.ts";
import type { Filter, Scope } from "./filters.ts";
import type { SearchKeys } from "./search_index.ts";

export type { Scope } from "./filters.ts";

/** What a store tells about one version of a memory. */
export interface MemoryRecord extends Scope {
  /** Random id (UUID). */
  id: string;
  /** Creation time of the memory (its first version), ISO 8601. */
  createdAt: string;
  /** Time this version was written, ISO 8601 (`createdAt` for version 1). */
  updatedAt: string;
  /** Version number: 1 when created, one more on each update. */
  version: number;
  /** When the memory stops being visible, ISO 8601; absent: never. */
  expiresAt?: string;
  /** Caller's metadata (any JSON object). */
  metadata: Record<string, unknown>;
  /** Size statistics of this version's `.r3m`. */
  stats: MemoryStats;
  /** Fingerprint of the model that wrote this version's `.r3m`. */
  model: string;
}

/** A compressed text as a store keeps it: bytes, stats, search keys, term counts, model. */
export interface MemoryData {
  /** `.r3m` bytes. */
  bytes: Uint8Array;
  /** Their stats. */
  stats: MemoryStats;
  /** Their search keys. */
  keys: SearchKeys;
  /** Their term counts for lexical search (lossless memories; absent: keys only). */
  lexical?: LexicalTerms;
  /** Fingerprint of the model that wrote them. */
  model: string;
}

/** What {@link Store.put} stores. */
export interface NewMemory extends MemoryData, Scope {
  /** Caller's metadata. */
  metadata?: Record<string, unknown>;
  /** Expiry time, ISO 8601. */
  expiresAt?: string;
  /** Keep this id (import); absent: a new random one. A taken id is a 409 `conflict`. */
  id?: string;
  /** Keep this creation time (import); absent: now. */
  createdAt?: string;
}

/** What {@link Store.update} changes; what is absent stays as it was. */
export interface MemoryChange {
  /** New content (a new text compressed). */
  data?: MemoryData;
  /** New metadata (replaces the old object). */
  metadata?: Record<string, unknown>;
  /** New expiry time; `null` removes the expiry. */
  expiresAt?: string | null;
}

/** Options of {@link Store.list}. */
export interface ListOptions {
  /** Page size, 1…100 (default 20). */
  limit?: number;
  /** The `cursor` of the previous page. */
  cursor?: string;
  /** Only memories that match. */
  filter?: Filter;
}

/** One page of {@link Store.list}. */
export interface Page {
  /** Memories, oldest first. */
  memories: MemoryRecord[];
  /** Cursor of the next page, or null when this is the last. */
  cursor: string | null;
}

/** Options of {@link Store.records}. */
export interface RecordsOptions {
  /**
   * Which records' search keys and term counts to read along with the scan (for `getKeys` and
   * `getLexical` right after): search passes the ones its cache lacks. Default: every record's.
   * A store may read them all anyway; one that reads fewer saves moving them (PostgreSQL).
   */
  searchData?: (rec: MemoryRecord) => boolean;
}

/**
 * The store the app depends on. Errors a caller can fix are `ApiError`s (`./errors.ts`): a bad
 * cursor (400), a taken id (409), a concurrent update (409).
 *
 * @example
 * ```ts
 * import type { Store } from "./store_types.ts";
 * import { MemoryStore } from "./store.ts";
 * const store: Store = new MemoryStore(await Deno.openKv(":memory:"));
 * console.log(await store.get("team-a", "no-such-id")); // null
 * store.close();
 * ```
 */
export interface Store {
  /** Stores a memory; when the promise resolves it is durable. */
  put(ns: string, memory: NewMemory): Promise<MemoryRecord>;
  /** Writes a new version of a visible memory; null when there is none with that id. */
  update(ns: string, id: string, change: MemoryChange): Promise<MemoryRecord | null>;
  /** A visible memory's current record, or null. */
  get(ns: string, id: string): Promise<MemoryRecord | null>;
  /** Every version of a visible memory, oldest first (the last is current), or null. */
  history(ns: string, id: string): Promise<MemoryRecord[] | null>;
  /** The `.r3m` bytes of a visible memory (its current version, or `version`), or null. */
  getBytes(ns: string, id: string, version?: number): Promise<Uint8Array | null>;
  /** The search keys of a memory's current version, or null. `rec`: its record, if read. */
  getKeys(ns: string, id: string, rec?: MemoryRecord): Promise<SearchKeys | null>;
  /** The term counts of a memory's current version, or null (none stored, or gone). */
  getLexical(ns: string, id: string, rec?: MemoryRecord): Promise<LexicalTerms | null>;
  /** One page of the visible memories that match, oldest first. */
  list(ns: string, options?: ListOptions): Promise<Page>;
  /** Every visible memory that matches, oldest first. */
  records(ns: string, filter?: Filter, options?: RecordsOptions): AsyncIterable<MemoryRecord>;
  /** Deletes a visible memory and all its versions; whether it was there. */
  delete(ns: string, id: string): Promise<boolean>;
  /** Deletes every visible memory that matches (each one atomically); how many. */
  deleteWhere(ns: string, filter: Filter): Promise<number>;
  /** Removes expired memories of every namespace (`now`: ms since epoch); how many. */
  purgeExpired(now?: number): Promise<number>;
  /** The conversations kept beside the memories, in the same database. */
  readonly conversations: ConversationStore;
  /** Closes the store. */
  close(): void;
}
