/**
 * The model's weights, resident in a backend: the shared embedding and memory tokens, and one
 * set of (adapter-merged) block weights per direction.
 *
 * Tensor names in the weights file (rows = output channels, `{dir}` is `fwd` or `bwd`):
 * `embed` [V,D] · `type_embed` [3,D] (memory-in, text, fresh memory) · `mem_init` [S,D] ·
 * `mem_fresh` [S,D] · `{dir}.blocks.{l}.attn_norm` [D] · `{dir}.blocks.{l}.{wq,wk,wv,wo}` [D,D] ·
 * `{dir}.blocks.{l}.ffn_norm` [D] · `{dir}.blocks.{l}.{w1,w3}` [F,D] · `{dir}.blocks.{l}.w2` [D,F] ·
 * `{dir}.final_norm` [D]. Matrices may be int8 (with per-row scales) or f32 (quantized here).
 *
 * @module
 */
import type { Backend, F32, Q8Matrix } from "../backend/backend.ts";
import { FormatError } from "../errors.ts";
import type { ModelConfig } from "./config.ts";
import { quantizeRowsInt8, type Tensor } from "./weights_format.ts";

/** Which way the network runs: compress (forward) or reconstruct (backward). */
export type Direction = "fwd" | "bwd";

/** The two directions, in file order. */
export const DIRECTIONS: readonly Direction[] = ["fwd", "bwd"];

/** One reversible block's weights. */
export interface BlockWeights {
  attnNorm: F32; // [D]
  wq: Q8Matrix; // [D, D]
  wk: Q8Matrix; // [D, D]
  wv: Q8Matrix; // [D, D]
  wo: Q8Matrix; // [D, D]
  ffnNorm: F32; // [D]
  w1: Q8Matrix; // [F, D] gate
  w3: Q8Matrix; // [F, D] up
  w2: Q8Matrix; // [D, F] down
}

/** One direction's blocks and final norm. */
export interface DirectionWeights {
  blocks: BlockWeights[];
  finalNorm: F32; // [D]
}

/** Everything the runtime needs, resident in `backend`. */
export interface ModelWeights {
  embed: F32; // [V, D] dequantized, for the gather
  head: Q8Matrix; // [V, D] tied output projection
  typeEmbed: F32; // [3, D]
  memInit: F32; // [S, D]
  memFresh: F32; // [S, D]
  fwd: DirectionWeights;
  bwd: DirectionWeights;
}

/** Row index of each input kind in `type_embed`. */
export const TYPE_MEMORY = 0;
/** Text tokens. */
export const TYPE_TEXT = 1;
/** Fresh (virtual) memory tokens. */
export const TYPE_FRESH = 2;

/** The name and shape of every tensor a model of config `c` has. */
export function tensorShapes(c: ModelConfig): Map<string, number[]> {
  const { vocabSize: v, dim: d, ffnDim: f, memorySlots: s } = c;
  const m = new Map<string, number[]>([
    ["embed", [v, d]],
    ["type_embed", [3, d]],
    ["mem_init", [s, d]],
    ["mem_fresh", [s, d]],
  ]);
  for (const dir of DIRECTIONS) {
    for (let l = 0; l < c.layers; l++) {
      const p = `${dir}.blocks.${l}.`;
      m.set(p + "attn_norm", [d]);
      for (const w of ["wq", "wk", "wv", "wo"]) m.set(p + w, [d, d]);
      m.set(p + "ffn_norm", [d]);
      m.set(p + "w1", [f, d]);
      m.set(p + "w3", [f, d]);
      m.set(p + "w2", [d, f]);
    }
    m.set(`${dir}.final_norm`, [d]);
  }
  return m;
}

/**
 * Uploads a model's tensors into `backend`, checking every name and shape.
 *
 * @throws {FormatError} When a tensor is missing or has the wrong shape.
 */
export function uploadWeights(
  backend: Backend,
  config: ModelConfig,
  tensors: Map<string, Tensor>,
): ModelWeights {
  const shapes = tensorShapes(config);
  const get = (name: string): Tensor => {
    const t = tensors.get(name);
    const want = shapes.get(name)!;
    if (!t) throw new FormatError(`Weights file lacks tensor "${name}"`);
    if (t.shape.length !== want.length || t.shape.some((x, i) => x !== want[i])) {
      throw new FormatError(
        `Tensor "${name}" has shape [${t.shape}], expected [${want}] for this config`,
      );
    }
    return t;
  };
  // int8 tensors (the embedding table) are dequantized by the backend: in WebAssembly that is
  // ~1 ms where cold JavaScript took ~10 ms of the model's load.
  const vec = (name: string): F32 => {
    const t = get(name);
    if (t.dtype === "f32") return backend.f32(t.data);
    const { rows, cols } = rowsAndCols(t);
    return backend.f32FromQ8(t.data, t.scales ?? new Float32Array(rows).fill(1), rows, cols);
  };
  const mat = (name: string): Q8Matrix => {
    const t = get(name);
    const [rows, cols] = t.shape;
    const { q, scales } = asQ8(t, rows, cols, name);
    return backend.q8(q, scales, rows, cols);
  };
  const direction = (dir: Direction): DirectionWeights => ({
    blocks: Array.from({ length: config.layers }, (_, l) => {
      const p = `${dir}.blocks.${l}.`;
      return {
        attnNorm: vec(p + "attn_norm"),
        wq: mat(p + "wq"),
        wk: mat(p + "wk"),
        wv: mat(p + "wv"),
        wo: mat(p + "wo"),
        ffnNorm: vec(p + "ffn_norm"),
        w1: mat(p + "w1"),
        w3: mat(p + "w3"),
        w2: mat(p + "w2"),
      };
    }),
    finalNorm: vec(`${dir}.final_norm`),
  });
  return {
    embed: vec("embed"),
    head: mat("embed"),
    typeEmbed: vec("type_embed"),
    memInit: vec("mem_init"),
    memFresh: vec("mem_fresh"),
    fwd: direction("fwd"),
    bwd: direction("bwd"),
  };
}

// A tensor as rows of its last dimension.
function rowsAndCols(t: Tensor): { rows: number; cols: number } {
  const rows = t.shape.length > 1 ? t.shape.slice(0, -1).reduce((a, b) => a * b, 1) : 1;
  const cols = t.shape.length ? t.shape[t.shape.length - 1] : 1;
  return { rows, cols };
}

function asQ8(
  t: Tensor,
  rows: number,
  cols: number,
  name: string,
): { q: Int8Array; scales: Float32Array } {
  if (t.dtype === "f32") return quantizeRowsInt8(t.data, rows, cols);
  if (!t.scales) throw new FormatError(`int8 tensor "${name}" has no scales`);
  return { q: t.data, scales: t.scales };
}
