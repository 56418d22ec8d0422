/**
 * The model as `deno task eval` drives it, and what every metric shares: loading, recurrent
 * compression, int8 storage of a memory, its size. The metrics are beside it: `./bpb.ts`,
 * `./recon.ts`, `./perplexity.ts`, `./recall.ts`, `./format_size.ts`, `./refine.ts`,
 * `./conversation.ts`.
 *
 * The model is driven directly (`ReversibleTransformer`), the way `R3Mem` drives it: segments of
 * `segmentTokens` are compressed recurrently from `memInit`, the memory is stored int8 with one
 * scale per slot, and decoding runs the backward direction from it.
 *
 * @module
 */
import { R3Mem } from "../../src/r3mem.ts";
import type { ModelConfig } from "../../src/model/config.ts";
import { ReversibleTransformer } from "../../src/model/transformer.ts";
import { uploadWeights } from "../../src/model/weights.ts";
import {
  dequantizeRowsInt8,
  loadWeightsFrom,
  quantizeRowsInt8,
} from "../../src/model/weights_format.ts";
import { createWasmBackend } from "../../src/backend/wasm/wasm_backend.ts";
import { createReferenceBackend } from "../../src/backend/reference.ts";

/** A model loaded for evaluation: the public runtime and the network it runs. */
export interface EvalModel {
  /** The runtime (compress, search). */
  r3: R3Mem;
  /** The same weights as a bare network, for decoding experiments. */
  model: ReversibleTransformer;
  /** The configuration. */
  config: ModelConfig;
  /** The weights file's bytes (for tools that build their own engine, e.g. the refiner). */
  weights: Uint8Array;
}

/**
 * Loads a weights file for evaluation on one backend (default `wasm`, as `R3Mem.load` uses).
 *
 * @param weights The weights file's bytes.
 * @param backend `"wasm"` (default) or `"reference"`.
 * @returns The runtime and the bare network.
 * @throws {FormatError} When the bytes are not an intact weights file.
 *
 * @example
 * ```ts
 * import { loadEvalModel } from "./metrics.ts";
 * import { buildRandomModel } from "../../src/model/random_model.ts";
 * const m = await loadEvalModel(await buildRandomModel({ seed: 1 }));
 * console.log(m.config.memorySlots === m.r3.config.memorySlots); // true
 * ```
 */
export async function loadEvalModel(
  weights: Uint8Array,
  backend: "wasm" | "reference" = "wasm",
): Promise<EvalModel> {
  const be = backend === "reference"
    ? createReferenceBackend()
    : await createWasmBackend({ deterministic: false });
  const r3 = await R3Mem.load({ weights, backend: be });
  const file = await loadWeightsFrom(weights);
  const model = new ReversibleTransformer(
    be,
    r3.config,
    uploadWeights(be, r3.config, file.tensors),
  );
  return { r3, model, config: r3.config, weights };
}

// ── memory ────────────────────────────────────────────────────────────────────

/**
 * Recurrent compression of `ids` from `memInit`, `segmentTokens` at a time (an empty sequence
 * is one empty segment, as `R3Mem` does). Returns the f32 memory `[S*D]`.
 */
export function compressTokens(model: ReversibleTransformer, ids: ArrayLike<number>): Float32Array {
  const T = model.config.segmentTokens;
  let memory = model.memInit;
  for (let i = 0; i < ids.length || i === 0; i += T) {
    memory = model.compressSegment(memory, Array.prototype.slice.call(ids, i, i + T));
  }
  return memory;
}

/** The memory as it is stored: int8 with one scale per slot, then dequantized. */
export function storedMemory(config: ModelConfig, memory: Float32Array): Float32Array {
  const { q, scales } = quantizeRowsInt8(memory, config.memorySlots, config.dim);
  return dequantizeRowsInt8(q, scales, config.memorySlots, config.dim);
}

/**
 * Bits of one stored memory node: `S × D` int8 values and `S` f32 scales (the slots alone, no
 * container).
 *
 * @example
 * ```ts
 * import { memoryBits } from "./metrics.ts";
 * console.log(memoryBits({ memorySlots: 8, dim: 128 })); // 8448
 * ```
 */
export function memoryBits(config: Pick<ModelConfig, "memorySlots" | "dim">): number {
  return config.memorySlots * (config.dim * 8 + 32);
}
