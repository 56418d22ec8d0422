/**
 * Search at scale: how the server's search latency and memory grow with the number of stored
 * memories, on each store. For each store it starts `server.ts` (the default model, one worker),
 * then grows the namespace level by level (`--levels 1000,10000,100000`) and at each level runs
 * hybrid and keys-only searches (k = 5): p50/p99 latency, req/s and the server's RSS.
 *
 * ```
 * deno task bench:scale [--stores kv,postgres] [--levels 1000,10000,100000] [--queries 30]
 *   [--concurrency 2] [--distinct 64] [--bytes 200] [--database-url postgres://…] [--json]
 * ```
 *
 * Seeding goes through the store interface in this process, not through HTTP (compressing 100 000
 * messages would take hours on two cores): `--distinct` chat-sized messages of `--bytes` are
 * compressed once with the default model, and every stored memory is one of them under its own
 * id, so keys, term counts and record sizes are real; only the texts repeat. The server reads the
 * same database (a Deno KV file both processes open, or PostgreSQL: `--database-url`, default a
 * throwaway cluster).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Align, renderTable } from "./_table.ts";
import { peakRssMb } from "./_mixed.ts";
import { benchDatabase, message, runScenario, type ScenarioResult } from "./server.ts";
import { R3Mem } from "../src/r3mem.ts";
import { compressToBytes } from "../src/server/engine.ts";
import { openStore, type StoreLocation } from "../src/server/open_store.ts";
import { spawnServer } from "../src/server/process.ts";
import type { NewMemory } from "../src/server/store_types.ts";

/** One measurement: a store at a size, one search mode. */
export interface ScaleRow {
  /** `kv` or `postgres`. */
  store: string;
  /** Memories in the namespace. */
  memories: number;
  /** Seconds this level's seeding took (through the store, in this process). */
  seedSeconds: number;
  /** The search scenario. */
  search: ScenarioResult;
  /** The server's resident set after the searches, MB. */
  rssMb: number | null;
  /** The server's peak resident set so far, MB. */
  peakRssMb: number | null;
}

function currentRssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      stores: { type: "string", default: "kv,postgres" },
      levels: { type: "string", default: "1000,10000,100000" },
      queries: { type: "string", default: "30" },
      concurrency: { type: "string", default: "2" },
      distinct: { type: "string", default: "64" },
      bytes: { type: "string", default: "200" },
      "database-url": { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const levels = values.levels.split(",").map(Number).sort((a, b) => a - b);
  const stores = values.stores.split(",");
  if (levels.some((n) => !Number.isInteger(n) || n < 1)) throw new TypeError("--levels: integers");
  if (stores.some((s) => s !== "kv" && s !== "postgres")) {
    throw new TypeError("--stores: kv and/or postgres");
  }
  const queries = Number(values.queries), concurrency = Number(values.concurrency);

  const r3 = await R3Mem.load();
  const distinct: NewMemory[] = [];
  for (let i = 0; i < Number(values.distinct); i++) {
    const c = await compressToBytes(r3, message(50_000 + i, Number(values.bytes)), {});
    distinct.push({ ...c, model: r3.fingerprint, metadata: { bench: "scale" } });
  }
  const avgBytes = distinct.reduce((a, m) => a + m.bytes.length, 0) / distinct.length;
  const phrases = ["When is the meeting?", "budget review", "launch demo in March", "design notes"];

  const rows: ScaleRow[] = [];
  for (const storeName of stores) {
    const dir = await Deno.makeTempDir({ prefix: "r3mem-scale-" });
    const db = storeName === "postgres" ? await benchDatabase(values["database-url"]) : null;
    const where: StoreLocation = db ? { databaseUrl: db.url } : { kvPath: `${dir}/scale.kv` };
    const store = await openStore(where);
    const server = await spawnServer({
      env: {
        ...(db ? { R3MEM_DATABASE_URL: db.url } : { R3MEM_KV_PATH: where.kvPath! }),
        R3MEM_WORKERS: "1",
        R3MEM_RATE_LIMIT: "0",
      },
      timeoutMs: 120_000,
    });
    try {
      let have = 0;
      for (const level of levels) {
        const t0 = performance.now();
        while (have < level) {
          const batch = Math.min(64, level - have);
          await Promise.all(
            Array.from({ length: batch }, (_, j) =>
              store.put("default", {
                ...distinct[(have + j) % distinct.length],
                metadata: { bench: "scale", i: have + j },
              })),
          );
          have += batch;
        }
        const seedSeconds = (performance.now() - t0) / 1000;
        for (const mode of ["hybrid", "keys"]) {
          const search = await runScenario(
            `search ${mode}`,
            queries,
            concurrency,
            600,
            async (i) => {
              const res = await fetch(`${server.url}/v1/search`, {
                method: "POST",
                headers: { "Content-Type": "application/json" },
                body: JSON.stringify({ query: phrases[i % phrases.length], k: 5, mode }),
              });
              await res.arrayBuffer();
              return res.ok;
            },
          );
          const pid = server.child.pid;
          rows.push({
            store: storeName,
            memories: have,
            seedSeconds,
            search,
            rssMb: currentRssMb(pid),
            peakRssMb: peakRssMb(pid),
          });
          if (!values.json) {
            const r = rows[rows.length - 1];
            console.error(
              `${storeName} ${have} ${mode}: p50 ${search.p50Ms.toFixed(0)} ms, p99 ` +
                `${search.p99Ms.toFixed(0)} ms, RSS ${r.rssMb?.toFixed(0)} MB`,
            );
          }
        }
      }
    } finally {
      await server.stop();
      store.close();
      await db?.close();
      await Deno.remove(dir, { recursive: true });
    }
  }
  if (values.json) {
    console.log(JSON.stringify({ avgMemoryBytes: avgBytes, queries, concurrency, rows }, null, 2));
    return;
  }
  console.log(
    `search at scale: default model, 1 worker, ${queries} queries per row at concurrency ` +
      `${concurrency}; memories of ~${values.bytes} B text (${avgBytes.toFixed(0)} B stored)`,
  );
  const align: Align[] = ["left", "right", "left", "right", "right", "right", "right", "right"];
  console.log(renderTable(
    ["store", "memories", "search", "req/s", "p50 ms", "p99 ms", "RSS MB", "errors"],
    rows.map((r) => [
      r.store,
      String(r.memories),
      r.search.scenario.replace("search ", ""),
      r.search.rps.toFixed(2),
      r.search.p50Ms.toFixed(0),
      r.search.p99Ms.toFixed(0),
      r.rssMb === null ? "?" : r.rssMb.toFixed(0),
      String(r.search.errors),
    ]),
    align,
  ));
}

if (import.meta.main) await main();
