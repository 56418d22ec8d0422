/**
 * Perplexity of a segment with no history, with the R³Mem memory of the history, and with the history text itself in the window; the share of the gap the memory closes. Part of `deno task eval` (`./run.ts`).
 *
 * @module
 */
import type { ReversibleTransformer } from "../../src/model/transformer.ts";
import { type EvalModel, storedMemory } from "./metrics.ts";
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
 * import { gapClosed } from "./perplexity.ts";
 * console.log(gapClosed({ none: 30, r3mem: 20, full: 10 })); // 0.5
 * ```
 */
export function gapClosed(p: Pick<PplResult, "none" | "r3mem" | "full">): number | null {
  const gap = p.none - p.full;
  if (!Number.isFinite(gap) || Math.abs(gap) < 1e-9) return null;
  return (p.none - p.r3mem) / gap;
}

// ── bits per byte ────────────────────────────────────────────────────────────
