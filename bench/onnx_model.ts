/**
 * A minimal ONNX model writer: just enough protobuf to build the single-op graphs the kernel
 * benchmark feeds to onnxruntime (ModelProto, GraphProto, NodeProto, ValueInfoProto and
 * TensorProto with `raw_data`). Field numbers follow `onnx.proto` (proto2, so repeated scalars are
 * written unpacked, one field per element).
 *
 * @module
 */

/** Element types the benchmark needs, with their `TensorProto.DataType` codes. */
export const DATA_TYPE = { float32: 1, uint8: 2, int8: 3, int32: 6 } as const;

/** An element type name, a key of {@link DATA_TYPE}. */
export type DataType = keyof typeof DATA_TYPE;

/** A typed array that can back a tensor of one of the {@link DataType}s. */
export type TensorData = Float32Array | Uint8Array | Int8Array | Int32Array;

/** A graph input or output: name, element type and static shape. */
export interface ValueInfo {
  /** Tensor name. */
  name: string;
  /** Element type. */
  type: DataType;
  /** Static dimensions. */
  dims: readonly number[];
}

/** A constant tensor stored in the graph (`GraphProto.initializer`). */
export interface Initializer extends ValueInfo {
  /** Row-major elements; written little-endian as `raw_data`. */
  data: TensorData;
}

/** One operator of the graph (`NodeProto`); attributes are not needed here. */
export interface NodeDef {
  /** Operator name, e.g. `"MatMul"`. */
  opType: string;
  /** Input tensor names; `""` skips an optional input. */
  inputs: readonly string[];
  /** Output tensor names. */
  outputs: readonly string[];
  /** Node name (defaults to the op type). */
  name?: string;
}

/** A whole graph. */
export interface GraphDef {
  /** Graph name. */
  name: string;
  /** Operators in topological order. */
  nodes: readonly NodeDef[];
  /** Runtime inputs. */
  inputs: readonly ValueInfo[];
  /** Outputs. */
  outputs: readonly ValueInfo[];
  /** Constant tensors. */
  initializers?: readonly Initializer[];
}

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const utf8 = new TextEncoder();

/** Appends protobuf fields to a list of byte chunks (no copying of large payloads until `finish`). */
class ProtoWriter {
  #parts: Uint8Array[] = [];
  #length = 0;

  #push(bytes: Uint8Array): void {
    this.#parts.push(bytes);
    this.#length += bytes.length;
  }
  #raw(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`varint out of range: ${value}`);
    }
    const out: number[] = [];
    while (value >= 0x80) {
      out.push((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    out.push(value);
    this.#push(Uint8Array.from(out));
  }
  #tag(field: number, wire: number): void {
    this.#raw(field * 8 + wire);
  }
  /** A non-negative integer field (int32/int64/enum). */
  varint(field: number, value: number): this {
    this.#tag(field, WIRE_VARINT);
    this.#raw(value);
    return this;
  }
  /** A bytes field. */
  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, WIRE_LEN);
    this.#raw(value.length);
    this.#push(value);
    return this;
  }
  /** A string field (UTF-8). */
  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }
  /** An embedded message field. */
  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish());
  }
  /** Concatenates everything written so far. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const p of this.#parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** Little-endian bytes of a typed array (x86/ARM are little-endian, so a view suffices). */
function littleEndianBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function tensorProto(t: Initializer): ProtoWriter {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count !== t.data.length) {
    throw new RangeError(
      `initializer ${t.name}: dims hold ${count} elements, data ${t.data.length}`,
    );
  }
  const w = new ProtoWriter();
  for (const d of t.dims) w.varint(1, d); // dims
  w.varint(2, DATA_TYPE[t.type]); // data_type
  w.string(8, t.name); // name
  w.bytes(9, littleEndianBytes(t.data)); // raw_data
  return w;
}

function valueInfoProto(v: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) shape.message(1, new ProtoWriter().varint(1, d)); // dim { dim_value }
  const tensorType = new ProtoWriter().varint(1, DATA_TYPE[v.type]).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType); // TypeProto.tensor_type
  return new ProtoWriter().string(1, v.name).message(2, type);
}

function nodeProto(n: NodeDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name ?? n.opType);
  w.string(4, n.opType);
  return w;
}

function graphProto(g: GraphDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(1, nodeProto(n));
  w.string(2, g.name);
  for (const t of g.initializers ?? []) w.message(5, tensorProto(t));
  for (const v of g.inputs) w.message(11, valueInfoProto(v));
  for (const v of g.outputs) w.message(12, valueInfoProto(v));
  return w;
}

/**
 * Serializes a graph as an ONNX `ModelProto` (IR version 8, default domain at `opset`).
 *
 * @example
 * ```ts
 * import { encodeModel } from "./onnx_model.ts";
 * const bytes = encodeModel({
 *   name: "relu",
 *   nodes: [{ opType: "Relu", inputs: ["x"], outputs: ["y"] }],
 *   inputs: [{ name: "x", type: "float32", dims: [4] }],
 *   outputs: [{ name: "y", type: "float32", dims: [4] }],
 * });
 * console.log(bytes.length > 0); // true
 * ```
 */
export function encodeModel(graph: GraphDef, opset = 13): Uint8Array {
  const opsetId = new ProtoWriter().string(1, "").varint(2, opset);
  return new ProtoWriter()
    .varint(1, 8) // ir_version
    .string(2, "r3mem-bench") // producer_name
    .message(7, graphProto(graph))
    .message(8, opsetId)
    .finish();
}

/**
 * Which single-op matrix product a model computes: `"f32"` is `MatMul` f32 × f32 → f32; `"u8s8"`
 * is `MatMulInteger` with uint8 activations (zero point 128) × int8 weights → int32; `"s8s8"` is
 * `MatMulInteger` int8 × int8 → int32.
 */
export type MatmulForm = "f32" | "u8s8" | "s8s8";

/**
 * Builds `Y[M,N] = A[M,K] · B[K,N]` with `A` the runtime input `"A"` and `B` a constant. For
 * `"u8s8"`, `A` carries a zero point of 128, so `A_u8 = A_s8 + 128` gives the same product as
 * `"s8s8"` with `A_s8`.
 *
 * @param form Which operator and element types.
 * @param shape `[M, K, N]`.
 * @param b The weights, row-major `[K, N]` (Float32Array for `"f32"`, Int8Array otherwise).
 */
export function matmulModel(
  form: MatmulForm,
  shape: readonly [number, number, number],
  b: Float32Array | Int8Array,
): Uint8Array {
  const [m, k, n] = shape;
  const isFloat = form === "f32";
  if (isFloat !== (b instanceof Float32Array)) {
    throw new TypeError(`matmulModel: form ${form} needs ${isFloat ? "f32" : "int8"} weights`);
  }
  const initializers: Initializer[] = [
    { name: "B", type: isFloat ? "float32" : "int8", dims: [k, n], data: b },
  ];
  const inputs = ["A", "B"];
  if (form === "u8s8") {
    initializers.push({ name: "A_zero", type: "uint8", dims: [], data: Uint8Array.of(128) });
    inputs.push("A_zero");
  }
  const aType: DataType = form === "f32" ? "float32" : form === "u8s8" ? "uint8" : "int8";
  return encodeModel({
    name: `matmul_${form}_${m}x${k}x${n}`,
    nodes: [{ opType: isFloat ? "MatMul" : "MatMulInteger", inputs, outputs: ["Y"] }],
    inputs: [{ name: "A", type: aType, dims: [m, k] }],
    outputs: [{ name: "Y", type: isFloat ? "float32" : "int32", dims: [m, n] }],
    initializers,
  });
}
