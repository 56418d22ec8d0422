/**
 * The weights file's data types: a tensor (int8 with per-row scales, or f32), its entry in the
 * header (the tensor index), the header itself, and what the writer takes and the reader gives.
 *
 * @module
 */

/** Element type of a stored tensor. */
export type TensorDType = "i8" | "f32";

/** A tensor's entry in the header. */
export interface TensorEntry {
  /** Unique name, e.g. `"blocks.0.attn.wq"`. */
  name: string;
  /** Element type. */
  dtype: TensorDType;
  /** Dimensions (row-major); `[]` is a scalar. */
  shape: number[];
  /** Absolute byte offset of the data, a multiple of 64. */
  offset: number;
  /** Byte length of the data: product of `shape` times the element size. */
  length: number;
  /**
   * For `i8` only: absolute offset (multiple of 64) of one f32 scale per row, where the rows
   * are all dimensions but the last (a 0- or 1-dimensional tensor has one row).
   */
  scalesOffset?: number;
}

/** The JSON header of a weights file. Unknown top-level keys are free metadata. */
export interface WeightsHeader {
  /** Model configuration; opaque to this module (must be a JSON object). */
  config: Record<string, unknown>;
  /** Where the tokenizer bytes (from `Tokenizer.toBytes()`) are. */
  tokenizer: { offset: number; length: number };
  /** Every tensor, in file order. */
  tensors: TensorEntry[];
  /** What wrote the file, e.g. `"r3mem tools/train.ts 0.1.0"`. */
  createdBy: string;
  /** Free metadata. */
  [key: string]: unknown;
}

/** An int8 tensor, optionally with per-row scales (`real = q * scales[row]`). */
export interface Int8Tensor {
  /** Element type. */
  dtype: "i8";
  /** Dimensions. */
  shape: number[];
  /** Values, row-major. */
  data: Int8Array;
  /** One scale per row (all dimensions but the last). */
  scales?: Float32Array;
}

/** A float32 tensor. */
export interface Float32Tensor {
  /** Element type. */
  dtype: "f32";
  /** Dimensions. */
  shape: number[];
  /** Values, row-major. */
  data: Float32Array;
}

/** A tensor read from, or to be written to, a weights file. */
export type Tensor = Int8Tensor | Float32Tensor;

/** A tensor to write: a {@link Tensor} with a name. */
export type NamedTensor = Tensor & { name: string };

/** What `writeWeights` writes. */
export interface WeightsInput {
  /** Model configuration (a JSON-serialisable object). */
  config: Record<string, unknown>;
  /** Tokenizer bytes (from `Tokenizer.toBytes()`). */
  tokenizer: Uint8Array;
  /** The tensors, written in this order. */
  tensors: NamedTensor[];
  /** What wrote the file (default `"r3mem"`). */
  createdBy?: string;
  /** Free metadata, stored as extra top-level header keys (not `config`, `tokenizer`…). */
  metadata?: Record<string, unknown>;
}

/** What `readWeights` returns. */
export interface WeightsFile {
  /** The model configuration. */
  config: Record<string, unknown>;
  /** The tokenizer bytes (a view into the file). */
  tokenizerBytes: Uint8Array;
  /** Tensors by name, in file order; data are views into the file's bytes where aligned. */
  tensors: Map<string, Tensor>;
  /** Lowercase hex SHA-256 of the file (its last 32 bytes): the model fingerprint. */
  fingerprint: string;
  /** Free metadata: the header's keys other than config, tokenizer, tensors and createdBy. */
  metadata: Record<string, unknown>;
  /** The whole parsed header. */
  header: WeightsHeader;
}
