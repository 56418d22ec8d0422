/**
 * The r3mem HTTP server: the default model (or `R3MEM_WEIGHTS`) in a pool of workers, memories
 * in Deno KV or PostgreSQL (`R3MEM_DATABASE_URL`), served with Hono. Run it with `deno task start`; see `docs/SERVER.md`.
 *
 * Environment: `PORT` (8787), `R3MEM_KV_PATH` (`./data/r3mem.kv`), `R3MEM_TOKENS`
 * (`token:namespace,…`; without it the server listens on 127.0.0.1 only), `R3MEM_WEIGHTS`,
 * `R3MEM_MAX_BODY_BYTES` (1 MiB), `R3MEM_WORKERS` (the number of cores), `R3MEM_HOST`,
 * `R3MEM_DEADLINE_MS`, `R3MEM_MAX_QUEUE`, `R3MEM_RATE_LIMIT`, `R3MEM_PURGE_INTERVAL_S`,
 * `R3MEM_DATABASE_URL` (`postgres://…`: memories and conversations in PostgreSQL, shared by every
 * instance pointed at it; `docs/SERVER.md`).
 *
 * As a `fetch` handler (`deno serve -A server.ts`, Deno Deploy, or imported by an edge function),
 * the default export loads the model on the first request on its own thread and stores memories
 * in the platform's Deno KV (`R3MEM_KV_PATH` to choose a file); see `docs/DEPLOY.md`. To build the
 * app around your own model and store, use `@r3mem/r3mem/server` (`src/server/mod.ts`).
 *
 * @example Serve in-process
 * ```ts ignore
 * import { configFromEnv, startServer } from "./server.ts";
 * const server = await startServer({ ...configFromEnv(), port: 0 });
 * console.log(await (await fetch(`${server.url}/healthz`)).json());
 * await server.shutdown();
 * ```
 *
 * @example As a fetch handler
 * ```ts ignore
 * import server from "./server.ts";
 * Deno.serve(server.fetch); // what an edge function does
 * ```
 *
 * @module
 */
import { createApp } from "./src/server/app.ts";
import { configFromEnv, type ServerConfig } from "./src/server/config.ts";
import { describeStore, openStore } from "./src/server/open_store.ts";
import type { Store } from "./src/server/store_types.ts";
import { startExpiryPurge } from "./src/server/purge.ts";
import { WorkerPool } from "./src/server/worker_pool.ts";
import { createEdgeHandler, type EdgeHandler } from "./src/server/edge.ts";

export { type AppOptions, createApp, type R3MemApp } from "./src/server/app.ts";
export { configFromEnv, type ServerConfig } from "./src/server/config.ts";

/**
 * The server as a `fetch` handler, started by its first request: for `deno serve server.ts`,
 * Deno Deploy and edge functions (`Deno.serve(server.fetch)`).
 */
const handler: EdgeHandler = createEdgeHandler();
export default handler;

/** A running server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8787`. */
  url: string;
  /** The port listened on. */
  port: number;
  /** Stops listening, then terminates the workers and closes the database. */
  shutdown(): Promise<void>;
}

/**
 * Starts the server: loads the model into the worker pool, opens the store, listens.
 *
 * @param config Port, host, KV path, tokens, weights, limits, workers.
 * @param log Where status lines go (default `console.log`).
 * @returns The running server.
 *
 * @example
 * ```ts ignore
 * import { configFromEnv, startServer } from "./server.ts";
 * const server = await startServer(configFromEnv());
 * ```
 */
export async function startServer(
  config: ServerConfig,
  log: (line: string) => void = console.log,
): Promise<RunningServer> {
  const weights = await readWeights(config.weights);
  const pool = await WorkerPool.create({
    weights,
    size: config.workers,
    backend: config.backend,
    maxQueue: config.maxQueue,
  });
  let store: Store;
  try {
    store = await openStore(config);
  } catch (e) {
    await pool.close();
    throw e;
  }
  const app = createApp({
    engine: pool,
    store,
    tokens: config.tokens,
    maxBodyBytes: config.maxBodyBytes,
    deadlineMs: config.deadlineMs,
    rateLimit: config.rateLimit,
    searchCacheBytes: config.searchCacheMb * 2 ** 20,
  });
  const stopPurge = startExpiryPurge(store, config.purgeIntervalS * 1000);
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    port: config.port,
    hostname: config.hostname,
    onListen: (addr) => resolve(addr as Deno.NetAddr),
  }, app.fetch);
  const addr = await listening;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const url = `http://${host}:${addr.port}`;
  if (config.tokens.size === 0) {
    log(`No R3MEM_TOKENS: no authentication, so listening on ${addr.hostname} only.`);
  } else {
    log(`${config.tokens.size} token(s), ${new Set(config.tokens.values()).size} namespace(s).`);
  }
  log(
    `r3mem listening on ${url} (model ${pool.fingerprint.slice(0, 12)}…, ${pool.backend}, ` +
      `${pool.size} worker(s), store ${describeStore(config)})`,
  );
  let stopping: Promise<void> | undefined;
  return {
    url,
    port: addr.port,
    shutdown: () =>
      stopping ??= (async () => {
        await server.shutdown();
        await stopPurge();
        await pool.close();
        store.close();
      })(),
  };
}

async function readWeights(url: URL): Promise<Uint8Array> {
  if (url.protocol === "file:") {
    try {
      return await Deno.readFile(url);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new Error(
          `No model at ${url.pathname}. Train one (docs/WEIGHTS.md) or set R3MEM_WEIGHTS to a ` +
            `weights file or URL.`,
        );
      }
      throw e;
    }
  }
  // Fetch once here; the workers get the bytes (they verify them).
  const res = await fetch(url);
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`Could not download the model from ${url}: HTTP ${res.status}`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Whether a runtime serves this module's default export (`deno serve`, Deno Deploy) rather than
 * `deno run` running it as a program: `import.meta.main` is true in both.
 */
function servedByRuntime(): boolean {
  if (Deno.env.get("DENO_DEPLOYMENT_ID")) return true;
  try {
    // Linux: the command line says which subcommand started this process.
    const argv = Deno.readTextFileSync("/proc/self/cmdline").split("\0");
    return argv[1] === "serve";
  } catch {
    return false;
  }
}

if (import.meta.main && !servedByRuntime()) {
  let server: RunningServer;
  try {
    server = await startServer(configFromEnv());
  } catch (e) {
    console.error(`r3mem: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
  const stop = () => {
    console.log("r3mem: shutting down");
    server.shutdown().then(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
