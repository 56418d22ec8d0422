/**
 * Refinement at compress time: the encoder's memory of a span improved by a bounded number of
 * gradient steps against the decoder, so the decoder reads more of the span back from it.
 *
 * The encoder's memory gives the decoder little (docs/TRAINING.md, "Decoder capacity"): from the
 * same slots, optimized directly, the decoder reproduces 16–32-token spans exactly. The refiner
 * runs that optimization ({@link optimizeSlots}) on the model the runtime loaded: its int8
 * matrices dequantized into an f32 trainer engine (`TrainEngine`), so no master file is needed
 * and the slots are fitted to the matrices the runtime decodes with (the runtime also rounds its
 * activations to 7 bits per row, which the engine does not: measured by the eval, which decodes
 * refined memories with the runtime).
 *
 * Only the decoder (the backward direction) is used. The engine's parameters are laid out as a
 * stage-2 trainer's with rank-1 adapters at zero, so both directions' matrices are the runtime's
 * backward ones; the forward direction of this engine must not be used to compress.
 *
 * @module
 */
import type { Backend } from "../backend/backend.ts";
import type { ModelConfig } from "../model/config.ts";
import { dequantizeRowsInt8, type Tensor } from "../model/weights_format.ts";
import { DIRECTIONS } from "../model/weights.ts";
import { TrainEngine } from "./engine.ts";
import { MATRICES, paramSpecs } from "./params.ts";
import { DEFAULT_REFINE_LR, DEFAULT_REFINE_STEPS, type RefineBudget } from "../refine_budget.ts";
import { optimizeSlots } from "./slots.ts";

export type { RefineBudget };

/** What {@link MemoryRefiner.refine} did to one memory. */
export interface RefineResult {
  /** The refined memory `[memorySlots × dim]` (f32; stored as int8 rows like any memory). */
  memory: Float32Array;
  /** Adam steps taken. */
  steps: number;
  /** Teacher-forced loss (nats/token) and accuracy of the starting memory. */
  before: { loss: number; accuracy: number };
  /** The same for the refined memory. */
  after: { loss: number; accuracy: number };
}

/**
 * The trainer's parameters for a runtime model's decoder: base matrices and norms from the
 * backward direction (int8 rows dequantized), both directions' norms as stored, rank-1 adapters
 * at zero.
 *
 * @param config The model's configuration.
 * @param tensors The runtime's tensors by name (a parsed `.r3w`).
 * @returns Parameters for a `TrainEngine` of rank 1.
 *
 * @example
 * ```ts
 * import { decoderParams } from "./refiner.ts";
 * import { buildRandomModel } from "../model/random_model.ts";
 * import { readWeights } from "../model/weights_format.ts";
 * import { parseConfig } from "../model/config.ts";
 * const file = await readWeights(await buildRandomModel());
 * const p = decoderParams(parseConfig(file.config), file.tensors);
 * console.log(p.has("base.blocks.0.wq"), p.get("lora.bwd.blocks.0.wq.b")!.every((x) => x === 0)); // true true
 * ```
 */
export function decoderParams(
  config: ModelConfig,
  tensors: Map<string, Tensor>,
): Map<string, Float32Array> {
  const f32 = (name: string): Float32Array => {
    const t = tensors.get(name);
    if (!t) throw new RangeError(`The model has no tensor "${name}"`);
    if (t.dtype === "f32") return Float32Array.from(t.data as Float32Array);
    const cols = t.shape[t.shape.length - 1], rows = (t.data as Int8Array).length / cols;
    return dequantizeRowsInt8(t.data as Int8Array, t.scales!, rows, cols);
  };
  const p = new Map<string, Float32Array>();
  p.set("base.embed", f32("embed"));
  for (let l = 0; l < config.layers; l++) {
    for (const n of ["attn_norm", "ffn_norm", ...MATRICES]) {
      p.set(`base.blocks.${l}.${n}`, f32(`bwd.blocks.${l}.${n}`));
    }
  }
  p.set("base.final_norm", f32("bwd.final_norm"));
  for (const n of ["type_embed", "mem_init", "mem_fresh"]) p.set(n, f32(n));
  for (const dir of DIRECTIONS) {
    for (let l = 0; l < config.layers; l++) {
      for (const n of ["attn_norm", "ffn_norm"]) {
        p.set(`${dir}.blocks.${l}.${n}`, f32(`bwd.blocks.${l}.${n}`));
      }
    }
    p.set(`${dir}.final_norm`, f32("bwd.final_norm"));
  }
  // the adapters: zeros of rank 1 (B = 0, so W + B·A is the base)
  for (const s of paramSpecs(config, 1)) {
    if (!p.has(s.name)) p.set(s.name, new Float32Array(s.shape.reduce((a, b) => a * b, 1)));
  }
  return p;
}

/**
 * Refines memories against a model's decoder.
 *
 * @example
 * ```ts
 * import { MemoryRefiner } from "./refiner.ts";
 * import { createWasmBackend } from "../backend/wasm/wasm_backend.ts";
 * import { buildRandomModel } from "../model/random_model.ts";
 * import { readWeights } from "../model/weights_format.ts";
 * import { parseConfig } from "../model/config.ts";
 * const file = await readWeights(await buildRandomModel());
 * const config = parseConfig(file.config);
 * const refiner = new MemoryRefiner(await createWasmBackend(), config, file.tensors);
 * const start = new Float32Array(config.memorySlots * config.dim);
 * const r = refiner.refine(new Int32Array([5, 6, 7, 8]), start, { steps: 5 });
 * console.log(r.steps, r.after.loss <= r.before.loss); // 5 true
 * refiner.free();
 * ```
 */
export class MemoryRefiner {
  /** The model's configuration. */
  readonly config: ModelConfig;
  readonly #engine: TrainEngine;

  /**
   * @param backend A backend with the trainer's f32 kernels (WebAssembly or reference).
   * @param config The model's configuration.
   * @param tensors The runtime's tensors (a parsed `.r3w`).
   */
  constructor(backend: Backend, config: ModelConfig, tensors: Map<string, Tensor>) {
    this.config = config;
    this.#engine = new TrainEngine(backend, config, decoderParams(config, tensors), {
      rank: 1,
      maxRows: config.memorySlots + 1 + config.window,
    });
    this.#engine.setStage(2);
    this.#engine.beginStep(); // merges the (zero) adapters into the directions' matrices
  }

  /**
   * Improves `init`, the memory of `tokens`, by Adam steps on its values against the decoder's
   * teacher-forced reconstruction loss; keeps the best memory seen (never worse than `init`).
   *
   * @param tokens The span the memory stands for.
   * @param init Its memory `[memorySlots × dim]` (not modified).
   * @param budget Steps (default {@link DEFAULT_REFINE_STEPS}), learning rate, and a deadline.
   * @param deadline `performance.now()` time after which no step starts (default none).
   * @returns The refined memory, the steps taken, the loss before and after.
   */
  refine(
    tokens: Int32Array,
    init: Float32Array,
    budget: RefineBudget = {},
    deadline?: number,
  ): RefineResult {
    const steps = budget.steps ?? DEFAULT_REFINE_STEPS;
    if (tokens.length === 0 || steps === 0) {
      return { memory: init.slice(), steps: 0, before: nan(), after: nan() };
    }
    const r = optimizeSlots(this.#engine, tokens, init, {
      steps,
      lr: budget.lr ?? DEFAULT_REFINE_LR,
      deadline,
      targetLoss: TARGET_LOSS,
    });
    return {
      memory: r.memory,
      steps: r.steps,
      before: r.initial,
      after: { loss: r.loss, accuracy: r.accuracy },
    };
  }

  /** Releases the engine's buffers. */
  free(): void {
    this.#engine.free();
  }
}

/**
 * Refinement stops early once the teacher-forced loss is below this (nats/token): every token is
 * then the decoder's first choice by a wide margin, and greedy decoding gives the span back
 * (measured: a 20-token sentence at loss 0.38 already decodes exactly).
 */
const TARGET_LOSS = 0.1;

function nan() {
  return { loss: NaN, accuracy: NaN };
}
