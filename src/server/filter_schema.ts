/**
 * Zod validation of what the service routes take beyond a text: filters (`./filters.ts`), the
 * scope ids (`user_id`, `agent_id`, `run_id`) and expiry (`ttl` / `expiresAt`). A bad filter is
 * a 400 whose message names the place and what was wrong there.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { ApiError, describeIssues } from "./errors.ts";
import type { Filter } from "./filters.ts";

/** Largest number of conditions (objects) in one filter, and deepest nesting. */
const MAX_NODES = 200;
const MAX_DEPTH = 10;
const MAX_LIST = 100;
/** Longest `ttl`: ten years, in seconds. */
const MAX_TTL_S = 10 * 365 * 24 * 3600;

const FIELDS = "and, or, not, user_id, agent_id, run_id, createdAt, updatedAt, metadata";
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

const plain = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
/** `"x"` → `{eq: "x"}`, `["x", "y"]` → `{in: [...]}`: the short forms of a condition. */
const shorthand = (v: unknown) => plain(v) ? v : Array.isArray(v) ? { in: v } : { eq: v };
const someOf = (ops: string) => (c: Record<string, unknown>) =>
  Object.values(c).some((v) => v !== undefined) || `needs one of ${ops}`;

const IsoDate = z.string({ error: "must be an ISO 8601 date string" }).refine(
  (s) => ISO_DATE.test(s) && !Number.isNaN(Date.parse(s)),
  {
    error: (i) =>
      `must be an ISO 8601 date like 2026-12-01T10:00:00Z, got ${JSON.stringify(i.input)}`,
  },
);

const strict = <T extends z.ZodRawShape>(shape: T, ops: string) =>
  z.strictObject(shape, {
    error: (i) =>
      i.code === "unrecognized_keys"
        ? `unknown operator ${i.keys.map((k) => JSON.stringify(k)).join(", ")}: use ${ops}`
        : `must be an object of ${ops}`,
  });

const STRING_OPS = "eq, ne, in, nin, exists";
const StringCondition = z.preprocess(
  shorthand,
  strict({
    eq: z.string().optional(),
    ne: z.string().optional(),
    in: z.array(z.string()).min(1).max(MAX_LIST).optional(),
    nin: z.array(z.string()).min(1).max(MAX_LIST).optional(),
    exists: z.boolean().optional(),
  }, STRING_OPS).refine((c) => someOf(STRING_OPS)(c) === true, `needs one of ${STRING_OPS}`),
);

const DATE_OPS = "gt, gte, lt, lte";
const DateCondition = strict({
  gt: IsoDate.optional(),
  gte: IsoDate.optional(),
  lt: IsoDate.optional(),
  lte: IsoDate.optional(),
}, DATE_OPS).refine((c) => someOf(DATE_OPS)(c) === true, `needs one of ${DATE_OPS}`);

const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: "must be a string, number, boolean or null",
});
const Bound = z.union([z.number(), z.string()], { error: "must be a number or a string" });
const VALUE_OPS = "eq, ne, in, nin, gt, gte, lt, lte, exists";
const ValueCondition = z.preprocess(
  shorthand,
  strict({
    eq: Scalar.optional(),
    ne: Scalar.optional(),
    in: z.array(Scalar).min(1).max(MAX_LIST).optional(),
    nin: z.array(Scalar).min(1).max(MAX_LIST).optional(),
    gt: Bound.optional(),
    gte: Bound.optional(),
    lt: Bound.optional(),
    lte: Bound.optional(),
    exists: z.boolean().optional(),
  }, VALUE_OPS).refine((c) => someOf(VALUE_OPS)(c) === true, `needs one of ${VALUE_OPS}`),
);

/**
 * A filter's validator (recursive through `and`, `or`, `not`).
 *
 * @example
 * ```ts
 * import { FilterSchema } from "./filter_schema.ts";
 * console.log(FilterSchema.safeParse({ user_id: "alice", metadata: { topic: ["a", "b"] } }).data);
 * // { user_id: { eq: "alice" }, metadata: { topic: { in: [ "a", "b" ] } } }
 * console.log(FilterSchema.safeParse({ colour: "red" }).success); // false
 * ```
 */
export const FilterSchema: z.ZodType<Filter> = z.lazy(() =>
  z.strictObject({
    and: z.array(FilterSchema).min(1).max(MAX_LIST).optional(),
    or: z.array(FilterSchema).min(1).max(MAX_LIST).optional(),
    not: FilterSchema.optional(),
    user_id: StringCondition.optional(),
    agent_id: StringCondition.optional(),
    run_id: StringCondition.optional(),
    createdAt: DateCondition.optional(),
    updatedAt: DateCondition.optional(),
    metadata: z.record(z.string().min(1), ValueCondition, {
      error: "must be an object of metadata key → condition",
    }).optional(),
  }, {
    error: (i) =>
      i.code === "unrecognized_keys"
        ? `unknown filter field ${i.keys.map((k) => JSON.stringify(k)).join(", ")}: use ${FIELDS}`
        : `a filter must be an object of ${FIELDS}`,
  }) as unknown as z.ZodType<Filter>
);

/**
 * Validates a filter: the JSON value (or, from a query string, its text).
 *
 * @param raw The filter as sent (absent: none).
 * @param where Its name in messages (`filter`).
 * @param text Whether `raw` is JSON text (a query parameter) rather than the value.
 * @returns The filter, or undefined.
 * @throws {ApiError} 400 `bad_input` naming what is wrong and where.
 *
 * @example
 * ```ts
 * import { parseFilter } from "./filter_schema.ts";
 * console.log(parseFilter('{"run_id": "r1"}', "filter", true)); // { run_id: { eq: "r1" } }
 * try {
 *   parseFilter({ createdAt: { gte: "yesterday" } }, "filter");
 * } catch (e) {
 *   console.log((e as Error).message.includes("filter.createdAt.gte")); // true
 * }
 * ```
 */
export function parseFilter(raw: unknown, where: string, text = false): Filter | undefined {
  if (raw === undefined) return undefined;
  let value = raw;
  if (text && typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ApiError(400, "bad_input", `Invalid request: ${where}: must be JSON`);
    }
  }
  const parsed = FilterSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ ...i, path: [where, ...i.path] }));
    throw new ApiError(400, "bad_input", describeIssues(issues));
  }
  const size = measure(parsed.data);
  if (size.nodes > MAX_NODES || size.depth > MAX_DEPTH) {
    throw new ApiError(
      400,
      "bad_input",
      `Invalid request: ${where}: at most ${MAX_NODES} conditions nested ${MAX_DEPTH} deep ` +
        `(got ${size.nodes}, ${size.depth} deep)`,
    );
  }
  return parsed.data;
}

function measure(f: Filter): { nodes: number; depth: number } {
  let nodes = 1;
  let depth = 0;
  for (const sub of [...(f.and ?? []), ...(f.or ?? []), ...(f.not ? [f.not] : [])]) {
    const m = measure(sub);
    nodes += m.nodes;
    depth = Math.max(depth, m.depth);
  }
  return { nodes, depth: depth + 1 };
}

const scopeId = (name: string) =>
  z.string({ error: `${name} must be a string` }).min(1, `${name} must not be empty`).max(
    256,
    `${name} is at most 256 characters`,
  ).optional().openapi({ description: `Scope: only memories with this ${name}` });

/**
 * The scope ids, as body fields or query parameters: `user_id`, `agent_id`, `run_id`.
 *
 * @example
 * ```ts
 * import { ScopeFields } from "./filter_schema.ts";
 * console.log(Object.keys(ScopeFields)); // [ "user_id", "agent_id", "run_id" ]
 * ```
 */
export const ScopeFields = {
  user_id: scopeId("user_id"),
  agent_id: scopeId("agent_id"),
  run_id: scopeId("run_id"),
};

/**
 * Expiry fields of a write: `ttl` (seconds from now) or `expiresAt` (ISO 8601, in the future).
 *
 * @example
 * ```ts
 * import { ExpiryFields } from "./filter_schema.ts";
 * console.log(Object.keys(ExpiryFields)); // [ "ttl", "expiresAt" ]
 * ```
 */
export const ExpiryFields = {
  ttl: z.number({ error: "ttl must be a number of seconds" }).int("ttl must be an integer")
    .min(1, "ttl must be at least 1 second").max(MAX_TTL_S, `ttl is at most ${MAX_TTL_S} s`)
    .optional().openapi({ description: "Seconds until the memory expires (then invisible)" }),
  expiresAt: IsoDate.nullable().optional().openapi({
    description: "When the memory expires, ISO 8601 (future); on update, null removes it",
  }),
};

/**
 * The expiry time a write asks for.
 *
 * @param fields `ttl` and `expiresAt` as validated.
 * @param now The time, ms since the epoch.
 * @returns ISO 8601, `null` (remove: `expiresAt: null`), or undefined (not given).
 * @throws {ApiError} 400 when both are given or `expiresAt` is not in the future.
 *
 * @example
 * ```ts
 * import { expiryOf } from "./filter_schema.ts";
 * console.log(expiryOf({ ttl: 60 }, Date.UTC(2026, 11, 1))); // "2026-12-01T00:01:00.000Z"
 * ```
 */
export function expiryOf(
  fields: { ttl?: number; expiresAt?: string | null },
  now: number,
): string | null | undefined {
  if (fields.ttl !== undefined && fields.expiresAt !== undefined) {
    throw new ApiError(400, "bad_input", "Invalid request: give ttl or expiresAt, not both");
  }
  if (fields.ttl !== undefined) return new Date(now + fields.ttl * 1000).toISOString();
  if (fields.expiresAt === null || fields.expiresAt === undefined) return fields.expiresAt;
  const at = Date.parse(fields.expiresAt);
  if (at <= now) {
    throw new ApiError(
      400,
      "bad_input",
      `Invalid request: expiresAt: must be in the future, got ${fields.expiresAt}`,
    );
  }
  return new Date(at).toISOString();
}
