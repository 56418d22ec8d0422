// Routes of the HTTP app, called in-process with app.request (src/server/app.ts).
import { assert, assertEquals } from "./_assert.ts";
import { createTestApp, json, randomEngine } from "../src/server/testing.ts";
import { fromBase64 } from "../src/server/encoding.ts";
import { CHUNK_BYTES } from "../src/server/store.ts";

const engine = await randomEngine(1);
const TEXT = "Meeting moved to Friday. Bring the slides.\n\nThe launch is in March.";

function parseSse(body: string): { event: string; data: string }[] {
  return body.split("\n\n").filter(Boolean).map((block) => {
    const lines = block.split("\n");
    return {
      event: lines.find((l) => l.startsWith("event: "))?.slice(7) ?? "message",
      data: lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n"),
    };
  });
}

Deno.test("GET /healthz names the model and backend", async () => {
  const t = await createTestApp({ engine });
  try {
    const res = await t.app.request("/healthz");
    assertEquals(res.status, 200);
    const body = await res.json();
    assertEquals(body.ok, true);
    assertEquals(body.model, engine.fingerprint);
    assertEquals(body.backend, engine.backend);
  } finally {
    t.close();
  }
});

Deno.test("POST /v1/compress then /v1/reconstruct (JSON, octet-stream, one node)", async () => {
  const t = await createTestApp({ engine });
  try {
    const res = await t.app.request("/v1/compress", json({ text: TEXT }));
    assertEquals(res.status, 200);
    const { memory, stats } = await res.json();
    const bytes = fromBase64(memory);
    assertEquals(stats.bytes, bytes.length);
    assertEquals(stats.nodes, { document: 1, paragraph: 2, sentence: 3 });
    assertEquals(await t.snapshot(), "", "compress is stateless");

    const back = await t.app.request("/v1/reconstruct", json({ memory }));
    assertEquals(await back.json(), { text: TEXT });

    const raw = await t.app.request("/v1/reconstruct", {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: bytes,
    });
    assertEquals(await raw.json(), { text: TEXT });

    const node = await t.app.request("/v1/reconstruct?node=4", json({ memory }));
    assertEquals(await node.json(), { text: "The launch is in March." });

    const lossy = await (await t.app.request(
      "/v1/compress",
      json({ text: TEXT, lossless: false }),
    )).json();
    assertEquals(lossy.stats.residualBytes, 0);
    assert(lossy.stats.bytes < stats.bytes);
  } finally {
    t.close();
  }
});

Deno.test("slots none: compact archives over HTTP, exact, stored, and not found by search", async () => {
  const t = await createTestApp({ engine });
  try {
    const res = await t.app.request("/v1/compress", json({ text: TEXT, slots: "none" }));
    assertEquals(res.status, 200);
    const { memory, stats } = await res.json();
    const bytes = fromBase64(memory);
    assertEquals([bytes[0], bytes[1]], [0xb3, 0x1a]); // the compact container
    assertEquals(stats.nodes, { document: 1, paragraph: 0, sentence: 0 });
    const full = await (await t.app.request("/v1/compress", json({ text: TEXT }))).json();
    assert(stats.bytes < full.stats.bytes, `${stats.bytes} vs ${full.stats.bytes}`);
    assertEquals(await (await t.app.request("/v1/reconstruct", json({ memory }))).json(), {
      text: TEXT,
    });
    const stored = await t.app.request("/v1/memories", json({ text: TEXT, slots: "none" }));
    assertEquals(stored.status, 201);
    const { id } = await stored.json();
    assertEquals((await (await t.app.request(`/v1/memories/${id}/text`)).json()).text, TEXT);
    const hits = (await (await t.app.request("/v1/search", json({ query: TEXT }))).json()).hits;
    assertEquals(hits.length, 0); // nothing but the compact memory is stored: no slots to match
  } finally {
    t.close();
  }
});

Deno.test("POST /v1/reconstruct streams Server-Sent Events with Accept: text/event-stream", async () => {
  const t = await createTestApp({ engine });
  try {
    const text = "A longer text so that it comes in several pieces. ".repeat(8).trim();
    const { memory } = await (await t.app.request("/v1/compress", json({ text }))).json();
    const res = await t.app.request(
      "/v1/reconstruct",
      json({ memory }, { headers: { Accept: "text/event-stream" } }),
    );
    assertEquals(res.status, 200);
    assert(res.headers.get("content-type")?.startsWith("text/event-stream"));
    const events = parseSse(await res.text());
    const pieces = events.filter((e) => e.event === "text").map((e) => JSON.parse(e.data).text);
    assert(pieces.length > 1, `expected several pieces, got ${pieces.length}`);
    assertEquals(pieces.join(""), text);
    assertEquals(events.at(-1)?.event, "done");
  } finally {
    t.close();
  }
});

Deno.test("memories: create, get, text (JSON and SSE), delete", async () => {
  const t = await createTestApp({ engine });
  try {
    const res = await t.app.request(
      "/v1/memories",
      json({ text: TEXT, metadata: { topic: "plans" } }),
    );
    assertEquals(res.status, 201);
    const { id, stats, createdAt } = await res.json();
    assertEquals(res.headers.get("location"), `/v1/memories/${id}`);
    assert(/^[0-9a-f-]{36}$/.test(id));
    assert(!Number.isNaN(Date.parse(createdAt)));

    const info = await (await t.app.request(`/v1/memories/${id}`)).json();
    assertEquals(info, {
      id,
      createdAt,
      updatedAt: createdAt,
      version: 1,
      metadata: { topic: "plans" },
      stats,
      model: engine.fingerprint,
    });

    assertEquals(await (await t.app.request(`/v1/memories/${id}/text`)).json(), { text: TEXT });
    const one = await t.app.request(`/v1/memories/${id}/text?node=1`);
    assertEquals(await one.json(), { text: "Meeting moved to Friday. Bring the slides.\n\n" });
    const sse = await t.app.request(`/v1/memories/${id}/text`, {
      headers: { Accept: "text/event-stream" },
    });
    const events = parseSse(await sse.text());
    assertEquals(
      events.filter((e) => e.event === "text").map((e) => JSON.parse(e.data).text).join(""),
      TEXT,
    );

    const del = await t.app.request(`/v1/memories/${id}`, { method: "DELETE" });
    assertEquals(del.status, 204);
    assertEquals((await t.app.request(`/v1/memories/${id}`)).status, 404);
    assertEquals((await t.app.request(`/v1/memories/${id}/text`)).status, 404);
    assertEquals((await t.app.request(`/v1/memories/${id}`, { method: "DELETE" })).status, 404);
    assertEquals(await t.snapshot(), "", "delete leaves nothing behind");
  } finally {
    t.close();
  }
});

Deno.test("memories larger than a KV value are chunked and read back", async () => {
  const t = await createTestApp({ engine });
  try {
    // Numbers the document cache cannot predict keep the memory large whatever the model.
    const text = Array.from(
      { length: 700 },
      (_, i) => `Sentence number ${i} is here, code ${(i * 7919) % 10007}-${(i * 104729) % 1009}.`,
    ).join(" ");
    const res = await t.app.request("/v1/memories", json({ text }));
    assertEquals(res.status, 201);
    const { id, stats } = await res.json();
    assert(stats.bytes > CHUNK_BYTES, `memory of ${stats.bytes} bytes should need chunks`);
    // The first sentence decodes from the first tokens: quick, and proves the chunks join up
    // (the whole text after a restart is checked in server_durability_test.ts).
    const first = await (await t.app.request(`/v1/memories/${id}/text?node=2`)).json();
    assertEquals(first.text.trim(), "Sentence number 0 is here, code 0-0.");
    const info = await (await t.app.request(`/v1/memories/${id}`)).json();
    assertEquals(info.stats, stats);
  } finally {
    t.close();
  }
});

Deno.test("GET /v1/memories pages through memories in creation order", async () => {
  const t = await createTestApp({ engine });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await t.app.request(
        "/v1/memories",
        json({ text: `Note ${i}.`, metadata: { i } }),
      );
      ids.push((await res.json()).id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
      const page = await (await t.app.request(`/v1/memories?limit=2${q}`)).json();
      for (const m of page.memories) seen.push(m.id);
      assert(page.memories.every((m: { stats: unknown }) => m.stats));
      cursor = page.cursor;
      pages++;
    } while (cursor && pages < 10);
    assertEquals(seen, ids);
    assert(pages === 3 || pages === 4, `pages: ${pages}`);
    const all = await (await t.app.request("/v1/memories")).json();
    assertEquals(all.memories.map((m: { metadata: { i: number } }) => m.metadata.i), [
      0,
      1,
      2,
      3,
      4,
    ]);
    assertEquals(all.cursor, null);
  } finally {
    t.close();
  }
});

Deno.test("POST /v1/search finds stored nodes with their text", async () => {
  const t = await createTestApp({ engine });
  try {
    assertEquals(await (await t.app.request("/v1/search", json({ query: "x" }))).json(), {
      hits: [],
    });
    const a = await (await t.app.request(
      "/v1/memories",
      json({ text: "Cats purr.\n\nDogs bark.", metadata: { who: "pets" } }),
    )).json();
    await t.app.request("/v1/memories", json({ text: "Rain falls in spring." }));
    const res = await t.app.request(
      "/v1/search",
      json({ query: "Dogs bark.", k: 3, mode: "keys" }),
    );
    assertEquals(res.status, 200);
    const { hits } = await res.json();
    assertEquals(hits.length, 3);
    // An identical text has an identical memory: the best hit is that paragraph (or sentence).
    assertEquals(hits[0].id, a.id);
    assertEquals(hits[0].text, "Dogs bark.");
    assertEquals(hits[0].metadata, { who: "pets" });
    assert(Math.abs(hits[0].score - 1) < 1e-5, `score ${hits[0].score}`);
    for (let i = 1; i < hits.length; i++) assert(hits[i - 1].score >= hits[i].score);
    const docs = await (await t.app.request(
      "/v1/search",
      json({ query: "Dogs bark.", k: 5, levels: ["document"] }),
    )).json();
    assertEquals(docs.hits.length, 2);
    assert(docs.hits.every((h: { level: string }) => h.level === "document"));
  } finally {
    t.close();
  }
});

Deno.test("GET /openapi.json, /docs and / come from the same routes", async () => {
  const t = await createTestApp({ engine });
  try {
    const doc = await (await t.app.request("/openapi.json")).json();
    const paths = Object.keys(doc.paths).sort();
    assertEquals(paths, [
      "/healthz",
      "/v1/compress",
      "/v1/conversations",
      "/v1/conversations/{id}",
      "/v1/conversations/{id}/turns",
      "/v1/conversations/{id}/turns/{n}/text",
      "/v1/export",
      "/v1/import",
      "/v1/memories",
      "/v1/memories/{id}",
      "/v1/memories/{id}/history",
      "/v1/memories/{id}/text",
      "/v1/memories/{id}/versions/{version}/text",
      "/v1/reconstruct",
      "/v1/search",
    ]);
    assert(doc.paths["/v1/compress"].post.requestBody.content["application/json"].schema);
    assert(doc.paths["/v1/reconstruct"].post.requestBody.content["application/octet-stream"]);
    assertEquals(doc.components.securitySchemes.bearer.scheme, "bearer");
    const docs = await (await t.app.request("/docs")).text();
    for (const p of paths) assert(docs.includes(p.replaceAll("/", "/")), `docs lack ${p}`);
    assert(!/(src|href)=["']https?:/.test(docs), "docs load nothing external");
    const page = await t.app.request("/");
    const html = await page.text();
    assert(html.includes('id="compress"') && html.includes('id="search"'));
    assert(!/(src|href)=["']https?:/.test(html), "playground loads nothing external");
    assert(page.headers.get("content-security-policy")?.includes("default-src 'none'"));
  } finally {
    t.close();
  }
});
