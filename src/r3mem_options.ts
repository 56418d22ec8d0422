/**
 * The options and results of `R3Mem`'s methods (`./r3mem.ts` re-exports them): loading,
 * compressing, reconstructing, searching.
 *
 * @module
 */
import type { Backend } from "./backend/backend.ts";
import type { BackendChoice } from "./backend/webgpu/choose.ts";
import type { NodeLevel } from "./codec/memory.ts";
import type { RefineBudget } from "./refine_budget.ts";
import type { SearchMode } from "./search/fusion.ts";

/** Progress events of {@link R3Mem.load}. */
export type LoadProgress =
  | { status: "download"; source: string }
  | { status: "verify"; bytes: number }
  | { status: "ready"; fingerprint: string; backend: string }
  /** Which backend runs the model and why; again when a background WebGPU probe ends. */
  | { status: "backend"; backend: string; reason: string };

/** Options of {@link R3Mem.load}. */
export interface LoadOptions {
  /** The weights: a URL (http(s) or file) or the file's bytes. Default: the embedded model. */
  weights?: URL | Uint8Array;
  /**
   * `"auto"` (default: SIMD WebAssembly, moving to WebGPU once a background probe finds a GPU
   * that passes a self-test and is faster), `"webgpu"` (WebGPU if it starts, else WebAssembly),
   * `"wasm"`, `"reference"` (plain TypeScript, slow) or a backend instance. Whatever runs the
   * model, lossless residuals are coded on WebAssembly, so every memory decodes everywhere.
   */
  backend?: BackendChoice | Backend;
  /** Called as loading proceeds. */
  onProgress?: (event: LoadProgress) => void;
  /**
   * The model's memory basis (`.r3b`), which compact memories code their document memory in:
   * a URL or the file's bytes, or `null` for none. Default: the `.r3b` file beside the weights
   * when they are given as a URL (or are the embedded default), if there is one.
   */
  basis?: URL | Uint8Array | null;
}

/** Options of {@link R3Mem.compress}. */
export interface CompressOptions {
  /** Keep the range-coded residual so the text comes back exactly (default true). */
  lossless?: boolean;
  /** Free-form annotations stored in the memory (small). */
  meta?: Record<string, string>;
  /**
   * How the memory is stored:
   * - `"code"` (the default of lossless memories when the model has a memory basis): the
   *   compact container with the document memory as a code of `coefficients` 4-bit values over
   *   the basis (by default none: storing it costs more than it saves); the document,
   *   paragraphs and sentences are derived from the exact text ({@link R3Mem.tree}), and
   *   search computes their keys from it. Smaller than brotli-11.
   * - `"all"` (the default of lossy memories, and of models without a basis): int8 slots on
   *   every node, in the full container; `memorySlots × (dim + 4)` bytes a node.
   * - `"document"`: int8 slots on the document node only.
   * - `"none"`: a compact lossless archive, no memory at all (about 16 bytes of framing); not
   *   searchable, not decodable greedily.
   */
  slots?: "code" | "all" | "document" | "none";
  /**
   * How many coefficients a code memory (`slots: "code"`) keeps of the document memory, 0 …
   * the basis' components, or `"auto"`: the residual is coded both without a code and with
   * 16 coefficients per started 64 tokens (8 … 32 bytes), and the shorter file is kept (twice
   * the coding time). Default 0: the residual is coded against the memory of nothing, which on
   * the shipped model was shorter for every text measured, validation and unseen, messages and
   * documents (`tools/code_rate.ts`; docs/FORMAT.md, "Memory code"). More coefficients keep
   * more of the memory in the file, for readers that decode from the memory alone.
   */
  coefficients?: number | "auto";
  /**
   * Code the residual with the document cache (default true): the model's distribution mixed
   * with the statistics of the text coded so far (docs/FORMAT.md). `false` codes with the model
   * alone, as versions before the cache did (for comparisons).
   */
  cache?: boolean;
  /**
   * Refine each stored memory before it is stored: start from the encoder's memory of the span
   * and improve it by gradient steps against the decoder (`src/train/refiner.ts`), so that the
   * memory alone gives more of the text back (`reconstruct({ greedy: true })`) and the residual
   * costs fewer bits. `true` is 200 steps per memory; a number is the
   * steps; `{ steps, ms, lr }` adds a time budget for the whole call. Sentences are refined
   * first, then paragraphs, then the document. Needs stored slots (`slots: "all"` or
   * `"document"`) and the asynchronous `compress` (the refiner loads on first use). Default off.
   */
  refine?: boolean | number | RefineBudget;
}

/** Options of {@link R3Mem.reconstruct}. */
export interface ReconstructOptions {
  /** Index of the node to reconstruct (default 0, the whole document). */
  node?: number;
  /** Ignore the residual and decode greedily from the memory slots alone. */
  greedy?: boolean;
}

/** Options of {@link R3Mem.search}. */
export interface SearchOptions {
  /** How many hits (default 5). */
  k?: number;
  /** Only nodes of these levels (default all). */
  levels?: NodeLevel[];
  /** Reconstruct each hit's text (default true). */
  withText?: boolean;
  /**
   * How a node is scored: `"subtree"` (default), the best match among the node and everything
   * under it (a paragraph is found by its best sentence), or `"node"`, its own memory alone.
   */
  scoring?: "subtree" | "node";
  /**
   * How nodes are ranked: `"hybrid"` (default), reciprocal-rank fusion of memory keys and BM25
   * over the memories' words (`src/search/fusion.ts`); `"keys"`, memory keys alone (what
   * versions before 0.2 did); `"lexical"`, BM25 alone. Only lossless memories have words to
   * index ({@link R3Mem.lexicalTerms}); lossy ones are ranked by their keys alone.
   */
  mode?: SearchMode;
}

/** One search result. */
export interface SearchHit {
  /** Index of the memory in the array passed to `search`. */
  memory: number;
  /** Index of the node in that memory. */
  node: number;
  /** The node's level. */
  level: NodeLevel;
  /**
   * The ranking's score: with mode `"keys"`, the cosine similarity between the query's search
   * key and the key of `match` (see `src/codec/search_keys.ts`); `"lexical"`, the BM25 score of
   * `match`; `"hybrid"`, the fused score `Σ 1/(1 + rank)` (`src/search/fusion.ts`).
   */
  score: number;
  /** Hybrid only: the key ranking's cosine, when it ranks the node among its best 100. */
  keyScore?: number;
  /** Hybrid only: the node's BM25 score, when it shares a word with the query. */
  lexicalScore?: number;
  /** The node whose memory matched best: `node` itself or one of its descendants. */
  match: number;
  /** The node's text: exact for lossless memories, greedy reconstruction otherwise. */
  text?: string;
}
