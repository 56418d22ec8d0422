// The server's default with a model that has a memory basis: compact code memories over HTTP,
// exact, stored, searchable (keys computed from the text when stored), nodes readable by index.
import { assert, assertEquals } from "./_assert.ts";
import { createTestApp, json } from "../src/server/testing.ts";
import { fromBase64 } from "../src/server/encoding.ts";
import { LocalEngine } from "../src/server/engine.ts";
import { buildRandomModel } from "../src/model/random_model.ts";
import { R3Mem } from "../src/r3mem.ts";
import { fittedBasis } from "./_basis.ts";

const weights = await buildRandomModel({ seed: 1 });
const engine = new LocalEngine(
  await R3Mem.load({ weights, basis: await fittedBasis(weights, 3) }),
);
const TEXT = "Meeting moved to Friday. Bring the slides.\n\nThe launch is in March.";

Deno.test("server default: code memories, smaller than slots all, exact, searchable", async () => {
  const t = await createTestApp({ engine });
  try {
    const res = await t.app.request("/v1/compress", json({ text: TEXT }));
    assertEquals(res.status, 200);
    const { memory, stats } = await res.json();
    const bytes = fromBase64(memory);
    // Compact, version 3: a code memory whose code is empty (no coefficients stored).
    assertEquals([bytes[0], bytes[1], bytes[2] & 0x0f], [0xb3, 0x1a, 3]);
    assertEquals(stats.bytes, bytes.length);
    assertEquals(stats.nodes, { document: 1, paragraph: 2, sentence: 3 }); // the derived tree
    const all = await (await t.app.request("/v1/compress", json({ text: TEXT, slots: "all" })))
      .json();
    assert(stats.bytes < all.stats.bytes / 4, `${stats.bytes} vs ${all.stats.bytes}`);
    assertEquals(await (await t.app.request("/v1/reconstruct", json({ memory }))).json(), {
      text: TEXT,
    });
    const node = await t.app.request("/v1/reconstruct?node=4", json({ memory }));
    assertEquals(await node.json(), { text: "The launch is in March." });

    const stored = await t.app.request("/v1/memories", json({ text: TEXT }));
    assertEquals(stored.status, 201);
    const { id } = await stored.json();
    await t.app.request("/v1/memories", json({ text: "Rain falls in spring." }));
    const { hits } = await (await t.app.request(
      "/v1/search",
      json({ query: "The launch is in March.", k: 2 }),
    )).json();
    assertEquals([hits[0].id, hits[0].node, hits[0].text], [id, 4, "The launch is in March."]);
    assert(Math.abs(hits[0].score - 1) < 1e-5, `score ${hits[0].score}`);
    const text = await (await t.app.request(`/v1/memories/${id}/text?node=2`)).json();
    assertEquals(text.text, "Meeting moved to Friday. ");
    // Explicit choices still work: lossy memories keep slots on every node.
    const lossy = await (await t.app.request("/v1/compress", json({ text: TEXT, lossless: false })))
      .json();
    assertEquals([lossy.stats.residualBytes, lossy.stats.nodes.sentence], [0, 3]);
    const bad = await t.app.request("/v1/compress", json({ text: TEXT, slots: "some" }));
    assertEquals(bad.status, 400);
    const lossyCode = await t.app.request(
      "/v1/compress",
      json({ text: TEXT, slots: "code", lossless: false }),
    );
    assertEquals(lossyCode.status, 400);
  } finally {
    t.close();
  }
});
