/**
 * The model's side of a conversation turn, on bytes: what both engines (`./engine.ts` on the
 * calling thread, `./worker_pool.ts` in a worker) run for `POST /v1/conversations/:id/turns`.
 * The store keeps a conversation as its recurrent state (`conversationState`, about 1.1 KB
 * whatever its length) and each turn as a memory of its own (`conversationTurn`): appending
 * reads the state alone, and a turn reconstructs from its own bytes.
 *
 * @module
 */
import { conversationState, conversationTurn } from "../conversation_slices.ts";
import { Memory } from "../codec/memory.ts";
import type { R3Mem } from "../r3mem.ts";

/** What appending a turn gives: the new state and the turn, as `.r3m` bytes. */
export interface AppendedTurn {
  /** The conversation's state after the turn (a conversation memory of zero turns). */
  state: Uint8Array;
  /** The turn as a memory of its own (reconstructs to the turn's exact text). */
  turn: Uint8Array;
  /** UTF-8 bytes of the turn's text. */
  textBytes: number;
}

/**
 * Appends `text` to the conversation whose state is `state` (`null`: a new conversation).
 *
 * @param r3 The model.
 * @param state The state's `.r3m` bytes, or `null`.
 * @param text The turn.
 * @returns The new state and the turn.
 * @throws {InputError} For empty text; {@link FormatError} / {@link ModelMismatchError} for a
 *   damaged or foreign state.
 *
 * @example
 * ```ts
 * import { appendToBytes } from "./conversation_engine.ts";
 * import { reconstructBytes } from "./engine.ts";
 * import { R3Mem } from "../r3mem.ts";
 * import { buildRandomModel } from "../model/random_model.ts";
 * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
 * const first = await appendToBytes(r3, null, "Hello.");
 * const second = await appendToBytes(r3, first.state, "Hi!");
 * let text = "";
 * for await (const piece of reconstructBytes(r3, second.turn, {})) text += piece;
 * console.log(text, second.state.length === first.state.length); // Hi! true
 * ```
 */
export async function appendToBytes(
  r3: R3Mem,
  state: Uint8Array | null,
  text: string,
): Promise<AppendedTurn> {
  const prev = state === null ? null : Memory.fromBytes(state, { expectModel: r3.fingerprint });
  const memory = await r3.append(prev, text);
  const turn = conversationTurn(memory, memory.data.turns!.length - 1);
  return {
    state: conversationState(memory).toBytes(),
    turn: turn.toBytes(),
    textBytes: turn.textBytes,
  };
}
