/**
 * Counts of the tokens that followed each context, in flat typed arrays with bounded size: the
 * storage of one order of the document cache (`./cache_mixer.ts`).
 *
 * A `Map` of `Map`s costs about 200 bytes a pair; a 10 MB input (three million tokens) would
 * need gigabytes. Here a context costs 20 bytes and a pair 16 (plus hash slots at most half
 * full), both tables grow by doubling, and both stop growing at their caps: after that, new
 * contexts and new (context, token) pairs are not recorded while known ones keep counting. The
 * caps are part of the `.r3m` format (they change the statistics), as is the iteration order of a
 * context's tokens: the order in which they were first seen.
 *
 * @example
 * ```ts
 * import { ContextCounts } from "./context_counts.ts";
 * const c = new ContextCounts(16, 64);
 * c.add(7, 1, c.find(7));
 * c.add(7, 2, c.find(7));
 * c.add(7, 1, c.find(7));
 * const ci = c.find(7);
 * const seen: number[][] = [];
 * c.forEach(ci, (token, n) => seen.push([token, n]));
 * console.log(c.total(ci), seen); // 3 [ [ 1, 2 ], [ 2, 1 ] ]
 * ```
 *
 * @module
 */

const EMPTY = -1;

function hashKey(key: number): number {
  const lo = key >>> 0, hi = Math.floor(key / 4294967296) >>> 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  return Math.imul(h, 0xc2b2ae35) ^ (h >>> 13);
}

function hashPair(ci: number, token: number): number {
  let h = Math.imul(ci, 0x9e3779b1) ^ Math.imul(token + 1, 0x85ebca6b);
  h ^= h >>> 15;
  return Math.imul(h, 0xc2b2ae35) ^ (h >>> 13);
}

function grown<T extends Int32Array | Float64Array>(a: T, size: number): T {
  const out = new (a.constructor as new (n: number) => T)(size);
  out.set(a);
  return out;
}

// Puts entry `index` in the first free slot from `hash` (linear probing).
function place(slots: Int32Array, hash: number, index: number): void {
  const mask = slots.length - 1;
  let s = hash & mask;
  while (slots[s] !== EMPTY) s = (s + 1) & mask;
  slots[s] = index;
}

// The slot table for one more entry after `count`: itself, or a doubled one refilled with entries
// 0 … count-1 when it would be more than half full.
function withRoom(
  slots: Int32Array<ArrayBuffer>,
  count: number,
  hashOf: (i: number) => number,
): Int32Array<ArrayBuffer> {
  if (2 * (count + 1) <= slots.length) return slots;
  const out = new Int32Array(slots.length * 2).fill(EMPTY);
  for (let i = 0; i < count; i++) place(out, hashOf(i), i);
  return out;
}

/** Token counts per context with bounded memory (see the module documentation). */
export class ContextCounts {
  readonly #maxContexts: number;
  readonly #maxPairs: number;
  // contexts, by index in order of creation
  #ctxKey = new Float64Array(16);
  #ctxTotal = new Int32Array(16);
  #ctxHead = new Int32Array(16);
  #ctxTail = new Int32Array(16);
  #contexts = 0;
  #ctxSlots = new Int32Array(32).fill(EMPTY);
  // pairs, by index in order of creation
  #pairToken = new Int32Array(16);
  #pairCount = new Int32Array(16);
  #pairNext = new Int32Array(16);
  #pairCtx = new Int32Array(16);
  #pairs = 0;
  #pairSlots = new Int32Array(32).fill(EMPTY);

  /**
   * @param maxContexts Contexts recorded at most.
   * @param maxPairs (context, token) pairs recorded at most.
   */
  constructor(maxContexts: number, maxPairs: number) {
    this.#maxContexts = maxContexts;
    this.#maxPairs = maxPairs;
  }

  /** Contexts recorded. */
  get contexts(): number {
    return this.#contexts;
  }

  /** Pairs recorded. */
  get pairs(): number {
    return this.#pairs;
  }

  /** Bytes of the tables (typed arrays) held now. */
  get bytes(): number {
    return [
      this.#ctxKey,
      this.#ctxTotal,
      this.#ctxHead,
      this.#ctxTail,
      this.#ctxSlots,
      this.#pairToken,
      this.#pairCount,
      this.#pairNext,
      this.#pairCtx,
      this.#pairSlots,
    ].reduce((a, t) => a + t.byteLength, 0);
  }

  /** Index of context `key` (a non-negative integer below 2^53), or -1 if it was never seen. */
  find(key: number): number {
    const slots = this.#ctxSlots, mask = slots.length - 1;
    for (let s = hashKey(key) & mask;; s = (s + 1) & mask) {
      const ci = slots[s];
      if (ci === EMPTY) return -1;
      if (this.#ctxKey[ci] === key) return ci;
    }
  }

  /** Tokens counted after context `ci`. */
  total(ci: number): number {
    return this.#ctxTotal[ci];
  }

  /** How often `token` followed context `ci`. */
  count(ci: number, token: number): number {
    const pi = this.#findPair(ci, token);
    return pi < 0 ? 0 : this.#pairCount[pi];
  }

  /** Calls `f(token, count)` for each token seen after context `ci`, in order of first sight. */
  forEach(ci: number, f: (token: number, count: number) => void): void {
    for (let pi = this.#ctxHead[ci]; pi !== EMPTY; pi = this.#pairNext[pi]) {
      f(this.#pairToken[pi], this.#pairCount[pi]);
    }
  }

  /**
   * Counts `token` after context `key` (`ci` is `find(key)`, passed in because the caller
   * usually has it). Does nothing when the context or the pair is new and its table is full.
   */
  add(key: number, token: number, ci: number): void {
    if (ci < 0) {
      if (this.#contexts >= this.#maxContexts) return;
      ci = this.#newContext(key);
    }
    let pi = this.#findPair(ci, token);
    if (pi < 0) {
      if (this.#pairs >= this.#maxPairs) return;
      pi = this.#newPair(ci, token);
    }
    this.#pairCount[pi]++;
    this.#ctxTotal[ci]++;
  }

  #findPair(ci: number, token: number): number {
    const slots = this.#pairSlots, mask = slots.length - 1;
    for (let s = hashPair(ci, token) & mask;; s = (s + 1) & mask) {
      const pi = slots[s];
      if (pi === EMPTY) return -1;
      if (this.#pairCtx[pi] === ci && this.#pairToken[pi] === token) return pi;
    }
  }

  #newContext(key: number): number {
    const ci = this.#contexts++;
    if (ci >= this.#ctxKey.length) {
      const n = this.#ctxKey.length * 2;
      this.#ctxKey = grown(this.#ctxKey, n);
      this.#ctxTotal = grown(this.#ctxTotal, n);
      this.#ctxHead = grown(this.#ctxHead, n);
      this.#ctxTail = grown(this.#ctxTail, n);
    }
    this.#ctxKey[ci] = key;
    this.#ctxTotal[ci] = 0;
    this.#ctxHead[ci] = EMPTY;
    this.#ctxTail[ci] = EMPTY;
    const hashOf = (i: number) => hashKey(this.#ctxKey[i]);
    this.#ctxSlots = withRoom(this.#ctxSlots, ci, hashOf);
    place(this.#ctxSlots, hashOf(ci), ci);
    return ci;
  }

  #newPair(ci: number, token: number): number {
    const pi = this.#pairs++;
    if (pi >= this.#pairToken.length) {
      const n = this.#pairToken.length * 2;
      this.#pairToken = grown(this.#pairToken, n);
      this.#pairCount = grown(this.#pairCount, n);
      this.#pairNext = grown(this.#pairNext, n);
      this.#pairCtx = grown(this.#pairCtx, n);
    }
    this.#pairToken[pi] = token;
    this.#pairCount[pi] = 0;
    this.#pairNext[pi] = EMPTY;
    this.#pairCtx[pi] = ci;
    // append to the context's list: iteration in order of first sight
    const tail = this.#ctxTail[ci];
    if (tail === EMPTY) this.#ctxHead[ci] = pi;
    else this.#pairNext[tail] = pi;
    this.#ctxTail[ci] = pi;
    const hashOf = (i: number) => hashPair(this.#pairCtx[i], this.#pairToken[i]);
    this.#pairSlots = withRoom(this.#pairSlots, pi, hashOf);
    place(this.#pairSlots, hashOf(pi), pi);
    return pi;
  }
}
