/**
 * Search keys of stored memories: one unit vector per node (the mean of its dequantized slots,
 * normalised: the key `R3Mem.search` scores with), stored beside the memory so a search reads
 * keys instead of decoding every memory, and scored against a query's key by cosine similarity.
 *
 * @module
 */
import type { Memory, NodeLevel } from "../codec/memory.ts";
import { FormatError } from "../errors.ts";

/** The search keys of one memory. */
export interface SearchKeys {
  /** Width of a key. */
  dim: number;
  /** Level of each node. */
  levels: NodeLevel[];
  /** `levels.length × dim` unit vectors, node-major. */
  keys: Float32Array;
}

const LEVELS: readonly NodeLevel[] = ["document", "paragraph", "sentence"];

/**
 * The search keys of every node of a memory.
 *
 * @param memory The memory.
 * @returns Its keys.
 *
 * @example
 * ```ts
 * import { searchKeysOf } from "./search_index.ts";
 * import { Memory } from "../codec/memory.ts";
 * const memory = new Memory({
 *   modelFingerprint: "ab".repeat(32), slotCount: 1, dim: 2, textBytes: 0, tokenCount: 0,
 *   nodes: [{ level: "document", parent: -1, byteStart: 0, byteEnd: 0, tokenStart: 0,
 *     tokenEnd: 0, slots: new Int8Array([3, 4]), scales: new Float32Array([1]) }],
 * });
 * console.log([...searchKeysOf(memory).keys]); // [ 0.6000000238418579, 0.800000011920929 ]
 * ```
 */
export function searchKeysOf(memory: Memory): SearchKeys {
  const dim = memory.dim;
  const nodes = memory.nodes;
  const keys = new Float32Array(nodes.length * dim);
  nodes.forEach((node, n) => {
    const key = keys.subarray(n * dim, (n + 1) * dim);
    for (let s = 0; s < node.scales.length; s++) {
      for (let j = 0; j < dim; j++) key[j] += node.slots[s * dim + j] * node.scales[s];
    }
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += key[j] * key[j];
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < dim; j++) key[j] /= norm;
  });
  return { dim, levels: nodes.map((n) => n.level), keys };
}

/**
 * Encodes search keys as bytes: `u32 nodes, u32 dim, u8 level × nodes, pad to 4, f32 keys`
 * (little-endian).
 *
 * @example
 * ```ts
 * import { decodeSearchKeys, encodeSearchKeys } from "./search_index.ts";
 * const bytes = encodeSearchKeys({ dim: 2, levels: ["document"], keys: new Float32Array([1, 0]) });
 * console.log(decodeSearchKeys(bytes).levels); // [ "document" ]
 * ```
 */
export function encodeSearchKeys(k: SearchKeys): Uint8Array {
  const n = k.levels.length;
  const keysAt = align4(8 + n);
  const out = new Uint8Array(keysAt + k.keys.length * 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, n, true);
  view.setUint32(4, k.dim, true);
  k.levels.forEach((level, i) => (out[8 + i] = LEVELS.indexOf(level)));
  for (let i = 0; i < k.keys.length; i++) view.setFloat32(keysAt + i * 4, k.keys[i], true);
  return out;
}

/**
 * Decodes {@link encodeSearchKeys}'s bytes.
 *
 * @throws {FormatError} When the bytes are inconsistent.
 *
 * @example
 * ```ts
 * import { decodeSearchKeys, encodeSearchKeys } from "./search_index.ts";
 * const k = decodeSearchKeys(encodeSearchKeys({ dim: 1, levels: ["document"], keys: new Float32Array([1]) }));
 * console.log(k.dim, k.keys[0]); // 1 1
 * ```
 */
export function decodeSearchKeys(bytes: Uint8Array): SearchKeys {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8) throw new FormatError("Search keys are truncated");
  const n = view.getUint32(0, true);
  const dim = view.getUint32(4, true);
  const keysAt = align4(8 + n);
  if (bytes.length !== keysAt + n * dim * 4) throw new FormatError("Search keys are truncated");
  const levels = Array.from(bytes.subarray(8, 8 + n), (l) => {
    const level = LEVELS[l];
    if (!level) throw new FormatError(`Search keys have an unknown level ${l}`);
    return level;
  });
  const keys = new Float32Array(n * dim);
  for (let i = 0; i < keys.length; i++) keys[i] = view.getFloat32(keysAt + i * 4, true);
  return { dim, levels, keys };
}

/** One scored node. */
export interface ScoredNode<T> {
  /** Which memory (the caller's handle). */
  owner: T;
  /** Node index in the memory. */
  node: number;
  /** Node level. */
  level: NodeLevel;
  /** Cosine similarity with the query. */
  score: number;
}

/**
 * Keeps the `k` best-scoring nodes of the memories it is shown, best first.
 *
 * @example
 * ```ts
 * import { TopK } from "./search_index.ts";
 * const top = new TopK<string>(new Float32Array([1, 0]), 1);
 * top.add("a", { dim: 2, levels: ["document", "sentence"], keys: new Float32Array([0, 1, 1, 0]) });
 * console.log(top.results()[0].node); // 1
 * ```
 */
export class TopK<T> {
  readonly #query: Float32Array;
  readonly #k: number;
  readonly #levels?: ReadonlySet<NodeLevel>;
  #hits: ScoredNode<T>[] = [];

  /**
   * An empty ranking for one query.
   *
   * @param query The query's unit key.
   * @param k How many to keep.
   * @param levels Only nodes of these levels (default all).
   */
  constructor(query: Float32Array, k: number, levels?: readonly NodeLevel[]) {
    this.#query = query;
    this.#k = k;
    if (levels && levels.length) this.#levels = new Set(levels);
  }

  /** Scores every node of one memory's keys (keys of another width are skipped). */
  add(owner: T, keys: SearchKeys): void {
    const q = this.#query;
    if (keys.dim !== q.length) return;
    const dim = keys.dim;
    keys.levels.forEach((level, n) => {
      if (this.#levels && !this.#levels.has(level)) return;
      let score = 0;
      for (let j = 0; j < dim; j++) score += q[j] * keys.keys[n * dim + j];
      const hits = this.#hits;
      if (hits.length === this.#k && score <= hits[hits.length - 1].score) return;
      // Insertion keeps the list sorted; k is small.
      let i = hits.length;
      while (i > 0 && hits[i - 1].score < score) i--;
      hits.splice(i, 0, { owner, node: n, level, score });
      if (hits.length > this.#k) hits.pop();
    });
  }

  /** The best nodes, best first. */
  results(): ScoredNode<T>[] {
    return [...this.#hits];
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
