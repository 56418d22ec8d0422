/**
 * Server configuration from the environment: `PORT`, `R3MEM_KV_PATH`, `R3MEM_TOKENS`,
 * `R3MEM_WEIGHTS`, `R3MEM_MAX_BODY_BYTES`, `R3MEM_WORKERS`, `R3MEM_HOST`, `R3MEM_BACKEND`,
 * `R3MEM_DEADLINE_MS`, `R3MEM_MAX_QUEUE`, `R3MEM_RATE_LIMIT`, `R3MEM_PURGE_INTERVAL_S`,
 * `R3MEM_DATABASE_URL`, `R3MEM_SEARCH_CACHE_MB`.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { DEFAULT_WEIGHTS_URL } from "../r3mem.ts";
import { BACKEND_CHOICES, type BackendChoice } from "../backend/webgpu/choose.ts";
import { parseTokens } from "./auth.ts";
import { defaultDeadlineMs, type RateLimit } from "./limits.ts";

/** Everything the server process needs to start. */
export interface ServerConfig {
  /** TCP port (0: any free one). */
  port: number;
  /** Interface to listen on: 127.0.0.1 without tokens, 0.0.0.0 with them (or `R3MEM_HOST`). */
  hostname: string;
  /** Deno KV database file. */
  kvPath: string;
  /** PostgreSQL URL (`R3MEM_DATABASE_URL`); when set, memories live there instead of `kvPath`. */
  databaseUrl?: string;
  /** Bearer token → namespace; empty: no auth, one `default` namespace. */
  tokens: Map<string, string>;
  /** Where the model's weights are. */
  weights: URL;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Inference workers. */
  workers: number;
  /** Backend of the workers' models (`R3MEM_BACKEND`: auto, webgpu, wasm, reference; default auto). */
  backend: BackendChoice;
  /** Each request's deadline in ms (default: the worst case for the largest body). */
  deadlineMs: number;
  /** Jobs that may wait for a worker before requests get 503 (default 256). */
  maxQueue: number;
  /** Requests per namespace (`R3MEM_RATE_LIMIT`: `perSecond[:burst]`, default 50:100; 0: none). */
  rateLimit?: RateLimit;
  /** Seconds between purges of expired memories (default 60). */
  purgeIntervalS: number;
  /** MiB of search keys and term counts the server keeps in memory (default 256). */
  searchCacheMb: number;
}

/**
 * Default largest request body: 1 MiB.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_BODY_BYTES } from "./config.ts";
 * console.log(DEFAULT_MAX_BODY_BYTES); // 1048576
 * ```
 */
export const DEFAULT_MAX_BODY_BYTES = 1 << 20;

/**
 * Reads the configuration from environment variables.
 *
 * @param env Variable lookup (default `Deno.env.get`).
 * @returns The configuration.
 * @throws {TypeError} When a variable is malformed (the message names it).
 *
 * @example
 * ```ts
 * import { configFromEnv } from "./config.ts";
 * const env: Record<string, string> = { PORT: "9000", R3MEM_TOKENS: "s3cret:team-a" };
 * const config = configFromEnv((name) => env[name]);
 * console.log(config.port, config.hostname, config.tokens.get("s3cret")); // 9000 0.0.0.0 team-a
 * ```
 */
export function configFromEnv(
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): ServerConfig {
  const tokens = parseTokens(env("R3MEM_TOKENS") ?? "");
  const cores = navigator.hardwareConcurrency ?? 1;
  const maxBodyBytes = intVar(env, "R3MEM_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1, 2 ** 31);
  const rateLimit = rateVar(env("R3MEM_RATE_LIMIT"));
  return {
    port: intVar(env, "PORT", 8787, 0, 65535),
    hostname: env("R3MEM_HOST") || (tokens.size > 0 ? "0.0.0.0" : "127.0.0.1"),
    kvPath: env("R3MEM_KV_PATH") || "./data/r3mem.kv",
    ...databaseVar(env("R3MEM_DATABASE_URL")),
    tokens,
    weights: weightsUrl(env("R3MEM_WEIGHTS")),
    maxBodyBytes,
    workers: intVar(env, "R3MEM_WORKERS", Math.max(1, cores), 1, 256),
    backend: backendVar(env("R3MEM_BACKEND")),
    deadlineMs: intVar(env, "R3MEM_DEADLINE_MS", defaultDeadlineMs(maxBodyBytes), 1, 2 ** 31),
    maxQueue: intVar(env, "R3MEM_MAX_QUEUE", 256, 0, 1 << 20),
    ...(rateLimit ? { rateLimit } : {}),
    purgeIntervalS: intVar(env, "R3MEM_PURGE_INTERVAL_S", 60, 1, 86400),
    searchCacheMb: intVar(env, "R3MEM_SEARCH_CACHE_MB", 256, 0, 1 << 20),
  };
}

/**
 * The weights' URL from `R3MEM_WEIGHTS`: a URL (`http:`, `https:`, `file:`) or a path; the
 * embedded default when unset.
 *
 * @param value The variable's value.
 * @returns A URL.
 *
 * @example
 * ```ts
 * import { weightsUrl } from "./config.ts";
 * console.log(weightsUrl("/tmp/model.r3w").href); // "file:///tmp/model.r3w"
 * ```
 */
export function weightsUrl(value: string | undefined): URL {
  if (!value) return DEFAULT_WEIGHTS_URL;
  if (/^(https?|file):/i.test(value)) return new URL(value);
  return pathToFileURL(isAbsolute(value) ? value : resolve(value));
}

function databaseVar(raw: string | undefined): { databaseUrl?: string } {
  if (raw === undefined || raw === "") return {};
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch { /* reported below */ }
  if (!url || !/^postgres(ql)?:$/.test(url.protocol)) {
    throw new TypeError(
      `R3MEM_DATABASE_URL must be a postgres:// URL (postgres://user:password@host:5432/db), ` +
        `got "${raw.replace(/:[^:@/]*@/, ":***@")}"`,
    );
  }
  return { databaseUrl: raw };
}

function rateVar(raw: string | undefined): RateLimit | undefined {
  if (raw === undefined || raw === "") return { perSecond: 50, burst: 100 };
  const m = /^(\d+(?:\.\d+)?)(?::(\d+))?$/.exec(raw.trim());
  if (!m) {
    throw new TypeError(
      `R3MEM_RATE_LIMIT must be requests per second, optionally :burst (e.g. 50:100), got "${raw}"`,
    );
  }
  const perSecond = Number(m[1]);
  if (perSecond === 0) return undefined;
  return { perSecond, burst: m[2] ? Math.max(1, Number(m[2])) : Math.max(1, 2 * perSecond) };
}

function backendVar(raw: string | undefined): BackendChoice {
  if (raw === undefined || raw === "") return "auto";
  if (!(BACKEND_CHOICES as readonly string[]).includes(raw)) {
    throw new TypeError(`R3MEM_BACKEND must be one of ${BACKEND_CHOICES.join(", ")}, got "${raw}"`);
  }
  return raw as BackendChoice;
}

function intVar(
  env: (name: string) => string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env(name);
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new TypeError(`${name} must be an integer in ${min}…${max}, got "${raw}"`);
  }
  return n;
}
