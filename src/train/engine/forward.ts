/**
 * The forward pass of one direction, the runtime's reversible transformer op for op (f32
 * matrices): two streams start as copies of the input; a `fwd` block is `y1 = x1 + F(x2)`,
 * `y2 = x2 + G(y1)` (blocks in order), a `bwd` block is `x2 = y2 − G(y1)`, `x1 = y1 − F(x2)`
 * (blocks in reverse order); the output is `RMSNorm(x1 + x2)`.
 *
 * @module
 */
import type { F32, I32 } from "../../backend/backend.ts";
import { attn, ffn } from "./block.ts";
import type { Input } from "./input.ts";
import {
  type DirView,
  type EngineState,
  type Internals,
  sharedInternals,
  takeInternals,
} from "./state.ts";

/** A forward run kept for its backward pass: the final streams and the output. */
export interface Run {
  view: DirView;
  n: number;
  x1: F32;
  x2: F32;
  h: F32;
  limits: I32;
  /** Stored-activation mode: every block's input streams, in forward order. */
  saved: F32[] | null;
  /** Per block (index into `view.blocks`): its forward internals, when they are kept. */
  cache: Internals[] | null;
}

/** Runs `input` through direction `view`; keeps the final streams and the normed output. */
export function forward(st: EngineState, view: DirView, input: Input): Run {
  const be = st.backend, n = input.n, D = st.config.dim, nd = n * D, f = st.s.f;
  const run: Run = {
    view,
    n,
    x1: be.f32(nd),
    x2: be.f32(nd),
    h: be.f32(nd),
    limits: input.limits,
    saved: st.store ? [] : null,
    cache: st.store || st.recompute ? null : view.blocks.map(() => takeInternals(st)),
  };
  be.copy(run.x1, 0, input.x, 0, nd);
  be.copy(run.x2, 0, input.x, 0, nd);
  const save = () => {
    if (run.saved) run.saved.push(be.f32(be.read(run.x1)), be.f32(be.read(run.x2)));
  };
  // Where block l's internals go: its own set when they are kept, else the shared scratch.
  const at = (l: number) => run.cache?.[l] ?? sharedInternals(st);
  if (view.dir === "fwd") {
    for (let l = 0; l < view.blocks.length; l++) {
      const b = view.blocks[l];
      save();
      attn(st, b, run.x2, n, run.limits, at(l));
      be.couple(run.x1, run.x1, f, nd, false); // y1 = x1 + F(x2)
      ffn(st, b, run.x1, n, at(l));
      be.couple(run.x2, run.x2, f, nd, false); // y2 = x2 + G(y1)
    }
  } else {
    for (let l = view.blocks.length - 1; l >= 0; l--) {
      save();
      const b = view.blocks[l];
      ffn(st, b, run.x1, n, at(l));
      be.couple(run.x2, run.x2, f, nd, true); // x2 = y2 − G(y1)
      attn(st, b, run.x2, n, run.limits, at(l));
      be.couple(run.x1, run.x1, f, nd, true); // x1 = y1 − F(x2)
    }
  }
  be.add(st.s.sum, run.x1, run.x2, nd);
  be.rmsnorm(run.h, st.s.sum, view.finalNorm, n, D, st.config.normEps);
  return run;
}

/** Releases a run's buffers; its kept internals go back to the pool. */
export function freeRun(st: EngineState, run: Run): void {
  const be = st.backend;
  be.free(run.x1), be.free(run.x2), be.free(run.h);
  for (const b of run.saved ?? []) be.free(b);
  if (run.cache) st.internalsPool.push(...run.cache);
}
