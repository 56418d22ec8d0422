/**
 * Memory slots optimized directly against a frozen decoder: what `deno task capacity` measures.
 *
 * The encoder is bypassed. For one span of text the memory (`memorySlots × dim` values, the rows
 * the decoder reads) is the only free variable; Adam lowers the decoder's teacher-forced
 * reconstruction loss of the span (`TrainEngine.memoryGradient`). What the optimized memory lets
 * the decoder reproduce bounds what any encoder could put into it: the decoder's capacity.
 *
 * Spans longer than the decoder's window are decoded as the runtime's `DecoderSession` does:
 * once `window` text tokens fill the context, it restarts from the memory, BOS and the last
 * `window / 2` tokens ({@link decodeWindows}); teacher-forced scoring and greedy decoding both
 * follow those windows.
 *
 * @module
 */
import type { TrainEngine } from "./engine.ts";
import { dequantizeRowsInt8, quantizeRowsInt8 } from "../model/weights_format.ts";

/** One decoder window: decode `tokens[start..end)` and score positions `scoreFrom..end-1`. */
export interface DecodeWindow {
  /** First text token of the context (the row after BOS). */
  start: number;
  /** First scored position (absolute); earlier ones in the window are context only. */
  scoreFrom: number;
  /** One past the last scored position. */
  end: number;
}

/**
 * The windows the runtime's decoder uses for `length` tokens: the first scores tokens
 * `0..window` (BOS plus `window` text rows); each later one restarts from the last `window / 2`
 * tokens of the previous context and scores up to `window / 2` new tokens.
 *
 * @param length Tokens to decode.
 * @param window The model's text window (`config.window`).
 * @returns The windows in order; their scored ranges tile `0..length`.
 *
 * @example
 * ```ts
 * import { decodeWindows } from "./slots.ts";
 * console.log(decodeWindows(256, 128).map((w) => [w.start, w.scoreFrom, w.end]));
 * // [ [ 0, 0, 129 ], [ 64, 129, 193 ], [ 128, 193, 256 ] ]
 * ```
 */
export function decodeWindows(length: number, window: number): DecodeWindow[] {
  const out: DecodeWindow[] = [];
  const half = window >> 1;
  let start = 0, scored = 0;
  while (scored < length) {
    const end = Math.min(length, start + window + 1);
    out.push({ start, scoreFrom: scored, end });
    scored = end;
    // the runtime slides once `window` tokens are in the context: it keeps the last half
    start += out.length === 1 ? window - half : half;
  }
  return out;
}

/** Teacher-forced loss, accuracy and gradient of a whole span (every window). */
export interface SpanLoss {
  /** Mean cross-entropy, nats/token. */
  loss: number;
  /** Share of positions whose most likely token is the right one. */
  accuracy: number;
  /** Gradient of `loss` with respect to the memory. */
  grad: Float32Array;
}

/**
 * Teacher-forced reconstruction of `tokens` from `memory` over the runtime's windows.
 *
 * @param engine A trainer engine holding the model (any stage).
 * @param memory `[memorySlots × dim]`.
 * @param tokens The span.
 */
export function spanLoss(engine: TrainEngine, memory: Float32Array, tokens: Int32Array): SpanLoss {
  const grad = new Float32Array(memory.length);
  let loss = 0, correct = 0;
  const n = tokens.length;
  for (const w of decodeWindows(n, engine.config.window)) {
    const r = engine.memoryGradient(memory, tokens.subarray(w.start, w.end), w.scoreFrom - w.start);
    // each window's loss is a mean over its own positions: weight it by their share
    const share = r.scored / n;
    loss += r.loss * share;
    correct += r.correct;
    for (let i = 0; i < grad.length; i++) grad[i] += r.grad[i] * share;
  }
  return { loss, accuracy: n > 0 ? correct / n : 0, grad };
}

/**
 * Greedy decoding of `length` tokens from `memory` with the trainer's f32 network (the model the
 * memory was optimized against), sliding like the runtime. Quadratic in the window (no
 * key/value cache), which is fine for a measurement.
 *
 * @param engine A trainer engine.
 * @param memory `[memorySlots × dim]`.
 * @param length Tokens to decode.
 */
export function greedyDecodeF32(
  engine: TrainEngine,
  memory: Float32Array,
  length: number,
): Int32Array {
  const V = engine.config.vocabSize;
  const out = new Int32Array(length);
  for (const w of decodeWindows(length, engine.config.window)) {
    for (let p = w.scoreFrom; p < w.end; p++) {
      // context BOS + out[start..p); the extra last token is a placeholder whose row predicts p
      const ctx = new Int32Array(p - w.start + 1);
      ctx.set(out.subarray(w.start, p));
      const logits = engine.decodeLogits(memory, ctx);
      const off = (p - w.start) * V;
      let best = 0;
      for (let v = 1; v < V; v++) if (logits[off + v] > logits[off + best]) best = v;
      out[p] = best;
    }
  }
  return out;
}

/** The memory as the runtime stores it: int8 per slot row, dequantized. */
export function roundMemory(memory: Float32Array, slots: number, dim: number): Float32Array {
  const { q, scales } = quantizeRowsInt8(memory, slots, dim);
  return dequantizeRowsInt8(q, scales, slots, dim);
}

/** Options of {@link optimizeSlots}. */
export interface SlotOptions {
  /** Adam steps. */
  steps: number;
  /** Peak learning rate (cosine decay to a tenth). Default 0.1 (see `docs/TRAINING.md`). */
  lr?: number;
  /**
   * Grow the target from a few tokens to the whole span over the first half of the steps
   * (Kuratov et al. 2025: it keeps greedy decoding on track where teacher forcing alone is
   * fine). Default false.
   */
  grow?: boolean;
  /** Called every `logEvery` steps with the step, loss and accuracy of the current target. */
  log?: (step: number, loss: number, accuracy: number, target: number) => void;
  /** Default 100. */
  logEvery?: number;
  /**
   * Stop before a step that would start at or after this `performance.now()` time (a time
   * budget; the steps done are in {@link SlotResult.steps}). Default: no deadline.
   */
  deadline?: number;
  /** Stop once the whole span's loss is below this (nats/token). Default: never. */
  targetLoss?: number;
}

/** Result of {@link optimizeSlots}. */
export interface SlotResult {
  /** The memory with the lowest whole-span loss seen. */
  memory: Float32Array;
  /** Its teacher-forced loss, nats/token. */
  loss: number;
  /** Its teacher-forced accuracy. */
  accuracy: number;
  /** Loss and accuracy of the initial memory on the whole span. */
  initial: { loss: number; accuracy: number };
  /** Adam steps taken (fewer than asked when the deadline came first). */
  steps: number;
}

/**
 * Adam on the memory slots (decoder frozen) to lower the teacher-forced reconstruction loss of
 * `tokens`, from `init`.
 *
 * @param engine A trainer engine holding the model.
 * @param tokens The span.
 * @param init The starting memory (e.g. the encoder's), `[memorySlots × dim]`; not modified.
 * @param options Steps, learning rate, growth.
 */
export function optimizeSlots(
  engine: TrainEngine,
  tokens: Int32Array,
  init: Float32Array,
  options: SlotOptions,
): SlotResult {
  const N = init.length, lr0 = options.lr ?? 0.1, steps = options.steps;
  const b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const mem = init.slice(), m = new Float32Array(N), v = new Float32Array(N);
  const growSteps = options.grow ? Math.floor(steps / 2) : 0;
  const first = spanLoss(engine, mem, tokens);
  let best = { memory: mem.slice(), loss: first.loss, accuracy: first.accuracy };
  const initial = { loss: first.loss, accuracy: first.accuracy };
  let pending: SpanLoss | null = first; // the current memory's whole-span result, when known
  let done = 0;
  for (let step = 1; step <= steps; step++) {
    if (options.deadline !== undefined && performance.now() >= options.deadline) break;
    const target = step <= growSteps
      ? Math.min(tokens.length, Math.max(4, Math.ceil((tokens.length * step) / growSteps)))
      : tokens.length;
    const r = pending && target === tokens.length
      ? pending
      : spanLoss(engine, mem, tokens.subarray(0, target));
    pending = null;
    if (target === tokens.length && r.loss < best.loss) {
      best = { memory: mem.slice(), loss: r.loss, accuracy: r.accuracy };
    }
    if (
      target === tokens.length && options.targetLoss !== undefined && r.loss < options.targetLoss
    ) {
      return { ...best, initial, steps: done };
    }
    if (options.log && (step % (options.logEvery ?? 100) === 0 || step === 1)) {
      options.log(step, r.loss, r.accuracy, target);
    }
    const lr = lr0 * (0.1 + 0.45 * (1 + Math.cos((Math.PI * (step - 1)) / Math.max(1, steps))));
    const c1 = 1 - b1 ** step, c2 = 1 - b2 ** step;
    for (let i = 0; i < N; i++) {
      const g = r.grad[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      mem[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
    }
    done = step;
  }
  if (done > 0) {
    const last = spanLoss(engine, mem, tokens);
    if (last.loss < best.loss) best = { memory: mem, loss: last.loss, accuracy: last.accuracy };
  }
  return { ...best, initial, steps: done };
}

/** What {@link measureSpan} reports for one span. */
export interface SpanCapacity {
  /** Tokens in the span. */
  tokens: number;
  /**
   * Teacher-forced loss (nats/token) and accuracy from the memory of nothing (`mem_init`): what
   * the decoder knows of the span without a memory of it.
   */
  empty: { loss: number; accuracy: number };
  /** Teacher-forced loss (nats/token) and accuracy of the encoder's own memory of the span. */
  encoder: { loss: number; accuracy: number };
  /** Teacher-forced loss of the optimized slots, nats/token. */
  loss: number;
  /** Teacher-forced accuracy of the optimized slots. */
  accuracy: number;
  /** The same after rounding the slots to int8 per row, as the runtime stores a memory. */
  accuracy_int8: number;
  /** Greedy decoding from the optimized slots: share of positions right. */
  greedy_accuracy: number;
  /**
   * Information the optimized slots give the decoder about the span, in bits:
   * `(empty.loss − loss) × tokens / ln 2`.
   */
  bits: number;
  /** Seconds spent (optimization and greedy decoding). */
  seconds: number;
}

/**
 * Optimizes the slots of one span from the encoder's memory of it and measures them: the
 * teacher-forced loss and accuracy (f32 and int8-rounded slots) and greedy accuracy.
 *
 * @param engine A trainer engine holding the model (stage 2 for a trained model).
 * @param tokens The span.
 * @param options Steps, learning rate, growth.
 * @param empty The memory of nothing (`mem_init`), the baseline of {@link SpanCapacity.bits}.
 */
export function measureSpan(
  engine: TrainEngine,
  tokens: Int32Array,
  options: SlotOptions,
  empty: Float32Array,
): SpanCapacity {
  const t0 = performance.now(), c = engine.config;
  const e = spanLoss(engine, empty, tokens);
  const r = optimizeSlots(engine, tokens, engine.compress(tokens), options);
  const int8 = spanLoss(engine, roundMemory(r.memory, c.memorySlots, c.dim), tokens);
  const greedy = greedyDecodeF32(engine, r.memory, tokens.length);
  let right = 0;
  for (let i = 0; i < tokens.length; i++) if (greedy[i] === tokens[i]) right++;
  return {
    tokens: tokens.length,
    empty: { loss: e.loss, accuracy: e.accuracy },
    encoder: r.initial,
    loss: r.loss,
    accuracy: r.accuracy,
    accuracy_int8: int8.accuracy,
    greedy_accuracy: tokens.length > 0 ? right / tokens.length : 0,
    bits: ((e.loss - r.loss) * tokens.length) / Math.LN2,
    seconds: (performance.now() - t0) / 1000,
  };
}
