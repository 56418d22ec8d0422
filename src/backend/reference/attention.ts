/**
 * The reference attention under prefix masks (query `i` sees keys `0 .. keyLimit[i]-1`) and its
 * backward, from the kept probabilities (float64 arithmetic).
 *
 * @module
 */
import type { AttentionShape, F32, I32 } from "../backend.ts";
import { f32Of, i32Of } from "./handles.ts";

/** Number of keys query `i` may see under a prefix mask, clamped to `[0, tk]`. */
function visibleKeys(limit: number, tk: number): number {
  return Math.max(0, Math.min(tk, limit));
}

/** Multi-head attention; `probs` receives the attention weights `[heads, tq, tk]`. */
export function attention(
  out: F32,
  q: F32,
  k: F32,
  v: F32,
  keyLimit: I32,
  s: AttentionShape,
  probs?: F32,
): void {
  const { tq, tk, heads, headDim } = s;
  const w = heads * headDim;
  const o = f32Of(out, tq * w, "attention out");
  const Q = f32Of(q, tq * w, "attention q");
  const K = f32Of(k, tk * w, "attention k");
  const V = f32Of(v, tk * w, "attention v");
  const lim = i32Of(keyLimit, tq, "attention keyLimit");
  const P = probs ? f32Of(probs, heads * tq * tk, "attention probs") : undefined;
  const scale = 1 / Math.sqrt(headDim);
  const p = new Float64Array(tk);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < tq; i++) {
      const L = visibleKeys(lim[i], tk);
      const qo = i * w + h * headDim;
      p.fill(0);
      if (L > 0) {
        let max = -Infinity;
        for (let j = 0; j < L; j++) {
          let dot = 0;
          for (let d = 0; d < headDim; d++) dot += Q[qo + d] * K[j * w + h * headDim + d];
          p[j] = dot * scale;
          max = Math.max(max, p[j]);
        }
        let sum = 0;
        for (let j = 0; j < L; j++) sum += p[j] = Math.exp(p[j] - max);
        for (let j = 0; j < L; j++) p[j] /= sum;
      }
      for (let d = 0; d < headDim; d++) {
        let acc = 0;
        for (let j = 0; j < L; j++) acc += p[j] * V[j * w + h * headDim + d];
        o[qo + d] = acc;
      }
      if (P) P.set(p, (h * tq + i) * tk);
    }
  }
}

/** Backward of {@link attention} from its weights: `dq`, `dk`, `dv` written. */
export function attentionBackward(
  dq: F32,
  dk: F32,
  dv: F32,
  dout: F32,
  q: F32,
  k: F32,
  v: F32,
  probs: F32,
  s: AttentionShape,
): void {
  const { tq, tk, heads, headDim } = s;
  const w = heads * headDim;
  const gQ = f32Of(dq, tq * w, "attentionBackward dq");
  const gK = f32Of(dk, tk * w, "attentionBackward dk");
  const gV = f32Of(dv, tk * w, "attentionBackward dv");
  const gO = f32Of(dout, tq * w, "attentionBackward dout");
  const Q = f32Of(q, tq * w, "attentionBackward q");
  const K = f32Of(k, tk * w, "attentionBackward k");
  const V = f32Of(v, tk * w, "attentionBackward v");
  const P = f32Of(probs, heads * tq * tk, "attentionBackward probs");
  const scale = 1 / Math.sqrt(headDim);
  // Accumulate in float64, store once.
  const aQ = new Float64Array(tq * w), aK = new Float64Array(tk * w);
  const aV = new Float64Array(tk * w);
  const dP = new Float64Array(tk);
  for (let h = 0; h < heads; h++) {
    const ho = h * headDim;
    for (let i = 0; i < tq; i++) {
      const pr = (h * tq + i) * tk;
      let rowSum = 0;
      for (let j = 0; j < tk; j++) {
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += gO[i * w + ho + d] * V[j * w + ho + d];
        dP[j] = dot;
        rowSum += P[pr + j] * dot;
      }
      for (let j = 0; j < tk; j++) {
        const pj = P[pr + j];
        const dS = pj * (dP[j] - rowSum) * scale;
        for (let d = 0; d < headDim; d++) {
          aQ[i * w + ho + d] += dS * K[j * w + ho + d];
          aK[j * w + ho + d] += dS * Q[i * w + ho + d];
          aV[j * w + ho + d] += pj * gO[i * w + ho + d];
        }
      }
    }
  }
  gQ.set(aQ);
  gK.set(aK);
  gV.set(aV);
}
