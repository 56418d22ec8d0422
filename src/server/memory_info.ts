/**
 * A stored memory as the API shows it, and the metadata size check every write makes.
 *
 * @module
 */
import { ApiError } from "./errors.ts";
import { MAX_METADATA_BYTES } from "./schemas.ts";
import type { MemoryRecord } from "./store_types.ts";

/** A memory's description in answers (`MemoryInfo` in the OpenAPI document). */
export interface MemoryInfo {
  /** Id. */
  id: string;
  /** Creation time. */
  createdAt: string;
  /** Time of this version. */
  updatedAt: string;
  /** Version number. */
  version: number;
  /** Expiry time, if any. */
  expiresAt?: string;
  /** Scope: user. */
  user_id?: string;
  /** Scope: agent. */
  agent_id?: string;
  /** Scope: run. */
  run_id?: string;
  /** Caller's metadata. */
  metadata: Record<string, unknown>;
  /** Size statistics. */
  stats: MemoryRecord["stats"];
  /** Model fingerprint. */
  model: string;
}

/**
 * The public fields of a record (a store's own fields stay inside).
 *
 * @param rec A record.
 * @returns Its description.
 *
 * @example
 * ```ts
 * import { memoryInfo } from "./memory_info.ts";
 * const stats = { bytes: 1, nodes: { document: 1, paragraph: 0, sentence: 0 }, slots: 1,
 *   residualBytes: 0, textBytes: 1, ratio: 1 };
 * const rec = { id: "a", createdAt: "t", updatedAt: "t", version: 1, metadata: {}, stats,
 *   model: "m", seq: 7 };
 * console.log("seq" in memoryInfo(rec)); // false
 * ```
 */
export function memoryInfo(rec: MemoryRecord): MemoryInfo {
  return {
    id: rec.id,
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
    version: rec.version,
    ...(rec.expiresAt !== undefined ? { expiresAt: rec.expiresAt } : {}),
    ...(rec.user_id !== undefined ? { user_id: rec.user_id } : {}),
    ...(rec.agent_id !== undefined ? { agent_id: rec.agent_id } : {}),
    ...(rec.run_id !== undefined ? { run_id: rec.run_id } : {}),
    metadata: rec.metadata,
    stats: rec.stats,
    model: rec.model,
  };
}

/**
 * Refuses metadata over {@link MAX_METADATA_BYTES} of JSON.
 *
 * @param metadata The metadata (absent: nothing to check).
 * @throws {ApiError} 413 `too_large`, with the size and the limit.
 *
 * @example
 * ```ts
 * import { checkMetadata } from "./memory_info.ts";
 * checkMetadata({ topic: "ok" }); // fine
 * try {
 *   checkMetadata({ big: "x".repeat(20000) });
 * } catch (e) {
 *   console.log((e as { status: number }).status); // 413
 * }
 * ```
 */
export function checkMetadata(metadata: Record<string, unknown> | undefined): void {
  if (metadata === undefined) return;
  const bytes = new TextEncoder().encode(JSON.stringify(metadata)).length;
  if (bytes > MAX_METADATA_BYTES) {
    throw new ApiError(
      413,
      "too_large",
      `Metadata is ${bytes} bytes of JSON; the limit is ${MAX_METADATA_BYTES}`,
    );
  }
}
