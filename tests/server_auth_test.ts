// Tenants: bearer tokens, namespaces that never see each other's memories, and configuration
// from the environment (src/server/auth.ts, src/server/config.ts).
import { assert, assertEquals } from "./_assert.ts";
import { createTestApp, json, randomEngine } from "../src/server/testing.ts";
import { parseTokens } from "../src/server/auth.ts";
import { configFromEnv, DEFAULT_MAX_BODY_BYTES } from "../src/server/config.ts";

const engine = await randomEngine(1);
const TOKENS = parseTokens("alpha-secret:team-a,beta-secret:team-b,alpha-2:team-a");
const as = (token: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...init.headers, Authorization: `Bearer ${token}` },
});

Deno.test("every /v1 request needs a known bearer token (401 otherwise, store untouched)", async () => {
  const t = await createTestApp({ engine, tokens: TOKENS });
  try {
    const before = await t.snapshot();
    const attempts: [string, RequestInit][] = [
      ["/v1/memories", json({ text: "No token." })],
      ["/v1/compress", json({ text: "No token." })],
      ["/v1/search", json({ query: "x" })],
      ["/v1/memories", {}],
      ["/v1/memories", { headers: { Authorization: "Bearer wrong-secret" } }],
      ["/v1/memories", { headers: { Authorization: "Basic YWxwaGE6c2VjcmV0" } }],
      ["/v1/memories", { headers: { Authorization: "Bearer" } }],
      ["/v1/memories", { headers: { Authorization: "Bearer alpha-secretX" } }],
      ["/v1/memories", { headers: { Authorization: "Bearer alpha-secre" } }],
      [`/v1/memories/${crypto.randomUUID()}`, { method: "DELETE" }],
    ];
    for (const [path, init] of attempts) {
      const res = await t.app.request(path, init);
      assertEquals(res.status, 401, `${init.method ?? "GET"} ${path}`);
      assertEquals((await res.json()).error.code, "unauthorized");
      assert(res.headers.get("www-authenticate")?.startsWith("Bearer"));
    }
    assertEquals(await t.snapshot(), before);
    // Outside /v1 nothing needs a token.
    for (const path of ["/healthz", "/openapi.json", "/docs", "/"]) {
      assertEquals((await t.app.request(path)).status, 200, path);
    }
    assert((await (await t.app.request("/")).text()).includes('id="token"'));
  } finally {
    t.close();
  }
});

Deno.test("a namespace never sees another's memories", async () => {
  const t = await createTestApp({ engine, tokens: TOKENS });
  try {
    const res = await t.app.request(
      "/v1/memories",
      as("alpha-secret", json({ text: "Team A's secret plan.", metadata: { team: "a" } })),
    );
    assertEquals(res.status, 201);
    const { id } = await res.json();

    // Another token of the same namespace sees it.
    assertEquals((await t.app.request(`/v1/memories/${id}`, as("alpha-2"))).status, 200);
    const listA = await (await t.app.request("/v1/memories", as("alpha-2"))).json();
    assertEquals(listA.memories.map((m: { id: string }) => m.id), [id]);

    // Team B sees nothing of it, and cannot delete it.
    const b = (path: string, init: RequestInit = {}) =>
      t.app.request(path, as("beta-secret", init));
    assertEquals(await (await b("/v1/memories")).json(), { memories: [], cursor: null });
    assertEquals((await b(`/v1/memories/${id}`)).status, 404);
    assertEquals((await b(`/v1/memories/${id}/text`)).status, 404);
    assertEquals((await b(`/v1/memories/${id}`, { method: "DELETE" })).status, 404);
    assertEquals(await (await b("/v1/search", json({ query: "Team A's secret plan." }))).json(), {
      hits: [],
    });
    // Team B's own memory shows up in its search, not A's.
    const own = await (await b("/v1/memories", json({ text: "Team B's notes." }))).json();
    const hitsB = (await (await b("/v1/search", json({ query: "secret plan", k: 10 }))).json())
      .hits;
    assert(hitsB.length > 0 && hitsB.every((h: { id: string }) => h.id === own.id));
    const hitsA = (await (await t.app.request(
      "/v1/search",
      as("alpha-secret", json({ query: "notes", k: 10 })),
    )).json()).hits;
    assert(hitsA.length > 0 && hitsA.every((h: { id: string }) => h.id === id));

    // A's memory is intact.
    const text = await (await t.app.request(`/v1/memories/${id}/text`, as("alpha-secret"))).json();
    assertEquals(text, { text: "Team A's secret plan." });
  } finally {
    t.close();
  }
});

Deno.test("parseTokens reads token:namespace pairs and rejects malformed ones", () => {
  assertEquals([...parseTokens(" a:x , b:y,")], [["a", "x"], ["b", "y"]]);
  assertEquals(parseTokens("").size, 0);
  assertEquals(parseTokens("tok:en:ns").get("tok:en"), "ns");
  for (const bad of ["nocolon", ":ns", "tok:", "tok:bad/ns", "a:x,a:y", "t k:ns"]) {
    let threw = false;
    try {
      parseTokens(bad);
    } catch (e) {
      threw = e instanceof TypeError;
    }
    assert(threw, `accepted "${bad}"`);
  }
});

Deno.test("configFromEnv: defaults, loopback without tokens, all interfaces with them", () => {
  const none = configFromEnv(() => undefined);
  assertEquals(none.port, 8787);
  assertEquals(none.hostname, "127.0.0.1");
  assertEquals(none.kvPath, "./data/r3mem.kv");
  assertEquals(none.maxBodyBytes, DEFAULT_MAX_BODY_BYTES);
  assert(none.weights.href.endsWith("weights/r3mem-default.r3w"));
  assert(none.workers >= 1);
  const env: Record<string, string> = {
    PORT: "0",
    R3MEM_TOKENS: "s:ns",
    R3MEM_KV_PATH: "/tmp/x.kv",
    R3MEM_WEIGHTS: "/tmp/m.r3w",
    R3MEM_MAX_BODY_BYTES: "2048",
    R3MEM_WORKERS: "3",
  };
  const set = configFromEnv((n) => env[n]);
  assertEquals(
    [set.port, set.hostname, set.kvPath, set.weights.href, set.maxBodyBytes, set.workers],
    [0, "0.0.0.0", "/tmp/x.kv", "file:///tmp/m.r3w", 2048, 3],
  );
  for (const [name, value] of [["PORT", "http"], ["R3MEM_MAX_BODY_BYTES", "-1"]]) {
    let message = "";
    try {
      configFromEnv((n) => (n === name ? value : undefined));
    } catch (e) {
      message = (e as Error).message;
    }
    assert(message.includes(name), `${name}=${value}: "${message}"`);
  }
});
