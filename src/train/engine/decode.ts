/**
 * Decoding: the backward direction reads `[memory | BOS | tokens]` and predicts each token
 * through the tied embedding; its backward pass sends the gradient through the head, the run and
 * the input tables, and the memory rows' share to the caller.
 *
 * @module
 */
import type { F32 } from "../../backend/backend.ts";
import { BOS_ID } from "../../model/tokenizer.ts";
import { MATRICES, type MatrixName } from "../params.ts";
import { backward } from "./backward.ts";
import { forward, freeRun, type Run } from "./forward.ts";
import { buildInput, freeInput, type Input, inputBackward, type RowSpec } from "./input.ts";
import type { DirView, EngineState, Lin } from "./state.ts";

/** A decode (backward-direction) run with its logits. */
export interface Decoded {
  run: Run;
  input: Input;
  logits: F32;
  dlogits: F32 | null;
  loss: number;
}

/**
 * Context `[memory (S) | BOS | tokens[0..L-2]]`, targets `tokens` on the rows from BOS on
 * (only from row `scoreFrom` on: earlier rows are context). `view` defaults to the direction's
 * trained view; {@link memoryGradient} passes a frozen one.
 */
export function decode(
  st: EngineState,
  mem: F32 | null,
  tokens: Int32Array,
  grad: boolean,
  scoreFrom = 0,
  view: DirView = st.views.get("bwd")!,
): Decoded {
  const be = st.backend, c = st.config, V = c.vocabSize;
  const S = mem ? c.memorySlots : 0, L = tokens.length, n = S + L;
  const rows: RowSpec[] = [];
  const limits = new Int32Array(n), targets = new Int32Array(n).fill(-1);
  for (let i = 0; i < S; i++) rows.push({ kind: "mem", id: i }), limits[i] = S;
  for (let j = 0; j < L; j++) {
    rows.push({ kind: "text", id: j === 0 ? BOS_ID : tokens[j - 1] });
    limits[S + j] = S + j + 1;
    if (j >= scoreFrom) targets[S + j] = tokens[j];
  }
  const input = buildInput(st, rows, limits, mem, null, 0);
  const run = forward(st, view, input);
  const logits = be.f32(n * V);
  be.matmul(logits, run.h, st.params.get("base.embed")!, n, c.dim, V, { transB: true });
  const dlogits = grad ? be.f32(n * V) : null;
  const t = be.i32(targets);
  const loss = be.crossEntropy(logits, t, n, V, dlogits ?? undefined);
  be.free(t);
  return { run, input, logits, dlogits, loss };
}

/**
 * Backward of a decode: `weight × dCE (+ extra)` through the tied head, the run and the
 * inputs; the memory rows' gradient is added into `dm`.
 */
export function decodeBackward(
  st: EngineState,
  d: Decoded,
  weight: number,
  extra: F32 | null,
  dm: F32 | null,
): void {
  const be = st.backend, c = st.config, V = c.vocabSize, D = c.dim, n = d.run.n;
  const dl = d.dlogits!;
  if (weight !== 1) be.axpy(dl, dl, weight - 1, n * V);
  if (extra) be.add(dl, dl, extra, n * V);
  const E = st.params.get("base.embed")!;
  const dH = be.f32(n * D);
  be.matmul(dH, dl, E, n, V, D);
  if (st.headGradT) {
    be.matmul(st.headGradT, d.run.h, dl, D, n, V, { transA: true, accumulate: true });
  }
  const dX = backward(st, d.run, dH);
  inputBackward(st, d.input, dX);
  if (dm) {
    const S = c.memorySlots;
    be.copy(st.s.tmp, 0, dX, 0, S * D);
    be.add(dm, dm, st.s.tmp, S * D);
  }
  be.free(dH);
  be.free(dX);
}

/** Releases a decode's run, input and logits. */
export function freeDecoded(st: EngineState, d: Decoded): void {
  const be = st.backend;
  freeRun(st, d.run);
  freeInput(st, d.input);
  be.free(d.logits);
  if (d.dlogits) be.free(d.dlogits);
}

/** Logits `[n*V]` of the rows after the memory (no gradient); `memory` null: stage 1. */
export function decodeLogits(
  st: EngineState,
  memory: Float32Array | null,
  tokens: Int32Array,
): Float32Array {
  const be = st.backend, S = memory ? st.config.memorySlots : 0;
  const mem = memory ? be.f32(memory) : null;
  const d = decode(st, mem, tokens, false);
  const all = be.read(d.logits);
  freeDecoded(st, d);
  if (mem) be.free(mem);
  return all.slice(S * st.config.vocabSize);
}

/**
 * Teacher-forced reconstruction of `tokens` from a given f32 memory and the gradient of its loss
 * with respect to that memory, every parameter frozen (see `TrainEngine.memoryGradient`).
 */
export function memoryGradient(
  st: EngineState,
  memory: Float32Array,
  tokens: Int32Array,
  scoreFrom: number,
): { loss: number; grad: Float32Array; correct: number; scored: number } {
  const be = st.backend, c = st.config, S = c.memorySlots, D = c.dim, V = c.vocabSize;
  if (memory.length !== S * D) {
    throw new RangeError(`Memory has ${memory.length} values, expected ${S * D}`);
  }
  const mem = be.f32(memory);
  const d = decode(st, mem, tokens, true, scoreFrom, frozenView(st));
  const logits = be.read(d.logits);
  let correct = 0, scored = 0;
  for (let j = scoreFrom; j < tokens.length; j++) {
    const off = (S + j) * V;
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[off + v] > logits[off + best]) best = v;
    if (best === tokens[j]) correct++;
    scored++;
  }
  // Back through the tied head and the run only: decodeBackward would also accumulate the
  // head's and the input tables' gradients.
  const E = st.params.get("base.embed")!;
  const dH = be.f32(d.run.n * D);
  be.matmul(dH, d.dlogits!, E, d.run.n, V, D);
  const dX = backward(st, d.run, dH);
  const grad = be.read(dX, 0, S * D);
  be.free(dH);
  be.free(dX);
  freeDecoded(st, d);
  be.free(mem);
  return { loss: d.loss, grad, correct, scored };
}

/**
 * The backward direction's view with every gradient target replaced by the discard buffer
 * (`sink` for norms, no matrix gradient): a decode through it computes input gradients only.
 */
function frozenView(st: EngineState): DirView {
  const view = st.views.get("bwd");
  if (!view) throw new Error("Select a stage first (setStage)");
  const lin = (l: Record<MatrixName, Lin>) => {
    const out = {} as Record<MatrixName, Lin>;
    for (const w of MATRICES) out[w] = { ...l[w], g: null };
    return out;
  };
  return {
    dir: view.dir,
    blocks: view.blocks.map((b) => ({
      ...b,
      attnNormG: st.sink,
      ffnNormG: st.sink,
      lin: lin(b.lin),
    })),
    finalNorm: view.finalNorm,
    finalNormG: st.sink,
  };
}
