/**
 * Exact and near-duplicate detection for corpus documents: MinHash signatures (one-permutation
 * hashing with rotation densification) over word 5-gram shingles of the lower-cased text, and
 * locality-sensitive hashing on bands of the signature to find candidate pairs. Everything is
 * integer arithmetic on fixed hash functions, so the same documents in the same order always give
 * the same result.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { CorpusDocument } from "./text.ts";

/** Words per shingle. */
export const SHINGLE_WORDS = 5;
/** Signature length (bins). */
export const SIGNATURE_BINS = 128;
/** Bins per LSH band: 32 bands of 4 find a pair with Jaccard 0.8 with probability > 0.9999. */
export const BAND_ROWS = 4;
/** Default estimated Jaccard similarity at or above which a document is a near-duplicate. */
export const NEAR_DUPLICATE_JACCARD = 0.8;

const EMPTY = 0xffffffff;

/**
 * Most kept documents remembered per LSH bucket. Pages generated from one template (API
 * reference) share many bands while staying under the threshold; without a bound every new page
 * would be compared with all of them.
 */
const MAX_BUCKET = 64;

/** Murmur3's 32-bit finaliser: spreads the bits of a hash. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a hashes of the lower-cased words (runs of letters and digits) of a text. */
function wordHashes(text: string): Uint32Array {
  const out: number[] = [];
  let h = 0x811c9dc5;
  let inWord = false;
  const lower = text.toLowerCase();
  for (let i = 0; i < lower.length; i++) {
    const c = lower.charCodeAt(i);
    // Letters and digits of any script (ASCII fast path, then everything above U+00BF).
    const word = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c >= 0xc0;
    if (word) {
      h = Math.imul(h ^ c, 0x01000193);
      inWord = true;
    } else if (inWord) {
      out.push(h >>> 0);
      h = 0x811c9dc5;
      inWord = false;
    }
  }
  if (inWord) out.push(h >>> 0);
  return Uint32Array.from(out);
}

/**
 * The MinHash signature of a text: each word 5-gram is hashed, its hash picks one of
 * {@linkcode SIGNATURE_BINS} bins and a second mix of it competes for that bin's minimum; empty
 * bins borrow the next non-empty bin's value (rotation densification) so that short texts still
 * compare fairly. Texts with fewer than five words hash their whole word sequence once.
 *
 * @example
 * ```ts
 * import { minhashSignature, signatureSimilarity } from "./dedup.ts";
 * const a = minhashSignature("the quick brown fox jumps over the lazy dog ".repeat(3));
 * console.log(a.length, signatureSimilarity(a, a)); // 128 1
 * ```
 */
export function minhashSignature(text: string): Uint32Array {
  const words = wordHashes(text);
  const sig = new Uint32Array(SIGNATURE_BINS).fill(EMPTY);
  const n = Math.max(1, words.length - SHINGLE_WORDS + 1);
  for (let i = 0; i < n; i++) {
    let h = 0x9747b28c;
    const end = Math.min(words.length, i + SHINGLE_WORDS);
    for (let j = i; j < end; j++) h = fmix32(Math.imul(h ^ words[j], 0x5bd1e995) + j - i);
    const bin = h % SIGNATURE_BINS;
    const v = fmix32(h ^ 0x2545f491) >>> 1; // below EMPTY, so an empty bin is always visible
    if (v < sig[bin]) sig[bin] = v;
  }
  // Densify: an empty bin takes the value of the next non-empty bin to its right (circularly),
  // offset by the distance so that borrowed values differ from the donor's own.
  if (sig.includes(EMPTY) && !sig.every((v) => v === EMPTY)) {
    const src = sig.slice();
    for (let b = 0; b < SIGNATURE_BINS; b++) {
      if (src[b] !== EMPTY) continue;
      let t = 1;
      while (src[(b + t) % SIGNATURE_BINS] === EMPTY) t++;
      sig[b] = (src[(b + t) % SIGNATURE_BINS] + Math.imul(t, 0x3c6ef372)) >>> 0;
    }
  }
  return sig;
}

/** Estimated Jaccard similarity of two signatures: the share of equal bins. */
export function signatureSimilarity(a: Uint32Array, b: Uint32Array): number {
  let eq = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) eq++;
  return eq / a.length;
}

/** Why a document was dropped. */
export interface DuplicateRecord {
  /** The dropped document. */
  id: string;
  /** The kept document it duplicates. */
  of: string;
  /** `exact`: same words; `near`: estimated Jaccard at or above the threshold. */
  kind: "exact" | "near";
  /** Estimated Jaccard similarity (1 for exact duplicates). */
  similarity: number;
}

/** Key of a document's word sequence, so that whitespace and case changes still match exactly. */
function exactKey(text: string): string {
  return createHash("sha256").update(text.toLowerCase().replace(/\s+/g, " ").trim()).digest(
    "base64",
  );
}

/**
 * Drops exact and near-duplicate documents. Documents are taken in the given order and each is
 * kept unless its word sequence equals a kept document's (case and whitespace aside) or its
 * estimated Jaccard similarity of word 5-gram shingles with a kept document is at least
 * `threshold`; so the caller's order decides which copy survives.
 *
 * @example
 * ```ts
 * import { dedupDocuments } from "./dedup.ts";
 * const base = Array.from({ length: 200 }, (_, i) => `word${i}`).join(" ");
 * const { kept, dropped } = dedupDocuments([
 *   { id: "a/1", text: base },
 *   { id: "a/2", text: base.toUpperCase() },
 *   { id: "b/1", text: base.replace("word30 ", "changed ") },
 *   { id: "b/2", text: "something else entirely, ".repeat(10) },
 * ]);
 * console.log(kept.map((d) => d.id), dropped.map((d) => `${d.id}:${d.kind}:${d.of}`));
 * // [ "a/1", "b/2" ] [ "a/2:exact:a/1", "b/1:near:a/1" ]
 * ```
 */
export function dedupDocuments(
  docs: readonly CorpusDocument[],
  threshold: number = NEAR_DUPLICATE_JACCARD,
): { kept: CorpusDocument[]; dropped: DuplicateRecord[] } {
  if (!(threshold > 0 && threshold <= 1)) {
    throw new RangeError(`Jaccard threshold must be in (0, 1], got ${threshold}`);
  }
  const exact = new Map<string, string>();
  const buckets = new Map<string, number[]>(); // band key → indexes into `sigs`
  const sigs: Uint32Array[] = [];
  const keptIds: string[] = [];
  const kept: CorpusDocument[] = [];
  const dropped: DuplicateRecord[] = [];
  const bands = SIGNATURE_BINS / BAND_ROWS;
  for (const doc of docs) {
    const key = exactKey(doc.text);
    const same = exact.get(key);
    if (same !== undefined) {
      dropped.push({ id: doc.id, of: same, kind: "exact", similarity: 1 });
      continue;
    }
    const sig = minhashSignature(doc.text);
    const keys: string[] = [];
    let best = -1;
    let bestSim = 0;
    const seen = new Set<number>();
    for (let b = 0; b < bands; b++) {
      const k = `${b}:${sig.subarray(b * BAND_ROWS, (b + 1) * BAND_ROWS).join(",")}`;
      keys.push(k);
      for (const j of buckets.get(k) ?? []) {
        if (seen.has(j)) continue;
        seen.add(j);
        const s = signatureSimilarity(sig, sigs[j]);
        if (s > bestSim || (s === bestSim && best >= 0 && j < best)) {
          bestSim = s;
          best = j;
        }
      }
    }
    if (best >= 0 && bestSim >= threshold) {
      dropped.push({ id: doc.id, of: keptIds[best], kind: "near", similarity: bestSim });
      continue;
    }
    const index = sigs.length;
    sigs.push(sig);
    keptIds.push(doc.id);
    exact.set(key, doc.id);
    for (const k of keys) {
      const list = buckets.get(k);
      if (list) {
        if (list.length < MAX_BUCKET) list.push(index);
      } else buckets.set(k, [index]);
    }
    kept.push(doc);
  }
  return { kept, dropped };
}
