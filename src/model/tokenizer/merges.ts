/**
 * Merge tables: flattening and validating them, and applying them to a chunk's ids.
 *
 * @module
 */
import { InputError } from "../../errors.ts";
import { BYTE_TOKENS, FIRST_MERGE_ID, MAX_TOKEN_BYTES, MAX_VOCAB_SIZE } from "./constants.ts";
import { describe } from "./pretokenize.ts";
import type { PairRanks } from "./tables.ts";

export function flattenMerges(
  merges: ArrayLike<readonly [number, number]> | ArrayLike<number>,
): Uint32Array {
  if (merges instanceof Uint32Array) return merges.slice();
  if (merges === null || typeof merges !== "object" || typeof merges.length !== "number") {
    throw new InputError(`Merges must be an array of [a, b] pairs, got ${describe(merges)}`);
  }
  const n = merges.length;
  if (n === 0) return new Uint32Array(0);
  if (typeof merges[0] === "number") {
    if (n % 2 !== 0) throw new InputError(`A flat merge table needs an even length, got ${n}`);
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const v = (merges as ArrayLike<number>)[i];
      if (!Number.isInteger(v) || v < 0 || v >= MAX_VOCAB_SIZE) {
        throw new InputError(`Merge table entry ${i} is not a valid token id: ${String(v)}`);
      }
      out[i] = v;
    }
    return out;
  }
  const out = new Uint32Array(2 * n);
  for (let r = 0; r < n; r++) {
    const pair = (merges as ArrayLike<readonly [number, number]>)[r];
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new InputError(`Merge ${r} must be a pair [a, b], got ${describe(pair)}`);
    }
    for (let k = 0; k < 2; k++) {
      const v = pair[k];
      if (!Number.isInteger(v) || v < 0 || v >= MAX_VOCAB_SIZE) {
        throw new InputError(`Merge ${r} has an invalid token id: ${String(v)}`);
      }
      out[2 * r + k] = v;
    }
  }
  return out;
}

/** Returns a description of the first problem of a flat merge table, or "" if it is valid. */
export function validateMerges(flat: Uint32Array): string {
  const n = flat.length / 2;
  if (FIRST_MERGE_ID + n > MAX_VOCAB_SIZE) return `too many merges (${n})`;
  // (Repeated pairs are found while the pair table is built: no Set here.)
  const lens = new Int32Array(FIRST_MERGE_ID + n).fill(1, 0, BYTE_TOKENS);
  for (let r = 0; r < n; r++) {
    const a = flat[2 * r], b = flat[2 * r + 1];
    // Checked without a per-merge array: this runs, uncompiled, at every model load.
    for (let side = 0; side < 2; side++) {
      const v = side === 0 ? a : b;
      if (v >= FIRST_MERGE_ID + r) {
        return `merge ${r} refers to token ${v}, which does not exist before token ${
          FIRST_MERGE_ID + r
        }`;
      }
      if (v >= BYTE_TOKENS && v < FIRST_MERGE_ID) {
        return `merge ${r} refers to special token ${v}`;
      }
    }
    const len = lens[FIRST_MERGE_ID + r] = lens[a] + lens[b];
    if (len > MAX_TOKEN_BYTES) {
      return `merge ${r} makes a token of ${len} bytes, longer than any chunk can be ` +
        `(${MAX_TOKEN_BYTES})`;
    }
  }
  return "";
}

/**
 * Applies merges to `ids[0..n)` in place (lowest rank first, leftmost first on ties); returns
 * the new length. Quadratic, for short chunks; `ranks` is scratch of at least `n` entries.
 */
export function mergeShort(
  ids: Int32Array,
  n: number,
  table: PairRanks,
  ranks: Int32Array,
): number {
  if (n < 2) return n;
  // ranks[i]: rank of (ids[i], ids[i+1]), -1 if none
  for (let i = 0; i < n - 1; i++) ranks[i] = table.get(ids[i], ids[i + 1]);
  ranks[n - 1] = -1;
  for (;;) {
    let best = -1, bi = -1;
    for (let i = 0; i < n - 1; i++) {
      const r = ranks[i];
      if (r >= 0 && (best < 0 || r < best)) {
        best = r;
        bi = i;
      }
    }
    if (bi < 0) return n;
    ids[bi] = FIRST_MERGE_ID + best;
    ids.copyWithin(bi + 1, bi + 2, n);
    ranks.copyWithin(bi + 1, bi + 2, n);
    n--;
    ranks[n - 1] = -1;
    if (bi + 1 < n) ranks[bi] = table.get(ids[bi], ids[bi + 1]);
    else ranks[bi] = -1;
    if (bi > 0) ranks[bi - 1] = table.get(ids[bi - 1], ids[bi]);
  }
}

export const POS_SCALE = 2 ** 32;

/**
 * Same result as {@link mergeShort} in O(n log n): a linked list of tokens and a min-heap of
 * candidate merges keyed by (rank, position); stale candidates are skipped when popped.
 */
export function mergeLong(ids: Int32Array, n: number, table: PairRanks): number {
  const next = new Int32Array(n), prev = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  const heap = new MinHeap(n);
  for (let i = 0; i < n - 1; i++) {
    const r = table.get(ids[i], ids[i + 1]);
    if (r >= 0) heap.push(r * POS_SCALE + i);
  }
  while (heap.size > 0) {
    const key = heap.pop();
    const r = Math.floor(key / POS_SCALE), i = key - r * POS_SCALE;
    if (ids[i] < 0) continue;
    const j = next[i];
    if (j >= n || table.get(ids[i], ids[j]) !== r) continue; // stale
    ids[i] = FIRST_MERGE_ID + r;
    ids[j] = -1;
    const k = next[j];
    next[i] = k;
    if (k < n) {
      prev[k] = i;
      const r2 = table.get(ids[i], ids[k]);
      if (r2 >= 0) heap.push(r2 * POS_SCALE + i);
    }
    const p = prev[i];
    if (p >= 0) {
      const r3 = table.get(ids[p], ids[i]);
      if (r3 >= 0) heap.push(r3 * POS_SCALE + p);
    }
  }
  let m = 0;
  for (let i = 0; i < n; i++) if (ids[i] >= 0) ids[m++] = ids[i];
  return m;
}

/** Binary min-heap of non-negative numbers. */
export class MinHeap {
  #h: Float64Array;
  size = 0;
  constructor(capacity: number) {
    this.#h = new Float64Array(Math.max(16, capacity));
  }
  push(v: number): void {
    if (this.size === this.#h.length) {
      const g = new Float64Array(this.#h.length * 2);
      g.set(this.#h);
      this.#h = g;
    }
    const h = this.#h;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p] <= v) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = v;
  }
  pop(): number {
    const h = this.#h;
    const top = h[0];
    const last = h[--this.size];
    let i = 0;
    const n = this.size;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && h[c + 1] < h[c]) c++;
      if (h[c] >= last) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = last;
    return top;
  }
}

let crcTable: Uint32Array | undefined;

export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[i] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------
