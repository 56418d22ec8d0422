/**
 * The background purge of expired memories: expired memories are invisible at once (the store
 * checks `expiresAt` on every read); this removes their data every few seconds.
 *
 * @module
 */
import type { Store } from "./store_types.ts";

/**
 * Runs {@link Store.purgeExpired} every `intervalMs` (and once now), one run at a time.
 *
 * @param store The store.
 * @param intervalMs Time between runs.
 * @param onError Where failures go (default `console.error`); the next run tries again.
 * @returns A function that stops the purge and waits for a run in progress.
 *
 * @example
 * ```ts
 * import { startExpiryPurge } from "./purge.ts";
 * import { MemoryStore } from "./store.ts";
 * const store = new MemoryStore(await Deno.openKv(":memory:"));
 * const stop = startExpiryPurge(store, 60_000);
 * await stop();
 * store.close();
 * ```
 */
export function startExpiryPurge(
  store: Pick<Store, "purgeExpired">,
  intervalMs: number,
  onError: (e: unknown) => void = (e) => console.error("r3mem: expiry purge failed:", e),
): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const run = () => {
    running = running.then(async () => {
      if (stopped) return;
      try {
        await store.purgeExpired();
      } catch (e) {
        onError(e);
      }
    });
  };
  run();
  const timer = setInterval(run, intervalMs);
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
