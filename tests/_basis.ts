/** A memory basis fitted to a test model's memories of generated sentences. */
import { fitMemoryBasis } from "../src/codec/memory_basis.ts";
import { sampleMemories } from "../tools/memory_basis.ts";
import { rng } from "./_rng.ts";

const WORDS = ["cats", "purr", "dogs", "bark", "memory", "keeps", "text", "the", "a", "birds"];

/** A sentence of 2–9 words from a small vocabulary. */
export function sentence(rnd: () => number): string {
  const n = 2 + Math.floor(rnd() * 8);
  const words = Array.from({ length: n }, () => WORDS[Math.floor(rnd() * WORDS.length)]);
  return words.join(" ") + (rnd() < 0.5 ? ". " : "? ");
}

/** The `.r3b` bytes of a basis of `components` fitted to 120 two-sentence texts (by seed). */
export async function fittedBasis(
  weights: Uint8Array,
  seed: number,
  components = 16,
): Promise<Uint8Array> {
  const rnd = rng(seed);
  const texts = Array.from({ length: 120 }, () => sentence(rnd) + sentence(rnd));
  const s = await sampleMemories(weights, texts);
  return fitMemoryBasis(s.memories, {
    slotCount: s.slotCount,
    dim: s.dim,
    components,
    model: s.fingerprint,
  }).toBytes();
}
