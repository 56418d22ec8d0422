/**
 * The loaded model as the library's steps use it (compress, reconstruct, append, search): the
 * transformer, the residual coder's transformer, tokenizer, basis, and the primitives built on
 * them — recurrent compression of a token sequence, the float memory of stored slots or a code,
 * greedy decoding from a memory. `R3Mem` (`./r3mem.ts`) owns one and is the public face.
 *
 * @module
 */
import type { Backend } from "./backend/backend.ts";
import type { MemoryBasis } from "./codec/memory_basis.ts";
import { Memory, type MemoryNode } from "./codec/memory.ts";
import { nodeKey } from "./codec/search_keys.ts";
import type { AppendModel } from "./append.ts";

import { FormatError, InputError, ModelMismatchError } from "./errors.ts";
import { type ModelConfig, parseConfig } from "./model/config.ts";
import { Tokenizer } from "./model/tokenizer.ts";
import { ReversibleTransformer } from "./model/transformer.ts";
import { uploadWeights } from "./model/weights.ts";
import { quantizeRowsInt8, type WeightsFile } from "./model/weights_format.ts";
import type { MemoryRefiner } from "./train/refiner.ts";

// Loaded on the first compress with `refine` (see ModelCore.loadRefiner).
const REFINER_MODULE = new URL("./train/refiner.ts", import.meta.url).href;

/** A code memory's tree, its tokens, and (from compress) its document's full memory. */
export interface DerivedTree {
  /** The nodes compress would have built, without slots. */
  nodes: MemoryNode[];
  /** The text's tokens. */
  ids: Int32Array;
  /** The document's float memory, when compress computed it. */
  root?: Float32Array;
}

/**
 * A loaded model's working parts. `model` may move to another backend once (the WebGPU upgrade);
 * `coder` never does: the residual's probabilities must be the same bits on every machine.
 *
 * @example
 * ```ts
 * import { R3Mem } from "./r3mem.ts";
 * import { buildRandomModel } from "./model/random_model.ts";
 * // R3Mem builds its ModelCore; the library's steps take it.
 * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
 * console.log(r3.queryKey("hello").length === r3.config.dim); // true
 * ```
 * @internal
 */
export class ModelCore implements AppendModel {
  /** The model's configuration. */
  readonly config: ModelConfig;
  /** The tokenizer. */
  readonly tokenizer: Tokenizer;
  /** SHA-256 of the weights file. */
  readonly fingerprint: string;
  /** The memory basis, if any. */
  readonly basis: MemoryBasis | null;
  /** Runs the encoder and greedy decoding (any backend). */
  model: ReversibleTransformer;
  /** Codes residuals (the deterministic path). */
  readonly coder: ReversibleTransformer;

  readonly #file: WeightsFile;
  #refiner: Promise<MemoryRefiner> | null = null;
  /** The refiner once {@link loadRefiner} has loaded it (compress-time refinement). */
  refiner: MemoryRefiner | null = null;

  /**
   * Builds the model of a weights file on `backend` (the coder on `coder`), checking the
   * tokenizer and the basis against it.
   *
   * @throws {FormatError} A tokenizer or basis of another shape.
   *   {@link ModelMismatchError} A basis built for other weights.
   */
  constructor(
    file: WeightsFile,
    backend: Backend,
    basis: MemoryBasis | null,
    coder: Backend = backend,
  ) {
    this.#file = file;
    this.config = parseConfig(file.config);
    this.tokenizer = Tokenizer.fromBytes(file.tokenizerBytes);
    if (this.tokenizer.vocabSize !== this.config.vocabSize) {
      throw new FormatError(
        `Tokenizer has ${this.tokenizer.vocabSize} tokens, config says ${this.config.vocabSize}`,
      );
    }
    this.fingerprint = file.fingerprint;
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
    this.model = this.build(backend);
    this.coder = coder === backend ? this.model : this.build(coder);
  }

  /** The transformer of these weights on `backend` (the WebGPU upgrade moves `model` to it). */
  build(backend: Backend): ReversibleTransformer {
    return new ReversibleTransformer(
      backend,
      this.config,
      uploadWeights(backend, this.config, this.#file.tensors),
    );
  }

  /**
   * Moves `model` to the backend a background probe chose (the WebGPU upgrade), if any.
   *
   * @returns Why the model runs where it runs.
   */
  async adopt(upgrade: Promise<{ backend: Backend | null; reason: string }>): Promise<string> {
    const u = await upgrade;
    try {
      if (u.backend) this.model = this.build(u.backend);
    } catch (e) {
      return `WebGPU failed to load the model (${(e as Error).message}); staying on wasm`;
    }
    return u.reason;
  }

  /**
   * Loads the refiner once: the trainer's engine and its own WebAssembly backend (f32 kernels),
   * through a specifier Deno cannot follow statically, so the engine's ~20 modules are fetched
   * only by callers that refine, not by every remote import of the library.
   */
  loadRefiner(): Promise<MemoryRefiner> {
    this.#refiner ??= (async () => {
      const [{ MemoryRefiner }, { createWasmBackend }] = await Promise.all([
        import(REFINER_MODULE) as Promise<typeof import("./train/refiner.ts")>,
        import("./backend/wasm/wasm_backend.ts"),
      ]);
      const backend = await createWasmBackend({ deterministic: false });
      return this.refiner = new MemoryRefiner(backend, this.config, this.#file.tensors);
    })();
    return this.#refiner;
  }

  /** The unit search key of a float memory (as its int8 slots would give it). */
  keyOf(memory: Float32Array): Float32Array {
    const { q, scales } = quantizeRowsInt8(memory, this.config.memorySlots, this.config.dim);
    return nodeKey({ slots: q, scales }, this.config.dim)!;
  }

  /**
   * The search key of every node of a code memory's derived tree: the memory of each node's
   * text, as slots `"all"` would have stored it (equal spans computed once).
   */
  derivedKeys(tree: DerivedTree): Float32Array[] {
    const { nodes, ids, root } = tree;
    const byspan = new Map<string, Float32Array>();
    return nodes.map((n, i) => {
      const k = `${n.tokenStart}:${n.tokenEnd}`;
      let key = byspan.get(k);
      if (!key) {
        const memory = i === 0 && root
          ? root
          : this.compressTokens(ids.slice(n.tokenStart, n.tokenEnd));
        byspan.set(k, key = this.keyOf(memory));
      }
      return key;
    });
  }

  /**
   * Recurrent compression of a token sequence, segment by segment, from the learned initial
   * memory.
   *
   * @returns The final memory, `[slots × dim]`.
   */
  compressTokens(ids: ArrayLike<number>): Float32Array {
    const T = this.config.segmentTokens;
    let memory = this.model.memInit;
    for (let i = 0; i < ids.length || i === 0; i += T) {
      memory = this.model.compressSegment(memory, Array.prototype.slice.call(ids, i, i + T));
    }
    return memory;
  }

  /**
   * The float memory a node's slots stand for; the learned initial memory (the memory of
   * nothing) for a slot-less node.
   */
  memoryOf(node: Pick<MemoryNode, "slots" | "scales">): Float32Array {
    if (node.slots.length === 0) return this.model.memInit;
    const D = this.config.dim;
    const out = new Float32Array(node.slots.length);
    for (let i = 0; i < out.length; i++) out[i] = node.slots[i] * node.scales[(i / D) | 0];
    return out;
  }

  /**
   * The document memory the residual is coded against: the code's, the slots', or memInit
   * (no slots, or a code of no values).
   *
   * @throws {ModelMismatchError} When the memory's code is over another basis.
   */
  docMemory(memory: Memory): Float32Array {
    const code = memory.code;
    if (!code) return this.memoryOf(memory.nodes[0]);
    // A code of no values: the writer stored no memory (it would have cost more than it saved).
    if (code.values.length === 0) return this.model.memInit;
    if (!this.basis || this.basis.id !== code.basis) {
      throw new ModelMismatchError(
        `Memory was coded with memory basis ${code.basis}; this model's is ` +
          `${this.basis ? this.basis.id : "missing (load it with the basis option)"}`,
      );
    }
    return this.basis.decode(code.values);
  }

  /** Greedy decoding of one node from a memory: as many tokens as the node spans, in batches. */
  *greedy(node: MemoryNode, memory: Float32Array): Generator<number[]> {
    const n = node.tokenEnd - node.tokenStart;
    if (n === 0) return;
    const session = this.model.startDecoder(memory);
    const V = this.config.vocabSize;
    try {
      session.begin();
      let batch: number[] = [];
      for (let i = 0; i < n; i++) {
        const logits = this.model.readLogits(1);
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

  /** The UTF-8 bytes of token ids. */
  bytesOf(ids: number[]): Uint8Array {
    return this.tokenizer.decodeBytes(ids);
  }

  /**
   * Checks that `memory` is a Memory this model wrote, with its shape.
   *
   * @throws {InputError} Not a Memory. {@link ModelMismatchError} Another model's.
   *   {@link FormatError} Another slot shape.
   */
  checkMemory(memory: Memory): void {
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

/**
 * A value's type for error messages: `null`, `array`, or `typeof`.
 *
 * @example
 * ```ts
 * import { typeName } from "./model_core.ts";
 * console.log(typeName([1]), typeName(null), typeName(3)); // array null number
 * ```
 */
export function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}
