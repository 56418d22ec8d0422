/**
 * The turns section of a full `.r3m` container (flag bit 3): what makes a memory built by
 * `R3Mem.append` (`../append.ts`) a conversation whose every turn decodes on its own. The
 * document node holds the conversation's recurrent memory; each paragraph node is one turn,
 * and the residual is the turns' streams back to back, each coded from the start of its turn
 * against the memory the turn names: its own int8 slots, a memory code over the model's basis
 * stored here, or no memory (the empty code). Layout (per turn, in node order, after the
 * residual section):
 *
 * ```
 * varint  streamBytes   bytes of this turn's residual stream
 * u8      kind          0: coded against the node's int8 slots; 1: a memory code follows;
 *                       2: coded against no memory (the empty code; since 2026-12-02)
 * [code]                kind 1: basis id (2 bytes), count (u8), count nibbles (./memory_code.ts)
 * ```
 *
 * @example
 * ```ts
 * import { readTurns, turnsSize, writeTurns } from "./r3m_turns.ts";
 * import { ByteReader, ByteWriter } from "./byte_io.ts";
 * const turns = [{ streamBytes: 3 }, { streamBytes: 200, code: { basis: "0a0b", values: new Int8Array([1, -2]) } }];
 * const buf = new Uint8Array(turnsSize(turns));
 * writeTurns(new ByteWriter(buf), turns);
 * console.log(buf.length, readTurns(new ByteReader(buf, 0, buf.length), 2)[1].streamBytes); // 9 200
 * ```
 *
 * @module
 */
import { FormatError } from "../errors.ts";
import { type ByteReader, type ByteWriter, varintSize } from "./byte_io.ts";
import {
  codeProblem,
  codeSize,
  EMPTY_CODE,
  isEmptyCode,
  readCode,
  writeCode,
} from "./memory_code.ts";
import type { MemoryData, MemoryTurn } from "./memory_data.ts";

/** Header flag bit of the full container: a turns section follows the residual. */
export const FLAG_TURNS = 8;

const KIND_SLOTS = 0;
const KIND_CODE = 1;
const KIND_NONE = 2;

/**
 * Bytes of the turns section.
 *
 * @example
 * ```ts
 * import { turnsSize } from "./r3m_turns.ts";
 * console.log(turnsSize([{ streamBytes: 300 }])); // 3
 * ```
 */
export function turnsSize(turns: readonly MemoryTurn[]): number {
  let size = 0;
  for (const t of turns) size += varintSize(t.streamBytes) + 1 + codeSize(t.code);
  return size;
}

/**
 * Writes a (validated) turns section.
 *
 * @example
 * ```ts
 * import { writeTurns } from "./r3m_turns.ts";
 * import { ByteWriter } from "./byte_io.ts";
 * const buf = new Uint8Array(2);
 * writeTurns(new ByteWriter(buf), [{ streamBytes: 5 }]);
 * console.log(Array.from(buf)); // [ 5, 0 ]
 * ```
 */
export function writeTurns(w: ByteWriter, turns: readonly MemoryTurn[]): void {
  for (const t of turns) {
    w.varint(t.streamBytes);
    w.buf[w.pos++] = !t.code ? KIND_SLOTS : isEmptyCode(t.code) ? KIND_NONE : KIND_CODE;
    if (t.code && !isEmptyCode(t.code)) writeCode(w, t.code);
  }
}

/**
 * Reads a turns section of `count` turns (the structure is checked afterwards by
 * {@linkcode turnsProblem}).
 *
 * @throws {FormatError} When it is truncated or a turn's kind is unknown.
 *
 * @example
 * ```ts
 * import { readTurns } from "./r3m_turns.ts";
 * import { ByteReader } from "./byte_io.ts";
 * const buf = new Uint8Array([5, 0]);
 * console.log(readTurns(new ByteReader(buf, 0, 2), 1)); // [ { streamBytes: 5 } ]
 * ```
 */
export function readTurns(r: ByteReader, count: number): MemoryTurn[] {
  // Each turn takes at least two bytes: no allocation beyond what the input implies.
  r.need(count * 2, `A turns section of ${count} turns`);
  const turns: MemoryTurn[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const streamBytes = r.varint("turn stream length", i + 1);
    const kind = r.u8("turn memory kind", i + 1);
    if (kind === KIND_SLOTS) turns[i] = { streamBytes };
    else if (kind === KIND_CODE) turns[i] = { streamBytes, code: readCode(r) };
    else if (kind === KIND_NONE) {
      turns[i] = { streamBytes, code: { ...EMPTY_CODE, values: new Int8Array(0) } };
    } else throw new FormatError(`Turn ${i}: unknown memory kind ${kind}`);
  }
  return turns;
}

/**
 * Checks the turns of a memory against its tree and residual; returns a message for the first
 * problem, or `null`. A conversation memory is a document node (with its int8 slots, the
 * recurrent memory new turns continue from, or without: a read-only slice) and one paragraph
 * node per turn, tiling the text in order, each non-empty; every turn is coded against its
 * node's slots or a memory code (exactly one of them); the residual codes every token and its
 * bytes are the turns' streams back to back, with the document cache or without, all alike.
 *
 * @example
 * ```ts
 * import { turnsProblem } from "./r3m_turns.ts";
 * const data = { modelFingerprint: "ab".repeat(32), slotCount: 1, dim: 1, textBytes: 0,
 *   tokenCount: 0, nodes: [{ level: "document" as const, parent: -1, byteStart: 0, byteEnd: 0,
 *   tokenStart: 0, tokenEnd: 0, slots: new Int8Array(1), scales: new Float32Array(1) }],
 *   turns: [] };
 * console.log(turnsProblem(data)); // "A conversation memory needs a residual that codes every token"
 * ```
 */
export function turnsProblem(data: MemoryData): string | null {
  const turns = data.turns;
  if (!Array.isArray(turns)) return `turns must be an array`;
  const r = data.residual;
  if (!r || r.codedTokens !== data.tokenCount) {
    return `A conversation memory needs a residual that codes every token`;
  }
  const nodes = data.nodes;
  if (turns.length !== nodes.length - 1) {
    return `A conversation memory has one paragraph node per turn: ${turns.length} turns, ` +
      `${nodes.length - 1} nodes under the document`;
  }
  let byte = 0, token = 0, stream = 0;
  for (let i = 0; i < turns.length; i++) {
    const t = turns[i], n = nodes[i + 1];
    if (typeof t !== "object" || t === null) return `Turn ${i} is not an object`;
    if (n.level !== "paragraph" || n.parent !== 0) {
      return `Turn ${i}: node ${i + 1} must be a paragraph of the document`;
    }
    if (
      n.byteStart !== byte || n.tokenStart !== token || n.byteEnd <= byte || n.tokenEnd <= token
    ) {
      return `Turn ${i}: turns must tile the text in order, each at least one token long`;
    }
    byte = n.byteEnd;
    token = n.tokenEnd;
    if (!Number.isInteger(t.streamBytes) || t.streamBytes < 0 || t.streamBytes > 0xffffffff) {
      return `Turn ${i}: streamBytes must be an integer in 0..2^32-1`;
    }
    stream += t.streamBytes;
    if (t.code !== undefined) {
      const problem = codeProblem(t.code);
      if (problem) return `Turn ${i}: ${problem}`;
      if (n.slots.length !== 0) return `Turn ${i}: a turn coded against a memory code has no slots`;
    } else if (n.slots.length === 0) {
      return `Turn ${i}: a turn needs its int8 slots or a memory code`;
    }
  }
  if (byte !== data.textBytes || token !== data.tokenCount) {
    return `The turns must cover the whole text (${byte} of ${data.textBytes} bytes, ` +
      `${token} of ${data.tokenCount} tokens)`;
  }
  const root = nodes[0];
  if (root.byteEnd !== data.textBytes || root.tokenEnd !== data.tokenCount) {
    return `A conversation's document node spans the whole text`;
  }
  if (stream !== r.bytes.length) {
    return `The turns' streams take ${stream} bytes, the residual has ${r.bytes.length}`;
  }
  return null;
}
