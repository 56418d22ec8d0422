/**
 * `R3Mem`: a loaded model that compresses text into a hierarchical memory, reconstructs text
 * from it (exactly when the memory carries its residual), and searches memories.
 *
 * @module
 */
import type { Backend } from "./backend/backend.ts";
import { chooseBackend } from "./backend/webgpu/choose.ts";
import type { Memory, MemoryNode } from "./codec/memory.ts";
import type { MemoryBasis } from "./codec/memory_basis.ts";
import type { LexicalTerms } from "./search/lexical.ts";
import { searchMemories } from "./search/memory_search.ts";
import { type AppendOptions, appendTurn } from "./append.ts";
import { compressText } from "./compress.ts";
import { InputError } from "./errors.ts";
import { DEFAULT_WEIGHTS_URL, kernelShape, loadBasis } from "./model_files.ts";
import { ModelCore, typeName } from "./model_core.ts";
import { MemoryIndex } from "./memory_index.ts";
import type { ModelConfig } from "./model/config.ts";
import type { Tokenizer } from "./model/tokenizer.ts";
import { loadWeightsFrom, type WeightsFile } from "./model/weights_format.ts";
import type {
  CompressOptions,
  LoadOptions,
  LoadProgress,
  ReconstructOptions,
  SearchHit,
  SearchOptions,
} from "./r3mem_options.ts";
import { reconstructPieces } from "./reconstruct.ts";
import { parseRefine } from "./refine_budget.ts";

export { DEFAULT_BASIS_URL, DEFAULT_WEIGHTS_URL } from "./model_files.ts";
export type {
  CompressOptions,
  LoadOptions,
  LoadProgress,
  ReconstructOptions,
  SearchHit,
  SearchOptions,
} from "./r3mem_options.ts";

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
  // The transformer, the residual's coder (the model's own transformer unless that runs on
  // WebGPU: then a second one on WebAssembly, so the coder's probabilities are the same bits on
  // every machine), and the primitives the library's steps share.
  readonly #core: ModelCore;
  readonly #backendChosen: Promise<string>;
  // Trees, search keys and term counts derived from memories, kept while they live.
  readonly #index: MemoryIndex;
  private constructor(
    file: WeightsFile,
    backend: Backend,
    basis: MemoryBasis | null,
    coder: Backend = backend,
    upgrade?: Promise<{ backend: Backend | null; reason: string }>,
    progress: (event: LoadProgress) => void = () => {},
  ) {
    this.#core = new ModelCore(file, backend, basis, coder);
    this.#index = new MemoryIndex(this.#core);
    this.config = this.#core.config;
    this.tokenizer = this.#core.tokenizer;
    this.fingerprint = file.fingerprint;
    this.metadata = file.metadata;
    this.basis = basis;
    this.#backendChosen = !upgrade
      ? Promise.resolve(backend.name)
      : this.#core.adopt(upgrade).then((reason) => {
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
    const [file, picked, basis] = await Promise.all([
      fileReady,
      chooseBackend(options.backend, fileReady.then(kernelShape)),
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
    return this.#core.model.backend.name;
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
    if (parseRefine(options.refine)) await this.#core.loadRefiner();
    return this.compressSync(text, options);
  }

  /** Synchronous {@link compress} (blocks the thread while it runs). */
  compressSync(text: string, options: CompressOptions = {}): Memory {
    if (typeof text !== "string") {
      throw new InputError(`Text must be a string, got ${typeName(text)}`);
    }
    if (text.length === 0) throw new InputError("Text must not be empty");
    const { memory, derived } = compressText(this.#core, text, options, this.#core.refiner);
    // Kept for search keys: the tree and the document's full memory (not computed again).
    this.#index.remember(memory, derived, memory.residual ? text : null);
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
    this.#core.checkMemory(memory);
    return this.#index.tree(memory);
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
    this.#core.checkMemory(memory);
    return this.#index.nodeKeys(memory);
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
  #pieces(memory: Memory, options: ReconstructOptions): Generator<string, void, undefined> {
    this.#core.checkMemory(memory);
    return reconstructPieces(this.#core, memory, options, (m) => this.#index.derived(m));
  }

  /**
   * Adds `text` to a conversation memory as a new turn, without decoding or re-reading what is
   * there: the document memory is updated recurrently (the encoder continues from it over the
   * turn's tokens) and stays the same size however long the conversation grows; the turn's
   * residual is coded against no memory by default, or against that memory stored with the turn
   * (`condition`: a 4-bit code, or int8 slots), so every turn reconstructs exactly on its own
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
      if (memory !== null) this.#core.checkMemory(memory);
      return Promise.resolve(appendTurn(this.#core, memory, text, options));
    } catch (e) {
      return Promise.reject(e);
    }
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
  search(query: string, memories: Memory[], options: SearchOptions = {}): Promise<SearchHit[]> {
    return searchMemories(
      {
        checkMemory: (m) => this.#core.checkMemory(m),
        tree: (m) => this.tree(m),
        nodeKeys: (m) => this.nodeKeys(m),
        lexicalTerms: (m) => this.lexicalTerms(m),
        queryKey: (q) => this.queryKey(q),
        reconstruct: (m, o) => this.reconstruct(m, o),
      },
      query,
      memories,
      options,
    );
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
    this.#core.checkMemory(memory);
    return this.#index.lexicalTerms(memory);
  }

  /** The unit-length search key of a query's memory. */
  queryKey(query: string): Float32Array {
    return this.#core.keyOf(this.#core.compressTokens(this.tokenizer.encode(query)));
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
