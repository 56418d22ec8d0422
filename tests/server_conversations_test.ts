// Conversations over HTTP (issue 11, src/server/conversations.ts): create, append turns, page
// them with roles, read each turn exactly (JSON and SSE), delete; concurrent appends get
// distinct numbers; bad inputs answer 4xx {error} and change nothing stored. In process
// (app.request) and over a real port with the worker pool.
import { assert, assertEquals } from "./_assert.ts";
import { createApp } from "../src/server/app.ts";
import { MemoryStore } from "../src/server/store.ts";
import { WorkerPool } from "../src/server/worker_pool.ts";
import { buildRandomModel } from "../src/model/random_model.ts";
import { createTestApp, json, randomEngine, type TestApp } from "../src/server/testing.ts";
import { expectError, getJson, unchanged } from "./_server.ts";

const engine = await randomEngine(1);

async function withApp(fn: (t: TestApp) => Promise<void>) {
  const t = await createTestApp({ engine });
  try {
    await fn(t);
  } finally {
    t.close();
  }
}

const TURNS: [string, string][] = [
  ["user", "Hi! I am allergic to peanuts."],
  ["assistant", "Noted: no peanuts.\n\nAnything else? ✓"],
  ["user", "I live in Lyon."],
];

async function newConversation(t: TestApp, body: unknown = {}): Promise<string> {
  const res = await t.app.request("/v1/conversations", json(body));
  const out = await res.json();
  assertEquals(res.status, 201, JSON.stringify(out));
  assertEquals(res.headers.get("location"), `/v1/conversations/${out.id}`);
  return out.id;
}

async function append(t: TestApp, id: string, role: string, text: string) {
  const res = await t.app.request(`/v1/conversations/${id}/turns`, json({ role, text }));
  const out = await res.json();
  assertEquals(res.status, 201, JSON.stringify(out));
  return out;
}

Deno.test("conversations: append turns, page them with roles, read each exactly, delete", async () => {
  await withApp(async (t) => {
    const id = await newConversation(t, { metadata: { topic: "diet" } });
    for (const [i, [role, text]] of TURNS.entries()) {
      const turn = await append(t, id, role, text);
      assertEquals([turn.n, turn.role, turn.textBytes], [
        i,
        role,
        new TextEncoder().encode(text).length,
      ]);
    }
    const all = await getJson(t, `/v1/conversations/${id}?text=true`);
    assertEquals(all.turnCount, 3);
    assertEquals(all.metadata, { topic: "diet" });
    assertEquals(all.turns.map((x: { role: string; text: string }) => [x.role, x.text]), TURNS);
    assertEquals(all.next, null);
    // The state is the same size after one turn and after three.
    assert(all.stateBytes > 0 && all.stateBytes < 1200, `state ${all.stateBytes}`);
    // Paged.
    const p1 = await getJson(t, `/v1/conversations/${id}?limit=2`);
    assertEquals([p1.turns.map((x: { n: number }) => x.n), p1.next], [[0, 1], 2]);
    assertEquals(p1.turns[0].text, undefined);
    const p2 = await getJson(t, `/v1/conversations/${id}?from=${p1.next}&limit=2`);
    assertEquals([p2.turns.map((x: { n: number }) => x.n), p2.next], [[2], null]);
    // Exact text of one turn, as JSON and as Server-Sent Events.
    assertEquals(await getJson(t, `/v1/conversations/${id}/turns/1/text`), { text: TURNS[1][1] });
    const sse = await t.app.request(`/v1/conversations/${id}/turns/2/text`, {
      headers: { Accept: "text/event-stream" },
    });
    const events = await sse.text();
    assert(events.includes("event: done"), events);
    const streamed = [...events.matchAll(/data: (\{"text".*\})/g)].map((m) =>
      JSON.parse(m[1]).text
    );
    assertEquals(streamed.join(""), TURNS[2][1]);
    // Delete: gone, with its turns.
    assertEquals(
      (await t.app.request(`/v1/conversations/${id}`, { method: "DELETE" })).status,
      204,
    );
    await expectError(t.app.request(`/v1/conversations/${id}`), 404, "not_found");
    await expectError(t.app.request(`/v1/conversations/${id}/turns/0/text`), 404, "not_found");
    const left = [];
    for await (const e of t.store.kv.list({ prefix: ["r3conv"] })) left.push(e.key);
    assertEquals(left, []);
  });
});

Deno.test("conversations: concurrent appends get distinct numbers, none lost", async () => {
  await withApp(async (t) => {
    const id = await newConversation(t);
    const texts = Array.from({ length: 8 }, (_, i) => `Turn number ${i}, said at once.`);
    const results = await Promise.all(texts.map((text) => append(t, id, "user", text)));
    assertEquals(results.map((r) => r.n).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7]);
    const conv = await getJson(t, `/v1/conversations/${id}?text=true&limit=100`);
    assertEquals(conv.turnCount, 8);
    // Every turn holds the text whose append got its number.
    for (const r of results) {
      assertEquals(conv.turns[r.n].text, texts[results.indexOf(r)]);
    }
  });
});

Deno.test("conversations: bad inputs answer 4xx {error} and change nothing stored", async () => {
  await withApp(async (t) => {
    const id = await newConversation(t);
    await append(t, id, "user", "First.");
    const turns = `/v1/conversations/${id}/turns`;
    await unchanged(t, async () => {
      await expectError(
        t.app.request(turns, json({ role: "user", text: 5 })),
        400,
        "bad_input",
        "text",
      );
      await expectError(
        t.app.request(turns, json({ role: "user", text: "" })),
        400,
        "bad_input",
        "empty",
      );
      await expectError(
        t.app.request(turns, json({ role: 3, text: "x" })),
        400,
        "bad_input",
        "role",
      );
      await expectError(t.app.request(turns, json({ text: "x" })), 400, "bad_input", "role");
      await expectError(t.app.request(turns, json({ role: "a b", text: "x" })), 400, "bad_input");
      await expectError(t.app.request(turns, json([1, 2])), 400, "bad_input");
      await expectError(
        t.app.request(turns, json({ role: "user", text: "x", metadata: "no" })),
        400,
        "bad_input",
        "etadata",
      );
      await expectError(
        t.app.request(
          turns,
          json({ role: "user", text: "x", metadata: { big: "y".repeat(20000) } }),
        ),
        413,
        "too_large",
      );
      await expectError(
        t.app.request(turns, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: "{",
        }),
        400,
        "bad_input",
      );
      await expectError(
        t.app.request("/v1/conversations/nope/turns", json({ role: "user", text: "x" })),
        404,
        "not_found",
      );
      await expectError(t.app.request("/v1/conversations/nope"), 404, "not_found");
      await expectError(t.app.request(`/v1/conversations/${id}/turns/1/text`), 404, "not_found");
      await expectError(t.app.request(`/v1/conversations/${id}/turns/-1/text`), 400, "bad_input");
      await expectError(t.app.request(`/v1/conversations/${id}/turns/x/text`), 400, "bad_input");
      await expectError(t.app.request(`/v1/conversations/${id}?limit=0`), 400, "bad_input");
      await expectError(t.app.request(`/v1/conversations/${id}?text=yes`), 400, "bad_input");
      await expectError(
        t.app.request("/v1/conversations/nope", { method: "DELETE" }),
        404,
        "not_found",
      );
      await expectError(
        t.app.request("/v1/conversations", json({ metadata: [] })),
        400,
        "bad_input",
      );
    });
    assertEquals((await getJson(t, `/v1/conversations/${id}`)).turnCount, 1);
  });
});

Deno.test("conversations: another namespace sees nothing; the routes are in the OpenAPI document", async () => {
  const tokens = new Map([["ta", "alpha"], ["tb", "beta"]]);
  const t = await createTestApp({ engine, tokens });
  try {
    const auth = (tok: string) => ({ headers: { Authorization: `Bearer ${tok}` } });
    const res = await t.app.request("/v1/conversations", json({}, auth("ta")));
    const { id } = await res.json();
    await t.app.request(
      `/v1/conversations/${id}/turns`,
      json({ role: "user", text: "Mine." }, auth("ta")),
    );
    await expectError(t.app.request(`/v1/conversations/${id}`, auth("tb")), 404, "not_found");
    await expectError(
      t.app.request(`/v1/conversations/${id}/turns`, json({ role: "user", text: "x" }, auth("tb"))),
      404,
      "not_found",
    );
    const doc = await (await t.app.request("/openapi.json")).json();
    assertEquals(doc.paths["/v1/conversations"].post.operationId, "createConversation");
    assertEquals(
      doc.paths["/v1/conversations/{id}/turns"].post.operationId,
      "appendConversationTurn",
    );
    assertEquals(
      doc.paths["/v1/conversations/{id}/turns/{n}/text"].get.operationId,
      "getConversationTurnText",
    );
  } finally {
    t.close();
  }
});

Deno.test("conversations: over a real port with the worker pool", async () => {
  const pool = await WorkerPool.create({ weights: await buildRandomModel({ seed: 1 }), size: 2 });
  const store = new MemoryStore(await Deno.openKv(":memory:"));
  const server = Deno.serve(
    { port: 0, onListen: () => {} },
    createApp({ engine: pool, store }).fetch,
  );
  const base = `http://localhost:${server.addr.port}`;
  try {
    const { id } = await (await fetch(`${base}/v1/conversations`, json({}))).json();
    const sent = await Promise.all(
      TURNS.map(async ([role, text]) => {
        const res = await fetch(`${base}/v1/conversations/${id}/turns`, json({ role, text }));
        assertEquals(res.status, 201);
        return (await res.json()).n as number;
      }),
    );
    assertEquals([...sent].sort(), [0, 1, 2]);
    for (const [i, n] of sent.entries()) {
      const res = await fetch(`${base}/v1/conversations/${id}/turns/${n}/text`);
      assertEquals(await res.json(), { text: TURNS[i][1] });
    }
  } finally {
    await server.shutdown();
    await pool.close();
    store.close();
  }
});
