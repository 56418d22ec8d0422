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
import { fromBase64, toBase64 } from "./encoding.ts";
import { ApiError, describeIssues, onError } from "./errors.ts";
import { expiryOf, parseFilter } from "./filter_schema.ts";
import { scopedFilter } from "./filters.ts";
import { checkMetadata, memoryInfo } from "./memory_info.ts";
import { deadline, defaultDeadlineMs, type RateLimit, rateLimit } from "./limits.ts";
import { mountSearchRoute, SearchCache } from "./routes_search.ts";
import { mountServiceRoutes } from "./routes_service.ts";
import { mountTransferRoutes } from "./routes_transfer.ts";
import { mountConversationRoutes } from "./conversations.ts";
import { finishOpenApiDocument, OPENAPI_INFO, type OpenApiDoc, renderDocsPage } from "./openapi.ts";
import { playgroundHtml } from "./playground.ts";
import {
  compressRoute,
  createMemoryRoute,
  deleteMemoryRoute,
  getMemoryRoute,
  healthRoute,
  listMemoriesRoute,
  memoryTextRoute,
  reconstructRoute,
} from "./schemas.ts";
import { textResponse } from "./sse.ts";
import type { MemoryRecord, Store } from "./store_types.ts";

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
  const mustGet = async (ns: string, id: string): Promise<MemoryRecord> => {
    const rec = await store.get(ns, id);
    if (!rec) throw new ApiError(404, "not_found", `No memory with id ${id}`);
    return rec;
  };
  const info = memoryInfo;

  app.openapi(healthRoute, (c) => {
    const pool = engine as Partial<{ size: number; queued: number }>;
    return c.json({
      ok: true,
      model: engine.fingerprint,
      backend: engine.backend,
      workers: pool.size,
      queued: pool.queued,
    }, 200);
  });

  app.openapi(compressRoute, async (c) => {
    const { text, lossless, slots, refine } = c.req.valid("json");
    const signal = c.get("signal");
    const { bytes, stats } = await engine.compress(text, { lossless, slots, refine, signal });
    return c.json({ memory: toBase64(bytes), stats }, 200);
  });

  app.openapi(reconstructRoute, async (c) => {
    const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
    let bytes: Uint8Array;
    if (type === "application/octet-stream") {
      bytes = new Uint8Array(await c.req.arrayBuffer());
    } else {
      const body = c.req.valid("json") as { memory?: string };
      if (!body.memory) {
        throw new ApiError(
          400,
          "bad_input",
          'Send {"memory": base64} as application/json, or the .r3m bytes as ' +
            "application/octet-stream",
        );
      }
      bytes = fromBase64(body.memory);
    }
    if (bytes.length === 0) throw new ApiError(400, "bad_input", "The memory is empty");
    const { node } = c.req.valid("query");
    return await textResponse(c, engine.reconstruct(bytes, { node, signal: c.get("signal") }));
  });

  app.openapi(createMemoryRoute, async (c) => {
    const body = c.req.valid("json");
    const { text, metadata, lossless, slots, refine, user_id, agent_id, run_id } = body;
    checkMetadata(metadata);
    const expiresAt = expiryOf(body, Date.now()) ?? undefined;
    const compressed = await engine.compress(text, {
      lossless,
      slots,
      refine,
      signal: c.get("signal"),
    });
    const rec = await store.put(c.get("namespace"), {
      ...compressed,
      model: engine.fingerprint,
      metadata,
      user_id,
      agent_id,
      run_id,
      expiresAt,
    });
    c.header("Location", `/v1/memories/${rec.id}`);
    return c.json({ id: rec.id, createdAt: rec.createdAt, stats: rec.stats }, 201);
  });

  app.openapi(listMemoriesRoute, async (c) => {
    const { limit, cursor, filter, ...scope } = c.req.valid("query");
    const where = scopedFilter(scope, parseFilter(filter, "filter", true));
    const page = await store.list(c.get("namespace"), { limit, cursor, filter: where });
    return c.json({ memories: page.memories.map(info), cursor: page.cursor }, 200);
  });

  app.openapi(getMemoryRoute, async (c) => {
    return c.json(info(await mustGet(c.get("namespace"), c.req.valid("param").id)), 200);
  });

  app.openapi(memoryTextRoute, async (c) => {
    const ns = c.get("namespace");
    const { id } = c.req.valid("param");
    await mustGet(ns, id);
    const bytes = await store.getBytes(ns, id);
    if (!bytes) throw new ApiError(404, "not_found", `No memory with id ${id}`);
    const { node } = c.req.valid("query");
    return await textResponse(c, engine.reconstruct(bytes, { node, signal: c.get("signal") }));
  });

  app.openapi(deleteMemoryRoute, async (c) => {
    const ns = c.get("namespace");
    const { id } = c.req.valid("param");
    if (!(await store.delete(ns, id))) {
      throw new ApiError(404, "not_found", `No memory with id ${id}`);
    }
    forget(ns, id);
    return c.body(null, 204);
  });

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
