// The runtime's mechanics on a tiny randomly initialised model: lossless round trips, the
// hierarchy, node reconstruction, streaming, search, typed refusals.
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { rng } from "./_rng.ts";
import { buildRandomModel } from "../src/model/random_model.ts";
import { createWasmBackend } from "../src/backend/wasm/wasm_backend.ts";
import { FormatError, InputError, Memory, ModelMismatchError, R3Mem } from "../mod.ts";

const weights = await buildRandomModel({ seed: 1 });
const r3 = await R3Mem.load({ weights });

function randomText(rand: () => number, n: number): string {
  const pieces = [
    "the ",
    "memory ",
    ". ",
    "\n\n",
    "🐈",
    "漢字",
    "\t",
    "\u0000",
    "é",
    "Ω ",
    "a",
    "Z",
    "? ",
    "\n",
  ];
  let s = "";
  while (s.length < n) {
    s += rand() < 0.2
      ? String.fromCodePoint(Math.floor(rand() * 0xd7ff) + 1)
      : pieces[Math.floor(rand() * pieces.length)];
  }
  return s;
}

Deno.test("lossless round trip through .r3m bytes: property over random texts", async () => {
  const rand = rng(11);
  for (let i = 0; i < 12; i++) {
    const text = randomText(rand, 1 + Math.floor(rand() * 300));
    const memory = await r3.compress(text);
    const again = Memory.fromBytes(memory.toBytes(), { expectModel: r3.fingerprint });
    assertEquals(await r3.reconstruct(again), text, `case ${i}`);
  }
});

Deno.test("lossless round trip beyond the decoder window (context slides)", async () => {
  const text = "A long line that keeps going. ".repeat(40) + "\n\nEnd.";
  assert(r3.tokenizer.encode(text).length > 4 * r3.config.window, "text must exceed the window");
  assertEquals(await r3.reconstruct(await r3.compress(text)), text);
});

Deno.test("hierarchy: document, paragraphs, sentences tile the text; nodes reconstruct alone", async () => {
  const text = "One. Two!\n\nThree? Four.\nFive";
  const m = await r3.compress(text);
  assertEquals(m.levels(), { document: 1, paragraph: 2, sentence: 5 });
  const bytes = new TextEncoder().encode(text);
  const decoder = new TextDecoder();
  for (let i = 0; i < m.nodes.length; i++) {
    const node = m.nodes[i];
    const want = decoder.decode(bytes.subarray(node.byteStart, node.byteEnd));
    assertEquals(await r3.reconstruct(m, { node: i }), want, `node ${i} (${node.level})`);
  }
});

Deno.test("lossy memory: fixed size per node, no residual, greedy reconstruction has the right length", async () => {
  const m = await r3.compress("Short text. Another sentence.", { lossless: false });
  assertEquals(m.lossless, false);
  for (const node of m.nodes) {
    assertEquals(node.slots.length, r3.config.memorySlots * r3.config.dim);
  }
  const out = await r3.reconstruct(m);
  assert(typeof out === "string" && out.length > 0);
});

Deno.test("streaming yields the same text as reconstruct", async () => {
  const text = "Streaming, piece by piece. 🐈 ".repeat(6);
  const m = await r3.compress(text);
  const pieces: string[] = [];
  for await (const p of r3.reconstructStream(m)) pieces.push(p);
  assert(pieces.length > 1, "expected several pieces");
  assertEquals(pieces.join(""), text);
});

Deno.test("search finds the paragraph whose text is the query", async () => {
  const m = await r3.compress("Cats purr softly.\n\nDogs bark loudly.\n\nBirds sing.");
  // A random model knows nothing, but the same tokens give the same memory: score 1.
  const hits = await r3.search("Birds sing.", [m], { k: 2, levels: ["paragraph"] });
  assertEquals(hits[0].text, "Birds sing.");
  assert(Math.abs(hits[0].score - 1) < 1e-5, `score ${hits[0].score}`);
  assert(hits[0].score > hits[1].score);
});

Deno.test("search scores a node by the best match in its subtree, or by itself with scoring node", async () => {
  const m = await r3.compress(
    "Cats purr softly. Kittens nap all day.\n\nDogs bark loudly. Puppies chase balls.",
  );
  // The query is one sentence: its paragraph is found through it, and says so in `match`.
  // (Memory keys alone: their score is a cosine.)
  const [hit] = await r3.search("Puppies chase balls.", [m], {
    k: 1,
    levels: ["paragraph"],
    mode: "keys",
  });
  assertEquals(hit.text, "Dogs bark loudly. Puppies chase balls.");
  assertEquals(m.nodes[hit.match].level, "sentence");
  assert(Math.abs(hit.score - 1) < 1e-5, `score ${hit.score}`);
  // The document's score is the same best match; with scoring "node" only its own memory counts.
  const [doc] = await r3.search("Puppies chase balls.", [m], {
    levels: ["document"],
    mode: "keys",
  });
  assertEquals([doc.score, doc.match], [hit.score, hit.match]);
  const [own] = await r3.search("Puppies chase balls.", [m], {
    levels: ["document"],
    scoring: "node",
    mode: "keys",
  });
  assertEquals(own.match, 0);
  assert(own.score < doc.score, `${own.score} < ${doc.score}`);
  await assertRejects(
    () => r3.search("x", [m], { scoring: "best" as "node" }),
    InputError,
    "scoring",
  );
});

Deno.test("bad input is refused with typed errors", async () => {
  await assertRejects(() => r3.compress(""), InputError, "empty");
  await assertRejects(() => r3.compress(42 as unknown as string), InputError, "string");
  await assertRejects(() => r3.compress("bad \ud800 surrogate"), InputError);
  const m = await r3.compress("Hello.");
  await assertRejects(() => r3.reconstruct(m, { node: 9 }), InputError, "Node 9");
  await assertRejects(() => r3.search("", [m]), InputError);
  await assertRejects(() => r3.search("x", [m], { k: 0 }), InputError);
});

Deno.test("a memory from another model is refused", async () => {
  const other = await R3Mem.load({ weights: await buildRandomModel({ seed: 2 }) });
  const m = await other.compress("Written by someone else.");
  await assertRejects(() => r3.reconstruct(m), ModelMismatchError);
  let thrown: unknown;
  try {
    Memory.fromBytes(m.toBytes(), { expectModel: r3.fingerprint });
  } catch (e) {
    thrown = e;
  }
  assert(thrown instanceof ModelMismatchError, `got ${thrown}`);
});

Deno.test("a damaged weights file is refused with FormatError", async () => {
  const bad = weights.slice();
  bad[bad.length >> 1] ^= 0xff;
  await assertRejects(() => R3Mem.load({ weights: bad }), FormatError);
  await assertRejects(() => R3Mem.load({ weights: weights.subarray(0, 100) }), FormatError);
});

Deno.test("relaxed-SIMD and portable kernels write identical memories and decode each other's", async () => {
  const text = "Determinism matters for lossless coding. 漢字 🐈\n\nSecond paragraph.";
  const a = (await r3.compress(text)).toBytes();
  for (
    const backend of [
      await createWasmBackend({ deterministic: true }), // relaxed build, portable kernels
      await createWasmBackend({ kernels: "portable" }), // the build without relaxed SIMD
    ]
  ) {
    const other = await R3Mem.load({ weights, backend });
    assertEquals(Array.from((await other.compress(text)).toBytes()), Array.from(a));
    assertEquals(await other.reconstruct(Memory.fromBytes(a)), text);
  }
});

Deno.test("compact lossless memories (slots document / none) are far smaller and still exact", async () => {
  const text = "Compact storage keeps only what it needs. It still decodes exactly.\n\n" +
    "A second paragraph with two sentences. Here is the second.";
  const full = await r3.compress(text);
  const doc = await r3.compress(text, { slots: "document" });
  const none = await r3.compress(text, { slots: "none" });
  assert(none.byteLength < doc.byteLength && doc.byteLength < full.byteLength);
  assertEquals(none.nodes.length, 1); // the archive: document node, no slots
  assertEquals(none.nodes[0].slots.length, 0);
  // ... in the compact container: the residual plus ~16 bytes, a 4-byte fingerprint that still
  // identifies the model.
  assertEquals(none.container, "compact");
  assert(none.byteLength - none.residual!.bytes.length <= 20, `${none.byteLength}`);
  const anonymous = Memory.fromBytes(none.toBytes()); // no expectModel: short fingerprint
  assertEquals(anonymous.modelFingerprint, r3.fingerprint.slice(0, 8));
  assertEquals(await r3.reconstruct(anonymous), text);
  assertEquals(doc.nodes.filter((n) => n.slots.length > 0).length, 1);
  for (const m of [doc, none]) {
    assertEquals(await r3.reconstruct(Memory.fromBytes(m.toBytes())), text);
  }
  assertEquals(
    await r3.reconstruct(Memory.fromBytes(doc.toBytes()), { node: 2 }),
    "Compact storage keeps only what it needs. ",
  );
  // Nothing to search or decode greedily in a slot-less memory: refused or skipped, not guessed.
  assertEquals((await r3.search("Compact", [none])).length, 0);
  await assertRejects(() => r3.reconstruct(none, { greedy: true }), InputError, "no memory slots");
  await assertRejects(
    () => r3.compress(text, { lossless: false, slots: "none" }),
    InputError,
    "needs slots",
  );
  await assertRejects(
    () => r3.compress(text, { slots: "some" as "all" }),
    InputError,
    "slots must be",
  );
});

Deno.test("a residual whose last data byte is 0 decodes, as written now and as written before", async () => {
  // This text's stream ends in a data byte of 0 right before the coder's final value. The
  // encoder used to drop that byte too, and the decoder, reading 5 bytes past the end, refused
  // the intact memory as damaged (found 2026-12-02; tests/range_coder_test.ts has the coder's
  // side). Files written so must still decode.
  const text = "bark bark purr cats? keeps keeps text the text. ";
  const m = await r3.compress(text, { slots: "none" });
  const stream = m.residual!.bytes;
  assertEquals(stream[stream.length - 1], 0); // kept now
  assertEquals(await r3.reconstruct(Memory.fromBytes(m.toBytes())), text);
  let end = stream.length;
  while (end > 0 && stream[end - 1] === 0) end--;
  const before = new Memory({
    ...m.data,
    residual: { ...m.residual!, bytes: stream.slice(0, end) },
  });
  assertEquals(await r3.reconstruct(Memory.fromBytes(before.toBytes())), text);
});

Deno.test("memories of earlier versions (residual coded without the document cache) still decode", async () => {
  // Written by the previous commit's compress (random test model, seed 1): a full memory with
  // document slots and a compact one; neither sets the cache flag.
  const text = "Version one coded the residual with the model alone. It must still decode.\n\n" +
    "A second paragraph, the same words: the model alone, the model alone.";
  const files = [
    "UjNNGgEAAQDkZx2d+O0CeEYzL9L7QUR5gbU8BAZaLv82d97u0DHa+PwAAACWz8keAiCRAXoGAAEAkQEAeoEBAEwAQIIBADUAKYICABcAF4EEAEUAOoIBAEUAOn/uGb4d/8jeNffuOPHn9OfnAxQgCenn1lrE1djk+jn7a8ESnjkMx6h/GbgrEMsAzsASTzjN7AvMZse1+tExOy6Gur48SuWGPHqGAVNTlJIZ25am5fLbHGvNfBNm3HzHJNU9HeYKeKtfiL4beiKKGQJ2Bly5WtccabsbQStrebxSQkuBfFyblaR+2H47JtW78ak2jC83NAuSrP7TEA0Gz9/o6L5nTTPcLpULu0D+HMjYcnVDoOTmZ9Ytnis+NJ+kEblVM1e0KP+mCoaJGjS/u/B+cvoQ6A==",
    "sxoB5GcdnQIgkQF6V2/suE6MOJ6bbuEo+uIrpIH64QDb0H1Uh14Hpcnkz0YnR9IKhbWfc9CxN1rTmC3cClsekCjO9IEtJhQOsteHMFt4JTDIxV2NmpkSsuxH0Odk1DXvhzAf760JBQ3pKQ+f4+Y232VncQ/t6k+xUGI5yW4hSEo7Yh/6ySESKD/UGKxcZ1f6piMEfA50",
  ];
  for (const b64 of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const old = Memory.fromBytes(bytes, { expectModel: r3.fingerprint });
    assert(!old.residual!.cache);
    assertEquals(await r3.reconstruct(old), text);
    assertEquals(Array.from(old.toBytes()), Array.from(bytes)); // and re-encode unchanged
  }
  // `cache: false` writes exactly what the earlier version wrote.
  const [, compactB64] = files;
  const plain = await r3.compress(text, { slots: "none", cache: false });
  assertEquals(btoa(String.fromCharCode(...plain.toBytes())), compactB64);
  // Today's memories of the same text use the cache, and are smaller on this repetitive text.
  const now = await r3.compress(text, { slots: "none" });
  assert(now.residual!.cache);
  assert(now.byteLength < plain.byteLength, `${now.byteLength} >= ${plain.byteLength}`);
  assertEquals(await r3.reconstruct(Memory.fromBytes(now.toBytes())), text);
  await assertRejects(
    () => r3.compress(text, { cache: "yes" as unknown as boolean }),
    InputError,
    "cache",
  );
});
