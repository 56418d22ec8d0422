/**
 * The `Memory` type: a tree of int8 memory slots (document → paragraphs → sentences) written by
 * one model, optionally with the range-coded residual that makes it lossless, and its `.r3m`
 * bytes (layout in `docs/FORMAT.md`).
 *
 * @example
 * ```ts
 * import { Memory } from "./memory.ts";
 * const mem = new Memory({
 *   modelFingerprint: "ab".repeat(32),
 *   slotCount: 2,
 *   dim: 4,
 *   textBytes: 11,
 *   tokenCount: 3,
 *   nodes: [{
 *     level: "document", parent: -1, byteStart: 0, byteEnd: 11, tokenStart: 0, tokenEnd: 3,
 *     slots: new Int8Array(8), scales: new Float32Array([0.1, 0.2]),
 *   }],
 * });
 * const again = Memory.fromBytes(mem.toBytes(), { expectModel: "ab".repeat(32) });
 * console.log(again.levels(), again.lossless); // { document: 1, paragraph: 0, sentence: 0 } false
 * ```
 *
 * @module
 */

import { InputError } from "../errors.ts";
import { type DecodeOptions, decodeR3M } from "./r3m_read.ts";
import {
  encodedSize,
  encodeValidated,
  normalizeFingerprint,
  validateMemoryData,
} from "./r3m_format.ts";

import type { MemoryCode } from "./memory_code.ts";
import type { MemoryData, MemoryNode } from "./memory_data.ts";

export type { DecodeOptions } from "./r3m_read.ts";
export type { MemoryCode } from "./memory_code.ts";
export type { MemoryData, MemoryNode, MemoryTurn, NodeLevel } from "./memory_data.ts";

/** Node counts per level. */
export interface LevelCounts {
  /** Always 1. */
  document: number;
  /** Paragraph nodes. */
  paragraph: number;
  /** Sentence nodes. */
  sentence: number;
}

/** Size statistics of a memory (see {@linkcode Memory.stats}). */
export interface MemoryStats {
  /** Size of the `.r3m` encoding in bytes. */
  bytes: number;
  /** Node counts per level. */
  nodes: LevelCounts;
  /**
   * Memory slots stored, in all nodes (`slotCount` per node that keeps its slots, or whose
   * memory is stored as a code).
   */
  slots: number;
  /** Bytes of the residual (0 when lossy). */
  residualBytes: number;
  /** Length of the original text in UTF-8 bytes. */
  textBytes: number;
  /** `textBytes / bytes`: above 1 the memory is smaller than the text. */
  ratio: number;
}

/** Data just produced by the reader (already validated), handed to the constructor. */
let trustedData: MemoryData | undefined;

function trusted(data: MemoryData): Memory {
  trustedData = data;
  try {
    return new Memory(data);
  } finally {
    trustedData = undefined;
  }
}

/**
 * A memory: validated {@linkcode MemoryData} plus its `.r3m` encoding. A `Memory` takes
 * ownership of the data it is given (typed arrays are not copied); do not modify them
 * afterwards.
 *
 * @example
 * ```ts
 * import { Memory } from "./memory.ts";
 * const node = (level: "document" | "paragraph" | "sentence", parent: number, a: number, b: number) => ({
 *   level, parent, byteStart: a, byteEnd: b, tokenStart: a, tokenEnd: b,
 *   slots: new Int8Array(4), scales: new Float32Array([1]),
 * });
 * const mem = new Memory({
 *   modelFingerprint: "0f".repeat(32), slotCount: 1, dim: 4, textBytes: 10, tokenCount: 10,
 *   nodes: [node("document", -1, 0, 10), node("paragraph", 0, 0, 10), node("sentence", 1, 0, 4),
 *     node("sentence", 1, 5, 10)],
 *   residual: { codedTokens: 10, bytes: new Uint8Array([1, 2, 3]) },
 * });
 * console.log(mem.lossless, mem.levels().sentence, mem.stats().bytes === mem.toBytes().length);
 * // true 2 true
 * ```
 */
export class Memory {
  readonly #data: MemoryData;

  /**
   * Wrap and validate memory data.
   *
   * @param data The memory. Validated (see `validateMemoryData` in `./r3m_format.ts`); the
   *   fingerprint may be given in upper case and is normalised.
   * @throws {InputError} If the data is not a valid memory.
   */
  constructor(data: MemoryData) {
    if (data === trustedData && data !== undefined) {
      this.#data = data;
      return;
    }
    if (typeof data !== "object" || data === null) {
      throw new InputError(`Memory data must be an object`);
    }
    const fp = data.modelFingerprint;
    // Full fingerprints go through normalizeFingerprint (its message names the expected form);
    // a compact memory's short one is only lower-cased and left to validateMemoryData.
    const short = data.container === "compact" && typeof fp === "string" && fp.length !== 64;
    const copy = {
      ...data,
      modelFingerprint: short ? fp.toLowerCase() : normalizeFingerprint(fp),
    };
    validateMemoryData(copy);
    this.#data = copy;
  }

  /**
   * Decode and validate `.r3m` bytes (see `decodeR3M` in `./r3m_read.ts` for every check).
   *
   * @param bytes The file.
   * @param opts `expectModel`: the fingerprint of the model that will read the memory.
   * @throws {FormatError} If the bytes are not a valid `.r3m` file.
   * @throws {ModelMismatchError} If `opts.expectModel` is given and differs from the file's.
   * @throws {InputError} If `bytes` is not a Uint8Array or `expectModel` not a fingerprint.
   *
   * @example
   * ```ts
   * import { Memory } from "./memory.ts";
   * import { ModelMismatchError } from "../errors.ts";
   * const bytes = new Memory({
   *   modelFingerprint: "11".repeat(32), slotCount: 1, dim: 1, textBytes: 0, tokenCount: 0,
   *   nodes: [{ level: "document", parent: -1, byteStart: 0, byteEnd: 0, tokenStart: 0,
   *     tokenEnd: 0, slots: new Int8Array(1), scales: new Float32Array(1) }],
   * }).toBytes();
   * try {
   *   Memory.fromBytes(bytes, { expectModel: "22".repeat(32) });
   * } catch (e) {
   *   console.log(e instanceof ModelMismatchError); // true
   * }
   * ```
   */
  static fromBytes(bytes: Uint8Array, opts?: DecodeOptions): Memory {
    return trusted(decodeR3M(bytes, opts));
  }

  /**
   * The `.r3m` encoding (a new array each call). Canonical: `Memory.fromBytes(b).toBytes()`
   * equals `b` for every valid file `b`.
   *
   * @example
   * ```ts
   * import { Memory } from "./memory.ts";
   * const mem = new Memory({
   *   modelFingerprint: "ab".repeat(32), slotCount: 1, dim: 3, textBytes: 0, tokenCount: 0,
   *   nodes: [{ level: "document", parent: -1, byteStart: 0, byteEnd: 0, tokenStart: 0,
   *     tokenEnd: 0, slots: new Int8Array([1, 2, 3]), scales: new Float32Array([0.25]) }],
   * });
   * console.log(mem.toBytes().length === mem.byteLength); // true
   * ```
   */
  toBytes(): Uint8Array {
    return encodeValidated(this.#data);
  }

  /** The underlying data (owned by the memory: read it, do not modify it). */
  get data(): Readonly<MemoryData> {
    return this.#data;
  }

  /** The node tree, root first. */
  get nodes(): readonly MemoryNode[] {
    return this.#data.nodes;
  }

  /** SHA-256 (hex) of the weights of the model that wrote this memory. */
  get modelFingerprint(): string {
    return this.#data.modelFingerprint;
  }

  /** The container {@linkcode Memory.toBytes} writes: `"full"` or `"compact"`. */
  get container(): "full" | "compact" {
    return this.#data.container ?? "full";
  }

  /**
   * Whether the model with SHA-256 `fingerprint` (64 hex characters) wrote this memory: equal
   * fingerprints, or, for a compact memory read without `expectModel`, a matching prefix.
   *
   * @example
   * ```ts
   * import { Memory } from "./memory.ts";
   * const mem = new Memory({
   *   modelFingerprint: "ab".repeat(32), slotCount: 1, dim: 1, textBytes: 0, tokenCount: 0,
   *   nodes: [{ level: "document", parent: -1, byteStart: 0, byteEnd: 0, tokenStart: 0,
   *     tokenEnd: 0, slots: new Int8Array(1), scales: new Float32Array(1) }],
   * });
   * console.log(mem.writtenBy("ab".repeat(32)), mem.writtenBy("cd".repeat(32))); // true false
   * ```
   */
  writtenBy(fingerprint: string): boolean {
    const mine = this.#data.modelFingerprint;
    const theirs = String(fingerprint).toLowerCase();
    return theirs.length === 64 && (mine.length === 64 ? mine === theirs : theirs.startsWith(mine));
  }

  /** Memory slots per node. */
  get slotCount(): number {
    return this.#data.slotCount;
  }

  /** Width of one slot. */
  get dim(): number {
    return this.#data.dim;
  }

  /** Length of the original text in UTF-8 bytes. */
  get textBytes(): number {
    return this.#data.textBytes;
  }

  /** Length of the original text in tokens. */
  get tokenCount(): number {
    return this.#data.tokenCount;
  }

  /** The residual, if the memory is lossless. */
  get residual(): MemoryData["residual"] {
    return this.#data.residual;
  }

  /** Free-form annotations, if any. */
  get meta(): Readonly<Record<string, string>> | undefined {
    return this.#data.meta;
  }

  /** The document memory's code over the model's memory basis, if it is stored that way. */
  get code(): MemoryCode | undefined {
    return this.#data.code;
  }

  /** Whether the memory carries a residual that restores the exact text. */
  get lossless(): boolean {
    return this.#data.residual !== undefined;
  }

  /** Size of {@linkcode Memory.toBytes}'s result, computed without encoding. */
  get byteLength(): number {
    return encodedSize(this.#data);
  }

  /**
   * Node counts per level.
   *
   * @example
   * ```ts
   * import { Memory } from "./memory.ts";
   * const mem = new Memory({
   *   modelFingerprint: "ab".repeat(32), slotCount: 1, dim: 1, textBytes: 0, tokenCount: 0,
   *   nodes: [{ level: "document", parent: -1, byteStart: 0, byteEnd: 0, tokenStart: 0,
   *     tokenEnd: 0, slots: new Int8Array(1), scales: new Float32Array(1) }],
   * });
   * console.log(mem.levels()); // { document: 1, paragraph: 0, sentence: 0 }
   * ```
   */
  levels(): LevelCounts {
    const c: LevelCounts = { document: 0, paragraph: 0, sentence: 0 };
    for (const n of this.#data.nodes) c[n.level]++;
    return c;
  }

  /**
   * Indices of the children of node `index`, in text order.
   *
   * @example
   * ```ts
   * import { Memory } from "./memory.ts";
   * const n = (level: "document" | "paragraph", parent: number) => ({ level, parent,
   *   byteStart: 0, byteEnd: 0, tokenStart: 0, tokenEnd: 0, slots: new Int8Array(1),
   *   scales: new Float32Array(1) });
   * const mem = new Memory({ modelFingerprint: "ab".repeat(32), slotCount: 1, dim: 1,
   *   textBytes: 0, tokenCount: 0, nodes: [n("document", -1), n("paragraph", 0), n("paragraph", 0)] });
   * console.log(mem.children(0)); // [ 1, 2 ]
   * ```
   */
  children(index: number): number[] {
    const out: number[] = [];
    const nodes = this.#data.nodes;
    for (let i = index + 1; i < nodes.length; i++) if (nodes[i].parent === index) out.push(i);
    return out;
  }

  /**
   * Size statistics: encoded bytes, nodes per level, slots, residual bytes, text bytes and the
   * compression ratio `textBytes / bytes`.
   *
   * @example
   * ```ts
   * import { Memory } from "./memory.ts";
   * const mem = new Memory({
   *   modelFingerprint: "ab".repeat(32), slotCount: 4, dim: 8, textBytes: 1000, tokenCount: 250,
   *   nodes: [{ level: "document", parent: -1, byteStart: 0, byteEnd: 1000, tokenStart: 0,
   *     tokenEnd: 250, slots: new Int8Array(32), scales: new Float32Array(4) }],
   * });
   * const s = mem.stats();
   * console.log(s.bytes, s.slots, s.ratio > 1); // 115 4 true
   * ```
   */
  stats(): MemoryStats {
    const bytes = this.byteLength;
    const d = this.#data;
    return {
      bytes,
      nodes: this.levels(),
      // A memory code stands for the document node's slots.
      slots: d.nodes.reduce((n, node) => n + (node.slots.length > 0 ? d.slotCount : 0), 0) +
        (d.code ? d.slotCount : 0),
      residualBytes: d.residual?.bytes.length ?? 0,
      textBytes: d.textBytes,
      ratio: d.textBytes / bytes,
    };
  }

  /**
   * The same memory without its residual (lossy, smaller). Shares the node data.
   *
   * @throws {InputError} For a compact memory (no slots: nothing would be left).
   *
   * @example
   * ```ts
   * import { Memory } from "./memory.ts";
   * const mem = new Memory({
   *   modelFingerprint: "ab".repeat(32), slotCount: 1, dim: 1, textBytes: 0, tokenCount: 0,
   *   nodes: [{ level: "document", parent: -1, byteStart: 0, byteEnd: 0, tokenStart: 0,
   *     tokenEnd: 0, slots: new Int8Array(1), scales: new Float32Array(1) }],
   *   residual: { codedTokens: 0, bytes: new Uint8Array(0) },
   * });
   * console.log(mem.lossless, mem.withoutResidual().lossless); // true false
   * ```
   */
  withoutResidual(): Memory {
    if (this.container === "compact") {
      // A compact memory has no slots (at most a code of its document memory): the compact
      // container holds lossless memories only. Compress with slots "all" for a lossy one.
      throw new InputError(
        "A compact memory has no slots; it cannot drop its residual " +
          '(compress with slots "all" or "document" for a lossy memory)',
      );
    }
    // A conversation's turns describe its residual: they go with it.
    const { residual: _, turns: _turns, ...rest } = this.#data;
    return trusted(rest);
  }
}
