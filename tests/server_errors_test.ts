// Bad input answers {error: {code, message}} with the right status, never 500, and changes
// nothing stored (src/server/errors.ts and the validators in src/server/schemas.ts).
import { assert, assertEquals } from "./_assert.ts";
import { createTestApp, json, randomEngine, type TestApp } from "../src/server/testing.ts";
import { fromBase64, toBase64 } from "../src/server/encoding.ts";

const engine = await randomEngine(1);
const otherEngine = await randomEngine(2);
const LIMIT = 4096;

/** Runs `fn` against an app holding one stored memory; checks the store is untouched after. */
async function withApp(fn: (t: TestApp, id: string, memory: string) => Promise<void>) {
  const t = await createTestApp({ engine, maxBodyBytes: LIMIT });
  try {
    const created = await t.app.request("/v1/memories", json({ text: "Stored. Safe." }));
    assertEquals(created.status, 201);
    const { id } = await created.json();
    const { memory } = await (await t.app.request("/v1/compress", json({ text: "Hi there." })))
      .json();
    const before = await t.snapshot();
    await fn(t, id, memory);
    assertEquals(await t.snapshot(), before, "the store changed");
  } finally {
    t.close();
  }
}

async function expectError(
  res: Response | Promise<Response>,
  status: number,
  code: string,
  includes?: string,
): Promise<string> {
  const r = await res;
  const body = await r.json();
  assertEquals(r.status, status, `status for ${JSON.stringify(body)}`);
  assertEquals(Object.keys(body), ["error"]);
  assertEquals(body.error.code, code);
  assert(typeof body.error.message === "string" && body.error.message.length > 0);
  if (includes) {
    assert(body.error.message.includes(includes), `"${body.error.message}" lacks "${includes}"`);
  }
  return body.error.message;
}

const raw = (path: string, body: BodyInit, type = "application/json"): [string, RequestInit] => [
  path,
  { method: "POST", headers: { "Content-Type": type }, body },
];

Deno.test("malformed JSON is a 400 on every JSON route", async () => {
  await withApp(async (t) => {
    for (const path of ["/v1/compress", "/v1/memories", "/v1/search", "/v1/reconstruct"]) {
      await expectError(t.app.request(...raw(path, '{"text": "unterminated')), 400, "bad_input");
    }
  });
});

Deno.test("wrong types, missing and empty fields are 400s that name the field", async () => {
  await withApp(async (t) => {
    const cases: [string, unknown, string][] = [
      ["/v1/compress", { text: 42 }, "text"],
      ["/v1/compress", {}, "text"],
      ["/v1/compress", { text: "" }, "empty"],
      ["/v1/compress", { text: "ok", lossless: "yes" }, "lossless"],
      ["/v1/compress", { text: "ok", slots: "some" }, "slots"],
      ["/v1/compress", { text: "ok", lossless: false, slots: "none" }, "needs slots"],
      ["/v1/memories", { text: "ok", slots: 3 }, "slots"],
      ["/v1/compress", [1, 2], "Invalid request"],
      ["/v1/compress", "just a string", "Invalid request"],
      ["/v1/memories", { text: null }, "text"],
      ["/v1/memories", { text: "" }, "empty"],
      ["/v1/memories", { text: "ok", metadata: [1] }, "metadata"],
      ["/v1/memories", { text: "ok", metadata: "tag" }, "metadata"],
      ["/v1/search", { query: "" }, "query"],
      ["/v1/search", { query: 1 }, "query"],
      ["/v1/search", { query: "x", k: "3" }, "k"],
      ["/v1/search", { query: "x", k: 0 }, "k"],
      ["/v1/search", { query: "x", k: 1.5 }, "k"],
      ["/v1/search", { query: "x", k: 1000 }, "k"],
      ["/v1/search", { query: "x", levels: ["chapter"] }, "levels"],
      ["/v1/reconstruct", { memory: 5 }, "memory"],
      ["/v1/reconstruct", { memory: "" }, "memory"],
      ["/v1/reconstruct", {}, "memory"],
      ["/v1/reconstruct", { memory: "not base64!" }, "base64"],
    ];
    for (const [path, body, field] of cases) {
      await expectError(t.app.request(path, json(body)), 400, "bad_input", field);
    }
    // No Content-Type at all: validated as an empty body.
    await expectError(
      t.app.request("/v1/compress", { method: "POST", body: null }),
      400,
      "bad_input",
      "text",
    );
    await expectError(t.app.request("/v1/memories?limit=0"), 400, "bad_input", "limit");
    await expectError(t.app.request("/v1/memories?limit=abc"), 400, "bad_input", "limit");
  });
});

Deno.test("text the tokenizer cannot take (lone surrogate) is a 400", async () => {
  await withApp(async (t) => {
    const body = '{"text": "broken \\ud800 half"}';
    await expectError(t.app.request(...raw("/v1/compress", body)), 400, "bad_input");
    await expectError(t.app.request(...raw("/v1/memories", body)), 400, "bad_input");
    await expectError(
      t.app.request(...raw("/v1/search", '{"query": "\\udfff"}')),
      400,
      "bad_input",
    );
  });
});

Deno.test("unsupported content types are 415s", async () => {
  await withApp(async (t) => {
    await expectError(
      t.app.request(...raw("/v1/compress", "text", "text/plain")),
      415,
      "unsupported_media_type",
    );
    await expectError(
      t.app.request(...raw("/v1/memories", "text=x", "application/x-www-form-urlencoded")),
      415,
      "unsupported_media_type",
    );
  });
});

Deno.test("bodies over the limit are 413s that state the limit", async () => {
  await withApp(async (t) => {
    const big = JSON.stringify({ text: "x".repeat(LIMIT + 1) });
    for (const path of ["/v1/compress", "/v1/memories", "/v1/reconstruct", "/v1/search"]) {
      await expectError(t.app.request(...raw(path, big)), 413, "too_large", String(LIMIT));
    }
    // Without Content-Length (a streamed body), the limit holds as the body is read.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode("y".repeat(1000)));
        c.close();
      },
    });
    await expectError(
      t.app.request(...raw("/v1/memories", stream)),
      413,
      "too_large",
      String(LIMIT),
    );
    await expectError(
      t.app.request(
        ...raw("/v1/reconstruct", new Uint8Array(LIMIT + 1), "application/octet-stream"),
      ),
      413,
      "too_large",
    );
    // Metadata has its own, smaller limit (16 KiB); this app's body limit is raised to test it.
    const roomy = await createTestApp({ engine });
    try {
      const before = await roomy.snapshot();
      const metadata = { blob: "m".repeat(17 * 1024) };
      await expectError(
        roomy.app.request("/v1/memories", json({ text: "ok", metadata })),
        413,
        "too_large",
        "16384",
      );
      assertEquals(await roomy.snapshot(), before);
    } finally {
      roomy.close();
    }
  });
});

Deno.test("a damaged, truncated, foreign or other model's .r3m is a 422", async () => {
  await withApp(async (t, _id, memory) => {
    const bytes = fromBase64(memory);
    const flipped = bytes.slice();
    flipped[Math.floor(flipped.length / 2)] ^= 0x5a;
    const truncated = bytes.slice(0, bytes.length - 7);
    const garbage = crypto.getRandomValues(new Uint8Array(200));
    const foreign = toBase64((await otherEngine.compress("Hi there.")).bytes);
    for (
      const [name, b] of [["flipped", flipped], ["truncated", truncated], ["garbage", garbage]]
    ) {
      const m = await expectError(
        t.app.request("/v1/reconstruct", json({ memory: toBase64(b as Uint8Array) })),
        422,
        "bad_format",
      );
      assert(m.length > 10, `${name}: ${m}`);
      await expectError(
        t.app.request(
          ...raw("/v1/reconstruct", b as Uint8Array<ArrayBuffer>, "application/octet-stream"),
        ),
        422,
        "bad_format",
      );
      // Asking for a stream does not change that: the error comes before any event.
      await expectError(
        t.app.request(
          "/v1/reconstruct",
          json({ memory: toBase64(b as Uint8Array) }, { headers: { Accept: "text/event-stream" } }),
        ),
        422,
        "bad_format",
      );
    }
    await expectError(
      t.app.request("/v1/reconstruct", json({ memory: foreign })),
      422,
      "model_mismatch",
    );
    await expectError(
      t.app.request(...raw("/v1/reconstruct", new Uint8Array(0), "application/octet-stream")),
      400,
      "bad_input",
    );
    await expectError(
      t.app.request("/v1/reconstruct?node=99", json({ memory })),
      400,
      "bad_input",
      "99",
    );
  });
});

Deno.test("unknown ids and routes are 404s; a bad cursor is a 400", async () => {
  await withApp(async (t, id) => {
    const unknown = crypto.randomUUID();
    await expectError(t.app.request(`/v1/memories/${unknown}`), 404, "not_found", unknown);
    await expectError(t.app.request(`/v1/memories/${unknown}/text`), 404, "not_found");
    await expectError(
      t.app.request(`/v1/memories/${unknown}`, { method: "DELETE" }),
      404,
      "not_found",
    );
    await expectError(t.app.request("/v1/memories/not-a-uuid"), 404, "not_found");
    await expectError(t.app.request("/v1/nothing"), 404, "not_found");
    await expectError(t.app.request(`/v1/memories/${id}/text?node=-1`), 400, "bad_input");
    await expectError(t.app.request("/v1/memories?cursor=%%%garbage"), 400, "bad_input", "cursor");
  });
});
