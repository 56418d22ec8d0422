/**
 * Conversations with an unbounded history in a memory of fixed size: what `R3Mem.append` does.
 *
 * A conversation memory (`MemoryData.turns`, `docs/FORMAT.md` "Turns") is a document node and
 * one paragraph node per turn. The document node's int8 slots are the conversation's recurrent
 * memory: appending a turn runs the encoder over the turn's tokens starting from that memory
 * (`compressSegment` with the previous memory as its memory input, as `compress` chains the
 * segments of one text), so the memory folds in every turn and stays `memorySlots × dim` however
 * long the history grows; nothing stored is decoded or re-read. The new turn's residual is coded
 * against no memory by default, or against that updated memory (the memory of everything up to
 * and including the turn) when asked (`AppendOptions.condition`); each turn stores what it was
 * coded against — nothing for no memory, a memory code over the model's basis (4 to 35 bytes)
 * or int8 slots (`memorySlots × (dim + 4)` bytes) — so any turn decodes exactly on its own,
 * without the turns before it. Why no memory by default (the memory's code costs more bytes
 * than it saves the turn's stream), and why the memory after the turn rather than before it:
 * measured in `docs/EVAL.md` ("Conversations").
 *
 * @example
 * ```ts
 * import { R3Mem } from "./r3mem.ts";
 * import { buildRandomModel } from "./model/random_model.ts";
 * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
 * let chat = await r3.append(null, "Hi, I am Ada.");
 * chat = await r3.append(chat, "Nice to meet you.");
 * console.log(chat.levels().paragraph, await r3.reconstruct(chat, { node: 2 })); // 2 "Nice to meet you."
 * ```
 *
 * @module
 */
import type { MemoryBasis } from "./codec/memory_basis.ts";
import { codeLength } from "./codec/memory_basis.ts";
import { Memory, type MemoryData, type MemoryNode } from "./codec/memory.ts";
import type { MemoryCode, MemoryTurn } from "./codec/memory.ts";
import { varintSize } from "./codec/byte_io.ts";
import { codeSize, EMPTY_CODE } from "./codec/memory_code.ts";
import { decodeResidual, encodeResidual } from "./codec/residual_coder.ts";
import { InputError, ModelMismatchError } from "./errors.ts";
import type { ModelConfig } from "./model/config.ts";
import type { Tokenizer } from "./model/tokenizer.ts";
import type { ReversibleTransformer } from "./model/transformer.ts";
import { dequantizeRowsInt8, quantizeRowsInt8 } from "./model/weights_format.ts";

/** Options of `R3Mem.append`. */
export interface AppendOptions {
  /**
   * How the new turn stores the memory its residual is coded against: `"code"` (the default
   * when the model has a memory basis: 4-bit coefficients, 3 to 35 bytes) or `"slots"` (int8,
   * `memorySlots × (dim + 4)` bytes; the default without a basis).
   */
  turnMemory?: "code" | "slots";
  /**
   * Code the turn with the document cache (default true). A conversation's turns are all coded
   * alike: when appending to a memory, it must agree with the memory's first turn.
   */
  cache?: boolean;
  /**
   * The memory the turn's residual is coded against: `"none"` (the default), no memory (the
   * turn coded alone, as `compress(text)` does by default; the turn stores the empty code, no
   * bytes); `"conversation"`, the conversation's memory after the turn (the recurrent memory of
   * every turn so far), stored with the turn as a code; `"own"`, the memory of the turn alone;
   * `"best"`, whichever is shorter, stream and stored code together, of no memory and the
   * conversation's memory as a 2-coefficient code (twice the coding time). Why none by
   * default: with its code's bytes counted, the conversation's memory made no measured turn
   * shorter (`docs/EVAL.md`, "Conversations"). Either way
   * the conversation's memory is updated and the turn stores what it was coded against, so
   * readers need not know. Measured in `docs/EVAL.md` ("Conversations").
   */
  condition?: "conversation" | "own" | "none" | "best";
  /** Replace the memory's free-form annotations (default: keep them). */
  meta?: Record<string, string>;
}

/** What a turn's residual can be coded against (`AppendOptions.condition`). */
const CONDITIONS = ["conversation", "own", "none", "best"];

/** What appending needs of a loaded model (`R3Mem` hands its own). @internal */
export interface AppendModel {
  /** The model's configuration. */
  config: ModelConfig;
  /** Its tokenizer. */
  tokenizer: Tokenizer;
  /** SHA-256 of its weights. */
  fingerprint: string;
  /** Its memory basis, if any. */
  basis: MemoryBasis | null;
  /** Runs the encoder (any backend). */
  model: ReversibleTransformer;
  /** Codes residuals (the deterministic path). */
  coder: ReversibleTransformer;
}

const EMPTY_SLOTS = new Int8Array(0);
const EMPTY_SCALES = new Float32Array(0);

/**
 * Appends `text` to a conversation memory as a new turn (`memory` null: starts one). See the
 * module doc; `R3Mem.append` is the public entry.
 *
 * @throws {InputError} When `text` is not a non-empty well-formed string, `memory` is not a
 *   conversation memory that can grow (a read-only slice has no recurrent memory), or an
 *   option is invalid.
 * @internal
 */
export function appendTurn(
  m: AppendModel,
  memory: Memory | null,
  text: string,
  options: AppendOptions = {},
): Memory {
  if (typeof text !== "string") throw new InputError(`Text must be a string, got ${typeof text}`);
  if (text.length === 0) throw new InputError("Text must not be empty");
  if (!text.isWellFormed()) throw new InputError("Text contains a lone surrogate");
  const prev = memory === null ? null : memory.data;
  if (prev && !prev.turns) {
    throw new InputError(
      `The memory is not a conversation (it was written by compress): start one with ` +
        `append(null, text)`,
    );
  }
  const root = prev?.nodes[0];
  if (root && root.slots.length === 0) {
    throw new InputError(
      `The memory is a read-only slice of a conversation (no recurrent memory to continue from)`,
    );
  }
  const turnMemory = options.turnMemory ?? (m.basis ? "code" : "slots");
  if (turnMemory !== "code" && turnMemory !== "slots") {
    throw new InputError(`turnMemory must be "code" or "slots", got ${String(turnMemory)}`);
  }
  if (turnMemory === "code" && !m.basis) {
    throw new InputError(`turnMemory "code" needs the model's memory basis (a .r3b file)`);
  }
  const cache = options.cache ?? (prev ? prev.residual!.cache === true : true);
  if (typeof cache !== "boolean") throw new InputError(`cache must be a boolean`);
  if (prev && prev.nodes.length > 1 && cache !== (prev.residual!.cache === true)) {
    throw new InputError(`cache must match the conversation's (${prev.residual!.cache === true})`);
  }
  const { memorySlots: S, dim: D, segmentTokens: T } = m.config;
  const ids = Array.from(m.tokenizer.encode(text));
  const bytes = new TextEncoder().encode(text).length;
  // 1. The recurrent memory: the stored one (dequantized) carried through the turn's segments.
  let state = root ? dequantizeRowsInt8(root.slots, root.scales, S, D) : m.model.memInit;
  for (let i = 0; i < ids.length; i += T) {
    state = m.model.compressSegment(state, ids.slice(i, i + T));
  }
  const q = quantizeRowsInt8(state, S, D);
  // 2. The turn coded against the memory the option names, as the turn stores it.
  const condition = options.condition ?? "none";
  if (!CONDITIONS.includes(condition)) {
    throw new InputError(
      `condition must be "conversation", "own", "none" or "best", got ${String(condition)}`,
    );
  }
  const { code, stream, slots } = chooseTurnCoding(m, state, ids, condition, turnMemory, cache);
  // 3. The memory with one more turn; the old one's nodes and streams are shared, not copied.
  const textBytes = (prev?.textBytes ?? 0) + bytes;
  const tokenCount = (prev?.tokenCount ?? 0) + ids.length;
  const oldStreams = prev ? prev.residual!.bytes : new Uint8Array(0);
  const residual = new Uint8Array(oldStreams.length + stream.length);
  residual.set(oldStreams);
  residual.set(stream, oldStreams.length);
  const turn: MemoryNode = {
    level: "paragraph",
    parent: 0,
    byteStart: prev?.textBytes ?? 0,
    byteEnd: textBytes,
    tokenStart: prev?.tokenCount ?? 0,
    tokenEnd: tokenCount,
    slots: slots ? slots.q : EMPTY_SLOTS,
    scales: slots ? slots.scales : EMPTY_SCALES,
  };
  const data: MemoryData = {
    modelFingerprint: m.fingerprint,
    slotCount: S,
    dim: D,
    textBytes,
    tokenCount,
    nodes: [
      {
        level: "document",
        parent: -1,
        byteStart: 0,
        byteEnd: textBytes,
        tokenStart: 0,
        tokenEnd: tokenCount,
        slots: q.q,
        scales: q.scales,
      },
      ...(prev?.nodes.slice(1) ?? []),
      turn,
    ],
    residual: { codedTokens: tokenCount, bytes: residual, ...(cache ? { cache: true } : {}) },
    turns: [...(prev?.turns ?? []), { streamBytes: stream.length, ...(code ? { code } : {}) }],
    ...(options.meta ?? prev?.meta ? { meta: options.meta ?? prev!.meta } : {}),
  };
  return new Memory(data);
}

type CodedTurn = ReturnType<typeof codedTurn>;

/**
 * Coefficients of the conversation's memory a turn stores under `condition: "best"`. Counting
 * the code's bytes, a turn's own memory never paid on validation or unseen conversations, and
 * of the conversation's memory after the turn only codes of 1 or 2 coefficients ever beat a
 * 3-byte "none" (on 8 to 21% of turns; 16 coefficients never); against today's 0-byte none,
 * no code did: `docs/EVAL.md`, "Conversations".
 */
const BEST_COEFFICIENTS = 2;

// The turn coded as `condition` asks: against the conversation's memory after it (`state`),
// its own memory, no memory, or the shortest of the three (stream plus what the turn stores).
function chooseTurnCoding(
  m: AppendModel,
  state: Float32Array,
  ids: number[],
  condition: string,
  turnMemory: "code" | "slots",
  cache: boolean,
): CodedTurn {
  const T = m.config.segmentTokens;
  const candidates: (() => CodedTurn)[] = [];
  if (condition === "conversation") {
    candidates.push(() => codedTurn(m, state, ids, turnMemory, cache));
  }
  if (condition === "best") {
    candidates.push(() => codedTurn(m, state, ids, turnMemory, cache, BEST_COEFFICIENTS));
  }
  if (condition === "own") {
    candidates.push(() => {
      let own = m.model.memInit;
      for (let i = 0; i < ids.length || i === 0; i += T) {
        own = m.model.compressSegment(own, ids.slice(i, i + T));
      }
      return codedTurn(m, own, ids, turnMemory, cache);
    });
  }
  if (condition === "none" || condition === "best") {
    candidates.push(() => ({
      code: { basis: EMPTY_CODE.basis, values: new Int8Array(0) },
      stream: encodeResidual(m.coder, m.model.memInit, ids, cache),
    }));
  }
  // What the turn adds to the file (its stream, the stream's length, the memory it stores).
  const size = (c: CodedTurn) =>
    c.stream.length + varintSize(c.stream.length) +
    (c.code ? codeSize(c.code) : m.config.memorySlots * (m.config.dim + 4));
  let best: CodedTurn | null = null;
  for (const make of candidates) {
    const c = make();
    if (!best || size(c) < size(best)) best = c;
  }
  return best!;
}

// A turn's stream coded against `memory`, and what the turn stores of it: a code or int8 slots.
function codedTurn(
  m: AppendModel,
  memory: Float32Array,
  ids: number[],
  turnMemory: "code" | "slots",
  cache: boolean,
  coefficients?: number,
): { code?: MemoryCode; slots?: { q: Int8Array; scales: Float32Array }; stream: Uint8Array } {
  const { memorySlots: S, dim: D } = m.config;
  if (turnMemory === "code") {
    const basis = m.basis!;
    const k = Math.min(coefficients ?? codeLength(ids.length, basis.components), basis.components);
    const code = { basis: basis.id, values: basis.encode(memory, k) };
    return { code, stream: encodeResidual(m.coder, basis.decode(code.values), ids, cache) };
  }
  const slots = quantizeRowsInt8(memory, S, D);
  const against = dequantizeRowsInt8(slots.q, slots.scales, S, D);
  return { slots, stream: encodeResidual(m.coder, against, ids, cache) };
}

/**
 * The text of a conversation memory's node, piece by piece: the whole conversation (node 0),
 * turn after turn, or one turn (node `i` is turn `i − 1`), decoded from its own stream alone.
 *
 * @throws {ModelMismatchError} When a turn was coded against another memory basis.
 * @throws {FormatError} When a stream is damaged.
 * @internal
 */
export function* turnTexts(m: AppendModel, memory: Memory, node: number): Generator<string> {
  const data = memory.data;
  const turns = data.turns!;
  const first = node === 0 ? 0 : node - 1;
  const last = node === 0 ? turns.length : node;
  let offset = 0;
  for (let t = 0; t < first; t++) offset += turns[t].streamBytes;
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  for (let t = first; t < last; t++) {
    const n = data.nodes[t + 1];
    const tokens = n.tokenEnd - n.tokenStart;
    const bytes = data.residual!.bytes.subarray(offset, offset + turns[t].streamBytes);
    offset += turns[t].streamBytes;
    const part = {
      tokenCount: tokens,
      residual: { codedTokens: tokens, bytes, cache: data.residual!.cache },
    };
    for (
      const ids of decodeResidual(m.coder, turnAgainst(m, data, t), part, {
        tokenStart: 0,
        tokenEnd: tokens,
      })
    ) {
      const piece = decoder.decode(m.tokenizer.decodeBytes(ids), { stream: true });
      if (piece) yield piece;
    }
  }
  const tail = decoder.decode();
  if (tail) yield tail;
}

// The memory turn `t` was coded against: its code's memory, or its int8 slots.
function turnAgainst(m: AppendModel, data: Readonly<MemoryData>, t: number): Float32Array {
  const turn: MemoryTurn = data.turns![t];
  const { memorySlots: S, dim: D } = m.config;
  if (turn.code?.values.length === 0) return m.model.memInit; // coded alone (condition "none")
  if (!turn.code) {
    const n = data.nodes[t + 1];
    return dequantizeRowsInt8(n.slots, n.scales, S, D);
  }
  if (!m.basis || m.basis.id !== turn.code.basis) {
    throw new ModelMismatchError(
      `Turn ${t} was coded with memory basis ${turn.code.basis}; this model's is ` +
        `${m.basis ? m.basis.id : "missing (load it with the basis option)"}`,
    );
  }
  return m.basis.decode(turn.code.values);
}
