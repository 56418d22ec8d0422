/**
 * The hash tables and buffers the encoder runs on: pair ranks, the chunk cache, id runs.
 *
 * @module
 */
import { InputError } from "../../errors.ts";

/** Open-addressing hash table from a token pair to its merge rank. */
export class PairRanks {
  #a: Int32Array;
  #b: Int32Array;
  #rank: Int32Array;
  #mask: number;

  constructor(merges: Uint32Array) {
    const n = merges.length / 2;
    let cap = 16;
    while (cap < n * 2) cap *= 2;
    this.#a = new Int32Array(cap).fill(-1);
    this.#b = new Int32Array(cap);
    this.#rank = new Int32Array(cap);
    this.#mask = cap - 1;
    for (let r = 0; r < n; r++) {
      const a = merges[2 * r], b = merges[2 * r + 1];
      let h = hashPair(a, b) & this.#mask;
      while (this.#a[h] !== -1) {
        if (this.#a[h] === a && this.#b[h] === b) {
          throw new InputError(`merge ${r} repeats the pair (${a}, ${b})`);
        }
        h = (h + 1) & this.#mask;
      }
      this.#a[h] = a;
      this.#b[h] = b;
      this.#rank[h] = r;
    }
  }

  /** Rank of the merge of `(a, b)`, or -1 if there is none. */
  get(a: number, b: number): number {
    const A = this.#a, mask = this.#mask;
    let h = hashPair(a, b) & mask;
    for (;;) {
      const x = A[h];
      if (x === -1) return -1;
      if (x === a && this.#b[h] === b) return this.#rank[h];
      h = (h + 1) & mask;
    }
  }
}

export function hashPair(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77);
  h ^= h >>> 15;
  return h >>> 0;
}

/**
 * Open-addressing hash table keyed by chunk text, looked up by `(text, start, end)` without
 * allocating a substring; grows as needed.
 */
export class ChunkTable {
  keys: (string | undefined)[];
  hashes: Int32Array;
  vals: Float64Array;
  size = 0;
  #mask: number;

  constructor(capacity = 1 << 12) {
    this.keys = new Array(capacity).fill(undefined);
    this.hashes = new Int32Array(capacity);
    this.vals = new Float64Array(capacity);
    this.#mask = capacity - 1;
  }

  static hash(text: string, s: number, e: number): number {
    let h = 0x811c9dc5 ^ (e - s);
    for (let i = s; i < e; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return h ^ (h >>> 16);
  }

  /** Slot holding the chunk `text[s..e)`, or the empty slot where it would go. */
  find(text: string, s: number, e: number, h: number): number {
    const keys = this.keys, hashes = this.hashes, len = e - s;
    let slot = h & this.#mask;
    for (;;) {
      const key = keys[slot];
      if (key === undefined) return slot;
      if (hashes[slot] === h && key.length === len) {
        let i = 0;
        while (i < len && key.charCodeAt(i) === text.charCodeAt(s + i)) i++;
        if (i === len) return slot;
      }
      slot = (slot + 1) & this.#mask;
    }
  }

  /** Stores `key`/`val` in the empty `slot` returned by {@link ChunkTable.find}. */
  insert(slot: number, key: string, h: number, val: number): void {
    this.keys[slot] = key;
    this.hashes[slot] = h;
    this.vals[slot] = val;
    if (++this.size * 2 > this.keys.length) this.#grow();
  }

  #grow(): void {
    const keys = this.keys, hashes = this.hashes, vals = this.vals;
    const cap = keys.length * 2;
    this.keys = new Array(cap).fill(undefined);
    this.hashes = new Int32Array(cap);
    this.vals = new Float64Array(cap);
    this.#mask = cap - 1;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === undefined) continue;
      let slot = hashes[i] & this.#mask;
      while (this.keys[slot] !== undefined) slot = (slot + 1) & this.#mask;
      this.keys[slot] = keys[i];
      this.hashes[slot] = hashes[i];
      this.vals[slot] = vals[i];
    }
  }
}

/** Growable list of token ids. */
export class IdBuffer {
  data: Int32Array;
  length = 0;
  constructor(capacity: number) {
    this.data = new Int32Array(Math.max(16, capacity));
  }
  push(id: number): void {
    if (this.length === this.data.length) this.#grow(this.length + 1);
    this.data[this.length++] = id;
  }
  /** Appends `src[start..start+n)`. */
  pushRange(src: Int32Array, start: number, n: number): void {
    if (this.length + n > this.data.length) this.#grow(this.length + n);
    const d = this.data;
    for (let i = 0, p = this.length; i < n; i++, p++) d[p] = src[start + i];
    this.length += n;
  }
  #grow(min: number): void {
    const next = new Int32Array(Math.max(min, this.data.length * 2));
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }
}

/** Chunks up to this many bytes use the simple quadratic merge loop; longer ones a heap. */
export const SHORT_CHUNK_BYTES = 48;
/** The encode cache (chunk → ids) is cleared when it reaches this many entries… */
export const CACHE_MAX_ENTRIES = 1 << 18;
/** …or this many cached ids, bounding its memory. */
export const CACHE_MAX_IDS = 1 << 22;
/** Cached ids are stored as `start * ID_PACK + length` (length ≤ 3 × MAX_CHUNK_LENGTH). */
export const ID_PACK = 1024;
