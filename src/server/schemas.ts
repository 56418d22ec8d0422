/**
 * The HTTP API's route definitions for memories, compression and search (Zod, via
 * `@hono/zod-openapi`): the same objects validate requests and generate `/openapi.json`. The
 * shared pieces are in `./schemas_common.ts`, re-exported here.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import { ExpiryFields, ScopeFields } from "./filter_schema.ts";

import {
  bearer,
  errors,
  FilterBody,
  FilterQuery,
  IdParams,
  MAX_K,
  MemoryInfoSchema,
  Metadata,
  Refine,
  Slots,
  StatsSchema,
  Text,
  TextStream,
  typed,
} from "./schemas_common.ts";

export * from "./schemas_common.ts";

/**
 * `GET /healthz`.
 *
 * @example
 * ```ts
 * import { healthRoute } from "./schemas.ts";
 * console.log(healthRoute.method, healthRoute.path);
 * ```
 */
export const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  summary: "Liveness and the model served",
  responses: {
    200: {
      description: "Serving",
      content: {
        "application/json": {
          schema: z.object({
            ok: z.boolean(),
            model: z.string().openapi({ description: "Fingerprint of the weights" }),
            backend: z.string(),
            workers: z.number().int().optional(),
            queued: z.number().int().optional(),
          }),
        },
      },
    },
  },
});

/**
 * `POST /v1/compress`.
 *
 * @example
 * ```ts
 * import { compressRoute } from "./schemas.ts";
 * console.log(compressRoute.method, compressRoute.path);
 * ```
 */
export const compressRoute = createRoute({
  method: "post",
  path: "/v1/compress",
  summary: "Compress text into a memory (nothing is stored)",
  security: bearer,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({
            text: Text,
            lossless: z.boolean({ error: "lossless must be a boolean" }).optional().openapi({
              description: "Keep the residual that restores the exact text (default true)",
            }),
            slots: Slots,
            refine: Refine,
          }),
        },
      },
    },
  },
  responses: {
    200: {
      description: "The memory",
      content: {
        "application/json": {
          schema: z.object({
            memory: z.string().openapi({ description: "The .r3m bytes, base64" }),
            stats: StatsSchema,
          }),
        },
      },
    },
    ...errors(400, 401, 413, 415, 503),
  },
});

/**
 * `POST /v1/reconstruct`.
 *
 * @example
 * ```ts
 * import { reconstructRoute } from "./schemas.ts";
 * console.log(reconstructRoute.method, reconstructRoute.path);
 * ```
 */
export const reconstructRoute = createRoute({
  method: "post",
  path: "/v1/reconstruct",
  summary: "Reconstruct the text of a memory",
  description: "Send `{memory}` (base64 .r3m) as JSON, or the .r3m bytes as " +
    "`application/octet-stream`. `node` picks one node (default 0, the whole text).",
  security: bearer,
  request: {
    query: z.object({
      node: z.coerce.number().int().min(0).optional().openapi({
        param: { name: "node", in: "query" },
      }),
    }),
    body: {
      required: false,
      content: {
        "application/json": {
          schema: z.object({
            memory: z.string({ error: typed("memory", "a base64 string") }).min(
              1,
              "memory must not be empty",
            ),
          }),
        },
        "application/octet-stream": {
          schema: z.any().openapi({ type: "string", format: "binary" }),
        },
      },
    },
  },
  responses: {
    200: {
      description: "The text",
      content: { "application/json": { schema: z.object({ text: z.string() }) }, ...TextStream },
    },
    ...errors(400, 401, 413, 415, 422, 503),
  },
});

/**
 * `POST /v1/memories`.
 *
 * @example
 * ```ts
 * import { createMemoryRoute } from "./schemas.ts";
 * console.log(createMemoryRoute.method, createMemoryRoute.path);
 * ```
 */
export const createMemoryRoute = createRoute({
  method: "post",
  path: "/v1/memories",
  summary: "Compress and store text",
  security: bearer,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({
            text: Text,
            metadata: Metadata.optional(),
            lossless: z.boolean({ error: "lossless must be a boolean" }).optional(),
            slots: Slots,
            refine: Refine,
            ...ScopeFields,
            ...ExpiryFields,
          }),
        },
      },
    },
  },
  responses: {
    201: {
      description: "Stored (durably)",
      content: {
        "application/json": {
          schema: z.object({ id: z.string(), createdAt: z.string(), stats: StatsSchema }),
        },
      },
    },
    ...errors(400, 401, 413, 415, 503),
  },
});

/**
 * `GET /v1/memories`.
 *
 * @example
 * ```ts
 * import { listMemoriesRoute } from "./schemas.ts";
 * console.log(listMemoriesRoute.method, listMemoriesRoute.path);
 * ```
 */
export const listMemoriesRoute = createRoute({
  method: "get",
  path: "/v1/memories",
  summary: "List stored memories, oldest first",
  security: bearer,
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).optional().openapi({
        param: { name: "limit", in: "query" },
        description: "Page size, 1…100 (default 20)",
      }),
      cursor: z.string().optional().openapi({
        param: { name: "cursor", in: "query" },
        description: "The `cursor` of the previous page",
      }),
      ...ScopeFields,
      filter: FilterQuery,
    }),
  },
  responses: {
    200: {
      description: "One page",
      content: {
        "application/json": {
          schema: z.object({
            memories: z.array(MemoryInfoSchema),
            cursor: z.string().nullable().openapi({ description: "Null on the last page" }),
          }),
        },
      },
    },
    ...errors(400, 401),
  },
});

/**
 * `GET /v1/memories/{id}`.
 *
 * @example
 * ```ts
 * import { getMemoryRoute } from "./schemas.ts";
 * console.log(getMemoryRoute.method, getMemoryRoute.path);
 * ```
 */
export const getMemoryRoute = createRoute({
  method: "get",
  path: "/v1/memories/{id}",
  summary: "A stored memory's metadata and stats",
  security: bearer,
  request: { params: IdParams },
  responses: {
    200: { description: "Found", content: { "application/json": { schema: MemoryInfoSchema } } },
    ...errors(401, 404),
  },
});

/**
 * `GET /v1/memories/{id}/text`.
 *
 * @example
 * ```ts
 * import { memoryTextRoute } from "./schemas.ts";
 * console.log(memoryTextRoute.method, memoryTextRoute.path);
 * ```
 */
export const memoryTextRoute = createRoute({
  method: "get",
  path: "/v1/memories/{id}/text",
  summary: "The reconstructed text of a stored memory",
  security: bearer,
  request: {
    params: IdParams,
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
    ...errors(400, 401, 404, 422, 503),
  },
});

/**
 * `DELETE /v1/memories/{id}`.
 *
 * @example
 * ```ts
 * import { deleteMemoryRoute } from "./schemas.ts";
 * console.log(deleteMemoryRoute.method, deleteMemoryRoute.path);
 * ```
 */
export const deleteMemoryRoute = createRoute({
  method: "delete",
  path: "/v1/memories/{id}",
  summary: "Delete a stored memory",
  security: bearer,
  request: { params: IdParams },
  responses: {
    204: { description: "Deleted" },
    ...errors(401, 404),
  },
});

/**
 * `POST /v1/search`.
 *
 * @example
 * ```ts
 * import { searchRoute } from "./schemas.ts";
 * console.log(searchRoute.method, searchRoute.path);
 * ```
 */
export const searchRoute = createRoute({
  method: "post",
  path: "/v1/search",
  summary: "Search the namespace's stored memories",
  security: bearer,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({
            query: z.string({ error: typed("query", "a string") }).min(
              1,
              "query must not be empty",
            ),
            k: z.number({ error: "k must be a number" }).int("k must be an integer").min(1).max(
              MAX_K,
            ).optional().openapi({ description: `Hits to return, 1…${MAX_K} (default 5)` }),
            levels: z.array(z.enum(["document", "paragraph", "sentence"])).optional().openapi({
              description: "Only nodes of these levels (default all)",
            }),
            ...ScopeFields,
            filter: FilterBody,
            mode: z.enum(["hybrid", "keys", "lexical"], {
              error: 'mode must be "hybrid", "keys" or "lexical"',
            }).optional().openapi({
              description: 'How nodes are ranked. "hybrid" (default): reciprocal-rank fusion ' +
                "(k = 1) of memory keys and BM25 over the stored memories' words; " +
                '"keys": memory keys alone; "lexical": BM25 alone. Lossy memories have no ' +
                "words: they are ranked by their keys",
            }),
          }),
        },
      },
    },
  },
  responses: {
    200: {
      description: "Best nodes first",
      content: {
        "application/json": {
          schema: z.object({
            hits: z.array(z.object({
              id: z.string(),
              node: z.number().int(),
              level: z.enum(["document", "paragraph", "sentence"]),
              score: z.number().openapi({
                description: 'The ranking\'s score: fused Σ 1/(1 + rank) ("hybrid"), cosine ' +
                  'of memory keys ("keys"), BM25 ("lexical")',
              }),
              keyScore: z.number().optional().openapi({
                description: "Hybrid: the cosine of memory keys, when keys rank the node",
              }),
              lexicalScore: z.number().optional().openapi({
                description: "Hybrid: the BM25 score, when the node shares a word with the query",
              }),
              match: z.number().int().openapi({
                description: "The node whose memory (or text) matched best: `node` or one of " +
                  "its descendants",
              }),
              text: z.string(),
              metadata: z.record(z.string(), z.unknown()),
            })),
          }),
        },
      },
    },
    ...errors(400, 401, 413, 415, 503),
  },
});
