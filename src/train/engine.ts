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
 * @module
 */
import type { Backend, F32, I32 } from "../backend/backend.ts";
import { headDim, type ModelConfig } from "../model/config.ts";
import { BOS_ID } from "../model/tokenizer.ts";
import {
  type Direction,
  DIRECTIONS,
  TYPE_FRESH,
  TYPE_MEMORY,
  TYPE_TEXT,
} from "../model/weights.ts";
import { dequantizeRowsInt8, quantizeRowsInt8 } from "../model/weights_format.ts";
import {
  MATRICES,
  type MatrixName,
  matrixShape,
  numel,
  type ParamSpec,
  paramSpecs,
  type Stage,
  trainedIn,
} from "./params.ts";

/** Options of {@link TrainEngine}. */
export interface EngineOptions {
  /** LoRA rank of the adapters. */
  rank: number;
  /** Most rows one run may have (sequence length plus memory slots). */
  maxRows: number;
  /**
   * Keep every block's input streams during the forward pass and use them in the backward pass
   * instead of the inverse coupling. Only for testing the reversible recomputation.
   */
  storeActivations?: boolean;
  /**
   * Recompute each block's internals in the backward pass from streams rebuilt by the inverse
   * coupling (memory independent of depth), instead of keeping them from the forward pass
   * (default false: keeping them saves a forward pass of every block, about a fifth of a
   * step, for a few megabytes per run at this model's sizes).
   */
  recompute?: boolean;
  /**
   * Round the memory to int8 per slot row before decoding from it, as the runtime stores it
   * (default true; the gradient passes straight through). Off for finite-difference checks.
   */
  quantizeMemory?: boolean;
  /**
   * Treat the cycle loss's target memory as a constant (default true), so the cycle term pulls
   * the compression of the soft reconstruction toward the memory, not the memory toward it (which
   * would reward memories that ignore their text). False gives the exact gradient of the loss,
   * for finite-difference checks.
   */
  cycleStopGradient?: boolean;
}

/** Weights of the stage-2 losses. */
export interface LossWeights {
  /** Reconstruction of the span from its own memory. */
  rec: number;
  /** Prediction of the text that follows the span from the span's memory. */
  fwd: number;
  /** Cycle consistency: compressing the soft reconstruction gives back the memory. */
  cyc: number;
  /**
   * Retrieval: a query view of each span must find that span's memory among the other spans'
   * memories of the same slice (InfoNCE on the search key; see {@link TrainEngine.retrievalLoss}).
   * 0 or absent: off.
   */
  ret?: number;
}

/**
 * Temperature of the retrieval loss: search keys are unit vectors, so logits are cosines / τ.
 */
export const RETRIEVAL_TEMPERATURE = 0.05;

/** One stage-2 training example. */
export interface MemorySample {
  /** The span compressed into memory (1 or more segments); reconstructed from that memory. */
  span: Int32Array;
  /** Tokens that follow the span (may be empty), predicted from the span's memory. */
  next: Int32Array;
  /**
   * A search query for the span (a sentence of it with tokens dropped), for the retrieval loss.
   */
  query?: Int32Array;
}

/** Per-sample losses of stage 2 (NaN where a term did not apply). */
export interface MemoryLosses {
  /** Mean cross-entropy of the reconstruction. */
  rec: number;
  /** Mean cross-entropy of the continuation. */
  fwd: number;
  /** Mean squared error of the cycle. */
  cyc: number;
  /** Retrieval cross-entropy of the span's query (set by the pool when the term is on). */
  ret?: number;
}

/** AdamW hyper-parameters (learning rate is per call). */
export interface AdamHyper {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

interface Lin {
  w: F32; // effective weight [rows, cols]
  g: F32 | null; // gradient of the effective weight
  rows: number;
  cols: number;
}

interface BlockView {
  attnNorm: F32;
  attnNormG: F32;
  ffnNorm: F32;
  ffnNormG: F32;
  lin: Record<MatrixName, Lin>;
}

interface DirView {
  dir: Direction;
  blocks: BlockView[];
  finalNorm: F32;
  finalNormG: F32;
}

/** A forward run kept for its backward pass: the final streams and the output. */
interface Run {
  view: DirView;
  n: number;
  x1: F32;
  x2: F32;
  h: F32;
  limits: I32;
  saved: F32[] | null;
  cache: Internals[] | null; // per block (index into view.blocks): its forward internals
}

/**
 * One block's forward internals, kept for its backward pass: the inputs of the two norms (`xa`,
 * `xg`) and everything F and G compute on the way to their outputs.
 */
type Internals = Record<(typeof INTERNALS)[number], F32>;
const INTERNALS = [
  "xa",
  "xg",
  "hA",
  "q",
  "k",
  "v",
  "att",
  "probs",
  "hG",
  "a",
  "b",
  "sa",
  "u",
] as const;

/** An embedded input and what its rows are, for the input gradients. */
interface Input {
  n: number;
  x: F32;
  limits: I32;
  textIds: I32; // token id per row, -1 elsewhere
  typeIds: I32; // type per row
  freshIds: I32; // fresh slot per row, -1 elsewhere
  memIds: I32; // memory slot per row, -1 elsewhere
}

/** A decode (backward-direction) run with its logits. */
interface Decoded {
  run: Run;
  input: Input;
  logits: F32;
  dlogits: F32 | null;
  loss: number;
}

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
  #stage: Stage = 1;
  #params = new Map<string, F32>();
  #grads = new Map<string, F32>(); // trainable parameters of the stage
  #m = new Map<string, F32>();
  #v = new Map<string, F32>();
  #eff = new Map<string, { w: F32; g: F32 }>(); // stage 2: merged matrices per direction
  #views = new Map<Direction, DirView>();
  // Head gradient of the tied embedding, transposed ([D, V]): the product in that orientation is
  // several times faster than dlogitsᵀ·h with V rows; folded into base.embed's gradient once per
  // step.
  #headGradT: F32 | null = null;
  #trainable: ParamSpec[] = [];
  #s: Record<string, F32>;
  #sink: F32; // dweight of a frozen norm
  #zero: F32;
  #maxRows: number;
  #store: boolean;
  #recompute: boolean;
  #internalsPool: Internals[] = [];
  #quantizeMemory: boolean;
  #cycleStop: boolean;

  /**
   * Uploads `params` (every name of {@link paramSpecs}) into `backend`.
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
    this.#maxRows = options.maxRows;
    this.#store = options.storeActivations ?? false;
    this.#recompute = options.recompute ?? false;
    this.#quantizeMemory = options.quantizeMemory ?? true;
    this.#cycleStop = options.cycleStopGradient ?? true;
    this.specs = paramSpecs(config, options.rank);
    for (const spec of this.specs) {
      const data = params.get(spec.name);
      if (!data || data.length !== numel(spec.shape)) {
        throw new RangeError(`Parameter ${spec.name} missing or of the wrong size`);
      }
      this.#params.set(spec.name, backend.f32(data));
    }
    const R = options.maxRows, D = config.dim, F = config.ffnDim, H = config.heads;
    const be = backend;
    const rd = () => be.f32(R * D), rf = () => be.f32(R * F);
    this.#s = {
      hA: rd(),
      q: rd(),
      k: rd(),
      v: rd(),
      att: rd(),
      probs: be.f32(H * R * R),
      f: rd(),
      hG: rd(),
      a: rf(),
      b: rf(),
      sa: rf(),
      u: rf(),
      dAtt: rd(),
      dq: rd(),
      dk: rd(),
      dv: rd(),
      dh: rd(),
      tmp: rd(),
      neg: rd(),
      du: rf(),
      ds: rf(),
      db: rf(),
      da: rf(),
      dx1: rd(),
      dx2: rd(),
      sum: rd(),
      dS: rd(),
    };
    this.#sink = be.f32(D);
    this.#zero = be.f32(Math.max(R * D, R * F));
  }

  /** The stage whose parameters are trained. */
  get stage(): Stage {
    return this.#stage;
  }

  /** The parameters trained in the current stage, in order. */
  get trainable(): readonly ParamSpec[] {
    return this.#trainable;
  }

  /** Total number of trainable values in the current stage. */
  get trainableCount(): number {
    return this.#trainable.reduce((a, s) => a + numel(s.shape), 0);
  }

  /**
   * Selects the stage: allocates gradient and optimizer buffers (zeroed) for its parameters and
   * builds the direction views (stage 1: the backward direction is the base network; stage 2:
   * both directions are base + adapter, with their own norms).
   */
  setStage(stage: Stage): void {
    const be = this.backend;
    for (const b of [...this.#grads.values(), ...this.#m.values(), ...this.#v.values()]) be.free(b);
    for (const e of this.#eff.values()) be.free(e.w), be.free(e.g);
    this.#grads.clear(), this.#m.clear(), this.#v.clear(), this.#eff.clear(), this.#views.clear();
    if (this.#headGradT) be.free(this.#headGradT);
    this.#headGradT = null;
    this.#stage = stage;
    this.#trainable = this.specs.filter((s) => trainedIn(s, stage));
    for (const s of this.#trainable) {
      const n = numel(s.shape);
      this.#grads.set(s.name, be.f32(n));
      this.#m.set(s.name, be.f32(n));
      this.#v.set(s.name, be.f32(n));
    }
    const c = this.config;
    if (this.#grads.has("base.embed")) this.#headGradT = be.f32(c.dim * c.vocabSize);
    const p = (n: string) => this.#params.get(n)!;
    const g = (n: string) => this.#grads.get(n) ?? this.#sink;
    if (stage === 1) {
      this.#views.set("bwd", {
        dir: "bwd",
        blocks: Array.from({ length: c.layers }, (_, l) => {
          const b = `base.blocks.${l}.`;
          const lin = {} as Record<MatrixName, Lin>;
          for (const w of MATRICES) {
            const [rows, cols] = matrixShape(c, w);
            lin[w] = { w: p(b + w), g: this.#grads.get(b + w) ?? null, rows, cols };
          }
          return {
            attnNorm: p(b + "attn_norm"),
            attnNormG: g(b + "attn_norm"),
            ffnNorm: p(b + "ffn_norm"),
            ffnNormG: g(b + "ffn_norm"),
            lin,
          };
        }),
        finalNorm: p("base.final_norm"),
        finalNormG: g("base.final_norm"),
      });
    } else {
      for (const dir of DIRECTIONS) {
        this.#views.set(dir, {
          dir,
          blocks: Array.from({ length: c.layers }, (_, l) => {
            const b = `${dir}.blocks.${l}.`;
            const lin = {} as Record<MatrixName, Lin>;
            for (const w of MATRICES) {
              const [rows, cols] = matrixShape(c, w);
              const e = { w: be.f32(rows * cols), g: be.f32(rows * cols) };
              this.#eff.set(b + w, e);
              lin[w] = { w: e.w, g: e.g, rows, cols };
            }
            return {
              attnNorm: p(b + "attn_norm"),
              attnNormG: g(b + "attn_norm"),
              ffnNorm: p(b + "ffn_norm"),
              ffnNormG: g(b + "ffn_norm"),
              lin,
            };
          }),
          finalNorm: p(`${dir}.final_norm`),
          finalNormG: g(`${dir}.final_norm`),
        });
      }
      this.#merge();
    }
  }

  /**
   * Starts a step: zeroes the gradients and (stage 2) merges the adapters into each direction's
   * matrices, `W_dir = W + B·A`.
   */
  beginStep(): void {
    for (const g of this.#grads.values()) this.backend.fill(g, 0);
    if (this.#headGradT) this.backend.fill(this.#headGradT, 0);
    if (this.#stage === 2) {
      this.#merge();
      for (const e of this.#eff.values()) this.backend.fill(e.g, 0);
    }
  }

  #merge(): void {
    const be = this.backend, c = this.config, r = this.rank;
    for (const [name, e] of this.#eff) {
      const [dir, , l, w] = name.split(".");
      const [rows, cols] = matrixShape(c, w as MatrixName);
      const lp = `lora.${dir}.blocks.${l}.${w}.`;
      be.matmul(e.w, this.#params.get(lp + "b")!, this.#params.get(lp + "a")!, rows, r, cols);
      be.add(e.w, e.w, this.#params.get(`base.blocks.${l}.${w}`)!, rows * cols);
    }
  }

  // ── losses ──────────────────────────────────────────────────────────────────

  /**
   * Stage-1 loss: next-token cross-entropy of `tokens` through the backward direction with no
   * memory, context `[BOS | tokens]`, causal. Accumulates `weight ×` its gradient (unless
   * `weight` is 0) and returns the mean loss.
   */
  lmLoss(tokens: Int32Array, weight: number): number {
    const d = this.#decode(null, tokens, weight !== 0);
    if (weight !== 0) this.#decodeBackward(d, weight, null, null);
    this.#freeDecoded(d);
    return d.loss;
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
    if (this.#stage !== 2) throw new Error("memoryLoss needs stage 2");
    const be = this.backend, c = this.config, S = c.memorySlots, D = c.dim;
    const grad = weight !== 0;
    const out: MemoryLosses = { rec: NaN, fwd: NaN, cyc: NaN };
    const span = sample.span.subarray(0, Math.min(sample.span.length, c.window + 1));
    // 1. compress the span, segment by segment, from mem_init
    const chain = this.#compressChain(sample.span, null);
    const m = chain.memory;
    // 2. the decoder reads the memory as the runtime stores it: int8 per slot row
    const mq = this.#fakeQuant(m);
    const dm = grad ? be.f32(S * D) : null;
    // 3. reconstruction (teacher forced), with the cycle term folded into its logits' gradient
    if ((w.rec > 0 || w.cyc > 0) && span.length > 0) {
      const d = this.#decode(mq, span, grad);
      out.rec = d.loss;
      let dlogCyc: F32 | null = null;
      if (w.cyc > 0 && span.length === sample.span.length) {
        const cyc = this.#cycle(d, span, m, grad ? w.cyc * weight : 0, dm);
        out.cyc = cyc.loss;
        dlogCyc = cyc.dlogits;
      }
      if (grad) this.#decodeBackward(d, w.rec * weight, dlogCyc, dm);
      if (dlogCyc) be.free(dlogCyc);
      this.#freeDecoded(d);
    }
    // 4. the continuation from the same memory
    if (w.fwd > 0 && sample.next.length > 0) {
      const next = sample.next.subarray(0, Math.min(sample.next.length, c.window + 1));
      const d = this.#decode(mq, next, grad);
      out.fwd = d.loss;
      if (grad) this.#decodeBackward(d, w.fwd * weight, null, dm);
      this.#freeDecoded(d);
    }
    // 5. back through the compression chain (straight through the int8 rounding), with the
    // retrieval term's gradient of this memory when there is one
    if (grad && extraDm) {
      const x = be.f32(extraDm);
      be.axpy(dm!, x, 1, S * D);
      be.free(x);
    }
    if (grad) this.#chainBackward(chain, dm!, null);
    this.#freeChain(chain);
    be.free(mq);
    if (dm) be.free(dm);
    return out;
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
    if (this.#stage !== 2) throw new Error("retrievalLoss needs stage 2");
    const be = this.backend, c = this.config, S = c.memorySlots, D = c.dim;
    const losses = samples.map(() => NaN);
    const dSpan: (Float32Array | null)[] = samples.map(() => null);
    const idx = samples.flatMap((s, i) => (s.query && s.query.length > 0 ? [i] : []));
    if (idx.length < 2) return { losses, dSpan };
    const keyOf = (tokens: Int32Array) => {
      const chain = this.#compressChain(tokens, null);
      const mq = this.#fakeQuant(chain.memory);
      const m = be.read(mq);
      be.free(mq);
      this.#freeChain(chain);
      return searchKey(m, S, D);
    };
    const docs = idx.map((i) => keyOf(samples[i].span));
    const queries = idx.map((i) => keyOf(samples[i].query!));
    const n = idx.length, tau = RETRIEVAL_TEMPERATURE;
    const dDoc = docs.map(() => new Float32Array(D));
    const logits = new Float64Array(n);
    for (let a = 0; a < n; a++) {
      let max = -Infinity;
      for (let j = 0; j < n; j++) {
        logits[j] = dotF(queries[a].key, docs[j].key) / tau;
        if (logits[j] > max) max = logits[j];
      }
      let z = 0;
      for (let j = 0; j < n; j++) z += Math.exp(logits[j] - max);
      losses[idx[a]] = -(logits[a] - max - Math.log(z));
      const g = wRet * weights[idx[a]];
      if (g === 0) continue;
      // d loss / d logit_j = p_j − [j = a]; logit_j = q·k_j / τ
      const dq = new Float32Array(D);
      for (let j = 0; j < n; j++) {
        const coef = (Math.exp(logits[j] - max) / z - (j === a ? 1 : 0)) * g / tau;
        const kj = docs[j].key, qa = queries[a].key, dk = dDoc[j];
        for (let t = 0; t < D; t++) {
          dq[t] += coef * kj[t];
          dk[t] += coef * qa[t];
        }
      }
      // back through the query's compression
      const chain = this.#compressChain(samples[idx[a]].query!, null);
      const dm = be.f32(keyToMemoryGrad(queries[a], dq, S, D));
      this.#chainBackward(chain, dm, null);
      be.free(dm);
      this.#freeChain(chain);
    }
    for (let j = 0; j < n; j++) {
      if (dDoc[j].some((v) => v !== 0)) {
        dSpan[idx[j]] = keyToMemoryGrad(docs[j], dDoc[j], S, D);
      }
    }
    return { losses, dSpan };
  }

  /**
   * Compresses `tokens` recurrently from `mem_init` in segments of `segmentTokens`, as the
   * runtime's `compressSegment` loop does, and returns the final memory `[S*D]` (no gradient).
   */
  compress(tokens: Int32Array): Float32Array {
    const chain = this.#compressChain(tokens, null);
    const out = this.backend.read(chain.memory);
    this.#freeChain(chain);
    return out;
  }

  /**
   * Logits `[n*V]` of the backward direction for context `[memory | BOS | tokens[0..n-2]]` rows
   * after the memory (no gradient); `memory` null means stage 1 (no memory rows).
   */
  decodeLogits(memory: Float32Array | null, tokens: Int32Array): Float32Array {
    const be = this.backend, S = memory ? this.config.memorySlots : 0;
    const mem = memory ? be.f32(memory) : null;
    const d = this.#decode(mem, tokens, false);
    const all = be.read(d.logits);
    this.#freeDecoded(d);
    if (mem) be.free(mem);
    return all.slice(S * this.config.vocabSize);
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
    const be = this.backend, c = this.config, S = c.memorySlots, D = c.dim, V = c.vocabSize;
    if (memory.length !== S * D) {
      throw new RangeError(`Memory has ${memory.length} values, expected ${S * D}`);
    }
    const mem = be.f32(memory);
    const d = this.#decode(mem, tokens, true, scoreFrom, this.#frozenView());
    const logits = be.read(d.logits);
    let correct = 0, scored = 0;
    for (let j = scoreFrom; j < tokens.length; j++) {
      const off = (S + j) * V;
      let best = 0;
      for (let v = 1; v < V; v++) if (logits[off + v] > logits[off + best]) best = v;
      if (best === tokens[j]) correct++;
      scored++;
    }
    // Back through the tied head and the run only: #decodeBackward would also accumulate the
    // head's and the input tables' gradients.
    const E = this.#params.get("base.embed")!;
    const dH = be.f32(d.run.n * D);
    be.matmul(dH, d.dlogits!, E, d.run.n, V, D);
    const dX = this.#backward(d.run, dH);
    const grad = be.read(dX, 0, S * D);
    be.free(dH);
    be.free(dX);
    this.#freeDecoded(d);
    be.free(mem);
    return { loss: d.loss, grad, correct, scored };
  }

  /**
   * The backward direction's view with every gradient target replaced by the discard buffer
   * (`#sink` for norms, no matrix gradient): a decode through it computes input gradients only.
   */
  #frozenView(): DirView {
    const view = this.#views.get("bwd");
    if (!view) throw new Error("Select a stage first (setStage)");
    const lin = (l: Record<MatrixName, Lin>) => {
      const out = {} as Record<MatrixName, Lin>;
      for (const w of MATRICES) out[w] = { ...l[w], g: null };
      return out;
    };
    return {
      dir: view.dir,
      blocks: view.blocks.map((b) => ({
        ...b,
        attnNormG: this.#sink,
        ffnNormG: this.#sink,
        lin: lin(b.lin),
      })),
      finalNorm: view.finalNorm,
      finalNormG: this.#sink,
    };
  }

  // ── gradients and optimizer ─────────────────────────────────────────────────

  /**
   * The step's gradient of every trainable parameter, concatenated in {@link trainable} order.
   * In stage 2 the merged matrices' gradients are first folded into the adapters:
   * `dB = dW·Aᵀ`, `dA = Bᵀ·dW`.
   */
  gradients(): Float32Array {
    const be = this.backend, c = this.config, r = this.rank;
    if (this.#stage === 2) {
      for (const [name, e] of this.#eff) {
        const [dir, , l, w] = name.split(".");
        const [rows, cols] = matrixShape(c, w as MatrixName);
        const lp = `lora.${dir}.blocks.${l}.${w}.`;
        const A = this.#params.get(lp + "a")!, B = this.#params.get(lp + "b")!;
        be.matmul(this.#grads.get(lp + "b")!, e.g, A, rows, cols, r, { transB: true });
        be.matmul(this.#grads.get(lp + "a")!, B, e.g, r, rows, cols, { transA: true });
      }
    }
    const out = new Float32Array(this.trainableCount);
    let o = 0;
    for (const s of this.#trainable) {
      const g = be.read(this.#grads.get(s.name)!);
      if (s.name === "base.embed" && this.#headGradT) {
        const t = be.read(this.#headGradT), V = c.vocabSize, D = c.dim;
        for (let v = 0; v < V; v++) for (let j = 0; j < D; j++) g[v * D + j] += t[j * V + v];
      }
      out.set(g, o);
      o += g.length;
    }
    return out;
  }

  /**
   * One AdamW step of every trainable parameter with gradient `grad` (the layout of
   * {@link gradients}) multiplied by `scale` (gradient clipping). Weight decay applies to
   * matrices only.
   */
  applyUpdate(grad: Float32Array, scale: number, lr: number, step: number, h: AdamHyper): void {
    const be = this.backend;
    if (grad.length !== this.trainableCount) {
      throw new RangeError(`Gradient has ${grad.length} values, expected ${this.trainableCount}`);
    }
    let o = 0;
    for (const s of this.#trainable) {
      const n = numel(s.shape);
      const g = this.#grads.get(s.name)!;
      const part = grad.subarray(o, o + n);
      if (scale === 1) be.write(g, part);
      else {
        const t = new Float32Array(n);
        for (let i = 0; i < n; i++) t[i] = part[i] * scale;
        be.write(g, t);
      }
      be.adamw(
        this.#params.get(s.name)!,
        g,
        this.#m.get(s.name)!,
        this.#v.get(s.name)!,
        n,
        lr,
        h.beta1,
        h.beta2,
        h.eps,
        s.decay ? h.weightDecay : 0,
        step,
      );
      o += n;
    }
  }

  /** Copies every parameter out, by name. */
  readParams(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [k, b] of this.#params) out.set(k, this.backend.read(b));
    return out;
  }

  /** Overwrites parameters (any subset of names). */
  writeParams(params: Map<string, Float32Array>): void {
    for (const [k, v] of params) {
      const b = this.#params.get(k);
      if (!b) throw new RangeError(`Unknown parameter ${k}`);
      this.backend.write(b, v);
    }
  }

  /** The optimizer's moment buffers of the current stage, by parameter name. */
  readOptimizer(): { m: Map<string, Float32Array>; v: Map<string, Float32Array> } {
    const m = new Map<string, Float32Array>(), v = new Map<string, Float32Array>();
    for (const s of this.#trainable) {
      m.set(s.name, this.backend.read(this.#m.get(s.name)!));
      v.set(s.name, this.backend.read(this.#v.get(s.name)!));
    }
    return { m, v };
  }

  /** Restores the optimizer's moments (names of the current stage). */
  writeOptimizer(m: Map<string, Float32Array>, v: Map<string, Float32Array>): void {
    for (const s of this.#trainable) {
      const a = m.get(s.name), b = v.get(s.name);
      if (!a || !b) throw new RangeError(`Optimizer state lacks ${s.name}`);
      this.backend.write(this.#m.get(s.name)!, a);
      this.backend.write(this.#v.get(s.name)!, b);
    }
  }

  /**
   * The runtime's matrix `{dir}.blocks.{l}.{w}` as the trainer computes it: `W + B·A` (f32,
   * before int8 quantization).
   */
  mergedMatrices(): Map<string, Float32Array> {
    const be = this.backend, c = this.config, r = this.rank;
    const out = new Map<string, Float32Array>();
    for (const dir of DIRECTIONS) {
      for (let l = 0; l < c.layers; l++) {
        for (const w of MATRICES) {
          const [rows, cols] = matrixShape(c, w);
          const lp = `lora.${dir}.blocks.${l}.${w}.`;
          const t = be.f32(rows * cols);
          be.matmul(t, this.#params.get(lp + "b")!, this.#params.get(lp + "a")!, rows, r, cols);
          be.add(t, t, this.#params.get(`base.blocks.${l}.${w}`)!, rows * cols);
          out.set(`${dir}.blocks.${l}.${w}`, be.read(t));
          be.free(t);
        }
      }
    }
    return out;
  }

  /** Releases every buffer. */
  free(): void {
    const be = this.backend;
    for (
      const b of [
        ...this.#params.values(),
        ...this.#grads.values(),
        ...this.#m.values(),
        ...this.#v.values(),
      ]
    ) {
      be.free(b);
    }
    for (const e of this.#eff.values()) be.free(e.w), be.free(e.g);
    for (const b of Object.values(this.#s)) be.free(b);
    for (const t of this.#internalsPool) for (const b of Object.values(t)) be.free(b);
    this.#internalsPool = [];
    be.free(this.#sink);
    be.free(this.#zero);
    if (this.#headGradT) be.free(this.#headGradT);
    this.#headGradT = null;
    this.#params.clear(), this.#grads.clear(), this.#eff.clear();
  }

  // ── inputs ──────────────────────────────────────────────────────────────────

  /**
   * Builds an input: rows of `parts` in order. Each row is `table[index] + type_embed[type]`,
   * as the runtime's `#row` computes it.
   */
  #input(
    rows: { kind: "mem" | "text" | "fresh" | "soft"; id: number }[],
    limits: Int32Array,
    mem: F32 | null,
    soft: F32 | null,
    softRow0: number,
  ): Input {
    const be = this.backend, D = this.config.dim, n = rows.length;
    if (n > this.#maxRows) {
      throw new RangeError(`Run of ${n} rows exceeds maxRows ${this.#maxRows}`);
    }
    const textIds = new Int32Array(n).fill(-1), freshIds = new Int32Array(n).fill(-1);
    const memIds = new Int32Array(n).fill(-1), typeIds = new Int32Array(n);
    rows.forEach((r, i) => {
      if (r.kind === "mem") memIds[i] = r.id, typeIds[i] = TYPE_MEMORY;
      else if (r.kind === "text") textIds[i] = r.id, typeIds[i] = TYPE_TEXT;
      else if (r.kind === "soft") typeIds[i] = TYPE_TEXT;
      else freshIds[i] = r.id, typeIds[i] = TYPE_FRESH;
    });
    const inp: Input = {
      n,
      x: be.f32(n * D),
      limits: be.i32(limits),
      textIds: be.i32(textIds),
      typeIds: be.i32(typeIds),
      freshIds: be.i32(freshIds),
      memIds: be.i32(memIds),
    };
    const t = this.#s.tmp;
    be.embedding(inp.x, this.#params.get("base.embed")!, inp.textIds, n, D);
    be.embedding(t, this.#params.get("mem_fresh")!, inp.freshIds, n, D);
    be.add(inp.x, inp.x, t, n * D);
    if (mem) {
      be.embedding(t, mem, inp.memIds, n, D);
      be.add(inp.x, inp.x, t, n * D);
    }
    if (soft) {
      rows.forEach((r, i) => {
        if (r.kind === "soft") be.copy(inp.x, i * D, soft, (softRow0 + r.id) * D, D);
      });
    }
    be.embedding(t, this.#params.get("type_embed")!, inp.typeIds, n, D);
    be.add(inp.x, inp.x, t, n * D);
    return inp;
  }

  #freeInput(inp: Input): void {
    const be = this.backend;
    for (const b of [inp.x, inp.limits, inp.textIds, inp.typeIds, inp.freshIds, inp.memIds]) {
      be.free(b);
    }
  }

  /** Gradients of the input tables from `dX`: embedding (stage 1), type, fresh memory. */
  #inputBackward(inp: Input, dX: F32): void {
    const be = this.backend, D = this.config.dim, n = inp.n;
    const gEmbed = this.#grads.get("base.embed");
    if (gEmbed) be.embeddingBackward(gEmbed, dX, inp.textIds, n, D);
    const gType = this.#grads.get("type_embed");
    if (gType) be.embeddingBackward(gType, dX, inp.typeIds, n, D);
    const gFresh = this.#grads.get("mem_fresh");
    if (gFresh) be.embeddingBackward(gFresh, dX, inp.freshIds, n, D);
  }

  // ── decode (backward direction) ─────────────────────────────────────────────

  /**
   * Context `[memory (S) | BOS | tokens[0..L-2]]`, targets `tokens` on the rows from BOS on
   * (only from row `scoreFrom` on: earlier rows are context). `view` defaults to the direction's
   * trained view; {@link memoryGradient} passes a frozen one.
   */
  #decode(
    mem: F32 | null,
    tokens: Int32Array,
    grad: boolean,
    scoreFrom = 0,
    view: DirView = this.#views.get("bwd")!,
  ): Decoded {
    const be = this.backend, c = this.config, V = c.vocabSize;
    const S = mem ? c.memorySlots : 0, L = tokens.length, n = S + L;
    const rows: { kind: "mem" | "text"; id: number }[] = [];
    const limits = new Int32Array(n), targets = new Int32Array(n).fill(-1);
    for (let i = 0; i < S; i++) rows.push({ kind: "mem", id: i }), limits[i] = S;
    for (let j = 0; j < L; j++) {
      rows.push({ kind: "text", id: j === 0 ? BOS_ID : tokens[j - 1] });
      limits[S + j] = S + j + 1;
      if (j >= scoreFrom) targets[S + j] = tokens[j];
    }
    const input = this.#input(rows, limits, mem, null, 0);
    const run = this.#forward(view, input);
    const logits = be.f32(n * V);
    be.matmul(logits, run.h, this.#params.get("base.embed")!, n, c.dim, V, { transB: true });
    const dlogits = grad ? be.f32(n * V) : null;
    const t = be.i32(targets);
    const loss = be.crossEntropy(logits, t, n, V, dlogits ?? undefined);
    be.free(t);
    return { run, input, logits, dlogits, loss };
  }

  /**
   * Backward of a decode: `weight × dCE (+ extra)` through the tied head, the run and the
   * inputs; the memory rows' gradient is added into `dm`.
   */
  #decodeBackward(d: Decoded, weight: number, extra: F32 | null, dm: F32 | null): void {
    const be = this.backend, c = this.config, V = c.vocabSize, D = c.dim, n = d.run.n;
    const dl = d.dlogits!;
    if (weight !== 1) be.axpy(dl, dl, weight - 1, n * V);
    if (extra) be.add(dl, dl, extra, n * V);
    const E = this.#params.get("base.embed")!;
    const dH = be.f32(n * D);
    be.matmul(dH, dl, E, n, V, D);
    if (this.#headGradT) {
      be.matmul(this.#headGradT, d.run.h, dl, D, n, V, { transA: true, accumulate: true });
    }
    const dX = this.#backward(d.run, dH);
    this.#inputBackward(d.input, dX);
    if (dm) {
      const S = c.memorySlots;
      be.copy(this.#s.tmp, 0, dX, 0, S * D);
      be.add(dm, dm, this.#s.tmp, S * D);
    }
    be.free(dH);
    be.free(dX);
  }

  #freeDecoded(d: Decoded): void {
    const be = this.backend;
    this.#freeRun(d.run);
    this.#freeInput(d.input);
    be.free(d.logits);
    if (d.dlogits) be.free(d.dlogits);
  }

  // ── compress (forward direction) ────────────────────────────────────────────

  /**
   * Recurrent compression of `tokens` (or, with `soft`, of soft rows `soft[softRow0 + j]`) from
   * `mem_init`. Keeps every segment's run for the backward pass.
   */
  #compressChain(tokens: Int32Array, soft: { rows: F32; row0: number; count: number } | null) {
    const be = this.backend, c = this.config, S = c.memorySlots, D = c.dim, T = c.segmentTokens;
    const total = soft ? soft.count : tokens.length;
    const links: { run: Run; input: Input; T: number; start: number }[] = [];
    let mem = this.#params.get("mem_init")!;
    let owned: F32 | null = null;
    for (let start = 0; start < total || start === 0; start += T) {
      const t = Math.min(T, total - start);
      const n = 2 * S + t;
      const rows: { kind: "mem" | "text" | "fresh" | "soft"; id: number }[] = [];
      const limits = new Int32Array(n);
      for (let i = 0; i < S; i++) rows.push({ kind: "mem", id: i }), limits[i] = S;
      for (let j = 0; j < t; j++) {
        rows.push(soft ? { kind: "soft", id: start + j } : { kind: "text", id: tokens[start + j] });
        limits[S + j] = S + t;
      }
      for (let i = 0; i < S; i++) rows.push({ kind: "fresh", id: i }), limits[S + t + i] = n;
      const input = this.#input(rows, limits, mem, soft?.rows ?? null, soft?.row0 ?? 0);
      const run = this.#forward(this.#views.get("fwd")!, input);
      const next = be.f32(S * D);
      be.copy(next, 0, run.h, (S + t) * D, S * D);
      if (owned) be.free(owned);
      owned = next;
      mem = next;
      links.push({ run, input, T: t, start });
    }
    return { links, memory: owned! };
  }

  /**
   * Backward through a compression chain given the final memory's gradient `dm` (consumed).
   * Soft rows' gradients go to `dSoft` (rows `row0 + j`) when given.
   */
  #chainBackward(
    chain: { links: { run: Run; input: Input; T: number; start: number }[] },
    dm: F32,
    dSoft: { rows: F32; row0: number } | null,
  ): void {
    const be = this.backend, c = this.config, S = c.memorySlots, D = c.dim;
    for (let k = chain.links.length - 1; k >= 0; k--) {
      const { run, input, T: t, start } = chain.links[k];
      const dH = be.f32(run.n * D);
      be.copy(dH, (S + t) * D, dm, 0, S * D);
      const dX = this.#backward(run, dH);
      this.#inputBackward(input, dX);
      if (dSoft) be.copy(dSoft.rows, (dSoft.row0 + start) * D, dX, S * D, t * D);
      if (k > 0) be.copy(dm, 0, dX, 0, S * D);
      else {
        const g = this.#grads.get("mem_init");
        if (g) be.embeddingBackward(g, dX, input.memIds, run.n, D);
      }
      be.free(dH);
      be.free(dX);
    }
  }

  #freeChain(chain: { links: { run: Run; input: Input }[]; memory: F32 }): void {
    for (const l of chain.links) this.#freeRun(l.run), this.#freeInput(l.input);
    this.backend.free(chain.memory);
  }

  /** The memory as the runtime stores it: int8 per row, dequantized. */
  #fakeQuant(m: F32): F32 {
    const c = this.config;
    if (!this.#quantizeMemory) return this.backend.f32(this.backend.read(m));
    const { q, scales } = quantizeRowsInt8(this.backend.read(m), c.memorySlots, c.dim);
    return this.backend.f32(dequantizeRowsInt8(q, scales, c.memorySlots, c.dim));
  }

  /**
   * Cycle consistency: the soft reconstruction `ê_j = Σ_v p_j(v)·E_v` (the expected embedding
   * under the decoder's teacher-forced distribution for token j) is compressed from `mem_init`
   * like the span was; the loss is the mean squared distance of that memory to `m` (held fixed
   * unless `cycleStopGradient` is off).
   * Returns the loss and, when `weight` is not 0, the gradient w.r.t. the decode's logits.
   */
  #cycle(
    d: Decoded,
    span: Int32Array,
    m: F32,
    weight: number,
    dmOut: F32 | null,
  ): { loss: number; dlogits: F32 | null } {
    const be = this.backend, c = this.config, S = c.memorySlots, D = c.dim, V = c.vocabSize;
    const n = d.run.n, E = this.#params.get("base.embed")!;
    const P = be.f32(n * V);
    be.softmax(P, d.logits, n, V);
    const soft = be.f32(n * D);
    be.matmul(soft, P, E, n, V, D);
    const chain = this.#compressChain(span, { rows: soft, row0: S, count: span.length });
    const mh = be.read(chain.memory), target = be.read(m);
    const N = S * D;
    let loss = 0;
    const dmh = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const diff = mh[i] - target[i];
      loss += diff * diff;
      dmh[i] = (2 * diff / N) * weight;
    }
    loss /= N;
    let dlogits: F32 | null = null;
    if (weight !== 0) {
      const dm = be.f32(dmh);
      if (dmOut && !this.#cycleStop) be.axpy(dmOut, dm, -1, N);
      const dSoft = be.f32(n * D);
      this.#chainBackward(chain, dm, { rows: dSoft, row0: S });
      // dP = dSoft·Eᵀ; softmax backward: dlogits = P ⊙ (dP − Σ_v P·dP)
      const dP = be.f32(n * V), t = be.f32(n * V), ones = be.f32(new Float32Array(V).fill(1));
      const rs = be.f32(n);
      be.matmul(dP, dSoft, E, n, D, V, { transB: true });
      be.mul(t, P, dP, n * V);
      be.matmul(rs, t, ones, n, V, 1);
      be.matmul(t, rs, ones, n, 1, V);
      be.couple(dP, dP, t, n * V, true);
      dlogits = be.f32(n * V);
      be.mul(dlogits, P, dP, n * V);
      for (const b of [dm, dSoft, dP, t, ones, rs]) be.free(b);
    }
    this.#freeChain(chain);
    be.free(P);
    be.free(soft);
    return { loss, dlogits };
  }

  // ── runs ────────────────────────────────────────────────────────────────────

  /** Runs `input` through direction `view`; keeps the final streams and the normed output. */
  #forward(view: DirView, input: Input): Run {
    const be = this.backend, n = input.n, D = this.config.dim, nd = n * D, f = this.#s.f;
    const run: Run = {
      view,
      n,
      x1: be.f32(nd),
      x2: be.f32(nd),
      h: be.f32(nd),
      limits: input.limits,
      saved: this.#store ? [] : null,
      cache: this.#store || this.#recompute ? null : view.blocks.map(() => this.#takeInternals()),
    };
    be.copy(run.x1, 0, input.x, 0, nd);
    be.copy(run.x2, 0, input.x, 0, nd);
    const save = () => {
      if (run.saved) run.saved.push(be.f32(be.read(run.x1)), be.f32(be.read(run.x2)));
    };
    // Where block l's internals go: its own set when they are kept, else the shared scratch.
    const at = (l: number) => run.cache?.[l] ?? this.#sharedInternals();
    if (view.dir === "fwd") {
      for (let l = 0; l < view.blocks.length; l++) {
        const b = view.blocks[l];
        save();
        this.#attn(b, run.x2, n, run.limits, at(l));
        be.couple(run.x1, run.x1, f, nd, false); // y1 = x1 + F(x2)
        this.#ffn(b, run.x1, n, at(l));
        be.couple(run.x2, run.x2, f, nd, false); // y2 = x2 + G(y1)
      }
    } else {
      for (let l = view.blocks.length - 1; l >= 0; l--) {
        save();
        const b = view.blocks[l];
        this.#ffn(b, run.x1, n, at(l));
        be.couple(run.x2, run.x2, f, nd, true); // x2 = y2 − G(y1)
        this.#attn(b, run.x2, n, run.limits, at(l));
        be.couple(run.x1, run.x1, f, nd, true); // x1 = y1 − F(x2)
      }
    }
    be.add(this.#s.sum, run.x1, run.x2, nd);
    be.rmsnorm(run.h, this.#s.sum, view.finalNorm, n, D, this.config.normEps);
    return run;
  }

  /**
   * Backward of a run given `dH` (gradient of its output): walks the blocks back, rebuilding
   * each block's inputs from its outputs, and returns the input's gradient (`dx1 + dx2`). The
   * run's streams are consumed (they end as the recomputed inputs).
   */
  #backward(run: Run, dH: F32): F32 {
    const be = this.backend, c = this.config, D = c.dim, n = run.n, nd = n * D, s = this.#s;
    const view = run.view;
    be.add(s.sum, run.x1, run.x2, nd);
    be.rmsnormBackward(s.dS, view.finalNormG, dH, s.sum, view.finalNorm, n, D, c.normEps);
    be.copy(s.dx1, 0, s.dS, 0, nd);
    be.copy(s.dx2, 0, s.dS, 0, nd);
    const restore = (l: number) => {
      // stored-activation mode: the block's inputs come from the copies, not the inverse
      const x2 = run.saved!.pop()!, x1 = run.saved!.pop()!;
      be.copy(run.x1, 0, x1, 0, nd);
      be.copy(run.x2, 0, x2, 0, nd);
      be.free(x1), be.free(x2);
      void l;
    };
    if (run.cache) {
      // Internals kept from the forward pass: no recomputation, no inverse coupling.
      const neg = view.dir === "bwd";
      const order = view.blocks.map((_, l) => l);
      if (!neg) order.reverse();
      for (const l of order) {
        const b = view.blocks[l], t = run.cache[l];
        if (!neg) {
          // y2 = x2 + G(y1): dy1 += G'ᵀ dy2; y1 = x1 + F(x2): dx2 += F'ᵀ dy1
          this.#ffnBackward(b, s.dx2, t.xg, n, s.tmp, t);
          be.add(s.dx1, s.dx1, s.tmp, nd);
          this.#attnBackward(b, s.dx1, t.xa, n, s.tmp, t);
          be.add(s.dx2, s.dx2, s.tmp, nd);
        } else {
          // x1' = x1 − F(x2'): dx2' −= F'ᵀ dx1'; x2' = x2 − G(x1): dx1 −= G'ᵀ dx2'
          be.couple(s.neg, this.#zero, s.dx1, nd, true);
          this.#attnBackward(b, s.neg, t.xa, n, s.tmp, t);
          be.add(s.dx2, s.dx2, s.tmp, nd);
          be.couple(s.neg, this.#zero, s.dx2, nd, true);
          this.#ffnBackward(b, s.neg, t.xg, n, s.tmp, t);
          be.add(s.dx1, s.dx1, s.tmp, nd);
        }
      }
    } else if (view.dir === "fwd") {
      const sh = this.#sharedInternals();
      for (let l = view.blocks.length - 1; l >= 0; l--) {
        const b = view.blocks[l];
        // y2 = x2 + G(y1): recompute G(y1), x2 = y2 − G(y1); dy1 += G'ᵀ dy2
        this.#ffn(b, run.x1, n, sh);
        if (!run.saved) be.couple(run.x2, run.x2, s.f, nd, true);
        this.#ffnBackward(b, s.dx2, run.x1, n, s.tmp, sh);
        be.add(s.dx1, s.dx1, s.tmp, nd);
        // y1 = x1 + F(x2): recompute F(x2), x1 = y1 − F(x2); dx2 += F'ᵀ dy1
        if (run.saved) restore(l);
        this.#attn(b, run.x2, n, run.limits, sh);
        if (!run.saved) be.couple(run.x1, run.x1, s.f, nd, true);
        this.#attnBackward(b, s.dx1, run.x2, n, s.tmp, sh);
        be.add(s.dx2, s.dx2, s.tmp, nd);
      }
    } else {
      const sh = this.#sharedInternals();
      for (let l = 0; l < view.blocks.length; l++) {
        const b = view.blocks[l];
        // x1' = x1 − F(x2'): recompute F(x2'), x1 = x1' + F(x2'); dx2' −= F'ᵀ dx1'
        this.#attn(b, run.x2, n, run.limits, sh);
        be.couple(s.neg, this.#zero, s.dx1, nd, true);
        this.#attnBackward(b, s.neg, run.x2, n, s.tmp, sh);
        be.add(s.dx2, s.dx2, s.tmp, nd);
        if (run.saved) restore(l);
        else be.couple(run.x1, run.x1, s.f, nd, false);
        // x2' = x2 − G(x1): recompute G(x1), x2 = x2' + G(x1); dx1 −= G'ᵀ dx2'
        this.#ffn(b, run.x1, n, sh);
        if (!run.saved) be.couple(run.x2, run.x2, s.f, nd, false);
        be.couple(s.neg, this.#zero, s.dx2, nd, true);
        this.#ffnBackward(b, s.neg, run.x1, n, s.tmp, sh);
        be.add(s.dx1, s.dx1, s.tmp, nd);
      }
    }
    const dX = be.f32(nd);
    be.add(dX, s.dx1, s.dx2, nd);
    return dX;
  }

  #freeRun(run: Run): void {
    const be = this.backend;
    be.free(run.x1), be.free(run.x2), be.free(run.h);
    for (const b of run.saved ?? []) be.free(b);
    if (run.cache) this.#internalsPool.push(...run.cache);
  }

  // The shared scratch as a set of internals (without the norm inputs: recomputation rebuilds
  // them in the streams).
  #sharedInternals(): Internals {
    return this.#s as unknown as Internals;
  }

  // A set of block internals sized for maxRows rows, from the pool or new.
  #takeInternals(): Internals {
    const got = this.#internalsPool.pop();
    if (got) return got;
    const be = this.backend, c = this.config, R = this.#maxRows;
    const t = {} as Internals;
    for (const name of INTERNALS) {
      const size = name === "probs"
        ? c.heads * R * R
        : ["a", "b", "sa", "u"].includes(name)
        ? R * c.ffnDim
        : R * c.dim;
      t[name] = be.f32(size);
    }
    return t;
  }

  // ── block pieces ────────────────────────────────────────────────────────────

  #lin(out: F32, x: F32, lin: Lin, n: number): void {
    this.backend.matmul(out, x, lin.w, n, lin.cols, lin.rows, { transB: true });
  }

  /** `dx (+)= dy·W`; `dW += dyᵀ·x`. */
  #linBackward(dx: F32, dy: F32, x: F32, lin: Lin, n: number, accumulate: boolean): void {
    const be = this.backend;
    be.matmul(dx, dy, lin.w, n, lin.rows, lin.cols, { accumulate });
    if (lin.g) be.matmul(lin.g, dy, x, lin.rows, n, lin.cols, { transA: true, accumulate: true });
  }

  // F(x) = Wo·attention(rope(Wq·h), rope(Wk·h), Wv·h), h = RMSNorm(x), into s.f; keeps internals.
  #attn(b: BlockView, x: F32, n: number, limits: I32, s: Internals): void {
    const be = this.backend, c = this.config, D = c.dim, hd = headDim(c);
    if (s.xa !== undefined) be.copy(s.xa, 0, x, 0, n * D);
    be.rmsnorm(s.hA, x, b.attnNorm, n, D, c.normEps);
    this.#lin(s.q, s.hA, b.lin.wq, n);
    this.#lin(s.k, s.hA, b.lin.wk, n);
    this.#lin(s.v, s.hA, b.lin.wv, n);
    be.rope(s.q, n, c.heads, hd, 0, c.ropeTheta);
    be.rope(s.k, n, c.heads, hd, 0, c.ropeTheta);
    be.attention(
      s.att,
      s.q,
      s.k,
      s.v,
      limits,
      { tq: n, tk: n, heads: c.heads, headDim: hd },
      s.probs,
    );
    this.#lin(this.#s.f, s.att, b.lin.wo, n);
  }

  // Backward of the last #attn: dF → dx (written to `dx`), parameter gradients accumulated.
  #attnBackward(b: BlockView, dF: F32, x: F32, n: number, dx: F32, t: Internals): void {
    const be = this.backend, c = this.config, s = this.#s, D = c.dim, hd = headDim(c);
    this.#linBackward(s.dAtt, dF, t.att, b.lin.wo, n, false);
    be.attentionBackward(s.dq, s.dk, s.dv, s.dAtt, t.q, t.k, t.v, t.probs, {
      tq: n,
      tk: n,
      heads: c.heads,
      headDim: hd,
    });
    be.rope(s.dq, n, c.heads, hd, 0, c.ropeTheta, true);
    be.rope(s.dk, n, c.heads, hd, 0, c.ropeTheta, true);
    this.#linBackward(s.dh, s.dq, t.hA, b.lin.wq, n, false);
    this.#linBackward(s.dh, s.dk, t.hA, b.lin.wk, n, true);
    this.#linBackward(s.dh, s.dv, t.hA, b.lin.wv, n, true);
    be.rmsnormBackward(dx, b.attnNormG, s.dh, x, b.attnNorm, n, D, c.normEps);
  }

  // G(x) = W2·(silu(W1·h) ⊙ W3·h), h = RMSNorm(x), into s.f; keeps internals.
  #ffn(b: BlockView, x: F32, n: number, s: Internals): void {
    const be = this.backend, c = this.config, nf = n * c.ffnDim;
    if (s.xg !== undefined) be.copy(s.xg, 0, x, 0, n * c.dim);
    be.rmsnorm(s.hG, x, b.ffnNorm, n, c.dim, c.normEps);
    this.#lin(s.a, s.hG, b.lin.w1, n);
    this.#lin(s.b, s.hG, b.lin.w3, n);
    be.silu(s.sa, s.a, nf);
    be.mul(s.u, s.sa, s.b, nf);
    this.#lin(this.#s.f, s.u, b.lin.w2, n);
  }

  #ffnBackward(b: BlockView, dG: F32, x: F32, n: number, dx: F32, t: Internals): void {
    const be = this.backend, c = this.config, s = this.#s, nf = n * c.ffnDim;
    this.#linBackward(s.du, dG, t.u, b.lin.w2, n, false);
    be.mul(s.ds, s.du, t.b, nf);
    be.mul(s.db, s.du, t.sa, nf);
    be.siluBackward(s.da, s.ds, t.a, nf);
    this.#linBackward(s.dh, s.da, t.hG, b.lin.w1, n, false);
    this.#linBackward(s.dh, s.db, t.hG, b.lin.w3, n, true);
    be.rmsnormBackward(dx, b.ffnNormG, s.dh, x, b.ffnNorm, n, c.dim, c.normEps);
  }
}

/** A search key: the unit-length mean of a memory's slots, and the mean's length. */
interface SearchKey {
  key: Float32Array;
  norm: number;
}

// The key R3Mem.search compares (mean of the slots, unit length).
function searchKey(m: Float32Array, S: number, D: number): SearchKey {
  const key = new Float32Array(D);
  for (let s = 0; s < S; s++) for (let j = 0; j < D; j++) key[j] += m[s * D + j] / S;
  let norm = 0;
  for (let j = 0; j < D; j++) norm += key[j] * key[j];
  norm = Math.sqrt(norm) || 1;
  for (let j = 0; j < D; j++) key[j] /= norm;
  return { key, norm };
}

// Gradient w.r.t. the memory [S*D] from the gradient w.r.t. its unit key:
// du = (dk − k·(k·dk)) / |u|, and every slot gets du / S.
function keyToMemoryGrad(k: SearchKey, dk: Float32Array, S: number, D: number): Float32Array {
  const kd = dotF(k.key, dk);
  const out = new Float32Array(S * D);
  for (let j = 0; j < D; j++) {
    const du = (dk[j] - k.key[j] * kd) / k.norm / S;
    for (let s = 0; s < S; s++) out[s * D + j] = du;
  }
  return out;
}

function dotF(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
