/**
 * Byte chunks in Deno KV for `MemoryStore` (`./store.ts`): a memory's `.r3m` bytes, search keys
 * and term counts are cut under Deno KV's 64 KiB value limit and written, read and deleted by
 * key prefix. Private to the KV store.
 *
 * @module
 */

/**
 * Bytes per chunk: under Deno KV's 64 KiB value limit.
 *
 * @example
 * ```ts
 * import { CHUNK_BYTES } from "./store_chunks.ts";
 * console.log(CHUNK_BYTES < 65536); // true
 * ```
 */
export const CHUNK_BYTES = 60_000;

/**
 * Chunks per atomic commit: well under the 800 KiB a commit may write.
 *
 * @example
 * ```ts
 * import { CHUNKS_PER_COMMIT } from "./store_chunks.ts";
 * console.log(CHUNKS_PER_COMMIT); // 10
 * ```
 */
export const CHUNKS_PER_COMMIT = 10;

/**
 * Cuts bytes into chunks of at most {@link CHUNK_BYTES} (one empty chunk for no bytes).
 *
 * @param bytes The bytes.
 * @returns The chunks, in order.
 *
 * @example
 * ```ts
 * import { chunk, CHUNK_BYTES } from "./store_chunks.ts";
 * console.log(chunk(new Uint8Array(CHUNK_BYTES + 1)).map((c) => c.length)); // [ 60000, 1 ]
 * ```
 */
export function chunk(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += CHUNK_BYTES) out.push(bytes.slice(i, i + CHUNK_BYTES));
  return out.length ? out : [new Uint8Array(0)];
}

/**
 * Reads the chunks under a prefix back into one array.
 *
 * @param kv The database.
 * @param prefix The chunks' key prefix.
 * @param count How many chunks there must be.
 * @returns The bytes, or null when the count differs (deleted while reading).
 *
 * @example
 * ```ts
 * import { readChunks } from "./store_chunks.ts";
 * const kv = await Deno.openKv(":memory:");
 * await kv.set(["b", 0], new Uint8Array([1, 2]));
 * await kv.set(["b", 1], new Uint8Array([3]));
 * console.log(await readChunks(kv, ["b"], 2)); // Uint8Array(3) [ 1, 2, 3 ]
 * kv.close();
 * ```
 */
export async function readChunks(
  kv: Deno.Kv,
  prefix: Deno.KvKey,
  count: number,
): Promise<Uint8Array | null> {
  const parts: Uint8Array[] = [];
  for await (const e of kv.list<Uint8Array>({ prefix })) parts.push(e.value);
  if (parts.length !== count) return null;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}

/**
 * Deletes every key under the prefixes, in commits of bounded size.
 *
 * @param kv The database.
 * @param prefixes Key prefixes.
 * @returns How many keys were deleted.
 *
 * @example
 * ```ts
 * import { deletePrefixes } from "./store_chunks.ts";
 * const kv = await Deno.openKv(":memory:");
 * await kv.set(["b", "x", 0], 1);
 * await kv.set(["k", "x", 0], 1);
 * console.log(await deletePrefixes(kv, [["b", "x"], ["k", "x"]])); // 2
 * kv.close();
 * ```
 */
export async function deletePrefixes(kv: Deno.Kv, prefixes: Deno.KvKey[]): Promise<number> {
  const keys: Deno.KvKey[] = [];
  for (const prefix of prefixes) {
    for await (const e of kv.list({ prefix })) keys.push(e.key);
  }
  for (let i = 0; i < keys.length; i += CHUNKS_PER_COMMIT * 10) {
    const op = kv.atomic();
    for (const k of keys.slice(i, i + CHUNKS_PER_COMMIT * 10)) op.delete(k);
    await commit(op);
  }
  return keys.length;
}

/**
 * Commits, or throws when a check failed.
 *
 * @param op The atomic operation.
 * @throws {Error} When a check failed.
 *
 * @example
 * ```ts
 * import { commit } from "./store_chunks.ts";
 * const kv = await Deno.openKv(":memory:");
 * await commit(kv.atomic().set(["a"], 1));
 * console.log((await kv.get(["a"])).value); // 1
 * kv.close();
 * ```
 */
export async function commit(op: Deno.AtomicOperation): Promise<void> {
  const res = await op.commit();
  if (!res.ok) throw new Error("Deno KV commit failed a check");
}
