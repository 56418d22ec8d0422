/**
 * Source balancing: every source has a maximum share of the corpus text, and a source above its
 * share keeps a deterministic, seeded selection of whole documents that fits.
 *
 * @module
 */
import { type CorpusDocument, hashUnit, utf8Length } from "./text.ts";

/** One source's text size before capping and its maximum share of the total. */
export interface SourceSize {
  name: string;
  /** UTF-8 bytes of the source's documents (after deduplication). */
  bytes: number;
  /** Largest share of the final total this source may take, in (0, 1]. */
  maxShare: number;
}

/**
 * Byte budgets that keep every source within its share of the final total. A source that is
 * capped gets `maxShare × total`, where the total itself is what remains after capping:
 * `total = uncapped bytes / (1 − sum of the capped shares)`, found by capping the sources that
 * exceed their share one round at a time until none does. Uncapped sources get their own size.
 *
 * @example
 * ```ts
 * import { capBudgets } from "./balance.ts";
 * const budgets = capBudgets([
 *   { name: "big", bytes: 900, maxShare: 0.25 },
 *   { name: "a", bytes: 100, maxShare: 0.5 },
 *   { name: "b", bytes: 200, maxShare: 0.5 },
 * ]);
 * console.log(budgets.get("big"), budgets.get("a"), budgets.get("b")); // 100 100 200
 * ```
 */
export function capBudgets(sizes: readonly SourceSize[]): Map<string, number> {
  for (const s of sizes) {
    if (!(s.maxShare > 0 && s.maxShare <= 1)) {
      throw new RangeError(`Share cap of ${s.name} must be in (0, 1], got ${s.maxShare}`);
    }
  }
  // Shares add up to 1, so caps that add up to less cannot all hold (except with no text at all).
  const sum = sizes.reduce((n, s) => n + s.maxShare, 0);
  if (sizes.length > 0 && sum < 1) {
    throw new RangeError(`Share caps add up to ${sum}; they must add up to at least 1`);
  }
  const capped = new Set<string>();
  let total = 0;
  for (;;) {
    let free = 0;
    let shares = 0;
    for (const s of sizes) {
      if (capped.has(s.name)) shares += s.maxShare;
      else free += s.bytes;
    }
    if (shares >= 1) {
      throw new RangeError(
        `The share caps of ${[...capped].join(", ")} add up to ${shares}; they must leave room ` +
          `for the other sources`,
      );
    }
    total = free / (1 - shares);
    const over = sizes.filter((s) => !capped.has(s.name) && s.bytes > s.maxShare * total + 0.5);
    if (over.length === 0) break;
    for (const s of over) capped.add(s.name);
  }
  return new Map(
    sizes.map((s) => [s.name, capped.has(s.name) ? Math.floor(s.maxShare * total) : s.bytes]),
  );
}

/**
 * {@linkcode capBudgets} when the caps add up to at least 1, else every source whole: a few
 * sources picked on the command line can have caps that add up to less, and shares (which add up
 * to 1) cannot all stay under those, so such a partial corpus is left uncapped.
 *
 * @example
 * ```ts
 * import { budgetsFor } from "./balance.ts";
 * const r = budgetsFor([{ name: "git", bytes: 3, maxShare: 0.08 }, { name: "man", bytes: 6, maxShare: 0.08 }]);
 * console.log(r.capped, r.budgets.get("man")); // false 6
 * ```
 */
export function budgetsFor(
  sizes: readonly SourceSize[],
): { budgets: Map<string, number>; capped: boolean } {
  const sum = sizes.reduce((n, s) => n + s.maxShare, 0);
  if (sum >= 1) return { budgets: capBudgets(sizes), capped: true };
  return { budgets: new Map(sizes.map((s) => [s.name, s.bytes])), capped: false };
}

/**
 * Picks whole documents of one source to fit a byte budget: documents are taken in the order of
 * `priority(id)` (lower first), then of `hashUnit("cap:" + seed, id)`, and each one that still
 * fits the remaining budget is kept. The choice depends only on the ids, sizes, seed and budget.
 *
 * @example
 * ```ts
 * import { selectWithinBudget } from "./balance.ts";
 * const docs = ["book/1", "api/1", "api/2", "book/2"].map((id) => ({ id, text: "x".repeat(100) }));
 * const r = selectWithinBudget(docs, 350, 1, (id) => id.startsWith("book/") ? 0 : 1);
 * // Both books first, then one of the API pages, chosen by the seeded hash.
 * console.log(r.kept.length, r.kept.filter((d) => d.id.startsWith("book/")).length, r.dropped);
 * // 3 2 1
 * ```
 */
export function selectWithinBudget(
  docs: readonly CorpusDocument[],
  budget: number,
  seed: string | number,
  priority: (id: string) => number = () => 0,
): { kept: CorpusDocument[]; dropped: number; droppedBytes: number } {
  const sized = docs.map((d) => ({
    d,
    bytes: utf8Length(d.text),
    p: priority(d.id),
    u: hashUnit(`cap:${seed}`, d.id),
  }));
  const total = sized.reduce((n, s) => n + s.bytes, 0);
  if (total <= budget) return { kept: [...docs], dropped: 0, droppedBytes: 0 };
  sized.sort((a, b) => a.p - b.p || a.u - b.u || (a.d.id < b.d.id ? -1 : 1));
  const keep = new Set<CorpusDocument>();
  let left = budget;
  for (const s of sized) {
    if (s.bytes <= left) {
      keep.add(s.d);
      left -= s.bytes;
    }
  }
  const kept = docs.filter((d) => keep.has(d));
  const keptBytes = budget - left;
  return { kept, dropped: docs.length - kept.length, droppedBytes: total - keptBytes };
}
