/**
 * Route definitions of the service features (issue 11): update and versions, bulk delete,
 * export and import. Same conventions as `./schemas.ts`, whose building blocks they share.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import { ExpiryFields, ScopeFields } from "./filter_schema.ts";
import {
  bearer,
  errors,
  FilterQuery,
  IdParams,
  MemoryInfoSchema,
  Metadata,
  Slots,
  Text,
  TextStream,
} from "./schemas.ts";

/**
 * `PUT /v1/memories/{id}`.
 *
 * @example
 * ```ts
 * import { updateMemoryRoute } from "./schemas_service.ts";
 * console.log(updateMemoryRoute.method, updateMemoryRoute.path); // put /v1/memories/{id}
 * ```
 */
export const updateMemoryRoute = createRoute({
  method: "put",
  path: "/v1/memories/{id}",
  summary: "Write a new version of a memory",
  description: "A new `text` is compressed and replaces the content; `metadata` replaces the " +
    "metadata; `ttl`/`expiresAt` set the expiry (`expiresAt: null` removes it). What is absent " +
    "stays. Earlier versions stay readable (`/history`, `/versions/{version}/text`); search " +
    "finds the current one.",
  security: bearer,
  request: {
    params: IdParams,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({
            text: Text.optional(),
            metadata: Metadata.optional(),
            lossless: z.boolean({ error: "lossless must be a boolean" }).optional(),
            slots: Slots,
            ...ExpiryFields,
          }),
        },
      },
    },
  },
  responses: {
    200: {
      description: "The new version",
      content: { "application/json": { schema: MemoryInfoSchema } },
    },
    ...errors(400, 401, 404, 409, 413, 415, 429, 503, 504),
  },
});

/**
 * `GET /v1/memories/{id}/history`.
 *
 * @example
 * ```ts
 * import { memoryHistoryRoute } from "./schemas_service.ts";
 * console.log(memoryHistoryRoute.path); // /v1/memories/{id}/history
 * ```
 */
export const memoryHistoryRoute = createRoute({
  method: "get",
  path: "/v1/memories/{id}/history",
  summary: "Every version of a memory, oldest first (the last is current)",
  security: bearer,
  request: { params: IdParams },
  responses: {
    200: {
      description: "The versions",
      content: {
        "application/json": { schema: z.object({ versions: z.array(MemoryInfoSchema) }) },
      },
    },
    ...errors(401, 404, 429),
  },
});

/**
 * `GET /v1/memories/{id}/versions/{version}/text`.
 *
 * @example
 * ```ts
 * import { versionTextRoute } from "./schemas_service.ts";
 * console.log(versionTextRoute.path); // /v1/memories/{id}/versions/{version}/text
 * ```
 */
export const versionTextRoute = createRoute({
  method: "get",
  path: "/v1/memories/{id}/versions/{version}/text",
  summary: "The exact text of one version of a memory",
  security: bearer,
  request: {
    params: z.object({
      id: z.string().openapi({ param: { name: "id", in: "path" } }),
      version: z.coerce.number({ error: "version must be a number" }).int(
        "version must be an integer",
      ).min(1, "version must be at least 1").openapi({
        param: { name: "version", in: "path" },
      }),
    }),
    query: z.object({
      node: z.coerce.number().int().min(0).optional().openapi({
        param: { name: "node", in: "query" },
      }),
    }),
  },
  responses: {
    200: {
      description: "The text",
      content: { "application/json": { schema: z.object({ text: z.string() }) }, ...TextStream },
    },
    ...errors(400, 401, 404, 422, 429, 503, 504),
  },
});

const SelectQuery = z.object({
  ...ScopeFields,
  filter: FilterQuery,
});

/**
 * `DELETE /v1/memories` (by filter).
 *
 * @example
 * ```ts
 * import { deleteMemoriesRoute } from "./schemas_service.ts";
 * console.log(deleteMemoriesRoute.method, deleteMemoriesRoute.path); // delete /v1/memories
 * ```
 */
export const deleteMemoriesRoute = createRoute({
  method: "delete",
  path: "/v1/memories",
  summary: "Delete every memory that matches",
  description: "Selects with `user_id`, `agent_id`, `run_id` and `filter` (JSON), as listing " +
    "does; with none of them, `all=true` is required. Each memory is deleted atomically.",
  security: bearer,
  request: {
    query: SelectQuery.extend({
      all: z.enum(["true"], { error: 'all must be "true"' }).optional().openapi({
        param: { name: "all", in: "query" },
        description: "Required to delete every memory of the namespace",
      }),
    }),
  },
  responses: {
    200: {
      description: "How many were deleted",
      content: { "application/json": { schema: z.object({ deleted: z.number().int() }) } },
    },
    ...errors(400, 401, 429),
  },
});

/**
 * `GET /v1/export`.
 *
 * @example
 * ```ts
 * import { exportRoute } from "./schemas_service.ts";
 * console.log(exportRoute.path); // /v1/export
 * ```
 */
export const exportRoute = createRoute({
  method: "get",
  path: "/v1/export",
  summary: "Stream the memories as NDJSON",
  description: "One memory a line, oldest first: its description (current version) and " +
    "`memory`, the base64 `.r3m`. Select with `user_id`, `agent_id`, `run_id` and `filter` as " +
    "listing does. `POST /v1/import` takes the lines back.",
  security: bearer,
  request: { query: SelectQuery },
  responses: {
    200: {
      description: "NDJSON, one memory a line",
      content: {
        "application/x-ndjson": {
          schema: z.string().openapi({
            description: "Lines of MemoryInfo fields plus `memory` (base64 .r3m)",
          }),
        },
      },
    },
    ...errors(400, 401, 429),
  },
});

/**
 * `POST /v1/import`.
 *
 * @example
 * ```ts
 * import { importRoute } from "./schemas_service.ts";
 * console.log(importRoute.path); // /v1/import
 * ```
 */
export const importRoute = createRoute({
  method: "post",
  path: "/v1/import",
  summary: "Store memories from NDJSON (what /v1/export writes)",
  description: "Each line is one memory: `memory` (base64 .r3m of the model served) and " +
    "optionally `id` (kept when free), `createdAt`, `metadata`, `user_id`, `agent_id`, " +
    "`run_id`, `expiresAt`. A bad line (malformed JSON, wrong types, a damaged or foreign " +
    ".r3m, a taken id, an expiry passed) is skipped and reported by number; each good line is " +
    "stored whole or not at all. When no line is good the answer is a 400 naming them.",
  security: bearer,
  request: {
    body: {
      required: true,
      content: {
        "application/x-ndjson": { schema: z.string().openapi({ description: "NDJSON" }) },
      },
    },
  },
  responses: {
    200: {
      description: "What was stored and what was skipped",
      content: {
        "application/json": {
          schema: z.object({
            imported: z.number().int(),
            ids: z.array(z.string()),
            skipped: z.array(z.object({
              line: z.number().int().openapi({ description: "1-based line number" }),
              error: z.object({ code: z.string(), message: z.string() }),
            })),
          }),
        },
      },
    },
    ...errors(400, 401, 413, 415, 429, 503, 504),
  },
});
