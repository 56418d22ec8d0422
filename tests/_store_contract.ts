/**
 * The behaviour every `Store` (src/server/store_types.ts) must have, memories and conversations,
 * as cases that use the interface only. `tests/store_contract_test.ts` runs them on the Deno KV
 * store and on PostgreSQL; a new store runs them with `runStoreContract(t, open)`.
 *
 * @module
 */
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import type { MemoryStats } from "../src/codec/memory.ts";
import type { LexicalTerms } from "../src/search/lexical.ts";
import { ApiError } from "../src/server/errors.ts";
import { scopedFilter } from "../src/server/filters.ts";
import type { SearchKeys } from "../src/server/search_index.ts";
import type { MemoryRecord, NewMemory, Store } from "../src/server/store_types.ts";

const STATS: MemoryStats = {
  bytes: 3,
  nodes: { document: 1, paragraph: 0, sentence: 0 },
  slots: 1,
  residualBytes: 0,
  textBytes: 2,
  ratio: 0.67,
};
const keysOf = (x: number): SearchKeys => ({
  dim: 2,
  levels: ["document"],
  parents: new Int32Array([-1]),
  keys: new Float32Array([x, Math.sqrt(1 - x * x)]),
});
const TERMS: LexicalTerms = { terms: ["milk", "egg"], lengths: [2], counts: [[0, 1, 1, 1]] };

function mem(i: number, extra: Partial<NewMemory> = {}): NewMemory {
  return {
    bytes: new Uint8Array([i, i + 1, i + 2]),
    stats: { ...STATS, textBytes: i },
    keys: keysOf(i / 100),
    model: "m",
    metadata: { i },
    ...extra,
  };
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

async function ids(store: Store, ns: string, filter?: Parameters<Store["records"]>[1]) {
  const out: string[] = [];
  for await (const r of store.records(ns, filter)) out.push(r.id);
  return out;
}

type Case = [string, (store: Store) => Promise<void>];

const CASES: Case[] = [
  ["put, get, bytes, keys and term counts round-trip; namespaces apart", async (s) => {
    const big = randomBytes(2_000_000);
    const rec = await s.put("a", { ...mem(1), bytes: big, lexical: TERMS, user_id: "u" });
    assertEquals(rec.version, 1);
    assertEquals(rec.updatedAt, rec.createdAt);
    assertEquals(rec.user_id, "u");
    const got = await s.get("a", rec.id);
    assertEquals(got, rec);
    const back = await s.getBytes("a", rec.id);
    assert(back && back.length === big.length && back.every((b, i) => b === big[i]));
    assertEquals([...(await s.getKeys("a", rec.id))!.keys], [...keysOf(0.01).keys]);
    assertEquals(await s.getLexical("a", rec.id), TERMS);
    const plain = await s.put("a", { ...mem(2), metadata: { z: 1, a: { b: [1, "x"] } } });
    assertEquals(await s.getLexical("a", plain.id), null);
    assertEquals((await s.get("a", plain.id))!.metadata, { z: 1, a: { b: [1, "x"] } });
    assertEquals(await s.get("b", rec.id), null);
    assertEquals(await s.getBytes("b", rec.id), null);
    assertEquals(await s.getKeys("b", rec.id), null);
    assertEquals(await ids(s, "b"), []);
    assertEquals(await s.delete("b", rec.id), false);
  }],
  ["a given id and creation time are kept; a taken id is a 409 that changes nothing", async (s) => {
    const createdAt = "2025-01-02T03:04:05.678Z";
    const rec = await s.put("a", mem(1, { id: "import-1", createdAt }));
    assertEquals([rec.id, rec.createdAt], ["import-1", createdAt]);
    const e = await assertRejects(() => s.put("a", mem(9, { id: "import-1" })), ApiError);
    assertEquals([e.status, e.code], [409, "conflict"]);
    assertEquals(await s.getBytes("a", "import-1"), new Uint8Array([1, 2, 3]));
    assertEquals((await s.history("a", "import-1"))!.length, 1);
    assertEquals((await s.put("b", mem(2, { id: "import-1" }))).id, "import-1");
  }],
  ["list pages in creation order; a foreign cursor is a 400", async (s) => {
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await s.put("a", mem(i))).id);
    await s.put("other", mem(99));
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let guard = 0; guard < 10; guard++) {
      const page = await s.list("a", { limit: 3, cursor });
      assert(page.memories.length <= 3);
      seen.push(...page.memories.map((m) => m.id));
      if (!page.cursor) break;
      cursor = page.cursor;
    }
    assertEquals(seen, made);
    // Paging through a filter: the cursor skips what the filter drops.
    const notTwo: string[] = [];
    cursor = undefined;
    for (let guard = 0; guard < 10; guard++) {
      const page = await s.list("a", { limit: 2, cursor, filter: { metadata: { i: { ne: 2 } } } });
      notTwo.push(...page.memories.map((m) => m.id));
      if (!page.cursor) break;
      cursor = page.cursor;
    }
    assertEquals(notTwo, made.filter((_, i) => i !== 2));
    const odd = await s.list("a", { filter: { metadata: { i: { in: [1, 3, 5] } } } });
    assertEquals(odd.memories.map((m) => m.metadata.i), [1, 3, 5]);
    const e = await assertRejects(() => s.list("a", { cursor: "%%%" }), ApiError);
    assertEquals(e.status, 400);
  }],
  ["scopes and filters select the same memories", async (s) => {
    const put = async (i: number, extra: Partial<NewMemory>) =>
      (await s.put("a", mem(i, extra))).id;
    const a = await put(1, {
      user_id: "alice",
      agent_id: "bot",
      metadata: { topic: "food", n: 4 },
    });
    const b = await put(2, { user_id: "alice", run_id: "r1", metadata: { topic: "work", n: 7 } });
    const c = await put(3, { user_id: "bob", metadata: { topic: "food", deep: { x: "y" } } });
    const d = await put(4, { metadata: { "deep.x": "y", topic: null } });
    const sel = (f: Parameters<Store["records"]>[1]) => ids(s, "a", f);
    assertEquals(await sel(scopedFilter({ user_id: "alice" })), [a, b]);
    assertEquals(await sel(scopedFilter({ user_id: "alice", agent_id: "bot" })), [a]);
    assertEquals(await sel({ run_id: { exists: false } }), [a, c, d]);
    assertEquals(await sel({ user_id: { in: ["bob", "carol"] } }), [c]);
    assertEquals(await sel({ user_id: { ne: "alice" } }), [c, d]);
    assertEquals(await sel({ metadata: { topic: { eq: "food" } } }), [a, c]);
    assertEquals(await sel({ metadata: { topic: { eq: null } } }), [d]);
    assertEquals(await sel({ metadata: { n: { gte: 5 } } }), [b]);
    assertEquals(await sel({ metadata: { "deep.x": { eq: "y" } } }), [c, d]);
    assertEquals(
      await sel({ or: [{ metadata: { n: { lt: 5 } } }, { user_id: { eq: "bob" } }] }),
      [a, c],
    );
    assertEquals(await sel({ not: { metadata: { topic: { eq: "food" } } } }), [b, d]);
    assertEquals(
      await sel({ and: [{ user_id: { eq: "alice" } }, { metadata: { topic: { eq: "work" } } }] }),
      [b],
    );
    assertEquals(await sel({ createdAt: { gte: "2000-01-01" }, user_id: { eq: "zed" } }), []);
    assertEquals(await s.deleteWhere("a", { metadata: { topic: { eq: "food" } } }), 2);
    assertEquals(await sel(undefined), [b, d]);
  }],
  ["updates keep every version; search sees the current one", async (s) => {
    const rec = await s.put("a", mem(10, { lexical: TERMS, metadata: { v: 1 } }));
    const m2 = await s.update("a", rec.id, { metadata: { v: 2 } });
    assertEquals([m2!.version, m2!.metadata, m2!.createdAt], [2, { v: 2 }, rec.createdAt]);
    assert(m2!.updatedAt > rec.updatedAt, "updatedAt moves forward");
    const data = { ...mem(20), bytes: new Uint8Array([7, 7]), stats: { ...STATS, bytes: 2 } };
    const m3 = await s.update("a", rec.id, { data });
    assertEquals([m3!.version, m3!.metadata, m3!.stats.bytes], [3, { v: 2 }, 2]);
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const m4 = await s.update("a", rec.id, { expiresAt: until });
    assertEquals(m4!.expiresAt, until);
    const m5 = await s.update("a", rec.id, { expiresAt: null });
    assertEquals([m5!.expiresAt, m5!.stats.bytes], [undefined, 2]); // v3's content kept
    const hist = await s.history("a", rec.id);
    assertEquals(hist!.map((h) => h.version), [1, 2, 3, 4, 5]);
    assertEquals(hist!.map((h) => h.metadata.v), [1, 2, 2, 2, 2]);
    assertEquals(hist![3].expiresAt, until);
    assertEquals(hist![4], await s.get("a", rec.id));
    assertEquals(await s.getBytes("a", rec.id, 1), new Uint8Array([10, 11, 12]));
    assertEquals(await s.getBytes("a", rec.id, 2), new Uint8Array([10, 11, 12]));
    assertEquals(await s.getBytes("a", rec.id, 3), new Uint8Array([7, 7]));
    assertEquals(await s.getBytes("a", rec.id), new Uint8Array([7, 7]));
    assertEquals(await s.getBytes("a", rec.id, 6), null);
    assertEquals([...(await s.getKeys("a", rec.id))!.keys], [...keysOf(0.2).keys]);
    assertEquals(await s.getLexical("a", rec.id), null); // the new content has no words
    assertEquals(await s.update("a", "nope", { metadata: {} }), null);
    assertEquals(await s.update("b", rec.id, { metadata: {} }), null);
  }],
  ["records carry what search reads: keys and term counts of the current version", async (s) => {
    const one = await s.put("a", mem(30, { lexical: TERMS }));
    await s.update("a", one.id, { data: mem(40) });
    const two = await s.put("a", mem(50, { lexical: TERMS }));
    const seen: [string, number, number, boolean][] = [];
    for await (const r of s.records("a")) {
      const k = await s.getKeys("a", r.id, r);
      seen.push([r.id, r.version, k!.keys[0], (await s.getLexical("a", r.id, r)) !== null]);
    }
    assertEquals(seen, [[one.id, 2, keysOf(0.4).keys[0], false], [two.id, 1, 0.5, true]]);
    // searchData says which records' search columns to read with the scan (search: those its
    // cache lacks); the others' are read on demand, and either way they are the same.
    for (const want of [() => false, () => true, (r: MemoryRecord) => r.id === two.id]) {
      const again: typeof seen = [];
      for await (const r of s.records("a", undefined, { searchData: want })) {
        const k = await s.getKeys("a", r.id, r);
        again.push([r.id, r.version, k!.keys[0], (await s.getLexical("a", r.id, r)) !== null]);
      }
      assertEquals(again, seen);
    }
  }],
  ["expired memories are invisible at once, then purged", async (s) => {
    const soon = new Date(Date.now() + 400).toISOString();
    const gone = await s.put("a", mem(1, { expiresAt: soon, user_id: "u" }));
    await s.update("a", gone.id, { metadata: { again: true } });
    const stays = await s.put("a", mem(2));
    // An expiry cleared before it passes: the memory stays (in its own namespace, so the
    // counts below are this case's others).
    const rescued = await s.put("c", mem(4, { expiresAt: soon }));
    await s.update("c", rescued.id, { expiresAt: null });
    const later = await s.put("b", mem(3, { expiresAt: new Date(Date.now() + 3e6).toISOString() }));
    assertEquals(await ids(s, "a"), [gone.id, stays.id]);
    await new Promise((r) => setTimeout(r, 450));
    assertEquals(await s.get("a", gone.id), null);
    assertEquals(await s.getBytes("a", gone.id, 1), null);
    assertEquals(await s.getBytes("a", gone.id), null);
    assertEquals(await s.getKeys("a", gone.id), null);
    assertEquals(await s.history("a", gone.id), null);
    assertEquals(await s.update("a", gone.id, { metadata: {} }), null);
    assertEquals(await s.delete("a", gone.id), false);
    assertEquals(await ids(s, "a"), [stays.id]);
    assertEquals((await s.list("a")).memories.map((m) => m.id), [stays.id]);
    assertEquals(await s.deleteWhere("a", { user_id: { eq: "u" } }), 0);
    assertEquals(await s.purgeExpired(), 1);
    assertEquals(await s.purgeExpired(), 0);
    assertEquals(await s.purgeExpired(Date.now() + 4e6), 1);
    assertEquals(await s.get("b", later.id), null);
    assertEquals(await ids(s, "a"), [stays.id]);
    const back = await s.get("c", rescued.id);
    assertEquals([back?.id, back?.expiresAt], [rescued.id, undefined]);
  }],
  ["delete removes every version; deleteWhere counts what it removed", async (s) => {
    const rec = await s.put("a", mem(1));
    await s.update("a", rec.id, { data: mem(2) });
    assert(await s.delete("a", rec.id));
    assertEquals(await s.delete("a", rec.id), false);
    assertEquals(await s.getBytes("a", rec.id, 1), null);
    assertEquals(await s.history("a", rec.id), null);
    for (let i = 0; i < 5; i++) await s.put("a", mem(i, { run_id: i % 2 ? "odd" : "even" }));
    const elsewhere = await s.put("b", mem(5, { run_id: "even" }));
    assertEquals(await s.deleteWhere("a", { run_id: { eq: "even" } }), 3);
    assertEquals((await s.list("a")).memories.map((m) => m.run_id), ["odd", "odd"]);
    assertEquals((await s.get("b", elsewhere.id))?.run_id, "even"); // its namespace only
    // The same id can be stored again once deleted.
    const again = await s.put("a", mem(7, { id: rec.id }));
    assertEquals((await s.history("a", again.id))!.length, 1);
    // An empty filter matches everything in the namespace.
    assertEquals(await s.deleteWhere("a", {}), 3);
    assertEquals((await s.list("a")).memories, []);
  }],
  ["concurrent puts each land once; concurrent updates each get their own version", async (s) => {
    const made = await Promise.all(Array.from({ length: 24 }, (_, i) => s.put("a", mem(i))));
    assertEquals(new Set(made.map((m) => m.id)).size, 24);
    const listed = await ids(s, "a");
    assertEquals([...listed].sort(), made.map((m) => m.id).sort());
    const target = made[0].id;
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => s.update("a", target, { metadata: { u: i } })),
    );
    const ok = results.filter((r) => r.status === "fulfilled").length;
    for (const r of results) {
      if (r.status === "rejected") assertEquals((r.reason as ApiError).status, 409);
    }
    assert(ok >= 1, "no update succeeded");
    const versions = (await s.history("a", target))!.map((h) => h.version);
    assertEquals(versions, Array.from({ length: ok + 1 }, (_, i) => i + 1));
  }],
  ["conversations: create, turns, a turn's bytes, delete; namespaces apart", async (s) => {
    const c = s.conversations;
    const conv = await c.create("a", { topic: "t" }, "m");
    assertEquals([conv.turns, conv.state], [0, null]);
    assertEquals(await c.get("b", conv.id), null);
    const bytes = randomBytes(130_000); // over one KV chunk
    for (let i = 0; i < 3; i++) {
      const t = await c.append(
        "a",
        conv.id,
        i % 2 ? "assistant" : "user",
        { i },
        () =>
          Promise.resolve({
            state: new Uint8Array([i + 1]),
            turn: i === 1 ? bytes : new Uint8Array([i]),
            textBytes: 10 + i,
          }),
      );
      assertEquals(t.n, i);
    }
    const rec = await c.get("a", conv.id);
    assertEquals([rec!.turns, [...rec!.state!], rec!.metadata], [3, [3], { topic: "t" }]);
    const page = await c.turns("a", conv.id, 0, 2);
    assertEquals(page.turns.map((t) => [t.n, t.role, t.metadata, t.textBytes]), [
      [0, "user", { i: 0 }, 10],
      [1, "assistant", { i: 1 }, 11],
    ]);
    assertEquals(page.next, 2);
    assertEquals((await c.turns("a", conv.id, 2, 2)).next, null);
    const got = await c.turn("a", conv.id, 1);
    assert(got!.bytes.length === bytes.length && got!.bytes.every((b, i) => b === bytes[i]));
    assertEquals(got!.turn.bytes, bytes.length);
    assertEquals(await c.turn("a", conv.id, 3), null);
    assertEquals(await c.turn("b", conv.id, 0), null);
    assertEquals(await c.delete("b", conv.id), false);
    assertEquals(await c.delete("a", conv.id), true);
    assertEquals([await c.get("a", conv.id), await c.turn("a", conv.id, 0)], [null, null]);
    const gone = await c.append(
      "a",
      conv.id,
      "user",
      {},
      () => Promise.resolve({ state: new Uint8Array(1), turn: new Uint8Array(1), textBytes: 1 }),
    ).catch((
      e,
    ) => e);
    assertEquals((gone as ApiError).status, 404);
  }],
  [
    "conversations: racing appends take distinct numbers, the loser recomputes; failures write nothing",
    async (s) => {
      const c = s.conversations;
      const { id } = await c.create("a", {}, "m");
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const seen: (number | null)[] = [];
      let bothRead!: () => void;
      const twoReads = new Promise<void>((r) => (bothRead = r));
      const job = async (state: Uint8Array | null) => {
        seen.push(state ? state[0] : null);
        if (seen.length === 2) bothRead();
        await gate; // both read the same state before either commits
        return {
          state: new Uint8Array([(state?.[0] ?? 0) + 1]),
          turn: new Uint8Array(5),
          textBytes: 4,
        };
      };
      const both = Promise.all([
        c.append("a", id, "user", {}, job),
        c.append("a", id, "assistant", {}, job),
      ]);
      // both computed from the same state (no fixed sleep: a loaded machine is slow)
      await twoReads;
      release();
      const [x, y] = await both;
      assertEquals([x.n, y.n].sort(), [0, 1]);
      assertEquals(seen, [null, null, 1]); // the loser ran again on the winner's state
      const failed = await c.append(
        "a",
        id,
        "user",
        {},
        () => Promise.reject(new Error("model failed")),
      )
        .catch((e) => e);
      assertEquals((failed as Error).message, "model failed");
      const huge = await c.append(
        "a",
        id,
        "user",
        {},
        () =>
          Promise.resolve({
            state: new Uint8Array(1),
            turn: new Uint8Array(700_000),
            textBytes: 1,
          }),
      )
        .catch((e) => e);
      assertEquals((huge as ApiError).status, 413);
      const rec = await c.get("a", id);
      assertEquals([rec!.turns, rec!.state![0]], [2, 2]);
      assertEquals((await c.turns("a", id, 0, 10)).turns.map((t) => t.n), [0, 1]);
    },
  ],
];

/**
 * Runs every case of the contract as a step of `t`, each on a fresh, empty store from `open`
 * (closed after the step).
 */
export async function runStoreContract(
  t: Deno.TestContext,
  open: () => Promise<Store>,
): Promise<void> {
  for (const [name, fn] of CASES) {
    await t.step(name, async () => {
      const store = await open();
      try {
        await fn(store);
      } finally {
        store.close();
      }
    });
  }
}
