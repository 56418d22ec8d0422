// Export and import (issue 11): NDJSON out, NDJSON in; an export imported into an empty store
// gives the same texts back; each bad line is skipped and reported by number, nothing of it
// stored; a body with no good line is a 400 that changes nothing.
import { assert, assertEquals } from "./_assert.ts";
import { createTestApp, json, randomEngine, type TestApp } from "../src/server/testing.ts";
import { expectError, getJson, store, unchanged } from "./_server.ts";

const engine = await randomEngine(1);
const otherEngine = await randomEngine(2);
const NDJSON = { "Content-Type": "application/x-ndjson" };

const importBody = (t: TestApp, body: string, headers: HeadersInit = NDJSON) =>
  t.app.request("/v1/import", { method: "POST", headers, body });

async function texts(t: TestApp): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const m of (await getJson(t, "/v1/memories?limit=100")).memories) {
    out.set(m.id, (await getJson(t, `/v1/memories/${m.id}/text`)).text);
  }
  return out;
}

Deno.test("an export imported into an empty store gives the same texts, metadata and scopes", async () => {
  const a = await createTestApp({ engine });
  const b = await createTestApp({ engine });
  try {
    await store(a, { text: "First note.\n\nTwo paragraphs.", metadata: { k: 1 }, user_id: "u" });
    await store(a, { text: "Lossy one.", lossless: false, run_id: "r" });
    await store(a, { text: "Archive only.", slots: "none", agent_id: "g" });
    const later = await store(a, { text: "Expires later.", ttl: 3600 });
    const updated = await store(a, { text: "Old text." });
    await a.app.request(`/v1/memories/${updated}`, json({ text: "New text." }, { method: "PUT" }));
    const res = await a.app.request("/v1/export");
    assertEquals(res.headers.get("content-type"), "application/x-ndjson");
    const ndjson = await res.text();
    const lines = ndjson.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(lines.length, 5);
    assert(lines.every((l) => typeof l.memory === "string" && l.memory.length > 0));
    const imported = await (await importBody(b, ndjson)).json();
    assertEquals([imported.imported, imported.skipped], [5, []]);
    const [ta, tb] = [await texts(a), await texts(b)];
    assertEquals([...tb.entries()], [...ta.entries()]); // same ids, same order, same texts
    assertEquals(tb.get(updated), "New text.");
    const infoA = (await getJson(a, "/v1/memories")).memories;
    const infoB = (await getJson(b, "/v1/memories")).memories;
    const strip = (m: Record<string, unknown>) => ({ ...m, updatedAt: 0, version: 0 });
    assertEquals(infoB.map(strip), infoA.map(strip));
    assertEquals(infoB.find((m: { id: string }) => m.id === later).expiresAt.length, 24);
    // Search works on what was imported (keys and words indexed from the bytes).
    const hits = await (await b.app.request("/v1/search", json({ query: "paragraphs" }))).json();
    assertEquals(hits.hits[0].text.includes("paragraphs"), true);
    // A filtered export takes only what matches.
    const only = await (await a.app.request("/v1/export?user_id=u")).text();
    assertEquals(only.trim().split("\n").length, 1);
    // Importing the same lines again: every id is taken, nothing changes, a 400 says so.
    await unchanged(b, async () => {
      await expectError(importBody(b, ndjson), 400, "bad_input", "line 1: A memory with id");
    });
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("import: each bad line is skipped and reported by number; good lines are stored whole", async () => {
  const a = await createTestApp({ engine });
  const b = await createTestApp({ engine });
  const foreign = await createTestApp({ engine: otherEngine });
  try {
    await store(a, { text: "Good line one." });
    await store(a, { text: "Good line two." });
    await store(foreign, { text: "Another model wrote this." });
    const good = (await (await a.app.request("/v1/export")).text()).trim().split("\n");
    const other = (await (await foreign.app.request("/v1/export")).text()).trim();
    const parsed = JSON.parse(good[0]);
    const damaged = { ...parsed, id: undefined, memory: parsed.memory.slice(0, 40) + "AAAA" };
    const body = [
      good[0], // 1: good
      "{not json", // 2
      JSON.stringify({ ...parsed, id: undefined, memory: 42 }), // 3: wrong type
      JSON.stringify({ ...parsed, id: undefined, memory: "@@@" }), // 4: bad base64
      JSON.stringify(damaged), // 5: damaged .r3m
      other, // 6: another model's
      JSON.stringify({ ...parsed, id: undefined, expiresAt: "2001-01-01T00:00:00Z" }), // 7
      JSON.stringify({ ...parsed, id: undefined, metadata: "x" }), // 8
      "", // blank lines are not lines
      "[1, 2]", // 10
      good[1], // 11: good
      good[0], // 12: taken id (imported at line 1)
    ].join("\n");
    const res = await importBody(b, body);
    const out = await res.json();
    assertEquals(res.status, 200);
    assertEquals(out.imported, 2);
    assertEquals(out.skipped.map((s: { line: number }) => s.line), [2, 3, 4, 5, 6, 7, 8, 10, 12]);
    const codes = out.skipped.map((s: { error: { code: string } }) => s.error.code);
    assertEquals(codes, [
      "bad_input",
      "bad_input",
      "bad_input",
      "bad_format",
      "model_mismatch",
      "bad_input",
      "bad_input",
      "bad_input",
      "conflict",
    ]);
    assert(out.skipped[5].error.message.includes("in the future"));
    // Only the two good lines are stored: their records, data and index, nothing else.
    assertEquals([...(await texts(b)).values()], ["Good line one.", "Good line two."]);
    const keys = (await b.snapshot()).split("\n");
    assertEquals(keys.filter((k) => k.includes('"rec"')).length, 2);
    assert(!keys.some((k) => k.includes("~pending")));
  } finally {
    a.close();
    b.close();
    foreign.close();
  }
});

Deno.test("import: no good line, no lines, or the wrong content type are 4xx and change nothing", async () => {
  const t = await createTestApp({ engine });
  try {
    await store(t, { text: "Already here." });
    await unchanged(t, async () => {
      await expectError(importBody(t, "{bad\n[]\n"), 400, "bad_input", "line 1");
      await expectError(importBody(t, "\n\n"), 400, "bad_input", "no lines");
      await expectError(
        importBody(t, "x", { "Content-Type": "text/csv" }),
        415,
        "unsupported_media_type",
      );
      const msg = await expectError(importBody(t, '{"memory": "AAAA"}'), 400, "bad_input");
      assert(msg.startsWith("No line was imported: line 1: "), msg);
    });
  } finally {
    t.close();
  }
});
