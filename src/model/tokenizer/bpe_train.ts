/**
 * BPE training: the merges of a corpus, learned from its pre-split chunks.
 *
 * @module
 */
import { InputError } from "../../errors.ts";
import { FIRST_MERGE_ID, MAX_CHUNK_LENGTH, MAX_VOCAB_SIZE } from "./constants.ts";
import { checkText, describe, scanChunks } from "./pretokenize.ts";
import { ChunkTable } from "./tables.ts";
import { flatCopy } from "./text_bytes.ts";
import { Tokenizer } from "./tokenizer.ts";

/** Progress report of {@link trainBpe}. */
export interface TrainBpeProgress {
  /** Which phase: counting chunks of the corpus, or merging pairs. */
  phase: "count" | "merge";
  /** Texts read (count phase) or merges learned (merge phase). */
  done: number;
  /** Total merges wanted (merge phase); 0 in the count phase. */
  total: number;
}

/** Options of {@link trainBpe}. */
export interface TrainBpeOptions {
  /** Stop early when the most frequent pair occurs fewer times than this (default 2). */
  minPairCount?: number;
  /** Called now and then with progress. */
  onProgress?: (progress: TrainBpeProgress) => void;
}

/**
 * Learns BPE merges from a corpus: counts pre-split chunks, then repeatedly merges the most
 * frequent adjacent pair (ties: lowest first id, then lowest second id), updating pair counts
 * incrementally. Deterministic: the same texts give the same merges.
 *
 * @param texts The corpus, as well-formed strings (a generator is fine).
 * @param vocabSize Wanted vocabulary size, including the 256 byte and 8 special tokens; fewer
 *   merges are learned if the corpus runs out of pairs occurring `minPairCount` times.
 * @param options Early stop and progress callback.
 * @returns The trained tokenizer.
 * @throws {InputError} If `vocabSize` is out of range or a text is not a well-formed string.
 *
 * @example Training a tiny vocabulary
 * ```ts
 * import { ok } from "node:assert";
 * import { trainBpe } from "../tokenizer.ts";
 * const tok = trainBpe(["low lower lowest", "new newer newest"], 280);
 * ok(tok.vocabSize <= 280);
 * ok(tok.encode(" lowest").length < " lowest".length);
 * ```
 */
export function trainBpe(
  texts: Iterable<string>,
  vocabSize: number,
  options: TrainBpeOptions = {},
): Tokenizer {
  if (!Number.isInteger(vocabSize) || vocabSize < FIRST_MERGE_ID || vocabSize > MAX_VOCAB_SIZE) {
    throw new InputError(
      `vocabSize must be an integer in ${FIRST_MERGE_ID}..${MAX_VOCAB_SIZE}, got ${vocabSize}`,
    );
  }
  if (texts === null || typeof (texts as Iterable<string>)?.[Symbol.iterator] !== "function") {
    throw new InputError(`Expected an iterable of strings, got ${describe(texts)}`);
  }
  const minPairCount = Math.max(1, options.minPairCount ?? 2);
  const onProgress = options.onProgress;
  const words = wordsOf(countChunks(texts, onProgress));
  const pairs = countPairs(words);
  const heap = pairs.heap;
  // Merge the most frequent pair, again and again; heap entries whose count went down since
  // they were pushed are stale (pushed again with the current count).
  const numMerges = vocabSize - FIRST_MERGE_ID;
  const merges = new Uint32Array(numMerges * 2);
  const stamp = new Int32Array(words.count).fill(-1);
  const delta = new Map<number, number>();
  let m = 0;
  while (m < numMerges && heap.size > 0) {
    const c = heap.topCount(), key = heap.topKey();
    heap.pop();
    const current = pairs.count.get(key) ?? 0;
    if (current !== c) {
      if (current > 0) heap.push(current, key); // count went down since it was pushed
      continue;
    }
    if (c < minPairCount) break;
    const a = Math.floor(key / PAIR_BASE), b = key - a * PAIR_BASE;
    merges[2 * m] = a;
    merges[2 * m + 1] = b;
    applyMerge(words, pairs, key, FIRST_MERGE_ID + m, m, stamp, delta);
    m++;
    if (onProgress && m % 256 === 0) onProgress({ phase: "merge", done: m, total: numMerges });
  }
  onProgress?.({ phase: "merge", done: m, total: numMerges });
  return new Tokenizer(merges.subarray(0, 2 * m));
}

/** Pair keys are `first * PAIR_BASE + second`. */
const PAIR_BASE = MAX_VOCAB_SIZE;

/** Step 1: how often each pre-split chunk occurs in the corpus. */
function countChunks(
  texts: Iterable<string>,
  onProgress: ((progress: TrainBpeProgress) => void) | undefined,
): ChunkTable {
  const chunkCounts = new ChunkTable(1 << 16);
  let nTexts = 0;
  for (const text of texts) {
    checkText(text);
    scanChunks(text, (s, e) => {
      const h = ChunkTable.hash(text, s, e);
      const slot = chunkCounts.find(text, s, e, h);
      if (chunkCounts.keys[slot] === undefined) {
        chunkCounts.insert(slot, flatCopy(text, s, e), h, 1);
      } else chunkCounts.vals[slot]++;
    });
    if (++nTexts % 1000 === 0) onProgress?.({ phase: "count", done: nTexts, total: 0 });
  }
  return chunkCounts;
}

/** The words being merged: unique chunks of at least 2 bytes, as symbols in one flat array. */
interface Words {
  count: number;
  /** Every word's symbols; merging shortens a word in place. */
  syms: Int32Array;
  wStart: Int32Array;
  wLen: Int32Array;
  /** How often the word occurs in the corpus. */
  wFreq: Float64Array;
}

/** Step 2: the words of the chunk counts, as UTF-8 byte symbols. */
function wordsOf(chunkCounts: ChunkTable): Words {
  const enc = new TextEncoder();
  let scratch = new Uint8Array(4 * MAX_CHUNK_LENGTH);
  let syms = new Int32Array(1 << 16);
  let symLen = 0;
  const wStartList: number[] = [], wLenList: number[] = [], wFreqList: number[] = [];
  for (let slot = 0; slot < chunkCounts.keys.length; slot++) {
    const chunk = chunkCounts.keys[slot];
    if (chunk === undefined) continue;
    const freq = chunkCounts.vals[slot];
    if (scratch.length < chunk.length * 3) scratch = new Uint8Array(chunk.length * 3);
    const { written } = enc.encodeInto(chunk, scratch);
    if (written < 2) continue;
    if (symLen + written > syms.length) {
      const g = new Int32Array(Math.max(syms.length * 2, symLen + written));
      g.set(syms.subarray(0, symLen));
      syms = g;
    }
    wStartList.push(symLen);
    wLenList.push(written);
    wFreqList.push(freq);
    for (let i = 0; i < written; i++) syms[symLen++] = scratch[i];
  }
  return {
    count: wStartList.length,
    syms,
    wStart: Int32Array.from(wStartList),
    wLen: Int32Array.from(wLenList),
    wFreq: Float64Array.from(wFreqList),
  };
}

/** Pair counts, the words each pair occurs in, and the heap of pairs by count. */
interface Pairs {
  count: Map<number, number>;
  where: Map<number, number[]>;
  heap: PairHeap;
}

/** Step 3: initial pair counts and where each pair occurs. */
function countPairs(words: Words): Pairs {
  const { syms, wStart, wLen, wFreq } = words;
  const P = PAIR_BASE;
  const pairCount = new Map<number, number>();
  const where = new Map<number, number[]>();
  for (let w = 0; w < words.count; w++) {
    const s = wStart[w], e = s + wLen[w], f = wFreq[w];
    for (let i = s; i < e - 1; i++) {
      const key = syms[i] * P + syms[i + 1];
      pairCount.set(key, (pairCount.get(key) ?? 0) + f);
      let list = where.get(key);
      if (list === undefined) where.set(key, list = []);
      if (list[list.length - 1] !== w) list.push(w);
    }
  }
  const heap = new PairHeap();
  for (const [key, c] of pairCount) heap.push(c, key);
  return { count: pairCount, where, heap };
}

/**
 * Step 4, one merge: replaces pair `key` by token `z` in every word holding it (`stamp` marks
 * the words done for merge `m`), and updates the counts of the pairs that change (`delta`:
 * scratch, reused from merge to merge).
 */
function applyMerge(
  words: Words,
  pairs: Pairs,
  key: number,
  z: number,
  m: number,
  stamp: Int32Array,
  delta: Map<number, number>,
): void {
  const { syms, wStart, wLen, wFreq } = words;
  const { count: pairCount, where, heap } = pairs;
  const P = PAIR_BASE, a = Math.floor(key / P), b = key - a * P;
  delta.clear();
  const add = (x: number, y: number, d: number) => {
    const k = x * P + y;
    delta.set(k, (delta.get(k) ?? 0) + d);
  };
  for (const w of where.get(key) ?? []) {
    if (stamp[w] === m) continue;
    stamp[w] = m;
    const s = wStart[w], n = wLen[w], f = wFreq[w];
    let found = false;
    for (let i = s; i < s + n - 1; i++) {
      if (syms[i] === a && syms[i + 1] === b) {
        found = true;
        break;
      }
    }
    if (!found) continue;
    // pairs that may change are those touching a or b (old) or a, b or z (new)
    for (let i = s; i < s + n - 1; i++) {
      const x = syms[i], y = syms[i + 1];
      if (x === a || x === b || y === a || y === b) add(x, y, -f);
    }
    let j = s;
    for (let i = s; i < s + n;) {
      if (i < s + n - 1 && syms[i] === a && syms[i + 1] === b) {
        syms[j++] = z;
        i += 2;
      } else syms[j++] = syms[i++];
    }
    const n2 = j - s;
    wLen[w] = n2;
    for (let i = s; i < s + n2 - 1; i++) {
      const x = syms[i], y = syms[i + 1];
      if (x === z || y === z) {
        add(x, y, f);
        const k = x * P + y;
        let list = where.get(k);
        if (list === undefined) where.set(k, list = []);
        if (list[list.length - 1] !== w) list.push(w);
      } else if (x === a || x === b || y === a || y === b) add(x, y, f);
    }
  }
  for (const [k, d] of delta) {
    if (d === 0) continue;
    const v = (pairCount.get(k) ?? 0) + d;
    if (v <= 0) pairCount.delete(k);
    else pairCount.set(k, v);
    if (d > 0) heap.push(v, k);
  }
  pairCount.delete(key);
  where.delete(key);
}

/** Max-heap of (count, pair key): highest count first, then lowest key. */
export class PairHeap {
  #c: number[] = [];
  #k: number[] = [];
  get size(): number {
    return this.#c.length;
  }
  topCount(): number {
    return this.#c[0];
  }
  topKey(): number {
    return this.#k[0];
  }
  #before(c1: number, k1: number, c2: number, k2: number): boolean {
    return c1 > c2 || (c1 === c2 && k1 < k2);
  }
  push(c: number, k: number): void {
    const C = this.#c, K = this.#k;
    let i = C.length;
    C.push(c);
    K.push(k);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#before(c, k, C[p], K[p])) break;
      C[i] = C[p];
      K[i] = K[p];
      i = p;
    }
    C[i] = c;
    K[i] = k;
  }
  pop(): void {
    const C = this.#c, K = this.#k;
    const c = C.pop()!, k = K.pop()!;
    const n = C.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let ch = 2 * i + 1;
      if (ch >= n) break;
      if (ch + 1 < n && this.#before(C[ch + 1], K[ch + 1], C[ch], K[ch])) ch++;
      if (!this.#before(C[ch], K[ch], c, k)) break;
      C[i] = C[ch];
      K[i] = K[ch];
      i = ch;
    }
    C[i] = c;
    K[i] = k;
  }
}
