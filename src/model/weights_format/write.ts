/**
 * Writing a weights file: validating the tensors, placing every region at a multiple of 64,
 * writing the header (whose length depends on the offsets it holds), the data and the hash.
 *
 * @module
 */
import { InputError } from "../../errors.ts";
import {
  align,
  HASH_BYTES,
  isPlainObject,
  MAX_HEADER_BYTES,
  numelOf,
  PREFIX_BYTES,
  RESERVED_KEYS,
  rowsOf,
  sha256,
  WEIGHTS_MAGIC,
  WEIGHTS_VERSION,
  writeF32,
} from "./layout.ts";
import type { NamedTensor, TensorEntry, WeightsHeader, WeightsInput } from "./types.ts";

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
 * import { readWeights, writeWeights } from "../weights_format.ts";
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
  const { config, tokenizer, tensors, createdBy, metadata } = checkInput(input);
  const layout = planLayout(tokenizer, tensors);
  const { dataStart, headerBytes } = encodeHeader(layout, config, tokenizer, createdBy, metadata);
  const total = dataStart + layout.dataBytes + HASH_BYTES;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(WEIGHTS_MAGIC, 0);
  dv.setUint32(4, WEIGHTS_VERSION, true);
  dv.setUint32(8, headerBytes.length, true);
  out.set(headerBytes, PREFIX_BYTES);
  out.set(tokenizer, dataStart + layout.tokRel);
  for (const { t, dataRel, scalesRel } of layout.plan) {
    const at = dataStart + dataRel;
    if (t.dtype === "i8") {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
      if (t.scales && scalesRel >= 0) writeF32(out, dv, dataStart + scalesRel, t.scales);
    } else writeF32(out, dv, at, t.data);
  }
  out.set(await sha256(out.subarray(0, total - HASH_BYTES)), total - HASH_BYTES);
  return out;
}

/** The input with its defaults, checked: a JSON config, bytes, an array, no reserved key. */
function checkInput(input: WeightsInput): Required<WeightsInput> {
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
  return { config, tokenizer, tensors, createdBy, metadata };
}

/** Where a tensor goes, relative to the start of the data section (`scalesRel` -1: none). */
interface Placed {
  t: NamedTensor;
  length: number;
  dataRel: number;
  scalesRel: number;
}

/** The data section's layout: the tokenizer, then each tensor's data and scales, in order. */
interface Layout {
  tokRel: number;
  plan: Placed[];
  dataBytes: number;
}

/** Checks every tensor (in order) and places every region at a multiple of 64. */
function planLayout(tokenizer: Uint8Array, tensors: NamedTensor[]): Layout {
  const names = new Set<string>();
  let rel = 0;
  const place = (length: number) => {
    const at = rel;
    rel = align(rel + length);
    return at;
  };
  const tokRel = place(tokenizer.length);
  const plan = tensors.map((t, i) => {
    const length = checkTensor(t, i, names);
    const dataRel = place(length);
    const scalesRel = t.dtype === "i8" && t.scales ? place(t.scales.length * 4) : -1;
    return { t, length, dataRel, scalesRel };
  });
  return { tokRel, plan, dataBytes: rel };
}

/** Checks tensor `i` (name unique among `names`, which it joins) and returns its data's bytes. */
function checkTensor(t: NamedTensor, i: number, names: Set<string>): number {
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
    throw new InputError(
      `${what}: dtype must be "i8" or "f32", got ${String((t as { dtype: unknown }).dtype)}`,
    );
  }
  if (t.data.length !== numel) {
    throw new InputError(
      `${what}: ${t.data.length} values for shape [${t.shape}] (${numel} elements)`,
    );
  }
  return length;
}

/**
 * The header's bytes and where the data section starts: the header holds absolute offsets, so
 * its length depends on their digits; iterate to a fixed point.
 */
function encodeHeader(
  layout: Layout,
  config: Record<string, unknown>,
  tokenizer: Uint8Array,
  createdBy: string,
  metadata: Record<string, unknown>,
): { dataStart: number; headerBytes: Uint8Array } {
  const encoder = new TextEncoder();
  const headerFor = (dataStart: number) => {
    const header: WeightsHeader = {
      createdBy,
      config,
      tokenizer: { offset: dataStart + layout.tokRel, length: tokenizer.length },
      tensors: layout.plan.map(({ t, length, dataRel, scalesRel }) => {
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
  return { dataStart, headerBytes };
}
