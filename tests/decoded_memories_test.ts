// The worker's kept memories (src/server/decoded_memories.ts): the same bytes give the same
// Memory; other or damaged bytes never read as a kept one; the text budget evicts the least
// recently used; a node read again through the kept memory is the same exact text.
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { buildRandomModel } from "../src/model/random_model.ts";
import { fittedBasis } from "./_basis.ts";
import { DecodedMemories } from "../src/server/decoded_memories.ts";
import { FormatError, Memory, ModelMismatchError, R3Mem } from "../mod.ts";

const weights = await buildRandomModel({ seed: 1 });
const r3 = await R3Mem.load({ weights, basis: await fittedBasis(weights, 3) });

Deno.test("decoded memories: the same bytes give the same memory, others a new one", async () => {
  const kept = new DecodedMemories(r3.fingerprint);
  const a = (await r3.compress("Cats purr softly.\n\nDogs bark loudly.")).toBytes();
  const b = (await r3.compress("Birds sing at dawn.\n\nFish swim.")).toBytes();
  const first = kept.read(a);
  assert(kept.read(a.slice()) === first, "a copy of the same bytes is the kept memory");
  assert(kept.read(b) !== first);
  // Reading a node through the kept memory twice: the derived tree is reused, the text exact.
  for (let node = 0; node < r3.tree(first).length; node++) {
    const fresh = await r3.reconstruct(Memory.fromBytes(a), { node });
    assertEquals(await r3.reconstruct(kept.read(a), { node }), fresh, `node ${node}`);
  }
  assertEquals(await r3.reconstruct(kept.read(a), { node: 4 }), "Dogs bark loudly.");
});

Deno.test("decoded memories: damaged bytes with the kept file's length and CRC are refused", async () => {
  const kept = new DecodedMemories(r3.fingerprint);
  const bytes = (await r3.compress("A memory read by search, then damaged in storage.")).toBytes();
  kept.read(bytes);
  const damaged = bytes.slice();
  damaged[10] ^= 1; // same length, same trailer: the key matches, the bytes do not
  assertThrows(() => kept.read(damaged), FormatError, "Checksum");
  const other = await R3Mem.load({ weights: await buildRandomModel({ seed: 2 }) });
  const foreign = (await other.compress("Another model's memory.")).toBytes();
  assertThrows(() => kept.read(foreign), ModelMismatchError);
});

Deno.test("decoded memories: the text budget keeps the most recently used", async () => {
  const texts = ["First memory text.", "Second memory text", "Third memory text."]; // 18 bytes
  const bytes = await Promise.all(texts.map(async (t) => (await r3.compress(t)).toBytes()));
  const kept = new DecodedMemories(r3.fingerprint, 40); // room for two
  const m0 = kept.read(bytes[0]);
  const m1 = kept.read(bytes[1]);
  assert(kept.read(bytes[0]) === m0); // 0 is now the most recent
  kept.read(bytes[2]); // evicts 1, the least recently used
  assert(kept.read(bytes[0]) === m0, "kept");
  assert(kept.read(bytes[1]) !== m1, "evicted, read anew");
  // A memory larger than the whole budget is read but not kept.
  const big = (await r3.compress("x".repeat(64))).toBytes();
  assert(kept.read(big) !== kept.read(big));
});
