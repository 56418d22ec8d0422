/**
 * The server as one `fetch` handler, for runtimes that call a handler instead of running a
 * process: `deno serve server.ts`, Deno Deploy, Supabase Edge Functions. Nothing happens until
 * the first request; that request loads the model on the same thread (edge runtimes give one
 * isolate: no worker pool) and opens the store; later requests reuse both. A failed start is
 * answered 503 `unavailable` and retried on the next request.
 *
 * @module
 */
import { R3Mem } from "../r3mem.ts";
import { createApp } from "./app.ts";
import { configFromEnv } from "./config.ts";
import { LocalEngine } from "./engine.ts";
import type { ErrorBody } from "./errors.ts";
import { openStore } from "./open_store.ts";
import type { Store } from "./store_types.ts";

/** Options of {@link createEdgeHandler}. */
export interface EdgeHandlerOptions {
  /**
   * Variable lookup (default `Deno.env.get`): `R3MEM_WEIGHTS`, `R3MEM_TOKENS`,
   * `R3MEM_MAX_BODY_BYTES`, `R3MEM_BACKEND` as `server.ts` reads them, `R3MEM_DATABASE_URL`
   * (PostgreSQL) and `R3MEM_KV_PATH` (unset: the platform's own Deno KV, `Deno.openKv()`).
   */
  env?: (name: string) => string | undefined;
  /** Opens the store instead of Deno KV (for runtimes without it, or another database). */
  openStore?: () => Promise<Store>;
}

/** A `fetch` handler, the shape `deno serve` and Deno Deploy take as a default export. */
export interface EdgeHandler {
  /** Answers one request (the first one loads the model and opens the store). */
  fetch(request: Request): Promise<Response>;
}

/**
 * Builds a lazily started handler.
 *
 * @param options Environment lookup and store.
 * @returns The handler: `export default createEdgeHandler()` or `Deno.serve(handler.fetch)`.
 *
 * @example
 * ```ts
 * import { createEdgeHandler } from "./edge.ts";
 * import { MemoryStore } from "./store.ts";
 * const handler = createEdgeHandler({
 *   env: () => undefined, // the embedded default model, no tokens
 *   openStore: async () => new MemoryStore(await Deno.openKv(":memory:")),
 * });
 * const res = await handler.fetch(new Request("http://localhost/healthz"));
 * console.log(res.status, (await res.json()).ok); // 200 true
 * ```
 */
export function createEdgeHandler(options: EdgeHandlerOptions = {}): EdgeHandler {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  let app: Promise<(request: Request) => Response | Promise<Response>> | undefined;
  const start = async () => {
    const config = configFromEnv((name) => name === "R3MEM_WORKERS" ? "1" : env(name));
    const r3 = await R3Mem.load({ weights: config.weights, backend: config.backend });
    const store = options.openStore ? await options.openStore() : await openStore({
      // configFromEnv defaults the KV path for servers; here unset means the platform's KV.
      kvPath: env("R3MEM_KV_PATH") || undefined,
      databaseUrl: config.databaseUrl,
    });
    const hono = createApp({
      engine: new LocalEngine(r3),
      store,
      tokens: config.tokens,
      maxBodyBytes: config.maxBodyBytes,
      deadlineMs: config.deadlineMs,
      rateLimit: config.rateLimit,
    });
    return (request: Request) => hono.fetch(request);
  };
  return {
    async fetch(request: Request): Promise<Response> {
      app ??= start().catch((e) => {
        app = undefined; // the next request tries again
        throw e;
      });
      let handle: (request: Request) => Response | Promise<Response>;
      try {
        handle = await app;
      } catch (e) {
        console.error("r3mem: could not start:", e);
        const body: ErrorBody = {
          error: {
            code: "unavailable",
            message: `The server could not start: ${e instanceof Error ? e.message : e}`,
          },
        };
        return Response.json(body, { status: 503 });
      }
      return await handle(request);
    },
  };
}
