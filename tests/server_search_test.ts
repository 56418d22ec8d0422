// Hybrid search in the server: the lexical index stored with each memory (src/server/store.ts),
// fused with memory keys in POST /v1/search (src/server/app.ts).
import { assert, assertEquals } from "./_assert.ts";
import { createTestApp, json, randomEngine } from "../src/server/testing.ts";
import { SearchCache } from "../src/server/routes_search.ts";
import { MemoryStore } from "../src/server/store.ts";

const engine = await randomEngine(1);
const NOTES = [
  "Landlord appointment on Tuesday at ten.",
  "I am allergic to peanuts.",
  "Babbage designed the analytical engine.",
];

async function storeNotes(app: Awaited<ReturnType<typeof createTestApp>>["app"]) {
  const ids: string[] = [];
  for (const text of NOTES) {
    const res = await app.request("/v1/memories", json({ text }));
    assertEquals(res.status, 201);
    ids.push((await res.json()).id);
  }
  return ids;
}

Deno.test("POST /v1/search: hybrid ranks the peanuts note first; keys alone need not", async () => {
  const t = await createTestApp({ engine });
  try {
    const ids = await storeNotes(t.app);
    // The query shares one word with the note ("I"); a fuller one shares "allergic".
    for (const query of ["what can I not eat", "which nuts am I allergic to"]) {
      const res = await t.app.request("/v1/search", json({ query, k: 3 }));
      assertEquals(res.status, 200);
      const { hits } = await res.json();
      assertEquals(hits[0].id, ids[1], query);
      assertEquals(hits[0].text, "I am allergic to peanuts.");
      assert(hits[0].lexicalScore > 0 && typeof hits[0].keyScore === "number");
      for (let i = 1; i < hits.length; i++) assert(hits[i - 1].score >= hits[i].score);
    }
    const lexical = await (await t.app.request(
      "/v1/search",
      json({ query: "peanut allergy allergic", mode: "lexical" }),
    )).json();
    // Its document, paragraph and sentence (one span) share the score, as with keys.
    assert(lexical.hits.length > 0 && lexical.hits.every((h: { id: string }) => h.id === ids[1]));
    const keys = await (await t.app.request(
      "/v1/search",
      json({ query: "what can I not eat", k: 3, mode: "keys", levels: ["document"] }),
    )).json();
    assertEquals(keys.hits.length, 3);
    assert(keys.hits.every((h: { keyScore?: number }) => h.keyScore === undefined));
  } finally {
    t.close();
  }
});

Deno.test("POST /v1/search: a bad mode is a 400 and changes nothing", async () => {
  const t = await createTestApp({ engine });
  try {
    await storeNotes(t.app);
    const before = await t.snapshot();
    const res = await t.app.request("/v1/search", json({ query: "peanuts", mode: "fuzzy" }));
    assertEquals(res.status, 400);
    const body = await res.json();
    assertEquals(body.error.code, "bad_input");
    assert(body.error.message.includes('mode must be "hybrid", "keys" or "lexical"'));
    assertEquals(await t.snapshot(), before);
  } finally {
    t.close();
  }
});

Deno.test("lexical index: written with the memory, survives a restart, deleted with it", async () => {
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/kv.sqlite`;
  try {
    let t = await createTestApp({ engine, kvPath });
    const ids = await storeNotes(t.app);
    const lossy = await (await t.app.request(
      "/v1/memories",
      json({ text: "Peanuts are legumes.", lossless: false }),
    )).json();
    assert(await t.store.getLexical("default", ids[1]));
    assertEquals(await t.store.getLexical("default", lossy.id), null); // no words kept
    t.close();
    t = await createTestApp({ engine, kvPath });
    const res = await t.app.request("/v1/search", json({ query: "peanuts", mode: "lexical" }));
    const found = (await res.json()).hits.map((h: { id: string }) => h.id);
    assert(found.length > 0 && found.every((id: string) => id === ids[1]));
    assertEquals((await t.app.request(`/v1/memories/${ids[1]}`, { method: "DELETE" })).status, 204);
    assert(!(await t.snapshot()).includes(`"lex","${ids[1]}"`));
    const after = await t.app.request("/v1/search", json({ query: "peanuts", mode: "lexical" }));
    assertEquals((await after.json()).hits, []);
    t.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("search cache: keys and term counts read once, admitted within the byte budget, forgotten on delete", async () => {
  const store = await MemoryStore.open(":memory:");
  try {
    const keys = (x: number) => ({
      dim: 64,
      levels: ["document" as const],
      parents: new Int32Array([-1]),
      keys: new Float32Array(64).fill(x),
    });
    const recs = [];
    for (let i = 0; i < 8; i++) {
      recs.push(
        await store.put("ns", {
          bytes: new Uint8Array([i]),
          stats: {
            bytes: 1,
            nodes: { document: 1, paragraph: 0, sentence: 0 },
            slots: 1,
            residualBytes: 0,
            textBytes: 1,
            ratio: 1,
          },
          keys: keys(i),
          model: "m",
        }),
      );
    }
    // One entry is 64 × 4 + 4 + 64 = 324 bytes: a 1 000-byte budget holds three.
    const cache = new SearchCache(store, 1000);
    let reads = 0;
    const getKeys = store.getKeys.bind(store);
    store.getKeys = (ns, id, rec) => (reads++, getKeys(ns, id, rec));
    for (const r of recs) assertEquals((await cache.keys("ns", r))!.keys[0], recs.indexOf(r));
    assertEquals(reads, 8);
    assert(cache.bytes <= 1000 && cache.bytes >= 3 * 324, `holds ${cache.bytes} bytes`);
    await cache.keys("ns", recs[0]); // held (the first three are): no read
    assertEquals(reads, 8);
    await cache.keys("ns", recs[7]); // never admitted (the budget was full): read again
    assertEquals(reads, 9);
    cache.forget("ns", recs[0].id); // room again: the next one read is kept
    await cache.keys("ns", recs[7]);
    await cache.keys("ns", recs[7]);
    assertEquals(reads, 10);
  } finally {
    store.close();
  }
});
