// The Deno KV memory store: chunking, multi-commit writes, leftovers of interrupted writes,
// deletes (src/server/store.ts) and the search-key encoding (src/server/search_index.ts).
import { assert, assertEquals } from "./_assert.ts";
import { CHUNK_BYTES, MemoryStore } from "../src/server/store.ts";
import {
  decodeSearchKeys,
  encodeSearchKeys,
  type SearchKeys,
  TopK,
} from "../src/server/search_index.ts";
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

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

async function count(kv: Deno.Kv): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix: [] })) n++;
  return n;
}

Deno.test("a 2 MB memory spans many chunks and commits and reads back exactly", async () => {
  const store = await MemoryStore.open(":memory:");
  try {
    const bytes = randomBytes(2_000_000);
    const rec = await store.put("ns", { bytes, stats: STATS, keys: KEYS, model: "m" });
    assertEquals(rec.blobChunks, Math.ceil(bytes.length / CHUNK_BYTES));
    const back = await store.getBytes("ns", rec.id);
    assert(back && back.length === bytes.length && back.every((b, i) => b === bytes[i]));
    const keys = await store.getKeys("ns", rec.id);
    assertEquals([...keys!.keys], [...KEYS.keys]);
    assert(await store.delete("ns", rec.id));
    assertEquals(await count(store.kv), 0);
    assertEquals(await store.getBytes("ns", rec.id), null);
  } finally {
    store.close();
  }
});

Deno.test("leftovers of an interrupted write are swept when the store opens", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/db.kv`;
    const kv = await Deno.openKv(path);
    // What a process killed between the chunk commits and the record commit leaves behind.
    await kv.set(["r3mem", "~pending", "dead-id"], { ns: "ns", at: Date.now() });
    await kv.set(["r3mem", "ns", "blob", "dead-id", 0], new Uint8Array(10));
    await kv.set(["r3mem", "ns", "keys", "dead-id", 0], new Uint8Array(10));
    kv.close();
    const store = await MemoryStore.open(path);
    try {
      assertEquals(await count(store.kv), 0);
      const rec = await store.put("ns", {
        bytes: new Uint8Array([1]),
        stats: STATS,
        keys: KEYS,
        model: "m",
      });
      assertEquals(await store.sweepPending(), 0);
      assertEquals((await store.getBytes("ns", rec.id))?.length, 1);
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("list pages in creation order; a foreign cursor is refused", async () => {
  const store = await MemoryStore.open(":memory:");
  try {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const rec = await store.put("ns", {
        bytes: new Uint8Array([i]),
        stats: STATS,
        keys: KEYS,
        model: "m",
        metadata: { i },
      });
      ids.push(rec.id);
    }
    await store.put("other", { bytes: new Uint8Array(1), stats: STATS, keys: KEYS, model: "m" });
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let guard = 0; guard < 10; guard++) {
      const page = await store.list("ns", { limit: 3, cursor });
      seen.push(...page.memories.map((m) => m.id));
      if (!page.cursor) break;
      cursor = page.cursor;
    }
    assertEquals(seen, ids);
    let refused = false;
    try {
      await store.list("ns", { cursor: "%%%" });
    } catch (e) {
      refused = (e as { status?: number }).status === 400;
    }
    assert(refused);
  } finally {
    store.close();
  }
});

Deno.test("search keys round-trip and TopK keeps the best k, best first", () => {
  const keys: SearchKeys = {
    dim: 3,
    levels: ["document", "paragraph", "sentence"],
    keys: new Float32Array([1, 0, 0, 0, 1, 0, 0.6, 0.8, 0]),
  };
  const back = decodeSearchKeys(encodeSearchKeys(keys));
  assertEquals(back.levels, keys.levels);
  assertEquals([...back.keys], [...keys.keys]);
  assertEquals([...back.parents!], [-1, 0, 1]);
  // Each node is scored by the best match in its subtree; nodes sharing a match are one hit,
  // the deepest (the paragraph, not again the document through it).
  const top = new TopK<string>(new Float32Array([0, 1, 0]), 2);
  top.add("m", back);
  assertEquals(top.results().map((r) => [r.node, r.level, r.match]), [
    [1, "paragraph", 1],
    [2, "sentence", 2],
  ]);
  const docs = new TopK<string>(new Float32Array([0, 1, 0]), 2, ["document"]);
  docs.add("m", back);
  assertEquals(docs.results().map((r) => [r.node, r.score, r.match]), [[0, 1, 1]]);
  const sentences = new TopK<string>(new Float32Array([1, 0, 0]), 5, ["sentence"]);
  sentences.add("m", back);
  assertEquals(sentences.results().map((r) => r.node), [2]);
});

Deno.test("search keys: explicit parents round-trip; the earlier layout reads with derived ones", () => {
  // document → paragraphs 1 and 3; sentence 2 under paragraph 1, 4 under 3 (no slots: zero key)
  const keys: SearchKeys = {
    dim: 2,
    levels: ["document", "paragraph", "sentence", "paragraph", "sentence"],
    parents: new Int32Array([-1, 0, 1, 0, 3]),
    keys: new Float32Array([1, 0, 0, 1, 0.6, 0.8, 1, 0, 0, 0]),
  };
  assertEquals([...decodeSearchKeys(encodeSearchKeys(keys)).parents!], [-1, 0, 1, 0, 3]);
  // The layout of earlier versions: u32 nodes, u32 dim, levels, pad to 4, keys.
  const legacy = new Uint8Array(8 + 8 + 4 * 10);
  const view = new DataView(legacy.buffer);
  view.setUint32(0, 5, true);
  view.setUint32(4, 2, true);
  legacy.set([0, 1, 2, 1, 2], 8);
  keys.keys.forEach((v, i) => view.setFloat32(16 + 4 * i, v, true));
  const old = decodeSearchKeys(legacy);
  assertEquals([...old.parents!], [-1, 0, 1, 0, 3]);
  // The slot-less sentence 4 matches nothing; paragraph 3 is found by its own key.
  const top = new TopK<string>(new Float32Array([0, 1]), 10);
  top.add("m", old);
  assertEquals(top.results().map((r) => [r.node, r.match]), [[1, 1], [2, 2], [3, 3]]);
  // A parent link that points forward is refused.
  const bad = encodeSearchKeys({ ...keys, parents: new Int32Array([-1, 0, 3, 0, 3]) });
  let refused = false;
  try {
    decodeSearchKeys(bad);
  } catch (e) {
    refused = (e as Error).name === "FormatError";
  }
  assert(refused, "a forward parent link was accepted");
});
