// The worker pool (src/server/worker_pool.ts, src/server/worker.ts): results equal to the
// in-process engine's, typed errors, cancellation, a bounded queue; and, with the real server
// in a child process, /healthz answering while compressions run.
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { buildRandomModel } from "../src/model/random_model.ts";
import { FormatError, InputError, ModelMismatchError } from "../src/errors.ts";
import { PoolError } from "../src/server/errors.ts";
import { LocalEngine } from "../src/server/engine.ts";
import { WorkerPool } from "../src/server/worker_pool.ts";
import { spawnServer, writeRandomModel } from "../src/server/process.ts";
import { R3Mem } from "../src/r3mem.ts";

const weights = await buildRandomModel({ seed: 1 });

async function collect(pieces: AsyncIterable<string>): Promise<string> {
  let text = "";
  for await (const p of pieces) text += p;
  return text;
}

Deno.test("the pool compresses, reconstructs and keys like the in-process engine", async () => {
  const local = new LocalEngine(await R3Mem.load({ weights }));
  const pool = await WorkerPool.create({ weights, size: 2 });
  try {
    assertEquals(pool.fingerprint, local.fingerprint);
    assertEquals(pool.size, 2);
    const text = "One sentence. Another one.\n\nA second paragraph.";
    const [a, b] = await Promise.all([pool.compress(text), local.compress(text)]);
    assertEquals([...a.bytes], [...b.bytes]);
    assertEquals(a.stats, b.stats);
    assertEquals([...a.keys.keys], [...b.keys.keys]);
    assertEquals(await collect(pool.reconstruct(a.bytes)), text);
    assertEquals(await collect(pool.reconstruct(a.bytes, { node: 4 })), "A second paragraph.");
    assertEquals([...await pool.queryKey("query")], [...await local.queryKey("query")]);
    // Many at once: all queued, all answered.
    const many = await Promise.all(
      Array.from({ length: 6 }, (_, i) => pool.compress(`Text number ${i}.`)),
    );
    for (const [i, c] of many.entries()) {
      assertEquals(await collect(pool.reconstruct(c.bytes)), `Text number ${i}.`);
    }
  } finally {
    await pool.close();
  }
});

Deno.test("the pool's errors are typed, and a failed job leaves the worker usable", async () => {
  const pool = await WorkerPool.create({ weights, size: 1 });
  const other = new LocalEngine(await R3Mem.load({ weights: await buildRandomModel({ seed: 2 }) }));
  try {
    await assertRejects(() => pool.compress(""), InputError);
    await assertRejects(() => collect(pool.reconstruct(new Uint8Array(50))), FormatError);
    const foreign = await other.compress("Hello.");
    await assertRejects(() => collect(pool.reconstruct(foreign.bytes)), ModelMismatchError);
    const ok = await pool.compress("Still working.");
    await assertRejects(() => collect(pool.reconstruct(ok.bytes, { node: 9 })), InputError, "9");
    assertEquals(await collect(pool.reconstruct(ok.bytes)), "Still working.");
  } finally {
    await pool.close();
  }
  await assertRejects(() => pool.compress("closed"), PoolError);
});

Deno.test("leaving a stream early cancels it; a full queue refuses new jobs", async () => {
  const pool = await WorkerPool.create({ weights, size: 1, maxQueue: 1 });
  try {
    const text = "Long text to stream piece by piece. ".repeat(40);
    const { bytes } = await pool.compress(text);
    for await (const piece of pool.reconstruct(bytes)) {
      assert(piece.length > 0);
      break; // the worker is told to stop
    }
    assertEquals(pool.busy, 0);
    assertEquals(await collect(pool.reconstruct(bytes)), text);
    // One running, one waiting: the third is refused at once.
    const running = pool.compress(text);
    const waiting = pool.compress(text);
    const refused = await assertRejects(() => pool.compress(text), PoolError);
    assertEquals(refused.code, "overloaded");
    await Promise.all([running, waiting]);
  } finally {
    await pool.close();
  }
});

Deno.test({
  name: "server: /healthz answers quickly while big compressions run in the workers",
  sanitizeResources: false, // fetch keeps idle connections to the child process
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const server = await spawnServer({
      env: {
        R3MEM_WEIGHTS: await writeRandomModel(dir),
        R3MEM_KV_PATH: `${dir}/kv/db`,
        R3MEM_WORKERS: "2",
      },
    });
    try {
      // Each takes around a second of model time on this tiny model; four of them, two workers.
      const text = Array.from({ length: 400 }, (_, i) => `Sentence ${i} of the load test.`)
        .join(" ");
      const started = performance.now();
      const jobs = Array.from({ length: 4 }, () => {
        const t0 = performance.now();
        return fetch(`${server.url}/v1/compress`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ text }),
        }).then(async (r) => ({
          status: r.status,
          ms: performance.now() - t0,
          body: await r.json(),
        }));
      });
      await new Promise((r) => setTimeout(r, 200));
      const times: number[] = [];
      let busySeen = false;
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const res = await fetch(`${server.url}/healthz`);
        const health = await res.json();
        times.push(performance.now() - t0);
        assertEquals(res.status, 200);
        busySeen ||= health.queued > 0;
        await new Promise((r) => setTimeout(r, 50));
      }
      const results = await Promise.all(jobs);
      const total = performance.now() - started;
      for (const r of results) assertEquals(r.status, 200, JSON.stringify(r.body));
      assert(busySeen, "the compressions should still have been queued during the health checks");
      // Were inference on the request thread, a health check would wait for a whole compression.
      // Relative to the compressions' own time, so a loaded machine slows both alike.
      const worst = Math.max(...times);
      const fastest = Math.min(...results.map((r) => r.ms));
      assert(
        worst < fastest / 2,
        `/healthz took up to ${worst.toFixed(0)} ms while compressing; the fastest ` +
          `compression took ${fastest.toFixed(0)} ms, all done in ${total.toFixed(0)} ms`,
      );
    } finally {
      const status = await server.stop();
      assert(status.code === 0 || status.signal === "SIGTERM", JSON.stringify(status));
      await Deno.remove(dir, { recursive: true });
    }
  },
});
