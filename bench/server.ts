/**
 * Load test of the HTTP server on loopback: requests/s and p50/p99 latency for compressing
 * 1 KB messages, for search (hybrid, and memory keys alone) and for appending turns to
 * conversations, with the error count; then the
 * mixed run (`./_mixed.ts`): `--mixed-count` documents of `--mixed-bytes` stored at once while
 * 1 KB compressions keep coming, with the server's peak RSS. A bounded run: a fixed number of
 * requests per scenario and time caps.
 *
 * ```
 * deno task bench:server [--url http://127.0.0.1:8787] [--token T] [--requests 200]
 *   [--concurrency 4] [--time-cap 60] [--seed-memories 20] [--model random|default|PATH]
 *   [--mixed-count 20] [--mixed-bytes 1000000] [--mixed-cap 120] [--json]
 *   [--store kv|postgres] [--database-url postgres://…]
 * ```
 *
 * Without `--url` it starts `server.ts` itself on a free port (a random model unless told
 * otherwise; no rate limit) and stops it afterwards: on a Deno KV file in a temporary folder, or with `--store
 * postgres` on `--database-url` (default: a throwaway PostgreSQL 15 cluster, `tests/_postgres.ts`,
 * started for the run and removed after it).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Align, renderTable } from "./_table.ts";
import { spawnServer, writeRandomModel } from "../src/server/process.ts";
import { type MixedResult, runMixed } from "./_mixed.ts";
// The tests' throwaway cluster: the same initdb/pg_ctl set-up serves a benchmark run.
import { startPostgres } from "../tests/_postgres.ts";

/** Command-line options. */
export interface BenchOptions {
  /** A running server; absent: start one. */
  url?: string;
  /** Bearer token for `--url` servers that need one. */
  token?: string;
  /** Requests per scenario. */
  requests: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Seconds a scenario may run before it stops sending. */
  timeCapS: number;
  /** Memories stored before the search scenario. */
  seedMemories: number;
  /** For a started server: `random`, `default`, or a weights path. */
  model: string;
  /** Large documents of the mixed run (0: no mixed run). */
  mixedCount: number;
  /** Bytes of each. */
  mixedBytes: number;
  /** Seconds the mixed run's small requests may run. */
  mixedCapS: number;
  /** Print JSON instead of a table. */
  json: boolean;
  /** The started server's store. */
  store: "kv" | "postgres";
  /** With `store: "postgres"`: the database; absent: a throwaway cluster. */
  databaseUrl?: string;
}

/** One scenario's measurements. */
export interface ScenarioResult {
  /** Name. */
  scenario: string;
  /** Requests answered (any status). */
  requests: number;
  /** Requests that failed (non-2xx or network error). */
  errors: number;
  /** Wall time of the scenario, seconds. */
  seconds: number;
  /** Answered requests per second. */
  rps: number;
  /** Median latency, ms. */
  p50Ms: number;
  /** 99th-percentile latency, ms. */
  p99Ms: number;
  /** Whether the time cap stopped it early. */
  capped: boolean;
}

/**
 * Parses the command line.
 *
 * @example
 * ```ts
 * import { parseBenchOptions } from "./server.ts";
 * const o = parseBenchOptions(["--requests", "50", "--json"]);
 * console.log(o.requests, o.json, o.concurrency); // 50 true 4
 * ```
 */
export function parseBenchOptions(args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      url: { type: "string" },
      token: { type: "string" },
      requests: { type: "string", default: "200" },
      concurrency: { type: "string", default: "4" },
      "time-cap": { type: "string", default: "60" },
      "seed-memories": { type: "string", default: "20" },
      model: { type: "string", default: "random" },
      "mixed-count": { type: "string", default: "20" },
      "mixed-bytes": { type: "string", default: "1000000" },
      "mixed-cap": { type: "string", default: "120" },
      json: { type: "boolean", default: false },
      store: { type: "string", default: "kv" },
      "database-url": { type: "string" },
    },
  });
  if (values.store !== "kv" && values.store !== "postgres") {
    throw new TypeError(`--store must be kv or postgres, got "${values.store}"`);
  }
  const int = (name: string, v: string, min = 1) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      throw new TypeError(`--${name} must be an integer of at least ${min}`);
    }
    return n;
  };
  return {
    url: values.url,
    token: values.token,
    requests: int("requests", values.requests),
    concurrency: int("concurrency", values.concurrency),
    timeCapS: int("time-cap", values["time-cap"]),
    seedMemories: int("seed-memories", values["seed-memories"]),
    model: values.model,
    mixedCount: int("mixed-count", values["mixed-count"], 0),
    mixedBytes: int("mixed-bytes", values["mixed-bytes"]),
    mixedCapS: int("mixed-cap", values["mixed-cap"]),
    json: values.json,
    store: values.store,
    ...(values["database-url"] ? { databaseUrl: values["database-url"] } : {}),
  };
}

/**
 * A message of about `bytes` bytes, different for each `i`.
 *
 * @example
 * ```ts
 * import { message } from "./server.ts";
 * console.log(Math.abs(new TextEncoder().encode(message(3, 1024)).length - 1024) < 40); // true
 * ```
 */
export function message(i: number, bytes = 1024): string {
  const words = [
    "memory",
    "meeting",
    "Friday",
    "budget",
    "launch",
    "demo",
    "slides",
    "team",
    "review",
    "design",
    "server",
    "model",
    "paper",
    "notes",
    "March",
    "customer",
  ];
  let out = "";
  let n = i * 7919;
  while (out.length < bytes - 20) {
    const len = 6 + (n % 9);
    const sentence = Array.from({ length: len }, (_, k) => words[(n + k * 31) % words.length]);
    out += sentence.join(" ").replace(/^./, (c) => c.toUpperCase()) + ". ";
    if (n % 5 === 0) out += "\n\n";
    n = (n * 1103515245 + 12345) % 2147483647;
  }
  return `Message ${i}. ${out}`.slice(0, bytes).trimEnd();
}

/**
 * Runs `count` requests, `concurrency` at a time, until done, `capS` seconds have passed, or
 * `stop()` says so.
 *
 * @example
 * ```ts
 * import { runScenario } from "./server.ts";
 * const r = await runScenario("noop", 10, 2, 5, () => Promise.resolve(true));
 * console.log(r.requests, r.errors); // 10 0
 * ```
 */
export async function runScenario(
  scenario: string,
  count: number,
  concurrency: number,
  capS: number,
  send: (i: number) => Promise<boolean>,
  stop: () => boolean = () => false,
): Promise<ScenarioResult> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  let capped = false;
  const start = performance.now();
  const deadline = start + capS * 1000;
  const lane = async () => {
    while (next < count && !stop()) {
      if (performance.now() > deadline) {
        capped = true;
        return;
      }
      const i = next++;
      const t0 = performance.now();
      let ok = false;
      try {
        ok = await send(i);
      } catch {
        ok = false;
      }
      latencies.push(performance.now() - t0);
      if (!ok) errors++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies.length
      ? latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)]
      : 0;
  return {
    scenario,
    requests: latencies.length,
    errors,
    seconds,
    rps: latencies.length / seconds,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    capped,
  };
}

/**
 * The PostgreSQL database of a run: `url` as given, or a fresh database on a throwaway cluster
 * (removed by `close`).
 *
 * @example
 * ```ts ignore
 * import { benchDatabase } from "./server.ts";
 * const db = await benchDatabase(undefined);
 * console.log(db.url); // postgres://postgres@127.0.0.1:…/bench
 * await db.close();
 * ```
 */
export async function benchDatabase(
  url: string | undefined,
): Promise<{ url: string; close(): Promise<void> }> {
  if (url) return { url, close: () => Promise.resolve() };
  const pg = await startPostgres();
  return { url: await pg.createDatabase("bench"), close: () => pg.destroy() };
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(Deno.args);
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(2);
  }
  let url = options.url;
  let stop: (() => Promise<void>) | undefined;
  let modelNote = "the running server's model";
  let pid: number | undefined;
  if (!url) {
    const dir = await Deno.makeTempDir({ prefix: "r3mem-bench-" });
    const weights = options.model === "random"
      ? await writeRandomModel(dir)
      : options.model === "default"
      ? ""
      : options.model;
    modelNote = options.model === "random" ? "random tiny model" : options.model;
    const db = options.store === "postgres" ? await benchDatabase(options.databaseUrl) : undefined;
    const server = await spawnServer({
      env: {
        // Throughput is measured, not the per-namespace rate limit (50 req/s by default).
        R3MEM_RATE_LIMIT: "0",
        ...(db ? { R3MEM_DATABASE_URL: db.url } : { R3MEM_KV_PATH: `${dir}/kv/bench.kv` }),
        ...(weights ? { R3MEM_WEIGHTS: weights } : {}),
      },
    });
    url = server.url;
    pid = server.child.pid;
    stop = async () => {
      await server.stop();
      await db?.close();
      await Deno.remove(dir, { recursive: true });
    };
  }
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
    });
    await res.arrayBuffer();
    return res.ok;
  };
  try {
    const health = await (await fetch(`${url}/healthz`)).json();
    const results: ScenarioResult[] = [];
    results.push(
      await runScenario(
        "compress 1 KB",
        options.requests,
        options.concurrency,
        options.timeCapS,
        (i) => post("/v1/compress", { text: message(i) }),
      ),
    );
    let seeded = 0;
    for (let i = 0; i < options.seedMemories; i++) {
      if (await post("/v1/memories", { text: message(10_000 + i), metadata: { bench: true } })) {
        seeded++;
      }
    }
    const queries = ["When is the meeting?", "budget review", "launch demo in March", "notes"];
    for (const mode of ["hybrid", "keys"]) {
      results.push(
        await runScenario(
          `search ${mode} (${seeded} memories, k=5)`,
          options.requests,
          options.concurrency,
          options.timeCapS,
          (i) => post("/v1/search", { query: queries[i % queries.length], k: 5, mode }),
        ),
      );
    }
    // Conversation appends: as many conversations as requests in flight, each appended to by
    // one request at a time (racing turns of one conversation retry and may end in 409: that
    // is measured by the tests, not here), short turns of ~256 bytes.
    const conversations: string[] = [];
    for (let i = 0; i < options.concurrency; i++) {
      const res = await fetch(`${url}/v1/conversations`, { method: "POST", headers, body: "{}" });
      if (res.ok) conversations.push((await res.json()).id);
      else await res.arrayBuffer();
    }
    if (conversations.length > 0) {
      results.push(
        await runScenario(
          `append a 256 B turn (${conversations.length} conversations)`,
          options.requests,
          options.concurrency,
          options.timeCapS,
          async (i) => {
            const id = conversations.pop()!; // one is free: no more requests than lanes
            try {
              return await post(`/v1/conversations/${id}/turns`, {
                role: i % 2 ? "assistant" : "user",
                text: message(40_000 + i, 256),
              });
            } finally {
              conversations.push(id);
            }
          },
        ),
      );
    }
    let mixed: MixedResult | undefined;
    if (options.mixedCount > 0) {
      const large = (i: number) => {
        let text = "";
        for (let k = 0; text.length < options.mixedBytes; k++) {
          text += message(20_000 + i * 1000 + k, 4096) + "\n\n";
        }
        return text.slice(0, options.mixedBytes);
      };
      mixed = await runMixed(
        {
          largeCount: options.mixedCount,
          largeBytes: options.mixedBytes,
          concurrency: options.concurrency,
          capS: options.mixedCapS,
          pid,
        },
        async (i) => {
          const res = await fetch(`${url}/v1/memories`, {
            method: "POST",
            headers,
            body: JSON.stringify({ text: large(i), metadata: { bench: "large" } }),
          });
          await res.arrayBuffer();
          return res.status;
        },
        (capS, done) =>
          runScenario(
            `compress 1 KB beside ${options.mixedCount} × ${options.mixedBytes} B stores`,
            1_000_000,
            options.concurrency,
            capS,
            (i) => post("/v1/compress", { text: message(30_000 + i) }),
            done,
          ),
      );
      results.push(mixed.small);
    }
    const info = {
      url,
      model: health.model,
      modelNote,
      backend: health.backend,
      workers: health.workers,
      concurrency: options.concurrency,
      requests: options.requests,
      timeCapS: options.timeCapS,
      cores: navigator.hardwareConcurrency,
      store: options.url ? "the running server's" : options.store,
    };
    const large = mixed && {
      stored: mixed.largeStored,
      failed: mixed.largeFailed,
      pending: mixed.largePending,
      seconds: mixed.largeSeconds,
      peakRssMb: mixed.peakRssMb,
    };
    if (options.json) {
      console.log(JSON.stringify({ ...info, results, large }, null, 2));
    } else {
      console.log(
        `r3mem server bench: ${url}, model ${String(health.model).slice(0, 12)}… (${modelNote}), ` +
          `${health.backend}, ${
            health.workers ?? "?"
          } workers, concurrency ${options.concurrency}, ` +
          `store ${info.store}`,
      );
      const align: Align[] = ["left", "right", "right", "right", "right", "right", "right"];
      console.log(renderTable(
        ["scenario", "requests", "errors", "req/s", "p50 ms", "p99 ms", "seconds"],
        results.map((r) => [
          r.scenario + (r.capped ? " (time cap)" : ""),
          String(r.requests),
          String(r.errors),
          r.rps.toFixed(1),
          r.p50Ms.toFixed(1),
          r.p99Ms.toFixed(1),
          r.seconds.toFixed(1),
        ]),
        align,
      ));
      if (large) {
        console.log(
          `large documents: ${large.stored} stored, ${JSON.stringify(large.failed)} failed, ` +
            `${large.pending} still running after ${large.seconds.toFixed(1)} s; server peak RSS ` +
            `${large.peakRssMb === null ? "not measured" : `${large.peakRssMb.toFixed(0)} MB`}`,
        );
      }
    }
  } finally {
    await stop?.();
  }
}

if (import.meta.main) await main();
