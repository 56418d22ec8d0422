/**
 * The model weights file (`.r3mw`): one file holds the model config, the tokenizer and every
 * tensor (int8 with per-row f32 scales, or f32), sealed by a SHA-256 that doubles as the model
 * fingerprint recorded in `.r3m` memories.
 *
 * Layout (all integers little-endian; see `docs/WEIGHTS.md`):
 *
 * | bytes | content |
 * | --- | --- |
 * | 0..4 | magic `R3MW` |
 * | 4..8 | u32 format version ({@link WEIGHTS_VERSION}) |
 * | 8..12 | u32 header length `H` |
 * | 12..12+H | header: UTF-8 JSON (see {@link WeightsHeader}) |
 * | … | data: tokenizer bytes and tensors, each starting at a multiple of 64 (zero padding) |
 * | last 32 | SHA-256 of every byte before it |
 *
 * Offsets in the header are absolute (from the start of the file).
 *
 * The implementation is split by concept under `weights_format/`: the byte layout and its
 * constants (`layout.ts`), the data types and the tensor index (`types.ts`), writing
 * (`write.ts`), reading and verifying (`read.ts`), loading from a URL (`load.ts`) and per-row
 * int8 quantization (`quantize.ts`).
 *
 * @module
 */
export {
  MAX_HEADER_BYTES,
  WEIGHTS_ALIGNMENT,
  WEIGHTS_MAGIC,
  WEIGHTS_VERSION,
} from "./weights_format/layout.ts";
export type {
  Float32Tensor,
  Int8Tensor,
  NamedTensor,
  Tensor,
  TensorDType,
  TensorEntry,
  WeightsFile,
  WeightsHeader,
  WeightsInput,
} from "./weights_format/types.ts";
export { writeWeights } from "./weights_format/write.ts";
export { readWeights } from "./weights_format/read.ts";
export { loadWeightsFrom } from "./weights_format/load.ts";
export { dequantizeRowsInt8, quantizeRowsInt8 } from "./weights_format/quantize.ts";
