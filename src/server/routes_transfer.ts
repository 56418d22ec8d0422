/**
 * Export and import (issue 11): `GET /v1/export` streams a namespace's memories as NDJSON, one
 * memory a line (its description and the base64 `.r3m`); `POST /v1/import` stores such lines
 * back. Each imported line is validated, its `.r3m` checked and indexed by the model (search
 * keys, term counts), and stored in one store write: whole or not at all. A bad line is skipped
 * and reported by its number.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import type { R3MemApp } from "./auth.ts";
import { fromBase64, toBase64 } from "./encoding.ts";
import type { Engine } from "./engine.ts";
import { ApiError, describeIssues, type ErrorBody, toErrorResponse } from "./errors.ts";
import { expiryOf, parseFilter, ScopeFields } from "./filter_schema.ts";
import { type Filter, scopedFilter } from "./filters.ts";
import { checkMetadata, memoryInfo } from "./memory_info.ts";
import { Metadata } from "./schemas.ts";
import { exportRoute, importRoute } from "./schemas_service.ts";
import type { Store } from "./store_types.ts";

const NDJSON_TYPES = ["application/x-ndjson", "application/jsonl", "application/json"];

/** One line of an import: what an export line holds (other fields are ignored). */
const ImportLine = z.object({
  memory: z.string({ error: "memory must be a base64 string" }).min(1, "memory is empty"),
  id: z.string({ error: "id must be a string" }).regex(
    /^[A-Za-z0-9._:-]{1,128}$/,
    "id must be 1-128 letters, digits, '.', '_', ':' or '-'",
  ).optional(),
  createdAt: z.iso.datetime({ offset: true, error: "createdAt must be an ISO 8601 time" })
    .optional(),
  expiresAt: z.iso.datetime({ offset: true, error: "expiresAt must be an ISO 8601 time" })
    .optional(),
  metadata: Metadata.optional(),
  ...ScopeFields,
}, { error: "a line must be a JSON object" });

/** A line that was not imported. */
export interface SkippedLine {
  /** Its number, from 1. */
  line: number;
  /** Why. */
  error: ErrorBody["error"];
}

/**
 * Adds `GET /v1/export` and `POST /v1/import` to the app.
 *
 * @param app The app.
 * @param deps Engine and store.
 *
 * @example
 * ```ts
 * import { createTestApp, json } from "./testing.ts";
 * const t = await createTestApp(); // createApp mounts these routes
 * await t.app.request("/v1/memories", json({ text: "Exported.", user_id: "alice" }));
 * const ndjson = await (await t.app.request("/v1/export")).text();
 * const other = await createTestApp({ engine: t.engine });
 * const res = await other.app.request("/v1/import", {
 *   method: "POST", headers: { "Content-Type": "application/x-ndjson" }, body: ndjson,
 * });
 * console.log((await res.json()).imported); // 1
 * t.close();
 * other.close();
 * ```
 */
export function mountTransferRoutes(app: R3MemApp, deps: { engine: Engine; store: Store }): void {
  const { engine, store } = deps;

  // Streamed NDJSON has no typed response in @hono/zod-openapi: the routes are registered for
  // the document and validated here with the same schemas.
  app.openAPIRegistry.registerPath(exportRoute);
  app.openAPIRegistry.registerPath(importRoute);
  app.get(exportRoute.getRoutingPath(), (c) => {
    const ns = c.get("namespace");
    const query = exportRoute.request.query.safeParse(c.req.query());
    if (!query.success) throw new ApiError(400, "bad_input", describeIssues(query.error.issues));
    const { filter, ...scope } = query.data;
    const where = scopedFilter(scope, parseFilter(filter, "filter", true));
    return c.body(exportStream(store, ns, where), 200, { "Content-Type": "application/x-ndjson" });
  });

  app.post(importRoute.getRoutingPath(), async (c) => {
    const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (!NDJSON_TYPES.includes(type)) {
      throw new ApiError(
        415,
        "unsupported_media_type",
        "Send the lines of /v1/export as application/x-ndjson",
      );
    }
    const ns = c.get("namespace");
    const signal = c.get("signal");
    const lines = (await c.req.text()).split("\n");
    const ids: string[] = [];
    const skipped: SkippedLine[] = [];
    let seen = 0;
    for (const [i, text] of lines.entries()) {
      if (text.trim() === "") continue;
      seen++;
      try {
        ids.push(await importLine(text));
      } catch (e) {
        skipped.push({ line: i + 1, error: toErrorResponse(e).body.error });
      }
    }
    if (seen === 0) throw new ApiError(400, "bad_input", "Invalid request: no lines to import");
    if (ids.length === 0) {
      const first = skipped.slice(0, 5).map((s) => `line ${s.line}: ${s.error.message}`);
      if (skipped.length > 5) first.push(`and ${skipped.length - 5} more`);
      throw new ApiError(400, "bad_input", `No line was imported: ${first.join("; ")}`);
    }
    return c.json({ imported: ids.length, ids, skipped }, 200);

    async function importLine(text: string): Promise<string> {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        throw new ApiError(400, "bad_input", "Invalid request: the line is not JSON");
      }
      const parsed = ImportLine.safeParse(raw);
      if (!parsed.success) {
        throw new ApiError(400, "bad_input", describeIssues(parsed.error.issues));
      }
      const line = parsed.data;
      checkMetadata(line.metadata);
      const expiresAt = line.expiresAt === undefined
        ? undefined
        : expiryOf({ expiresAt: line.expiresAt }, Date.now()) ?? undefined;
      const bytes = fromBase64(line.memory);
      const data = await engine.index(bytes, { signal });
      const rec = await store.put(ns, {
        ...data,
        model: engine.fingerprint,
        metadata: line.metadata,
        user_id: line.user_id,
        agent_id: line.agent_id,
        run_id: line.run_id,
        expiresAt,
        id: line.id,
        createdAt: line.createdAt && new Date(line.createdAt).toISOString(),
      });
      return rec.id;
    }
  });
}

// The namespace's memories that match, one NDJSON line each (metadata and base64 `.r3m`), read
// as the client pulls; an error ends the stream with one `{error}` line.
function exportStream(
  store: Store,
  ns: string,
  where: Filter | undefined,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const records = store.records(ns, where)[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (let r = await records.next(); !r.done; r = await records.next()) {
          const bytes = await store.getBytes(ns, r.value.id);
          if (!bytes) continue; // deleted meanwhile
          const line = { ...memoryInfo(r.value), memory: toBase64(bytes) };
          controller.enqueue(encoder.encode(JSON.stringify(line) + "\n"));
          return;
        }
        controller.close();
      } catch (e) {
        controller.enqueue(encoder.encode(JSON.stringify(toErrorResponse(e).body) + "\n"));
        controller.close();
      }
    },
    async cancel() {
      await records.return?.();
    },
  });
}
