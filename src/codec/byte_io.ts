/**
 * Byte-level building blocks shared by the two `.r3m` containers (`./r3m_format.ts`, the full
 * one, and `./r3m_compact.ts`): canonical LEB128 varints, a bounds-checked reader that throws
 * {@linkcode FormatError}, hex, and the meta section (which both containers store the same way).
 *
 * @example
 * ```ts
 * import { ByteReader, ByteWriter, varintSize } from "./byte_io.ts";
 * const buf = new Uint8Array(varintSize(300));
 * new ByteWriter(buf).varint(300);
 * console.log(new ByteReader(buf, 0, buf.length).varint("n")); // 300
 * ```
 *
 * @module
 */

import { FormatError } from "../errors.ts";

/** Entries in a meta section, at most. */
export const MAX_META_ENTRIES = 64;
/** UTF-8 bytes of one meta key (at least 1). */
export const MAX_META_KEY_BYTES = 64;
/** UTF-8 bytes of one meta value. */
export const MAX_META_VALUE_BYTES = 1024;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, b) => {
  return b.toString(16).padStart(2, "0");
});

/**
 * Lower-case hex of `bytes`.
 *
 * @example
 * ```ts
 * import { hex } from "./byte_io.ts";
 * console.log(hex(new Uint8Array([1, 171]))); // "01ab"
 * ```
 */
export function hex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX_BYTE[bytes[i]];
  return s;
}

/**
 * Writes the bytes of lower-case hex string `h` (even length) into `out` at `offset`.
 *
 * @example
 * ```ts
 * import { writeHex } from "./byte_io.ts";
 * const out = new Uint8Array(2);
 * writeHex("01ab", out, 0);
 * console.log(out); // Uint8Array(2) [ 1, 171 ]
 * ```
 */
export function writeHex(h: string, out: Uint8Array, offset: number): void {
  for (let i = 0; i < h.length / 2; i++) out[offset + i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
}

/**
 * Bytes of the unsigned LEB128 encoding of `v` (0 ≤ v < 2^32).
 *
 * @example
 * ```ts
 * import { varintSize } from "./byte_io.ts";
 * console.log(varintSize(127), varintSize(128)); // 1 2
 * ```
 */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/**
 * Sequential writer into a buffer sized in advance (no bounds growth: the containers plan their
 * exact size first).
 *
 * @example
 * ```ts
 * import { ByteWriter } from "./byte_io.ts";
 * const w = new ByteWriter(new Uint8Array(3));
 * w.varint(200);
 * w.bytes(new Uint8Array([7]));
 * console.log(w.pos, w.buf); // 3 Uint8Array(3) [ 200, 1, 7 ]
 * ```
 */
export class ByteWriter {
  /** Next byte to write. */
  pos = 0;
  /** A little-endian view of the whole buffer. */
  readonly view: DataView;
  /** @param buf The output buffer. */
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  /** Unsigned LEB128, canonical. */
  varint(v: number): void {
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  /** Raw bytes. */
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

/**
 * Sequential reader over `buf[start, end)` that throws {@linkcode FormatError} on truncation,
 * overlong or oversized varints.
 *
 * @example
 * ```ts
 * import { ByteReader } from "./byte_io.ts";
 * import { FormatError } from "../errors.ts";
 * const r = new ByteReader(new Uint8Array([0x80, 0x00]), 0, 2);
 * try { r.varint("count"); } catch (e) { console.log(e instanceof FormatError); } // true
 * ```
 */
export class ByteReader {
  /** Next byte to read. */
  pos: number;
  /**
   * @param buf The bytes.
   * @param start First byte to read.
   * @param end End (exclusive) of what may be read.
   */
  constructor(readonly buf: Uint8Array, start: number, readonly end: number) {
    this.pos = start;
  }
  /** Bytes left before `end`. */
  get remaining(): number {
    return this.end - this.pos;
  }
  /**
   * Canonical unsigned LEB128 of at most 5 bytes (value < 2^32). `what` (and `node`, the index
   * of the node being read, if any) only go into error messages.
   */
  varint(what: string, node = -1): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) throw this.#err(`Truncated payload while reading`, what, node);
      const b = this.buf[this.pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (b === 0 && i > 0) throw this.#err(`Non-canonical (overlong) varint for`, what, node);
        if (v > 0xffffffff) throw this.#err(`Value does not fit in 32 bits:`, what, node);
        return v;
      }
      mul *= 128;
    }
    throw this.#err(`Varint longer than 5 bytes for`, what, node);
  }
  /** One byte. */
  u8(what: string, node = -1): number {
    if (this.pos >= this.end) throw this.#err(`Truncated payload while reading`, what, node);
    return this.buf[this.pos++];
  }
  #err(problem: string, what: string, node: number): FormatError {
    return new FormatError(`${problem} ${node >= 0 ? `node ${node} ` : ""}${what}`);
  }
  /** Check that `n` more bytes are there, before anything of size `n` is allocated. */
  need(n: number, what: string): void {
    if (n > this.end - this.pos) {
      throw new FormatError(
        `${what} needs ${n} bytes but only ${this.end - this.pos} remain in the payload`,
      );
    }
  }
}

/** A meta section ready to write: UTF-8 key/value pairs sorted by key. */
export type MetaPlan = Array<[Uint8Array, Uint8Array]>;

/**
 * Encodes `meta` for writing: entries sorted by key (UTF-16 code-unit order, JS's default), so
 * the encoding is canonical.
 *
 * @example
 * ```ts
 * import { metaSize, planMeta } from "./byte_io.ts";
 * console.log(metaSize(planMeta({ b: "2", a: "1" }))); // 7
 * ```
 */
export function planMeta(meta: Record<string, string> | undefined): MetaPlan {
  if (meta === undefined) return [];
  return Object.entries(meta)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]): [Uint8Array, Uint8Array] => [utf8Encoder.encode(k), utf8Encoder.encode(v)]);
}

/**
 * Bytes of the meta section of `plan` (0 when it is empty: no section is written).
 *
 * @example
 * ```ts
 * import { metaSize, planMeta } from "./byte_io.ts";
 * console.log(metaSize(planMeta({})), metaSize(planMeta({ k: "v" }))); // 0 5
 * ```
 */
export function metaSize(plan: MetaPlan): number {
  if (plan.length === 0) return 0;
  let size = varintSize(plan.length);
  for (const [k, v] of plan) {
    size += varintSize(k.length) + k.length + varintSize(v.length) + v.length;
  }
  return size;
}

/**
 * Writes a non-empty meta section.
 *
 * @example
 * ```ts
 * import { ByteReader, ByteWriter, metaSize, planMeta, readMeta, writeMeta } from "./byte_io.ts";
 * const plan = planMeta({ lang: "en" });
 * const buf = new Uint8Array(metaSize(plan));
 * writeMeta(new ByteWriter(buf), plan);
 * console.log(readMeta(new ByteReader(buf, 0, buf.length))); // { lang: "en" }
 * ```
 */
export function writeMeta(w: ByteWriter, plan: MetaPlan): void {
  w.varint(plan.length);
  for (const [k, v] of plan) {
    w.varint(k.length);
    w.bytes(k);
    w.varint(v.length);
    w.bytes(v);
  }
}

/**
 * Reads a meta section: count, then entries with unique keys in strictly increasing order,
 * valid UTF-8, within the limits.
 *
 * @throws {FormatError} On any violation.
 *
 * @example
 * ```ts
 * import { ByteReader, readMeta } from "./byte_io.ts";
 * import { FormatError } from "../errors.ts";
 * const zeroEntries = new Uint8Array([0]);
 * try { readMeta(new ByteReader(zeroEntries, 0, 1)); } catch (e) { console.log(e instanceof FormatError); } // true
 * ```
 */
export function readMeta(r: ByteReader): Record<string, string> {
  const count = r.varint("meta entry count");
  if (count < 1 || count > MAX_META_ENTRIES) {
    throw new FormatError(`Meta entry count ${count} out of range 1..${MAX_META_ENTRIES}`);
  }
  const meta: Record<string, string> = {};
  let prev: string | undefined;
  for (let i = 0; i < count; i++) {
    const kl = r.varint("meta key length");
    if (kl < 1 || kl > MAX_META_KEY_BYTES) {
      throw new FormatError(`Meta key length ${kl} out of range 1..${MAX_META_KEY_BYTES}`);
    }
    r.need(kl, "A meta key");
    const key = utf8(r.buf.subarray(r.pos, r.pos + kl), "meta key");
    r.pos += kl;
    const vl = r.varint("meta value length");
    if (vl > MAX_META_VALUE_BYTES) {
      throw new FormatError(`Meta value length ${vl} exceeds ${MAX_META_VALUE_BYTES}`);
    }
    r.need(vl, "A meta value");
    const value = utf8(r.buf.subarray(r.pos, r.pos + vl), "meta value");
    r.pos += vl;
    if (prev !== undefined && !(prev < key)) {
      throw new FormatError(`Meta keys must be unique and sorted; ${JSON.stringify(key)} is not`);
    }
    prev = key;
    // defineProperty, so that a key like "__proto__" stays an ordinary own property.
    Object.defineProperty(meta, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return meta;
}

function utf8(b: Uint8Array, what: string): string {
  try {
    return utf8Decoder.decode(b);
  } catch {
    throw new FormatError(`The ${what} is not valid UTF-8`);
  }
}
