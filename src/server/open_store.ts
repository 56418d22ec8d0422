/**
 * Which store a server or edge handler opens: PostgreSQL when `R3MEM_DATABASE_URL` names one
 * (several instances share it), Deno KV otherwise (embedded, zero set-up). The PostgreSQL store
 * and its client load only when asked for, so a Deno KV server never fetches them.
 *
 * @module
 */
import { MemoryStore } from "./store.ts";
import type { Store } from "./store_types.ts";

/** Where memories live: a PostgreSQL URL, a Deno KV file, or the platform's own Deno KV. */
export interface StoreLocation {
  /** `postgres://…` (`R3MEM_DATABASE_URL`); when set, the KV settings are not used. */
  databaseUrl?: string;
  /** A Deno KV file (`R3MEM_KV_PATH`); absent: `Deno.openKv()` with no path. */
  kvPath?: string;
}

/**
 * Opens the store at `where`: connects to PostgreSQL and applies its migrations, or opens the
 * Deno KV database and settles what an interrupted write left behind.
 *
 * @param where The database.
 * @returns The store; `close()` it when done.
 * @throws {ApiError} 503 when PostgreSQL cannot be reached.
 *
 * @example
 * ```ts
 * import { openStore } from "./open_store.ts";
 * const store = await openStore({ kvPath: ":memory:" });
 * console.log(await store.get("team-a", "no-such-id")); // null
 * store.close();
 * ```
 */
export async function openStore(where: StoreLocation): Promise<Store> {
  if (where.databaseUrl) {
    const { PgStore } = await import("./postgres/store.ts");
    return await PgStore.open(where.databaseUrl);
  }
  if (where.kvPath) return await MemoryStore.open(where.kvPath);
  return new MemoryStore(await Deno.openKv());
}

/**
 * The store's name for logs and `/healthz`, without a password.
 *
 * @param where The database.
 * @returns `postgres://user@host:port/db` or the KV path.
 *
 * @example
 * ```ts
 * import { describeStore } from "./open_store.ts";
 * console.log(describeStore({ databaseUrl: "postgres://u:secret@db:5432/r3" })); // postgres://u@db:5432/r3
 * ```
 */
export function describeStore(where: StoreLocation): string {
  if (!where.databaseUrl) return where.kvPath ?? "Deno KV";
  const u = new URL(where.databaseUrl);
  u.password = "";
  return u.href;
}
