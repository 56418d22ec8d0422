/**
 * The byte layout shared by the weights file's reader and writer: the fixed prefix, the
 * alignment of data regions, the closing hash, and the small byte helpers both use.
 *
 * @module
 */
import { FormatError } from "../../errors.ts";

/** The four bytes every weights file starts with: `R3MW`. */
export const WEIGHTS_MAGIC: Uint8Array = new Uint8Array([0x52, 0x33, 0x4d, 0x57]);
/** Format version this module writes and reads. */
export const WEIGHTS_VERSION = 1;
/** Every data region (tokenizer, tensor data, scales) starts at a multiple of this. */
export const WEIGHTS_ALIGNMENT = 64;
/** Largest accepted header, in bytes. */
export const MAX_HEADER_BYTES: number = 16 << 20;

/** Bytes before the header: magic, version, header length. */
export const PREFIX_BYTES = 12;
/** Bytes of the SHA-256 that ends the file. */
export const HASH_BYTES = 32;
/** Header keys that are not free metadata. */
export const RESERVED_KEYS = new Set(["config", "tokenizer", "tensors", "createdBy"]);
/** Whether this machine is little-endian (then f32 data are copied, not converted). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** `n` rounded up to a multiple of {@link WEIGHTS_ALIGNMENT}. */
export function align(n: number): number {
  return Math.ceil(n / WEIGHTS_ALIGNMENT) * WEIGHTS_ALIGNMENT;
}

/** Rows of a tensor for per-row scales: all dimensions but the last. */
export function rowsOf(shape: number[]): number {
  let r = 1;
  for (let i = 0; i < shape.length - 1; i++) r *= shape[i];
  return r;
}

/** Number of elements of a shape. */
export function numelOf(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Whether `v` is a JSON object (not null, not an array). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** SHA-256 of `bytes`. */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  // crypto.subtle wants an ArrayBuffer-backed view
  const view = bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : new Uint8Array(bytes);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", view));
}

/** Writes f32 values little-endian at `at`. */
export function writeF32(out: Uint8Array, dv: DataView, at: number, values: Float32Array): void {
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
  } else {
    for (let i = 0; i < values.length; i++) dv.setFloat32(at + 4 * i, values[i], true);
  }
}

/** `count` little-endian f32 values at `at`: a view when aligned, else a copy. */
export function readF32(bytes: Uint8Array, at: number, count: number): Float32Array {
  const abs = bytes.byteOffset + at;
  if (LITTLE_ENDIAN && abs % 4 === 0) return new Float32Array(bytes.buffer, abs, count);
  const out = new Float32Array(count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) out[i] = dv.getFloat32(at + 4 * i, true);
  return out;
}

/** Throws the reader's {@link FormatError}. */
export function fail(message: string): never {
  throw new FormatError(`Invalid weights file: ${message}`);
}
