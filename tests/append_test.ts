// Conversations (R3Mem.append, src/append.ts) on a tiny random model, with a memory basis fitted
// to it (turns stored as codes) and without (turns stored as int8 slots): every turn and the
// whole conversation come back exactly from the .r3m bytes, each turn on its own; the recurrent
// memory stays one node of slots; appending does not decode what is there; typed refusals.
import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";
import { rng } from "./_rng.ts";
import { codeSize } from "../src/codec/memory_code.ts";
import { buildRandomModel } from "../src/model/random_model.ts";
import { fittedBasis, sentence } from "./_basis.ts";
import {
  type AppendOptions,
  conversationState,
  conversationTurn,
  InputError,
  Memory,
  ModelMismatchError,
  R3Mem,
} from "../mod.ts";

const weights = await buildRandomModel({ seed: 1 });
const r3 = await R3Mem.load({ weights, basis: await fittedBasis(weights, 3) });
const plain = await R3Mem.load({ weights }); // no basis: turns keep int8 slots
const other = await R3Mem.load({ weights, basis: await fittedBasis(weights, 4) });

const TURNS = [
  "user: Cats purr softly. Do kittens nap all day?",
  "assistant: Yes.\n\nKittens sleep up to twenty hours a day. 🐈",
  "user: And dogs?",
  "assistant: Dogs bark loudly; puppies chase balls — and they sleep a lot, too.",
];

async function conversation(
  model: R3Mem,
  turns: string[],
  options: AppendOptions = {},
): Promise<Memory> {
  let m: Memory | null = null;
  for (const t of turns) m = await model.append(m, t, options);
  return m!;
}

Deno.test("append: every turn and the whole conversation reconstruct exactly, from bytes", async () => {
  for (const model of [r3, plain]) {
    const chat = await conversation(model, TURNS);
    assertEquals(chat.levels(), { document: 1, paragraph: TURNS.length, sentence: 0 });
    assertEquals(chat.data.turns!.length, TURNS.length);
    const back = Memory.fromBytes(chat.toBytes(), { expectModel: model.fingerprint });
    assertEquals(back.toBytes(), chat.toBytes()); // canonical
    assertEquals(await model.reconstruct(back), TURNS.join(""));
    for (let i = 0; i < TURNS.length; i++) {
      assertEquals(await model.reconstruct(back, { node: i + 1 }), TURNS[i], `turn ${i}`);
    }
    let streamed = "";
    for await (const piece of model.reconstructStream(back, { node: 2 })) streamed += piece;
    assertEquals(streamed, TURNS[1]);
  }
});

Deno.test("append: turns store codes with a basis and int8 slots without; sizes say so", async () => {
  const coded = await conversation(r3, TURNS, { condition: "conversation" });
  const slotted = await conversation(plain, TURNS, { condition: "conversation" });
  const { memorySlots: S, dim: D } = r3.config;
  for (let i = 1; i <= TURNS.length; i++) {
    assertEquals(coded.nodes[i].slots.length, 0);
    assert(coded.data.turns![i - 1].code !== undefined);
    assertEquals(slotted.nodes[i].slots.length, S * D);
    assertEquals(slotted.data.turns![i - 1].code, undefined);
  }
  // Each int8 turn costs its slots and scales; each coded one a few bytes.
  assert(slotted.byteLength - coded.byteLength >= TURNS.length * (S * (D + 4) - 40));
  // Both keep the recurrent memory on the document node.
  assertEquals(coded.nodes[0].slots.length, S * D);
  assertEquals(slotted.nodes[0].slots.length, S * D);
});

Deno.test("append: the memory stays one node of slots; a turn costs the same late as early", async () => {
  const rand = rng(9);
  let chat: Memory | null = null;
  const texts: string[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < 24; i++) {
    const text = sentence(rand) + sentence(rand);
    texts.push(text);
    const before = chat?.byteLength ?? 0;
    chat = await r3.append(chat, text);
    sizes.push(chat.byteLength - before);
    // Appending neither changes nor copies the turns already there: shared streams and nodes.
    assertEquals(chat.stats().slots, r3.config.memorySlots * (1 + 0)); // the document's alone
  }
  const back = Memory.fromBytes(chat!.toBytes());
  assertEquals(await r3.reconstruct(back, { node: 17 }), texts[16]);
  assertEquals(await r3.reconstruct(back), texts.join(""));
  // The growth per turn is its stream, code and table entry: bounded, not growing with history.
  assert(Math.max(...sizes.slice(1)) < 200, `per-turn growth ${sizes}`);
});

Deno.test("append: the turns of a loaded conversation continue from its stored memory", async () => {
  const first = await conversation(r3, TURNS.slice(0, 2));
  const reread = Memory.fromBytes(first.toBytes());
  const a = await r3.append(first, TURNS[2]);
  const b = await r3.append(reread, TURNS[2]);
  assertEquals(a.toBytes(), b.toBytes()); // the same bytes whether in memory or read back
  assertEquals(await r3.reconstruct(b, { node: 3 }), TURNS[2]);
  // The argument is not changed.
  assertEquals(first.data.turns!.length, 2);
  assertEquals(await r3.reconstruct(first), TURNS[0] + TURNS[1]);
});

Deno.test("append: without its residual a conversation is a lossy memory of slots", async () => {
  const chat = await conversation(plain, TURNS);
  const lossy = chat.withoutResidual();
  assertEquals(lossy.lossless, false);
  assertEquals(lossy.data.turns, undefined);
  Memory.fromBytes(lossy.toBytes()); // valid on its own
});

Deno.test("append: bad input is refused with a typed error and changes nothing", async () => {
  const chat = await conversation(r3, TURNS.slice(0, 1), { condition: "conversation" });
  const bytes = chat.toBytes();
  await assertRejects(() => r3.append(chat, ""), InputError, "empty");
  await assertRejects(() => r3.append(chat, 42 as unknown as string), InputError, "string");
  await assertRejects(() => r3.append(chat, "a\ud800b"), InputError, "surrogate");
  await assertRejects(() => r3.append(chat, "x", { turnMemory: "int4" as "code" }), InputError);
  await assertRejects(() => plain.append(null, "x", { turnMemory: "code" }), InputError, "basis");
  await assertRejects(() => r3.append(chat, "x", { cache: false }), InputError, "cache");
  const compressed = await r3.compress("Not a conversation.");
  await assertRejects(() => r3.append(compressed, "x"), InputError, "append(null");
  await assertRejects(() => r3.append({} as Memory, "x"), InputError);
  assertEquals(chat.toBytes(), bytes);
  // A turn coded with another basis is refused before anything is decoded.
  await assertRejects(() => other.reconstruct(chat, { node: 1 }), ModelMismatchError, "basis");
});

Deno.test("append: a conversation's state grows it like the whole; a turn slice reads alone", async () => {
  for (const model of [r3, plain]) {
    const chat = await conversation(model, TURNS.slice(0, 3));
    const state = conversationState(Memory.fromBytes(chat.toBytes()));
    assertEquals([state.textBytes, state.nodes.length], [0, 1]);
    assert(state.byteLength < 1200, `state of ${state.byteLength} bytes`);
    const viaState = await model.append(state, TURNS[3]);
    const viaWhole = await model.append(chat, TURNS[3]);
    assertEquals(conversationTurn(viaState, 0).toBytes(), conversationTurn(viaWhole, 3).toBytes());
    assertEquals(conversationState(viaState).toBytes(), conversationState(viaWhole).toBytes());
    for (let t = 0; t < 4; t++) {
      const slice = Memory.fromBytes(conversationTurn(viaWhole, t).toBytes());
      assertEquals(await model.reconstruct(slice), TURNS[t]);
      // A slice is read-only: it has no recurrent memory to continue from.
      await assertRejects(() => model.append(slice, "more"), InputError, "read-only");
    }
  }
  const one = await conversation(r3, TURNS.slice(0, 1));
  assertThrows(() => conversationTurn(one, 1), InputError);
  const plainMemory = await r3.compress("Plain.");
  assertThrows(() => conversationState(plainMemory), InputError, "conversation");
});

Deno.test("append: condition own / none / best code each turn exactly; best is never longer", async () => {
  const conditions = ["conversation", "own", "none", "best"] as const;
  for (const model of [r3, plain]) {
    const memories: Record<string, Memory | null> = {};
    for (const t of TURNS) {
      for (const c of conditions) {
        memories[c] = await model.append(memories[c] ?? null, t, { condition: c });
      }
    }
    // What a turn costs: its stream and the memory it stores (a code, or int8 slots).
    const costs = (c: string) =>
      memories[c]!.data.turns!.map((t, i) => {
        const node = memories[c]!.nodes[i + 1];
        return t.streamBytes +
          (t.code ? codeSize(t.code) : node.slots.length + 4 * node.scales.length);
      });
    costs("best").forEach((b, i) => {
      for (const c of ["conversation", "own", "none"]) assert(b <= costs(c)[i], `turn ${i} ${c}`);
    });
    // "none" stores a code of no values: 3 bytes, readable without a basis.
    assert(memories.none!.data.turns!.every((t) => t.code?.values.length === 0));
    for (const c of ["own", "none", "best"]) {
      const back = Memory.fromBytes(memories[c]!.toBytes());
      assertEquals(await model.reconstruct(back), TURNS.join(""), c);
      assertEquals(await model.reconstruct(back, { node: 4 }), TURNS[3], c);
      // The conversation's memory is the same whatever the turns were coded against.
      assertEquals(back.nodes[0].slots, memories.conversation!.nodes[0].slots);
    }
  }
  await assertRejects(
    () => r3.append(null, "x", { condition: "past" as "own" }),
    InputError,
    "condition",
  );
});

Deno.test("append: a conversation is searchable; hits name the turn's node and its exact text", async () => {
  const chat = Memory.fromBytes((await conversation(r3, TURNS)).toBytes());
  const hits = await r3.search("kittens sleep twenty hours", [chat], {
    k: 1,
    levels: ["paragraph"],
    mode: "lexical",
  });
  assertEquals([hits[0].node, hits[0].text], [2, TURNS[1]]);
  const hybrid = await r3.search("dogs bark loudly", [chat], { k: 5, levels: ["paragraph"] });
  assert(hybrid.some((h) => h.node === 4 && h.text === TURNS[3]), JSON.stringify(hybrid));
});
