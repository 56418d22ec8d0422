/**
 * The r3mem HTTP server for embedding (`@r3mem/r3mem/server`): the Hono app built around a model
 * and a store, to mount in your own server, serve with `Deno.serve`, or run as a `fetch` handler
 * at the edge. `server.ts` is the ready-made process (`deno task start`); this is its parts.
 *
 * @example Serve a model and a Deno KV store
 * ```ts ignore
 * import { R3Mem } from "@r3mem/r3mem";
 * import { createServerApp, MemoryStore } from "@r3mem/r3mem/server";
 * const app = createServerApp({
 *   model: await R3Mem.load(),
 *   store: await MemoryStore.open("./data/r3mem.kv"),
 *   tokens: new Map([["s3cret", "team-a"]]),
 * });
 * Deno.serve({ port: 8787 }, app.fetch);
 * ```
 *
 * @example At the edge (Deno Deploy, Supabase Edge Functions)
 * ```ts ignore
 * import { createEdgeHandler } from "@r3mem/r3mem/server";
 * Deno.serve(createEdgeHandler().fetch); // the model loads on the first request
 * ```
 *
 * @module
 */
import type { R3Mem } from "../r3mem.ts";
import { createApp, type R3MemApp } from "./app.ts";
import { LocalEngine } from "./engine.ts";
import type { Store } from "./store_types.ts";

export { type AppOptions, createApp, type R3MemApp } from "./app.ts";
export { type ServerEnv } from "./auth.ts";
export { configFromEnv, DEFAULT_MAX_BODY_BYTES, type ServerConfig } from "./config.ts";
export { createEdgeHandler, type EdgeHandler, type EdgeHandlerOptions } from "./edge.ts";
export {
  type Compressed,
  type Engine,
  type EngineCompressOptions,
  type EngineJobOptions,
  type EngineReconstructOptions,
  LocalEngine,
} from "./engine.ts";
export { type ApiErrorCode, type ErrorBody } from "./errors.ts";
export { MemoryStore, type StoredMemory } from "./store.ts";
export { deadline, defaultDeadlineMs, type RateLimit, rateLimit } from "./limits.ts";
export { type MemoryInfo, memoryInfo } from "./memory_info.ts";
export { startExpiryPurge } from "./purge.ts";
export type { LexicalTerms } from "../search/lexical.ts";
export type { MemoryStats } from "../codec/memory.ts";
export type {
  ListOptions,
  MemoryChange,
  MemoryData,
  MemoryRecord,
  NewMemory,
  Page,
  Scope,
  Store,
} from "./store_types.ts";
export {
  type DateCondition,
  type Filter,
  type FilterableRecord,
  matchesFilter,
  type Scalar,
  scopedFilter,
  type StringCondition,
  type ValueCondition,
} from "./filters.ts";
export { type SearchKeys } from "./search_index.ts";
export { WorkerPool, type WorkerPoolOptions } from "./worker_pool.ts";

/** Options of {@link createServerApp}. */
export interface ServerAppOptions {
  /** The loaded model (`R3Mem.load(...)`); it runs on the thread that serves. */
  model: R3Mem;
  /** Where memories are stored. */
  store: Store;
  /** Bearer token → namespace; empty or absent: no auth, one `default` namespace. */
  tokens?: ReadonlyMap<string, string>;
  /** Largest request body in bytes (default 1 MiB). */
  maxBodyBytes?: number;
}

/**
 * Builds the HTTP app (every route of `docs/SERVER.md`) around a model and a store. For inference
 * off the serving thread, give {@link createApp} a {@link WorkerPool} as its engine instead.
 *
 * @param options Model, store, tokens, body limit.
 * @returns The Hono app: `app.fetch` serves it, `app.request` tests it.
 *
 * @example
 * ```ts
 * import { R3Mem } from "../../mod.ts";
 * import { buildRandomModel } from "../model/random_model.ts";
 * import { createServerApp, MemoryStore } from "./mod.ts";
 * const store = new MemoryStore(await Deno.openKv(":memory:"));
 * const app = createServerApp({ model: await R3Mem.load({ weights: await buildRandomModel() }), store });
 * const res = await app.request("/v1/compress", {
 *   method: "POST",
 *   headers: { "Content-Type": "application/json" },
 *   body: JSON.stringify({ text: "Keep this." }),
 * });
 * console.log(res.status); // 200
 * store.close();
 * ```
 */
export function createServerApp(options: ServerAppOptions): R3MemApp {
  return createApp({
    engine: new LocalEngine(options.model),
    store: options.store,
    tokens: options.tokens,
    maxBodyBytes: options.maxBodyBytes,
  });
}
