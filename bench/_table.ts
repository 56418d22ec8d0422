/**
 * Plain-text table rendering for the benchmarks.
 *
 * @module
 */

/** Column alignment: text left, numbers right. */
export type Align = "left" | "right";

/**
 * Renders rows as a fixed-width table with a header rule.
 *
 * @example
 * ```ts
 * import { renderTable } from "./_table.ts";
 * console.log(renderTable(["op", "ms"], [["add", "1.0"]], ["left", "right"]));
 * ```
 */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => align[c] === "right" ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(headers), rule, ...rows.map(line)].join("\n");
}
