/**
 * The memories a worker read last, kept whole: the same `.r3m` bytes read again (a search hit in
 * a memory hit before, a turn read twice) give back the same `Memory` object, and with it what
 * `R3Mem` derived from it the first time — above all a code memory's tree, whose derivation
 * decodes the whole text. Search hits read their text from that tree, so a memory hit again is
 * not decoded again.
 *
 * Keyed by length and the file's own CRC-32 trailer, and checked byte for byte on every hit, so
 * a different file never reads as a kept one. Bounded by the text the kept memories hold
 * ({@linkcode DECODED_TEXT_BUDGET}: their derived trees grow with it), least recently used first
 * out. One per loaded model: a worker holds one.
 *
 * @module
 */
import { Memory } from "../codec/memory.ts";
import type { R3Mem } from "../r3mem.ts";

/** Bytes of text the kept memories of one model may hold together (16 MiB). */
export const DECODED_TEXT_BUDGET = 16 << 20;

/**
 * A least-recently-used set of memories read from bytes (see the module doc).
 *
 * @example
 * ```ts
 * import { DecodedMemories } from "./decoded_memories.ts";
 * import { R3Mem } from "../r3mem.ts";
 * import { buildRandomModel } from "../model/random_model.ts";
 * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
 * const bytes = (await r3.compress("Read twice.")).toBytes();
 * const kept = new DecodedMemories(r3.fingerprint);
 * console.log(kept.read(bytes) === kept.read(bytes.slice())); // true
 * ```
 */
export class DecodedMemories {
  readonly #model: string;
  readonly #budget: number;
  readonly #kept = new Map<string, { bytes: Uint8Array; memory: Memory }>();
  #text = 0;

  /**
   * An empty set for one model.
   *
   * @param model The fingerprint of the model that reads the memories.
   * @param budget Bytes of text kept at most (default {@linkcode DECODED_TEXT_BUDGET}).
   */
  constructor(model: string, budget = DECODED_TEXT_BUDGET) {
    this.#model = model;
    this.#budget = budget;
  }

  /**
   * The memory `bytes` hold: the kept one when the same bytes were read before, else a new one
   * (kept if it fits the budget).
   *
   * @throws {FormatError} When the bytes are not an intact `.r3m`.
   * @throws {ModelMismatchError} When another model wrote them.
   */
  read(bytes: Uint8Array): Memory {
    const key = keyOf(bytes);
    const hit = key === null ? undefined : this.#kept.get(key);
    if (hit && sameBytes(hit.bytes, bytes)) {
      this.#kept.delete(key!); // most recently used last
      this.#kept.set(key!, hit);
      return hit.memory;
    }
    const memory = Memory.fromBytes(bytes, { expectModel: this.#model });
    if (key !== null && !hit && memory.textBytes <= this.#budget) {
      this.#kept.set(key, { bytes: bytes.slice(), memory });
      this.#text += memory.textBytes;
      for (const [k, v] of this.#kept) {
        if (this.#text <= this.#budget) break;
        this.#kept.delete(k);
        this.#text -= v.memory.textBytes;
      }
    }
    return memory;
  }
}

const perModel = new WeakMap<R3Mem, DecodedMemories>();

/**
 * The kept memories of a loaded model (made on first use).
 *
 * @example
 * ```ts
 * import { decodedMemoriesOf } from "./decoded_memories.ts";
 * import { R3Mem } from "../r3mem.ts";
 * import { buildRandomModel } from "../model/random_model.ts";
 * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
 * console.log(decodedMemoriesOf(r3) === decodedMemoriesOf(r3)); // true
 * ```
 */
export function decodedMemoriesOf(r3: R3Mem): DecodedMemories {
  let kept = perModel.get(r3);
  if (!kept) perModel.set(r3, kept = new DecodedMemories(r3.fingerprint));
  return kept;
}

// Length and the last four bytes (every .r3m ends in the CRC-32 of what precedes it).
function keyOf(bytes: Uint8Array): string | null {
  const n = bytes.length;
  if (n < 4) return null;
  return `${n}:${bytes[n - 4]}.${bytes[n - 3]}.${bytes[n - 2]}.${bytes[n - 1]}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
