/**
 * Reading a weights file: the prefix, the hash, the header, and the tensor index, every region
 * checked for bounds, alignment, size and overlap before a view of it is returned.
 *
 * @module
 */
import { InputError } from "../../errors.ts";
import {
  fail,
  HASH_BYTES,
  isPlainObject,
  MAX_HEADER_BYTES,
  numelOf,
  PREFIX_BYTES,
  readF32,
  RESERVED_KEYS,
  rowsOf,
  sha256,
  toHex,
  WEIGHTS_ALIGNMENT,
  WEIGHTS_MAGIC,
  WEIGHTS_VERSION,
} from "./layout.ts";
import type { Int8Tensor, Tensor, WeightsFile, WeightsHeader } from "./types.ts";

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
 * import { readWeights, writeWeights } from "../weights_format.ts";
 * import { FormatError } from "../../errors.ts";
 * const bytes = await writeWeights({ config: {}, tokenizer: new Uint8Array(4), tensors: [] });
 * bytes[20] ^= 1;
 * await rejects(readWeights(bytes), FormatError); // "… SHA-256 mismatch …"
 * ```
 */
export async function readWeights(bytes: Uint8Array): Promise<WeightsFile> {
  if (!(bytes instanceof Uint8Array)) {
    throw new InputError(`Expected the weights file as a Uint8Array, got ${typeof bytes}`);
  }
  const H = readPrefix(bytes);
  const dataEnd = bytes.length - HASH_BYTES;
  const text = decodeHeader(bytes, H);
  const stored = bytes.subarray(dataEnd);
  await verifyHash(bytes, dataEnd, text.parsed);
  const header = checkHeader(text);
  const regions = regionChecker(PREFIX_BYTES + H, dataEnd);
  const tk = header.tokenizer;
  if (!isPlainObject(tk)) fail("header.tokenizer must be an object { offset, length }");
  if (!Number.isSafeInteger(tk.length) || tk.length < 0) {
    fail(`tokenizer length ${JSON.stringify(tk.length)} is not a non-negative integer`);
  }
  const tokStart = regions.region("tokenizer", tk.offset, tk.length);
  const tokenizerBytes = bytes.subarray(tokStart, tokStart + tk.length);
  const tensors = readTensorIndex(bytes, header, regions.region);
  regions.checkOverlaps();
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

/** Checks the 12-byte prefix (magic, version, header length) and returns the header length. */
function readPrefix(bytes: Uint8Array): number {
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
  if (PREFIX_BYTES + H > len - HASH_BYTES) {
    fail(`header of ${H} bytes does not fit in a file of ${len} bytes (truncated?)`);
  }
  return H;
}

/** The header as text and JSON, each undefined (with the parse error) where it is not. */
interface HeaderText {
  headerText: string | undefined;
  parsed: unknown;
  parseError: unknown;
}

/**
 * Decodes the header before the hash is checked, so that a hash mismatch can say whether the
 * file is truncated (its header places data past its end); errors are reported after the hash.
 */
function decodeHeader(bytes: Uint8Array, H: number): HeaderText {
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
  return { headerText, parsed, parseError };
}

/** Checks the closing SHA-256; on a mismatch, says "truncated" when the header shows it. */
async function verifyHash(bytes: Uint8Array, dataEnd: number, parsed: unknown): Promise<void> {
  const stored = bytes.subarray(dataEnd);
  const actual = await sha256(bytes.subarray(0, dataEnd));
  if (!actual.every((b, i) => b === stored[i])) {
    const furthest = furthestRegionEnd(parsed);
    if (furthest > dataEnd) {
      fail(
        `file is truncated: its header places data up to byte ${furthest}, but it has ${bytes.length}`,
      );
    }
    fail(
      `SHA-256 mismatch (stored ${toHex(stored).slice(0, 16)}…, computed ${
        toHex(actual).slice(0, 16)
      }…): the file is damaged or truncated`,
    );
  }
}

/** The header as an object with a JSON config and a string `createdBy`. */
function checkHeader({ headerText, parsed, parseError }: HeaderText): WeightsHeader {
  if (headerText === undefined) fail("header is not valid UTF-8");
  if (parseError !== undefined) fail(`header is not valid JSON (${parseError})`);
  if (!isPlainObject(parsed)) fail("header is not a JSON object");
  const header = parsed as WeightsHeader;
  if (!isPlainObject(header.config)) fail("header.config must be a JSON object");
  if (typeof header.createdBy !== "string") fail("header.createdBy must be a string");
  return header;
}

/** Checks a region (`what` at `offset`, `length` bytes) and returns its start. */
type RegionCheck = (what: string, offset: unknown, length: number) => number;

/**
 * Checks data regions as they are declared (aligned, after the header, before the hash) and,
 * once all are, that none overlaps another.
 */
function regionChecker(
  minOffset: number,
  dataEnd: number,
): { region: RegionCheck; checkOverlaps: () => void } {
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
  const checkOverlaps = () => {
    regions.sort((a, b) => a.start - b.start);
    for (let i = 1; i < regions.length; i++) {
      if (regions[i].start < regions[i - 1].end) {
        fail(`${regions[i].what} overlaps ${regions[i - 1].what}`);
      }
    }
  };
  return { region, checkOverlaps };
}

/** The tensor index: every entry checked, its data (and scales) read through `region`. */
function readTensorIndex(
  bytes: Uint8Array,
  header: WeightsHeader,
  region: RegionCheck,
): Map<string, Tensor> {
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
  return tensors;
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
