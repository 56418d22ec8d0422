// Service features over HTTP (issue 11): scopes and filters on list and search, update and
// versions, bulk delete; every bad input is a 4xx {error} that changes nothing stored.
import { assert, assertEquals } from "./_assert.ts";
import { createTestApp, json, randomEngine, type TestApp } from "../src/server/testing.ts";
import { expectError, getJson, store, unchanged } from "./_server.ts";

const engine = await randomEngine(1);

async function withApp(fn: (t: TestApp) => Promise<void>) {
  const t = await createTestApp({ engine });
  try {
    await fn(t);
  } finally {
    t.close();
  }
}

const ids = (body: { memories?: { id: string }[]; hits?: { id: string }[] }) =>
  (body.memories ?? body.hits ?? []).map((m) => m.id);
const q = (filter: unknown) => encodeURIComponent(JSON.stringify(filter));

Deno.test("scopes: user_id, agent_id, run_id restrict list and search", async () => {
  await withApp(async (t) => {
    const a1 = await store(t, { text: "Alice likes peanuts.", user_id: "alice", run_id: "r1" });
    const a2 = await store(t, { text: "Alice plans a trip.", user_id: "alice", agent_id: "bot" });
    const b1 = await store(t, { text: "Bob likes peanuts too.", user_id: "bob", run_id: "r1" });
    const info = await getJson(t, `/v1/memories/${a1}`);
    assertEquals([info.user_id, info.run_id, info.agent_id], ["alice", "r1", undefined]);
    assertEquals(ids(await getJson(t, "/v1/memories?user_id=alice")), [a1, a2]);
    assertEquals(ids(await getJson(t, "/v1/memories?run_id=r1")), [a1, b1]);
    assertEquals(ids(await getJson(t, "/v1/memories?user_id=alice&run_id=r1")), [a1]);
    assertEquals(ids(await getJson(t, "/v1/memories?agent_id=bot")), [a2]);
    assertEquals(ids(await getJson(t, "/v1/memories?user_id=carol")), []);
    for (const mode of ["hybrid", "keys", "lexical"]) {
      const res = await t.app.request(
        "/v1/search",
        json({ query: "peanuts", k: 10, user_id: "bob", mode }),
      );
      const hits = ids(await res.json());
      assert(hits.length > 0 && hits.every((id) => id === b1), `${mode}: ${hits}`);
    }
  });
});

Deno.test("filters: metadata equality and in, date ranges, and/or on list and search; pages", async () => {
  await withApp(async (t) => {
    const food = await store(t, { text: "Peanut allergy.", metadata: { topic: "food", n: 1 } });
    const work = await store(t, { text: "Peanut contract.", metadata: { topic: "work", n: 2 } });
    const home = await store(t, { text: "Peanut plant.", metadata: { topic: "home", n: 3 } });
    const list = async (filter: unknown) =>
      ids(await getJson(t, `/v1/memories?filter=${q(filter)}`));
    assertEquals(await list({ metadata: { topic: "food" } }), [food]);
    assertEquals(await list({ metadata: { topic: { in: ["food", "home"] } } }), [food, home]);
    assertEquals(await list({ metadata: { n: { gte: 2 } } }), [work, home]);
    assertEquals(
      await list({ or: [{ metadata: { topic: "work" } }, { metadata: { n: { lt: 2 } } }] }),
      [food, work],
    );
    assertEquals(await list({ not: { metadata: { topic: "work" } } }), [food, home]);
    const created = (await getJson(t, `/v1/memories/${work}`)).createdAt;
    assertEquals(await list({ createdAt: { gte: created } }), [work, home]);
    assertEquals(await list({ createdAt: { lt: created }, updatedAt: { lt: created } }), [food]);
    assertEquals(await list({ createdAt: { gt: "2099-01-01" } }), []);
    // Filtered pages: limit 1 walks the matches.
    const seen: string[] = [];
    let cursor = "";
    for (let guard = 0; guard < 5; guard++) {
      const page = await getJson(
        t,
        `/v1/memories?limit=1&filter=${q({ metadata: { n: { ne: 2 } } })}${
          cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""
        }`,
      );
      seen.push(...ids(page));
      if (!page.cursor) break;
      cursor = page.cursor;
    }
    assertEquals(seen, [food, home]);
    const res = await t.app.request(
      "/v1/search",
      json({ query: "peanut", k: 10, mode: "lexical", filter: { metadata: { topic: "home" } } }),
    );
    assertEquals([...new Set(ids(await res.json()))], [home]);
  });
});

Deno.test("bad filters and scope ids are 400s that say what is wrong, and change nothing", async () => {
  await withApp(async (t) => {
    await store(t, { text: "Kept.", user_id: "alice" });
    await unchanged(t, async () => {
      const bad: [string, string][] = [
        [`/v1/memories?filter=${q({ colour: "red" })}`, 'unknown filter field "colour"'],
        [`/v1/memories?filter=${q({ createdAt: { gte: "soon" } })}`, "filter.createdAt.gte"],
        ["/v1/memories?filter=%7Bnope", "filter: must be JSON"],
        ["/v1/memories?user_id=", "user_id must not be empty"],
        [`/v1/export?filter=${q({ metadata: { k: { gt: [] } } })}`, "filter.metadata.k.gt"],
      ];
      for (const [path, includes] of bad) {
        await expectError(t.app.request(path), 400, "bad_input", includes);
      }
      await expectError(
        t.app.request("/v1/memories?filter=%7B%22x%22%3A1%7D", { method: "DELETE" }),
        400,
        "bad_input",
        'unknown filter field "x"',
      );
      const search: [unknown, string][] = [
        [{ query: "x", filter: "topic=food" }, "filter must be an object"],
        [{ query: "x", filter: { run_id: { in: [] } } }, "filter.run_id.in"],
        [{ query: "x", user_id: 7 }, "user_id must be a string"],
        [{ query: "x", filter: { and: [{ or: [{ metadata: { a: { lt: null } } }] }] } }, "lt"],
      ];
      for (const [body, includes] of search) {
        await expectError(t.app.request("/v1/search", json(body)), 400, "bad_input", includes);
      }
      const create: [unknown, string][] = [
        [{ text: "x", user_id: 3 }, "user_id must be a string"],
        [{ text: "x", agent_id: "a".repeat(300) }, "agent_id is at most 256"],
        [{ text: "x", ttl: 0 }, "ttl must be at least 1"],
        [{ text: "x", ttl: "1h" }, "ttl must be a number"],
        [{ text: "x", expiresAt: "2000-01-01T00:00:00Z" }, "must be in the future"],
        [{ text: "x", expiresAt: "next week" }, "expiresAt"],
        [{ text: "x", ttl: 60, expiresAt: "2099-01-01" }, "not both"],
      ];
      for (const [body, includes] of create) {
        await expectError(t.app.request("/v1/memories", json(body)), 400, "bad_input", includes);
      }
    });
  });
});

Deno.test("PUT writes versions; history lists them; each version reads back exactly", async () => {
  await withApp(async (t) => {
    const id = await store(t, { text: "Version one.", metadata: { v: 1 }, user_id: "alice" });
    const put = (body: unknown) =>
      t.app.request(`/v1/memories/${id}`, json(body, { method: "PUT" }));
    const r2 = await put({ text: "Version two, longer than one." });
    assertEquals(r2.status, 200);
    const v2 = await r2.json();
    assertEquals([v2.version, v2.metadata, v2.user_id], [2, { v: 1 }, "alice"]);
    const r3 = await put({ metadata: { v: 3 } });
    const v3 = await r3.json();
    assertEquals([r3.status, v3.version, v3.stats], [200, 3, v2.stats]);
    assert(v3.updatedAt > v2.updatedAt && v2.updatedAt > v3.createdAt);
    const history = (await getJson(t, `/v1/memories/${id}/history`)).versions;
    assertEquals(history.map((v: { version: number }) => v.version), [1, 2, 3]);
    assertEquals(history.map((v: { metadata: { v: number } }) => v.metadata.v), [1, 1, 3]);
    const text = async (v: number) =>
      (await getJson(t, `/v1/memories/${id}/versions/${v}/text`)).text;
    assertEquals(
      [await text(1), await text(2), await text(3)],
      ["Version one.", "Version two, longer than one.", "Version two, longer than one."],
    );
    assertEquals((await getJson(t, `/v1/memories/${id}/text`)).text, await text(3));
    assertEquals((await getJson(t, `/v1/memories/${id}`)).version, 3);
    // Search finds the current text, not the old one.
    const res = await t.app.request("/v1/search", json({ query: "longer", mode: "lexical" }));
    const hits = (await res.json()).hits;
    assert(hits.length > 0 && hits.every((h: { id: string }) => h.id === id));
    const old = await t.app.request("/v1/search", json({ query: "one", mode: "lexical" }));
    assert((await old.json()).hits.every((h: { text: string }) => !h.text.includes("Version one")));
    // Deleting the memory deletes every version and its data.
    assertEquals((await t.app.request(`/v1/memories/${id}`, { method: "DELETE" })).status, 204);
    assertEquals(await t.snapshot(), "");
  });
});

Deno.test("PUT and version reads: bad input and unknown ids are 4xx and change nothing", async () => {
  await withApp(async (t) => {
    const id = await store(t, { text: "Stay as you are." });
    await unchanged(t, async () => {
      const put = (path: string, body: unknown) =>
        t.app.request(path, json(body, { method: "PUT" }));
      const u = `/v1/memories/${id}`;
      await expectError(put(u, {}), 400, "bad_input", "nothing to update");
      await expectError(put(u, { text: 5 }), 400, "bad_input", "text must be a string");
      await expectError(put(u, { text: "" }), 400, "bad_input", "text must not be empty");
      await expectError(put(u, { metadata: [1] }), 400, "bad_input", "etadata");
      await expectError(put(u, { slots: "all" }), 400, "bad_input", "need a text");
      await expectError(put(u, { ttl: -1 }), 400, "bad_input", "ttl");
      await expectError(put(u, { metadata: { x: "y".repeat(20000) } }), 413, "too_large");
      await expectError(put("/v1/memories/nope", { text: "x" }), 404, "not_found", "nope");
      await expectError(t.app.request("/v1/memories/nope/history"), 404, "not_found");
      await expectError(t.app.request(`${u}/versions/2/text`), 404, "not_found", "version 2");
      await expectError(t.app.request(`${u}/versions/0/text`), 400, "bad_input", "version");
      await expectError(t.app.request(`${u}/versions/x/text`), 400, "bad_input", "version");
      await expectError(t.app.request(`${u}/versions/1/text?node=99`), 400, "bad_input");
      await expectError(t.app.request("/v1/memories", { method: "DELETE" }), 400, "bad_input");
      await expectError(
        t.app.request("/v1/memories?all=yes", { method: "DELETE" }),
        400,
        "bad_input",
        "all",
      );
    });
  });
});

Deno.test("expiry: ttl/expiresAt hide a memory at once everywhere; the purge removes it", async () => {
  await withApp(async (t) => {
    const keep = await store(t, { text: "Peanuts forever." });
    const soon = new Date(Date.now() + 400).toISOString();
    const gone = await store(t, { text: "Peanuts for now.", expiresAt: soon });
    const later = await store(t, { text: "Peanuts for a day.", ttl: 86400 });
    assertEquals((await getJson(t, `/v1/memories/${gone}`)).expiresAt, soon);
    assertEquals(ids(await getJson(t, "/v1/memories")), [keep, gone, later]);
    await new Promise((r) => setTimeout(r, 450));
    // Invisible before any purge: get, text, history, versions, list, search, update, delete.
    const before = await t.snapshot();
    await expectError(t.app.request(`/v1/memories/${gone}`), 404, "not_found");
    await expectError(t.app.request(`/v1/memories/${gone}/text`), 404, "not_found");
    await expectError(t.app.request(`/v1/memories/${gone}/history`), 404, "not_found");
    await expectError(t.app.request(`/v1/memories/${gone}/versions/1/text`), 404, "not_found");
    await expectError(
      t.app.request(`/v1/memories/${gone}`, json({ ttl: 60 }, { method: "PUT" })),
      404,
      "not_found",
    );
    await expectError(
      t.app.request(`/v1/memories/${gone}`, { method: "DELETE" }),
      404,
      "not_found",
    );
    assertEquals(ids(await getJson(t, "/v1/memories")), [keep, later]);
    const res = await t.app.request("/v1/search", json({ query: "peanuts", k: 20 }));
    assert(ids(await res.json()).every((id) => id !== gone));
    assert(!(await (await t.app.request("/v1/export")).text()).includes(gone));
    assertEquals(await t.snapshot(), before, "reading an expired memory changed the store");
    // The purge removes it, and only it.
    assertEquals(await t.store.purgeExpired(), 1);
    assertEquals(await t.store.purgeExpired(), 0);
    assert(!(await t.snapshot()).includes(gone));
    // An update can remove the expiry.
    const r = await t.app.request(
      `/v1/memories/${later}`,
      json({ expiresAt: null }, { method: "PUT" }),
    );
    assertEquals([r.status, (await r.json()).expiresAt], [200, undefined]);
    assertEquals(await t.store.purgeExpired(Date.now() + 2 * 86400_000), 0);
  });
});

Deno.test("DELETE /v1/memories deletes what a scope or filter selects, each memory whole", async () => {
  await withApp(async (t) => {
    const a = await store(t, { text: "One.", user_id: "alice", metadata: { tag: "x" } });
    const b = await store(t, { text: "Two.", user_id: "alice", metadata: { tag: "y" } });
    const c = await store(t, { text: "Three.", user_id: "bob", metadata: { tag: "x" } });
    await t.app.request(`/v1/memories/${b}`, json({ text: "Two again." }, { method: "PUT" }));
    const del = async (query: string) =>
      (await (await t.app.request(`/v1/memories?${query}`, { method: "DELETE" })).json()).deleted;
    assertEquals(await del(`user_id=alice&filter=${q({ metadata: { tag: "x" } })}`), 1);
    assertEquals(ids(await getJson(t, "/v1/memories")), [b, c]);
    assertEquals(await del("user_id=carol"), 0);
    assertEquals(await del("user_id=alice"), 1);
    assertEquals(ids(await getJson(t, "/v1/memories")), [c]);
    assertEquals(await del("all=true"), 1);
    assertEquals(await t.snapshot(), "");
    assertEquals(a.length, 36);
  });
});
