// The KV store's versions, expiry and leftovers (src/server/store.ts, store_pending.ts): large
// updates across commits, what a process killed mid-update or mid-delete leaves, records
// written before versions existed, the expiry index.
import { assert, assertEquals } from "./_assert.ts";
import { MemoryStore } from "../src/server/store.ts";
import type { SearchKeys } from "../src/server/search_index.ts";
import type { MemoryStats } from "../src/codec/memory.ts";

const STATS: MemoryStats = {
  bytes: 0,
  nodes: { document: 1, paragraph: 0, sentence: 0 },
  slots: 1,
  residualBytes: 0,
  textBytes: 0,
  ratio: 0,
};
const KEYS: SearchKeys = { dim: 2, levels: ["document"], keys: new Float32Array([0.6, 0.8]) };
const LEX = { terms: ["peanut"], lengths: [1], counts: [[0, 1]] };

function bytesOf(n: number, fill: number): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

async function keys(kv: Deno.Kv): Promise<string[]> {
  const out: string[] = [];
  for await (const e of kv.list({ prefix: [] })) out.push(JSON.stringify(e.key));
  return out;
}

const data = (n: number, fill: number) => ({
  bytes: bytesOf(n, fill),
  stats: STATS,
  keys: KEYS,
  model: "m",
});

Deno.test("versions: large updates span commits; old bytes stay, old index goes; delete takes all", async () => {
  const store = await MemoryStore.open(":memory:");
  try {
    const rec = await store.put("ns", { ...data(10, 1), lexical: LEX });
    assertEquals((await store.getLexical("ns", rec.id))?.terms, ["peanut"]);
    const v2 = await store.update("ns", rec.id, { data: data(700_000, 2) }); // 12 chunks
    assertEquals(v2?.version, 2);
    await store.update("ns", rec.id, { metadata: { v: 3 } });
    const v4 = await store.update("ns", rec.id, { data: data(5, 4) });
    assertEquals(v4?.version, 4);
    for (const [v, n, fill] of [[1, 10, 1], [2, 700_000, 2], [3, 700_000, 2], [4, 5, 4]]) {
      const back = await store.getBytes("ns", rec.id, v);
      assert(back?.length === n && back.every((b) => b === fill), `version ${v}`);
    }
    assertEquals(await store.getBytes("ns", rec.id, 5), null);
    // Only the current version keeps search keys; the first version's term counts are gone.
    const all = await keys(store.kv);
    assertEquals(all.filter((k) => k.includes('"keys"')).length, 1);
    assertEquals(all.filter((k) => k.includes('"lex"')).length, 0);
    assertEquals(all.filter((k) => k.includes("~pending")).length, 0);
    assertEquals(await store.getLexical("ns", rec.id), null);
    assertEquals((await store.history("ns", rec.id))?.map((r) => r.version), [1, 2, 3, 4]);
    assert(await store.delete("ns", rec.id));
    assertEquals(await keys(store.kv), []);
    assertEquals(await store.update("ns", rec.id, { metadata: {} }), null);
  } finally {
    store.close();
  }
});

Deno.test("leftovers of an update or delete killed between commits are settled at open", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/db.kv`;
    let store = await MemoryStore.open(path);
    const kept = await store.put("ns", data(10, 1));
    const gone = await store.put("ns", data(10, 7));
    await store.update("ns", gone.id, { data: data(20, 8) });
    const kv = store.kv;
    // An update that wrote its chunks but died before its record commit.
    await kv.set(["r3mem", "~pending", "orphan"], {
      ns: "ns",
      id: kept.id,
      at: 0,
      data: ["orphan"],
    });
    await kv.set(["r3mem", "ns", "blob", "orphan", 0], new Uint8Array(3));
    await kv.set(["r3mem", "ns", "keys", "orphan", 0], new Uint8Array(3));
    // A delete that removed the record and died before removing the versions and chunks.
    const rec = (await kv.get(["r3mem", "ns", "rec", gone.id])).value as {
      seq: number;
      dataKey: string;
    };
    await kv.atomic().delete(["r3mem", "ns", "rec", gone.id])
      .delete(["r3mem", "ns", "order", rec.seq, gone.id])
      .set(["r3mem", "~pending", "d1"], { ns: "ns", id: gone.id, at: 0, data: [rec.dataKey] })
      .commit();
    store.close();
    store = await MemoryStore.open(path);
    try {
      const left = await keys(store.kv);
      assert(!left.some((k) => k.includes("orphan") || k.includes(gone.id) || k.includes("~")));
      assert(!left.some((k) => k.includes(rec.dataKey)));
      assertEquals((await store.getBytes("ns", kept.id))?.length, 10);
      assertEquals(left.length, 4); // kept: rec, order, blob, keys
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("records written before versions read as version 1; they update like new ones", async () => {
  const store = await MemoryStore.open(":memory:");
  try {
    const legacy = {
      id: "old",
      createdAt: "2026-11-01T00:00:00.000Z",
      metadata: { a: 1 },
      stats: STATS,
      model: "m",
      seq: 1,
      blobChunks: 1,
      keyChunks: 1,
    };
    await store.kv.atomic().set(["r3mem", "ns", "rec", "old"], legacy)
      .set(["r3mem", "ns", "order", 1, "old"], legacy)
      .set(["r3mem", "ns", "blob", "old", 0], bytesOf(4, 9)).commit();
    const got = await store.get("ns", "old");
    assertEquals([got?.version, got?.updatedAt], [1, legacy.createdAt]);
    await store.update("ns", "old", { data: data(2, 3) });
    assertEquals((await store.getBytes("ns", "old", 1))?.length, 4);
    assertEquals((await store.getBytes("ns", "old"))?.length, 2);
    assertEquals((await store.list("ns")).memories.map((m) => m.version), [2]);
  } finally {
    store.close();
  }
});

Deno.test("expiry index: purge removes expired memories of every namespace, stale entries too", async () => {
  const store = await MemoryStore.open(":memory:");
  try {
    const soon = new Date(Date.now() + 60_000).toISOString();
    const a = await store.put("a", { ...data(3, 1), expiresAt: soon });
    const b = await store.put("b", { ...data(3, 1), expiresAt: soon });
    const c = await store.put("b", { ...data(3, 1), expiresAt: soon });
    await store.update("b", c.id, { expiresAt: null }); // its index entry goes with it
    assert(await store.delete("b", b.id));
    assertEquals(await store.purgeExpired(), 0);
    const later = Date.now() + 120_000;
    assertEquals(await store.purgeExpired(later), 1);
    assertEquals(await store.get("a", a.id), null);
    assertEquals((await store.get("b", c.id))?.id, c.id);
    assert(!(await keys(store.kv)).some((k) => k.includes("~expiry")));
    // Taken ids are refused before anything is written.
    const before = await keys(store.kv);
    let status = 0;
    try {
      await store.put("b", { ...data(700_000, 1), id: c.id });
    } catch (e) {
      status = (e as { status: number }).status;
    }
    assertEquals([status, await keys(store.kv)], [409, before]);
  } finally {
    store.close();
  }
});
