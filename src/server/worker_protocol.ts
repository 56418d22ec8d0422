/**
 * The messages between the {@link WorkerPool} (`./worker_pool.ts`) and its workers
 * (`./worker.ts`), and how an error crosses that boundary and comes back typed.
 *
 * @module
 */
import type { RefineBudget } from "../refine_budget.ts";
import type { BackendChoice } from "../backend/webgpu/choose.ts";
import { FormatError, InputError, ModelMismatchError, R3MemError } from "../errors.ts";
import { PoolError } from "./errors.ts";

/** A job as the pool posts it to a worker. */
export type JobRequest =
  | {
    op: "compress";
    text: string;
    lossless: boolean;
    slots?: "code" | "all" | "document" | "none";
    refine?: RefineBudget;
  }
  | { op: "reconstruct"; bytes: Uint8Array; node: number }
  | { op: "index"; bytes: Uint8Array }
  | { op: "query_key"; query: string }
  | { op: "append"; state: Uint8Array | null; text: string };

/** Messages the pool sends to a worker. */
export type ToWorker =
  | { type: "init"; weights: string | Uint8Array; backend?: BackendChoice }
  | { type: "job"; id: number; job: JobRequest }
  | { type: "cancel"; id: number };

/** An error as it crosses the worker boundary. */
export interface WireError {
  /** `R3MemError` code, or `internal`. */
  code: string;
  /** Message. */
  message: string;
}

/** Messages a worker sends back. */
export type FromWorker =
  | { type: "ready"; fingerprint: string; backend: string }
  | { type: "init_error"; error: WireError }
  | { type: "piece"; id: number; text: string }
  | { type: "result"; id: number; value: unknown }
  | { type: "error"; id: number; error: WireError };

/**
 * The error a {@link WireError} stands for: the library's typed errors by their code, the pool's
 * own as `PoolError`.
 *
 * @example
 * ```ts
 * import { fromWire } from "./worker_protocol.ts";
 * console.log(fromWire({ code: "bad_input", message: "Text must not be empty" }).name);
 * ```
 */
export function fromWire(error: WireError): Error {
  switch (error.code) {
    case "bad_input":
      return new InputError(error.message);
    case "bad_format":
      return new FormatError(error.message);
    case "model_mismatch":
      return new ModelMismatchError(error.message);
    case "too_large":
      return new R3MemError("too_large", error.message);
    case "cancelled":
      return new PoolError("cancelled", error.message);
    default:
      return new PoolError("worker_failed", error.message);
  }
}
