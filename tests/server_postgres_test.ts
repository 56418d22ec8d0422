// Several real servers (child processes) on one PostgreSQL (R3MEM_DATABASE_URL), on a throwaway
// cluster (tests/_postgres.ts): what one writes the other reads and searches at once; concurrent
// writes and turns through both never lose or duplicate anything; `kill -9` of an instance
// mid-write leaves no partial item and loses nothing acknowledged; a database restart is a 503
// `{error}` (not a 500, not a hang) and the servers recover by themselves.
import { assert, assertEquals } from "./_assert.ts";
import { startPostgres, type TestPostgres } from "./_postgres.ts";
import { type ServerProcess, spawnServer, writeRandomModel } from "../src/server/process.ts";

const AUTH = { Authorization: "Bearer tok-a", "Content-Type": "application/json" };

interface Cluster {
  pg: TestPostgres;
  env: Record<string, string>;
  servers: ServerProcess[];
  dir: string;
}

async function withCluster(name: string, fn: (c: Cluster) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const pg = await startPostgres();
  const servers: ServerProcess[] = [];
  try {
    const env = {
      R3MEM_WEIGHTS: await writeRandomModel(dir),
      R3MEM_DATABASE_URL: await pg.createDatabase(name),
      R3MEM_TOKENS: "tok-a:team-a",
      R3MEM_WORKERS: "1",
      R3MEM_RATE_LIMIT: "0",
    };
    // Both start at once: the migrations run exactly once under their advisory lock.
    servers.push(...await Promise.all([spawnServer({ env }), spawnServer({ env })]));
    await fn({ pg, env, servers, dir });
  } finally {
    await Promise.all(servers.map((s) => s.stop("SIGKILL")));
    await pg.destroy();
    await Deno.remove(dir, { recursive: true });
  }
}

const call = (url: string, method: string, body?: unknown) =>
  fetch(url, {
    method,
    headers: AUTH,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });

async function json(res: Promise<Response> | Response, status = 200) {
  const r = await res;
  const body = await r.json();
  assertEquals(r.status, status, JSON.stringify(body));
  return body;
}

async function listIds(url: string): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | null = null;
  do {
    const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const page = await json(call(`${url}/v1/memories?limit=100${q}`, "GET"));
    out.push(...page.memories.map((m: { id: string }) => m.id));
    cursor = page.cursor;
  } while (cursor);
  return out;
}

Deno.test({
  name: "postgres: two servers share memories, search, versions and conversations at once",
  sanitizeResources: false, // fetch keeps idle connections to the child processes
  fn: () =>
    withCluster("shared", async ({ servers: [a, b] }) => {
      const note = "I am allergic to peanuts, so no satay at the team dinner.";
      const { id } = await json(call(`${a.url}/v1/memories`, "POST", { text: note }), 201);
      assertEquals(await json(call(`${b.url}/v1/memories/${id}/text`, "GET")), { text: note });
      const hits = await json(call(`${b.url}/v1/search`, "POST", { query: "peanuts allergy" }));
      assertEquals(hits.hits[0]?.id, id);

      // Writes through both at once: each lands exactly once, seen the same from either.
      const texts = Array.from({ length: 12 }, (_, i) => `Note ${i}: call the plumber at ${i}pm.`);
      const made = await Promise.all(
        texts.map((text, i) =>
          json(call(`${(i % 2 ? a : b).url}/v1/memories`, "POST", { text }), 201)
        ),
      );
      const expected = [id, ...made.map((m) => m.id)].sort();
      assertEquals((await listIds(a.url)).sort(), expected);
      assertEquals((await listIds(b.url)).sort(), expected);

      // An update through one is a new version the other lists and reads.
      await json(call(`${b.url}/v1/memories/${id}`, "PUT", { text: "No peanuts, ever." }));
      const history = await json(call(`${a.url}/v1/memories/${id}/history`, "GET"));
      assertEquals(history.versions.map((v: { version: number }) => v.version), [1, 2]);
      assertEquals(await json(call(`${a.url}/v1/memories/${id}/text`, "GET")), {
        text: "No peanuts, ever.",
      });

      // Turns appended through both at once take the numbers 0…5, each once, each exact.
      const conv = await json(call(`${a.url}/v1/conversations`, "POST", {}), 201);
      const turns = Array.from({ length: 6 }, (_, i) => `Turn ${i}: the boiler makes a noise.`);
      const appended = await Promise.all(
        turns.map((text, i) =>
          json(
            call(`${(i % 2 ? a : b).url}/v1/conversations/${conv.id}/turns`, "POST", {
              role: i % 2 ? "assistant" : "user",
              text,
            }),
            201,
          )
        ),
      );
      assertEquals(appended.map((t) => t.n).sort(), [0, 1, 2, 3, 4, 5]);
      const seen = await json(call(`${b.url}/v1/conversations/${conv.id}`, "GET"));
      assertEquals(seen.turnCount, 6);
      for (let i = 0; i < 6; i++) {
        const n = appended[i].n;
        assertEquals(
          await json(
            call(`${(n % 2 ? b : a).url}/v1/conversations/${conv.id}/turns/${n}/text`, "GET"),
          ),
          { text: turns[i] },
        );
      }
      assertEquals((await call(`${b.url}/v1/conversations/${conv.id}`, "DELETE")).status, 204);
      assertEquals((await call(`${a.url}/v1/conversations/${conv.id}`, "GET")).status, 404);
    }),
});

Deno.test({
  name:
    "postgres: kill -9 of a server mid-write leaves no partial memory and loses nothing acknowledged",
  sanitizeResources: false,
  fn: () =>
    withCluster("killed", async ({ servers: [a, b] }) => {
      // Texts the random model codes into several hundred KB each: the writes take a while.
      const texts = Array.from({ length: 10 }, (_, k) =>
        Array.from(
          { length: 600 },
          (_, i) => `Entry ${k}.${i}: code ${(i * 7919 + k) % 10007}-${(i * 104729) % 1009}.`,
        ).join(" "));
      const acknowledged: string[] = [];
      let settled = 0;
      const writes = texts.map((text) =>
        call(`${a.url}/v1/memories`, "POST", { text })
          .then(async (r) => {
            if (r.status === 201) acknowledged.push((await r.json()).id);
            else await r.body?.cancel();
          })
          .catch(() => {/* the connection died with the server: not acknowledged */})
          .finally(() => settled++)
      );
      while (acknowledged.length < 2 && settled < texts.length) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const status = await a.stop("SIGKILL");
      assertEquals(status.signal, "SIGKILL");
      await Promise.all(writes);
      assert(acknowledged.length >= 2, `only ${acknowledged.length} writes were acknowledged`);
      assert(acknowledged.length < texts.length, "every write finished before the kill");

      const listed = await listIds(b.url);
      for (const id of acknowledged) assert(listed.includes(id), `acknowledged ${id} was lost`);
      for (const id of listed) {
        const { text } = await json(call(`${b.url}/v1/memories/${id}/text`, "GET"));
        assert(texts.includes(text), `memory ${id} came back as something never sent`);
      }
      assertEquals(new Set(listed).size, listed.length);
    }),
});

Deno.test({
  name: "postgres: a database restart is a 503 {error} while it is down, and the server recovers",
  sanitizeResources: false,
  fn: () =>
    withCluster("restart", async ({ pg, servers: [a] }) => {
      const { id } = await json(call(`${a.url}/v1/memories`, "POST", { text: "Keep me." }), 201);
      await pg.stop();
      const t0 = performance.now();
      for (
        const res of [
          call(`${a.url}/v1/memories/${id}`, "GET"),
          call(`${a.url}/v1/memories`, "POST", { text: "Lost while down?" }),
          call(`${a.url}/v1/conversations`, "POST", {}),
        ]
      ) {
        const body = await json(res, 503);
        assertEquals(body.error.code, "unavailable");
        assert(typeof body.error.message === "string" && body.error.message.length > 0);
      }
      assert(performance.now() - t0 < 20_000, "503s took too long (a hang?)");
      await pg.start();
      let back = 0;
      for (let tries = 0; tries < 100 && back !== 200; tries++) {
        const res = await call(`${a.url}/v1/memories/${id}/text`, "GET");
        back = res.status;
        await res.body?.cancel();
        if (back !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      assertEquals(back, 200);
      assertEquals(await json(call(`${a.url}/v1/memories/${id}/text`, "GET")), {
        text: "Keep me.",
      });
      assertEquals(await listIds(a.url), [id]); // the write refused while down left nothing
    }),
});
