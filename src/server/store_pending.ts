/**
 * Markers of writes and deletes in progress in the KV store (`./store.ts`), and how one is
 * settled: the chunks no record refers to any more are removed. A process that dies between
 * the commits of a write or delete leaves a marker; the store settles it when it opens. Private
 * to the KV store.
 *
 * @module
 */
import { deletePrefixes } from "./store_chunks.ts";

/**
 * First element of every key the store writes.
 *
 * @example
 * ```ts
 * import { ROOT } from "./store_pending.ts";
 * console.log(ROOT); // "r3mem"
 * ```
 */
export const ROOT = "r3mem";

/**
 * Second element of the markers' keys: `["r3mem", "~pending", key]`.
 *
 * @example
 * ```ts
 * import { PENDING } from "./store_pending.ts";
 * console.log(PENDING); // "~pending"
 * ```
 */
export const PENDING = "~pending";

/** A marker of a write or delete in progress. */
export interface Pending {
  /** Namespace of the memory. */
  ns: string;
  /** When the marker was written (ms since the epoch). */
  at: number;
  /** The memory (absent in markers of earlier versions: the marker's key). */
  id?: string;
  /** Data keys concerned (absent: the marker's key). */
  data?: string[];
  /** Only the search keys and term counts of `data` go (a new version superseded them). */
  indexOnly?: boolean;
}

/** The fields of a stored record that say where its data is. */
export interface DataRef {
  /** The memory's id. */
  id: string;
  /** Key of the data (absent: the id). */
  dataKey?: string;
}

/**
 * The key a record's chunks are stored under.
 *
 * @example
 * ```ts
 * import { dataKeyOf } from "./store_pending.ts";
 * console.log(dataKeyOf({ id: "a" }), dataKeyOf({ id: "a", dataKey: "b" })); // a b
 * ```
 */
export function dataKeyOf(rec: DataRef): string {
  return rec.dataKey ?? rec.id;
}

/**
 * Finishes what a marker describes, then deletes it: after a write, the chunks of data no
 * record or earlier version refers to (the write did not finish); after a delete (the record
 * is gone), every version's chunks and the versions; with `indexOnly`, the superseded search
 * keys and term counts.
 *
 * @param kv The database.
 * @param markerKey The marker's key.
 * @returns Whether anything was removed.
 *
 * @example
 * ```ts
 * import { settlePending } from "./store_pending.ts";
 * const kv = await Deno.openKv(":memory:");
 * await kv.set(["r3mem", "~pending", "dead"], { ns: "ns", at: 0 });
 * await kv.set(["r3mem", "ns", "blob", "dead", 0], new Uint8Array(1));
 * console.log(await settlePending(kv, ["r3mem", "~pending", "dead"])); // true
 * kv.close();
 * ```
 */
export async function settlePending(kv: Deno.Kv, markerKey: Deno.KvKey): Promise<boolean> {
  const marker = (await kv.get<Pending>(markerKey)).value;
  if (!marker) return false;
  const { ns } = marker;
  const id = marker.id ?? String(markerKey[2]);
  const data = new Set(marker.data ?? [String(markerKey[2])]);
  const rec = (await kv.get<DataRef>([ROOT, ns, "rec", id])).value;
  const versions: DataRef[] = [];
  for await (const e of kv.list<DataRef>({ prefix: [ROOT, ns, "ver", id] })) versions.push(e.value);
  const used = new Set<string>();
  if (rec) {
    for (const v of [rec, ...versions]) used.add(dataKeyOf(v));
  } else {
    // The memory is gone: every version's data goes, and the versions.
    for (const v of versions) data.add(dataKeyOf(v));
  }
  const prefixes: Deno.KvKey[] = rec ? [] : [[ROOT, ns, "ver", id]];
  for (const key of data) {
    const current = rec !== null && dataKeyOf(rec) === key;
    if (marker.indexOnly && !current) {
      prefixes.push([ROOT, ns, "keys", key], [ROOT, ns, "lex", key]);
    } else if (!marker.indexOnly && !used.has(key)) {
      prefixes.push([ROOT, ns, "blob", key], [ROOT, ns, "keys", key], [ROOT, ns, "lex", key]);
    }
  }
  const removed = await deletePrefixes(kv, prefixes);
  await kv.delete(markerKey);
  return removed > 0;
}
