/**
 * The search columns (`keys`, `lexical`) of the PostgreSQL store's records: read along with a
 * scan, or for the records a search asks for in one query a batch, and kept per record object
 * for `getKeys` / `getLexical` right after; read one by one otherwise. Also the two query helpers
 * the store shares with it: failures turned into 503s, and "not expired now".
 *
 * @module
 */
import type { Sql } from "postgres";
import type { MemoryRecord } from "../store_types.ts";
import { storeError } from "./errors.ts";
import { copy, type Index } from "./rows.ts";

/**
 * Runs a query, turning connection failures into 503s (`storeError`).
 *
 * @example
 * ```ts
 * import { runQuery } from "./search_data.ts";
 * console.log(await runQuery(() => Promise.resolve(7))); // 7
 * ```
 */
export async function runQuery<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (e) {
    throw storeError(e);
  }
}

/**
 * The condition "not expired now" on `expires_at` (of the table aliased `prefix`, if any).
 *
 * @example
 * ```ts ignore
 * import { visibleNow } from "./search_data.ts";
 * await sql`SELECT id FROM r3mem_memories WHERE ${visibleNow(sql)}`;
 * ```
 */
export function visibleNow(sql: Sql, prefix = "") {
  return sql`(${sql(prefix + "expires_at")} IS NULL OR ${
    sql(prefix + "expires_at")
  } > ${new Date()})`;
}

/**
 * The search columns of records, kept per record object (weakly).
 *
 * @example
 * ```ts ignore
 * import { PgSearchData } from "./search_data.ts";
 * const data = new PgSearchData(sql);
 * await data.readMany("default", records); // one query
 * const index = await data.of("default", records[0].id, records[0]); // no query
 * ```
 */
export class PgSearchData {
  readonly #sql: Sql;
  readonly #index = new WeakMap<MemoryRecord, Index>();

  /** Over a connection pool. */
  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** Keeps the columns a scan read with `rec`. */
  keep(rec: MemoryRecord, keys: Uint8Array, lexical: Uint8Array | null): void {
    this.#index.set(rec, {
      version: rec.version,
      keys: copy(keys),
      lexical: lexical && copy(lexical),
    });
  }

  /**
   * Reads the columns of `recs` in one query and keeps them (a record whose version changed
   * meanwhile is left out: {@link of} reads the current one itself).
   */
  async readMany(ns: string, recs: MemoryRecord[]): Promise<void> {
    if (recs.length === 0) return;
    const byId = new Map(recs.map((r) => [r.id, r]));
    const sql = this.#sql;
    const rows = await runQuery(() =>
      sql<{ id: string; version: number; keys: Uint8Array; lexical: Uint8Array | null }[]>`
        SELECT id, version, keys, lexical FROM r3mem_memories
        WHERE ns = ${ns} AND id = ANY(${[...byId.keys()]}::text[]) AND ${visibleNow(sql)}`
    );
    for (const row of rows) {
      const rec = byId.get(row.id);
      if (rec && rec.version === row.version) this.keep(rec, row.keys, row.lexical);
    }
  }

  /** The columns of a memory's current version: kept with `rec`, else read; null when gone. */
  async of(ns: string, id: string, rec?: MemoryRecord): Promise<Index | null> {
    const known = rec && this.#index.get(rec);
    if (known) return known;
    const sql = this.#sql;
    const rows = await runQuery(() =>
      sql<{ version: number; keys: Uint8Array; lexical: Uint8Array | null }[]>`
        SELECT version, keys, lexical FROM r3mem_memories
        WHERE ns = ${ns} AND id = ${id} AND ${visibleNow(sql)}`
    );
    if (!rows.length) return null;
    const { version, keys, lexical } = rows[0];
    return { version, keys: copy(keys), lexical: lexical ? copy(lexical) : null };
  }
}
