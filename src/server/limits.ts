/**
 * Limits under load: a deadline per request (its work is cancelled in the worker when it
 * passes, `./worker_pool.ts`) and a per-tenant rate limit (a token bucket per namespace, 429
 * with `Retry-After`). The bounded job queue is the pool's (503 when full).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { ServerEnv } from "./auth.ts";
import { PoolError } from "./errors.ts";

/**
 * Bytes per second assumed when the default deadline is worked out: compressing and indexing
 * a 128 KiB document with the default model took 13.4 s (~10 KB/s) on the 2-core development
 * machine beside a training run; 8 KB/s leaves a margin.
 *
 * @example
 * ```ts
 * import { WORST_BYTES_PER_SECOND } from "./limits.ts";
 * console.log(WORST_BYTES_PER_SECOND); // 8000
 * ```
 */
export const WORST_BYTES_PER_SECOND = 8000;

/**
 * The default deadline for a body limit: 10 s plus the worst case for compressing the largest
 * body accepted at {@link WORST_BYTES_PER_SECOND} (1 MiB: 141 s).
 *
 * @param maxBodyBytes The largest body accepted.
 * @returns Milliseconds.
 *
 * @example
 * ```ts
 * import { defaultDeadlineMs } from "./limits.ts";
 * console.log(defaultDeadlineMs(1 << 20)); // 141072
 * ```
 */
export function defaultDeadlineMs(maxBodyBytes: number): number {
  return 10_000 + Math.ceil(maxBodyBytes * 1000 / WORST_BYTES_PER_SECOND);
}

/**
 * Middleware that gives each request an abort signal (`c.get("signal")`), aborted when its
 * deadline passes (reason: `PoolError("deadline")`, answered 504 `timeout`). Routes pass it to
 * the engine, which cancels the job. A streamed answer's deadline ends when its first piece is
 * sent; closing the stream cancels it after that. (A client that leaves a plain request does not
 * cancel it: a store it asked for still completes.)
 *
 * @param ms The deadline in milliseconds.
 * @returns The middleware.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { ServerEnv } from "./auth.ts";
 * import { deadline } from "./limits.ts";
 * const app = new Hono<ServerEnv>().use(deadline(50));
 * app.get("/slow", async (c) => {
 *   await new Promise((r) => setTimeout(r, 100));
 *   return c.text(c.get("signal")?.aborted ? "cancelled" : "done");
 * });
 * console.log(await (await app.request("/slow")).text()); // "cancelled"
 * ```
 */
export function deadline(ms: number): MiddlewareHandler<ServerEnv> {
  return async function deadline(c, next) {
    const ctl = new AbortController();
    const timer = setTimeout(
      () =>
        ctl.abort(
          new PoolError(
            "deadline",
            `The request's deadline of ${ms} ms passed; its work was cancelled`,
          ),
        ),
      ms,
    );
    c.set("signal", ctl.signal);
    try {
      await next();
    } finally {
      clearTimeout(timer);
    }
  };
}

/** A rate limit per namespace. */
export interface RateLimit {
  /** Requests per second, sustained. */
  perSecond: number;
  /** Requests that may come at once (the bucket's size). */
  burst: number;
}

/**
 * Middleware that limits each namespace's requests with a token bucket; over the limit it
 * answers 429 `rate_limited` with `Retry-After` (seconds). Per process: several instances
 * each allow the limit.
 *
 * @param limit Rate and burst.
 * @param now Clock in milliseconds (default `performance.now`).
 * @returns The middleware (after the tenant's namespace is known).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { ServerEnv } from "./auth.ts";
 * import { rateLimit } from "./limits.ts";
 * const app = new Hono<ServerEnv>();
 * app.use((c, next) => (c.set("namespace", "team-a"), next()));
 * app.use(rateLimit({ perSecond: 1, burst: 2 }));
 * app.get("/", (c) => c.text("ok"));
 * const statuses = [];
 * for (let i = 0; i < 3; i++) statuses.push((await app.request("/")).status);
 * console.log(statuses); // [ 200, 200, 429 ]
 * ```
 */
export function rateLimit(
  limit: RateLimit,
  now: () => number = () => performance.now(),
): MiddlewareHandler<ServerEnv> {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return async function rateLimit(c, next) {
    const ns = c.get("namespace");
    const t = now();
    const b = buckets.get(ns) ?? { tokens: limit.burst, at: t };
    b.tokens = Math.min(limit.burst, b.tokens + (t - b.at) / 1000 * limit.perSecond);
    b.at = t;
    buckets.set(ns, b);
    if (b.tokens < 1) {
      const retry = Math.max(1, Math.ceil((1 - b.tokens) / limit.perSecond));
      return c.json(
        {
          error: {
            code: "rate_limited",
            message: `Too many requests: this namespace may send ${limit.perSecond} per second ` +
              `(bursts of ${limit.burst}); retry in ${retry} s`,
          },
        },
        429,
        { "Retry-After": String(retry) },
      );
    }
    b.tokens -= 1;
    await next();
  };
}
