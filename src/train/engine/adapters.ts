/**
 * The LoRA adapters of stage 2: merging them into each direction's matrices before a step
 * (`W_dir = W + B·A`), folding the merged matrices' gradients back into them after it, and the
 * merged matrices the runtime's weights file stores.
 *
 * @module
 */
import { DIRECTIONS } from "../../model/weights.ts";
import { MATRICES, type MatrixName, matrixShape } from "../params.ts";
import type { EngineState } from "./state.ts";

/** `W_dir = W + B·A` into every merged matrix of the state (stage 2). */
export function mergeAdapters(st: EngineState): void {
  const be = st.backend, c = st.config, r = st.rank;
  for (const [name, e] of st.eff) {
    const [dir, , l, w] = name.split(".");
    const [rows, cols] = matrixShape(c, w as MatrixName);
    const lp = `lora.${dir}.blocks.${l}.${w}.`;
    be.matmul(e.w, st.params.get(lp + "b")!, st.params.get(lp + "a")!, rows, r, cols);
    be.add(e.w, e.w, st.params.get(`base.blocks.${l}.${w}`)!, rows * cols);
  }
}

/** The merged matrices' gradients into the adapters': `dB = dW·Aᵀ`, `dA = Bᵀ·dW`. */
export function foldAdapterGradients(st: EngineState): void {
  const be = st.backend, c = st.config, r = st.rank;
  for (const [name, e] of st.eff) {
    const [dir, , l, w] = name.split(".");
    const [rows, cols] = matrixShape(c, w as MatrixName);
    const lp = `lora.${dir}.blocks.${l}.${w}.`;
    const A = st.params.get(lp + "a")!, B = st.params.get(lp + "b")!;
    be.matmul(st.grads.get(lp + "b")!, e.g, A, rows, cols, r, { transB: true });
    be.matmul(st.grads.get(lp + "a")!, B, e.g, r, rows, cols, { transA: true });
  }
}

/**
 * The runtime's matrix `{dir}.blocks.{l}.{w}` as the trainer computes it: `W + B·A` (f32,
 * before int8 quantization), for every direction, block and matrix.
 */
export function mergedMatrices(st: EngineState): Map<string, Float32Array> {
  const be = st.backend, c = st.config, r = st.rank;
  const out = new Map<string, Float32Array>();
  for (const dir of DIRECTIONS) {
    for (let l = 0; l < c.layers; l++) {
      for (const w of MATRICES) {
        const [rows, cols] = matrixShape(c, w);
        const lp = `lora.${dir}.blocks.${l}.${w}.`;
        const t = be.f32(rows * cols);
        be.matmul(t, st.params.get(lp + "b")!, st.params.get(lp + "a")!, rows, r, cols);
        be.add(t, t, st.params.get(`base.blocks.${l}.${w}`)!, rows * cols);
        out.set(`${dir}.blocks.${l}.${w}`, be.read(t));
        be.free(t);
      }
    }
  }
  return out;
}
