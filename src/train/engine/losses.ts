/**
 * The training losses of one example: stage 1's next-token cross-entropy without memory, and
 * stage 2's reconstruction of a span from its own memory, continuation from that memory, and
 * cycle consistency (compressing the soft reconstruction gives back the memory).
 *
 * @module
 */
import type { F32 } from "../../backend/backend.ts";
import { chainBackward, compressChain, fakeQuant, freeChain } from "./compress.ts";
import { decode, decodeBackward, type Decoded, freeDecoded } from "./decode.ts";
import type { EngineState } from "./state.ts";
import type { LossWeights, MemoryLosses, MemorySample } from "./types.ts";

/**
 * Stage-1 loss: next-token cross-entropy of `tokens` through the backward direction with no
 * memory, context `[BOS | tokens]`, causal. Accumulates `weight ×` its gradient (unless
 * `weight` is 0) and returns the mean loss.
 */
export function lmLoss(st: EngineState, tokens: Int32Array, weight: number): number {
  const d = decode(st, null, tokens, weight !== 0);
  if (weight !== 0) decodeBackward(st, d, weight, null, null);
  freeDecoded(st, d);
  return d.loss;
}

/**
 * Stage-2 losses of one sample; accumulates `weight ×` the gradient of
 * `w.rec·rec + w.fwd·fwd + w.cyc·cyc` unless `weight` is 0, with `extraDm` (a gradient with
 * respect to the span's memory from another term) added before the backward pass through the
 * span's compression.
 */
export function memoryLoss(
  st: EngineState,
  sample: MemorySample,
  w: LossWeights,
  weight: number,
  extraDm?: Float32Array | null,
): MemoryLosses {
  if (st.stage !== 2) throw new Error("memoryLoss needs stage 2");
  const be = st.backend, c = st.config, S = c.memorySlots, D = c.dim;
  const grad = weight !== 0;
  const out: MemoryLosses = { rec: NaN, fwd: NaN, cyc: NaN };
  const span = sample.span.subarray(0, Math.min(sample.span.length, c.window + 1));
  // 1. compress the span, segment by segment, from mem_init
  const chain = compressChain(st, sample.span, null);
  const m = chain.memory;
  // 2. the decoder reads the memory as the runtime stores it: int8 per slot row
  const mq = fakeQuant(st, m);
  const dm = grad ? be.f32(S * D) : null;
  // 3. reconstruction (teacher forced), with the cycle term folded into its logits' gradient
  if ((w.rec > 0 || w.cyc > 0) && span.length > 0) {
    const d = decode(st, mq, span, grad);
    out.rec = d.loss;
    let dlogCyc: F32 | null = null;
    if (w.cyc > 0 && span.length === sample.span.length) {
      const cyc = cycle(st, d, span, m, grad ? w.cyc * weight : 0, dm);
      out.cyc = cyc.loss;
      dlogCyc = cyc.dlogits;
    }
    if (grad) decodeBackward(st, d, w.rec * weight, dlogCyc, dm);
    if (dlogCyc) be.free(dlogCyc);
    freeDecoded(st, d);
  }
  // 4. the continuation from the same memory
  if (w.fwd > 0 && sample.next.length > 0) {
    const next = sample.next.subarray(0, Math.min(sample.next.length, c.window + 1));
    const d = decode(st, mq, next, grad);
    out.fwd = d.loss;
    if (grad) decodeBackward(st, d, w.fwd * weight, null, dm);
    freeDecoded(st, d);
  }
  // 5. back through the compression chain (straight through the int8 rounding), with the
  // retrieval term's gradient of this memory when there is one
  if (grad && extraDm) {
    const x = be.f32(extraDm);
    be.axpy(dm!, x, 1, S * D);
    be.free(x);
  }
  if (grad) chainBackward(st, chain, dm!, null);
  freeChain(st, chain);
  be.free(mq);
  if (dm) be.free(dm);
  return out;
}

/**
 * Cycle consistency: the soft reconstruction `ê_j = Σ_v p_j(v)·E_v` (the expected embedding
 * under the decoder's teacher-forced distribution for token j) is compressed from `mem_init`
 * like the span was; the loss is the mean squared distance of that memory to `m` (held fixed
 * unless `cycleStopGradient` is off).
 * Returns the loss and, when `weight` is not 0, the gradient w.r.t. the decode's logits.
 */
function cycle(
  st: EngineState,
  d: Decoded,
  span: Int32Array,
  m: F32,
  weight: number,
  dmOut: F32 | null,
): { loss: number; dlogits: F32 | null } {
  const be = st.backend, c = st.config, S = c.memorySlots, D = c.dim, V = c.vocabSize;
  const n = d.run.n, E = st.params.get("base.embed")!;
  const P = be.f32(n * V);
  be.softmax(P, d.logits, n, V);
  const soft = be.f32(n * D);
  be.matmul(soft, P, E, n, V, D);
  const chain = compressChain(st, span, { rows: soft, row0: S, count: span.length });
  const mh = be.read(chain.memory), target = be.read(m);
  const N = S * D;
  let loss = 0;
  const dmh = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const diff = mh[i] - target[i];
    loss += diff * diff;
    dmh[i] = (2 * diff / N) * weight;
  }
  loss /= N;
  let dlogits: F32 | null = null;
  if (weight !== 0) {
    const dm = be.f32(dmh);
    if (dmOut && !st.cycleStop) be.axpy(dmOut, dm, -1, N);
    const dSoft = be.f32(n * D);
    chainBackward(st, chain, dm, { rows: dSoft, row0: S });
    dlogits = softmaxBackward(st, P, dSoft, n);
    be.free(dm);
    be.free(dSoft);
  }
  freeChain(st, chain);
  be.free(P);
  be.free(soft);
  return { loss, dlogits };
}

/**
 * The logits' gradient from the soft rows' `dSoft = dP·E`: `dP = dSoft·Eᵀ`, then the softmax
 * backward `dlogits = P ⊙ (dP − Σ_v P·dP)`.
 */
function softmaxBackward(st: EngineState, P: F32, dSoft: F32, n: number): F32 {
  const be = st.backend, c = st.config, D = c.dim, V = c.vocabSize;
  const E = st.params.get("base.embed")!;
  const dP = be.f32(n * V), t = be.f32(n * V), ones = be.f32(new Float32Array(V).fill(1));
  const rs = be.f32(n);
  be.matmul(dP, dSoft, E, n, D, V, { transB: true });
  be.mul(t, P, dP, n * V);
  be.matmul(rs, t, ones, n, V, 1);
  be.matmul(t, rs, ones, n, 1, V);
  be.couple(dP, dP, t, n * V, true);
  const dlogits = be.f32(n * V);
  be.mul(dlogits, P, dP, n * V);
  for (const b of [dP, t, ones, rs]) be.free(b);
  return dlogits;
}
