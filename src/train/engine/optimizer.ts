/**
 * A step's gradients and the AdamW update: the trainable parameters' gradients gathered into
 * one vector (the layout the data-parallel pool sums), the update from such a vector, and the
 * optimizer's moments in and out (checkpoints).
 *
 * @module
 */
import { numel } from "../params.ts";
import { foldAdapterGradients, mergeAdapters } from "./adapters.ts";
import type { EngineState } from "./state.ts";
import type { AdamHyper } from "./types.ts";

/**
 * Starts a step: zeroes the gradients and (stage 2) merges the adapters into each direction's
 * matrices.
 */
export function beginStep(st: EngineState): void {
  for (const g of st.grads.values()) st.backend.fill(g, 0);
  if (st.headGradT) st.backend.fill(st.headGradT, 0);
  if (st.stage === 2) {
    mergeAdapters(st);
    for (const e of st.eff.values()) st.backend.fill(e.g, 0);
  }
}

/** Total number of trainable values in the current stage. */
export function trainableCount(st: EngineState): number {
  return st.trainable.reduce((a, s) => a + numel(s.shape), 0);
}

/**
 * The step's gradient of every trainable parameter, concatenated in `trainable` order (stage 2:
 * the merged matrices' gradients folded into the adapters first; the tied head's transposed
 * gradient added to the embedding's).
 */
export function gatherGradients(st: EngineState): Float32Array {
  const be = st.backend, c = st.config;
  if (st.stage === 2) foldAdapterGradients(st);
  const out = new Float32Array(trainableCount(st));
  let o = 0;
  for (const s of st.trainable) {
    const g = be.read(st.grads.get(s.name)!);
    if (s.name === "base.embed" && st.headGradT) {
      const t = be.read(st.headGradT), V = c.vocabSize, D = c.dim;
      for (let v = 0; v < V; v++) for (let j = 0; j < D; j++) g[v * D + j] += t[j * V + v];
    }
    out.set(g, o);
    o += g.length;
  }
  return out;
}

/**
 * One AdamW step of every trainable parameter with gradient `grad` (the layout of
 * {@link gatherGradients}) multiplied by `scale`. Weight decay applies to matrices only.
 */
export function applyUpdate(
  st: EngineState,
  grad: Float32Array,
  scale: number,
  lr: number,
  step: number,
  h: AdamHyper,
): void {
  const be = st.backend, count = trainableCount(st);
  if (grad.length !== count) {
    throw new RangeError(`Gradient has ${grad.length} values, expected ${count}`);
  }
  let o = 0;
  for (const s of st.trainable) {
    const n = numel(s.shape);
    const g = st.grads.get(s.name)!;
    const part = grad.subarray(o, o + n);
    if (scale === 1) be.write(g, part);
    else {
      const t = new Float32Array(n);
      for (let i = 0; i < n; i++) t[i] = part[i] * scale;
      be.write(g, t);
    }
    const decay = s.decay ? h.weightDecay : 0;
    const m = st.m.get(s.name)!, v = st.v.get(s.name)!;
    be.adamw(st.params.get(s.name)!, g, m, v, n, lr, h.beta1, h.beta2, h.eps, decay, step);
    o += n;
  }
}

/** The optimizer's moment buffers of the current stage, by parameter name. */
export function readOptimizer(
  st: EngineState,
): { m: Map<string, Float32Array>; v: Map<string, Float32Array> } {
  const m = new Map<string, Float32Array>(), v = new Map<string, Float32Array>();
  for (const s of st.trainable) {
    m.set(s.name, st.backend.read(st.m.get(s.name)!));
    v.set(s.name, st.backend.read(st.v.get(s.name)!));
  }
  return { m, v };
}

/** Restores the optimizer's moments (names of the current stage). */
export function writeOptimizer(
  st: EngineState,
  m: Map<string, Float32Array>,
  v: Map<string, Float32Array>,
): void {
  for (const s of st.trainable) {
    const a = m.get(s.name), b = v.get(s.name);
    if (!a || !b) throw new RangeError(`Optimizer state lacks ${s.name}`);
    st.backend.write(st.m.get(s.name)!, a);
    st.backend.write(st.v.get(s.name)!, b);
  }
}
