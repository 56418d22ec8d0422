/**
 * Errors → HTTP, in one place. Every failure the server answers is `{ error: { code, message } }`
 * with the status {@link statusOf} picks; the library's typed errors ({@link R3MemError}) are
 * mapped here and nowhere else.
 *
 * @module
 */
import { HTTPException } from "hono/http-exception";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { R3MemError } from "../errors.ts";

/** Machine-readable codes of server errors: the library's codes plus the server's own. */
export type ApiErrorCode =
  | "bad_input"
  | "bad_format"
  | "model_mismatch"
  | "too_large"
  | "unauthorized"
  | "not_found"
  | "conflict"
  | "unsupported_media_type"
  | "rate_limited"
  | "overloaded"
  | "unavailable"
  | "timeout"
  | "internal";

/** The JSON body of every error response. */
export interface ErrorBody {
  /** What went wrong. */
  error: {
    /** Stable code for programs. */
    code: ApiErrorCode;
    /** Sentence-case description for people. */
    message: string;
  };
}

/**
 * An error the server answers with a given status and code.
 *
 * @example
 * ```ts
 * import { ApiError } from "./errors.ts";
 * const e = new ApiError(404, "not_found", "No memory with id 42");
 * console.log(e.status, e.code); // 404 not_found
 * ```
 */
export class ApiError extends Error {
  /** HTTP status. */
  readonly status: ContentfulStatusCode;
  /** Stable code. */
  readonly code: ApiErrorCode;
  /**
   * An error answered with `status` and `code`.
   *
   * @param status HTTP status of the response.
   * @param code Stable code.
   * @param message What was expected and what came.
   */
  constructor(status: ContentfulStatusCode, code: ApiErrorCode, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** Codes of {@link PoolError}: the worker pool's own failures. */
export type PoolErrorCode =
  | "overloaded"
  | "closed"
  | "worker_failed"
  | "cancelled"
  | "deadline";

/**
 * A failure of the inference worker pool (not of the caller's input).
 *
 * @example
 * ```ts
 * import { PoolError } from "./errors.ts";
 * console.log(new PoolError("overloaded", "Queue is full (256 jobs)").code); // "overloaded"
 * ```
 */
export class PoolError extends Error {
  /** What failed. */
  readonly code: PoolErrorCode;
  /**
   * A pool failure.
   *
   * @param code What failed.
   * @param message Details.
   */
  constructor(code: PoolErrorCode, message: string) {
    super(message);
    this.name = "PoolError";
    this.code = code;
  }
}

const LIBRARY_STATUS: Record<R3MemError["code"], ContentfulStatusCode> = {
  bad_input: 400,
  bad_format: 422,
  model_mismatch: 422,
  too_large: 413,
};

const HTTP_CODES: Partial<Record<number, ApiErrorCode>> = {
  400: "bad_input",
  401: "unauthorized",
  404: "not_found",
  409: "conflict",
  413: "too_large",
  415: "unsupported_media_type",
  422: "bad_format",
  429: "rate_limited",
  503: "unavailable",
  504: "timeout",
};

/**
 * The status and body that answer `err`: library errors by their code, {@link ApiError} as
 * given, Hono's `HTTPException`s (malformed JSON, 415…) by status, pool failures as 503, and
 * anything else as a 500 whose message hides the details.
 *
 * @param err What was thrown.
 * @returns Status and JSON body.
 *
 * @example
 * ```ts
 * import { toErrorResponse } from "./errors.ts";
 * import { FormatError } from "../errors.ts";
 * const { status, body } = toErrorResponse(new FormatError("Bad magic"));
 * console.log(status, body.error.code); // 422 bad_format
 * ```
 */
export function toErrorResponse(err: unknown): { status: ContentfulStatusCode; body: ErrorBody } {
  const make = (status: ContentfulStatusCode, code: ApiErrorCode, message: string) => ({
    status,
    body: { error: { code, message } },
  });
  if (err instanceof ApiError) return make(err.status, err.code, err.message);
  if (err instanceof R3MemError) {
    return make(LIBRARY_STATUS[err.code] ?? 400, err.code, err.message);
  }
  if (err instanceof PoolError) {
    if (err.code === "overloaded") return make(503, "overloaded", err.message);
    if (err.code === "deadline") return make(504, "timeout", err.message);
    if (err.code === "worker_failed") return make(500, "internal", err.message);
    return make(503, "unavailable", err.message);
  }
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    if (status === 415) {
      return make(
        415,
        "unsupported_media_type",
        "Unsupported Content-Type: send application/json (/v1/reconstruct also takes " +
          "application/octet-stream)",
      );
    }
    return make(
      status,
      HTTP_CODES[status] ?? (status >= 500 ? "internal" : "bad_input"),
      err.message,
    );
  }
  return make(500, "internal", "Internal server error");
}

/**
 * Hono's `onError` handler: answers with {@link toErrorResponse} and logs unexpected errors.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { ApiError, onError } from "./errors.ts";
 * const app = new Hono().get("/x", () => {
 *   throw new ApiError(404, "not_found", "Nothing here");
 * });
 * app.onError(onError);
 * const res = await app.request("/x");
 * console.log(res.status, (await res.json()).error.code); // 404 not_found
 * ```
 */
export function onError(err: Error, c: Context): Response {
  const { status, body } = toErrorResponse(err);
  if (status >= 500 && !(err instanceof PoolError)) console.error("r3mem server error:", err);
  if (status === 401) c.header("WWW-Authenticate", 'Bearer realm="r3mem"');
  return c.json(body, status);
}

/** One issue of a failed validation, as Zod reports it. */
interface Issue {
  path: PropertyKey[];
  message: string;
}

/**
 * The message of a failed validation: each issue as `field: message`.
 *
 * @param issues Zod's issues.
 * @returns One sentence.
 *
 * @example
 * ```ts
 * import { describeIssues } from "./errors.ts";
 * console.log(describeIssues([{ path: ["text"], message: "Text must not be empty" }]));
 * // "Invalid request: text: Text must not be empty"
 * ```
 */
export function describeIssues(issues: readonly Issue[]): string {
  const parts = issues.slice(0, 5).map((i) => {
    const where = i.path.map(String).join(".");
    return where ? `${where}: ${i.message}` : i.message;
  });
  if (issues.length > 5) parts.push(`and ${issues.length - 5} more`);
  return `Invalid request: ${parts.join("; ")}`;
}
