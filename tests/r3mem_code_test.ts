// Compact code memories (slots "code", the default when the model has a memory basis), on a
// tiny random model with a basis fitted to it: lossless round trips, the derived tree, search
// that finds what slots "all" finds, greedy decoding from the code, typed refusals; and on the
// shipped default model, the size goal (smaller than brotli-11).
import { brotliCompressSync, constants } from "node:zlib";
import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";
import { rng } from "./_rng.ts";
import { buildRandomModel } from "../src/model/random_model.ts";
import { fittedBasis, sentence } from "./_basis.ts";
import { FormatError, InputError, Memory, ModelMismatchError, R3Mem } from "../mod.ts";

const weights = await buildRandomModel({ seed: 1 });
const basisBytes = await fittedBasis(weights, 3);
const r3 = await R3Mem.load({ weights, basis: basisBytes });
const plain = await R3Mem.load({ weights }); // no basis

const TEXT =
  "Cats purr softly. Kittens nap all day.\n\nDogs bark loudly. Puppies chase balls.\n\n" +
  "Birds sing at dawn.";

Deno.test("code: the default lossless memory is a code memory that restores the text exactly", async () => {
  const m = await r3.compress(TEXT);
  assertEquals(m.container, "compact");
  // The default code is empty (no coefficients: the memory of nothing), compact version 3.
  assertEquals([m.code!.basis, m.code!.values.length], ["0000", 0]);
  assertEquals(m.nodes.length, 1);
  assertEquals(m.toBytes()[2] & 0x0f, 3);
  const coded = await r3.compress(TEXT, { coefficients: 16 });
  assertEquals(coded.code!.basis, r3.basis!.id);
  const bytes = coded.toBytes();
  assertEquals(bytes[2] & 0x0f, 2); // compact container version 2
  const back = Memory.fromBytes(bytes, { expectModel: r3.fingerprint });
  assertEquals(Array.from(back.code!.values), Array.from(coded.code!.values));
  assertEquals(await r3.reconstruct(back), TEXT);
  assertEquals(await r3.reconstruct(Memory.fromBytes(m.toBytes())), TEXT);
  assertEquals(await r3.reconstruct(Memory.fromBytes(bytes)), TEXT); // short fingerprint
  // Smaller than the same memory with every node's slots, and than the document's slots alone.
  const all = await r3.compress(TEXT, { slots: "all" });
  const doc = await r3.compress(TEXT, { slots: "document" });
  assert(m.byteLength < doc.byteLength && doc.byteLength < all.byteLength);
  assertEquals(m.stats().slots, r3.config.memorySlots);
  const rand = rng(5);
  for (let i = 0; i < 8; i++) {
    let text = "";
    while (text.length < 1 + rand() * 400) text += rand() < 0.1 ? "\n\n" : sentence(rand);
    const mem = Memory.fromBytes((await r3.compress(text)).toBytes());
    assertEquals(await r3.reconstruct(mem), text, `case ${i}`);
  }
});

Deno.test("code: the derived tree is the tree slots 'all' stores, and its nodes reconstruct", async () => {
  const all = await r3.compress(TEXT, { slots: "all" });
  const fresh = await r3.compress(TEXT);
  const read = Memory.fromBytes(fresh.toBytes()); // tree derived by decoding, not kept
  for (const m of [fresh, read]) {
    const tree = r3.tree(m);
    assertEquals(tree.length, all.nodes.length);
    tree.forEach((n, i) => {
      const a = all.nodes[i];
      assertEquals(
        [n.level, n.parent, n.byteStart, n.byteEnd, n.tokenStart, n.tokenEnd],
        [a.level, a.parent, a.byteStart, a.byteEnd, a.tokenStart, a.tokenEnd],
      );
    });
  }
  for (let i = 1; i < all.nodes.length; i++) {
    assertEquals(await r3.reconstruct(read, { node: i }), await r3.reconstruct(all, { node: i }));
  }
  await assertRejects(() => r3.reconstruct(read, { node: 99 }), InputError, "Node 99");
});

Deno.test("code: search ranks a code memory's nodes as it ranks the slots of 'all'", async () => {
  const all = await r3.compress(TEXT, { slots: "all" });
  const code = Memory.fromBytes((await r3.compress(TEXT)).toBytes());
  for (const query of ["Puppies chase balls.", "Birds sing at dawn.", "cats"]) {
    for (const levels of [undefined, ["paragraph" as const], ["document" as const]]) {
      const a = await r3.search(query, [all], { k: 3, levels });
      const c = await r3.search(query, [code], { k: 3, levels });
      assertEquals(
        c.map((h) => [h.node, h.match, h.level, h.text]),
        a.map((h) => [h.node, h.match, h.level, h.text]),
      );
      c.forEach((h, i) => assert(Math.abs(h.score - a[i].score) < 1e-6));
    }
  }
  const [hit] = await r3.search("Birds sing at dawn.", [code], {
    k: 1,
    levels: ["sentence"],
    mode: "keys",
  });
  assertEquals(hit.text, "Birds sing at dawn.");
  assert(Math.abs(hit.score - 1) < 1e-5, `${hit.score}`);
  const keys = r3.nodeKeys(code);
  assertEquals(keys.length, r3.tree(code).length);
  assert(keys.every((k) => k !== null));
});

Deno.test("code: greedy reconstruction decodes the document from its code alone", async () => {
  const m = await r3.compress(TEXT);
  const out = await r3.reconstruct(m, { greedy: true });
  assert(typeof out === "string" && out.length > 0);
  await assertRejects(() => r3.reconstruct(m, { node: 2, greedy: true }), InputError, "no memory");
});

Deno.test("code: defaults and refusals", async () => {
  // Without a basis the default stays every node's slots; lossy memories keep slots everywhere.
  const noBasis = await plain.compress(TEXT);
  assertEquals([noBasis.container, noBasis.levels().sentence], ["full", 5]);
  const lossy = await r3.compress(TEXT, { lossless: false });
  assertEquals([lossy.container, lossy.lossless, lossy.levels().sentence], ["full", false, 5]);
  await assertRejects(() => plain.compress(TEXT, { slots: "code" }), InputError, "basis");
  await assertRejects(
    () => r3.compress(TEXT, { slots: "code", lossless: false }),
    InputError,
    "needs slots",
  );
  // A code memory read by the same model without (or with another) basis: refused, typed.
  const m = await r3.compress(TEXT, { coefficients: 16 });
  await assertRejects(() => plain.reconstruct(m), ModelMismatchError, "basis");
  // The default code has no values: it needs no basis to decode.
  assertEquals(await plain.reconstruct(await r3.compress(TEXT)), TEXT);
  for (const bad of [-1, 1.5, 65, "some", null]) {
    await assertRejects(
      () => r3.compress(TEXT, { coefficients: bad as number }),
      InputError,
      "coefficients",
    );
  }
  await assertRejects(
    () => r3.compress(TEXT, { slots: "all", coefficients: 4 }),
    InputError,
    "coefficients",
  );
  const other = await R3Mem.load({ weights, basis: await fittedBasis(weights, 4) });
  assert(other.basis!.id !== r3.basis!.id);
  await assertRejects(() => other.reconstruct(m), ModelMismatchError, r3.basis!.id);
  // A basis for another model is refused at load.
  await assertRejects(
    async () => R3Mem.load({ weights: await buildRandomModel({ seed: 2 }), basis: basisBytes }),
    ModelMismatchError,
  );
  await assertRejects(() => R3Mem.load({ weights, basis: basisBytes.subarray(1) }), FormatError);
  // A code whose residual was swapped for another text's: the derived tree does not fit.
  const a = (await r3.compress("One short text. Two.")).data;
  const b = (await r3.compress("Another, longer text with more words in it.")).data;
  const swapped = new Memory({ ...a, residual: { ...b.residual!, codedTokens: a.tokenCount } });
  assertThrows(() => r3.tree(swapped), FormatError);
});

Deno.test("default model: a chat message's default memory is smaller than brotli-11", async () => {
  const def = await R3Mem.load();
  assert(def.basis !== null, "the default model ships a memory basis");
  const text = "Hi Sam, thanks for the update. I moved our meeting to Friday at 3 pm because the " +
    "room was booked on Thursday. Could you bring the slides and the budget numbers? " +
    "Let me know if that time does not work for you.";
  const data = new TextEncoder().encode(text);
  const brotli = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  }).length;
  const m = await def.compress(text);
  const bytes = m.toBytes();
  assert(m.code !== undefined);
  assert(bytes.length < brotli, `${bytes.length} bytes vs brotli ${brotli}`);
  assertEquals(await def.reconstruct(Memory.fromBytes(bytes)), text);
  const [hit] = await def.search("budget numbers", [Memory.fromBytes(bytes)], {
    k: 1,
    levels: ["sentence"],
  });
  assertEquals(hit.text, "Could you bring the slides and the budget numbers? ");
});

Deno.test("code: a code memory written by this version is pinned and keeps decoding", async () => {
  // Random test model (seed 1) with the basis fitted above (seed 3, id 6afe).
  const text = "Pinned: a code memory of version 2.\n\nIt must keep decoding, byte for byte.";
  const b64 = "sxoi5GcdnQIgSj9q/hDuLRAP8+DjIktI9fnBWMXaPy5bF5c3ckObNw4bgp4wS9DdhXDy4/aT6Il" +
    "jweuE9lz8AYoKi3FPaTSEvdxyV59VzxuSAjKscKzN96Qfve1U";
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const m = Memory.fromBytes(bytes, { expectModel: r3.fingerprint });
  assertEquals([m.code!.basis, m.code!.values.length], ["6afe", 16]);
  assertEquals(await r3.reconstruct(m), text);
  assertEquals(await r3.reconstruct(m, { node: 4 }), "It must keep decoding, byte for byte.");
  assertEquals(
    btoa(String.fromCharCode(...(await r3.compress(text, { coefficients: 16 })).toBytes())),
    b64,
  );
  // The default (the empty code, compact version 3), pinned too (2026-12-02).
  const def = "sxoj5GcdnQIgSj9HHY+8Ab8leFc5U5oewuBSjpegpIEcs56ZCA+ujCqCoqdZeDDmJhCuK1grkqIRsbo" +
    "+JDgLUSRFAqF050gVcfzRCxrPgE0DIto=";
  assertEquals(btoa(String.fromCharCode(...(await r3.compress(text)).toBytes())), def);
  assertEquals(
    await r3.reconstruct(Memory.fromBytes(Uint8Array.from(atob(def), (c) => c.charCodeAt(0)))),
    text,
  );
});

Deno.test("code: coefficients sets the code's length; auto keeps the shorter file", async () => {
  const rand = rng(11);
  for (let i = 0; i < 6; i++) {
    let text = "";
    while (text.length < 20 + rand() * 600) text += rand() < 0.1 ? "\n\n" : sentence(rand);
    const sizes: number[] = [];
    for (const k of [0, 1, 16, r3.basis!.components]) {
      const m = await r3.compress(text, { coefficients: k });
      assertEquals(m.code!.values.length, k);
      assertEquals(await r3.reconstruct(Memory.fromBytes(m.toBytes())), text, `k ${k}`);
      sizes.push(m.byteLength);
    }
    const auto = await r3.compress(text, { coefficients: "auto" });
    const k = auto.code!.values.length;
    // auto tries no code and a 16-per-64-tokens code, and keeps the shorter.
    const tried = [
      sizes[0],
      (await r3.compress(text, { coefficients: Math.min(16, r3.basis!.components) })).byteLength,
    ];
    assertEquals(auto.byteLength, Math.min(...tried), `case ${i}: k ${k}`);
    assertEquals(await r3.reconstruct(auto), text);
  }
});

Deno.test("code: a model with a basis still decodes full and version-1 compact files", async () => {
  // The files of tests/r3mem_test.ts ("memories of earlier versions"), written before the cache
  // and before memory codes by the same random model.
  const text = "Version one coded the residual with the model alone. It must still decode.\n\n" +
    "A second paragraph, the same words: the model alone, the model alone.";
  const files = [
    "UjNNGgEAAQDkZx2d+O0CeEYzL9L7QUR5gbU8BAZaLv82d97u0DHa+PwAAACWz8keAiCRAXoGAAEAkQEAeoEBAEwAQIIBADUAKYICABcAF4EEAEUAOoIBAEUAOn/uGb4d/8jeNffuOPHn9OfnAxQgCenn1lrE1djk+jn7a8ESnjkMx6h/GbgrEMsAzsASTzjN7AvMZse1+tExOy6Gur48SuWGPHqGAVNTlJIZ25am5fLbHGvNfBNm3HzHJNU9HeYKeKtfiL4beiKKGQJ2Bly5WtccabsbQStrebxSQkuBfFyblaR+2H47JtW78ak2jC83NAuSrP7TEA0Gz9/o6L5nTTPcLpULu0D+HMjYcnVDoOTmZ9Ytnis+NJ+kEblVM1e0KP+mCoaJGjS/u/B+cvoQ6A==",
    "sxoB5GcdnQIgkQF6V2/suE6MOJ6bbuEo+uIrpIH64QDb0H1Uh14Hpcnkz0YnR9IKhbWfc9CxN1rTmC3cClsekCjO9IEtJhQOsteHMFt4JTDIxV2NmpkSsuxH0Odk1DXvhzAf760JBQ3pKQ+f4+Y232VncQ/t6k+xUGI5yW4hSEo7Yh/6ySESKD/UGKxcZ1f6piMEfA50",
  ];
  for (const b64 of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const old = Memory.fromBytes(bytes, { expectModel: r3.fingerprint });
    assertEquals(old.code, undefined);
    assertEquals(await r3.reconstruct(old), text);
    assertEquals(r3.tree(old).length, old.nodes.length); // a stored tree is the tree
  }
});
