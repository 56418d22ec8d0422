/**
 * What of a filter SQL can check with an index: the conditions every matching record must meet
 * (scope ids equal to or in a list, top-level metadata keys equal to a scalar), taken from the
 * filter and from the members of its `and` lists. The store asks PostgreSQL for the rows that
 * meet them and runs the whole filter (`../filters.ts`) over those rows, so the result is exactly
 * what the Deno KV store gives; the prefilter only saves reading rows that cannot match.
 *
 * @module
 */
import type { Filter, Scalar } from "../filters.ts";

/** The SQL-checkable part of a filter. */
export interface Prefilter {
  /** Scope columns and the values one of which each must hold (all must hold). */
  scope: { field: "user_id" | "agent_id" | "run_id"; values: string[] }[];
  /** Objects the metadata must contain (`metadata::jsonb @> …`), one per condition. */
  contains: Record<string, Scalar>[];
}

/**
 * The necessary conditions of a filter that SQL can check.
 *
 * @param filter A validated filter (absent: none).
 * @returns Its prefilter (empty lists: read every row).
 *
 * @example
 * ```ts
 * import { prefilterOf } from "./prefilter.ts";
 * const p = prefilterOf({
 *   and: [{ user_id: { eq: "alice" } }, { metadata: { topic: { eq: "food" } } }],
 *   or: [{ run_id: { eq: "r1" } }, { run_id: { eq: "r2" } }], // not a necessary condition
 * });
 * console.log(p.scope, p.contains);
 * // [ { field: "user_id", values: [ "alice" ] } ] [ { topic: "food" } ]
 * ```
 */
export function prefilterOf(filter: Filter | undefined): Prefilter {
  const out: Prefilter = { scope: [], contains: [] };
  const visit = (f: Filter) => {
    for (const field of ["user_id", "agent_id", "run_id"] as const) {
      const c = f[field];
      if (c?.eq !== undefined) out.scope.push({ field, values: [c.eq] });
      if (c?.in) out.scope.push({ field, values: [...c.in] });
    }
    for (const [key, c] of Object.entries(f.metadata ?? {})) {
      // A dotted key may name an own key or a nested one: left to the full evaluation.
      if (c.eq !== undefined && !key.includes(".")) out.contains.push({ [key]: c.eq });
    }
    for (const sub of f.and ?? []) visit(sub);
  };
  if (filter) visit(filter);
  return out;
}
