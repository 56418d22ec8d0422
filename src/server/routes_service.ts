/**
 * Routes of the service features (issue 11): update and versions, bulk delete by filter. Export
 * and import are in `./routes_transfer.ts`. Mounted by `createApp` (`./app.ts`).
 *
 * @module
 */
import type { R3MemApp } from "./auth.ts";
import type { Engine } from "./engine.ts";
import { ApiError } from "./errors.ts";
import { expiryOf, parseFilter } from "./filter_schema.ts";
import { scopedFilter } from "./filters.ts";
import { checkMetadata, memoryInfo } from "./memory_info.ts";
import {
  deleteMemoriesRoute,
  memoryHistoryRoute,
  updateMemoryRoute,
  versionTextRoute,
} from "./schemas_service.ts";
import { textResponse } from "./sse.ts";
import type { Store } from "./store_types.ts";

/** What the service routes work with. */
export interface ServiceDeps {
  /** The model. */
  engine: Engine;
  /** The store. */
  store: Store;
  /** Drops what the app caches about a memory (its search keys and term counts). */
  forget(ns: string, id: string): void;
}

/**
 * Adds `PUT /v1/memories/{id}`, `GET /v1/memories/{id}/history`,
 * `GET /v1/memories/{id}/versions/{version}/text` and `DELETE /v1/memories` to the app.
 *
 * @param app The app (its error handling and middleware already set).
 * @param deps Engine, store, cache.
 *
 * @example
 * ```ts
 * import { createTestApp, json } from "./testing.ts";
 * const t = await createTestApp(); // createApp mounts these routes
 * const { id } = await (await t.app.request("/v1/memories", json({ text: "First." }))).json();
 * await t.app.request(`/v1/memories/${id}`, json({ text: "Second." }, { method: "PUT" }));
 * const v1 = await t.app.request(`/v1/memories/${id}/versions/1/text`);
 * console.log(await v1.json()); // { text: "First." }
 * t.close();
 * ```
 */
export function mountServiceRoutes(app: R3MemApp, deps: ServiceDeps): void {
  const { engine, store, forget } = deps;

  app.openapi(updateMemoryRoute, async (c) => {
    const ns = c.get("namespace");
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const { text, metadata, lossless, slots } = body;
    if (text === undefined && (lossless !== undefined || slots !== undefined)) {
      throw new ApiError(400, "bad_input", "Invalid request: lossless and slots need a text");
    }
    if (
      text === undefined && metadata === undefined && body.ttl === undefined &&
      body.expiresAt === undefined
    ) {
      throw new ApiError(
        400,
        "bad_input",
        "Invalid request: nothing to update: give text, metadata, ttl or expiresAt",
      );
    }
    checkMetadata(metadata);
    const expiresAt = expiryOf(body, Date.now());
    if (!(await store.get(ns, id))) throw new ApiError(404, "not_found", `No memory with id ${id}`);
    const data = text === undefined ? undefined : {
      ...await engine.compress(text, { lossless, slots, signal: c.get("signal") }),
      model: engine.fingerprint,
    };
    const rec = await store.update(ns, id, { data, metadata, expiresAt });
    if (!rec) throw new ApiError(404, "not_found", `No memory with id ${id}`);
    forget(ns, id);
    return c.json(memoryInfo(rec), 200);
  });

  app.openapi(memoryHistoryRoute, async (c) => {
    const { id } = c.req.valid("param");
    const versions = await store.history(c.get("namespace"), id);
    if (!versions) throw new ApiError(404, "not_found", `No memory with id ${id}`);
    return c.json({ versions: versions.map(memoryInfo) }, 200);
  });

  app.openapi(versionTextRoute, async (c) => {
    const ns = c.get("namespace");
    const { id, version } = c.req.valid("param");
    const rec = await store.get(ns, id);
    if (!rec) throw new ApiError(404, "not_found", `No memory with id ${id}`);
    const bytes = version <= rec.version ? await store.getBytes(ns, id, version) : null;
    if (!bytes) {
      throw new ApiError(
        404,
        "not_found",
        `Memory ${id} has no version ${version} (versions 1…${rec.version})`,
      );
    }
    const { node } = c.req.valid("query");
    return await textResponse(c, engine.reconstruct(bytes, { node, signal: c.get("signal") }));
  });

  app.openapi(deleteMemoriesRoute, async (c) => {
    const ns = c.get("namespace");
    const { filter, all, ...scope } = c.req.valid("query");
    const where = scopedFilter(scope, parseFilter(filter, "filter", true));
    if (!where && all !== "true") {
      throw new ApiError(
        400,
        "bad_input",
        "Invalid request: select what to delete with user_id, agent_id, run_id or filter, " +
          "or pass all=true to delete every memory of the namespace",
      );
    }
    const ids: string[] = [];
    for await (const rec of store.records(ns, where)) ids.push(rec.id);
    let deleted = 0;
    for (const id of ids) {
      if (await store.delete(ns, id)) deleted++;
      forget(ns, id);
    }
    return c.json({ deleted }, 200);
  });
}
