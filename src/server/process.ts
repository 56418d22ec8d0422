/**
 * Runs the real server as a child process (`deno run -A --unstable-kv server.ts`) on a free
 * port: what the durability and load tests and `bench/server.ts` need.
 *
 * @module
 */
import { buildRandomModel } from "../model/random_model.ts";

/** Options of {@link spawnServer}. */
export interface SpawnOptions {
  /** Extra environment (`R3MEM_WEIGHTS`, `R3MEM_KV_PATH`, `R3MEM_TOKENS`…). */
  env?: Record<string, string>;
  /** How long to wait for the server to listen (default 60 s). */
  timeoutMs?: number;
  /** Called with each line the server prints. */
  onLine?: (line: string) => void;
}

/** A server child process. */
export interface ServerProcess {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** The child process. */
  child: Deno.ChildProcess;
  /** Lines printed so far (stdout and stderr). */
  lines: string[];
  /** Sends a signal and waits for the process to exit. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

const SERVER_TS = new URL("../../server.ts", import.meta.url);

/**
 * Starts `server.ts` in a child process with `PORT=0` and waits until it listens.
 *
 * @param options Environment, timeout, line callback.
 * @returns The running process and its URL.
 * @throws {Error} When it exits or does not listen in time (with what it printed).
 *
 * @example
 * ```ts ignore
 * import { spawnServer, writeRandomModel } from "./process.ts";
 * const dir = await Deno.makeTempDir();
 * const weights = await writeRandomModel(dir);
 * const server = await spawnServer({ env: { R3MEM_WEIGHTS: weights, R3MEM_KV_PATH: `${dir}/kv` } });
 * console.log((await fetch(`${server.url}/healthz`)).status); // 200
 * await server.stop();
 * ```
 */
export async function spawnServer(options: SpawnOptions = {}): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", SERVER_TS.pathname],
    env: { PORT: "0", NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const { promise: listening, resolve, reject } = Promise.withResolvers<string>();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    let buf = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      buf += text;
      let at;
      while ((at = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, at);
        buf = buf.slice(at + 1);
        lines.push(line);
        options.onLine?.(line);
        const m = /listening on (http:\/\/\S+)/.exec(line);
        if (m) resolve(m[1]);
      }
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const status = child.status;
  status.then((s) => reject(new Error(`Server exited (${s.code}):\n${lines.join("\n")}`)));
  const timeoutMs = options.timeoutMs ?? 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(
      () => fail(new Error(`Server did not listen in ${timeoutMs} ms:\n${lines.join("\n")}`)),
      timeoutMs,
    );
  });
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    try {
      child.kill(signal);
    } catch { /* already exited */ }
    const s = await status;
    await pumps;
    return s;
  };
  try {
    const url = await Promise.race([listening, timeout]);
    return { url, child, lines, stop };
  } catch (e) {
    await stop("SIGKILL");
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Writes a small random model's weights to `dir/model.r3w` (for servers in tests and benches:
 * nothing about the server depends on the model's quality).
 *
 * @param dir A folder.
 * @param seed Seed of the weights (default 1).
 * @returns The file's path.
 *
 * @example
 * ```ts
 * import { writeRandomModel } from "./process.ts";
 * const dir = await Deno.makeTempDir();
 * console.log((await Deno.stat(await writeRandomModel(dir))).size > 0); // true
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeRandomModel(dir: string, seed = 1): Promise<string> {
  const path = `${dir}/model.r3w`;
  await Deno.writeFile(path, await buildRandomModel({ seed }));
  return path;
}
