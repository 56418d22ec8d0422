/**
 * The Hono app: routes over an {@link Engine} (the model) and a {@link Store} (Deno KV's
 * `MemoryStore`, or any other implementation of the interface).
 * Nothing here listens on a port; `server.ts` does, and tests call `app.request(...)`.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { type R3MemApp, type ServerEnv, tenantAuth } from "./auth.ts";
import { DEFAULT_MAX_BODY_BYTES } from "./config.ts";
import type { Engine } from "./engine.ts";
import { ApiError, describeIssues, onError } from "./errors.ts";
import { deadline, defaultDeadlineMs, type RateLimit, rateLimit } from "./limits.ts";
import { mountMemoryRoutes } from "./routes_memories.ts";
import { mountSearchRoute, SearchCache } from "./routes_search.ts";
import { mountServiceRoutes } from "./routes_service.ts";
import { mountTransferRoutes } from "./routes_transfer.ts";
import { mountConversationRoutes } from "./conversations.ts";
import { finishOpenApiDocument, OPENAPI_INFO, type OpenApiDoc, renderDocsPage } from "./openapi.ts";
import { playgroundHtml } from "./playground.ts";
import type { Store } from "./store_types.ts";

/** What {@link createApp} builds the app from. */
export interface AppOptions {
  /** The model (a `WorkerPool` in the server, a `LocalEngine` in tests). */
  engine: Engine;
  /** Where memories are stored. */
  store: Store;
  /** Bearer token → namespace; empty or absent: no auth, one `default` namespace. */
  tokens?: ReadonlyMap<string, string>;
  /** Largest request body in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /**
   * Each request's deadline in ms: past it, its model work is cancelled and it gets 504
   * (default {@link defaultDeadlineMs} of the body limit: the worst case for the largest body).
   */
  deadlineMs?: number;
  /** Requests per namespace (default: no limit). */
  rateLimit?: RateLimit;
  /** Bytes of search keys and term counts kept in memory (default 256 MiB). */
  searchCacheBytes?: number;
}

export type { R3MemApp } from "./auth.ts";

/**
 * Builds the HTTP app.
 *
 * @param options Engine, store, tokens, body limit.
 * @returns The Hono app (`app.fetch` serves it; `app.request` tests it).
 *
 * @example
 * ```ts
 * import { createApp } from "./app.ts";
 * import { LocalEngine } from "./engine.ts";
 * import { MemoryStore } from "./store.ts";
 * import { R3Mem } from "../r3mem.ts";
 * import { buildRandomModel } from "../model/random_model.ts";
 * const engine = new LocalEngine(await R3Mem.load({ weights: await buildRandomModel() }));
 * const store = new MemoryStore(await Deno.openKv(":memory:"));
 * const app = createApp({ engine, store });
 * const res = await app.request("/v1/memories", {
 *   method: "POST",
 *   headers: { "Content-Type": "application/json" },
 *   body: JSON.stringify({ text: "Keep this.", metadata: { from: "docs" } }),
 * });
 * const { id } = await res.json();
 * const text = await (await app.request(`/v1/memories/${id}/text`)).json();
 * console.log(res.status, text); // 201 { text: "Keep this." }
 * store.close();
 * ```
 */
export function createApp(options: AppOptions): R3MemApp {
  const { engine, store } = options;
  const tokens = options.tokens ?? new Map<string, string>();
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const app = new OpenAPIHono<ServerEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ApiError(400, "bad_input", describeIssues(result.error.issues));
      }
    },
  });
  app.onError(onError);
  app.notFound((c) =>
    onError(new ApiError(404, "not_found", `No route ${c.req.method} ${c.req.path}`), c)
  );
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
  });

  app.use("/v1/*", tenantAuth(tokens));
  if (options.rateLimit) app.use("/v1/*", rateLimit(options.rateLimit));
  app.use("/v1/*", deadline(options.deadlineMs ?? defaultDeadlineMs(maxBodyBytes)));
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => {
        throw new ApiError(
          413,
          "too_large",
          `Request body is larger than the limit of ${maxBodyBytes} bytes`,
        );
      },
    }),
  );

  const cache = new SearchCache(store, options.searchCacheBytes);
  const forget = (ns: string, id: string) => cache.forget(ns, id);
  mountMemoryRoutes(app, { engine, store, forget });
  mountSearchRoute(app, { engine, store, cache });
  mountServiceRoutes(app, { engine, store, forget });
  mountTransferRoutes(app, { engine, store });
  mountConversationRoutes(app, { engine, conversations: store.conversations });

  const openApi = (url: string) =>
    finishOpenApiDocument(
      app.getOpenAPI31Document(OPENAPI_INFO) as OpenApiDoc,
      new URL(url).origin,
    );
  app.get("/openapi.json", (c) => c.json(openApi(c.req.url)));
  app.get("/docs", (c) => c.html(renderDocsPage(openApi(c.req.url))));
  app.get("/", (c) => {
    c.header(
      "Content-Security-Policy",
      "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'",
    );
    return c.html(playgroundHtml({ auth: tokens.size > 0 }));
  });
  return app;
}
