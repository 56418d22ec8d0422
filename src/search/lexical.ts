/**
 * The lexical half of search: the term counts of every node of a memory's tree, made once from
 * the exact text (when the memory is written) and stored beside it, and Okapi BM25 over the
 * nodes of the memories searched, each node scored like memory keys score it — by the best node
 * of its subtree (`src/codec/search_keys.ts`), so a hit's `match` keeps its meaning.
 *
 * BM25: `Σ_t idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·|n|/avgdl))`, `idf(t) = ln(1 + (N − df +
 * 0.5) / (df + 0.5))`, k1 = 1.2, b = 0.75; N, df and avgdl count every node of the memories
 * searched (documents, paragraphs and sentences alike), so scores of different levels compare.
 *
 * @module
 */
import type { MemoryNode, NodeLevel } from "../codec/memory.ts";
import { type NodeScore, scoreNodes } from "../codec/search_keys.ts";
import { FormatError } from "../errors.ts";
import { terms } from "./analyze.ts";

/** The term counts of every node of one memory's tree. */
export interface LexicalTerms {
  /** The distinct terms of the memory. */
  terms: string[];
  /** Per node, its number of terms (its BM25 length). */
  lengths: number[];
  /** Per node, `[term index, count]` pairs, flattened. */
  counts: number[][];
}

/**
 * The term counts of every node of a tree, from the text's UTF-8 bytes and the nodes' spans.
 *
 * @param nodes The tree, root first.
 * @param text The memory's exact text.
 *
 * @example
 * ```ts
 * import { lexicalTermsOf } from "./lexical.ts";
 * const t = lexicalTermsOf([{ byteStart: 0, byteEnd: 9 }, { byteStart: 4, byteEnd: 9 }], "Dogs bark");
 * console.log(t.terms, t.lengths, t.counts); // [ "dog", "bark" ] [ 2, 1 ] [ [ 0, 1, 1, 1 ], [ 1, 1 ] ]
 * ```
 */
export function lexicalTermsOf(
  nodes: readonly Pick<MemoryNode, "byteStart" | "byteEnd">[],
  text: string,
): LexicalTerms {
  const bytes = new TextEncoder().encode(text);
  const decoder = new TextDecoder();
  const index = new Map<string, number>();
  const lengths: number[] = [];
  const counts = nodes.map((n) => {
    const tf = new Map<number, number>();
    const ts = terms(decoder.decode(bytes.subarray(n.byteStart, n.byteEnd)));
    for (const t of ts) {
      let i = index.get(t);
      if (i === undefined) index.set(t, i = index.size);
      tf.set(i, (tf.get(i) ?? 0) + 1);
    }
    lengths.push(ts.length);
    return [...tf].flat();
  });
  return { terms: [...index.keys()], lengths, counts };
}

/**
 * Encodes term counts as bytes (UTF-8 JSON, `{"v":1,...}`).
 *
 * @example
 * ```ts
 * import { decodeLexicalTerms, encodeLexicalTerms } from "./lexical.ts";
 * const t = { terms: ["cat"], lengths: [1], counts: [[0, 1]] };
 * console.log(decodeLexicalTerms(encodeLexicalTerms(t))); // { terms: [ "cat" ], lengths: [ 1 ], counts: [ [ 0, 1 ] ] }
 * ```
 */
export function encodeLexicalTerms(t: LexicalTerms): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ v: 1, ...t }));
}

/**
 * Decodes {@link encodeLexicalTerms}'s bytes.
 *
 * @throws {FormatError} When they are not term counts.
 */
export function decodeLexicalTerms(bytes: Uint8Array): LexicalTerms {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new FormatError("Lexical terms are not JSON");
  }
  const v = value as Partial<LexicalTerms> & { v?: number };
  if (
    !v || v.v !== 1 || !Array.isArray(v.terms) || !Array.isArray(v.lengths) ||
    !Array.isArray(v.counts) || v.lengths.length !== v.counts.length
  ) {
    throw new FormatError("Lexical terms are damaged");
  }
  return { terms: v.terms, lengths: v.lengths, counts: v.counts };
}

/** One memory shown to {@link rankLexical}. */
export interface LexicalDoc<T> {
  /** The caller's handle of the memory. */
  owner: T;
  /** Its term counts. */
  terms: LexicalTerms;
  /** Parent of each node (`-1` for the root). */
  parents: ArrayLike<number>;
  /** Level of each node. */
  levels: readonly NodeLevel[];
}

/** A ranked node of one memory. */
export interface RankedNode<T> extends NodeScore {
  /** Which memory. */
  owner: T;
  /** The node's level. */
  level: NodeLevel;
}

/** Options of {@link rankLexical}. */
export interface LexicalOptions {
  /** Only nodes of these levels (default all). */
  levels?: readonly NodeLevel[];
  /** Score a node by the best node of its subtree (default true) or by its own text. */
  subtree?: boolean;
  /** Term-frequency saturation (default 1.2). */
  k1?: number;
  /** Length normalisation (default 0.75). */
  b?: number;
}

/**
 * BM25 ranking of the nodes of `docs` for a query: nodes sharing no term with it are left out;
 * best first (ties: earlier memory, then earlier node).
 *
 * @example
 * ```ts
 * import { lexicalTermsOf, rankLexical } from "./lexical.ts";
 * const doc = (owner: string, text: string) => ({
 *   owner, terms: lexicalTermsOf([{ byteStart: 0, byteEnd: text.length }], text),
 *   parents: [-1], levels: ["document" as const],
 * });
 * const hits = rankLexical("peanut allergy", [doc("a", "Rent is due."), doc("b", "Allergic to peanuts.")]);
 * console.log(hits.map((h) => h.owner)); // [ "b" ]
 * ```
 */
export function rankLexical<T>(
  query: string,
  docs: readonly LexicalDoc<T>[],
  options: LexicalOptions = {},
): RankedNode<T>[] {
  const k1 = options.k1 ?? 1.2;
  const b = options.b ?? 0.75;
  const q = [...new Set(terms(query))];
  if (q.length === 0) return [];
  // Collection statistics over every node of every memory.
  let nodes = 0, total = 0;
  const df = new Map<string, number>(q.map((t) => [t, 0]));
  const local = docs.map((d) => {
    nodes += d.terms.lengths.length;
    for (const l of d.terms.lengths) total += l;
    // Query term → its index in this memory's terms.
    const ids = new Map<number, string>();
    d.terms.terms.forEach((t, i) => {
      if (df.has(t)) ids.set(i, t);
    });
    if (ids.size > 0) {
      for (const c of d.terms.counts) {
        for (let j = 0; j < c.length; j += 2) {
          const t = ids.get(c[j]);
          if (t !== undefined) df.set(t, df.get(t)! + 1);
        }
      }
    }
    return ids;
  });
  const avgdl = nodes > 0 ? total / nodes || 1 : 1;
  const idf = new Map([...df].map(([t, n]) => [t, Math.log(1 + (nodes - n + 0.5) / (n + 0.5))]));
  const out: RankedNode<T>[] = [];
  docs.forEach((d, di) => {
    const ids = local[di];
    if (ids.size === 0) return;
    const own = d.terms.counts.map((c, n) => {
      let s = 0;
      const norm = k1 * (1 - b + (b * d.terms.lengths[n]) / avgdl);
      for (let j = 0; j < c.length; j += 2) {
        const t = ids.get(c[j]);
        if (t !== undefined) s += (idf.get(t)! * c[j + 1] * (k1 + 1)) / (c[j + 1] + norm);
      }
      return s > 0 ? s : -Infinity;
    });
    const subtree = options.subtree ?? true;
    const ranked = scoreNodes(d.parents, d.levels, own, options.levels, subtree);
    for (const r of ranked) out.push({ owner: d.owner, level: d.levels[r.node], ...r });
  });
  const order = new Map(docs.map((d, i) => [d.owner, i]));
  out.sort((x, y) =>
    y.score - x.score || order.get(x.owner)! - order.get(y.owner)! || x.node - y.node
  );
  return out;
}
