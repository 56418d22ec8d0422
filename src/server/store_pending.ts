/**
 * Writes and deletes in progress in the KV store (`./store.ts`): a memory's chunks staged before
 * the commit that makes them visible, the markers of writes and deletes that span commits, and
 * how a marker is settled (the chunks no record refers to any more are removed). A process that
 * dies between the commits of a write or delete leaves a marker; the store settles it when it
 * opens. Private to the KV store.
 *
 * @module
 */
import { encodeLexicalTerms } from "../search/lexical.ts";
import { encodeSearchKeys } from "./search_index.ts";
import { chunk, CHUNKS_PER_COMMIT, commit, deletePrefixes } from "./store_chunks.ts";
import type { MemoryData } from "./store_types.ts";

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

/** Chunks written (or added to `op`) for the commit that will make them visible. */
export interface Staged {
  /** The commit to finish: it holds the chunks, or deletes the marker they were written under. */
  op: Deno.AtomicOperation;
  /** The marker of chunks written ahead (absent: they are in `op`). */
  marker?: Deno.KvKey;
  /** Chunk counts for the record. */
  counts: { blobChunks: number; keyChunks: number; lexChunks: number };
}

/**
 * Writes a memory's chunks under `dataKey`: into the returned commit when they fit in one,
 * otherwise in commits of their own under a marker that the returned commit deletes.
 *
 * @param kv The database.
 * @param ns Namespace.
 * @param id The memory's id.
 * @param dataKey Key of the chunks.
 * @param data Bytes, search keys, term counts.
 * @returns The commit to finish with the record, and the counts.
 *
 * @example
 * ```ts
 * import { stageData } from "./store_pending.ts";
 * const kv = await Deno.openKv(":memory:");
 * const keys = { dim: 1, levels: ["document" as const], keys: new Float32Array([1]) };
 * const stats = { bytes: 1, nodes: { document: 1, paragraph: 0, sentence: 0 }, slots: 1,
 *   residualBytes: 0, textBytes: 1, ratio: 1 };
 * const staged = await stageData(kv, "ns", "a", "a", { bytes: new Uint8Array(1), stats, keys, model: "m" });
 * await staged.op.commit();
 * console.log(staged.counts); // { blobChunks: 1, keyChunks: 1, lexChunks: 0 }
 * kv.close();
 * ```
 */
export async function stageData(
  kv: Deno.Kv,
  ns: string,
  id: string,
  dataKey: string,
  data: MemoryData,
): Promise<Staged> {
  const blob = chunk(data.bytes);
  const keys = chunk(encodeSearchKeys(data.keys));
  const lex = data.lexical ? chunk(encodeLexicalTerms(data.lexical)) : [];
  const writes: [Deno.KvKey, Uint8Array][] = [];
  for (const [part, chunks] of [["blob", blob], ["keys", keys], ["lex", lex]] as const) {
    chunks.forEach((c, i) => writes.push([[ROOT, ns, part, dataKey, i], c]));
  }
  const op = kv.atomic();
  let marker: Deno.KvKey | undefined;
  if (writes.length > CHUNKS_PER_COMMIT) {
    // Too big for one commit: chunks first, under a marker, then the record.
    marker = [ROOT, PENDING, dataKey];
    const pending: Pending = { ns, id, at: Date.now(), data: [dataKey] };
    await commit(kv.atomic().set(marker, pending));
    for (let i = 0; i < writes.length; i += CHUNKS_PER_COMMIT) {
      const batch = kv.atomic();
      for (const [k, v] of writes.slice(i, i + CHUNKS_PER_COMMIT)) batch.set(k, v);
      await commit(batch);
    }
    op.delete(marker);
  } else {
    for (const [k, v] of writes) op.set(k, v);
  }
  const counts = { blobChunks: blob.length, keyChunks: keys.length, lexChunks: lex.length };
  return { op, marker, counts };
}
