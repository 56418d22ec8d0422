/**
 * Stored memories in Deno KV, per namespace: the {@link Store} of `./store_types.ts`. Each
 * version's `.r3m` bytes, and the current version's search keys and lexical term counts
 * (`src/search/lexical.ts`), are chunked under Deno KV's 64 KiB value limit (`./store_chunks.ts`)
 * under a *data key* (the memory's id for its first content, a fresh UUID for each later one);
 * a record with metadata and stats is kept per memory, per earlier version, and in an index by
 * creation order. Filters are evaluated by `./filters.ts` over the records read.
 *
 * A memory (or a new version) becomes visible in one atomic commit that writes its record and
 * index entry, after its chunks are written; writes larger than one commit's budget first write
 * their chunks under a `pending` marker that the final commit removes. Deletes remove the record
 * first, under a marker, then the chunks. {@link MemoryStore.sweepPending} settles the markers a
 * dead process left. Layout:
 *
 * ```
 * ["r3mem", ns, "rec", id]               → StoredMemory (current version)
 * ["r3mem", ns, "order", seq, id]        → StoredMemory (listing by creation)
 * ["r3mem", ns, "ver", id, v]            → StoredMemory of earlier version v
 * ["r3mem", ns, "blob", dataKey, i]      → Uint8Array   (.r3m chunk i)
 * ["r3mem", ns, "keys", dataKey, i]      → Uint8Array   (search keys chunk i; current only)
 * ["r3mem", ns, "lex", dataKey, i]       → Uint8Array   (term counts chunk i; current only)
 * ["r3mem", "~expiry", ms, ns, id]       → true         (expiry index, for the purge)
 * ["r3mem", "~pending", key]             → { ns, at, id?, data?, indexOnly? }
 * ```
 *
 * @module
 */
import { decodeLexicalTerms, type LexicalTerms } from "../search/lexical.ts";
import { KvConversationStore } from "./conversation_store.ts";
import { ApiError } from "./errors.ts";
import { type Filter, matchesFilter } from "./filters.ts";
import { decodeSearchKeys, type SearchKeys } from "./search_index.ts";
import {
  dataKeyOf,
  PENDING,
  type Pending,
  ROOT,
  settlePending,
  type Staged,
  stageData,
} from "./store_pending.ts";
import { readChunks } from "./store_chunks.ts";
import {
  expired,
  EXPIRY,
  expiryKey,
  isStored,
  normal,
  scopeOf,
  type StoredMemory,
} from "./store_record.ts";
import type {
  ListOptions,
  MemoryChange,
  MemoryRecord,
  NewMemory,
  Page,
  Store,
} from "./store_types.ts";

export { CHUNK_BYTES } from "./store_chunks.ts";
export type { NewMemory, Page } from "./store_types.ts";
export type { StoredMemory } from "./store_record.ts";

let lastSeq = 0;

/**
 * The memory store on Deno KV.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "./store.ts";
 * const store = new MemoryStore(await Deno.openKv(":memory:"));
 * const stats = { bytes: 3, nodes: { document: 1, paragraph: 0, sentence: 0 }, slots: 1,
 *   residualBytes: 0, textBytes: 2, ratio: 0.67 };
 * const keys = { dim: 1, levels: ["document" as const], keys: new Float32Array([1]) };
 * const rec = await store.put("team-a", {
 *   bytes: new Uint8Array([1, 2, 3]), stats, keys, model: "m", metadata: { topic: "demo" },
 * });
 * await store.update("team-a", rec.id, { metadata: { topic: "changed" } });
 * console.log((await store.history("team-a", rec.id))?.map((v) => v.metadata.topic)); // [ "demo", "changed" ]
 * console.log((await store.getBytes("team-a", rec.id))?.length); // 3
 * console.log(await store.get("team-b", rec.id)); // null
 * store.close();
 * ```
 */
export class MemoryStore implements Store {
  /** The database. */
  readonly kv: Deno.Kv;
  /** The conversations, in the same database. */
  readonly conversations: KvConversationStore;

  /**
   * A store over an open database.
   *
   * @param kv An open Deno KV database (the store closes it in {@link close}).
   */
  constructor(kv: Deno.Kv) {
    this.kv = kv;
    this.conversations = new KvConversationStore(kv);
  }

  /**
   * Opens (creating it and its folder if needed) the database at `path` and settles what an
   * interrupted write or delete left behind.
   *
   * @param path A file path, or `:memory:`.
   */
  static async open(path: string): Promise<MemoryStore> {
    if (path !== ":memory:") {
      const dir = path.replace(/[\\/][^\\/]*$/, "");
      if (dir && dir !== path) await Deno.mkdir(dir, { recursive: true });
    }
    const store = new MemoryStore(await Deno.openKv(path));
    await store.sweepPending();
    return store;
  }

  /**
   * Stores a memory; when the promise resolves it is durable.
   *
   * @returns Its record.
   * @throws {ApiError} 409 when `memory.id` is taken.
   */
  async put(ns: string, memory: NewMemory): Promise<StoredMemory> {
    const id = memory.id ?? crypto.randomUUID();
    if (memory.id !== undefined && (await this.kv.get([ROOT, ns, "rec", id])).value) {
      throw new ApiError(409, "conflict", `A memory with id ${id} exists in this namespace`);
    }
    // A given id may be racing another write of it: its data goes under a key of its own.
    const dataKey = memory.id === undefined ? id : crypto.randomUUID();
    const seq = Math.max(lastSeq + 1, Date.now() * 1000);
    lastSeq = seq;
    const createdAt = memory.createdAt ?? new Date(Math.floor(seq / 1000)).toISOString();
    const staged = await stageData(this.kv, ns, id, dataKey, memory);
    const rec: StoredMemory = {
      id,
      createdAt,
      updatedAt: createdAt,
      version: 1,
      ...(memory.expiresAt ? { expiresAt: memory.expiresAt } : {}),
      ...scopeOf(memory),
      metadata: memory.metadata ?? {},
      stats: memory.stats,
      model: memory.model,
      seq,
      ...(dataKey !== id ? { dataKey } : {}),
      ...staged.counts,
    };
    const op = staged.op
      .check({ key: [ROOT, ns, "rec", id], versionstamp: null })
      .set([ROOT, ns, "rec", id], rec)
      .set([ROOT, ns, "order", seq, id], rec);
    if (rec.expiresAt) op.set(expiryKey(ns, rec), true);
    if (!(await op.commit()).ok) {
      if (staged.marker) await settlePending(this.kv, staged.marker);
      throw new ApiError(409, "conflict", `A memory with id ${id} exists in this namespace`);
    }
    return rec;
  }

  /**
   * Writes a new version: new content, metadata or expiry. Earlier versions stay readable
   * ({@link history}, {@link getBytes} with a version); search sees the current one.
   *
   * @returns The new version's record, or null when there is no visible memory `id`.
   * @throws {ApiError} 409 when another update of the memory committed first.
   */
  async update(ns: string, id: string, change: MemoryChange): Promise<StoredMemory | null> {
    const entry = await this.kv.get<StoredMemory>([ROOT, ns, "rec", id]);
    const now = Date.now();
    if (!entry.value || expired(entry.value, now)) return null;
    const old = normal(entry.value);
    const next: StoredMemory = {
      ...old,
      version: old.version + 1,
      updatedAt: new Date(Math.max(now, Date.parse(old.updatedAt) + 1)).toISOString(),
      metadata: change.metadata ?? old.metadata,
    };
    if (change.expiresAt === null) delete next.expiresAt;
    else if (change.expiresAt !== undefined) next.expiresAt = change.expiresAt;
    let staged: Staged | undefined;
    let drop: Deno.KvKey | undefined;
    let op = this.kv.atomic();
    if (change.data) {
      const dataKey = crypto.randomUUID();
      staged = await stageData(this.kv, ns, id, dataKey, change.data);
      Object.assign(next, { dataKey, stats: change.data.stats, model: change.data.model });
      Object.assign(next, staged.counts);
      op = staged.op;
      // The old content's keys and term counts go once the new version is in.
      drop = [ROOT, PENDING, crypto.randomUUID()];
      op.set(drop, { ns, id, at: now, data: [dataKeyOf(old)], indexOnly: true } as Pending);
    }
    op.check(entry)
      .set([ROOT, ns, "rec", id], next)
      .set([ROOT, ns, "order", old.seq, id], next)
      .set([ROOT, ns, "ver", id, old.version], old);
    if (old.expiresAt) op.delete(expiryKey(ns, old));
    if (next.expiresAt) op.set(expiryKey(ns, next), true);
    if (!(await op.commit()).ok) {
      if (staged?.marker) await settlePending(this.kv, staged.marker);
      throw new ApiError(409, "conflict", `Memory ${id} changed during the update; try again`);
    }
    if (drop) await settlePending(this.kv, drop);
    return next;
  }

  /** A visible memory's current record, or null. */
  async get(ns: string, id: string): Promise<StoredMemory | null> {
    const rec = (await this.kv.get<StoredMemory>([ROOT, ns, "rec", id])).value;
    return rec && !expired(rec, Date.now()) ? normal(rec) : null;
  }

  /** Every version of a visible memory, oldest first, or null. */
  async history(ns: string, id: string): Promise<StoredMemory[] | null> {
    const rec = await this.get(ns, id);
    if (!rec) return null;
    const out: StoredMemory[] = [];
    for await (const e of this.kv.list<StoredMemory>({ prefix: [ROOT, ns, "ver", id] })) {
      out.push(normal(e.value));
    }
    out.push(rec);
    return out;
  }

  /** The `.r3m` bytes of a visible memory (current version, or `version`), or null. */
  async getBytes(ns: string, id: string, version?: number): Promise<Uint8Array | null> {
    const rec = await this.get(ns, id);
    if (!rec) return null;
    const ver = version === undefined || version === rec.version
      ? rec
      : (await this.kv.get<StoredMemory>([ROOT, ns, "ver", id, version])).value;
    return ver && await readChunks(this.kv, [ROOT, ns, "blob", dataKeyOf(ver)], ver.blobChunks);
  }

  /** A memory's current search keys, or null. `rec`: its record, if already read. */
  async getKeys(ns: string, id: string, rec?: MemoryRecord): Promise<SearchKeys | null> {
    const r = isStored(rec) ? rec : await this.get(ns, id);
    const bytes = r && await readChunks(this.kv, [ROOT, ns, "keys", dataKeyOf(r)], r.keyChunks);
    return bytes ? decodeSearchKeys(bytes) : null;
  }

  /** A memory's current term counts, or null (none stored, or deleted). */
  async getLexical(ns: string, id: string, rec?: MemoryRecord): Promise<LexicalTerms | null> {
    const r = isStored(rec) ? rec : await this.get(ns, id);
    if (!r?.lexChunks) return null;
    const bytes = await readChunks(this.kv, [ROOT, ns, "lex", dataKeyOf(r)], r.lexChunks);
    return bytes ? decodeLexicalTerms(bytes) : null;
  }

  /**
   * One page of a namespace's visible memories that match, oldest first.
   *
   * @param options `limit` (1…100), the `cursor` of the previous page, a `filter`.
   * @throws {ApiError} 400 when the cursor is not one this store gave.
   */
  async list(ns: string, options: ListOptions = {}): Promise<Page> {
    const limit = options.limit ?? 20;
    const memories: StoredMemory[] = [];
    const now = Date.now();
    let iter: Deno.KvListIterator<StoredMemory>;
    try {
      iter = this.kv.list<StoredMemory>({ prefix: [ROOT, ns, "order"] }, {
        cursor: options.cursor || undefined,
        batchSize: Math.min(500, limit + 1),
      });
      for await (const entry of iter) {
        if (expired(entry.value, now)) continue;
        const rec = normal(entry.value);
        if (!matchesFilter(rec, options.filter)) continue;
        memories.push(rec);
        if (memories.length === limit) break;
      }
    } catch (e) {
      if (options.cursor && e instanceof Error && !(e instanceof Deno.errors.BadResource)) {
        throw new ApiError(400, "bad_input", "Invalid cursor: pass the cursor of a previous page");
      }
      throw e;
    }
    return { memories, cursor: memories.length === limit && iter.cursor ? iter.cursor : null };
  }

  /** Every visible record of a namespace that matches, oldest first. */
  async *records(ns: string, filter?: Filter): AsyncGenerator<StoredMemory> {
    const now = Date.now();
    for await (const e of this.kv.list<StoredMemory>({ prefix: [ROOT, ns, "order"] })) {
      if (expired(e.value, now)) continue;
      const rec = normal(e.value);
      if (matchesFilter(rec, filter)) yield rec;
    }
  }

  /**
   * Deletes a visible memory and every version of it.
   *
   * @returns Whether it existed.
   */
  async delete(ns: string, id: string): Promise<boolean> {
    return await this.#remove(ns, id, (rec, now) => !expired(rec, now));
  }

  /**
   * Deletes every visible memory that matches, one atomic delete each.
   *
   * @returns How many were deleted.
   */
  async deleteWhere(ns: string, filter: Filter): Promise<number> {
    const ids: string[] = [];
    for await (const rec of this.records(ns, filter)) ids.push(rec.id);
    let n = 0;
    for (const id of ids) if (await this.delete(ns, id)) n++;
    return n;
  }

  /**
   * Removes the memories of every namespace whose expiry has passed (they are invisible
   * already): what the server's background purge runs.
   *
   * @param now The time, ms since the epoch (default now).
   * @returns How many were removed.
   */
  async purgeExpired(now: number = Date.now()): Promise<number> {
    let n = 0;
    const selector = { prefix: [ROOT, EXPIRY], end: [ROOT, EXPIRY, now + 1] };
    for await (const e of this.kv.list(selector)) {
      const [, , , ns, id] = e.key as [string, string, number, string, string];
      if (await this.#remove(ns, id, (rec) => expired(rec, now))) n++;
      else await this.kv.delete(e.key); // stale: deleted or given another expiry since
    }
    return n;
  }

  /**
   * Settles the markers of writes and deletes that did not finish (the process died between
   * commits): chunks no record refers to are removed. Runs at {@link open}.
   *
   * @param olderThanMs Only markers at least this old (default 0: all; at startup nothing is
   *   in flight).
   * @returns How many markers left something to remove.
   */
  async sweepPending(olderThanMs = 0): Promise<number> {
    let n = 0;
    const now = Date.now();
    for await (const e of this.kv.list<Pending>({ prefix: [ROOT, PENDING] })) {
      if (now - e.value.at < olderThanMs) continue;
      if (await settlePending(this.kv, e.key)) n++;
    }
    return n;
  }

  /** Closes the database. */
  close(): void {
    this.kv.close();
  }

  // Deletes a memory when `allowed` says so: record and index first, atomically, then its data.
  async #remove(
    ns: string,
    id: string,
    allowed: (rec: StoredMemory, now: number) => boolean,
  ): Promise<boolean> {
    const entry = await this.kv.get<StoredMemory>([ROOT, ns, "rec", id]);
    const rec = entry.value;
    if (!rec || !allowed(rec, Date.now())) return false;
    const marker = [ROOT, PENDING, crypto.randomUUID()];
    const op = this.kv.atomic()
      .check(entry)
      .delete([ROOT, ns, "rec", id])
      .delete([ROOT, ns, "order", rec.seq, id])
      .set(marker, { ns, id, at: Date.now(), data: [dataKeyOf(rec)] } as Pending);
    if (rec.expiresAt) op.delete(expiryKey(ns, rec));
    if (!(await op.commit()).ok) return false; // changed or deleted concurrently
    await settlePending(this.kv, marker);
    return true;
  }
}
