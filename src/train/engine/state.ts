/**
 * What a training engine holds: the parameters resident in a backend, the current stage's
 * gradients and optimizer moments, the per-direction views the passes walk, and the scratch
 * buffers (allocated once for `maxRows` rows, so the passes allocate nothing per block).
 *
 * The passes (`forward.ts`, `backward.ts`, …) are functions of an {@link EngineState}; the
 * `TrainEngine` class owns one and keeps it private. `stage.ts` fills the stage's part.
 *
 * @module
 */
import type { Backend, F32 } from "../../backend/backend.ts";
import type { ModelConfig } from "../../model/config.ts";
import type { Direction } from "../../model/weights.ts";
import { type MatrixName, numel, type ParamSpec, paramSpecs, type Stage } from "../params.ts";
import type { EngineOptions } from "./types.ts";

/** One linear map of a block, as a pass sees it. */
export interface Lin {
  /** Effective weight `[rows, cols]`. */
  w: F32;
  /** Gradient of the effective weight (null: not trained, or discarded). */
  g: F32 | null;
  rows: number;
  cols: number;
}

/** One block's parameters and where their gradients go. */
export interface BlockView {
  attnNorm: F32;
  attnNormG: F32;
  ffnNorm: F32;
  ffnNormG: F32;
  lin: Record<MatrixName, Lin>;
}

/** One direction of the network: its blocks and final norm. */
export interface DirView {
  dir: Direction;
  blocks: BlockView[];
  finalNorm: F32;
  finalNormG: F32;
}

/**
 * One block's forward internals, kept for its backward pass: the inputs of the two norms (`xa`,
 * `xg`) and everything F and G compute on the way to their outputs.
 */
export type Internals = Record<(typeof INTERNALS)[number], F32>;

/** The names of {@link Internals}. */
export const INTERNALS = [
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

/** Everything a `TrainEngine` holds. */
export interface EngineState {
  readonly backend: Backend;
  readonly config: ModelConfig;
  readonly rank: number;
  /** Every parameter, in file order. */
  readonly specs: ParamSpec[];
  stage: Stage;
  params: Map<string, F32>;
  /** Gradients of the trainable parameters of the stage. */
  grads: Map<string, F32>;
  m: Map<string, F32>;
  v: Map<string, F32>;
  /** Stage 2: merged matrices per direction, `W_dir = W + B·A`, and their gradients. */
  eff: Map<string, { w: F32; g: F32 }>;
  views: Map<Direction, DirView>;
  /**
   * Head gradient of the tied embedding, transposed (`[D, V]`): the product in that orientation
   * is several times faster than dlogitsᵀ·h with V rows; folded into base.embed's gradient once
   * per step.
   */
  headGradT: F32 | null;
  trainable: ParamSpec[];
  /** Scratch buffers by name, each for `maxRows` rows. */
  s: Record<string, F32>;
  /** dweight of a frozen norm. */
  sink: F32;
  zero: F32;
  maxRows: number;
  store: boolean;
  recompute: boolean;
  internalsPool: Internals[];
  quantizeMemory: boolean;
  cycleStop: boolean;
}

/** Uploads `params` into `backend` and allocates the scratch; no stage selected yet. */
export function createState(
  backend: Backend,
  config: ModelConfig,
  params: Map<string, Float32Array>,
  options: EngineOptions,
): EngineState {
  const specs = paramSpecs(config, options.rank);
  const resident = new Map<string, F32>();
  for (const spec of specs) {
    const data = params.get(spec.name);
    if (!data || data.length !== numel(spec.shape)) {
      throw new RangeError(`Parameter ${spec.name} missing or of the wrong size`);
    }
    resident.set(spec.name, backend.f32(data));
  }
  const R = options.maxRows, D = config.dim, F = config.ffnDim;
  return {
    backend,
    config,
    rank: options.rank,
    specs,
    stage: 1,
    params: resident,
    grads: new Map(),
    m: new Map(),
    v: new Map(),
    eff: new Map(),
    views: new Map(),
    headGradT: null,
    trainable: [],
    s: allocScratch(backend, R, D, F, config.heads),
    sink: backend.f32(D),
    zero: backend.f32(Math.max(R * D, R * F)),
    maxRows: R,
    store: options.storeActivations ?? false,
    recompute: options.recompute ?? false,
    internalsPool: [],
    quantizeMemory: options.quantizeMemory ?? true,
    cycleStop: options.cycleStopGradient ?? true,
  };
}

// The shared scratch: one block's internals (recomputed ones) and the backward's gradients.
function allocScratch(be: Backend, R: number, D: number, F: number, H: number) {
  const rd = () => be.f32(R * D), rf = () => be.f32(R * F);
  return {
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
}

/** The shared scratch as a set of internals (without the norm inputs: recomputation rebuilds
 * them in the streams). */
export function sharedInternals(st: EngineState): Internals {
  return st.s as unknown as Internals;
}

/** A set of block internals sized for `maxRows` rows, from the pool or new. */
export function takeInternals(st: EngineState): Internals {
  const got = st.internalsPool.pop();
  if (got) return got;
  const be = st.backend, c = st.config, R = st.maxRows;
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

/** Releases every buffer of the state. */
export function freeState(st: EngineState): void {
  const be = st.backend;
  for (
    const b of [...st.params.values(), ...st.grads.values(), ...st.m.values(), ...st.v.values()]
  ) {
    be.free(b);
  }
  for (const e of st.eff.values()) be.free(e.w), be.free(e.g);
  for (const b of Object.values(st.s)) be.free(b);
  for (const t of st.internalsPool) for (const b of Object.values(t)) be.free(b);
  st.internalsPool = [];
  be.free(st.sink);
  be.free(st.zero);
  if (st.headGradT) be.free(st.headGradT);
  st.headGradT = null;
  st.params.clear(), st.grads.clear(), st.eff.clear();
}
