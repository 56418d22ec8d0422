/**
 * Slices of a conversation memory (`./append.ts`) for a store that keeps a conversation in
 * pieces: its recurrent memory alone (`conversationState`, what a new turn is appended to) and
 * each turn as a read-only memory of its own (`conversationTurn`). Appending to the state gives
 * the same turn, byte for byte, as appending to the whole conversation, so a store grows a
 * conversation without reading its turns (`src/server/conversation_engine.ts`).
 *
 * @module
 */
import { Memory, type MemoryData } from "./codec/memory.ts";
import { InputError } from "./errors.ts";

const EMPTY_SLOTS = new Int8Array(0);
const EMPTY_SCALES = new Float32Array(0);

/**
 * The conversation reduced to its recurrent memory: no turns, no text, the document node's
 * slots kept (about `memorySlots × (dim + 4)` bytes plus 60 of container). Appending to it gives
 * the same new turn as appending to the whole conversation: what a store keeps to grow a
 * conversation without reading its turns.
 *
 * @param memory A conversation memory that can grow (from `append`).
 * @returns The state, a conversation memory of zero turns.
 * @throws {InputError} When `memory` is not a conversation with its recurrent memory.
 *
 * @example
 * ```ts
 * import { conversationState, conversationTurn } from "./conversation_slices.ts";
 * import { R3Mem } from "./r3mem.ts";
 * import { buildRandomModel } from "./model/random_model.ts";
 * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
 * const chat = await r3.append(await r3.append(null, "One."), "Two.");
 * const state = conversationState(chat);
 * const next = await r3.append(state, "Three.");
 * const whole = await r3.append(chat, "Three.");
 * console.log(state.textBytes, await r3.reconstruct(conversationTurn(next, 0))); // 0 "Three."
 * console.log(conversationTurn(next, 0).byteLength === conversationTurn(whole, 2).byteLength); // true
 * ```
 */
export function conversationState(memory: Memory): Memory {
  const d = conversationData(memory);
  const root = d.nodes[0];
  if (root.slots.length === 0) {
    throw new InputError(`The memory is a read-only slice of a conversation (no recurrent memory)`);
  }
  return new Memory({
    modelFingerprint: d.modelFingerprint,
    slotCount: d.slotCount,
    dim: d.dim,
    textBytes: 0,
    tokenCount: 0,
    nodes: [{ ...root, byteEnd: 0, tokenEnd: 0 }],
    residual: {
      codedTokens: 0,
      bytes: new Uint8Array(0),
      ...(d.residual!.cache ? { cache: true } : {}),
    },
    turns: [],
  });
}

/**
 * One turn of a conversation as a memory of its own: a read-only conversation of that turn alone
 * (its stream and the memory it was coded against; the document node without slots), which
 * reconstructs exactly to the turn's text.
 *
 * @param memory A conversation memory.
 * @param turn The turn's index (0-based; node `turn + 1` of the conversation).
 * @returns The one-turn memory.
 * @throws {InputError} When `memory` is not a conversation or has no such turn.
 */
export function conversationTurn(memory: Memory, turn: number): Memory {
  const d = conversationData(memory);
  const turns = d.turns!;
  if (!Number.isInteger(turn) || turn < 0 || turn >= turns.length) {
    throw new InputError(`Turn ${turn} does not exist (the conversation has ${turns.length})`);
  }
  let offset = 0;
  for (let t = 0; t < turn; t++) offset += turns[t].streamBytes;
  const n = d.nodes[turn + 1];
  const textBytes = n.byteEnd - n.byteStart, tokenCount = n.tokenEnd - n.tokenStart;
  const span = { byteStart: 0, byteEnd: textBytes, tokenStart: 0, tokenEnd: tokenCount };
  return new Memory({
    modelFingerprint: d.modelFingerprint,
    slotCount: d.slotCount,
    dim: d.dim,
    textBytes,
    tokenCount,
    nodes: [
      { level: "document", parent: -1, ...span, slots: EMPTY_SLOTS, scales: EMPTY_SCALES },
      { ...n, ...span },
    ],
    residual: {
      codedTokens: tokenCount,
      bytes: d.residual!.bytes.slice(offset, offset + turns[turn].streamBytes),
      ...(d.residual!.cache ? { cache: true } : {}),
    },
    turns: [turns[turn]],
  });
}

function conversationData(memory: Memory): Readonly<MemoryData> {
  if (!(memory instanceof Memory) || !memory.data.turns) {
    throw new InputError(`Expected a conversation memory (from append)`);
  }
  return memory.data;
}
