/**
 * The backward pass of a run. Only the final streams `(x1, x2)` of a run are kept; walking the
 * blocks back, each block's inputs are rebuilt from its outputs with the inverse coupling and
 * the gradient flows through its F and G. Their internals either were kept by the forward pass
 * (the default: no recomputation) or are recomputed on the fly from the rebuilt streams
 * (`recompute`: memory independent of depth); `storeActivations` (tests only) takes the
 * blocks' inputs from copies instead of the inverse coupling.
 *
 * @module
 */
import type { F32 } from "../../backend/backend.ts";
import { attn, attnBackward, ffn, ffnBackward } from "./block.ts";
import type { Run } from "./forward.ts";
import { type EngineState, sharedInternals } from "./state.ts";

/**
 * Backward of a run given `dH` (gradient of its output): returns the input's gradient
 * (`dx1 + dx2`). The run's streams are consumed (they end as the recomputed inputs).
 */
export function backward(st: EngineState, run: Run, dH: F32): F32 {
  const be = st.backend, c = st.config, D = c.dim, n = run.n, nd = n * D, s = st.s;
  const view = run.view;
  be.add(s.sum, run.x1, run.x2, nd);
  be.rmsnormBackward(s.dS, view.finalNormG, dH, s.sum, view.finalNorm, n, D, c.normEps);
  be.copy(s.dx1, 0, s.dS, 0, nd);
  be.copy(s.dx2, 0, s.dS, 0, nd);
  if (run.cache) backwardKept(st, run);
  else if (view.dir === "fwd") backwardRecomputeFwd(st, run);
  else backwardRecomputeBwd(st, run);
  const dX = be.f32(nd);
  be.add(dX, s.dx1, s.dx2, nd);
  return dX;
}

/** Internals kept from the forward pass: no recomputation, no inverse coupling. */
function backwardKept(st: EngineState, run: Run): void {
  const be = st.backend, n = run.n, nd = n * st.config.dim, s = st.s, view = run.view;
  const neg = view.dir === "bwd";
  const order = view.blocks.map((_, l) => l);
  if (!neg) order.reverse();
  for (const l of order) {
    const b = view.blocks[l], t = run.cache![l];
    if (!neg) {
      // y2 = x2 + G(y1): dy1 += G'ᵀ dy2; y1 = x1 + F(x2): dx2 += F'ᵀ dy1
      ffnBackward(st, b, s.dx2, t.xg, n, s.tmp, t);
      be.add(s.dx1, s.dx1, s.tmp, nd);
      attnBackward(st, b, s.dx1, t.xa, n, s.tmp, t);
      be.add(s.dx2, s.dx2, s.tmp, nd);
    } else {
      // x1' = x1 − F(x2'): dx2' −= F'ᵀ dx1'; x2' = x2 − G(x1): dx1 −= G'ᵀ dx2'
      be.couple(s.neg, st.zero, s.dx1, nd, true);
      attnBackward(st, b, s.neg, t.xa, n, s.tmp, t);
      be.add(s.dx2, s.dx2, s.tmp, nd);
      be.couple(s.neg, st.zero, s.dx2, nd, true);
      ffnBackward(st, b, s.neg, t.xg, n, s.tmp, t);
      be.add(s.dx1, s.dx1, s.tmp, nd);
    }
  }
}

/** The `fwd` direction with recomputation: blocks in reverse order, streams rebuilt. */
function backwardRecomputeFwd(st: EngineState, run: Run): void {
  const be = st.backend, n = run.n, nd = n * st.config.dim, s = st.s, view = run.view;
  const sh = sharedInternals(st);
  for (let l = view.blocks.length - 1; l >= 0; l--) {
    const b = view.blocks[l];
    // y2 = x2 + G(y1): recompute G(y1), x2 = y2 − G(y1); dy1 += G'ᵀ dy2
    ffn(st, b, run.x1, n, sh);
    if (!run.saved) be.couple(run.x2, run.x2, s.f, nd, true);
    ffnBackward(st, b, s.dx2, run.x1, n, s.tmp, sh);
    be.add(s.dx1, s.dx1, s.tmp, nd);
    // y1 = x1 + F(x2): recompute F(x2), x1 = y1 − F(x2); dx2 += F'ᵀ dy1
    if (run.saved) restore(st, run);
    attn(st, b, run.x2, n, run.limits, sh);
    if (!run.saved) be.couple(run.x1, run.x1, s.f, nd, true);
    attnBackward(st, b, s.dx1, run.x2, n, s.tmp, sh);
    be.add(s.dx2, s.dx2, s.tmp, nd);
  }
}

/** The `bwd` direction with recomputation: blocks in forward order, streams rebuilt. */
function backwardRecomputeBwd(st: EngineState, run: Run): void {
  const be = st.backend, n = run.n, nd = n * st.config.dim, s = st.s, view = run.view;
  const sh = sharedInternals(st);
  for (let l = 0; l < view.blocks.length; l++) {
    const b = view.blocks[l];
    // x1' = x1 − F(x2'): recompute F(x2'), x1 = x1' + F(x2'); dx2' −= F'ᵀ dx1'
    attn(st, b, run.x2, n, run.limits, sh);
    be.couple(s.neg, st.zero, s.dx1, nd, true);
    attnBackward(st, b, s.neg, run.x2, n, s.tmp, sh);
    be.add(s.dx2, s.dx2, s.tmp, nd);
    if (run.saved) restore(st, run);
    else be.couple(run.x1, run.x1, s.f, nd, false);
    // x2' = x2 − G(x1): recompute G(x1), x2 = x2' + G(x1); dx1 −= G'ᵀ dx2'
    ffn(st, b, run.x1, n, sh);
    if (!run.saved) be.couple(run.x2, run.x2, s.f, nd, false);
    be.couple(s.neg, st.zero, s.dx2, nd, true);
    ffnBackward(st, b, s.neg, run.x1, n, s.tmp, sh);
    be.add(s.dx1, s.dx1, s.tmp, nd);
  }
}

/** Stored-activation mode: the block's inputs come from the copies, not the inverse. */
function restore(st: EngineState, run: Run): void {
  const be = st.backend, nd = run.n * st.config.dim;
  const x2 = run.saved!.pop()!, x1 = run.saved!.pop()!;
  be.copy(run.x1, 0, x1, 0, nd);
  be.copy(run.x2, 0, x2, 0, nd);
  be.free(x1), be.free(x2);
}
