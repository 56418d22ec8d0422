/**
 * Stage selection: the stage's gradient and optimizer buffers, and the direction views the
 * passes walk (stage 1: the backward direction is the base network, trained in place; stage 2:
 * both directions are base + adapter, merged into matrices of their own, with their own norms).
 *
 * @module
 */
import { type Direction, DIRECTIONS } from "../../model/weights.ts";
import { MATRICES, type MatrixName, matrixShape, numel, type Stage, trainedIn } from "../params.ts";
import { mergeAdapters } from "./adapters.ts";
import type { DirView, EngineState, Lin } from "./state.ts";

/**
 * Selects the stage: allocates gradient and optimizer buffers (zeroed) for its parameters and
 * builds the direction views (stage 1: the backward direction is the base network; stage 2:
 * both directions are base + adapter, with their own norms).
 */
export function selectStage(st: EngineState, stage: Stage): void {
  const be = st.backend;
  for (const b of [...st.grads.values(), ...st.m.values(), ...st.v.values()]) be.free(b);
  for (const e of st.eff.values()) be.free(e.w), be.free(e.g);
  st.grads.clear(), st.m.clear(), st.v.clear(), st.eff.clear(), st.views.clear();
  if (st.headGradT) be.free(st.headGradT);
  st.headGradT = null;
  st.stage = stage;
  st.trainable = st.specs.filter((s) => trainedIn(s, stage));
  for (const s of st.trainable) {
    const n = numel(s.shape);
    st.grads.set(s.name, be.f32(n));
    st.m.set(s.name, be.f32(n));
    st.v.set(s.name, be.f32(n));
  }
  const c = st.config;
  if (st.grads.has("base.embed")) st.headGradT = be.f32(c.dim * c.vocabSize);
  if (stage === 1) st.views.set("bwd", dirView(st, "bwd", "base"));
  else {
    for (const dir of DIRECTIONS) st.views.set(dir, dirView(st, dir, dir));
    mergeAdapters(st);
  }
}

/**
 * The view of direction `dir` whose norms are `{prefix}.…`: stage 1 (`prefix` "base") trains
 * the base matrices in place; stage 2 (`prefix` the direction) gets merged matrices of its own.
 */
function dirView(st: EngineState, dir: Direction, prefix: string): DirView {
  const be = st.backend, c = st.config;
  const p = (n: string) => st.params.get(n)!;
  const g = (n: string) => st.grads.get(n) ?? st.sink;
  return {
    dir,
    blocks: Array.from({ length: c.layers }, (_, l) => {
      const b = `${prefix}.blocks.${l}.`;
      const lin = {} as Record<MatrixName, Lin>;
      for (const w of MATRICES) {
        const [rows, cols] = matrixShape(c, w);
        if (prefix === "base") {
          lin[w] = { w: p(b + w), g: st.grads.get(b + w) ?? null, rows, cols };
        } else {
          const e = { w: be.f32(rows * cols), g: be.f32(rows * cols) };
          st.eff.set(b + w, e);
          lin[w] = { w: e.w, g: e.g, rows, cols };
        }
      }
      return {
        attnNorm: p(b + "attn_norm"),
        attnNormG: g(b + "attn_norm"),
        ffnNorm: p(b + "ffn_norm"),
        ffnNormG: g(b + "ffn_norm"),
        lin,
      };
    }),
    finalNorm: p(`${prefix}.final_norm`),
    finalNormG: g(`${prefix}.final_norm`),
  };
}
