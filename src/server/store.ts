/**
 * Stored memories in Deno KV, per namespace: the `.r3m` bytes, the search keys and the lexical
 * index's term counts (`src/search/lexical.ts`; chunked under Deno KV's 64 KiB value limit), a
 * record with metadata and stats, and an index by creation order. The term counts are written
 * in the same commits as the memory and deleted with it: the lexical index is maintained at
 * write time and survives restarts, and search never decodes a memory to find its words.
 *
 * A memory becomes visible in one atomic commit that writes its record and index entry, after
 * its chunks are written; memories larger than one commit's budget first write their chunks
 * under a `pending` marker, which {@link MemoryStore.sweepPending} clears if the process dies
 * in between. Layout:
 *
 * ```
 * ["r3mem", ns, "rec", id]               → StoredMemory
 * ["r3mem", ns, "order", seq, id]        → StoredMemory   (listing by creation)
 * ["r3mem", ns, "blob", id, i]           → Uint8Array     (.r3m chunk i)
 * ["r3mem", ns, "keys", id, i]           → Uint8Array     (search keys chunk i)
 * ["r3mem", ns, "lex", id, i]            → Uint8Array     (lexical term counts chunk i)
 * ["r3mem", "~pending", id]              → { ns, at }
 * ```
 *
 * @module
 */
import type { MemoryStats } from "../codec/memory.ts";
import { decodeLexicalTerms, encodeLexicalTerms, type LexicalTerms } from "../search/lexical.ts";
import { ApiError } from "./errors.ts";
import { decodeSearchKeys, encodeSearchKeys, type SearchKeys } from "./search_index.ts";

/** What is stored about a memory besides its bytes. */
export interface StoredMemory {
  /** Random id (UUID). */
  id: string;
  /** Creation time, ISO 8601. */
  createdAt: string;
  /** Caller's metadata (any JSON object). */
  metadata: Record<string, unknown>;
  /** Size statistics of the memory. */
  stats: MemoryStats;
  /** Fingerprint of the model that wrote it. */
  model: string;
  /** Order key: creation time in microseconds, unique within the process. */
  seq: number;
  /** Number of `.r3m` chunks. */
  blobChunks: number;
  /** Number of search-key chunks. */
  keyChunks: number;
  /**
   * Number of lexical term-count chunks; absent or 0: the memory has no words to search
   * (lossy, `slots: "none"`, or stored before the lexical index).
   */
  lexChunks?: number;
}

/** What {@link MemoryStore.put} stores. */
export interface NewMemory {
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
  /** Caller's metadata. */
  metadata?: Record<string, unknown>;
}

/** One page of {@link MemoryStore.list}. */
export interface Page {
  /** Memories, oldest first. */
  memories: StoredMemory[];
  /** Cursor of the next page, or null when this is the last. */
  cursor: string | null;
}

/**
 * Bytes per chunk: under Deno KV's 64 KiB value limit.
 *
 * @example
 * ```ts
 * import { CHUNK_BYTES } from "./store.ts";
 * console.log(CHUNK_BYTES < 65536); // true
 * ```
 */
export const CHUNK_BYTES = 60_000;
/** Chunks per atomic commit: well under the 800 KiB a commit may write. */
const CHUNKS_PER_COMMIT = 10;
const ROOT = "r3mem";
const PENDING = "~pending";

let lastSeq = 0;

/**
 * The memory store.
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
 * console.log((await store.getBytes("team-a", rec.id))?.length); // 3
 * console.log(await store.get("team-b", rec.id)); // null
 * store.close();
 * ```
 */
export class MemoryStore {
  /** The database. */
  readonly kv: Deno.Kv;

  /**
   * A store over an open database.
   *
   * @param kv An open Deno KV database (the store closes it in {@link close}).
   */
  constructor(kv: Deno.Kv) {
    this.kv = kv;
  }

  /**
   * Opens (creating it and its folder if needed) the database at `path` and clears what an
   * interrupted write left behind.
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
   */
  async put(ns: string, memory: NewMemory): Promise<StoredMemory> {
    const id = crypto.randomUUID();
    const keyBytes = encodeSearchKeys(memory.keys);
    const blob = chunk(memory.bytes);
    const keys = chunk(keyBytes);
    const lex = memory.lexical ? chunk(encodeLexicalTerms(memory.lexical)) : [];
    const seq = Math.max(lastSeq + 1, Date.now() * 1000);
    lastSeq = seq;
    const rec: StoredMemory = {
      id,
      createdAt: new Date(Math.floor(seq / 1000)).toISOString(),
      metadata: memory.metadata ?? {},
      stats: memory.stats,
      model: memory.model,
      seq,
      blobChunks: blob.length,
      keyChunks: keys.length,
      lexChunks: lex.length,
    };
    const writes: [Deno.KvKey, Uint8Array][] = [
      ...blob.map((c, i): [Deno.KvKey, Uint8Array] => [[ROOT, ns, "blob", id, i], c]),
      ...keys.map((c, i): [Deno.KvKey, Uint8Array] => [[ROOT, ns, "keys", id, i], c]),
      ...lex.map((c, i): [Deno.KvKey, Uint8Array] => [[ROOT, ns, "lex", id, i], c]),
    ];
    const pendingKey = [ROOT, PENDING, id];
    let op = this.kv.atomic();
    if (writes.length > CHUNKS_PER_COMMIT) {
      // Too big for one commit: chunks first, under a marker, then the record.
      await this.#commit(this.kv.atomic().set(pendingKey, { ns, at: Date.now() }));
      for (let i = 0; i < writes.length; i += CHUNKS_PER_COMMIT) {
        const batch = this.kv.atomic();
        for (const [k, v] of writes.slice(i, i + CHUNKS_PER_COMMIT)) batch.set(k, v);
        await this.#commit(batch);
      }
      op = op.delete(pendingKey);
    } else {
      for (const [k, v] of writes) op = op.set(k, v);
    }
    op.check({ key: [ROOT, ns, "rec", id], versionstamp: null })
      .set([ROOT, ns, "rec", id], rec)
      .set([ROOT, ns, "order", seq, id], rec);
    await this.#commit(op);
    return rec;
  }

  /** A memory's record, or null. */
  async get(ns: string, id: string): Promise<StoredMemory | null> {
    return (await this.kv.get<StoredMemory>([ROOT, ns, "rec", id])).value;
  }

  /** A memory's `.r3m` bytes, or null. */
  async getBytes(ns: string, id: string): Promise<Uint8Array | null> {
    const rec = await this.get(ns, id);
    return rec && await this.#readChunks([ROOT, ns, "blob", id], rec.blobChunks);
  }

  /** A memory's search keys, or null. */
  async getKeys(ns: string, id: string, rec?: StoredMemory): Promise<SearchKeys | null> {
    rec ??= await this.get(ns, id) ?? undefined;
    const bytes = rec && await this.#readChunks([ROOT, ns, "keys", id], rec.keyChunks);
    return bytes ? decodeSearchKeys(bytes) : null;
  }

  /** A memory's lexical term counts, or null (none stored, or deleted). */
  async getLexical(ns: string, id: string, rec?: StoredMemory): Promise<LexicalTerms | null> {
    rec ??= await this.get(ns, id) ?? undefined;
    if (!rec?.lexChunks) return null;
    const bytes = await this.#readChunks([ROOT, ns, "lex", id], rec.lexChunks);
    return bytes ? decodeLexicalTerms(bytes) : null;
  }

  /**
   * One page of a namespace's memories, oldest first.
   *
   * @param options `limit` (1…100) and the `cursor` of the previous page.
   * @throws {ApiError} 400 when the cursor is not one this store gave.
   */
  async list(ns: string, options: { limit?: number; cursor?: string } = {}): Promise<Page> {
    const limit = options.limit ?? 20;
    const memories: StoredMemory[] = [];
    let iter: Deno.KvListIterator<StoredMemory>;
    try {
      iter = this.kv.list<StoredMemory>({ prefix: [ROOT, ns, "order"] }, {
        limit,
        cursor: options.cursor || undefined,
      });
      for await (const entry of iter) memories.push(entry.value);
    } catch (e) {
      if (options.cursor && e instanceof Error && !(e instanceof Deno.errors.BadResource)) {
        throw new ApiError(400, "bad_input", "Invalid cursor: pass the cursor of a previous page");
      }
      throw e;
    }
    return { memories, cursor: memories.length === limit && iter.cursor ? iter.cursor : null };
  }

  /** Every record of a namespace, oldest first. */
  async *records(ns: string): AsyncGenerator<StoredMemory> {
    for await (const e of this.kv.list<StoredMemory>({ prefix: [ROOT, ns, "order"] })) {
      yield e.value;
    }
  }

  /**
   * Deletes a memory.
   *
   * @returns Whether it existed.
   */
  async delete(ns: string, id: string): Promise<boolean> {
    const entry = await this.kv.get<StoredMemory>([ROOT, ns, "rec", id]);
    const rec = entry.value;
    if (!rec) return false;
    // The record and index entry go first, atomically: from then on the memory is gone.
    const res = await this.kv.atomic()
      .check(entry)
      .delete([ROOT, ns, "rec", id])
      .delete([ROOT, ns, "order", rec.seq, id])
      .set([ROOT, PENDING, id], { ns, at: Date.now() })
      .commit();
    if (!res.ok) return false; // deleted concurrently
    await this.#deleteChunks(ns, id);
    return true;
  }

  /**
   * Removes chunks left by writes or deletes that did not finish (the process died between
   * commits). Runs at {@link open}.
   *
   * @param olderThanMs Only markers at least this old (default 0: all; at startup nothing is
   *   in flight).
   * @returns How many memories' leftovers were removed.
   */
  async sweepPending(olderThanMs = 0): Promise<number> {
    let n = 0;
    const now = Date.now();
    for await (const e of this.kv.list<{ ns: string; at: number }>({ prefix: [ROOT, PENDING] })) {
      if (now - e.value.at < olderThanMs) continue;
      const id = e.key[2] as string;
      if (await this.get(e.value.ns, id)) {
        await this.kv.delete(e.key); // the write finished after all
        continue;
      }
      await this.#deleteChunks(e.value.ns, id);
      n++;
    }
    return n;
  }

  /** Closes the database. */
  close(): void {
    this.kv.close();
  }

  async #deleteChunks(ns: string, id: string): Promise<void> {
    const keys: Deno.KvKey[] = [];
    for (const part of ["blob", "keys", "lex"]) {
      for await (const e of this.kv.list({ prefix: [ROOT, ns, part, id] })) keys.push(e.key);
    }
    for (let i = 0; i < keys.length; i += CHUNKS_PER_COMMIT * 10) {
      const op = this.kv.atomic();
      for (const k of keys.slice(i, i + CHUNKS_PER_COMMIT * 10)) op.delete(k);
      await this.#commit(op);
    }
    await this.kv.delete([ROOT, PENDING, id]);
  }

  async #readChunks(prefix: Deno.KvKey, count: number): Promise<Uint8Array | null> {
    const parts: Uint8Array[] = [];
    for await (const e of this.kv.list<Uint8Array>({ prefix })) parts.push(e.value);
    if (parts.length !== count) return null; // deleted while reading
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) out.set(p, at), at += p.length;
    return out;
  }

  async #commit(op: Deno.AtomicOperation): Promise<void> {
    const res = await op.commit();
    if (!res.ok) throw new Error("Deno KV commit failed a check");
  }
}

function chunk(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += CHUNK_BYTES) out.push(bytes.slice(i, i + CHUNK_BYTES));
  return out.length ? out : [new Uint8Array(0)];
}
