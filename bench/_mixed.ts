/**
 * The mixed run of `bench/server.ts`: large documents stored concurrently while small requests
 * keep coming; what the small requests see (req/s, p50/p99), how the large ones end, and the
 * server's peak resident memory.
 *
 * @module
 */
import type { ScenarioResult } from "./server.ts";

/** Options of {@link runMixed}. */
export interface MixedOptions {
  /** Large documents sent at once. */
  largeCount: number;
  /** Bytes of each large document. */
  largeBytes: number;
  /** Small requests in flight at once. */
  concurrency: number;
  /** Seconds the small requests run at most (they stop once every large one has ended). */
  capS: number;
  /** The server's process id, to read its peak RSS (Linux); absent: not measured. */
  pid?: number;
}

/** What {@link runMixed} measured. */
export interface MixedResult {
  /** The small requests. */
  small: ScenarioResult;
  /** Large documents stored (201). */
  largeStored: number;
  /** Large documents refused or cancelled, by status. */
  largeFailed: Record<string, number>;
  /** Large documents still running when the run ended. */
  largePending: number;
  /** Seconds from the first large request to the last answer (or the end of the run). */
  largeSeconds: number;
  /** The server's peak resident set, MB (VmHWM), or null. */
  peakRssMb: number | null;
}

/**
 * Reads a process's peak resident set (`VmHWM` of `/proc/<pid>/status`) in MB.
 *
 * @param pid Process id.
 * @returns MB, or null where `/proc` is missing.
 *
 * @example
 * ```ts
 * import { peakRssMb } from "./_mixed.ts";
 * const mb = peakRssMb(Deno.pid);
 * console.log(mb === null || mb > 0); // true
 * ```
 */
export function peakRssMb(pid: number): number | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(status);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Sends `largeCount` documents at once and, beside them, small requests until they end.
 *
 * @param options Sizes, concurrency, cap, server pid.
 * @param postLarge Stores one large document; resolves to the HTTP status.
 * @param runSmall Runs the small requests: `(capS, stop) => result`, stopping when `stop()`.
 * @returns The measurements.
 *
 * @example
 * ```ts
 * import { runMixed } from "./_mixed.ts";
 * import { runScenario } from "./server.ts";
 * const r = await runMixed(
 *   { largeCount: 2, largeBytes: 10, concurrency: 1, capS: 1 },
 *   () => new Promise((ok) => setTimeout(() => ok(201), 50)),
 *   (capS, stop) => runScenario("small", 1000, 1, capS, async () => !stop()),
 * );
 * console.log(r.largeStored); // 2
 * ```
 */
export async function runMixed(
  options: MixedOptions,
  postLarge: (i: number) => Promise<number>,
  runSmall: (capS: number, stop: () => boolean) => Promise<ScenarioResult>,
): Promise<MixedResult> {
  const failed: Record<string, number> = {};
  let stored = 0;
  let pending = options.largeCount;
  const start = performance.now();
  let lastEnd = start;
  const large = Array.from({ length: options.largeCount }, (_, i) =>
    postLarge(i).then(
      (status) => status === 201 ? stored++ : (failed[status] = (failed[status] ?? 0) + 1),
      () => (failed.network = (failed.network ?? 0) + 1),
    ).finally(() => {
      pending--;
      lastEnd = performance.now();
    }));
  // Let the large bodies reach the server first.
  await new Promise((r) => setTimeout(r, 500));
  const small = await runSmall(options.capS, () => pending === 0);
  const peak = options.pid === undefined ? null : peakRssMb(options.pid);
  const stillPending = pending;
  const largeSeconds = ((stillPending ? performance.now() : lastEnd) - start) / 1000;
  void Promise.allSettled(large);
  return {
    small,
    largeStored: stored,
    largeFailed: failed,
    largePending: stillPending,
    largeSeconds,
    peakRssMb: peak,
  };
}
