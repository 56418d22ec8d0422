/**
 * Tenants: bearer tokens, each mapped to a namespace. Without tokens every request belongs to
 * the `default` namespace (and the server listens on loopback only).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { ApiError } from "./errors.ts";

/**
 * The namespace of requests when the server runs without tokens.
 *
 * @example
 * ```ts
 * import { DEFAULT_NAMESPACE } from "./auth.ts";
 * console.log(DEFAULT_NAMESPACE); // "default"
 * ```
 */
export const DEFAULT_NAMESPACE = "default";

/** Hono variables the server's middleware sets. */
export interface ServerEnv {
  /** Context variables. */
  Variables: {
    /** The tenant the request belongs to. */
    namespace: string;
    /** Aborted when the request's deadline passes or its client goes away. */
    signal: AbortSignal | undefined;
  };
}

/** The app's type (`createApp` in `./app.ts` builds it; route modules add to it). */
export type R3MemApp = OpenAPIHono<ServerEnv>;

const NAMESPACE_RE = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Parses `token:namespace,token:namespace`.
 *
 * @param spec The `R3MEM_TOKENS` value (empty: no tokens).
 * @returns Token → namespace.
 * @throws {TypeError} When an entry is malformed or a token repeats.
 *
 * @example
 * ```ts
 * import { parseTokens } from "./auth.ts";
 * const tokens = parseTokens("alpha-token:team-a, beta-token:team-b");
 * console.log(tokens.get("beta-token")); // "team-b"
 * ```
 */
export function parseTokens(spec: string): Map<string, string> {
  const tokens = new Map<string, string>();
  for (const entry of spec.split(",").map((s) => s.trim()).filter(Boolean)) {
    const at = entry.lastIndexOf(":");
    const token = entry.slice(0, at);
    const namespace = entry.slice(at + 1);
    if (at <= 0 || !NAMESPACE_RE.test(namespace) || /\s/.test(token)) {
      throw new TypeError(
        `R3MEM_TOKENS entries must be token:namespace (namespace of letters, digits, ".", "_", ` +
          `"-"), got "${entry.length > 12 ? entry.slice(0, 4) + "…" : entry}"`,
      );
    }
    if (tokens.has(token)) throw new TypeError("R3MEM_TOKENS lists a token twice");
    tokens.set(token, namespace);
  }
  return tokens;
}

/**
 * Middleware that resolves the request's namespace: with no tokens configured, `default`;
 * otherwise the namespace of the `Authorization: Bearer <token>` header, or a 401.
 *
 * @param tokens Token → namespace (empty: no auth).
 * @returns The middleware.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { type ServerEnv, tenantAuth } from "./auth.ts";
 * import { onError } from "./errors.ts";
 * const app = new Hono<ServerEnv>();
 * app.onError(onError);
 * app.use(tenantAuth(new Map([["t1", "team-a"]])));
 * app.get("/ns", (c) => c.text(c.get("namespace")));
 * console.log((await app.request("/ns")).status); // 401
 * const ok = await app.request("/ns", { headers: { Authorization: "Bearer t1" } });
 * console.log(await ok.text()); // "team-a"
 * ```
 */
export function tenantAuth(tokens: ReadonlyMap<string, string>): MiddlewareHandler<ServerEnv> {
  const entries = [...tokens].map(([t, ns]) => [new TextEncoder().encode(t), ns] as const);
  return async function tenantAuth(c, next) {
    if (entries.length === 0) {
      c.set("namespace", DEFAULT_NAMESPACE);
      return await next();
    }
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      throw new ApiError(
        401,
        "unauthorized",
        header ? "Authorization must be 'Bearer <token>'" : "Missing Authorization: Bearer <token>",
      );
    }
    const given = new TextEncoder().encode(match[1]);
    let namespace: string | undefined;
    // Compare against every token in constant time per token, so timing does not leak which.
    for (const [token, ns] of entries) if (sameBytes(given, token)) namespace ??= ns;
    if (namespace === undefined) throw new ApiError(401, "unauthorized", "Unknown token");
    c.set("namespace", namespace);
    await next();
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i % (a.length || 1)] ?? 0) ^ b[i];
  return diff === 0;
}
