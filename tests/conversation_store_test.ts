// The conversation store (src/server/conversation_store.ts): a lost race computes the turn again
// from the new state and takes the next number; a failing job writes nothing; big turns chunk.
import { assertEquals } from "./_assert.ts";
import { ConversationStore } from "../src/server/conversation_store.ts";
import type { ApiError } from "../src/server/errors.ts";
import { createTestApp, randomEngine } from "../src/server/testing.ts";

async function snapshot(kv: Deno.Kv): Promise<string> {
  const out: string[] = [];
  for await (const e of kv.list({ prefix: [] })) {
    out.push(`${JSON.stringify(e.key)}@${e.versionstamp}`);
  }
  return out.join("\n");
}

Deno.test("conversation store: racing appends both land, in distinct turns, from fresh states", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new ConversationStore(kv);
    const { id } = await store.create("ns", {}, "m");
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: (number | null)[] = [];
    const job = async (state: Uint8Array | null) => {
      seen.push(state ? state[0] : null);
      await gate; // both read the same state before either commits
      return {
        state: new Uint8Array([(state?.[0] ?? 0) + 1]),
        turn: new Uint8Array(5),
        textBytes: 4,
      };
    };
    const both = Promise.all([
      store.append("ns", id, "user", {}, job),
      store.append("ns", id, "assistant", {}, job),
    ]);
    await new Promise((r) => setTimeout(r, 20));
    release();
    const [a, b] = await both;
    assertEquals([a.n, b.n].sort(), [0, 1]);
    assertEquals(seen, [null, null, 1]); // the loser ran again on the winner's state
    const rec = await store.get("ns", id);
    assertEquals([rec!.turns, rec!.state![0]], [2, 2]);
  } finally {
    kv.close();
  }
});

Deno.test("conversation store: a failing or oversized turn writes nothing; big turns chunk", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new ConversationStore(kv);
    const { id } = await store.create("ns", {}, "m");
    const before = await snapshot(kv);
    let err: unknown;
    await store.append("ns", id, "user", {}, () => Promise.reject(new Error("model failed")))
      .catch((e) => (err = e));
    assertEquals((err as Error).message, "model failed");
    err = undefined;
    const huge = () =>
      Promise.resolve({ state: new Uint8Array(1), turn: new Uint8Array(700_000), textBytes: 1 });
    await store.append("ns", id, "user", {}, huge).catch((e) => (err = e));
    assertEquals((err as ApiError).status, 413);
    assertEquals(await snapshot(kv), before);
    const big = new Uint8Array(130_000).map((_, i) => i % 251);
    await store.append(
      "ns",
      id,
      "user",
      {},
      () => Promise.resolve({ state: new Uint8Array(1), turn: big, textBytes: 1 }),
    );
    const got = await store.turn("ns", id, 0);
    assertEquals([got!.turn.chunks, got!.bytes.length], [3, big.length]);
    assertEquals(got!.bytes, big);
  } finally {
    kv.close();
  }
});

Deno.test("conversation store: POST /v1/conversations takes no body at all", async () => {
  const t = await createTestApp({ engine: await randomEngine(1) });
  try {
    const res = await t.app.request("/v1/conversations", { method: "POST" });
    assertEquals(res.status, 201);
    const { id } = await res.json();
    assertEquals((await (await t.app.request(`/v1/conversations/${id}`)).json()).turnCount, 0);
  } finally {
    t.close();
  }
});
