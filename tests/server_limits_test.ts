// Under load and bad input (issue 11): a deadline cancels the job in the worker and answers 504;
// large jobs leave a worker to small ones; the queue is bounded (503); each namespace is rate
// limited (429 with Retry-After). The pool runs in-process with a random model.
import { assert, assertEquals } from "./_assert.ts";
import { buildRandomModel } from "../src/model/random_model.ts";
import { createApp } from "../src/server/app.ts";
import { WorkerPool } from "../src/server/worker_pool.ts";
import { MemoryStore } from "../src/server/store.ts";
import { LARGE_JOB_CHARS } from "../src/server/job_queue.ts";
import { createTestApp, json, randomEngine } from "../src/server/testing.ts";
import { configFromEnv } from "../src/server/config.ts";
import { spawnServer, writeRandomModel } from "../src/server/process.ts";
import { expectError } from "./_server.ts";

const weights = await buildRandomModel({ seed: 1 });
/** A text large enough that the random model takes seconds to compress it. */
const LARGE = Array.from(
  { length: 4000 },
  (_, i) => `Sentence ${i} of a long document about peanuts.`,
).join(" ");

async function snapshot(kv: Deno.Kv): Promise<string> {
  const keys: string[] = [];
  for await (const e of kv.list({ prefix: [] })) keys.push(JSON.stringify(e.key));
  return keys.join("\n");
}

Deno.test("past its deadline a job is cancelled in the worker: 504, nothing stored, worker freed", async () => {
  const pool = await WorkerPool.create({ weights, size: 1 });
  const store = new MemoryStore(await Deno.openKv(":memory:"));
  try {
    // How long the large text takes without a deadline.
    let t0 = performance.now();
    await pool.compress(LARGE);
    const full = performance.now() - t0;
    assert(full > 600, `the large text took only ${full} ms: too small for this test`);
    const app = createApp({ engine: pool, store, deadlineMs: 200 });
    t0 = performance.now();
    const res = app.request("/v1/memories", json({ text: LARGE }));
    await expectError(res, 504, "timeout", "deadline of 200 ms");
    const answered = performance.now() - t0;
    assert(answered < full, `answered after ${answered} ms; the job takes ${full}`);
    assertEquals(pool.busy, 0); // not still running in the worker
    // The one worker is free again (a new one replaced it): a small request does not wait
    // for the large text to finish.
    // (With a deadline of its own: the replacement worker has to load the model first.)
    const patient = createApp({ engine: pool, store, deadlineMs: 60_000 });
    t0 = performance.now();
    const small = await patient.request("/v1/memories", json({ text: "Small." }));
    assertEquals(small.status, 201);
    const smallMs = performance.now() - t0;
    assert(smallMs < full, `the small request took ${smallMs} ms, the large job ${full}`);
    assertEquals(
      (await snapshot(store.kv)).split("\n").filter((k) => k.includes('"rec"')).length,
      1,
    );
  } finally {
    await pool.close();
    store.close();
  }
});

Deno.test("large jobs leave a worker free: a small job does not wait behind them", async () => {
  const pool = await WorkerPool.create({ weights, size: 2 });
  try {
    assert(LARGE.length >= LARGE_JOB_CHARS);
    const order: string[] = [];
    const large = [1, 2, 3].map((i) => pool.compress(LARGE).then(() => order.push(`large ${i}`)));
    await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    await pool.compress("A small message.");
    order.push("small");
    const smallMs = performance.now() - t0;
    await Promise.all(large);
    assertEquals(order[0], "small", `order: ${order.join(", ")}; small took ${smallMs} ms`);
  } finally {
    await pool.close();
  }
});

Deno.test("a full queue is a 503 overloaded; a deadline while queued is a 504", async () => {
  const pool = await WorkerPool.create({ weights, size: 1, maxQueue: 1 });
  const store = new MemoryStore(await Deno.openKv(":memory:"));
  try {
    const app = createApp({ engine: pool, store, deadlineMs: 60_000 });
    const running = app.request("/v1/compress", json({ text: LARGE }));
    await new Promise((r) => setTimeout(r, 20));
    const queued = app.request("/v1/compress", json({ text: "Waits its turn." }));
    await new Promise((r) => setTimeout(r, 20));
    await expectError(app.request("/v1/compress", json({ text: "No room." })), 503, "overloaded");
    assertEquals((await running).status, 200);
    assertEquals((await queued).status, 200);
    const short = createApp({ engine: pool, store, deadlineMs: 150 });
    const big = short.request("/v1/compress", json({ text: LARGE }));
    const waiting = short.request("/v1/compress", json({ text: "Behind it." }));
    await expectError(waiting, 504, "timeout");
    await expectError(big, 504, "timeout");
    assertEquals([pool.busy, pool.queued], [0, 0]);
    assertEquals(await snapshot(store.kv), "");
  } finally {
    await pool.close();
    store.close();
  }
});

Deno.test("each namespace is rate limited: 429 with Retry-After; others are not affected", async () => {
  const t = await createTestApp({
    engine: await randomEngine(1),
    tokens: new Map([["ta", "team-a"], ["tb", "team-b"]]),
    rateLimit: { perSecond: 0.5, burst: 3 },
  });
  try {
    const as = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
    for (let i = 0; i < 3; i++) {
      assertEquals((await t.app.request("/v1/memories", as("ta"))).status, 200);
    }
    const before = await t.snapshot();
    const res = await t.app.request("/v1/memories", json({ text: "Too many." }, as("ta")));
    assertEquals(res.headers.get("retry-after"), "2");
    await expectError(res, 429, "rate_limited", "0.5 per second");
    assertEquals(await t.snapshot(), before);
    assertEquals((await t.app.request("/v1/memories", as("tb"))).status, 200);
    assertEquals((await t.app.request("/healthz")).status, 200); // not limited
  } finally {
    t.close();
  }
});

Deno.test("configFromEnv: deadline from the body limit, queue, rate limit, purge interval, database", () => {
  const none = configFromEnv(() => undefined);
  assertEquals(
    [none.deadlineMs, none.maxQueue, none.rateLimit, none.purgeIntervalS],
    [141_072, 256, { perSecond: 50, burst: 100 }, 60],
  );
  const env: Record<string, string> = {
    R3MEM_MAX_BODY_BYTES: "80000",
    R3MEM_MAX_QUEUE: "8",
    R3MEM_RATE_LIMIT: "2.5:7",
    R3MEM_PURGE_INTERVAL_S: "5",
  };
  const set = configFromEnv((n) => env[n]);
  assertEquals(
    [set.deadlineMs, set.maxQueue, set.rateLimit, set.purgeIntervalS],
    [20_000, 8, { perSecond: 2.5, burst: 7 }, 5],
  );
  assertEquals(
    configFromEnv((n) => (n === "R3MEM_RATE_LIMIT" ? "0" : undefined)).rateLimit,
    undefined,
  );
  assertEquals(none.databaseUrl, undefined);
  const url = "postgres://r3:pw@db:5432/r3mem";
  assertEquals(
    configFromEnv((n) => (n === "R3MEM_DATABASE_URL" ? url : undefined)).databaseUrl,
    url,
  );
  for (
    const [name, value] of [
      ["R3MEM_RATE_LIMIT", "fast"],
      ["R3MEM_DEADLINE_MS", "0"],
      ["R3MEM_DATABASE_URL", "mysql://r3:secret@db/r3mem"],
    ]
  ) {
    let message = "";
    try {
      configFromEnv((n) => (n === name ? value : undefined));
    } catch (e) {
      message = (e as Error).message;
    }
    assert(message.includes(name), `${name}=${value}: "${message}"`);
    assert(!message.includes("secret"), `the message shows the password: "${message}"`);
  }
});

Deno.test("the real server takes R3MEM_DEADLINE_MS and R3MEM_RATE_LIMIT from its environment", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r3mem-limits-" });
  const server = await spawnServer({
    env: {
      R3MEM_WEIGHTS: await writeRandomModel(dir),
      R3MEM_KV_PATH: `${dir}/kv/db.kv`,
      R3MEM_WORKERS: "1",
      R3MEM_DEADLINE_MS: "300",
      R3MEM_RATE_LIMIT: "0.1:2",
    },
  });
  try {
    const post = (body: unknown) =>
      fetch(`${server.url}/v1/memories`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    await expectError(post({ text: LARGE }), 504, "timeout", "300 ms");
    const list = await fetch(`${server.url}/v1/memories`);
    assertEquals((await list.json()).memories, []); // the timed-out store left nothing
    const third = await post({ text: "Over the limit." });
    assertEquals(third.headers.get("retry-after"), "10");
    await expectError(third, 429, "rate_limited");
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
