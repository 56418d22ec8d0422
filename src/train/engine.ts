/**
 * The training engine: the runtime's reversible transformer (`src/model/transformer.ts`) in f32,
 * with a hand-written backward pass that recomputes activations through the inverse coupling
 * instead of storing them, the stage-1 and stage-2 losses, and AdamW.
 *
 * Forward semantics are those of the runtime, op for op, except that matrices are f32 (the
 * runtime quantizes them to int8): inputs `table[row] + type_embed[type]`; two streams starting
 * as copies of the input; a `fwd` block is `y1 = x1 + F(x2)`, `y2 = x2 + G(y1)` (blocks in
 * order), a `bwd` block is `x2 = y2 − G(y1)`, `x1 = y1 − F(x2)` (blocks in reverse order); the
 * output is `RMSNorm(x1 + x2)`; logits use the tied embedding. Attention masks are the runtime's
 * prefix masks; rotary positions are row indices.
 *
 * Backward pass: only the final streams `(x1, x2)` of a run are kept. Walking the blocks back,
 * each block's inputs are recomputed from its outputs with the inverse coupling, its F / G
 * internals are recomputed on the fly, and the gradient flows through them. Memory is independent
 * of depth.
 *
 * The implementation is split by concept under `engine/`, each part a set of functions of the
 * engine's state (`state.ts`: parameters, gradients, views, scratch): a block's F and G and their
 * backward (`block.ts`), a run's input rows (`input.ts`), the forward pass (`forward.ts`), the
 * backward pass and reversible recomputation (`backward.ts`), decoding (`decode.ts`),
 * compression (`compress.ts`), the losses (`losses.ts`, `retrieval.ts`), the LoRA adapters
 * (`adapters.ts`), stage selection (`stage.ts`) and the optimizer (`optimizer.ts`). {@link TrainEngine} owns one state.
 *
 * @module
 */
import type { Backend } from "../backend/backend.ts";
import type { ModelConfig } from "../model/config.ts";
import type { ParamSpec, Stage } from "./params.ts";
import { mergedMatrices } from "./engine/adapters.ts";
import { compress } from "./engine/compress.ts";
import { decodeLogits, memoryGradient } from "./engine/decode.ts";
import { lmLoss, memoryLoss } from "./engine/losses.ts";
import {
  applyUpdate,
  beginStep,
  gatherGradients,
  readOptimizer,
  trainableCount,
  writeOptimizer,
} from "./engine/optimizer.ts";
import { retrievalLoss } from "./engine/retrieval.ts";
import { selectStage } from "./engine/stage.ts";
import { createState, type EngineState, freeState } from "./engine/state.ts";
import type {
  AdamHyper,
  EngineOptions,
  LossWeights,
  MemoryLosses,
  MemorySample,
} from "./engine/types.ts";

export { RETRIEVAL_TEMPERATURE } from "./engine/retrieval.ts";
export type {
  AdamHyper,
  EngineOptions,
  LossWeights,
  MemoryLosses,
  MemorySample,
} from "./engine/types.ts";

/**
 * The trainer's compute: parameters resident in a backend, forward and backward passes,
 * gradients and the optimizer. One engine per thread; data-parallel workers each own one.
 *
 * @example Stage-1 loss and gradient of a tiny random model
 * ```ts
 * import { createReferenceBackend } from "../backend/reference.ts";
 * import { TrainEngine } from "./engine.ts";
 * import { initParams } from "./params.ts";
 * const c = { vocabSize: 270, dim: 8, layers: 1, heads: 2, ffnDim: 16, memorySlots: 2,
 *   segmentTokens: 4, window: 8, ropeTheta: 10000, normEps: 1e-5 };
 * const eng = new TrainEngine(createReferenceBackend(), c, initParams(c, 2, 1), { rank: 2, maxRows: 16 });
 * eng.setStage(1);
 * eng.beginStep();
 * const loss = eng.lmLoss(new Int32Array([65, 66, 67, 68]), 1);
 * console.log(Math.abs(loss - Math.log(270)) < 0.1, eng.gradients().length > 0); // true true
 * eng.free();
 * ```
 */
export class TrainEngine {
  /** Model shape. */
  readonly config: ModelConfig;
  /** The backend every op runs on. */
  readonly backend: Backend;
  /** LoRA rank. */
  readonly rank: number;
  /** Every parameter, in file order. */
  readonly specs: ParamSpec[];
  #st: EngineState;

  /**
   * Uploads `params` (every name of `paramSpecs`) into `backend`.
   *
   * @param backend Where the numbers live.
   * @param config Model shape.
   * @param params Initial values by name.
   * @param options Rank, scratch size, test switches.
   */
  constructor(
    backend: Backend,
    config: ModelConfig,
    params: Map<string, Float32Array>,
    options: EngineOptions,
  ) {
    this.backend = backend;
    this.config = config;
    this.rank = options.rank;
    this.#st = createState(backend, config, params, options);
    this.specs = this.#st.specs;
  }

  /** The stage whose parameters are trained. */
  get stage(): Stage {
    return this.#st.stage;
  }

  /** The parameters trained in the current stage, in order. */
  get trainable(): readonly ParamSpec[] {
    return this.#st.trainable;
  }

  /** Total number of trainable values in the current stage. */
  get trainableCount(): number {
    return trainableCount(this.#st);
  }

  /**
   * Selects the stage: allocates gradient and optimizer buffers (zeroed) for its parameters and
   * builds the direction views (stage 1: the backward direction is the base network; stage 2:
   * both directions are base + adapter, with their own norms).
   */
  setStage(stage: Stage): void {
    selectStage(this.#st, stage);
  }

  /**
   * Starts a step: zeroes the gradients and (stage 2) merges the adapters into each direction's
   * matrices, `W_dir = W + B·A`.
   */
  beginStep(): void {
    beginStep(this.#st);
  }

  // ── losses ──────────────────────────────────────────────────────────────────

  /**
   * Stage-1 loss: next-token cross-entropy of `tokens` through the backward direction with no
   * memory, context `[BOS | tokens]`, causal. Accumulates `weight ×` its gradient (unless
   * `weight` is 0) and returns the mean loss.
   */
  lmLoss(tokens: Int32Array, weight: number): number {
    return lmLoss(this.#st, tokens, weight);
  }

  /**
   * Stage-2 losses of one sample (see {@link MemorySample}); accumulates `weight ×` the gradient
   * of `w.rec·rec + w.fwd·fwd + w.cyc·cyc` unless `weight` is 0. `extraDm`, a gradient with
   * respect to the span's memory from another term (the retrieval loss), is added before the
   * backward pass through the span's compression.
   */
  memoryLoss(
    sample: MemorySample,
    w: LossWeights,
    weight: number,
    extraDm?: Float32Array | null,
  ): MemoryLosses {
    return memoryLoss(this.#st, sample, w, weight, extraDm);
  }

  /**
   * Retrieval loss of a slice of samples (those with a non-empty `query` take part; fewer than
   * two: nothing). The search key of a memory is what `R3Mem.search` compares: the mean of its
   * (int8-stored) slots, scaled to unit length. Query `a`'s logits are `key(query_a) ·
   * key(span_j) / τ` over the slice's spans `j`, and its loss the cross-entropy of its own span
   * (InfoNCE with in-slice negatives).
   *
   * Accumulates `wRet × weights[a] ×` the gradient through the queries' compressions, and
   * returns, per sample, the loss and the gradient with respect to its span's memory (already
   * weighted), which {@link memoryLoss} adds before it runs back through the span's compression
   * (so the span is compressed with gradient only once).
   */
  retrievalLoss(
    samples: MemorySample[],
    weights: number[],
    wRet: number,
  ): { losses: number[]; dSpan: (Float32Array | null)[] } {
    return retrievalLoss(this.#st, samples, weights, wRet);
  }

  /**
   * Compresses `tokens` recurrently from `mem_init` in segments of `segmentTokens`, as the
   * runtime's `compressSegment` loop does, and returns the final memory `[S*D]` (no gradient).
   */
  compress(tokens: Int32Array): Float32Array {
    return compress(this.#st, tokens);
  }

  /**
   * Logits `[n*V]` of the backward direction for context `[memory | BOS | tokens[0..n-2]]` rows
   * after the memory (no gradient); `memory` null means stage 1 (no memory rows).
   */
  decodeLogits(memory: Float32Array | null, tokens: Int32Array): Float32Array {
    return decodeLogits(this.#st, memory, tokens);
  }

  /**
   * Teacher-forced reconstruction of `tokens` from a given memory, and the gradient of its loss
   * with respect to that memory, with every parameter frozen: the decode runs through a copy of
   * the backward direction's view whose gradient slots are all discarded, so no parameter
   * gradient, head gradient or optimizer state changes (a training step in progress is not
   * disturbed). For optimizing memory slots directly against the decoder (`deno task capacity`).
   *
   * The memory is used as given (f32; not rounded to int8 as {@link memoryLoss} does). Rows
   * before `scoreFrom` are context only: with `scoreFrom = k` the call scores `tokens[k..]`
   * after `[memory | BOS | tokens[0..k-1]]`, which is how the runtime's decoder continues once
   * its window has slid.
   *
   * @param memory The memory, `[memorySlots × dim]`, one row per slot.
   * @param tokens The text; at most `maxRows − memorySlots` tokens.
   * @param scoreFrom First scored position (default 0).
   * @returns `loss`: mean cross-entropy (nats/token) of the scored tokens; `grad`: its gradient
   * with respect to `memory` (`[memorySlots × dim]`); `correct`: scored positions whose argmax
   * is the token; `scored`: how many positions were scored.
   *
   * @example Gradient of a tiny random model's reconstruction loss
   * ```ts
   * import { createReferenceBackend } from "../backend/reference.ts";
   * import { TrainEngine } from "./engine.ts";
   * import { initParams } from "./params.ts";
   * const c = { vocabSize: 270, dim: 8, layers: 1, heads: 2, ffnDim: 16, memorySlots: 2,
   *   segmentTokens: 4, window: 8, ropeTheta: 10000, normEps: 1e-5 };
   * const eng = new TrainEngine(createReferenceBackend(), c, initParams(c, 2, 1), { rank: 2, maxRows: 16 });
   * eng.setStage(2);
   * const r = eng.memoryGradient(new Float32Array(16).fill(0.5), new Int32Array([65, 66, 67]));
   * console.log(r.grad.length, r.scored); // 16 3
   * eng.free();
   * ```
   */
  memoryGradient(
    memory: Float32Array,
    tokens: Int32Array,
    scoreFrom = 0,
  ): { loss: number; grad: Float32Array; correct: number; scored: number } {
    return memoryGradient(this.#st, memory, tokens, scoreFrom);
  }

  // ── gradients and optimizer ─────────────────────────────────────────────────

  /**
   * The step's gradient of every trainable parameter, concatenated in {@link trainable} order.
   * In stage 2 the merged matrices' gradients are first folded into the adapters:
   * `dB = dW·Aᵀ`, `dA = Bᵀ·dW`.
   */
  gradients(): Float32Array {
    return gatherGradients(this.#st);
  }

  /**
   * One AdamW step of every trainable parameter with gradient `grad` (the layout of
   * {@link gradients}) multiplied by `scale` (gradient clipping). Weight decay applies to
   * matrices only.
   */
  applyUpdate(grad: Float32Array, scale: number, lr: number, step: number, h: AdamHyper): void {
    applyUpdate(this.#st, grad, scale, lr, step, h);
  }

  /** Copies every parameter out, by name. */
  readParams(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [k, b] of this.#st.params) out.set(k, this.backend.read(b));
    return out;
  }

  /** Overwrites parameters (any subset of names). */
  writeParams(params: Map<string, Float32Array>): void {
    for (const [k, v] of params) {
      const b = this.#st.params.get(k);
      if (!b) throw new RangeError(`Unknown parameter ${k}`);
      this.backend.write(b, v);
    }
  }

  /** The optimizer's moment buffers of the current stage, by parameter name. */
  readOptimizer(): { m: Map<string, Float32Array>; v: Map<string, Float32Array> } {
    return readOptimizer(this.#st);
  }

  /** Restores the optimizer's moments (names of the current stage). */
  writeOptimizer(m: Map<string, Float32Array>, v: Map<string, Float32Array>): void {
    writeOptimizer(this.#st, m, v);
  }

  /**
   * The runtime's matrix `{dir}.blocks.{l}.{w}` as the trainer computes it: `W + B·A` (f32,
   * before int8 quantization).
   */
  mergedMatrices(): Map<string, Float32Array> {
    return mergedMatrices(this.#st);
  }

  /** Releases every buffer. */
  free(): void {
    freeState(this.#st);
  }
}
