/**
 * Rows of `r3mem_memories` as the PostgreSQL store reads them, and the records they stand for.
 *
 * @module
 */
import type { MemoryRecord } from "../store_types.ts";

/** A row of `r3mem_memories` as read (the search columns only when asked). */
export interface Row {
  id: string;
  seq: string;
  version: number;
  created_at: Date;
  updated_at: Date;
  expires_at: Date | null;
  user_id: string | null;
  agent_id: string | null;
  run_id: string | null;
  metadata: Record<string, unknown>;
  stats: MemoryRecord["stats"];
  model: string;
  keys?: Uint8Array;
  lexical?: Uint8Array | null;
}

/** The search columns of a record read by {@link PgStore.records}, by record. */
export interface Index {
  version: number;
  keys: Uint8Array;
  lexical: Uint8Array | null;
}

/** The record columns (the search columns `keys`, `lexical` are added when asked). */
export const COLUMNS = [
  "id",
  "seq",
  "version",
  "created_at",
  "updated_at",
  "expires_at",
  "user_id",
  "agent_id",
  "run_id",
  "metadata",
  "stats",
  "model",
];

/**
 * The record a row stands for (absent optional fields left out, times as ISO 8601).
 *
 * @example
 * ```ts
 * import { recordOf } from "./rows.ts";
 * const t = new Date(0);
 * const rec = recordOf({
 *   id: "a", seq: "1", version: 1, created_at: t, updated_at: t, expires_at: null, user_id: "u",
 *   agent_id: null, run_id: null, metadata: {}, stats: {} as never, model: "m",
 * });
 * console.log(rec.user_id, "agent_id" in rec); // u false
 * ```
 */
export function recordOf(row: Row): MemoryRecord {
  return {
    id: row.id,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    version: row.version,
    ...(row.expires_at ? { expiresAt: row.expires_at.toISOString() } : {}),
    ...(row.user_id !== null ? { user_id: row.user_id } : {}),
    ...(row.agent_id !== null ? { agent_id: row.agent_id } : {}),
    ...(row.run_id !== null ? { run_id: row.run_id } : {}),
    metadata: row.metadata,
    stats: row.stats,
    model: row.model,
  };
}

/** The client returns Node Buffers; callers get plain arrays. */
export const copy = (b: Uint8Array) => new Uint8Array(b);
