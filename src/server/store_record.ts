/**
 * A memory record as the Deno KV store (`./store.ts`) keeps it, and the small rules about
 * records it shares: expiry, records from before versions, scope ids.
 *
 * @module
 */
import { ROOT } from "./store_pending.ts";
import type { MemoryRecord, NewMemory } from "./store_types.ts";

/** A record as the KV store keeps it: the public record and where its data is. */
export interface StoredMemory extends MemoryRecord {
  /** Order key: creation time in microseconds, unique within the process. */
  seq: number;
  /** Key of this version's chunks (absent: the id, as earlier versions wrote). */
  dataKey?: string;
  /** Number of `.r3m` chunks. */
  blobChunks: number;
  /** Number of search-key chunks. */
  keyChunks: number;
  /** Number of term-count chunks; absent or 0: no words to search. */
  lexChunks?: number;
}

/** The expiry index's key segment. */
export const EXPIRY = "~expiry";

/** Whether a record has expired at `now` (ms). */
export const expired = (rec: MemoryRecord, now: number) =>
  rec.expiresAt !== undefined && Date.parse(rec.expiresAt) <= now;
/** Records written before versions had no `updatedAt`/`version`. */
export const normal = (rec: StoredMemory): StoredMemory => ({
  ...rec,
  updatedAt: rec.updatedAt ?? rec.createdAt,
  version: rec.version ?? 1,
});

/** The key of a record in the expiry index. */
export function expiryKey(ns: string, rec: MemoryRecord): Deno.KvKey {
  return [ROOT, EXPIRY, Date.parse(rec.expiresAt!), ns, rec.id];
}

/** The scope ids a new memory was given. */
export function scopeOf(m: NewMemory): Pick<MemoryRecord, "user_id" | "agent_id" | "run_id"> {
  return {
    ...(m.user_id !== undefined ? { user_id: m.user_id } : {}),
    ...(m.agent_id !== undefined ? { agent_id: m.agent_id } : {}),
    ...(m.run_id !== undefined ? { run_id: m.run_id } : {}),
  };
}

/** Whether a record is a KV-stored one (it knows its chunks). */
export function isStored(rec: MemoryRecord | undefined): rec is StoredMemory {
  return rec !== undefined && "keyChunks" in rec;
}
