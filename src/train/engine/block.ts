/**
 * One block's two functions and their backward passes: attention `F` and the SwiGLU
 * feed-forward `G`, each behind its RMSNorm. A forward writes its output into the shared scratch
 * `s.f` and its internals into the given set; a backward reads those internals, writes the
 * input's gradient and accumulates the parameters' gradients.
 *
 * @module
 */
import type { F32, I32 } from "../../backend/backend.ts";
import { headDim } from "../../model/config.ts";
import type { BlockView, EngineState, Internals, Lin } from "./state.ts";

/** `out = x·Wᵀ` for `n` rows. */
function lin(st: EngineState, out: F32, x: F32, l: Lin, n: number): void {
  st.backend.matmul(out, x, l.w, n, l.cols, l.rows, { transB: true });
}

/** `dx (+)= dy·W`; `dW += dyᵀ·x`. */
function linBackward(
  st: EngineState,
  dx: F32,
  dy: F32,
  x: F32,
  l: Lin,
  n: number,
  accumulate: boolean,
): void {
  const be = st.backend;
  be.matmul(dx, dy, l.w, n, l.rows, l.cols, { accumulate });
  if (l.g) be.matmul(l.g, dy, x, l.rows, n, l.cols, { transA: true, accumulate: true });
}

/** F(x) = Wo·attention(rope(Wq·h), rope(Wk·h), Wv·h), h = RMSNorm(x), into s.f; keeps internals. */
export function attn(
  st: EngineState,
  b: BlockView,
  x: F32,
  n: number,
  limits: I32,
  s: Internals,
): void {
  const be = st.backend, c = st.config, D = c.dim, hd = headDim(c);
  if (s.xa !== undefined) be.copy(s.xa, 0, x, 0, n * D);
  be.rmsnorm(s.hA, x, b.attnNorm, n, D, c.normEps);
  lin(st, s.q, s.hA, b.lin.wq, n);
  lin(st, s.k, s.hA, b.lin.wk, n);
  lin(st, s.v, s.hA, b.lin.wv, n);
  be.rope(s.q, n, c.heads, hd, 0, c.ropeTheta);
  be.rope(s.k, n, c.heads, hd, 0, c.ropeTheta);
  be.attention(
    s.att,
    s.q,
    s.k,
    s.v,
    limits,
    { tq: n, tk: n, heads: c.heads, headDim: hd },
    s.probs,
  );
  lin(st, st.s.f, s.att, b.lin.wo, n);
}

/** Backward of {@link attn}: dF → dx (written to `dx`), parameter gradients accumulated. */
export function attnBackward(
  st: EngineState,
  b: BlockView,
  dF: F32,
  x: F32,
  n: number,
  dx: F32,
  t: Internals,
): void {
  const be = st.backend, c = st.config, s = st.s, D = c.dim, hd = headDim(c);
  linBackward(st, s.dAtt, dF, t.att, b.lin.wo, n, false);
  be.attentionBackward(s.dq, s.dk, s.dv, s.dAtt, t.q, t.k, t.v, t.probs, {
    tq: n,
    tk: n,
    heads: c.heads,
    headDim: hd,
  });
  be.rope(s.dq, n, c.heads, hd, 0, c.ropeTheta, true);
  be.rope(s.dk, n, c.heads, hd, 0, c.ropeTheta, true);
  linBackward(st, s.dh, s.dq, t.hA, b.lin.wq, n, false);
  linBackward(st, s.dh, s.dk, t.hA, b.lin.wk, n, true);
  linBackward(st, s.dh, s.dv, t.hA, b.lin.wv, n, true);
  be.rmsnormBackward(dx, b.attnNormG, s.dh, x, b.attnNorm, n, D, c.normEps);
}

/** G(x) = W2·(silu(W1·h) ⊙ W3·h), h = RMSNorm(x), into s.f; keeps internals. */
export function ffn(st: EngineState, b: BlockView, x: F32, n: number, s: Internals): void {
  const be = st.backend, c = st.config, nf = n * c.ffnDim;
  if (s.xg !== undefined) be.copy(s.xg, 0, x, 0, n * c.dim);
  be.rmsnorm(s.hG, x, b.ffnNorm, n, c.dim, c.normEps);
  lin(st, s.a, s.hG, b.lin.w1, n);
  lin(st, s.b, s.hG, b.lin.w3, n);
  be.silu(s.sa, s.a, nf);
  be.mul(s.u, s.sa, s.b, nf);
  lin(st, st.s.f, s.u, b.lin.w2, n);
}

/** Backward of {@link ffn}: dG → dx (written to `dx`), parameter gradients accumulated. */
export function ffnBackward(
  st: EngineState,
  b: BlockView,
  dG: F32,
  x: F32,
  n: number,
  dx: F32,
  t: Internals,
): void {
  const be = st.backend, c = st.config, s = st.s, nf = n * c.ffnDim;
  linBackward(st, s.du, dG, t.u, b.lin.w2, n, false);
  be.mul(s.ds, s.du, t.b, nf);
  be.mul(s.db, s.du, t.sa, nf);
  be.siluBackward(s.da, s.ds, t.a, nf);
  linBackward(st, s.dh, s.da, t.hG, b.lin.w1, n, false);
  linBackward(st, s.dh, s.db, t.hG, b.lin.w3, n, true);
  be.rmsnormBackward(dx, b.ffnNormG, s.dh, x, b.ffnNorm, n, c.dim, c.normEps);
}
