/**
 * The memory-code section of a compact `.r3m` (container version 2): the document memory as a
 * few 4-bit coefficients over the model's memory basis (`./memory_basis.ts`). Layout:
 * `basis id (2 bytes) | count (u8, 1 … 255) | count nibbles, two per byte, low nibble first`;
 * a value is 4-bit two's complement (-8 … 7); with an odd count the last high nibble is 0.
 *
 * The **empty code** ({@linkcode EMPTY_CODE}: no values, basis `"0000"`) stands for the memory of
 * nothing (the model's initial memory): the writer stored no memory because coding against one
 * cost more than it saved (`docs/FORMAT.md`, "Memory code"). It needs no basis to decode and has
 * no section: the containers say it with a version or kind of its own.
 *
 * @example
 * ```ts
 * import { codeSize, readCode, writeCode } from "./memory_code.ts";
 * import { ByteReader, ByteWriter } from "./byte_io.ts";
 * const code = { basis: "ab12", values: new Int8Array([1, -8, 7]) };
 * const buf = new Uint8Array(codeSize(code));
 * writeCode(new ByteWriter(buf), code);
 * console.log(buf.length, Array.from(readCode(new ByteReader(buf, 0, buf.length)).values)); // 5 [ 1, -8, 7 ]
 * ```
 *
 * @module
 */

import { FormatError } from "../errors.ts";
import { type ByteReader, type ByteWriter, hex, writeHex } from "./byte_io.ts";
import { CODE_MAX, CODE_MIN, MAX_COMPONENTS } from "./memory_basis.ts";

/** A document memory stored as a code over a memory basis. */
export interface MemoryCode {
  /** Id of the basis (4 lower-case hex characters, `MemoryBasis.id`). */
  basis: string;
  /** The coefficients, 1 … 255 values in -8 … 7; none in the empty code. */
  values: Int8Array;
}

/**
 * The empty code: no coefficients, the memory of nothing (see the module doc).
 *
 * @example
 * ```ts
 * import { EMPTY_CODE, isEmptyCode } from "./memory_code.ts";
 * console.log(EMPTY_CODE.basis, EMPTY_CODE.values.length, isEmptyCode(EMPTY_CODE)); // 0000 0 true
 * ```
 */
export const EMPTY_CODE: Readonly<MemoryCode> = Object.freeze({
  basis: "0000",
  values: new Int8Array(0),
});

/**
 * Whether `code` is the empty code (no coefficients).
 *
 * @example
 * ```ts
 * import { isEmptyCode } from "./memory_code.ts";
 * console.log(isEmptyCode(undefined), isEmptyCode({ basis: "0000", values: new Int8Array(0) })); // false true
 * ```
 */
export function isEmptyCode(code: MemoryCode | undefined): boolean {
  return code !== undefined && code.values.length === 0;
}

/**
 * Bytes of the code section (0 without a code, and for the empty code, which has none).
 *
 * @example
 * ```ts
 * import { codeSize } from "./memory_code.ts";
 * console.log(codeSize(undefined), codeSize({ basis: "0000", values: new Int8Array(16) })); // 0 11
 * ```
 */
export function codeSize(code: MemoryCode | undefined): number {
  return code && code.values.length > 0 ? 3 + Math.ceil(code.values.length / 2) : 0;
}

/**
 * Writes a (validated) code section.
 *
 * @example
 * ```ts
 * import { writeCode } from "./memory_code.ts";
 * import { ByteWriter } from "./byte_io.ts";
 * const buf = new Uint8Array(4);
 * writeCode(new ByteWriter(buf), { basis: "0102", values: new Int8Array([-1]) });
 * console.log(Array.from(buf)); // [ 1, 2, 1, 15 ]
 * ```
 */
export function writeCode(w: ByteWriter, code: MemoryCode): void {
  writeHex(code.basis, w.buf, w.pos);
  w.pos += 2;
  const n = code.values.length;
  w.buf[w.pos++] = n;
  for (let i = 0; i < n; i += 2) {
    const lo = code.values[i] & 15, hi = i + 1 < n ? code.values[i + 1] & 15 : 0;
    w.buf[w.pos++] = lo | (hi << 4);
  }
}

/**
 * Reads a code section.
 *
 * @throws {FormatError} When it is truncated, empty (the empty code has no section), or not
 *   canonical (odd count with a non-zero last high nibble).
 *
 * @example
 * ```ts
 * import { readCode } from "./memory_code.ts";
 * import { ByteReader } from "./byte_io.ts";
 * const buf = new Uint8Array([1, 2, 1, 15]);
 * console.log(readCode(new ByteReader(buf, 0, 4))); // { basis: "0102", values: Int8Array(1) [ -1 ] }
 * ```
 */
export function readCode(r: ByteReader): MemoryCode {
  r.need(3, "The memory code");
  const basis = hex(r.buf.subarray(r.pos, r.pos + 2));
  r.pos += 2;
  const n = r.buf[r.pos++];
  if (n === 0) throw new FormatError(`The memory code is empty`);
  const bytes = Math.ceil(n / 2);
  r.need(bytes, `A memory code of ${n} values`);
  const values = new Int8Array(n);
  for (let i = 0; i < n; i += 2) {
    const b = r.buf[r.pos++];
    values[i] = ((b & 15) << 28) >> 28;
    if (i + 1 < n) values[i + 1] = (b << 24) >> 28;
    else if (b >> 4 !== 0) throw new FormatError(`The memory code's padding nibble is not 0`);
  }
  return { basis, values };
}

/**
 * Checks a code for `new Memory` / the reader; returns a message for the first problem, or
 * `null` when it is fine. (A code needs the compact container and a slot-less document node,
 * which `validateMemoryData` checks.)
 *
 * @example
 * ```ts
 * import { codeProblem } from "./memory_code.ts";
 * console.log(codeProblem({ basis: "00ff", values: new Int8Array([9]) })); // "code values must be in -8..7, got 9"
 * ```
 */
export function codeProblem(code: unknown): string | null {
  if (typeof code !== "object" || code === null) return `code must be { basis, values }`;
  const { basis, values } = code as MemoryCode;
  if (typeof basis !== "string" || !/^[0-9a-f]{4}$/.test(basis)) {
    return `code.basis must be 4 lower-case hex characters`;
  }
  if (!(values instanceof Int8Array) || values.length > MAX_COMPONENTS) {
    return `code.values must be an Int8Array of 0..${MAX_COMPONENTS} values`;
  }
  if (values.length === 0 && basis !== EMPTY_CODE.basis) {
    return `the empty code (no values) has basis "${EMPTY_CODE.basis}", got "${basis}"`;
  }
  for (const v of values) {
    if (v < CODE_MIN || v > CODE_MAX) return `code values must be in -8..7, got ${v}`;
  }
  return null;
}
