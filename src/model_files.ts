/**
 * Where the embedded default model's files are, and which memory basis goes with given weights:
 * the one given, none, the `.r3b` beside URL weights, or the default's for the default's bytes.
 *
 * @module
 */
import { MemoryBasis } from "./codec/memory_basis.ts";
import { InputError } from "./errors.ts";
import { readUrl } from "./local_file.ts";
import { parseConfig } from "./model/config.ts";
import type { WeightsFile } from "./model/weights_format.ts";

/** Where the embedded default model lives. */
export const DEFAULT_WEIGHTS_URL: URL = new URL("../weights/r3mem-default.r3w", import.meta.url);
/** Where the default model's memory basis lives (`docs/FORMAT.md`, "Memory basis"). */
export const DEFAULT_BASIS_URL: URL = new URL("../weights/r3mem-default.r3b", import.meta.url);

/**
 * The shape the kernels are compiled for, from the weights' config (they compile while the
 * weights are still being read and hashed).
 *
 * @example
 * ```ts
 * import { kernelShape } from "./model_files.ts";
 * import { buildRandomModel } from "./model/random_model.ts";
 * import { readWeights } from "./model/weights_format.ts";
 * console.log(kernelShape(await readWeights(await buildRandomModel())).rows > 0); // true
 * ```
 */
export function kernelShape(file: WeightsFile): {
  dim: number;
  ffnDim: number;
  heads: number;
  layers: number;
  rows: number;
} {
  const c = parseConfig(file.config);
  const rows = 2 * c.memorySlots + c.segmentTokens;
  return { dim: c.dim, ffnDim: c.ffnDim, heads: c.heads, layers: c.layers, rows };
}

/**
 * The memory basis to load for `weights` (see the module doc).
 *
 * @param given The caller's `basis` option.
 * @param weights The weights' URL or bytes.
 * @param file The weights file, being read.
 * @returns The basis, or null.
 * @throws {InputError} When a basis given explicitly cannot be loaded.
 *
 * @example
 * ```ts
 * import { loadBasis } from "./model_files.ts";
 * import { buildRandomModel } from "./model/random_model.ts";
 * import { readWeights } from "./model/weights_format.ts";
 * const bytes = await buildRandomModel();
 * console.log(await loadBasis(null, bytes, readWeights(bytes))); // null
 * ```
 */
export async function loadBasis(
  given: URL | Uint8Array | null | undefined,
  weights: URL | Uint8Array,
  file: Promise<WeightsFile>,
): Promise<MemoryBasis | null> {
  if (given === null) return null;
  if (given instanceof Uint8Array) return MemoryBasis.fromBytes(given);
  if (given !== undefined && !(given instanceof URL)) {
    throw new InputError(`basis must be a URL, a Uint8Array or null`);
  }
  let url = given;
  if (!url && weights instanceof Uint8Array) {
    const basis = await loadBasis(DEFAULT_BASIS_URL, DEFAULT_WEIGHTS_URL, file).catch(() => null);
    return basis && basis.model === (await file).fingerprint ? basis : null;
  }
  if (!url) {
    if (!(weights instanceof URL) || !/\.r3w$/.test(weights.pathname)) return null;
    url = new URL(weights.href.replace(/\.r3w(?=$|[?#])/, ".r3b"));
  }
  let bytes: Uint8Array;
  try {
    bytes = await readUrl(url); // file: URLs from the disk in Deno and Node.js, others fetched
  } catch (e) {
    if (given) {
      throw new InputError(`Could not load the memory basis from ${url.href}: ${e}`, { cause: e });
    }
    return null; // no basis beside the weights: memories default to slots "all"
  }
  return MemoryBasis.fromBytes(bytes);
}
