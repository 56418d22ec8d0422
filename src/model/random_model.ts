/**
 * A small randomly initialised model: the mechanics (compress, lossless round trip, formats,
 * server) are tested on it, and training starts from weights drawn the same way.
 *
 * @module
 */
import type { ModelConfig } from "./config.ts";
import { gaussian } from "../prng.ts";
import { trainBpe } from "./tokenizer.ts";
import { tensorShapes } from "./weights.ts";
import { type NamedTensor, quantizeRowsInt8, writeWeights } from "./weights_format.ts";

/** Options of {@link buildRandomModel}. */
export interface RandomModelOptions {
  /** Seed of the weights (default 1). */
  seed?: number;
  /** Overrides of the tiny default configuration. */
  config?: Partial<ModelConfig>;
  /** Text to train the tokenizer on (default: a built-in paragraph). */
  tokenizerText?: string[];
  /** Store matrices as int8 (default true), as the shipped model does. */
  int8?: boolean;
}

/** The tiny configuration used by tests. */
export const TINY_CONFIG: Omit<ModelConfig, "vocabSize"> = {
  dim: 32,
  layers: 2,
  heads: 2,
  ffnDim: 64,
  memorySlots: 2,
  segmentTokens: 16,
  window: 32,
  ropeTheta: 10000,
  normEps: 1e-5,
};

const SAMPLE = [
  "The quick brown fox jumps over the lazy dog. Memory is the treasury of everything.",
  "A reversible network can run backward: what was compressed comes back again.",
];

/**
 * Builds a weights file for a randomly initialised model.
 *
 * @param options Seed, configuration overrides, tokenizer text.
 * @returns The weights file's bytes, ready for `R3Mem.load({ weights })`.
 *
 * @example
 * ```ts
 * import { buildRandomModel } from "./random_model.ts";
 * const bytes = await buildRandomModel({ seed: 2 });
 * console.log(bytes.length > 1000); // true
 * ```
 */
export async function buildRandomModel(options: RandomModelOptions = {}): Promise<Uint8Array> {
  const tokenizer = trainBpe(options.tokenizerText ?? SAMPLE, 300);
  const config: ModelConfig = {
    ...TINY_CONFIG,
    ...options.config,
    vocabSize: tokenizer.vocabSize,
  };
  const rand = gaussian(options.seed ?? 1);
  const tensors: NamedTensor[] = [];
  for (const [name, shape] of tensorShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (name.endsWith("norm")) data.fill(1);
    else {
      const std = shape.length === 2 ? 1 / Math.sqrt(shape[1]) : 0.5;
      for (let i = 0; i < n; i++) data[i] = rand() * std;
    }
    if (shape.length === 2 && (options.int8 ?? true) && name !== "type_embed") {
      const { q, scales } = quantizeRowsInt8(data, shape[0], shape[1]);
      tensors.push({ name, dtype: "i8", shape, data: q, scales });
    } else tensors.push({ name, dtype: "f32", shape, data });
  }
  return await writeWeights({
    config: config as unknown as Record<string, unknown>,
    tokenizer: tokenizer.toBytes(),
    tensors,
    createdBy: "r3mem random_model",
    metadata: { kind: "random", seed: options.seed ?? 1 },
  });
}
