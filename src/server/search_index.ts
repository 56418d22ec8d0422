/**
 * Search keys of stored memories: one unit vector per node (the key `R3Mem.search` scores with,
 * `src/codec/search_keys.ts`) and the tree's parent links, stored beside the memory so a search
 * reads keys instead of decoding every memory, and ranks nodes as `R3Mem.search` does (each node
 * by the best match in its subtree).
 *
 * @module
 */
import type { Memory, MemoryNode, NodeLevel } from "../codec/memory.ts";
import { nodeKey, scoreNodes } from "../codec/search_keys.ts";
import { FormatError } from "../errors.ts";

/** The search keys of one memory. */
export interface SearchKeys {
  /** Width of a key. */
  dim: number;
  /** Level of each node. */
  levels: NodeLevel[];
  /**
   * Parent of each node (`-1` for the root). Keys stored by earlier versions have none: their
   * nodes are in document order, so the parent is the nearest earlier node one level up.
   */
  parents?: Int32Array;
  /** `levels.length × dim` unit vectors, node-major; all zero for a node without slots. */
  keys: Float32Array;
}

const LEVELS: readonly NodeLevel[] = ["document", "paragraph", "sentence"];
/** Set in the node count of the current encoding: parent links follow the levels. */
const WITH_PARENTS = 0x80000000;

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
  return searchKeysFrom(memory.nodes, memory.nodes.map((n) => nodeKey(n, memory.dim)), memory.dim);
}

/**
 * Search keys of a node tree whose keys are known: `R3Mem.tree` and `R3Mem.nodeKeys` of a
 * memory (a compact code memory's keys are computed from its text, not stored).
 *
 * @param nodes The tree, root first.
 * @param nodeKeys One unit key per node, `null` for a node without one.
 * @param dim Width of a key.
 *
 * @example
 * ```ts
 * import { searchKeysFrom } from "./search_index.ts";
 * const nodes = [{ level: "document" as const, parent: -1 }];
 * const k = searchKeysFrom(nodes, [new Float32Array([0, 1])], 2);
 * console.log(k.levels, Array.from(k.keys)); // [ "document" ] [ 0, 1 ]
 * ```
 */
export function searchKeysFrom(
  nodes: readonly Pick<MemoryNode, "level" | "parent">[],
  nodeKeys: readonly (Float32Array | null)[],
  dim: number,
): SearchKeys {
  const keys = new Float32Array(nodes.length * dim);
  nodeKeys.forEach((key, n) => {
    if (key) keys.set(key, n * dim);
  });
  return {
    dim,
    levels: nodes.map((n) => n.level),
    parents: Int32Array.from(nodes, (n) => n.parent),
    keys,
  };
}

/**
 * Encodes search keys as bytes (little-endian): `u32 nodes | 0x80000000, u32 dim, u8 level ×
 * nodes, pad to 4, i32 parent × nodes, f32 keys`. (Earlier versions wrote `u32 nodes, u32 dim,
 * u8 level × nodes, pad to 4, f32 keys`; {@link decodeSearchKeys} reads both.)
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
  const parents = k.parents ?? derivedParents(k.levels);
  const parentsAt = align4(8 + n);
  const keysAt = parentsAt + 4 * n;
  const out = new Uint8Array(keysAt + k.keys.length * 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, (n | WITH_PARENTS) >>> 0, true);
  view.setUint32(4, k.dim, true);
  k.levels.forEach((level, i) => (out[8 + i] = LEVELS.indexOf(level)));
  for (let i = 0; i < n; i++) view.setInt32(parentsAt + 4 * i, parents[i], true);
  for (let i = 0; i < k.keys.length; i++) view.setFloat32(keysAt + i * 4, k.keys[i], true);
  return out;
}

/**
 * Decodes {@link encodeSearchKeys}'s bytes (and the earlier layout without parents).
 *
 * @throws {FormatError} When the bytes are inconsistent.
 *
 * @example
 * ```ts
 * import { decodeSearchKeys, encodeSearchKeys } from "./search_index.ts";
 * const k = decodeSearchKeys(encodeSearchKeys({ dim: 1, levels: ["document"], keys: new Float32Array([1]) }));
 * console.log(k.dim, k.keys[0], Array.from(k.parents!)); // 1 1 [ -1 ]
 * ```
 */
export function decodeSearchKeys(bytes: Uint8Array): SearchKeys {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8) throw new FormatError("Search keys are truncated");
  const word = view.getUint32(0, true);
  const withParents = (word & WITH_PARENTS) !== 0;
  const n = word & ~WITH_PARENTS;
  const dim = view.getUint32(4, true);
  const parentsAt = align4(8 + n);
  const keysAt = parentsAt + (withParents ? 4 * n : 0);
  if (bytes.length !== keysAt + n * dim * 4) throw new FormatError("Search keys are truncated");
  const levels = Array.from(bytes.subarray(8, 8 + n), (l) => {
    const level = LEVELS[l];
    if (!level) throw new FormatError(`Search keys have an unknown level ${l}`);
    return level;
  });
  let parents: Int32Array;
  if (withParents) {
    parents = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const p = view.getInt32(parentsAt + 4 * i, true);
      if (i === 0 ? p !== -1 : p < 0 || p >= i) {
        throw new FormatError(`Search keys: node ${i} has parent ${p}`);
      }
      parents[i] = p;
    }
  } else parents = derivedParents(levels);
  const keys = new Float32Array(n * dim);
  for (let i = 0; i < keys.length; i++) keys[i] = view.getFloat32(keysAt + i * 4, true);
  return { dim, levels, parents, keys };
}

// Parents of nodes in document order: the nearest earlier node one level up (the root's -1).
function derivedParents(levels: readonly NodeLevel[]): Int32Array {
  const last = [-1, -1, -1];
  return Int32Array.from(levels, (level, i) => {
    const l = LEVELS.indexOf(level);
    last[l] = i;
    return l === 0 ? -1 : Math.max(0, last[l - 1]);
  });
}

/** One scored node. */
export interface ScoredNode<T> {
  /** Which memory (the caller's handle). */
  owner: T;
  /** Node index in the memory. */
  node: number;
  /** Node level. */
  level: NodeLevel;
  /** Cosine similarity of the query with the best-matching node of this node's subtree. */
  score: number;
  /** That best-matching node (this node or a descendant). */
  match: number;
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
  readonly #levels?: readonly NodeLevel[];
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
    if (levels && levels.length) this.#levels = levels;
  }

  /**
   * Scores every node of one memory's keys, each by the best match in its subtree (keys of
   * another width are skipped; nodes without slots match nothing).
   */
  add(owner: T, keys: SearchKeys): void {
    const q = this.#query;
    if (keys.dim !== q.length) return;
    const dim = keys.dim;
    const own = keys.levels.map((_, n) => {
      let score = 0, norm = 0;
      for (let j = 0; j < dim; j++) {
        const v = keys.keys[n * dim + j];
        score += q[j] * v;
        norm += v * v;
      }
      return norm > 0 ? score : -Infinity;
    });
    const parents = keys.parents ?? derivedParents(keys.levels);
    for (const { node: n, score, match } of scoreNodes(parents, keys.levels, own, this.#levels)) {
      const level = keys.levels[n];
      const hits = this.#hits;
      if (hits.length === this.#k && score <= hits[hits.length - 1].score) return;
      // Insertion keeps the list sorted; k is small.
      let i = hits.length;
      while (i > 0 && hits[i - 1].score < score) i--;
      hits.splice(i, 0, { owner, node: n, level, score, match });
      if (hits.length > this.#k) hits.pop();
    }
  }

  /** The best nodes, best first. */
  results(): ScoredNode<T>[] {
    return [...this.#hits];
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
