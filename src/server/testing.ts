/**
 * In-process test rig for the app: a random model on a {@link LocalEngine}, an in-memory (or
 * file) Deno KV store, and a snapshot of everything stored, to prove a failed request changed
 * nothing.
 *
 * @module
 */
import { R3Mem } from "../r3mem.ts";
import { buildRandomModel } from "../model/random_model.ts";
import { createApp, type R3MemApp } from "./app.ts";
import { LocalEngine } from "./engine.ts";
import type { RateLimit } from "./limits.ts";
import { MemoryStore } from "./store.ts";

/** Options of {@link createTestApp}. */
export interface TestAppOptions {
  /** Seed of the random model (default 1). */
  seed?: number;
  /** Bearer token → namespace (default: none). */
  tokens?: ReadonlyMap<string, string>;
  /** Body limit (default 1 MiB). */
  maxBodyBytes?: number;
  /** Deno KV path (default `:memory:`). */
  kvPath?: string;
  /** A model to share between rigs (default: a new one from `seed`). */
  engine?: LocalEngine;
  /** Per-request deadline in ms (default: the app's). */
  deadlineMs?: number;
  /** Rate limit per namespace (default: none). */
  rateLimit?: RateLimit;
}

/** What {@link createTestApp} returns. */
export interface TestApp {
  /** The app. */
  app: R3MemApp;
  /** Its store. */
  store: MemoryStore;
  /** Its model. */
  engine: LocalEngine;
  /** Every key and versionstamp in the database, as one string. */
  snapshot(): Promise<string>;
  /** Closes the store. */
  close(): void;
}

/**
 * A random-model engine for tests.
 *
 * @example
 * ```ts
 * import { randomEngine } from "./testing.ts";
 * const engine = await randomEngine(3);
 * console.log(engine.fingerprint.length); // 64
 * ```
 */
export async function randomEngine(seed = 1): Promise<LocalEngine> {
  return new LocalEngine(await R3Mem.load({ weights: await buildRandomModel({ seed }) }));
}

/**
 * Builds the app over a random model and a fresh store.
 *
 * @example
 * ```ts
 * import { createTestApp } from "./testing.ts";
 * const t = await createTestApp();
 * const res = await t.app.request("/healthz");
 * console.log(res.status); // 200
 * t.close();
 * ```
 */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const engine = options.engine ?? await randomEngine(options.seed);
  const store = new MemoryStore(await Deno.openKv(options.kvPath ?? ":memory:"));
  const app = createApp({
    engine,
    store,
    tokens: options.tokens,
    maxBodyBytes: options.maxBodyBytes,
    deadlineMs: options.deadlineMs,
    rateLimit: options.rateLimit,
  });
  return {
    app,
    store,
    engine,
    snapshot: async () => {
      const entries: string[] = [];
      for await (const e of store.kv.list({ prefix: [] })) {
        entries.push(`${JSON.stringify(e.key)}@${e.versionstamp}`);
      }
      return entries.join("\n");
    },
    close: () => store.close(),
  };
}

/**
 * A JSON request init.
 *
 * @example
 * ```ts
 * import { json } from "./testing.ts";
 * console.log(json({ text: "x" }).method); // "POST"
 * ```
 */
export function json(body: unknown, init: RequestInit = {}): RequestInit {
  return {
    method: "POST",
    ...init,
    headers: { "Content-Type": "application/json", ...init.headers },
    body: JSON.stringify(body),
  };
}
