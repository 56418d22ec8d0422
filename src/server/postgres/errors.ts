/**
 * PostgreSQL failures → the server's errors: a database that cannot be reached, is restarting or
 * has closed the connection is a 503 `unavailable` ({@link ApiError}), so clients see
 * `{error: {code, message}}` and retry, never a 500 or a hang. Other errors pass unchanged.
 *
 * @module
 */
import { ApiError } from "../errors.ts";

/** Error codes of the client and the network that mean "the database is not reachable now". */
const CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * Whether an error means the database is unreachable or going away (not a bad query): the
 * client's connection errors, the network's, and SQLSTATE classes 08 (connection exception),
 * 57P (shutdown, cannot connect now) and 53 (insufficient resources: too many connections).
 *
 * @param e What a query threw.
 * @returns Whether to answer 503.
 *
 * @example
 * ```ts
 * import { isUnavailable } from "./errors.ts";
 * console.log(isUnavailable(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }))); // true
 * console.log(isUnavailable(Object.assign(new Error("admin shutdown"), { code: "57P01" }))); // true
 * console.log(isUnavailable(Object.assign(new Error("syntax"), { code: "42601" }))); // false
 * ```
 */
export function isUnavailable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.ConnectionReset) {
    return true;
  }
  const code = (e as { code?: unknown }).code;
  if (typeof code !== "string") return false;
  return CONNECTION_CODES.has(code) || /^(08|57P|53)/.test(code);
}

/**
 * The error to throw for `e`: a 503 {@link ApiError} when the database is unavailable, `e`
 * itself otherwise.
 *
 * @param e What a query threw.
 * @returns The error to rethrow.
 *
 * @example
 * ```ts
 * import { storeError } from "./errors.ts";
 * const e = storeError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
 * console.log((e as { status?: number }).status); // 503
 * ```
 */
export function storeError(e: unknown): unknown {
  if (!isUnavailable(e)) return e;
  const why = e instanceof Error ? e.message : String(e);
  return new ApiError(503, "unavailable", `The database is unavailable (${why}); try again`);
}
