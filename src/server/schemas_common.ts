/**
 * The API's shared schemas (Zod, via `@hono/zod-openapi`): errors, stats, the text, slots,
 * refine and metadata fields, memory info, filters, ids, streamed text. The routes that use them
 * are in `./schemas.ts` (which re-exports these), `./schemas_service.ts` and
 * `./conversation_schemas.ts`.
 *
 * @module
 */
import { MAX_REFINE_STEPS } from "../refine_budget.ts";
import { z } from "@hono/zod-openapi";

/**
 * Largest metadata object accepted, as JSON bytes.
 *
 * @example
 * ```ts
 * import { MAX_METADATA_BYTES } from "./schemas_common.ts";
 * console.log(MAX_METADATA_BYTES); // 16384
 * ```
 */
export const MAX_METADATA_BYTES = 16 * 1024;

/**
 * Largest `k` of a search.
 *
 * @example
 * ```ts
 * import { MAX_K } from "./schemas_common.ts";
 * console.log(MAX_K); // 50
 * ```
 */
export const MAX_K = 50;

/** Operations that need a token name the `bearer` scheme. */
export const bearer: { bearer: string[] }[] = [{ bearer: [] }];

/**
 * `{ error: { code, message } }`: every error response.
 *
 * @example
 * ```ts
 * import { ErrorSchema } from "./schemas_common.ts";
 * console.log(ErrorSchema.safeParse({ error: { code: "not_found", message: "No memory" } }).success); // true
 * ```
 */
export const ErrorSchema = z.object({
  error: z.object({
    code: z.string().openapi({ example: "bad_input" }),
    message: z.string().openapi({ example: "Invalid request: text: Text must not be empty" }),
  }),
}).openapi("Error");

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Malformed JSON, wrong types, missing or empty fields",
  401: "No token or an unknown one",
  404: "No such memory in this namespace",
  409: "A conflicting write (the id exists, or the memory changed meanwhile)",
  413: "Body (or metadata) over the limit",
  415: "Unsupported content type",
  422: "A damaged .r3m, or one written by another model",
  429: "Over the namespace's rate limit (see Retry-After)",
  503: "Too many jobs waiting",
  504: "The request's deadline passed; its work was cancelled",
};

/**
 * The error responses of an operation, by status.
 *
 * @example
 * ```ts
 * import { errors } from "./schemas_common.ts";
 * console.log(Object.keys(errors(400, 404))); // [ "400", "404" ]
 * ```
 */
export const errors = (...statuses: number[]): Record<string, {
  description: string;
  content: { "application/json": { schema: typeof ErrorSchema } };
}> =>
  Object.fromEntries(statuses.map((s) => [s, {
    description: ERROR_DESCRIPTIONS[s] ?? "Error",
    content: { "application/json": { schema: ErrorSchema } },
  }]));

/**
 * Size statistics of a memory.
 *
 * @example
 * ```ts
 * import { StatsSchema } from "./schemas_common.ts";
 * console.log(Object.keys(StatsSchema.shape).length); // 6
 * ```
 */
export const StatsSchema = z.object({
  bytes: z.number().int().openapi({ description: "Size of the .r3m encoding" }),
  nodes: z.object({
    document: z.number().int(),
    paragraph: z.number().int(),
    sentence: z.number().int(),
  }).openapi({ description: "Nodes per level" }),
  slots: z.number().int(),
  residualBytes: z.number().int().openapi({ description: "0 when lossy" }),
  textBytes: z.number().int(),
  ratio: z.number().openapi({ description: "textBytes / bytes" }),
}).openapi("MemoryStats");

/**
 * A string-typed error message that tells a missing field from a wrongly typed one.
 *
 * @example
 * ```ts
 * import { typed } from "./schemas_common.ts";
 * console.log(typed("text", "a string")({ input: undefined })); // "text is required"
 * ```
 */
export const typed = (name: string, type: string) => (issue: { input: unknown }): string =>
  issue.input === undefined ? `${name} is required` : `${name} must be ${type}`;

/** A text to compress: a non-empty string. */
export const Text = z.string({ error: typed("text", "a string") }).min(1, "text must not be empty");
/** How a memory is stored (`slots`). */
export const Slots = z.enum(["code", "all", "document", "none"], {
  error: 'slots must be "code", "all", "document" or "none"',
}).optional().openapi({
  description: 'How the memory is stored. "code" (the default when lossless and the model ' +
    "has a memory basis): compact, the document memory as a 4-bit code, smaller than " +
    'brotli-11; "all" (the default when lossy): int8 slots on every node; "document": on the ' +
    'document only; "none": a compact lossless archive, which search cannot find',
});

/** Refinement of the stored memories at compress time (`CompressOptions.refine`). */
export const Refine = z.object({
  steps: z.number({ error: "refine.steps must be a number" }).int("refine.steps must be an integer")
    .min(0, "refine.steps must be at least 0").max(
      MAX_REFINE_STEPS,
      `refine.steps must be at most ${MAX_REFINE_STEPS}`,
    )
    .optional(),
  ms: z.number({ error: "refine.ms must be a number" }).positive("refine.ms must be positive")
    .optional(),
  lr: z.number({ error: "refine.lr must be a number" }).positive("refine.lr must be positive")
    .max(10, "refine.lr must be at most 10").optional(),
}, {
  error: (issue) =>
    issue.code === "unrecognized_keys"
      ? `refine has an unknown field: ${
        (issue as { keys?: string[] }).keys?.join(", ")
      } (steps, ms, lr)`
      : "refine must be an object {steps?, ms?, lr?}",
}).strict().optional().openapi({
  description: "Refine each stored memory by gradient steps against the decoder, so that the " +
    'memory alone gives the text back (greedy reconstruction). Needs slots "all" or ' +
    '"document". steps: per memory (default 200); ms: time budget for the whole request; lr: ' +
    "peak learning rate (default 1). Slow: seconds per sentence; a request past the server's " +
    "deadline is cancelled (504).",
});

/** Caller's metadata: a JSON object. */
export const Metadata = z.record(z.string(), z.unknown(), {
  error: "Metadata must be a JSON object",
}).openapi({ description: `Any JSON object, at most ${MAX_METADATA_BYTES} bytes` });

/**
 * A stored memory's description.
 *
 * @example
 * ```ts
 * import { MemoryInfoSchema } from "./schemas_common.ts";
 * console.log(Object.keys(MemoryInfoSchema.shape).length); // 11
 * ```
 */
export const MemoryInfoSchema = z.object({
  id: z.string().openapi({ example: "0b9c4f8e-3f55-4a53-9d52-1e1f7c0d6b1a" }),
  createdAt: z.string().openapi({ example: "2026-11-02T10:00:00.000Z" }),
  updatedAt: z.string().openapi({ description: "When this version was written" }),
  version: z.number().int().openapi({ description: "1 when created, one more per update" }),
  expiresAt: z.string().optional().openapi({ description: "When it expires; absent: never" }),
  user_id: z.string().optional(),
  agent_id: z.string().optional(),
  run_id: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()),
  stats: StatsSchema,
  model: z.string().openapi({ description: "Fingerprint of the model that wrote it" }),
}).openapi("MemoryInfo");

const FILTER_DOC = 'A filter (docs/SERVER.md, "Filters"): an object whose conditions all ' +
  "hold: `and`/`or` (lists of filters), `not`, `user_id`/`agent_id`/`run_id` (a string, a list, " +
  "or {eq, ne, in, nin, exists}), `createdAt`/`updatedAt` ({gt, gte, lt, lte} ISO 8601 dates), " +
  "`metadata` (key → a value, a list, or {eq, ne, in, nin, gt, gte, lt, lte, exists}). " +
  'Example: {"metadata": {"topic": ["food", "health"]}, "createdAt": {"gte": "2026-12-01"}}';

/** The `filter` query parameter: a filter as JSON text. */
export const FilterQuery = z.string().optional().openapi({
  param: { name: "filter", in: "query" },
  description: `${FILTER_DOC}, as JSON text`,
});

/** The `filter` field of a body. */
export const FilterBody = z.record(z.string(), z.unknown(), {
  error: "filter must be an object",
}).optional().openapi({ description: FILTER_DOC });

/** The `{id}` path parameter. */
export const IdParams = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" } }),
});

/** The event-stream form of a text answer. */
export const TextStream = {
  "text/event-stream": {
    schema: z.string().openapi({
      description: 'With `Accept: text/event-stream`: `text` events (data `{"text": piece}`) ' +
        "as the text is decoded, then `done` (data `{}`), or `error` (data `{error}`)",
    }),
  },
};
