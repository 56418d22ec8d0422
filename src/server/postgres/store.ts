/**
 * Stored memories in PostgreSQL: the {@link Store} of `../store_types.ts` for several server
 * instances on one database (`R3MEM_DATABASE_URL=postgres://…`), through porsager's `postgres`
 * client. The schema is created and migrated when the store opens (`./migrations.ts`).
 *
 * Every write is one transaction: a memory (its current row, its first version and bytes), an
 * update (the row locked, a new version, the row changed) or a delete (the row, its versions by
 * cascade) commits whole or not at all, so a process killed mid-write leaves nothing partial and
 * nothing needs sweeping. Expired memories are invisible at once (every read compares
 * `expires_at` with the time) and removed by {@link PgStore.purgeExpired}. Filters: the scope ids
 * and top-level metadata equalities go to SQL (`./prefilter.ts`), then `../filters.ts` decides on
 * the rows read. A lost connection or a database restart is a 503 (`./errors.ts`); the client
 * reconnects on the next query.
 *
 * @module
 */
import { PgConversationStore } from "./conversations.ts";
import postgres, { type Sql } from "postgres";
import { decodeLexicalTerms, encodeLexicalTerms, type LexicalTerms } from "../../search/lexical.ts";
import { ApiError } from "../errors.ts";
import { type Filter, matchesFilter } from "../filters.ts";
import { decodeSearchKeys, encodeSearchKeys, type SearchKeys } from "../search_index.ts";
import type {
  ListOptions,
  MemoryChange,
  MemoryRecord,
  NewMemory,
  Page,
  RecordsOptions,
  Store,
} from "../store_types.ts";
import { storeError } from "./errors.ts";
import { PgSearchData, runQuery, visibleNow } from "./search_data.ts";
import { migrate } from "./migrations.ts";
import { prefilterOf } from "./prefilter.ts";
import { COLUMNS, copy, recordOf, type Row } from "./rows.ts";

/** Options of {@link PgStore.open}. */
export interface PgStoreOptions {
  /** Connections in the pool (default 10). */
  max?: number;
  /** Seconds to wait for a connection before answering 503 (default 5). */
  connectTimeoutS?: number;
  /** Rows read per query when scanning (default 500). */
  batchSize?: number;
}

/**
 * The memory store on PostgreSQL.
 *
 * @example
 * ```ts ignore
 * import { PgStore } from "./store.ts";
 * const store = await PgStore.open("postgres://postgres@127.0.0.1:5432/r3mem");
 * console.log(await store.get("team-a", "no-such-id")); // null
 * store.close();
 * ```
 */
export class PgStore implements Store {
  /** The client (a connection pool). */
  readonly sql: Sql;
  /** The conversations, in the same database. */
  readonly conversations: PgConversationStore;
  readonly #batch: number;
  readonly #search: PgSearchData;

  /**
   * A store over a client whose database is migrated ({@link open} does both).
   *
   * @param sql The client.
   * @param batchSize Rows per query when scanning.
   */
  constructor(sql: Sql, batchSize = 500) {
    this.sql = sql;
    this.#batch = batchSize;
    this.#search = new PgSearchData(sql);
    this.conversations = new PgConversationStore(sql);
  }

  /**
   * Connects to the database at `url` and applies the migrations it lacks.
   *
   * @param url A `postgres://` URL.
   * @param options Pool size, connect timeout, scan batch size.
   * @throws {ApiError} 503 when the database cannot be reached.
   */
  static async open(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
    const sql = postgres(url, {
      max: options.max ?? 10,
      connect_timeout: options.connectTimeoutS ?? 5,
      idle_timeout: 60,
      onnotice: () => {},
    });
    try {
      await migrate(sql);
    } catch (e) {
      await sql.end({ timeout: 1 });
      throw storeError(e);
    }
    return new PgStore(sql, options.batchSize);
  }

  /**
   * Stores a memory in one transaction; when the promise resolves it is committed.
   *
   * @throws {ApiError} 409 when `memory.id` is taken; 503 when the database is unavailable.
   */
  async put(ns: string, memory: NewMemory): Promise<MemoryRecord> {
    const id = memory.id ?? crypto.randomUUID();
    const createdAt = memory.createdAt ?? new Date().toISOString();
    const rec: MemoryRecord = {
      id,
      createdAt,
      updatedAt: createdAt,
      version: 1,
      ...(memory.expiresAt ? { expiresAt: memory.expiresAt } : {}),
      ...(memory.user_id !== undefined ? { user_id: memory.user_id } : {}),
      ...(memory.agent_id !== undefined ? { agent_id: memory.agent_id } : {}),
      ...(memory.run_id !== undefined ? { run_id: memory.run_id } : {}),
      metadata: memory.metadata ?? {},
      stats: memory.stats,
      model: memory.model,
    };
    const keys = encodeSearchKeys(memory.keys);
    const lexical = memory.lexical ? encodeLexicalTerms(memory.lexical) : null;
    const taken = await runQuery(() =>
      this.sql.begin(async (tx) => {
        const rows = await tx`
          INSERT INTO r3mem_memories (ns, id, version, created_at, updated_at, expires_at,
            user_id, agent_id, run_id, metadata, stats, model, keys, lexical)
          VALUES (${ns}, ${id}, 1, ${createdAt}, ${createdAt}, ${rec.expiresAt ?? null},
            ${rec.user_id ?? null}, ${rec.agent_id ?? null}, ${rec.run_id ?? null},
            ${this.#json(rec.metadata)}::json, ${
          this.#json(rec.stats)
        }::json, ${rec.model}, ${keys},
            ${lexical})
          ON CONFLICT (ns, id) DO NOTHING RETURNING seq`;
        if (rows.length === 0) return true;
        await tx`
          INSERT INTO r3mem_versions (ns, id, version, updated_at, expires_at, metadata, stats,
            model, content, bytes)
          VALUES (${ns}, ${id}, 1, ${createdAt}, ${rec.expiresAt ?? null},
            ${this.#json(rec.metadata)}::json, ${this.#json(rec.stats)}::json, ${rec.model}, 1,
            ${memory.bytes})`;
        return false;
      })
    );
    if (taken) {
      throw new ApiError(409, "conflict", `A memory with id ${id} exists in this namespace`);
    }
    return rec;
  }

  /**
   * Writes a new version in one transaction that locks the memory's row, so concurrent updates
   * queue and each gets its own version number.
   *
   * @returns The new version's record, or null when there is no visible memory `id`.
   */
  async update(ns: string, id: string, change: MemoryChange): Promise<MemoryRecord | null> {
    const data = change.data;
    const keys = data ? encodeSearchKeys(data.keys) : null;
    const lexical = data?.lexical ? encodeLexicalTerms(data.lexical) : null;
    return await runQuery(() =>
      this.sql.begin(async (tx) => {
        const now = Date.now();
        const [row] = await tx<Row[]>`
          SELECT ${tx(COLUMNS)} FROM r3mem_memories WHERE ns = ${ns} AND id = ${id}
            AND (expires_at IS NULL OR expires_at > ${new Date(now)}) FOR UPDATE`;
        if (!row) return null;
        const old = recordOf(row);
        const next: MemoryRecord = {
          ...old,
          version: old.version + 1,
          updatedAt: new Date(Math.max(now, Date.parse(old.updatedAt) + 1)).toISOString(),
          metadata: change.metadata ?? old.metadata,
          ...(data ? { stats: data.stats, model: data.model } : {}),
        };
        if (change.expiresAt === null) delete next.expiresAt;
        else if (change.expiresAt !== undefined) next.expiresAt = change.expiresAt;
        const [{ content }] = await tx<{ content: number }[]>`
          SELECT content FROM r3mem_versions WHERE ns = ${ns} AND id = ${id}
            AND version = ${old.version}`;
        await tx`
          INSERT INTO r3mem_versions (ns, id, version, updated_at, expires_at, metadata, stats,
            model, content, bytes)
          VALUES (${ns}, ${id}, ${next.version}, ${next.updatedAt}, ${next.expiresAt ?? null},
            ${this.#json(next.metadata)}::json, ${this.#json(next.stats)}::json, ${next.model},
            ${data ? next.version : content}, ${data ? data.bytes : null})`;
        await tx`
          UPDATE r3mem_memories SET version = ${next.version}, updated_at = ${next.updatedAt},
            expires_at = ${next.expiresAt ?? null}, metadata = ${this.#json(next.metadata)}::json,
            stats = ${this.#json(next.stats)}::json, model = ${next.model},
            keys = ${data ? keys : tx`keys`}, lexical = ${data ? lexical : tx`lexical`}
          WHERE ns = ${ns} AND id = ${id}`;
        return next;
      })
    );
  }

  /** A visible memory's current record, or null. */
  async get(ns: string, id: string): Promise<MemoryRecord | null> {
    const rows = await runQuery(() =>
      this.sql<Row[]>`SELECT ${this.sql(COLUMNS)} FROM r3mem_memories
        WHERE ns = ${ns} AND id = ${id} AND ${visibleNow(this.sql)}`
    );
    return rows.length ? recordOf(rows[0]) : null;
  }

  /** Every version of a visible memory, oldest first, or null (read in one statement). */
  async history(ns: string, id: string): Promise<MemoryRecord[] | null> {
    const rows = await runQuery(() =>
      this.sql<Row[]>`
        SELECT m.id, m.seq, v.version, m.created_at, v.updated_at, v.expires_at, m.user_id,
          m.agent_id, m.run_id, v.metadata, v.stats, v.model
        FROM r3mem_memories m JOIN r3mem_versions v USING (ns, id)
        WHERE m.ns = ${ns} AND m.id = ${id} AND ${visibleNow(this.sql, "m.")}
        ORDER BY v.version`
    );
    return rows.length ? rows.map(recordOf) : null;
  }

  /** The `.r3m` bytes of a visible memory (current version, or `version`), or null. */
  async getBytes(ns: string, id: string, version?: number): Promise<Uint8Array | null> {
    const rows = await runQuery(() =>
      this.sql<{ bytes: Uint8Array }[]>`
        SELECT c.bytes FROM r3mem_memories m
          JOIN r3mem_versions v ON v.ns = m.ns AND v.id = m.id
            AND v.version = coalesce(${version ?? null}::integer, m.version)
          JOIN r3mem_versions c ON c.ns = m.ns AND c.id = m.id AND c.version = v.content
        WHERE m.ns = ${ns} AND m.id = ${id} AND ${visibleNow(this.sql, "m.")}`
    );
    return rows.length ? copy(rows[0].bytes) : null;
  }

  /** A memory's current search keys, or null. `rec`: its record, if read by {@link records}. */
  async getKeys(ns: string, id: string, rec?: MemoryRecord): Promise<SearchKeys | null> {
    const index = await this.#search.of(ns, id, rec);
    return index ? decodeSearchKeys(index.keys) : null;
  }

  /** A memory's current term counts, or null (none stored, or gone). */
  async getLexical(ns: string, id: string, rec?: MemoryRecord): Promise<LexicalTerms | null> {
    const index = await this.#search.of(ns, id, rec);
    return index?.lexical ? decodeLexicalTerms(index.lexical) : null;
  }

  /**
   * One page of a namespace's visible memories that match, oldest first.
   *
   * @throws {ApiError} 400 when the cursor is not one this store gave.
   */
  async list(ns: string, options: ListOptions = {}): Promise<Page> {
    const limit = options.limit ?? 20;
    let after = 0n;
    if (options.cursor) {
      if (!/^\d{1,19}$/.test(options.cursor)) {
        throw new ApiError(400, "bad_input", "Invalid cursor: pass the cursor of a previous page");
      }
      after = BigInt(options.cursor);
    }
    const memories: MemoryRecord[] = [];
    let last = after;
    for await (const row of this.#scan(ns, options.filter, false, after, limit + 1)) {
      const rec = recordOf(row);
      if (!matchesFilter(rec, options.filter)) continue;
      memories.push(rec);
      last = BigInt(row.seq);
      if (memories.length === limit) break;
    }
    return { memories, cursor: memories.length === limit ? String(last) : null };
  }

  /**
   * Every visible record of a namespace that matches, oldest first. Search columns: with no
   * `searchData`, every row's come with the scan; with it, only the records it asks for, by a
   * second query per batch (a search whose cache holds the rest moves no keys: at 10 000
   * memories the scan took ~0.1 s without them against ~0.7–1.3 s with them).
   */
  async *records(
    ns: string,
    filter?: Filter,
    options: RecordsOptions = {},
  ): AsyncGenerator<MemoryRecord> {
    const want = options.searchData;
    for await (const rows of this.#scanBatches(ns, filter, want === undefined, 0n, this.#batch)) {
      const recs: MemoryRecord[] = [];
      for (const row of rows) {
        const rec = recordOf(row);
        if (!matchesFilter(rec, filter)) continue;
        if (want === undefined) this.#search.keep(rec, row.keys!, row.lexical ?? null);
        recs.push(rec);
      }
      if (want !== undefined) await this.#search.readMany(ns, recs.filter(want));
      yield* recs;
    }
  }

  /** Deletes a visible memory and all its versions in one statement; whether it was there. */
  async delete(ns: string, id: string): Promise<boolean> {
    const res = await runQuery(() =>
      this.sql`DELETE FROM r3mem_memories WHERE ns = ${ns} AND id = ${id} AND ${
        visibleNow(this.sql)
      }`
    );
    return res.count > 0;
  }

  /** Deletes every visible memory that matches (each one atomically); how many. */
  async deleteWhere(ns: string, filter: Filter): Promise<number> {
    const ids: string[] = [];
    for await (const rec of this.records(ns, filter)) ids.push(rec.id);
    let n = 0;
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      const res = await runQuery(() =>
        this.sql`DELETE FROM r3mem_memories
          WHERE ns = ${ns} AND id = ANY(${chunk}::text[]) AND ${visibleNow(this.sql)}`
      );
      n += res.count;
    }
    return n;
  }

  /**
   * Removes expired memories of every namespace, 500 a transaction; rows another instance is
   * purging are skipped, not waited for.
   *
   * @param now The time, ms since the epoch (default now).
   * @returns How many were removed.
   */
  async purgeExpired(now: number = Date.now()): Promise<number> {
    let n = 0;
    for (;;) {
      const res = await runQuery(() =>
        this.sql`DELETE FROM r3mem_memories WHERE (ns, id) IN (
          SELECT ns, id FROM r3mem_memories WHERE expires_at <= ${new Date(now)}
          LIMIT 500 FOR UPDATE SKIP LOCKED)`
      );
      n += res.count;
      if (res.count < 500) return n;
    }
  }

  /** Closes the pool (queries in flight finish first, for up to 5 s). */
  close(): void {
    this.sql.end({ timeout: 5 }).catch(() => {});
  }

  // A `json` parameter (type 114): the client writes it with JSON.stringify and the `json` column
  // keeps that text as written (jsonb would reorder keys).
  #json(value: unknown) {
    return this.sql.typed(value as never, 114);
  }

  // Rows in creation order after `after`, `batch` a query, narrowed by the filter's prefilter.
  async *#scan(ns: string, filter: Filter | undefined, search: boolean, after: bigint, n: number) {
    for await (const rows of this.#scanBatches(ns, filter, search, after, n)) yield* rows;
  }

  // The same, a query's rows at a time.
  async *#scanBatches(
    ns: string,
    filter: Filter | undefined,
    search: boolean,
    after: bigint,
    n: number,
  ) {
    const sql = this.sql;
    const pre = prefilterOf(filter);
    const conds = [
      ...pre.scope.map((s) => sql`${sql(s.field)} = ANY(${s.values}::text[])`),
      ...pre.contains.map((c) => sql`metadata::jsonb @> ${this.#json(c)}::jsonb`),
    ];
    const where = conds.reduce((a, c) => sql`${a} AND ${c}`, sql`TRUE`);
    const columns = search ? [...COLUMNS, "keys", "lexical"] : COLUMNS;
    for (;;) {
      const rows = await runQuery(() =>
        sql<Row[]>`SELECT ${sql(columns)} FROM r3mem_memories
          WHERE ns = ${ns} AND seq > ${after.toString()}::bigint AND ${visibleNow(this.sql)}
            AND ${where}
          ORDER BY seq LIMIT ${n}`
      );
      yield rows;
      if (rows.length < n) return;
      after = BigInt(rows[rows.length - 1].seq);
    }
  }
}
