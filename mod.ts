/**
 * r3mem — reversible compressed memory for language-model applications, after R³Mem
 * (Wang et al., 2025). Text is compressed into a small hierarchical memory of virtual memory
 * tokens by a reversible transformer; running the same network backward reconstructs it,
 * exactly when the memory carries its range-coded residual.
 *
 * @example Compress, store, restore, search
 * ```ts ignore
 * import { Memory, R3Mem } from "@r3mem/r3mem";
 * const r3 = await R3Mem.load(); // the embedded default model
 * const memory = await r3.compress("Meeting moved to Friday.\n\nBring the slides.");
 * const bytes = memory.toBytes(); // .r3m
 * const text = await r3.reconstruct(Memory.fromBytes(bytes));
 * const hits = await r3.search("when is the meeting?", [memory], { k: 1 });
 * ```
 *
 * @module
 */
import type { Memory } from "./src/codec/memory.ts";
import { type CompressOptions, R3Mem, type ReconstructOptions } from "./src/r3mem.ts";

export {
  type CompressOptions,
  DEFAULT_BASIS_URL,
  DEFAULT_WEIGHTS_URL,
  type LoadOptions,
  type LoadProgress,
  R3Mem,
  type ReconstructOptions,
  type SearchHit,
  type SearchOptions,
} from "./src/r3mem.ts";
export {
  type LevelCounts,
  Memory,
  type MemoryCode,
  type MemoryData,
  type MemoryNode,
  type MemoryStats,
  type MemoryTurn,
  type NodeLevel,
} from "./src/codec/memory.ts";
export {
  FormatError,
  InputError,
  ModelMismatchError,
  R3MemError,
  type R3MemErrorCode,
} from "./src/errors.ts";
export {
  type BasisShape,
  codeLength,
  fitMemoryBasis,
  MemoryBasis,
} from "./src/codec/memory_basis.ts";
export type { ModelConfig } from "./src/model/config.ts";
export type {
  AttentionShape,
  Backend,
  F32,
  I32,
  MatmulOptions,
  Q8Matrix,
} from "./src/backend/backend.ts";
export { type EncodeOptions, Tokenizer } from "./src/model/tokenizer.ts";
export type { BackendChoice } from "./src/backend/webgpu/choose.ts";
export type { SearchMode } from "./src/search/fusion.ts";
export type { LexicalTerms } from "./src/search/lexical.ts";
export type { RefineBudget } from "./src/refine_budget.ts";
export { type AppendOptions } from "./src/append.ts";
export { conversationState, conversationTurn } from "./src/conversation_slices.ts";

let defaultModel: Promise<R3Mem> | undefined;

/**
 * The embedded default model, loaded once and shared.
 *
 * @example
 * ```ts
 * import { defaultR3Mem } from "./mod.ts";
 * const r3 = await defaultR3Mem();
 * console.log(r3.config.memorySlots); // 8
 * ```
 */
export function defaultR3Mem(): Promise<R3Mem> {
  defaultModel ??= R3Mem.load().catch((e) => {
    defaultModel = undefined; // let a later call retry
    throw e;
  });
  return defaultModel;
}

/**
 * Compresses `text` with the default model (see {@link R3Mem.compress}).
 *
 * @example
 * ```ts
 * import { compress } from "./mod.ts";
 * const memory = await compress("Remember this.");
 * console.log(memory.levels()); // { document: 1, paragraph: 1, sentence: 1 }
 * ```
 */
export async function compress(text: string, options?: CompressOptions): Promise<Memory> {
  return await (await defaultR3Mem()).compress(text, options);
}

/**
 * Reconstructs a memory's text with the default model (see {@link R3Mem.reconstruct}).
 *
 * @example
 * ```ts
 * import { compress, reconstruct } from "./mod.ts";
 * console.log(await reconstruct(await compress("Remember this."))); // "Remember this."
 * ```
 */
export async function reconstruct(memory: Memory, options?: ReconstructOptions): Promise<string> {
  return await (await defaultR3Mem()).reconstruct(memory, options);
}
