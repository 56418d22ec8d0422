/**
 * The behaviour every `Store` (src/server/store_types.ts) must have, as tests that use the
 * interface only: run them against a new store (PostgreSQL, issue 13) with
 * `storeContract("postgres", () => openIt())`. `tests/server_store_contract_test.ts` runs them on
 * the Deno KV `MemoryStore`.
 */
import { assert, assertEquals } from "./_assert.ts";
import type { MemoryData, Store } from "../src/server/store_types.ts";
import type { MemoryStats } from "../src/codec/memory.ts";

const STATS: MemoryStats = {
  bytes: 3,
  nodes: { document: 1, paragraph: 0, sentence: 0 },
  slots: 1,
  residualBytes: 0,
  textBytes: 3,
  ratio: 1,
};

/** Content of `n` bytes of `fill`, with one key and (when `words`) one term. */
export function content(n: number, fill: number, words = false): MemoryData {
  return {
    bytes: new Uint8Array(n).fill(fill),
    stats: { ...STATS, bytes: n },
    keys: { dim: 2, levels: ["document"], keys: new Float32Array([0.6, 0.8]) },
    ...(words ? { lexical: { terms: ["peanut"], lengths: [1], counts: [[0, 1]] } } : {}),
    model: "m",
  };
}

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    return (e as { status?: number }).status ?? -1;
  }
  return 0;
}

/** Registers the contract's tests for the store `open` makes (a fresh, empty one each time). */
export function storeContract(name: string, open: () => Promise<Store>): void {
  const test = (what: string, fn: (s: Store) => Promise<void>) =>
    Deno.test(`${name} store contract: ${what}`, async () => {
      const store = await open();
      try {
        await fn(store);
      } finally {
        store.close();
      }
    });

  test("put, get, bytes, keys, words; namespaces apart; a taken id is 409", async (s) => {
    const rec = await s.put("a", { ...content(70_000, 5, true), user_id: "u", metadata: { k: 1 } });
    assertEquals([rec.version, rec.updatedAt, rec.user_id], [1, rec.createdAt, "u"]);
    assertEquals((await s.get("a", rec.id))?.metadata, { k: 1 });
    assertEquals(await s.get("b", rec.id), null);
    const bytes = await s.getBytes("a", rec.id);
    assert(bytes?.length === 70_000 && bytes.every((b) => b === 5));
    assertEquals([...(await s.getKeys("a", rec.id))!.keys], [...content(1, 1).keys.keys]);
    assertEquals((await s.getLexical("a", rec.id))?.terms, ["peanut"]);
    assertEquals(await s.getLexical("a", (await s.put("a", content(1, 1))).id), null);
    assertEquals(await status(s.put("a", { ...content(1, 1), id: rec.id })), 409);
    const kept = await s.put("b", {
      ...content(1, 1),
      id: rec.id,
      createdAt: "2026-01-01T00:00:00.000Z",
    });
    assertEquals([kept.id, kept.createdAt], [rec.id, "2026-01-01T00:00:00.000Z"]);
  });

  test("list pages in creation order with filters; records; a foreign cursor is 400", async (s) => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await s.put("a", { ...content(1, i), metadata: { i } })).id);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let guard = 0; guard < 10; guard++) {
      const page = await s.list("a", { limit: 2, cursor, filter: { metadata: { i: { ne: 2 } } } });
      seen.push(...page.memories.map((m) => m.id));
      if (!page.cursor) break;
      cursor = page.cursor;
    }
    assertEquals(seen, [ids[0], ids[1], ids[3], ids[4]]);
    const odd: string[] = [];
    for await (const r of s.records("a", { metadata: { i: { in: [1, 3] } } })) odd.push(r.id);
    assertEquals(odd, [ids[1], ids[3]]);
    assertEquals(await status(s.list("a", { cursor: "not-a-cursor%%" })), 400);
  });

  test("update writes versions; history; every version's bytes; search sees the current", async (s) => {
    const rec = await s.put("a", { ...content(4, 1, true), metadata: { v: 1 } });
    const v2 = await s.update("a", rec.id, { data: content(6, 2) });
    const v3 = await s.update("a", rec.id, { metadata: { v: 3 } });
    assertEquals([v2?.version, v3?.version, v3?.metadata, v3?.stats.bytes], [2, 3, { v: 3 }, 6]);
    assert(v3!.updatedAt > v2!.updatedAt && v3!.createdAt === rec.createdAt);
    assertEquals((await s.history("a", rec.id))?.map((v) => v.version), [1, 2, 3]);
    assertEquals((await s.getBytes("a", rec.id, 1))?.length, 4);
    assertEquals((await s.getBytes("a", rec.id, 2))?.length, 6);
    assertEquals((await s.getBytes("a", rec.id))?.length, 6);
    assertEquals(await s.getBytes("a", rec.id, 9), null);
    assertEquals(await s.getLexical("a", rec.id), null); // version 2 has no words
    assertEquals(await s.update("a", "missing", { metadata: {} }), null);
    assert(await s.delete("a", rec.id));
    assertEquals([await s.history("a", rec.id), await s.getBytes("a", rec.id, 1)], [null, null]);
    assert(!(await s.delete("a", rec.id)));
  });

  test("expired memories are invisible at once; purge removes them", async (s) => {
    const soon = new Date(Date.now() + 200).toISOString();
    const gone = await s.put("a", { ...content(1, 1), expiresAt: soon });
    const stays = await s.put("a", { ...content(1, 1), expiresAt: soon });
    await s.update("a", stays.id, { expiresAt: null });
    await new Promise((r) => setTimeout(r, 250));
    assertEquals(await s.get("a", gone.id), null);
    assertEquals(await s.getBytes("a", gone.id), null);
    assertEquals(await s.history("a", gone.id), null);
    assertEquals(await s.update("a", gone.id, { metadata: {} }), null);
    assert(!(await s.delete("a", gone.id)));
    assertEquals((await s.list("a")).memories.map((m) => m.id), [stays.id]);
    assertEquals(await s.purgeExpired(), 1);
    assertEquals(await s.purgeExpired(), 0);
    assertEquals((await s.get("a", stays.id))?.expiresAt, undefined);
  });

  test("deleteWhere deletes what matches, in its namespace only", async (s) => {
    await s.put("a", { ...content(1, 1), run_id: "r1" });
    await s.put("a", { ...content(1, 1), run_id: "r2" });
    const other = await s.put("b", { ...content(1, 1), run_id: "r1" });
    assertEquals(await s.deleteWhere("a", { run_id: { eq: "r1" } }), 1);
    assertEquals((await s.list("a")).memories.map((m) => m.run_id), ["r2"]);
    assertEquals((await s.get("b", other.id))?.run_id, "r1");
    assertEquals(await s.deleteWhere("a", {}), 1);
    assertEquals((await s.list("a")).memories, []);
  });
}
