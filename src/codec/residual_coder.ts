/**
 * The residual coder: what makes a memory lossless. Every token of the text is range coded
 * against the decoder's next-token distribution given the document memory (the backward
 * direction of the model), mixed with the document cache (`./cache_mixer.ts`) when the memory
 * says so, in 16-bit integer frequencies (`./range_coder.ts`). Encoder and decoder get the same
 * probabilities bit for bit: the coder runs on the deterministic WebAssembly path whatever backend
 * serves the rest of the model (see `docs/ARCHITECTURE.md`).
 *
 * @module
 */
import { FormatError } from "../errors.ts";
import type { ReversibleTransformer } from "../model/transformer.ts";
import { CacheMixer } from "./cache_mixer.ts";
import type { MemoryData, MemoryNode } from "./memory_data.ts";
import {
  cumulativeFreqs,
  decodeSymbol,
  encodeSymbol,
  probsToFreqs,
  RangeDecoder,
  RangeEncoder,
} from "./range_coder.ts";

/** Bits of the integer frequency tables the residual is coded with. */
const FREQ_BITS = 16;

/**
 * Bytes a decoder may read past a residual's end before the residual counts as damaged. The
 * encoder drops at most 4 (the zero bytes of its final value); until 2026-12-02 it dropped every
 * trailing zero, so about one stream in a few thousand read 5 or more and was refused although
 * intact. Each zero byte beyond the 4 is a data byte that happened to be 0 (1 in 256), so 12
 * reads every such file written (a chance of 256^-8 to need more). Damage is caught by the
 * container's checksums and lengths; this is a last guard against a stream decoded against the
 * wrong memory, which usually reads on far past its end.
 */
const MAX_OVERRUN = 12;

/**
 * Codes every token against the backward direction's distribution given the document memory.
 * Rows are fed in batches as large as the context allows; the decoder feeds one at a time and
 * gets bit-identical distributions (row-independent kernels), sliding at the same tokens.
 *
 * @param coder The model on the deterministic path.
 * @param doc The document memory, f32 (`slotCount × dim`).
 * @param ids The text's token ids.
 * @param cache Mix in the document cache (what current files do).
 * @returns The range coder's bytes.
 *
 * @example Round trip of a text's tokens through a tiny random model
 * ```ts
 * import { decodeResidual, encodeResidual } from "./residual_coder.ts";
 * import { createWasmBackend } from "../backend/wasm/wasm_backend.ts";
 * import { parseConfig } from "../model/config.ts";
 * import { buildRandomModel } from "../model/random_model.ts";
 * import { ReversibleTransformer } from "../model/transformer.ts";
 * import { uploadWeights } from "../model/weights.ts";
 * import { loadWeightsFrom } from "../model/weights_format.ts";
 * const file = await loadWeightsFrom(await buildRandomModel());
 * const be = await createWasmBackend();
 * const config = parseConfig(file.config);
 * const coder = new ReversibleTransformer(be, config, uploadWeights(be, config, file.tensors));
 * const doc = new Float32Array(config.memorySlots * config.dim);
 * const ids = [72, 105, 33, 10];
 * const bytes = encodeResidual(coder, doc, ids, true);
 * const memory = { tokenCount: 4, residual: { codedTokens: 4, bytes, cache: true } };
 * console.log([...decodeResidual(coder, doc, memory, { tokenStart: 0, tokenEnd: 4 })].flat()); // [ 72, 105, 33, 10 ]
 * ```
 */
export function encodeResidual(
  coder: ReversibleTransformer,
  doc: Float32Array,
  ids: number[],
  cache: boolean,
): Uint8Array {
  const enc = new RangeEncoder(Math.max(64, ids.length));
  if (ids.length === 0) return enc.finish();
  const session = coder.startDecoder(doc);
  const V = coder.config.vocabSize;
  const freqs = new Uint32Array(V);
  const cum = new Uint32Array(V + 1);
  // The model's distribution mixed with the document's own statistics (./cache_mixer.ts).
  const mixer = cache ? new CacheMixer(V) : null;
  const mixed = new Float32Array(V);
  const code = (probs: Float32Array, row: number, symbol: number) => {
    const p = probs.subarray(row * V, (row + 1) * V);
    if (mixer) mixer.mix(p, mixed);
    probsToFreqs(mixer ? mixed : p, FREQ_BITS, freqs);
    cumulativeFreqs(freqs, cum);
    encodeSymbol(enc, cum, symbol);
    mixer?.update(symbol);
  };
  try {
    session.begin();
    code(coder.readProbs(1), 0, ids[0]);
    let fed = 0;
    while (fed < ids.length - 1) {
      session.slideIfFull();
      const n = Math.min(session.room, ids.length - 1 - fed);
      session.feed(ids.slice(fed, fed + n));
      const probs = coder.readProbs(n);
      for (let i = 0; i < n; i++) code(probs, i, ids[fed + 1 + i]);
      fed += n;
    }
  } finally {
    session.free();
  }
  return enc.finish();
}

/**
 * Decodes a memory's residual token by token, yielding batches of the tokens inside `node`'s
 * span (and stopping after it).
 *
 * @param coder The model on the deterministic path (the one that coded it, by fingerprint).
 * @param doc The document memory the residual was coded against.
 * @param memory The memory's token count and residual.
 * @param node The span wanted.
 * @returns Batches of token ids, in order.
 * @throws {FormatError} If the residual ends early (a damaged memory).
 */
export function* decodeResidual(
  coder: ReversibleTransformer,
  doc: Float32Array,
  memory: Pick<MemoryData, "tokenCount" | "residual">,
  node: Pick<MemoryNode, "tokenStart" | "tokenEnd">,
): Generator<number[]> {
  const total = memory.tokenCount;
  if (total === 0) return;
  const dec = new RangeDecoder(memory.residual!.bytes);
  const session = coder.startDecoder(doc);
  const V = coder.config.vocabSize;
  const freqs = new Uint32Array(V);
  const cum = new Uint32Array(V + 1);
  // Files of earlier versions were coded with the model's distribution alone.
  const mixer = memory.residual?.cache ? new CacheMixer(V) : null;
  const mixed = new Float32Array(V);
  const next = (): number => {
    const probs = coder.readProbs(1);
    if (mixer) mixer.mix(probs, mixed);
    probsToFreqs(mixer ? mixed : probs, FREQ_BITS, freqs);
    cumulativeFreqs(freqs, cum);
    const id = decodeSymbol(dec, cum);
    mixer?.update(id);
    return id;
  };
  try {
    session.begin();
    let batch: number[] = [];
    let prev = -1;
    for (let i = 0; i < total; i++) {
      if (i > 0) {
        session.slideIfFull();
        session.feed([prev]);
      }
      const id = next();
      prev = id;
      if (i >= node.tokenStart && i < node.tokenEnd) batch.push(id);
      if (batch.length >= 16) {
        yield batch;
        batch = [];
      }
      if (i + 1 >= node.tokenEnd) break;
    }
    if (batch.length) yield batch;
    if (dec.overrun > MAX_OVERRUN) {
      throw new FormatError("Residual stream ended early: the memory is damaged");
    }
  } finally {
    session.free();
  }
}
