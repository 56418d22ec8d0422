// Refinement over HTTP: `refine` on POST /v1/compress and /v1/memories, validated by the schema,
// run in the worker pool as in the server, refused with a typed 400 where it cannot apply.
import { assert, assertEquals } from "./_assert.ts";
import { createTestApp, json, randomEngine } from "../src/server/testing.ts";
import { fromBase64 } from "../src/server/encoding.ts";
import { WorkerPool } from "../src/server/worker_pool.ts";
import { buildRandomModel } from "../src/model/random_model.ts";
import { Memory } from "../src/codec/memory.ts";

const TEXT = "Refined over HTTP. Two sentences.";

Deno.test("POST /v1/compress and /v1/memories take refine; bad ones are 400 and store nothing", async () => {
  const t = await createTestApp({ engine: await randomEngine(1) });
  try {
    const plain = await t.app.request("/v1/compress", json({ text: TEXT, slots: "all" }));
    const refined = await t.app.request(
      "/v1/compress",
      json({ text: TEXT, slots: "all", refine: { steps: 4 } }),
    );
    assertEquals(refined.status, 200);
    const a = Memory.fromBytes(fromBase64((await plain.json()).memory));
    const b = Memory.fromBytes(fromBase64((await refined.json()).memory));
    assertEquals(b.nodes.length, a.nodes.length);
    assert(b.nodes.some((n, i) => n.slots!.some((v, j) => v !== a.nodes[i].slots![j])));
    const stored = await t.app.request(
      "/v1/memories",
      json({ text: TEXT, slots: "document", refine: { steps: 2, ms: 5000 } }),
    );
    assertEquals(stored.status, 201);
    for (
      const [body, want] of [
        [{ text: TEXT, slots: "all", refine: { steps: -1 } }, "refine.steps"],
        [{ text: TEXT, slots: "all", refine: { steps: 2, speed: 3 } }, "speed"],
        [{ text: TEXT, slots: "all", refine: 5 }, "refine must be an object"],
        [{ text: TEXT, slots: "none", refine: { steps: 2 } }, "slots"], // an archive has no slots
      ] as const
    ) {
      for (const route of ["/v1/compress", "/v1/memories"]) {
        const res = await t.app.request(route, json(body));
        assertEquals(res.status, 400, `${route} ${JSON.stringify(body)}`);
        const err = (await res.json()).error;
        assertEquals(err.code, "bad_input");
        assert(err.message.includes(want), `${JSON.stringify(body)}: ${err.message}`);
      }
    }
    const list = await (await t.app.request("/v1/memories")).json();
    assertEquals(list.memories.length, 1, "only the good request stored a memory");
  } finally {
    t.close();
  }
});

Deno.test("the worker pool refines like the in-process engine (same bytes)", async () => {
  const weights = await buildRandomModel({ seed: 1 });
  const pool = await WorkerPool.create({ weights, size: 1 });
  const local = await randomEngine(1);
  try {
    const options = { slots: "all" as const, lossless: false, refine: { steps: 3 } };
    const p = await pool.compress(TEXT, options);
    const l = await local.compress(TEXT, options);
    assertEquals(Array.from(p.bytes), Array.from(l.bytes));
  } finally {
    await pool.close();
  }
});
