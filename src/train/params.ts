/**
 * The trainer's parameters: names, shapes, initialisation and which of them each stage trains.
 *
 * Names (rows = output channels, as in the runtime):
 *
 * - Base network (stage 1): `base.embed` [V,D] (tied with the output head) ·
 *   `base.blocks.{l}.{attn_norm,ffn_norm}` [D] · `base.blocks.{l}.{wq,wk,wv,wo}` [D,D] ·
 *   `base.blocks.{l}.{w1,w3}` [F,D] · `base.blocks.{l}.w2` [D,F] · `base.final_norm` [D].
 * - Shared inputs: `type_embed` [3,D] · `mem_init` [S,D] · `mem_fresh` [S,D].
 * - Per direction (`fwd` compress, `bwd` reconstruct; stage 2): the norms under the runtime's
 *   names, `{dir}.blocks.{l}.{attn_norm,ffn_norm}` and `{dir}.final_norm`, and LoRA adapters
 *   `lora.{dir}.blocks.{l}.{w}.a` [r, in] and `.b` [out, r] on every block matrix, so that the
 *   direction's matrix is `W + B·A` (`B` starts at zero).
 *
 * @module
 */
import type { ModelConfig } from "../model/config.ts";
import { type Direction, DIRECTIONS } from "../model/weights.ts";

/** The block matrices that carry adapters, in a fixed order. */
export const MATRICES = ["wq", "wk", "wv", "wo", "w1", "w3", "w2"] as const;

/** One block matrix name. */
export type MatrixName = typeof MATRICES[number];

/** Training stage: 1 = base language model, 2 = adapters and memory (base frozen). */
export type Stage = 1 | 2;

/** One trainable tensor. */
export interface ParamSpec {
  /** Unique name (see the module doc). */
  name: string;
  /** Dimensions, row-major. */
  shape: number[];
  /** Whether AdamW's weight decay applies (matrices yes; norms, embeddings, memory no). */
  decay: boolean;
  /** The stage that trains it. */
  stage: Stage;
}

/** Shape `[rows, cols]` of a block matrix. */
export function matrixShape(c: ModelConfig, w: MatrixName): [number, number] {
  const d = c.dim, f = c.ffnDim;
  if (w === "w1" || w === "w3") return [f, d];
  if (w === "w2") return [d, f];
  return [d, d];
}

/**
 * Every parameter of a model of config `c` with LoRA rank `rank`, in a fixed order (the order
 * of flat gradient vectors and of files).
 *
 * @example
 * ```ts
 * import { paramSpecs } from "./params.ts";
 * const c = { vocabSize: 300, dim: 16, layers: 1, heads: 2, ffnDim: 32, memorySlots: 2,
 *   segmentTokens: 8, window: 16, ropeTheta: 10000, normEps: 1e-5 };
 * const specs = paramSpecs(c, 4);
 * console.log(specs[0].name, specs.filter((s) => s.stage === 1).length); // base.embed 12
 * ```
 */
export function paramSpecs(c: ModelConfig, rank: number): ParamSpec[] {
  const { vocabSize: v, dim: d, memorySlots: s } = c;
  const out: ParamSpec[] = [{ name: "base.embed", shape: [v, d], decay: false, stage: 1 }];
  for (let l = 0; l < c.layers; l++) {
    const p = `base.blocks.${l}.`;
    out.push({ name: p + "attn_norm", shape: [d], decay: false, stage: 1 });
    for (const w of MATRICES.slice(0, 4)) {
      out.push({ name: p + w, shape: matrixShape(c, w), decay: true, stage: 1 });
    }
    out.push({ name: p + "ffn_norm", shape: [d], decay: false, stage: 1 });
    for (const w of MATRICES.slice(4)) {
      out.push({ name: p + w, shape: matrixShape(c, w), decay: true, stage: 1 });
    }
  }
  out.push({ name: "base.final_norm", shape: [d], decay: false, stage: 1 });
  out.push({ name: "type_embed", shape: [3, d], decay: false, stage: 1 });
  out.push({ name: "mem_init", shape: [s, d], decay: false, stage: 2 });
  out.push({ name: "mem_fresh", shape: [s, d], decay: false, stage: 2 });
  for (const dir of DIRECTIONS) {
    for (let l = 0; l < c.layers; l++) {
      const p = `${dir}.blocks.${l}.`;
      out.push({ name: p + "attn_norm", shape: [d], decay: false, stage: 2 });
      out.push({ name: p + "ffn_norm", shape: [d], decay: false, stage: 2 });
      for (const w of MATRICES) {
        const [rows, cols] = matrixShape(c, w);
        const q = `lora.${dir}.blocks.${l}.${w}.`;
        out.push({ name: q + "a", shape: [rank, cols], decay: true, stage: 2 });
        out.push({ name: q + "b", shape: [rows, rank], decay: true, stage: 2 });
      }
    }
    out.push({ name: `${dir}.final_norm`, shape: [d], decay: false, stage: 2 });
  }
  return out;
}

/** Whether parameter `spec` is trained in `stage` (`type_embed` is trained in both). */
export function trainedIn(spec: ParamSpec, stage: Stage): boolean {
  return spec.stage === stage || spec.name === "type_embed";
}

/** Number of elements of a shape. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A seeded generator of uniform floats in [0, 1) (mulberry32); its state is one uint32. */
export class Rng {
  /** The state; save it to resume the sequence. */
  state: number;
  /** Starts the sequence of `seed`. */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** The next uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** A standard normal sample (Box–Muller, one of the pair). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}

/**
 * Fresh parameters for config `c`: matrices N(0, 0.02) (output projections `wo`, `w2` scaled by
 * 1/√(2L)), embedding N(0, 0.02), norms 1, `type_embed` 0, `mem_init` N(0, 1) (the scale of a
 * normed memory), `mem_fresh` N(0, 0.02), adapters `A` N(0, 1/√in) and `B` 0. Deterministic for
 * a seed.
 *
 * @example
 * ```ts
 * import { initParams } from "./params.ts";
 * const c = { vocabSize: 300, dim: 16, layers: 1, heads: 2, ffnDim: 32, memorySlots: 2,
 *   segmentTokens: 8, window: 16, ropeTheta: 10000, normEps: 1e-5 };
 * const p = initParams(c, 4, 1);
 * console.log(p.get("base.final_norm")![0], p.get("lora.fwd.blocks.0.wq.b")![0]); // 1 0
 * ```
 */
export function initParams(c: ModelConfig, rank: number, seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  const outScale = 1 / Math.sqrt(2 * c.layers);
  for (const spec of paramSpecs(c, rank)) {
    const t = new Float32Array(numel(spec.shape));
    const name = spec.name;
    let std = 0;
    if (name.endsWith("norm")) t.fill(1);
    else if (name === "type_embed" || name.endsWith(".b")) std = 0;
    else if (name === "mem_init") std = 1;
    else if (name.endsWith(".a")) std = 1 / Math.sqrt(spec.shape[1]);
    else if (name.endsWith(".wo") || name.endsWith(".w2")) std = 0.02 * outScale;
    else std = 0.02;
    if (std > 0) { for (let i = 0; i < t.length; i++) t[i] = std * rng.normal(); }
    out.set(name, t);
  }
  return out;
}

/**
 * Starts stage 2 from a stage-1 model: each direction's norms become copies of the base norms
 * (in place in `params`).
 */
export function copyBaseNorms(c: ModelConfig, params: Map<string, Float32Array>): void {
  for (const dir of DIRECTIONS as readonly Direction[]) {
    for (let l = 0; l < c.layers; l++) {
      for (const n of ["attn_norm", "ffn_norm"]) {
        params.get(`${dir}.blocks.${l}.${n}`)!.set(params.get(`base.blocks.${l}.${n}`)!);
      }
    }
    params.get(`${dir}.final_norm`)!.set(params.get("base.final_norm")!);
  }
}
