// The HTTP contract as client tooling reads it. The app (random model, in-memory KV, one bearer
// token) is served on a local port; its /openapi.json must pass Redocly's recommended rules with
// no error, and openapi-typescript's types of it must type-check a client (openapi-fetch) that
// calls every operation of the document and gets the answers the types promise. The tools are
// run with npx at test time (the npm registry only); skipped with a message when npx is missing.
import { assert, assertEquals } from "./_assert.ts";
import { createTestApp } from "../src/server/testing.ts";

const REDOCLY = "@redocly/cli@2.77.0";
const OPENAPI_TYPESCRIPT = "openapi-typescript@7.13.0";
const OPENAPI_FETCH = "npm:openapi-fetch@0.17.0";
const TOKEN = "s3cret-a";
const decoder = new TextDecoder();

async function hasNpx(): Promise<boolean> {
  try {
    return (await new Deno.Command("npx", { args: ["--version"], stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[], cwd: string) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env: { NO_COLOR: "1", NO_UPDATE_NOTIFIER: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    ok: out.success,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

// Calls every operation through the generated types. `deno check` proves the calls match the
// types; running it proves the answers match the calls. It prints the operations it called.
const CLIENT = `import createClient from "${OPENAPI_FETCH}";
import type { paths } from "./types.ts";

const [baseUrl, token] = Deno.args;
const client = createClient<paths>({ baseUrl, headers: { Authorization: \`Bearer \${token}\` } });
const called: string[] = [];
function check(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(\`Failed: \${what}\`);
}
const text = "Meeting moved to Friday.\\n\\nBring the slides. The budget is due.";
// Text routes answer JSON, or Server-Sent Events with Accept: text/event-stream (a string).
const textOf = (d: { text: string } | string | undefined) => typeof d === "object" ? d.text : d;

const health = await client.GET("/healthz");
called.push("get /healthz");
check(health.data?.ok === true, "healthz");

const compressed = await client.POST("/v1/compress", { body: { text } });
called.push("post /v1/compress");
check(compressed.data && compressed.data.stats.textBytes > 0, "compress");

const back = await client.POST("/v1/reconstruct", { body: { memory: compressed.data.memory } });
called.push("post /v1/reconstruct");
check(textOf(back.data) === text, "reconstruct");

const created = await client.POST("/v1/memories", {
  body: { text, metadata: { from: "openapi-fetch" } },
});
called.push("post /v1/memories");
check(created.response.status === 201 && created.data, "create");
const id: string = created.data.id;

const list = await client.GET("/v1/memories", { params: { query: { limit: 10 } } });
called.push("get /v1/memories");
check(list.data?.memories.some((m) => m.id === id), "list");

const one = await client.GET("/v1/memories/{id}", { params: { path: { id } } });
called.push("get /v1/memories/{id}");
check(one.data?.id === id && one.data.metadata?.from === "openapi-fetch", "get");

const stored = await client.GET("/v1/memories/{id}/text", { params: { path: { id } } });
called.push("get /v1/memories/{id}/text");
check(textOf(stored.data) === text, "text");

const found = await client.POST("/v1/search", { body: { query: "the budget", k: 3 } });
called.push("post /v1/search");
check(found.data && found.data.hits.length > 0 && found.data.hits[0].id === id, "search");

const updated = await client.PUT("/v1/memories/{id}", {
  params: { path: { id } },
  body: { metadata: { from: "update" }, ttl: 3600 },
});
called.push("put /v1/memories/{id}");
check(updated.data?.version === 2 && typeof updated.data.expiresAt === "string", "update");

const history = await client.GET("/v1/memories/{id}/history", { params: { path: { id } } });
called.push("get /v1/memories/{id}/history");
check(history.data?.versions.map((v) => v.version).join() === "1,2", "history");

const first = await client.GET("/v1/memories/{id}/versions/{version}/text", {
  params: { path: { id, version: 1 } },
});
called.push("get /v1/memories/{id}/versions/{version}/text");
check(textOf(first.data) === text, "version text");

const filter = JSON.stringify({ metadata: { from: "update" } });
const exported = await client.GET("/v1/export", { params: { query: { filter } }, parseAs: "text" });
called.push("get /v1/export");
check(typeof exported.data === "string" && exported.data.includes(id), "export");

const line = JSON.parse(exported.data.trim());
delete line.id;
const imported = await client.POST("/v1/import", {
  body: JSON.stringify(line) + "\\n",
  bodySerializer: (b: string) => b,
  headers: { "Content-Type": "application/x-ndjson" },
});
called.push("post /v1/import");
check(imported.data?.imported === 1 && imported.data.skipped.length === 0, "import");

const gone = await client.DELETE("/v1/memories/{id}", { params: { path: { id } } });
called.push("delete /v1/memories/{id}");
check(gone.response.status === 204, "delete");

const bulk = await client.DELETE("/v1/memories", { params: { query: { filter } } });
called.push("delete /v1/memories");
check(bulk.data?.deleted === 1, "bulk delete");

const conv = await client.POST("/v1/conversations", { body: { metadata: { from: "client" } } });
called.push("post /v1/conversations");
check(conv.response.status === 201 && conv.data, "create conversation");
const cid: string = conv.data.id;
const turn = await client.POST("/v1/conversations/{id}/turns", {
  params: { path: { id: cid } },
  body: { role: "user", text: "Bring the slides." },
});
called.push("post /v1/conversations/{id}/turns");
check(turn.response.status === 201 && turn.data?.n === 0 && turn.data.role === "user", "turn");
const convGot = await client.GET("/v1/conversations/{id}", {
  params: { path: { id: cid }, query: { text: "true" } },
});
called.push("get /v1/conversations/{id}");
check(convGot.data?.turns[0].text === "Bring the slides.", "get conversation");
const turnText = await client.GET("/v1/conversations/{id}/turns/{n}/text", {
  params: { path: { id: cid, n: 0 } },
});
called.push("get /v1/conversations/{id}/turns/{n}/text");
check(textOf(turnText.data) === "Bring the slides.", "turn text");
const convGone = await client.DELETE("/v1/conversations/{id}", { params: { path: { id: cid } } });
called.push("delete /v1/conversations/{id}");
check(convGone.response.status === 204, "delete conversation");

// Errors are typed too: { error: { code, message } }.
const missing = await client.GET("/v1/memories/{id}", { params: { path: { id } } });
check(missing.response.status === 404 && missing.error?.error.code === "not_found", "404");

console.log(JSON.stringify(called));
`;

const npx = await hasNpx();

Deno.test({
  name:
    "openapi: Redocly recommended rules pass; generated types type-check a client of every route",
  ignore: !npx,
  fn: async () => {
    const t = await createTestApp({ tokens: new Map([[TOKEN, "team-a"]]) });
    const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, t.app.fetch);
    const base = `http://127.0.0.1:${server.addr.port}`;
    const dir = await Deno.makeTempDir({ prefix: "r3mem-openapi-" });
    try {
      const doc = await (await fetch(`${base}/openapi.json`)).json();
      assertEquals(doc.servers, [{ url: base }]);
      await Deno.writeTextFile(`${dir}/openapi.json`, JSON.stringify(doc, null, 2));

      // Redocly's recommended rules: no errors (warnings are printed).
      const lint = await run("npx", [
        "-y",
        REDOCLY,
        "lint",
        "--extends=recommended",
        "--format=json",
        "openapi.json",
      ], dir);
      const report = JSON.parse(lint.stdout.slice(lint.stdout.indexOf("{")));
      const problems = report.problems as { severity: string; ruleId: string; message: string }[];
      const errors = problems.filter((p) => p.severity === "error");
      assertEquals(errors, [], `Redocly errors:\n${lint.stderr}`);
      assert(lint.ok, lint.stderr);
      const warnings = problems.map((p) => `${p.ruleId}: ${p.message}`);
      console.log(`redocly recommended: 0 errors, ${warnings.length} warning(s) ${warnings}`);

      // Every operation has an id, and ids are unique.
      const operations: string[] = [];
      const ids = new Set<string>();
      for (const [path, methods] of Object.entries(doc.paths as Record<string, object>)) {
        for (const [method, op] of Object.entries(methods as Record<string, unknown>)) {
          operations.push(`${method} ${path}`);
          ids.add((op as { operationId: string }).operationId);
        }
      }
      assertEquals(ids.size, operations.length, "operationIds missing or repeated");

      // Types from the document, a client through them: type-checked, then run.
      const gen = await run(
        "npx",
        ["-y", OPENAPI_TYPESCRIPT, "openapi.json", "--output", "types.ts"],
        dir,
      );
      assert(gen.ok, `openapi-typescript:\n${gen.stderr}`);
      await Deno.writeTextFile(`${dir}/client.ts`, CLIENT);
      const denoArgs = ["--no-config", "--no-lock"];
      const checked = await run(Deno.execPath(), ["check", ...denoArgs, "client.ts"], dir);
      assert(
        checked.ok,
        `the client does not type-check against the generated types:\n${
          checked.stderr.slice(-6000)
        }`,
      );
      const ran = await run(Deno.execPath(), [
        "run",
        ...denoArgs,
        `--allow-net=127.0.0.1:${server.addr.port}`,
        "client.ts",
        base,
        TOKEN,
      ], dir);
      assert(ran.ok, `client:\n${ran.stderr}`);
      const called = JSON.parse(ran.stdout.trim().split("\n").at(-1)!) as string[];
      assertEquals([...called].sort(), [...operations].sort(), "not every route was called");
    } finally {
      await server.shutdown();
      t.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
