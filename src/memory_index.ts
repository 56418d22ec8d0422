/**
 * What `R3Mem` derives from a memory once and keeps while the memory lives (weakly: the caches
 * go with the memory): a code memory's tree (from compress, or decoded from its text), every
 * node's search key, and the term counts lexical search ranks. The memory's own nodes and slots
 * are read as they are.
 *
 * @module
 */
import type { Memory, MemoryNode } from "./codec/memory.ts";
import { nodeKey } from "./codec/search_keys.ts";
import type { DerivedTree, ModelCore } from "./model_core.ts";
import { decodeDerivedTree, reconstructPieces } from "./reconstruct.ts";
import { type LexicalTerms, lexicalTermsOf } from "./search/lexical.ts";

/**
 * The per-memory caches of one model. Memories are checked by the caller.
 *
 * @example
 * ```ts
 * import { R3Mem } from "./r3mem.ts";
 * import { buildRandomModel } from "./model/random_model.ts";
 * // R3Mem.tree, nodeKeys and lexicalTerms read through a MemoryIndex.
 * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
 * const m = await r3.compress("One. Two.");
 * console.log(r3.tree(m).length, r3.nodeKeys(m).length); // 3 3
 * ```
 * @internal
 */
export class MemoryIndex {
  readonly #core: ModelCore;
  readonly #trees = new WeakMap<Memory, DerivedTree>();
  readonly #keys = new WeakMap<Memory, (Float32Array | null)[]>();
  // Exact text of lossless memories written here, and term counts for lexical search.
  readonly #texts = new WeakMap<Memory, string>();
  readonly #lexical = new WeakMap<Memory, LexicalTerms | null>();

  /** An empty index over the model. */
  constructor(core: ModelCore) {
    this.#core = core;
  }

  /** Keeps what compress already has: a code memory's tree, a lossless memory's text. */
  remember(memory: Memory, derived: DerivedTree | null, text: string | null): void {
    if (derived) this.#trees.set(memory, derived);
    if (text !== null) this.#texts.set(memory, text);
  }

  /** The memory's nodes, or a code memory's derived tree (see `R3Mem.tree`). */
  tree(memory: Memory): readonly MemoryNode[] {
    if (!memory.code) return memory.nodes;
    return this.derived(memory).nodes;
  }

  /** One search key (or null) per node of {@link tree} (see `R3Mem.nodeKeys`). */
  nodeKeys(memory: Memory): (Float32Array | null)[] {
    if (!memory.code) return memory.nodes.map((n) => nodeKey(n, this.#core.config.dim));
    let keys = this.#keys.get(memory);
    if (!keys) this.#keys.set(memory, keys = this.#core.derivedKeys(this.derived(memory)));
    return keys;
  }

  /** Term counts per node of {@link tree}, or null (see `R3Mem.lexicalTerms`). */
  lexicalTerms(memory: Memory): LexicalTerms | null {
    let terms = this.#lexical.get(memory);
    if (terms === undefined) {
      const exact = memory.residual && memory.residual.codedTokens === memory.tokenCount;
      const searchable = memory.code || memory.nodes.some((n) => n.slots.length > 0);
      terms = null;
      if (exact && searchable) {
        const text = this.#texts.get(memory) ??
          [...reconstructPieces(this.#core, memory, {}, (m) => this.derived(m))].join("");
        terms = lexicalTermsOf(this.tree(memory), text);
      }
      this.#lexical.set(memory, terms);
    }
    return terms;
  }

  /** The tree and tokens of a code memory: kept from compress, or decoded once. */
  derived(memory: Memory): DerivedTree {
    let tree = this.#trees.get(memory);
    if (!tree) this.#trees.set(memory, tree = decodeDerivedTree(this.#core, memory));
    return tree;
  }
}
