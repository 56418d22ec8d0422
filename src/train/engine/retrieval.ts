/**
 * The retrieval loss of stage 2: a query view of each span must find that span's memory among
 * the other spans' memories of the same slice, by the search key `R3Mem.search` compares
 * (InfoNCE with in-slice negatives).
 *
 * @module
 */
import { chainBackward, compressChain, fakeQuant, freeChain } from "./compress.ts";
import type { EngineState } from "./state.ts";
import type { MemorySample } from "./types.ts";

/**
 * Temperature of the retrieval loss: search keys are unit vectors, so logits are cosines / τ.
 *
 * @example
 * ```ts
 * import { RETRIEVAL_TEMPERATURE } from "./retrieval.ts";
 * console.log(1 / RETRIEVAL_TEMPERATURE); // 20
 * ```
 */
export const RETRIEVAL_TEMPERATURE = 0.05;

/**
 * Retrieval loss of a slice of samples (those with a non-empty `query` take part; fewer than
 * two: nothing). See `TrainEngine.retrievalLoss`: accumulates the gradient through the
 * queries' compressions and returns, per sample, the loss and the (weighted) gradient with
 * respect to its span's memory.
 */
export function retrievalLoss(
  st: EngineState,
  samples: MemorySample[],
  weights: number[],
  wRet: number,
): { losses: number[]; dSpan: (Float32Array | null)[] } {
  if (st.stage !== 2) throw new Error("retrievalLoss needs stage 2");
  const be = st.backend, c = st.config, S = c.memorySlots, D = c.dim;
  const losses = samples.map(() => NaN);
  const dSpan: (Float32Array | null)[] = samples.map(() => null);
  const idx = samples.flatMap((s, i) => (s.query && s.query.length > 0 ? [i] : []));
  if (idx.length < 2) return { losses, dSpan };
  const keyOf = (tokens: Int32Array) => {
    const chain = compressChain(st, tokens, null);
    const mq = fakeQuant(st, chain.memory);
    const m = be.read(mq);
    be.free(mq);
    freeChain(st, chain);
    return searchKey(m, S, D);
  };
  const docs = idx.map((i) => keyOf(samples[i].span));
  const queries = idx.map((i) => keyOf(samples[i].query!));
  const n = idx.length, tau = RETRIEVAL_TEMPERATURE;
  const dDoc = docs.map(() => new Float32Array(D));
  const logits = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      logits[j] = dotF(queries[a].key, docs[j].key) / tau;
      if (logits[j] > max) max = logits[j];
    }
    let z = 0;
    for (let j = 0; j < n; j++) z += Math.exp(logits[j] - max);
    losses[idx[a]] = -(logits[a] - max - Math.log(z));
    const g = wRet * weights[idx[a]];
    if (g === 0) continue;
    // d loss / d logit_j = p_j − [j = a]; logit_j = q·k_j / τ
    const dq = new Float32Array(D);
    for (let j = 0; j < n; j++) {
      const coef = (Math.exp(logits[j] - max) / z - (j === a ? 1 : 0)) * g / tau;
      const kj = docs[j].key, qa = queries[a].key, dk = dDoc[j];
      for (let t = 0; t < D; t++) {
        dq[t] += coef * kj[t];
        dk[t] += coef * qa[t];
      }
    }
    // back through the query's compression
    const chain = compressChain(st, samples[idx[a]].query!, null);
    const dm = be.f32(keyToMemoryGrad(queries[a], dq, S, D));
    chainBackward(st, chain, dm, null);
    be.free(dm);
    freeChain(st, chain);
  }
  for (let j = 0; j < n; j++) {
    if (dDoc[j].some((v) => v !== 0)) {
      dSpan[idx[j]] = keyToMemoryGrad(docs[j], dDoc[j], S, D);
    }
  }
  return { losses, dSpan };
}

/** A search key: the unit-length mean of a memory's slots, and the mean's length. */
interface SearchKey {
  key: Float32Array;
  norm: number;
}

// The key R3Mem.search compares (mean of the slots, unit length).
function searchKey(m: Float32Array, S: number, D: number): SearchKey {
  const key = new Float32Array(D);
  for (let s = 0; s < S; s++) for (let j = 0; j < D; j++) key[j] += m[s * D + j] / S;
  let norm = 0;
  for (let j = 0; j < D; j++) norm += key[j] * key[j];
  norm = Math.sqrt(norm) || 1;
  for (let j = 0; j < D; j++) key[j] /= norm;
  return { key, norm };
}

// Gradient w.r.t. the memory [S*D] from the gradient w.r.t. its unit key:
// du = (dk − k·(k·dk)) / |u|, and every slot gets du / S.
function keyToMemoryGrad(k: SearchKey, dk: Float32Array, S: number, D: number): Float32Array {
  const kd = dotF(k.key, dk);
  const out = new Float32Array(S * D);
  for (let j = 0; j < D; j++) {
    const du = (dk[j] - k.key[j] * kd) / k.norm / S;
    for (let s = 0; s < S; s++) out[s * D + j] = du;
  }
  return out;
}

function dotF(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
