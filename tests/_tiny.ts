// The tiny model shape the trainer tests share (small, so finite differences stay cheap), and its
// adapter rank.
import type { ModelConfig } from "../src/model/config.ts";

/** A two-block model of 16 dimensions and 300 tokens. */
export const TINY: ModelConfig = {
  vocabSize: 300,
  dim: 16,
  layers: 2,
  heads: 2,
  ffnDim: 32,
  memorySlots: 2,
  segmentTokens: 4,
  window: 8,
  ropeTheta: 10000,
  normEps: 1e-5,
};

/** Adapter rank of the tiny tests. */
export const RANK = 2;
