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
 * @module
 */
import { FormatError, InputError } from "../errors.ts";
import { readUrl } from "../local_file.ts";

/** The four bytes every weights file starts with: `R3MW`. */
export const WEIGHTS_MAGIC: Uint8Array = new Uint8Array([0x52, 0x33, 0x4d, 0x57]);
/** Format version this module writes and reads. */
export const WEIGHTS_VERSION = 1;
/** Every data region (tokenizer, tensor data, scales) starts at a multiple of this. */
export const WEIGHTS_ALIGNMENT = 64;
/** Largest accepted header, in bytes. */
export const MAX_HEADER_BYTES: number = 16 << 20;

const PREFIX_BYTES = 12;
const HASH_BYTES = 32;
const RESERVED_KEYS = new Set(["config", "tokenizer", "tensors", "createdBy"]);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

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

/** What {@link writeWeights} writes. */
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

/** What {@link readWeights} returns. */
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

function align(n: number): number {
  return Math.ceil(n / WEIGHTS_ALIGNMENT) * WEIGHTS_ALIGNMENT;
}

/** Rows of a tensor for per-row scales: all dimensions but the last. */
function rowsOf(shape: number[]): number {
  let r = 1;
  for (let i = 0; i < shape.length - 1; i++) r *= shape[i];
  return r;
}

function numelOf(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  // crypto.subtle wants an ArrayBuffer-backed view
  const view = bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : new Uint8Array(bytes);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", view));
}

/**
 * Writes a weights file.
 *
 * @param input Config, tokenizer bytes, tensors and metadata.
 * @returns The file's bytes.
 * @throws {InputError} If a tensor's data does not match its shape, names repeat, or the
 *   config is not a JSON object.
 *
 * @example Write and read back
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { readWeights, writeWeights } from "./weights_format.ts";
 * const bytes = await writeWeights({
 *   config: { dim: 2 },
 *   tokenizer: new Uint8Array([1, 2, 3]),
 *   tensors: [{ name: "w", dtype: "f32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }],
 * });
 * const file = await readWeights(bytes);
 * deepStrictEqual(file.config, { dim: 2 });
 * deepStrictEqual(file.tensors.get("w")?.data, new Float32Array([1, 2, 3, 4]));
 * console.log(file.fingerprint); // 64 hex digits: the model fingerprint
 * ```
 */
export async function writeWeights(input: WeightsInput): Promise<Uint8Array> {
  if (!isPlainObject(input)) {
    throw new InputError(`Expected a weights description object, got ${typeof input}`);
  }
  const { config, tokenizer, tensors } = input;
  const createdBy = input.createdBy ?? "r3mem";
  const metadata = input.metadata ?? {};
  if (!isPlainObject(config)) throw new InputError("config must be a plain (JSON) object");
  if (!(tokenizer instanceof Uint8Array)) throw new InputError("tokenizer must be a Uint8Array");
  if (!Array.isArray(tensors)) throw new InputError("tensors must be an array");
  if (typeof createdBy !== "string") throw new InputError("createdBy must be a string");
  if (!isPlainObject(metadata)) throw new InputError("metadata must be a plain object");
  for (const key of Object.keys(metadata)) {
    if (RESERVED_KEYS.has(key)) {
      throw new InputError(`metadata key "${key}" is reserved; choose another name`);
    }
  }

  // layout relative to the start of the data section
  const names = new Set<string>();
  let rel = 0;
  const place = (length: number) => {
    const at = rel;
    rel = align(rel + length);
    return at;
  };
  const tokRel = place(tokenizer.length);
  const plan = tensors.map((t, i) => {
    const what = `tensor ${i}${typeof t?.name === "string" ? ` ("${t.name}")` : ""}`;
    if (!isPlainObject(t)) throw new InputError(`${what} must be an object`);
    if (typeof t.name !== "string" || t.name === "") {
      throw new InputError(`${what} needs a non-empty string name`);
    }
    if (names.has(t.name)) throw new InputError(`Tensor name "${t.name}" is used twice`);
    names.add(t.name);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 1)) {
      throw new InputError(`${what}: shape must be an array of positive integers`);
    }
    const numel = numelOf(t.shape);
    let length: number;
    if (t.dtype === "i8") {
      if (!(t.data instanceof Int8Array)) {
        throw new InputError(`${what}: i8 data must be Int8Array`);
      }
      length = t.data.length;
      if (t.scales !== undefined) {
        if (!(t.scales instanceof Float32Array)) {
          throw new InputError(`${what}: scales must be a Float32Array`);
        }
        if (t.scales.length !== rowsOf(t.shape)) {
          throw new InputError(
            `${what}: ${t.scales.length} scales for ${rowsOf(t.shape)} rows of shape [${t.shape}]`,
          );
        }
      }
    } else if (t.dtype === "f32") {
      if (!(t.data instanceof Float32Array)) {
        throw new InputError(`${what}: f32 data must be Float32Array`);
      }
      length = t.data.length * 4;
    } else {
      throw new InputError(`${what}: dtype must be "i8" or "f32", got ${String(t.dtype)}`);
    }
    if (t.data.length !== numel) {
      throw new InputError(
        `${what}: ${t.data.length} values for shape [${t.shape}] (${numel} elements)`,
      );
    }
    const dataRel = place(length);
    const scalesRel = t.dtype === "i8" && t.scales ? place(t.scales.length * 4) : -1;
    return { t, length, dataRel, scalesRel };
  });
  const dataBytes = rel;

  // the header's length depends on the offsets' digits: iterate to a fixed point
  const encoder = new TextEncoder();
  const headerFor = (dataStart: number) => {
    const header: WeightsHeader = {
      createdBy,
      config,
      tokenizer: { offset: dataStart + tokRel, length: tokenizer.length },
      tensors: plan.map(({ t, length, dataRel, scalesRel }) => {
        const e: TensorEntry = {
          name: t.name,
          dtype: t.dtype,
          shape: [...t.shape],
          offset: dataStart + dataRel,
          length,
        };
        if (scalesRel >= 0) e.scalesOffset = dataStart + scalesRel;
        return e;
      }),
      ...metadata,
    };
    let json: string;
    try {
      json = JSON.stringify(header);
    } catch (e) {
      throw new InputError(`config or metadata is not JSON-serialisable: ${e}`, { cause: e });
    }
    return encoder.encode(json);
  };
  let dataStart = 0, headerBytes: Uint8Array;
  for (;;) {
    headerBytes = headerFor(dataStart);
    const need = align(PREFIX_BYTES + headerBytes.length);
    if (need <= dataStart) break;
    dataStart = need;
  }
  if (headerBytes.length > MAX_HEADER_BYTES) {
    throw new InputError(`Header is ${headerBytes.length} bytes, over ${MAX_HEADER_BYTES}`);
  }

  const total = dataStart + dataBytes + HASH_BYTES;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(WEIGHTS_MAGIC, 0);
  dv.setUint32(4, WEIGHTS_VERSION, true);
  dv.setUint32(8, headerBytes.length, true);
  out.set(headerBytes, PREFIX_BYTES);
  out.set(tokenizer, dataStart + tokRel);
  for (const { t, dataRel, scalesRel } of plan) {
    const at = dataStart + dataRel;
    if (t.dtype === "i8") {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
      if (t.scales && scalesRel >= 0) writeF32(out, dv, dataStart + scalesRel, t.scales);
    } else writeF32(out, dv, at, t.data);
  }
  out.set(await sha256(out.subarray(0, total - HASH_BYTES)), total - HASH_BYTES);
  return out;
}

function writeF32(out: Uint8Array, dv: DataView, at: number, values: Float32Array): void {
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
  } else {
    for (let i = 0; i < values.length; i++) dv.setFloat32(at + 4 * i, values[i], true);
  }
}

function readF32(bytes: Uint8Array, at: number, count: number): Float32Array {
  const abs = bytes.byteOffset + at;
  if (LITTLE_ENDIAN && abs % 4 === 0) return new Float32Array(bytes.buffer, abs, count);
  const out = new Float32Array(count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) out[i] = dv.getFloat32(at + 4 * i, true);
  return out;
}

function fail(message: string): never {
  throw new FormatError(`Invalid weights file: ${message}`);
}

/**
 * Reads and verifies a weights file: magic, version, header bounds, SHA-256, header JSON and
 * every region's bounds, alignment, size and overlap.
 *
 * @param bytes The whole file.
 * @returns Config, tokenizer bytes, tensors (views into `bytes` where alignment allows, so do
 *   not modify `bytes` afterwards), metadata and the fingerprint.
 * @throws {FormatError} If the bytes are not an intact weights file; the message says what is
 *   wrong.
 * @throws {InputError} If `bytes` is not a Uint8Array.
 *
 * @example Rejecting damaged bytes
 * ```ts
 * import { rejects } from "node:assert";
 * import { readWeights, writeWeights } from "./weights_format.ts";
 * import { FormatError } from "../errors.ts";
 * const bytes = await writeWeights({ config: {}, tokenizer: new Uint8Array(4), tensors: [] });
 * bytes[20] ^= 1;
 * await rejects(readWeights(bytes), FormatError); // "… SHA-256 mismatch …"
 * ```
 */
export async function readWeights(bytes: Uint8Array): Promise<WeightsFile> {
  if (!(bytes instanceof Uint8Array)) {
    throw new InputError(`Expected the weights file as a Uint8Array, got ${typeof bytes}`);
  }
  const len = bytes.length;
  if (len < PREFIX_BYTES + HASH_BYTES + 2) {
    fail(`${len} bytes is too short for an r3mem weights file (at least 46)`);
  }
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== WEIGHTS_MAGIC[i]) {
      const got = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0"));
      fail(`bad magic ${got.join(" ")} (expected "R3MW"): not an r3mem weights file`);
    }
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(4, true);
  if (version !== WEIGHTS_VERSION) {
    fail(`unsupported format version ${version} (this library reads ${WEIGHTS_VERSION})`);
  }
  const H = dv.getUint32(8, true);
  if (H < 2 || H > MAX_HEADER_BYTES) {
    fail(`header length ${H} is out of range 2..${MAX_HEADER_BYTES}`);
  }
  const dataEnd = len - HASH_BYTES;
  if (PREFIX_BYTES + H > dataEnd) {
    fail(`header of ${H} bytes does not fit in a file of ${len} bytes (truncated?)`);
  }

  const headerText = (() => {
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(
        bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + H),
      );
    } catch {
      return undefined;
    }
  })();
  let parsed: unknown = undefined, parseError: unknown = undefined;
  if (headerText !== undefined) {
    try {
      parsed = JSON.parse(headerText);
    } catch (e) {
      parseError = e;
    }
  }

  const stored = bytes.subarray(dataEnd);
  const actual = await sha256(bytes.subarray(0, dataEnd));
  if (!actual.every((b, i) => b === stored[i])) {
    const furthest = furthestRegionEnd(parsed);
    if (furthest > dataEnd) {
      fail(`file is truncated: its header places data up to byte ${furthest}, but it has ${len}`);
    }
    fail(
      `SHA-256 mismatch (stored ${toHex(stored).slice(0, 16)}…, computed ${
        toHex(actual).slice(0, 16)
      }…): the file is damaged or truncated`,
    );
  }
  if (headerText === undefined) fail("header is not valid UTF-8");
  if (parseError !== undefined) fail(`header is not valid JSON (${parseError})`);
  if (!isPlainObject(parsed)) fail("header is not a JSON object");
  const header = parsed as WeightsHeader;

  if (!isPlainObject(header.config)) fail("header.config must be a JSON object");
  if (typeof header.createdBy !== "string") fail("header.createdBy must be a string");
  const minOffset = PREFIX_BYTES + H;
  const regions: { start: number; end: number; what: string }[] = [];
  const region = (what: string, offset: unknown, length: number) => {
    if (!Number.isSafeInteger(offset) || (offset as number) < 0) {
      fail(`${what} offset ${JSON.stringify(offset)} is not a non-negative integer`);
    }
    const start = offset as number;
    if (start % WEIGHTS_ALIGNMENT !== 0) {
      fail(`${what} offset ${start} is not aligned to ${WEIGHTS_ALIGNMENT} bytes`);
    }
    if (start < minOffset) fail(`${what} offset ${start} points into the header`);
    if (start + length > dataEnd) {
      fail(`${what} spans bytes ${start}..${start + length}, past the data end ${dataEnd}`);
    }
    regions.push({ start, end: start + length, what });
    return start;
  };

  const tk = header.tokenizer;
  if (!isPlainObject(tk)) fail("header.tokenizer must be an object { offset, length }");
  if (!Number.isSafeInteger(tk.length) || tk.length < 0) {
    fail(`tokenizer length ${JSON.stringify(tk.length)} is not a non-negative integer`);
  }
  const tokStart = region("tokenizer", tk.offset, tk.length);
  const tokenizerBytes = bytes.subarray(tokStart, tokStart + tk.length);

  if (!Array.isArray(header.tensors)) fail("header.tensors must be an array");
  const tensors = new Map<string, Tensor>();
  header.tensors.forEach((e: unknown, i: number) => {
    if (!isPlainObject(e)) fail(`tensor entry ${i} is not an object`);
    const name = e.name;
    if (typeof name !== "string" || name === "") fail(`tensor entry ${i} has no name`);
    const what = `tensor "${name}"`;
    if (tensors.has(name)) fail(`${what} appears twice`);
    const shape = e.shape;
    if (
      !Array.isArray(shape) ||
      !shape.every((d) => Number.isSafeInteger(d) && d >= 1 && d <= 0x7fffffff)
    ) {
      fail(`${what} has an invalid shape ${JSON.stringify(shape)}`);
    }
    const numel = numelOf(shape);
    if (e.dtype !== "i8" && e.dtype !== "f32") {
      fail(`${what} has unknown dtype ${JSON.stringify(e.dtype)} (expected "i8" or "f32")`);
    }
    const size = e.dtype === "i8" ? 1 : 4;
    if (e.length !== numel * size) {
      fail(
        `${what} length ${JSON.stringify(e.length)} does not match shape [${shape}] of ` +
          `${e.dtype} (${numel * size} bytes)`,
      );
    }
    const start = region(what, e.offset, numel * size);
    if (e.dtype === "f32") {
      if (e.scalesOffset !== undefined) fail(`${what} is f32 but has scalesOffset`);
      tensors.set(name, { dtype: "f32", shape: [...shape], data: readF32(bytes, start, numel) });
      return;
    }
    const data = new Int8Array(bytes.buffer, bytes.byteOffset + start, numel);
    const t: Int8Tensor = { dtype: "i8", shape: [...shape], data };
    if (e.scalesOffset !== undefined) {
      const rows = rowsOf(shape);
      const s = region(`${what} scales`, e.scalesOffset, rows * 4);
      t.scales = readF32(bytes, s, rows);
    }
    tensors.set(name, t);
  });

  regions.sort((a, b) => a.start - b.start);
  for (let i = 1; i < regions.length; i++) {
    if (regions[i].start < regions[i - 1].end) {
      fail(`${regions[i].what} overlaps ${regions[i - 1].what}`);
    }
  }

  const metadata: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(header)) if (!RESERVED_KEYS.has(k)) metadata[k] = v;
  return {
    config: header.config,
    tokenizerBytes,
    tensors,
    fingerprint: toHex(stored),
    metadata,
    header,
  };
}

/** Largest end of any region a (possibly damaged) header declares, for a truncation hint. */
function furthestRegionEnd(header: unknown): number {
  if (!isPlainObject(header)) return 0;
  let max = 0;
  const see = (offset: unknown, length: unknown) => {
    if (typeof offset === "number" && typeof length === "number") {
      max = Math.max(max, offset + length);
    }
  };
  if (isPlainObject(header.tokenizer)) see(header.tokenizer.offset, header.tokenizer.length);
  if (Array.isArray(header.tensors)) {
    for (const e of header.tensors) {
      if (!isPlainObject(e)) continue;
      see(e.offset, e.length);
      if (Array.isArray(e.shape) && typeof e.scalesOffset === "number") {
        see(e.scalesOffset, rowsOf(e.shape as number[]) * 4);
      }
    }
  }
  return max;
}

/**
 * Loads and verifies a weights file from a URL (`http:`, `https:`, `file:`; in Deno `file:`
 * URLs are read from the disk in Deno and Node.js), a URL string, or bytes already in memory.
 *
 * @param source Where the file is.
 * @returns The verified file, as {@link readWeights} returns it.
 * @throws {InputError} If the source cannot be read (bad URL, HTTP error, missing file).
 * @throws {FormatError} If the bytes are not an intact weights file.
 *
 * @example From a file URL
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { loadWeightsFrom, writeWeights } from "./weights_format.ts";
 * const path = await Deno.makeTempFile({ suffix: ".r3mw" });
 * await Deno.writeFile(path, await writeWeights({ config: { v: 1 }, tokenizer: new Uint8Array(1), tensors: [] }));
 * const file = await loadWeightsFrom(new URL(`file://${path}`));
 * deepStrictEqual(file.config, { v: 1 });
 * await Deno.remove(path);
 * ```
 */
export async function loadWeightsFrom(
  source: URL | string | Uint8Array | ArrayBuffer,
): Promise<WeightsFile> {
  if (source instanceof Uint8Array) return await readWeights(source);
  if (source instanceof ArrayBuffer) return await readWeights(new Uint8Array(source));
  let url: URL;
  if (source instanceof URL) url = source;
  else if (typeof source === "string") {
    try {
      url = new URL(source);
    } catch (e) {
      throw new InputError(`Not an absolute URL: ${JSON.stringify(source)}`, { cause: e });
    }
  } else {
    throw new InputError(
      `Expected a URL, URL string, Uint8Array or ArrayBuffer, got ${typeof source}`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await readUrl(url);
  } catch (e) {
    throw new InputError(
      `Could not load model weights from ${url.href}: ${e instanceof Error ? e.message : e}`,
      { cause: e },
    );
  }
  return await readWeights(bytes);
}

/**
 * Symmetric per-row int8 quantization: `scale[r] = max|row r| / 127` (as f32),
 * `q = round(x / scale)` clamped to ±127; an all-zero row gets scale 0 and zeros.
 *
 * @param data Row-major `[rows, cols]` values, all finite.
 * @param rows Number of rows (output channels).
 * @param cols Number of columns.
 * @returns The quantized values and one scale per row.
 * @throws {InputError} If the sizes disagree or a value is not finite.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { quantizeRowsInt8 } from "./weights_format.ts";
 * const { q, scales } = quantizeRowsInt8(new Float32Array([1, -0.5, 0, 0.25]), 2, 2);
 * deepStrictEqual(q, new Int8Array([127, -64, 0, 127]));
 * deepStrictEqual(scales, new Float32Array([1 / 127, 0.25 / 127]));
 * ```
 */
export function quantizeRowsInt8(
  data: Float32Array,
  rows: number,
  cols: number,
): { q: Int8Array; scales: Float32Array } {
  if (!Number.isSafeInteger(rows) || !Number.isSafeInteger(cols) || rows < 0 || cols < 0) {
    throw new InputError(`rows and cols must be non-negative integers, got ${rows}, ${cols}`);
  }
  if (!(data instanceof Float32Array) || data.length !== rows * cols) {
    throw new InputError(
      `Expected a Float32Array of ${rows}×${cols} = ${rows * cols} values, got ${
        data instanceof Float32Array ? data.length : typeof data
      }`,
    );
  }
  const q = new Int8Array(rows * cols);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = 0;
    for (let c = 0; c < cols; c++) {
      const v = data[base + c];
      if (!Number.isFinite(v)) {
        throw new InputError(`Value at row ${r}, column ${c} is not finite (${v})`);
      }
      const a = Math.abs(v);
      if (a > max) max = a;
    }
    const scale = Math.fround(max / 127);
    scales[r] = scale;
    if (scale === 0) continue;
    for (let c = 0; c < cols; c++) {
      const x = data[base + c] / scale;
      const v = Math.sign(x) * Math.round(Math.abs(x)); // round half away from zero
      q[base + c] = v > 127 ? 127 : v < -127 ? -127 : v;
    }
  }
  return { q, scales };
}

/**
 * Inverse of {@link quantizeRowsInt8}: `x = q * scale[row]`.
 *
 * @param q Row-major int8 values.
 * @param scales One scale per row.
 * @param rows Number of rows.
 * @param cols Number of columns.
 * @returns The dequantized values.
 * @throws {InputError} If the sizes disagree.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert";
 * import { dequantizeRowsInt8, quantizeRowsInt8 } from "./weights_format.ts";
 * const x = new Float32Array([0.5, -1, 2, 0]);
 * const { q, scales } = quantizeRowsInt8(x, 2, 2);
 * const y = dequantizeRowsInt8(q, scales, 2, 2);
 * ok(y.every((v, i) => Math.abs(v - x[i]) <= scales[i >> 1] / 2));
 * ```
 */
export function dequantizeRowsInt8(
  q: Int8Array,
  scales: Float32Array,
  rows: number,
  cols: number,
): Float32Array {
  if (q.length !== rows * cols || scales.length !== rows) {
    throw new InputError(
      `Expected ${rows}×${cols} values and ${rows} scales, got ${q.length} and ${scales.length}`,
    );
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const s = scales[r], base = r * cols;
    for (let c = 0; c < cols; c++) out[base + c] = q[base + c] * s;
  }
  return out;
}
