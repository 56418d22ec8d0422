/**
 * `R3Mem`: a loaded model that compresses text into a hierarchical memory, reconstructs text
 * from it (exactly when the memory carries its residual), and searches memories.
 *
 * @module
 */
import type { Backend } from "./backend/backend.ts";
import { type BackendChoice, chooseBackend } from "./backend/webgpu/choose.ts";
import { Memory, type MemoryNode, type NodeLevel } from "./codec/memory.ts";
import { codeLength, MemoryBasis } from "./codec/memory_basis.ts";
import { buildTree } from "./codec/memory_tree.ts";
import { cosine, nodeKey, scoreNodes } from "./codec/search_keys.ts";
import { fuseRankings, type Ranked, SEARCH_MODES, type SearchMode } from "./search/fusion.ts";
import {
  type LexicalDoc,
  type LexicalTerms,
  lexicalTermsOf,
  rankLexical,
} from "./search/lexical.ts";
import { decodeResidual, encodeResidual } from "./codec/residual_coder.ts";
import { type AppendModel, type AppendOptions, appendTurn, turnTexts } from "./append.ts";
import { FormatError, InputError, ModelMismatchError } from "./errors.ts";
import { readUrl } from "./local_file.ts";
import { type ModelConfig, parseConfig } from "./model/config.ts";
import { Tokenizer } from "./model/tokenizer.ts";
import { ReversibleTransformer } from "./model/transformer.ts";
import { uploadWeights } from "./model/weights.ts";
import {
  loadWeightsFrom,
  quantizeRowsInt8,
  type Tensor,
  type WeightsFile,
} from "./model/weights_format.ts";
import { parseRefine, type RefineBudget } from "./refine_budget.ts";
import type { MemoryRefiner } from "./train/refiner.ts";

// Loaded on the first compress with `refine` (see #loadRefiner).
const REFINER_MODULE = new URL("./train/refiner.ts", import.meta.url).href;

/** Where the embedded default model lives. */
export const DEFAULT_WEIGHTS_URL: URL = new URL("../weights/r3mem-default.r3w", import.meta.url);
/** Where the default model's memory basis lives (`docs/FORMAT.md`, "Memory basis"). */
export const DEFAULT_BASIS_URL: URL = new URL("../weights/r3mem-default.r3b", import.meta.url);

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
   *   compact container with the document memory as a few 4-bit coefficients over the basis
   *   (8 to 32 bytes); paragraphs and sentences are derived from the exact text
   *   ({@link R3Mem.tree}), and search computes their keys from it. Smaller than brotli-11.
   * - `"all"` (the default of lossy memories, and of models without a basis): int8 slots on
   *   every node, in the full container; `memorySlots × (dim + 4)` bytes a node.
   * - `"document"`: int8 slots on the document node only.
   * - `"none"`: a compact lossless archive, no memory at all (about 16 bytes of framing); not
   *   searchable, not decodable greedily.
   */
  slots?: "code" | "all" | "document" | "none";
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

/**
 * A loaded r3mem model.
 *
 * @example Compress and restore
 * ```ts
 * import { R3Mem } from "./r3mem.ts";
 * import { buildRandomModel } from "./model/random_model.ts";
 * const r3 = await R3Mem.load({ weights: await buildRandomModel({ seed: 1 }) });
 * const memory = await r3.compress("Hello, memory.");
 * console.log(await r3.reconstruct(memory)); // "Hello, memory."
 * ```
 */
export class R3Mem {
  /** The model's configuration. */
  readonly config: ModelConfig;
  /** The tokenizer. */
  readonly tokenizer: Tokenizer;
  /** SHA-256 of the weights file; memories record it. */
  readonly fingerprint: string;
  /** Free metadata of the weights file (recipe, scores…). */
  readonly metadata: Record<string, unknown>;
  /** The memory basis compact memories are coded in (`null`: the model has none). */
  readonly basis: MemoryBasis | null;
  #model: ReversibleTransformer;
  // Codes the residual: the model's own transformer unless that runs on WebGPU (then a second
  // one on WebAssembly: the coder's probabilities must be the same bits on every machine).
  readonly #coder: ReversibleTransformer;
  readonly #backendChosen: Promise<string>;
  // Trees and search keys of compact memories, derived from their text once.
  readonly #trees = new WeakMap<Memory, DerivedTree>();
  readonly #keys = new WeakMap<Memory, (Float32Array | null)[]>();
  // Exact text of lossless memories written here, and term counts for lexical search.
  readonly #texts = new WeakMap<Memory, string>();
  readonly #lexical = new WeakMap<Memory, LexicalTerms | null>();
  // The runtime's tensors, for the refiner (built on first use: it holds an f32 decoder).
  readonly #tensors: Map<string, Tensor>;
  #refiner: Promise<MemoryRefiner> | null = null;
  #refinerReady: MemoryRefiner | null = null;

  private constructor(
    file: WeightsFile,
    backend: Backend,
    basis: MemoryBasis | null,
    coder: Backend = backend,
    upgrade?: Promise<{ backend: Backend | null; reason: string }>,
    progress: (event: LoadProgress) => void = () => {},
  ) {
    this.config = parseConfig(file.config);
    this.tokenizer = Tokenizer.fromBytes(file.tokenizerBytes);
    if (this.tokenizer.vocabSize !== this.config.vocabSize) {
      throw new FormatError(
        `Tokenizer has ${this.tokenizer.vocabSize} tokens, config says ${this.config.vocabSize}`,
      );
    }
    this.fingerprint = file.fingerprint;
    this.metadata = file.metadata;
    this.#tensors = file.tensors;
    if (basis) {
      if (basis.model !== file.fingerprint) {
        throw new ModelMismatchError(
          `The memory basis belongs to model ${basis.model.slice(0, 12)}…, ` +
            `these weights are ${file.fingerprint.slice(0, 12)}…: rebuild it ` +
            `(tools/memory_basis.ts) or load without it (basis: null)`,
        );
      }
      if (basis.slotCount !== this.config.memorySlots || basis.dim !== this.config.dim) {
        throw new FormatError(`The memory basis' shape does not match the model's`);
      }
    }
    this.basis = basis;
    const build = (be: Backend) =>
      new ReversibleTransformer(be, this.config, uploadWeights(be, this.config, file.tensors));
    this.#model = build(backend);
    this.#coder = coder === backend ? this.#model : build(coder);
    this.#backendChosen = !upgrade ? Promise.resolve(backend.name) : upgrade.then((u) => {
      let reason = u.reason;
      try {
        if (u.backend) this.#model = build(u.backend);
      } catch (e) {
        reason = `WebGPU failed to load the model (${(e as Error).message}); staying on wasm`;
      }
      try {
        progress({ status: "backend", backend: this.backend, reason });
      } catch { /* a throwing callback must not undo the choice */ }
      return this.backend;
    });
  }

  /**
   * Loads a model: the embedded default, or the weights given.
   *
   * @param options Where the weights are, which backend, progress callback.
   * @returns The model, ready to compress.
   * @throws {FormatError} When the weights file is damaged or foreign.
   *
   * @example
   * ```ts
   * import { R3Mem } from "./r3mem.ts";
   * import { buildRandomModel } from "./model/random_model.ts";
   * const r3 = await R3Mem.load({ weights: await buildRandomModel(), backend: "wasm" });
   * console.log(r3.config.memorySlots > 0); // true
   * ```
   */
  static async load(options: LoadOptions = {}): Promise<R3Mem> {
    const source = options.weights ?? DEFAULT_WEIGHTS_URL;
    const progress = options.onProgress ?? (() => {});
    if (!(source instanceof Uint8Array)) progress({ status: "download", source: String(source) });
    // The kernels compile while the weights are read and hashed.
    const fileReady = loadWeightsFrom(source);
    const shape = fileReady.then((f) => {
      const c = parseConfig(f.config);
      const rows = 2 * c.memorySlots + c.segmentTokens;
      return { dim: c.dim, ffnDim: c.ffnDim, heads: c.heads, layers: c.layers, rows };
    });
    const [file, picked, basis] = await Promise.all([
      fileReady,
      chooseBackend(options.backend, shape),
      loadBasis(options.basis, source, fileReady),
    ]);
    progress({ status: "verify", bytes: source instanceof Uint8Array ? source.length : 0 });
    const { backend, coder, reason, upgrade } = picked;
    const r3 = new R3Mem(file, backend, basis, coder, upgrade, progress);
    progress({ status: "backend", backend: backend.name, reason });
    progress({ status: "ready", fingerprint: r3.fingerprint, backend: backend.name });
    return r3;
  }

  /**
   * Name of the backend the model runs on: `"webgpu"`, `"wasm"` or `"reference"`. With
   * `backend: "auto"` it is `"wasm"` until the background WebGPU probe moves the model.
   */
  get backend(): string {
    return this.#model.backend.name;
  }

  /**
   * The backend the model runs on once backend selection is over (for `"auto"`, when the
   * background WebGPU probe has ended; at once otherwise).
   *
   * @example
   * ```ts
   * import { R3Mem } from "./r3mem.ts";
   * import { buildRandomModel } from "./model/random_model.ts";
   * const r3 = await R3Mem.load({ weights: await buildRandomModel(), backend: "wasm" });
   * console.log(await r3.backendChosen); // "wasm"
   * ```
   */
  get backendChosen(): Promise<string> {
    return this.#backendChosen;
  }

  /**
   * Compresses `text` into a hierarchical memory: one document node, a node per paragraph and
   * one per sentence, each holding `memorySlots` int8 slots. Lossless by default: the memory
   * also carries the range-coded residual that restores the exact text.
   *
   * @param text Any well-formed string (non-empty).
   * @param options `lossless: false` keeps the memory slots only.
   * @returns The memory.
   * @throws {InputError} When `text` is not a non-empty well-formed string.
   *
   * @example
   * ```ts
   * import { R3Mem } from "./r3mem.ts";
   * import { buildRandomModel } from "./model/random_model.ts";
   * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
   * const m = await r3.compress("First paragraph.\n\nSecond one. Two sentences.");
   * console.log(m.levels()); // { document: 1, paragraph: 2, sentence: 3 }
   * ```
   */
  async compress(text: string, options: CompressOptions = {}): Promise<Memory> {
    if (parseRefine(options.refine)) await this.#loadRefiner();
    return this.compressSync(text, options);
  }

  // The refiner, loaded once (the trainer engine and its own WebAssembly backend, f32 kernels).
  #loadRefiner(): Promise<MemoryRefiner> {
    this.#refiner ??= (async () => {
      // A specifier Deno cannot follow statically: the trainer's engine (~20 modules) is fetched
      // only by callers that refine, not by every remote import of the library.
      const [{ MemoryRefiner }, { createWasmBackend }] = await Promise.all([
        import(REFINER_MODULE) as Promise<typeof import("./train/refiner.ts")>,
        import("./backend/wasm/wasm_backend.ts"),
      ]);
      const backend = await createWasmBackend({ deterministic: false });
      return this.#refinerReady = new MemoryRefiner(backend, this.config, this.#tensors);
    })();
    return this.#refiner;
  }

  /** Synchronous {@link compress} (blocks the thread while it runs). */
  compressSync(text: string, options: CompressOptions = {}): Memory {
    if (typeof text !== "string") {
      throw new InputError(`Text must be a string, got ${typeName(text)}`);
    }
    if (text.length === 0) throw new InputError("Text must not be empty");
    const lossless = options.lossless ?? true;
    const slots = options.slots ?? (lossless && this.basis ? "code" : "all");
    if (!Object.hasOwn(SLOT_LEVELS, slots)) {
      throw new InputError(
        `slots must be "code", "all", "document" or "none", got ${String(slots)}`,
      );
    }
    const refine = parseRefine(options.refine);
    if (refine && slots !== "all" && slots !== "document") {
      throw new InputError(
        `refine improves stored slots: use slots "all" or "document" (got "${slots}")`,
      );
    }
    if (refine && !this.#refinerReady) {
      throw new InputError(`refine needs the asynchronous compress() (it loads the refiner)`);
    }
    if (slots === "code" && !this.basis) {
      throw new InputError(
        `slots "code" needs the model's memory basis (a .r3b file; see tools/memory_basis.ts)`,
      );
    }
    // 1. Spans: the document, its paragraphs, their sentences; tokens are the concatenation of
    // each sentence's tokens, so every node's span falls on token boundaries.
    const tree = buildTree(text, (piece) => this.tokenizer.encode(piece)); // InputError on lone surrogates
    const { nodes, ids: all, bytes: bytePos } = tree;
    // 2. Memories of the kept levels. Equal spans have equal memories (a one-sentence paragraph,
    // a one-paragraph document): computed once.
    const keep = SLOT_LEVELS[slots];
    const cache = new Map<string, { q: Int8Array; scales: Float32Array }>();
    // With refinement, sentences first: greedy reconstruction reads the smallest nodes.
    const order = refine ? nodes.slice().reverse() : nodes;
    const deadline = refine?.ms !== undefined ? performance.now() + refine.ms : undefined;
    for (const node of order) {
      if (!keep.includes(node.level)) continue;
      const key = `${node.tokenStart}:${node.tokenEnd}`;
      let m = cache.get(key);
      if (!m) {
        const span = all.slice(node.tokenStart, node.tokenEnd);
        let memory = this.#compressTokens(span);
        if (refine) {
          memory =
            this.#refinerReady!.refine(Int32Array.from(span), memory, refine, deadline).memory;
        }
        m = quantizeRowsInt8(memory, this.config.memorySlots, this.config.dim);
        cache.set(key, m);
      }
      node.slots = m.q;
      node.scales = m.scales;
    }
    const useCache = options.cache ?? true;
    if (typeof useCache !== "boolean") throw new InputError(`cache must be a boolean`);
    if (!lossless && (slots === "none" || slots === "code")) {
      throw new InputError(`A lossy memory needs slots: use slots "all" or "document"`);
    }
    // A code memory stores its document memory as a code over the basis; the residual is coded
    // against the memory the code stands for, which is what a reader rebuilds.
    const root = slots === "code" ? this.#compressTokens(all) : undefined;
    const code = root
      ? {
        basis: this.basis!.id,
        values: this.basis!.encode(root, codeLength(all.length, this.basis!.components)),
      }
      : undefined;
    const derived = slots === "code" ? nodes.slice() : null;
    // Compact memories keep the document node alone: its sub-tree is derivable from the text.
    if (slots === "none" || slots === "code") nodes.length = 1;
    // 3. The residual, coded against the document memory when it is stored (else the memory of
    // nothing, so a slot-less memory still decodes).
    const docMemory = code ? this.basis!.decode(code.values) : this.#memoryOf(nodes[0]);
    const memory = new Memory({
      modelFingerprint: this.fingerprint,
      // Slot-less archives go in the compact container: no node table, 4-byte fingerprint.
      container: slots === "none" || slots === "code" ? "compact" : "full",
      slotCount: this.config.memorySlots,
      dim: this.config.dim,
      textBytes: bytePos,
      tokenCount: all.length,
      nodes,
      residual: lossless
        ? {
          codedTokens: all.length,
          bytes: encodeResidual(this.#coder, docMemory, all, useCache),
          ...(useCache ? { cache: true } : {}),
        }
        : undefined,
      meta: options.meta,
      ...(code ? { code } : {}),
    });
    // Kept for search keys: the tree and the document's full memory (not computed again).
    if (derived) this.#trees.set(memory, { nodes: derived, ids: Int32Array.from(all), root });
    if (lossless) this.#texts.set(memory, text);
    return memory;
  }

  /**
   * The memory's node tree, root first: its own nodes, or for a memory stored with
   * `slots: "code"` (which keeps only its document node) the tree `compress` builds —
   * paragraphs and sentences, without slots — derived from the exact text. Search hits and
   * `reconstruct({ node })` index this tree.
   *
   * @param memory A memory written by this model.
   * @returns The nodes (do not modify them).
   * @throws {FormatError} When a code memory's text does not give back its own spans.
   *
   * @example
   * ```ts
   * import { R3Mem } from "./r3mem.ts";
   * import { buildRandomModel } from "./model/random_model.ts";
   * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
   * const m = await r3.compress("One. Two.\n\nThree.");
   * console.log(r3.tree(m).length); // 6
   * ```
   */
  tree(memory: Memory): readonly MemoryNode[] {
    this.#checkMemory(memory);
    if (!memory.code) return memory.nodes;
    return this.#derivedTree(memory).nodes;
  }

  // The tree and tokens of a code memory: kept from compress, or decoded once.
  #derivedTree(memory: Memory): DerivedTree {
    let tree = this.#trees.get(memory);
    if (!tree) {
      const ids: number[] = [];
      for (
        const batch of decodeResidual(this.#coder, this.#docMemory(memory), memory, memory.nodes[0])
      ) {
        for (const id of batch) ids.push(id);
      }
      const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(this.#bytesOf(ids));
      const built = buildTree(text, (piece) => this.tokenizer.encode(piece));
      if (
        built.bytes !== memory.textBytes || built.ids.length !== ids.length ||
        built.ids.some((id, i) => id !== ids[i])
      ) {
        throw new FormatError(`The memory's text does not give back its own tokens: damaged`);
      }
      tree = { nodes: built.nodes, ids: Int32Array.from(ids) };
      this.#trees.set(memory, tree);
    }
    return tree;
  }

  /**
   * The search key of every node of the memory's tree ({@link R3Mem.tree}): from the stored
   * slots, or, for a code memory, from the memories of the nodes' exact text (what slots
   * `"all"` would have stored); `null` for a node that has neither.
   *
   * @param memory A memory written by this model.
   * @returns One unit key (or `null`) per node.
   *
   * @example
   * ```ts
   * import { R3Mem } from "./r3mem.ts";
   * import { buildRandomModel } from "./model/random_model.ts";
   * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
   * const m = await r3.compress("Keys from slots.", { slots: "all" });
   * console.log(r3.nodeKeys(m).length === m.nodes.length); // true
   * ```
   */
  nodeKeys(memory: Memory): (Float32Array | null)[] {
    this.#checkMemory(memory);
    const D = this.config.dim;
    if (!memory.code) return memory.nodes.map((n) => nodeKey(n, D));
    let keys = this.#keys.get(memory);
    if (!keys) {
      const { nodes, ids, root } = this.#derivedTree(memory);
      const byspan = new Map<string, Float32Array>();
      keys = nodes.map((n, i) => {
        const k = `${n.tokenStart}:${n.tokenEnd}`;
        let key = byspan.get(k);
        if (!key) {
          const { q, scales } = quantizeRowsInt8(
            i === 0 && root ? root : this.#compressTokens(ids.slice(n.tokenStart, n.tokenEnd)),
            this.config.memorySlots,
            D,
          );
          byspan.set(k, key = nodeKey({ slots: q, scales }, D)!);
        }
        return key;
      });
      this.#keys.set(memory, keys);
    }
    return keys;
  }

  /**
   * Reconstructs the text of a memory (or of one node). Exact when the memory is lossless;
   * otherwise each sentence is decoded greedily from its own slots.
   *
   * @param memory A memory written by this model.
   * @param options Which node; `greedy` to ignore the residual.
   * @returns The text.
   * @throws {ModelMismatchError} When another model wrote the memory.
   *
   * @example
   * ```ts
   * import { R3Mem } from "./r3mem.ts";
   * import { buildRandomModel } from "./model/random_model.ts";
   * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
   * const m = await r3.compress("A. B.\n\nC.");
   * console.log(await r3.reconstruct(m, { node: m.children(0)[1] })); // "C."
   * ```
   */
  reconstruct(memory: Memory, options: ReconstructOptions = {}): Promise<string> {
    try {
      let out = "";
      for (const piece of this.#pieces(memory, options)) out += piece;
      return Promise.resolve(out);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Like {@link reconstruct}, yielding text as it is decoded.
   *
   * @example
   * ```ts
   * import { R3Mem } from "./r3mem.ts";
   * import { buildRandomModel } from "./model/random_model.ts";
   * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
   * const m = await r3.compress("Streamed text.");
   * let text = "";
   * for await (const piece of r3.reconstructStream(m)) text += piece;
   * console.log(text); // "Streamed text."
   * ```
   */
  async *reconstructStream(
    memory: Memory,
    options: ReconstructOptions = {},
  ): AsyncGenerator<string, void, undefined> {
    for (const piece of this.#pieces(memory, options)) {
      yield piece;
      await yieldToEventLoop(); // let timers and I/O run between pieces
    }
  }

  // The text of a reconstruction, piece by piece (synchronously).
  *#pieces(memory: Memory, options: ReconstructOptions): Generator<string, void, undefined> {
    this.#checkMemory(memory);
    const index = options.node ?? 0;
    if (memory.code && options.greedy && index !== 0) {
      throw new InputError(
        `Node ${index} has no memory of its own (a code memory stores only the document's); ` +
          `reconstruct it exactly, without greedy`,
      );
    }
    // A code memory's paragraphs and sentences are derived from its text (decoded once).
    const nodes = memory.code && index !== 0 ? this.tree(memory) : memory.nodes;
    const node = nodes[index];
    if (!node) {
      throw new InputError(`Node ${index} does not exist (the memory has ${nodes.length})`);
    }
    // A conversation (./append.ts): every turn decodes from its own stream.
    if (memory.data.turns && !options.greedy) {
      return yield* turnTexts(this.#appendModel(), memory, index);
    }
    const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
    const residual = memory.residual;
    if (residual && !options.greedy && residual.codedTokens === memory.tokenCount) {
      // Exact: decode the whole token stream, yield the node's part.
      for (const ids of decodeResidual(this.#coder, this.#docMemory(memory), memory, node)) {
        const text = decoder.decode(this.#bytesOf(ids), { stream: true });
        if (text) yield text;
      }
    } else if (memory.code) {
      // Memory alone: the document memory the code stands for (the only memory stored).
      for (const ids of this.#greedy(node, this.#docMemory(memory))) {
        const text = decoder.decode(this.#bytesOf(ids), { stream: true });
        if (text) yield text;
      }
    } else {
      for (const leaf of greedyUnits(memory, index)) {
        const unit = memory.nodes[leaf];
        for (const ids of this.#greedy(unit, this.#memoryOf(unit))) {
          const text = decoder.decode(this.#bytesOf(ids), { stream: true });
          if (text) yield text;
        }
      }
    }
    const tail = decoder.decode();
    if (tail) yield tail;
  }

  /**
   * Adds `text` to a conversation memory as a new turn, without decoding or re-reading what is
   * there: the document memory is updated recurrently (the encoder continues from it over the
   * turn's tokens) and stays the same size however long the conversation grows; the turn's
   * residual is coded against that memory, stored with the turn (a 8–32-byte code, or int8
   * slots without a memory basis), so every turn reconstructs exactly on its own
   * (`reconstruct(memory, { node: n })`, node `n` is turn `n − 1`). See `src/append.ts`.
   *
   * @param memory The conversation so far (from `append`), or `null` to start one.
   * @param text The turn (non-empty).
   * @param options How the turn stores its memory; the document cache; annotations.
   * @returns A new memory with one more paragraph node (the argument is not changed).
   * @throws {InputError} For empty text, or a memory that is not a conversation.
   *
   * @example
   * ```ts
   * import { R3Mem } from "./r3mem.ts";
   * import { buildRandomModel } from "./model/random_model.ts";
   * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
   * let chat = await r3.append(null, "user: hello");
   * chat = await r3.append(chat, "assistant: hi there");
   * console.log(await r3.reconstruct(chat, { node: 2 })); // "assistant: hi there"
   * ```
   */
  append(memory: Memory | null, text: string, options: AppendOptions = {}): Promise<Memory> {
    try {
      if (memory !== null) this.#checkMemory(memory);
      return Promise.resolve(appendTurn(this.#appendModel(), memory, text, options));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  // What ./append.ts needs of the model.
  #appendModel(): AppendModel {
    const { config, tokenizer, fingerprint, basis } = this;
    return { config, tokenizer, fingerprint, basis, model: this.#model, coder: this.#coder };
  }

  /**
   * Finds the nodes that best match the query. By default (`mode: "hybrid"`) two rankings are
   * fused by reciprocal rank (`src/search/fusion.ts`): memory keys — the cosine similarity of
   * search keys (mean slots, unit length) — and BM25 over the words of lossless memories
   * (`src/search/lexical.ts`). Both score each node by the best match in its subtree (see
   * `src/codec/search_keys.ts`), so a paragraph or document is found through its sentences.
   *
   * @param query Text to look for.
   * @param memories Memories written by this model.
   * @param options `k`, levels, whether to reconstruct each hit's text, scoring, mode.
   * @returns Up to `k` hits, best first.
   *
   * @example
   * ```ts
   * import { R3Mem } from "./r3mem.ts";
   * import { buildRandomModel } from "./model/random_model.ts";
   * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
   * const m = await r3.compress("Cats purr.\n\nDogs bark.");
   * const hits = await r3.search("Dogs bark.", [m], { k: 1, levels: ["paragraph"] });
   * console.log(hits[0].text); // "Dogs bark."
   * ```
   */
  async search(
    query: string,
    memories: Memory[],
    options: SearchOptions = {},
  ): Promise<SearchHit[]> {
    if (typeof query !== "string" || query.length === 0) {
      throw new InputError("Query must be a non-empty string");
    }
    const k = options.k ?? 5;
    if (!Number.isInteger(k) || k < 1) {
      throw new InputError(`k must be a positive integer, got ${k}`);
    }
    const scoring = options.scoring ?? "subtree";
    if (scoring !== "subtree" && scoring !== "node") {
      throw new InputError(`scoring must be "subtree" or "node", got ${String(scoring)}`);
    }
    const mode = options.mode ?? "hybrid";
    if (!SEARCH_MODES.includes(mode)) {
      throw new InputError(`mode must be "hybrid", "keys" or "lexical", got ${String(mode)}`);
    }
    for (const m of memories) this.#checkMemory(m);
    const keyHits: Ranked<number>[] = [];
    if (mode !== "lexical") {
      const key = this.queryKey(query);
      memories.forEach((m, mi) => {
        // Own scores; nodes compressed without slots have nothing to compare (a code memory's
        // keys come from its text).
        const nodes = this.tree(m);
        const own = this.nodeKeys(m).map((k) => (k ? cosine(key, k) : -Infinity));
        const ranked = scoreNodes(
          nodes.map((n) => n.parent),
          nodes.map((n) => n.level),
          own,
          options.levels,
          scoring === "subtree",
        );
        for (const r of ranked) keyHits.push({ owner: mi, level: nodes[r.node].level, ...r });
      });
      keyHits.sort((a, b) => b.score - a.score || a.owner - b.owner || a.node - b.node);
    }
    let lexHits: Ranked<number>[] = [];
    if (mode !== "keys") {
      const docs: LexicalDoc<number>[] = [];
      memories.forEach((m, mi) => {
        const terms = this.lexicalTerms(m);
        if (!terms) return;
        const nodes = this.tree(m);
        docs.push({
          owner: mi,
          terms,
          parents: nodes.map((n) => n.parent),
          levels: nodes.map((n) => n.level),
        });
      });
      lexHits = rankLexical(query, docs, {
        levels: options.levels,
        subtree: scoring === "subtree",
      });
    }
    const ranked = mode === "keys"
      ? keyHits
      : mode === "lexical"
      ? lexHits
      : fuseRankings(keyHits, lexHits, (h) => `${h.owner}:${h.node}`);
    const top: SearchHit[] = ranked.slice(0, k).map(({ owner, ...h }) => ({ memory: owner, ...h }));
    if (options.withText ?? true) {
      for (const h of top) h.text = await this.reconstruct(memories[h.memory], { node: h.node });
    }
    return top;
  }

  /**
   * The term counts of every node of the memory's tree ({@link R3Mem.tree}), from its exact
   * text: what lexical search ranks (`src/search/lexical.ts`). `null` for a memory without
   * exact text (lossy) and for a compact archive stored with `slots: "none"` (which search does
   * not find). The text of a memory compressed by this instance is at hand; another's is
   * decoded once.
   *
   * @param memory A memory written by this model.
   *
   * @example
   * ```ts
   * import { R3Mem } from "./r3mem.ts";
   * import { buildRandomModel } from "./model/random_model.ts";
   * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
   * console.log(r3.lexicalTerms(await r3.compress("Peanuts, again peanuts."))!.terms); // [ "peanut" ]
   * console.log(r3.lexicalTerms(await r3.compress("Lossy.", { lossless: false }))); // null
   * ```
   */
  lexicalTerms(memory: Memory): LexicalTerms | null {
    this.#checkMemory(memory);
    let terms = this.#lexical.get(memory);
    if (terms === undefined) {
      const exact = memory.residual && memory.residual.codedTokens === memory.tokenCount;
      const searchable = memory.code || memory.nodes.some((n) => n.slots.length > 0);
      terms = null;
      if (exact && searchable) {
        const text = this.#texts.get(memory) ?? [...this.#pieces(memory, {})].join("");
        terms = lexicalTermsOf(this.tree(memory), text);
      }
      this.#lexical.set(memory, terms);
    }
    return terms;
  }

  /** The unit-length search key of a query's memory. */
  queryKey(query: string): Float32Array {
    const ids = this.tokenizer.encode(query);
    const { q, scales } = quantizeRowsInt8(
      this.#compressTokens(ids),
      this.config.memorySlots,
      this.config.dim,
    );
    return nodeKey({ slots: q, scales }, this.config.dim)!;
  }

  // ── internals ───────────────────────────────────────────────────────────────

  // Recurrent compression of a token sequence, segment by segment, from the learned initial
  // memory. Returns the final memory [S*D].
  #compressTokens(ids: ArrayLike<number>): Float32Array {
    const T = this.config.segmentTokens;
    let memory = this.#model.memInit;
    for (let i = 0; i < ids.length || i === 0; i += T) {
      memory = this.#model.compressSegment(memory, Array.prototype.slice.call(ids, i, i + T));
    }
    return memory;
  }

  // The float memory a node's slots stand for; the learned initial memory (the memory of
  // nothing) for a slot-less node.
  #memoryOf(node: Pick<MemoryNode, "slots" | "scales">): Float32Array {
    if (node.slots.length === 0) return this.#model.memInit;
    const D = this.config.dim;
    const out = new Float32Array(node.slots.length);
    for (let i = 0; i < out.length; i++) out[i] = node.slots[i] * node.scales[(i / D) | 0];
    return out;
  }

  // The document memory the residual is coded against: the code's, the slots', or memInit.
  #docMemory(memory: Memory): Float32Array {
    const code = memory.code;
    if (!code) return this.#memoryOf(memory.nodes[0]);
    if (!this.basis || this.basis.id !== code.basis) {
      throw new ModelMismatchError(
        `Memory was coded with memory basis ${code.basis}; this model's is ` +
          `${this.basis ? this.basis.id : "missing (load it with the basis option)"}`,
      );
    }
    return this.basis.decode(code.values);
  }

  // Greedy decoding of one node from a memory (its own): as many tokens as the node spans.
  *#greedy(node: MemoryNode, memory: Float32Array): Generator<number[]> {
    const n = node.tokenEnd - node.tokenStart;
    if (n === 0) return;
    const session = this.#model.startDecoder(memory);
    const V = this.config.vocabSize;
    try {
      session.begin();
      let batch: number[] = [];
      for (let i = 0; i < n; i++) {
        const logits = this.#model.readLogits(1);
        let best = 0;
        for (let v = 1; v < V; v++) if (logits[v] > logits[best]) best = v;
        batch.push(best);
        if (batch.length >= 16 || i === n - 1) {
          yield batch;
          batch = [];
        }
        if (i < n - 1) {
          session.slideIfFull();
          session.feed([best]);
        }
      }
    } finally {
      session.free();
    }
  }

  #bytesOf(ids: number[]): Uint8Array {
    return this.tokenizer.decodeBytes(ids);
  }

  #checkMemory(memory: Memory): void {
    if (!(memory instanceof Memory)) {
      throw new InputError(`Expected a Memory, got ${typeName(memory)}`);
    }
    if (!memory.writtenBy(this.fingerprint)) {
      throw new ModelMismatchError(
        `Memory was written by model ${memory.modelFingerprint.slice(0, 12)}…, ` +
          `this is ${this.fingerprint.slice(0, 12)}…`,
      );
    }
    if (memory.slotCount !== this.config.memorySlots || memory.dim !== this.config.dim) {
      throw new FormatError(
        `Memory has ${memory.slotCount}×${memory.dim} slots, the model ${this.config.memorySlots}×${this.config.dim}`,
      );
    }
  }
}

/** A code memory's tree, its tokens, and (from compress) its document's full memory. */
interface DerivedTree {
  nodes: MemoryNode[];
  ids: Int32Array;
  root?: Float32Array;
}

/** Which levels keep their slots for each `slots` option. */
const SLOT_LEVELS: Record<NonNullable<CompressOptions["slots"]>, NodeLevel[]> = {
  code: [],
  all: ["document", "paragraph", "sentence"],
  document: ["document"],
  none: [],
};

// The sentence nodes under `index` (or the node itself when it has none), in text order.
function leavesOf(memory: Memory, index: number): number[] {
  const children = memory.children(index);
  if (children.length === 0) return [index];
  return children.flatMap((c) => leavesOf(memory, c));
}

// What greedy reconstruction of node `index` decodes: its sentences, each from its own slots
// (the finest memory there is), or else the node's own slots.
function greedyUnits(memory: Memory, index: number): number[] {
  const leaves = leavesOf(memory, index);
  if (leaves.every((i) => memory.nodes[i].slots.length > 0)) return leaves;
  if (memory.nodes[index].slots.length > 0) return [index];
  throw new InputError(
    `Node ${index} has no memory slots to reconstruct from (it was compressed without them); ` +
      `reconstruct it exactly from a lossless memory instead`,
  );
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

// The memory basis to load: the one given, none (`null`), the `.r3b` beside URL weights (the
// embedded default's included) when there is one, or for weights given as bytes the default
// model's basis if they are the default model.
async function loadBasis(
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
