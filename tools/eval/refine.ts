/**
 * Refinement in the evaluation: memory-only reconstruction of spans after `compress`'s `refine`
 * option has improved their memories by 0, 50, 100… Adam steps (`src/train/refiner.ts`).
 *
 * Each budget is its own run from the encoder's memory (the cosine schedule fitted to that
 * budget, as a caller asking for `refine: N` gets), so the points are what a user gets for N
 * steps, not one run sampled on its way. Accuracy is measured on the runtime's int8 network
 * from the int8-stored memory, greedy and teacher forced, like the `recon` metric.
 *
 * @module
 */
import { MemoryRefiner } from "../../src/train/refiner.ts";
import { createWasmBackend } from "../../src/backend/wasm/wasm_backend.ts";
import { loadWeightsFrom } from "../../src/model/weights_format.ts";
import { compressTokens, type EvalModel, memoryBits, storedMemory } from "./metrics.ts";
import { greedyDecode, teacherForcedCorrect } from "./recon.ts";

/** One point of a refinement curve: a budget and what it gave. */
export interface RefinePoint {
  /** Adam steps asked for (per memory). */
  steps: number;
  /** Median wall-clock milliseconds of one memory's refinement. */
  ms_median: number;
  /** Greedy token accuracy from the refined memory alone (runtime network, int8 memory). */
  accuracy: number;
  /** Teacher-forced accuracy from the same memory. */
  tf_accuracy: number;
  /** Mean teacher-forced loss the refiner reached (f32 decoder), nats/token. */
  loss: number;
}

/** Refinement results for one span length. */
export interface RefineCurve {
  /** Tokens per span (`tokensPerSlot × memorySlots`). */
  tokens: number;
  /** Spans measured. */
  spans: number;
  /** Bits of the stored memory (slots) per byte of the spans' text. */
  bpb_memory: number;
  /** One point per budget, in the order asked. */
  points: RefinePoint[];
}

/**
 * Measures memory-only reconstruction after refinement with each budget in `budgets`.
 *
 * @param m The model.
 * @param weights The model's weights file (the refiner dequantizes its matrices).
 * @param spans Token spans of one length.
 * @param budgets Steps per memory, e.g. `[0, 50, 100, 200, 400]`.
 * @param lr Peak learning rate (default: `compress`'s).
 * @returns The curve.
 *
 * @example
 * ```ts
 * import { refinementCurve } from "./refine.ts";
 * import { loadEvalModel } from "./metrics.ts";
 * import { buildRandomModel } from "../../src/model/random_model.ts";
 * const w = await buildRandomModel({ seed: 1 });
 * const c = await refinementCurve(await loadEvalModel(w), w, [[5, 6, 7, 8]], [0, 3]);
 * console.log(c.points.map((p) => p.steps)); // [ 0, 3 ]
 * ```
 */
export async function refinementCurve(
  m: EvalModel,
  weights: Uint8Array,
  spans: number[][],
  budgets: number[],
  lr?: number,
): Promise<RefineCurve> {
  const file = await loadWeightsFrom(weights);
  const refiner = new MemoryRefiner(
    await createWasmBackend({ deterministic: false }),
    m.config,
    file.tensors,
  );
  const starts = spans.map((s) => compressTokens(m.model, s));
  let bytes = 0;
  for (const s of spans) bytes += m.r3.tokenizer.decodeBytes(s).length;
  const points: RefinePoint[] = [];
  try {
    for (const steps of budgets) {
      let tokens = 0, correct = 0, tf = 0, loss = 0;
      const times: number[] = [];
      for (const [i, span] of spans.entries()) {
        const t0 = performance.now();
        const r = refiner.refine(Int32Array.from(span), starts[i], { steps, lr });
        times.push(performance.now() - t0);
        const memory = storedMemory(m.config, r.memory);
        const decoded = greedyDecode(m.model, memory, span.length);
        for (let j = 0; j < span.length; j++) if (decoded[j] === span[j]) correct++;
        tf += teacherForcedCorrect(m.model, memory, span);
        tokens += span.length;
        loss += (steps === 0 ? NaN : r.after.loss) / spans.length;
      }
      times.sort((a, b) => a - b);
      points.push({
        steps,
        ms_median: times.length ? times[times.length >> 1] : 0,
        accuracy: tokens ? correct / tokens : 0,
        tf_accuracy: tokens ? tf / tokens : 0,
        loss,
      });
    }
  } finally {
    refiner.free();
  }
  return {
    tokens: spans[0]?.length ?? 0,
    spans: spans.length,
    bpb_memory: bytes > 0 ? (spans.length * memoryBits(m.config)) / bytes : 0,
    points,
  };
}

/**
 * The refinement table of the eval's text report.
 *
 * @param curves Curves by tokens per slot.
 * @returns Lines of text.
 *
 * @example
 * ```ts
 * import { formatRefine } from "./refine.ts";
 * const p = { steps: 0, ms_median: 1, accuracy: 0.1, tf_accuracy: 0.2, loss: NaN };
 * console.log(formatRefine({ "2": { tokens: 16, spans: 1, bpb_memory: 90, points: [p] } }).length); // 3
 * ```
 */
export function formatRefine(curves: Record<string, RefineCurve>): string[] {
  const lines = [
    "refinement at compress time (memory alone, runtime decoder; steps per memory)",
    "  tokens/slot  tokens   steps   greedy  teacher-forced   ms (median)  spans",
  ];
  for (const [k, c] of Object.entries(curves)) {
    for (const p of c.points) {
      lines.push(
        `  ${k.padStart(11)}  ${String(c.tokens).padStart(6)}  ${String(p.steps).padStart(6)}  ` +
          `${p.accuracy.toFixed(3).padStart(7)}  ${p.tf_accuracy.toFixed(3).padStart(14)}  ` +
          `${p.ms_median.toFixed(0).padStart(12)}  ${String(c.spans).padStart(5)}`,
      );
    }
  }
  return lines;
}
