/**
 * Filters over memory records, and their evaluation as a pure function: any store can run
 * {@link matchesFilter} over the records it reads (or translate the same tree into its own query
 * language). The HTTP layer validates filters with Zod (`./filter_schema.ts`) before they get
 * here, so these functions trust their input's shape.
 *
 * A filter is an object whose conditions must all hold: `and` (every sub-filter), `or` (at least
 * one), `not`, the scope ids (`user_id`, `agent_id`, `run_id`), the dates (`createdAt`,
 * `updatedAt`) and `metadata` keys (a dotted key looks into nested objects).
 *
 * @module
 */

/** A JSON scalar, what metadata conditions compare. */
export type Scalar = string | number | boolean | null;

/** A condition on a string field. */
export interface StringCondition {
  /** Equal to. */
  eq?: string;
  /** Not equal to (a missing field is not equal). */
  ne?: string;
  /** One of. */
  in?: string[];
  /** None of. */
  nin?: string[];
  /** Whether the field is set. */
  exists?: boolean;
}

/** A condition on a date (ISO 8601 strings, compared as instants). */
export interface DateCondition {
  /** After. */
  gt?: string;
  /** At or after. */
  gte?: string;
  /** Before. */
  lt?: string;
  /** At or before. */
  lte?: string;
}

/** A condition on a metadata value. */
export interface ValueCondition {
  /** Equal to (same type and value). */
  eq?: Scalar;
  /** Not equal to. */
  ne?: Scalar;
  /** One of. */
  in?: Scalar[];
  /** None of. */
  nin?: Scalar[];
  /** Greater than (numbers with numbers, strings with strings). */
  gt?: number | string;
  /** Greater than or equal to. */
  gte?: number | string;
  /** Less than. */
  lt?: number | string;
  /** Less than or equal to. */
  lte?: number | string;
  /** Whether the key is present. */
  exists?: boolean;
}

/** A filter: every condition present must hold. */
export interface Filter {
  /** Every one of these. */
  and?: Filter[];
  /** At least one of these. */
  or?: Filter[];
  /** Not this one. */
  not?: Filter;
  /** The user the memory is scoped to. */
  user_id?: StringCondition;
  /** The agent. */
  agent_id?: StringCondition;
  /** The run. */
  run_id?: StringCondition;
  /** Creation time. */
  createdAt?: DateCondition;
  /** Time of the current version. */
  updatedAt?: DateCondition;
  /** Conditions on metadata keys (`"a.b"` looks into `metadata.a.b`). */
  metadata?: Record<string, ValueCondition>;
}

/** The ids a memory can be scoped to within a tenant (mem0's names). */
export interface Scope {
  /** The user the memory is about. */
  user_id?: string;
  /** The agent that wrote it. */
  agent_id?: string;
  /** The run (session, conversation) it belongs to. */
  run_id?: string;
}

/** The fields of a record a filter reads (a `MemoryRecord` has them). */
export interface FilterableRecord extends Scope {
  /** Creation time, ISO 8601. */
  createdAt: string;
  /** Time of the current version, ISO 8601. */
  updatedAt: string;
  /** Caller's metadata. */
  metadata: Record<string, unknown>;
}

/**
 * Whether a record matches a filter.
 *
 * @param rec The record.
 * @param filter A validated filter (absent: everything matches).
 * @returns Whether every condition holds.
 *
 * @example
 * ```ts
 * import { matchesFilter } from "./filters.ts";
 * const rec = {
 *   user_id: "alice", createdAt: "2026-12-01T10:00:00.000Z",
 *   updatedAt: "2026-12-01T10:00:00.000Z", metadata: { topic: "food", stars: 4 },
 * };
 * console.log(matchesFilter(rec, {
 *   user_id: { eq: "alice" },
 *   or: [{ metadata: { topic: { in: ["food", "health"] } } }, { metadata: { stars: { gte: 5 } } }],
 *   createdAt: { gte: "2026-12-01", lt: "2026-12-02" },
 * })); // true
 * console.log(matchesFilter(rec, { not: { metadata: { stars: { gt: 3 } } } })); // false
 * ```
 */
export function matchesFilter(rec: FilterableRecord, filter: Filter | undefined): boolean {
  if (!filter) return true;
  if (filter.and && !filter.and.every((f) => matchesFilter(rec, f))) return false;
  if (filter.or && !filter.or.some((f) => matchesFilter(rec, f))) return false;
  if (filter.not && matchesFilter(rec, filter.not)) return false;
  for (const field of ["user_id", "agent_id", "run_id"] as const) {
    const cond = filter[field];
    if (cond && !matchesString(rec[field], cond)) return false;
  }
  if (filter.createdAt && !matchesDate(rec.createdAt, filter.createdAt)) return false;
  if (filter.updatedAt && !matchesDate(rec.updatedAt, filter.updatedAt)) return false;
  for (const [key, cond] of Object.entries(filter.metadata ?? {})) {
    if (!matchesValue(lookup(rec.metadata, key), cond)) return false;
  }
  return true;
}

/**
 * The filter that selects a scope, combined with another filter: what list, search, export and
 * bulk delete run.
 *
 * @param scope The scope ids given (absent ones do not restrict).
 * @param filter A further filter.
 * @returns One filter, or undefined when nothing restricts.
 *
 * @example
 * ```ts
 * import { scopedFilter } from "./filters.ts";
 * console.log(scopedFilter({ user_id: "alice" }, { metadata: { topic: { eq: "food" } } }));
 * // { and: [ { user_id: { eq: "alice" } }, { metadata: { topic: { eq: "food" } } } ] }
 * console.log(scopedFilter({}, undefined)); // undefined
 * ```
 */
export function scopedFilter(scope: Scope, filter?: Filter): Filter | undefined {
  const parts: Filter[] = [];
  for (const field of ["user_id", "agent_id", "run_id"] as const) {
    const value = scope[field];
    if (value !== undefined) parts.push({ [field]: { eq: value } });
  }
  const scoped = parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : {
    and: parts,
  };
  if (!scoped) return filter;
  if (!filter) return scoped;
  return { and: [scoped, filter] };
}

function matchesString(value: string | undefined, c: StringCondition): boolean {
  if (c.exists !== undefined && (value !== undefined) !== c.exists) return false;
  if (c.eq !== undefined && value !== c.eq) return false;
  if (c.ne !== undefined && value === c.ne) return false;
  if (c.in && (value === undefined || !c.in.includes(value))) return false;
  if (c.nin && value !== undefined && c.nin.includes(value)) return false;
  return true;
}

function matchesDate(value: string, c: DateCondition): boolean {
  const t = Date.parse(value);
  if (Number.isNaN(t)) return false;
  if (c.gt !== undefined && !(t > Date.parse(c.gt))) return false;
  if (c.gte !== undefined && !(t >= Date.parse(c.gte))) return false;
  if (c.lt !== undefined && !(t < Date.parse(c.lt))) return false;
  if (c.lte !== undefined && !(t <= Date.parse(c.lte))) return false;
  return true;
}

function matchesValue(value: unknown, c: ValueCondition): boolean {
  if (c.exists !== undefined && (value !== undefined) !== c.exists) return false;
  if (c.eq !== undefined && value !== c.eq) return false;
  if (c.ne !== undefined && value === c.ne) return false;
  if (c.in && !c.in.some((v) => v === value)) return false;
  if (c.nin && c.nin.some((v) => v === value)) return false;
  const ordered = (bound: number | string | undefined, ok: (a: never, b: never) => boolean) =>
    bound === undefined ||
    (typeof value === typeof bound && (typeof value === "number" || typeof value === "string") &&
      ok(value as never, bound as never));
  return ordered(c.gt, (a, b) => a > b) && ordered(c.gte, (a, b) => a >= b) &&
    ordered(c.lt, (a, b) => a < b) && ordered(c.lte, (a, b) => a <= b);
}

function lookup(metadata: Record<string, unknown>, key: string): unknown {
  if (Object.hasOwn(metadata, key)) return metadata[key];
  let at: unknown = metadata;
  for (const part of key.split(".")) {
    if (typeof at !== "object" || at === null || Array.isArray(at)) return undefined;
    if (!Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}
