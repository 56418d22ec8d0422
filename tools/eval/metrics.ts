/**
 * The model's metrics for `deno task eval`: bits per byte of lossless memories (beside the
 * baseline compressors), greedy reconstruction accuracy from memory alone, perplexity with no
 * history / with R³Mem memory / with the text itself, and paragraph retrieval (memory search
 * beside BM25).
 *
 * The model is driven directly (`ReversibleTransformer`), the way `R3Mem` drives it: segments of
 * `segmentTokens` are compressed recurrently from `memInit`, the memory is stored int8 with one
 * scale per slot, and decoding runs the backward direction from it.
 *
 * @module
 */
import { R3Mem } from "../../src/r3mem.ts";
import type { ModelConfig } from "../../src/model/config.ts";
import { ReversibleTransformer } from "../../src/model/transformer.ts";
import { uploadWeights } from "../../src/model/weights.ts";
import {
  dequantizeRowsInt8,
  loadWeightsFrom,
  quantizeRowsInt8,
} from "../../src/model/weights_format.ts";
import { createWasmBackend } from "../../src/backend/wasm/wasm_backend.ts";
import { createReferenceBackend } from "../../src/backend/reference.ts";
import { baselineBits } from "./baselines.ts";
import { Bm25Index } from "./bm25.ts";

/** A model loaded for evaluation: the public runtime and the network it runs. */
export interface EvalModel {
  /** The runtime (compress, search). */
  r3: R3Mem;
  /** The same weights as a bare network, for decoding experiments. */
  model: ReversibleTransformer;
  /** The configuration. */
  config: ModelConfig;
  /** The weights file's bytes (for tools that build their own engine, e.g. the refiner). */
  weights: Uint8Array;
}

/**
 * Loads a weights file for evaluation on one backend (default `wasm`, as `R3Mem.load` uses).
 *
 * @param weights The weights file's bytes.
 * @param backend `"wasm"` (default) or `"reference"`.
 * @returns The runtime and the bare network.
 * @throws {FormatError} When the bytes are not an intact weights file.
 *
 * @example
 * ```ts
 * import { loadEvalModel } from "./metrics.ts";
 * import { buildRandomModel } from "../../src/model/random_model.ts";
 * const m = await loadEvalModel(await buildRandomModel({ seed: 1 }));
 * console.log(m.config.memorySlots === m.r3.config.memorySlots); // true
 * ```
 */
export async function loadEvalModel(
  weights: Uint8Array,
  backend: "wasm" | "reference" = "wasm",
): Promise<EvalModel> {
  const be = backend === "reference"
    ? createReferenceBackend()
    : await createWasmBackend({ deterministic: false });
  const r3 = await R3Mem.load({ weights, backend: be });
  const file = await loadWeightsFrom(weights);
  const model = new ReversibleTransformer(
    be,
    r3.config,
    uploadWeights(be, r3.config, file.tensors),
  );
  return { r3, model, config: r3.config, weights };
}

// ── memory ────────────────────────────────────────────────────────────────────

/**
 * Recurrent compression of `ids` from `memInit`, `segmentTokens` at a time (an empty sequence
 * is one empty segment, as `R3Mem` does). Returns the f32 memory `[S*D]`.
 */
export function compressTokens(model: ReversibleTransformer, ids: ArrayLike<number>): Float32Array {
  const T = model.config.segmentTokens;
  let memory = model.memInit;
  for (let i = 0; i < ids.length || i === 0; i += T) {
    memory = model.compressSegment(memory, Array.prototype.slice.call(ids, i, i + T));
  }
  return memory;
}

/** The memory as it is stored: int8 with one scale per slot, then dequantized. */
export function storedMemory(config: ModelConfig, memory: Float32Array): Float32Array {
  const { q, scales } = quantizeRowsInt8(memory, config.memorySlots, config.dim);
  return dequantizeRowsInt8(q, scales, config.memorySlots, config.dim);
}

/**
 * Bits of one stored memory node: `S × D` int8 values and `S` f32 scales (the slots alone, no
 * container).
 *
 * @example
 * ```ts
 * import { memoryBits } from "./metrics.ts";
 * console.log(memoryBits({ memorySlots: 8, dim: 128 })); // 8448
 * ```
 */
export function memoryBits(config: Pick<ModelConfig, "memorySlots" | "dim">): number {
  return config.memorySlots * (config.dim * 8 + 32);
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
  return best;
}

/**
 * Greedy decoding of `n` tokens from `memory` alone: each step takes the most likely token and
 * feeds it back (sliding the context when it is full).
 */
export function greedyDecode(
  model: ReversibleTransformer,
  memory: Float32Array,
  n: number,
): number[] {
  const out: number[] = [];
  if (n <= 0) return out;
  const session = model.startDecoder(memory);
  try {
    session.begin();
    for (let i = 0; i < n; i++) {
      const best = argmax(model.readLogits(1));
      out.push(best);
      if (i < n - 1) {
        session.slideIfFull();
        session.feed([best]);
      }
    }
  } finally {
    session.free();
  }
  return out;
}

// ── reconstruction ───────────────────────────────────────────────────────────

/**
 * Teacher-forced decoding of `span` from `memory`: the decoder is fed the true tokens (sliding
 * its window like greedy decoding does) and each position counts when its most likely token is
 * the right one. Unlike greedy decoding, one wrong token does not derail the rest, so this
 * measures what the memory holds position by position.
 *
 * @returns Positions whose argmax is the span's token.
 */
export function teacherForcedCorrect(
  model: ReversibleTransformer,
  memory: Float32Array,
  span: ArrayLike<number>,
): number {
  if (span.length === 0) return 0;
  const V = model.config.vocabSize;
  const session = model.startDecoder(memory);
  try {
    session.begin();
    let right = argmax(model.readLogits(1)) === span[0] ? 1 : 0;
    for (let fed = 0; fed < span.length - 1;) {
      // A slide's own row predicts span[fed] again, already scored with the longer context;
      // greedy decoding ignores it too.
      session.slideIfFull();
      const n = Math.min(session.room, span.length - 1 - fed);
      const chunk = Array.prototype.slice.call(span, fed, fed + n) as number[];
      session.feed(chunk);
      const logits = model.readLogits(n);
      for (let i = 0; i < n; i++) {
        if (argmax(logits.subarray(i * V, (i + 1) * V)) === span[fed + 1 + i]) right++;
      }
      fed += n;
    }
    return right;
  } finally {
    session.free();
  }
}

/** Result of {@link reconstructionAccuracy}. */
export interface ReconResult {
  /** Spans reconstructed. */
  spans: number;
  /** Tokens compared. */
  tokens: number;
  /** Tokens right at their position, decoding greedily. */
  correct: number;
  /** `correct / tokens` (0 when there were none): greedy accuracy. */
  accuracy: number;
  /** Positions whose most likely token is right when the decoder is fed the true text. */
  tf_correct: number;
  /** `tf_correct / tokens`: teacher-forced accuracy. */
  tf_accuracy: number;
  /** UTF-8 bytes of the spans' text. */
  bytes: number;
  /** Bits of the spans' stored memories (slots only) per byte of their text. */
  bpb_memory: number;
}

/**
 * Compresses each span into one memory (recurrently, stored int8), decodes as many tokens
 * greedily from that memory alone and counts the positions that match; also counts the positions
 * teacher forcing gets right ({@link teacherForcedCorrect}).
 *
 * @param m The model.
 * @param spans Token spans (typically `k × memorySlots` tokens each).
 */
export function reconstructionAccuracy(m: EvalModel, spans: number[][]): ReconResult {
  let tokens = 0, correct = 0, tfCorrect = 0, bytes = 0;
  for (const span of spans) {
    const memory = storedMemory(m.config, compressTokens(m.model, span));
    const decoded = greedyDecode(m.model, memory, span.length);
    for (let i = 0; i < span.length; i++) if (decoded[i] === span[i]) correct++;
    tfCorrect += teacherForcedCorrect(m.model, memory, span);
    tokens += span.length;
    bytes += m.r3.tokenizer.decodeBytes(span).length;
  }
  return {
    spans: spans.length,
    tokens,
    correct,
    accuracy: tokens > 0 ? correct / tokens : 0,
    tf_correct: tfCorrect,
    tf_accuracy: tokens > 0 ? tfCorrect / tokens : 0,
    bytes,
    bpb_memory: bytes > 0 ? (spans.length * memoryBits(m.config)) / bytes : 0,
  };
}

// ── perplexity ───────────────────────────────────────────────────────────────

/** Result of {@link perplexities}. */
export interface PplResult {
  /** Perplexity with no history (memory = `memInit`). */
  none: number;
  /** Perplexity with the stored R³Mem memory of the document's earlier segments. */
  r3mem: number;
  /** Perplexity with the earlier text itself in the window (up to `window − segmentTokens`). */
  full: number;
  /** Segments scored (documents' first segments are skipped). */
  segments: number;
  /** Tokens scored. */
  tokens: number;
}

// Adds −ln p(target) for `targets[i]` under row `i` of `probs` ([n*V]).
function nll(probs: Float32Array, V: number, targets: ArrayLike<number>, row0 = 0): number {
  let s = 0;
  for (let i = 0; i < targets.length; i++) {
    s -= Math.log(Math.max(probs[(row0 + i) * V + targets[i]], 1e-30));
  }
  return s;
}

// NLL of `seg` decoded from `memory` with nothing before it: first token from BOS, the rest
// teacher-forced.
function segmentNll(model: ReversibleTransformer, memory: Float32Array, seg: number[]): number {
  const V = model.config.vocabSize;
  const session = model.startDecoder(memory);
  try {
    session.begin();
    let s = nll(model.readProbs(1), V, [seg[0]]);
    for (let fed = 0; fed < seg.length - 1;) {
      session.slideIfFull();
      const n = Math.min(session.room, seg.length - 1 - fed);
      session.feed(seg.slice(fed, fed + n));
      s += nll(model.readProbs(n), V, seg.slice(fed + 1, fed + 1 + n));
      fed += n;
    }
    return s;
  } finally {
    session.free();
  }
}

// NLL of `seg` after `context` tokens in the window (memory = memInit).
function contextNll(model: ReversibleTransformer, context: number[], seg: number[]): number {
  if (context.length === 0) return segmentNll(model, model.memInit, seg);
  const V = model.config.vocabSize;
  const session = model.startDecoder(model.memInit);
  try {
    session.begin();
    const rows = context.concat(seg.slice(0, -1));
    session.feed(rows);
    return nll(model.readProbs(rows.length), V, seg, context.length - 1);
  } finally {
    session.free();
  }
}

/**
 * Perplexity (exp of the mean token NLL) of every segment of every document but the first, three
 * ways: no history, the R³Mem memory of the earlier segments, and the earlier text in the window.
 *
 * @param m The model.
 * @param documents Token sequences, one per document.
 * @param maxTokens Stop after scoring about this many tokens (default: all).
 */
export function perplexities(
  m: EvalModel,
  documents: ArrayLike<number>[],
  maxTokens = Infinity,
): PplResult {
  const { model, config } = m;
  const T = config.segmentTokens;
  const ctxMax = Math.max(0, config.window - T);
  let none = 0, r3 = 0, full = 0, tokens = 0, segments = 0;
  outer: for (const doc of documents) {
    const ids = Array.from(doc);
    let memory = model.memInit;
    for (let start = 0; start < ids.length; start += T) {
      const seg = ids.slice(start, start + T);
      if (start > 0) {
        none += segmentNll(model, model.memInit, seg);
        r3 += segmentNll(model, storedMemory(config, memory), seg);
        full += contextNll(model, ids.slice(Math.max(0, start - ctxMax), start), seg);
        tokens += seg.length;
        segments++;
        if (tokens >= maxTokens) break outer;
      }
      if (start + T < ids.length) memory = model.compressSegment(memory, seg);
    }
  }
  const ppl = (s: number) => (tokens > 0 ? Math.exp(s / tokens) : NaN);
  return { none: ppl(none), r3mem: ppl(r3), full: ppl(full), segments, tokens };
}

/**
 * The share of the gap between no history and full text that the memory closes:
 * `(none − r3mem) / (none − full)`; `null` when there is no gap to close.
 *
 * @example
 * ```ts
 * import { gapClosed } from "./metrics.ts";
 * console.log(gapClosed({ none: 30, r3mem: 20, full: 10 })); // 0.5
 * ```
 */
export function gapClosed(p: Pick<PplResult, "none" | "r3mem" | "full">): number | null {
  const gap = p.none - p.full;
  if (!Number.isFinite(gap) || Math.abs(gap) < 1e-9) return null;
  return (p.none - p.r3mem) / gap;
}

// ── bits per byte ────────────────────────────────────────────────────────────

/** Bits per input byte of one setting (`doc` or `msg`). */
export interface BpbResult {
  /**
   * Compact lossless `.r3m` files (`slots: "none"`: the node tree and the residual): every byte
   * of them.
   */
  bpb_lossless: number;
  /** What storing every node's memory slots (the default `slots: "all"`) would add. */
  bpb_slots_all: number;
  /** gzip -9. */
  bpb_gzip: number;
  /** brotli quality 11. */
  bpb_brotli: number;
  /** zstd level 19. */
  bpb_zstd: number;
  /**
   * The residual stream of the `.r3m` files alone (a diagnostic: what the file would cost
   * without its memory slots and container).
   */
  bpb_residual: number;
  /** Items compressed. */
  items: number;
  /** Their UTF-8 bytes. */
  bytes: number;
}

/**
 * Compresses every item on its own, losslessly with the model (`memory.toBytes()` of a compact
 * memory, `slots: "none"`) and with each
 * baseline; sums the bits and divides by the total input bytes.
 *
 * @param r3 The runtime.
 * @param items The texts (non-empty).
 * @param verify Also reconstruct the first item and check it comes back exactly.
 * @param cache Code with the document cache (default true; false: the model alone).
 */
export async function bitsPerByte(
  r3: R3Mem,
  items: string[],
  verify = false,
  cache = true,
): Promise<BpbResult> {
  const enc = new TextEncoder();
  let bytes = 0, model = 0, residual = 0, slots = 0, gzip = 0, brotli = 0, zstd = 0;
  const slotBits = 8 * r3.config.memorySlots * (r3.config.dim + 4);
  for (const [i, text] of items.entries()) {
    const data = enc.encode(text);
    const memory = r3.compressSync(text, { slots: "none", cache });
    const file = memory.toBytes();
    if (verify && i === 0) {
      const back = await r3.reconstruct(memory);
      if (back !== text) throw new Error("Lossless round trip failed on the first item");
    }
    const b = baselineBits(data);
    bytes += data.length;
    model += file.length * 8;
    residual += (memory.residual?.bytes.length ?? 0) * 8;
    slots += memory.nodes.length * slotBits;
    gzip += b.gzip;
    brotli += b.brotli;
    zstd += b.zstd;
  }
  const per = (bits: number) => (bytes > 0 ? bits / bytes : NaN);
  return {
    bpb_lossless: per(model),
    bpb_slots_all: per(slots),
    bpb_gzip: per(gzip),
    bpb_brotli: per(brotli),
    bpb_zstd: per(zstd),
    bpb_residual: per(residual),
    items: items.length,
    bytes,
  };
}

// ── retrieval ────────────────────────────────────────────────────────────────

/** Recall@5 of each ranking on one query set. */
export interface RecallSet {
  /** Share of queries whose paragraph is among the top `k` of memory-key search. */
  r3mem: number;
  /** The same for BM25 over the paragraphs' text (`./bm25.ts`, the baseline). */
  bm25: number;
  /** The same for `R3Mem.search` with `mode: "lexical"` (the library's own BM25 index). */
  lexical: number;
  /** The same for `R3Mem.search` with `mode: "hybrid"` (keys and BM25 fused by rank). */
  hybrid: number;
  /** Queries asked (one per paragraph). */
  queries: number;
}

/** Result of {@link retrievalRecall}. */
export interface RecallResult extends RecallSet {
  /** The same with each document scored by its own key alone (`scoring: "node"`). */
  r3memNode: number;
  /** Paragraphs in the pool. */
  pool: number;
  /** The second query set (WordNet paraphrases, `./paraphrase.ts`), when given. */
  paraphrased?: RecallSet;
}

/**
 * Paragraph retrieval: each paragraph is compressed (lossless, slots at every level: the keys
 * of a lossy memory, and the exact text the lexical index needs) into its own memory; query `i`
 * should find paragraph `i`. `R3Mem.search` ranks the document node of every memory by memory
 * keys (each scored by the best-matching node of its tree), by BM25 over its words, and by both
 * fused; the baseline BM25 ranks the paragraphs' text.
 *
 * @param r3 The runtime.
 * @param pool The paragraphs.
 * @param queries One query per paragraph.
 * @param k Cut-off (default 5).
 * @param paraphrased A second query set, one per paragraph (optional).
 */
export async function retrievalRecall(
  r3: R3Mem,
  pool: string[],
  queries: string[],
  k = 5,
  paraphrased?: string[],
): Promise<RecallResult> {
  if (queries.length !== pool.length) throw new RangeError("One query per paragraph");
  if (paraphrased && paraphrased.length !== pool.length) {
    throw new RangeError("One paraphrased query per paragraph");
  }
  const memories = pool.map((p) => r3.compressSync(p, { lossless: true, slots: "all" }));
  const bm25 = new Bm25Index(pool);
  const opts = { k, levels: ["document" as const], withText: false };
  let hitsNode = 0;
  const recallOf = async (qs: string[], ablation: boolean): Promise<RecallSet> => {
    let keys = 0, base = 0, lexical = 0, hybrid = 0;
    for (const [i, q] of qs.entries()) {
      const found = (hits: { memory: number }[]) => hits.some((h) => h.memory === i);
      if (q.length > 0) {
        if (found(await r3.search(q, memories, { ...opts, mode: "keys" }))) keys++;
        if (found(await r3.search(q, memories, { ...opts, mode: "lexical" }))) lexical++;
        if (found(await r3.search(q, memories, { ...opts, mode: "hybrid" }))) hybrid++;
        if (ablation) {
          const own = await r3.search(q, memories, { ...opts, mode: "keys", scoring: "node" });
          if (found(own)) hitsNode++;
        }
      }
      if (bm25.search(q, k).some((h) => h.index === i)) base++;
    }
    const n = qs.length || 1;
    return {
      r3mem: keys / n,
      bm25: base / n,
      lexical: lexical / n,
      hybrid: hybrid / n,
      queries: qs.length,
    };
  };
  const first = await recallOf(queries, true);
  return {
    ...first,
    r3memNode: hitsNode / (queries.length || 1),
    pool: pool.length,
    ...(paraphrased ? { paraphrased: await recallOf(paraphrased, false) } : {}),
  };
}
