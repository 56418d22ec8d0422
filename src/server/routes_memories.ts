/**
 * The core routes: `GET /healthz`, `POST /v1/compress`, `POST /v1/reconstruct`, and memories —
 * `POST /v1/memories`, `GET /v1/memories` (paged, filtered), `GET /v1/memories/{id}`, its text,
 * `DELETE`. Mounted by `createApp` (`./app.ts`); search, versions, bulk delete, export/import and
 * conversations have modules of their own.
 *
 * @module
 */
import type { R3MemApp } from "./auth.ts";
import type { Engine } from "./engine.ts";
import { fromBase64, toBase64 } from "./encoding.ts";
import { ApiError } from "./errors.ts";
import { expiryOf, parseFilter } from "./filter_schema.ts";
import { scopedFilter } from "./filters.ts";
import { checkMetadata, memoryInfo } from "./memory_info.ts";
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

/** What the core routes work with. */
export interface MemoryRouteDeps {
  /** The model. */
  engine: Engine;
  /** The store. */
  store: Store;
  /** Drops what the app caches about a memory (its search keys and term counts). */
  forget(ns: string, id: string): void;
}

/**
 * Adds the health, compress, reconstruct and memory routes to the app.
 *
 * @param app The app (its error handling and middleware already set).
 * @param deps Engine, store, cache.
 *
 * @example
 * ```ts
 * import { createTestApp } from "./testing.ts";
 * const t = await createTestApp(); // createApp mounts these routes
 * console.log((await t.app.request("/healthz")).status); // 200
 * t.close();
 * ```
 */
export function mountMemoryRoutes(app: R3MemApp, deps: MemoryRouteDeps): void {
  // Registered in this order (health, compress, reconstruct, then the stored memories), which
  // the OpenAPI document lists them in.
  mountModelRoutes(app, deps.engine);
  mountStoredMemoryRoutes(app, deps);
}

// The routes that only need the model: health, compress, reconstruct.
function mountModelRoutes(app: R3MemApp, engine: Engine): void {
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
}

// The routes of the stored memories: create, list, get, text, delete.
function mountStoredMemoryRoutes(app: R3MemApp, deps: MemoryRouteDeps): void {
  const { engine, store, forget } = deps;
  const mustGet = async (ns: string, id: string): Promise<MemoryRecord> => {
    const rec = await store.get(ns, id);
    if (!rec) throw new ApiError(404, "not_found", `No memory with id ${id}`);
    return rec;
  };
  const info = memoryInfo;

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
}
