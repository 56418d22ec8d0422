/**
 * Model configuration: the shape of the reversible transformer and its memory.
 *
 * @module
 */
import { FormatError } from "../errors.ts";

/** Hyper-parameters of an r3mem model; stored in the weights file's header. */
export interface ModelConfig {
  /** Tokenizer vocabulary size (rows of the embedding). */
  vocabSize: number;
  /** Width of each of the two reversible streams. */
  dim: number;
  /** Number of reversible blocks. */
  layers: number;
  /** Attention heads (dim must divide evenly). */
  heads: number;
  /** Hidden width of the SwiGLU feed-forward net. */
  ffnDim: number;
  /** Virtual memory tokens per node (slots). */
  memorySlots: number;
  /** Text tokens per compression segment. */
  segmentTokens: number;
  /** Text tokens of context the decoder keeps before sliding. */
  window: number;
  /** Rotary embedding base. */
  ropeTheta: number;
  /** RMSNorm epsilon. */
  normEps: number;
}

const FIELDS: (keyof ModelConfig)[] = [
  "vocabSize",
  "dim",
  "layers",
  "heads",
  "ffnDim",
  "memorySlots",
  "segmentTokens",
  "window",
  "ropeTheta",
  "normEps",
];

/**
 * Checks a configuration read from a file and returns it typed.
 *
 * @param raw The header's `config` object.
 * @returns The validated configuration.
 * @throws {FormatError} When a field is missing, not a positive number, or inconsistent.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./config.ts";
 * const c = parseConfig({ vocabSize: 300, dim: 32, layers: 2, heads: 2, ffnDim: 64,
 *   memorySlots: 2, segmentTokens: 16, window: 32, ropeTheta: 10000, normEps: 1e-5 });
 * console.log(c.dim / c.heads); // 16
 * ```
 */
export function parseConfig(raw: Record<string, unknown>): ModelConfig {
  const out: Record<string, number> = {};
  for (const f of FIELDS) {
    const v = raw[f];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw new FormatError(`Model config field "${f}" must be a positive number, got ${v}`);
    }
    if (f !== "ropeTheta" && f !== "normEps" && !Number.isInteger(v)) {
      throw new FormatError(`Model config field "${f}" must be an integer, got ${v}`);
    }
    out[f] = v;
  }
  const c = out as unknown as ModelConfig;
  if (c.dim % c.heads || (c.dim / c.heads) % 2) {
    throw new FormatError(`Model dim ${c.dim} must split into ${c.heads} heads of even width`);
  }
  return c;
}

/** Head width. */
export function headDim(c: ModelConfig): number {
  return c.dim / c.heads;
}
