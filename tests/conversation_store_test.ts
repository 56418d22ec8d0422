// The Deno KV conversation store (src/server/conversation_store.ts): a failing job leaves the
// database byte-for-byte as it was; big turns chunk. Races and the rest of the contract run on
// both stores in tests/store_contract_test.ts.
import { assertEquals } from "./_assert.ts";
import { KvConversationStore } from "../src/server/conversation_store.ts";
import type { ApiError } from "../src/server/errors.ts";
import { createTestApp, randomEngine } from "../src/server/testing.ts";

async function snapshot(kv: Deno.Kv): Promise<string> {
  const out: string[] = [];
  for await (const e of kv.list({ prefix: [] })) {
    out.push(`${JSON.stringify(e.key)}@${e.versionstamp}`);
  }
  return out.join("\n");
}

Deno.test("conversation store: a failing or oversized turn writes nothing; big turns chunk", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new KvConversationStore(kv);
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
