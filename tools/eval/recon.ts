/**
 * Reconstruction accuracy from memory alone: greedy decoding and teacher-forced token accuracy of spans decoded from their own int8 memory. Part of `deno task eval` (`./run.ts`).
 *
 * @module
 */
import type { ReversibleTransformer } from "../../src/model/transformer.ts";
import { compressTokens, type EvalModel, memoryBits, storedMemory } from "./metrics.ts";
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
