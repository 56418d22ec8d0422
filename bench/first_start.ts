/**
 * What the first `deno task start` downloads on a clean machine: clones a revision of this
 * repository into a temporary folder, runs `deno task start` there with a fresh `DENO_DIR` (no
 * `node_modules`, nothing cached) until the server says it is listening, stops it, and counts the
 * bytes of the fresh `DENO_DIR` and `node_modules` (each file once: `node_modules` hard-links into
 * the cache). Deno itself is not counted. Needs the npm registry.
 *
 * Usage: `deno task bench:first-start [--rev HEAD] [--json]`
 *
 * @module
 */
import { parseArgs } from "node:util";

/** One measurement. */
export interface FirstStart {
  /** The revision measured. */
  rev: string;
  /** Bytes of files in the fresh `DENO_DIR` and `node_modules`, hard links counted once. */
  bytes: number;
  /** Of which in `DENO_DIR/npm` (npm packages). */
  npmBytes: number;
  /** The npm packages downloaded (`name@version`), sorted. */
  packages: string[];
  /** Milliseconds from `deno task start` to the server listening (downloads included). */
  msToListening: number;
  /** Tracked files the start changed (`git status`): a lockfile that did not cover the start. */
  changed: string[];
}

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/**
 * Clones `rev`, starts its server once from nothing, and measures what was downloaded.
 *
 * @param rev A revision of this repository (committed work only).
 * @param timeoutMs How long to wait for the server to listen.
 * @returns The measurement.
 */
export async function measureFirstStart(rev = "HEAD", timeoutMs = 240_000): Promise<FirstStart> {
  const tmp = await Deno.makeTempDir({ prefix: "r3mem-first-start-" });
  try {
    const repo = `${tmp}/repo`;
    await run("git", ["clone", "--quiet", "--no-checkout", REPO, repo]);
    await run("git", ["-C", repo, "checkout", "--quiet", rev]);
    const denoDir = `${tmp}/deno_dir`;
    const t0 = performance.now();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["task", "start"],
      cwd: repo,
      env: {
        DENO_DIR: denoDir,
        PORT: "0",
        R3MEM_KV_PATH: `${tmp}/kv/r3mem.kv`,
        R3MEM_WORKERS: "1",
        NO_COLOR: "1",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let log = "";
    const listening = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stdout) {
        log += decoder.decode(chunk, { stream: true });
        if (/listening on http/.test(log)) return true;
      }
      return false;
    })();
    const stderr = new Response(child.stderr).text();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ok = await Promise.race([
      listening,
      new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), timeoutMs)),
    ]);
    clearTimeout(timer);
    const msToListening = performance.now() - t0;
    try {
      child.kill("SIGTERM"); // deno task passes it on to the server, which shuts down
    } catch { /* already gone */ }
    await child.status;
    await listening.catch(() => {});
    const err = await stderr;
    if (!ok) throw new Error(`The server did not start:\n${log}\n${err.slice(-4000)}`);
    const seen = new Set<string>();
    const all = await sizeOf([denoDir, `${repo}/node_modules`], seen);
    const npmBytes = await sizeOf([`${denoDir}/npm`], new Set());
    const status = await new Deno.Command("git", {
      args: ["-C", repo, "status", "--porcelain", "--untracked-files=no"],
      stdout: "piped",
    }).output();
    const changed = new TextDecoder().decode(status.stdout).split("\n").filter((l) => l.trim())
      .map((l) => l.slice(3));
    const packages = await npmPackages(denoDir);
    return { rev, bytes: all, npmBytes, packages, msToListening, changed };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Bytes of the regular files under `roots`, each inode counted once. */
async function sizeOf(roots: string[], seen: Set<string>): Promise<number> {
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    for (const e of entries) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (e.isFile) {
        const info = await Deno.lstat(path);
        const key = `${info.dev}:${info.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
        total += info.size;
      }
    }
  };
  for (const root of roots) await walk(root);
  return total;
}

/** `name@version` of every package in the npm cache of `denoDir`. */
async function npmPackages(denoDir: string): Promise<string[]> {
  const out: string[] = [];
  const registryDir = `${denoDir}/npm/registry.npmjs.org`;
  const versions = async (dir: string, name: string) => {
    for await (const v of Deno.readDir(dir)) if (v.isDirectory) out.push(`${name}@${v.name}`);
  };
  try {
    for await (const e of Deno.readDir(registryDir)) {
      if (!e.isDirectory) continue;
      if (e.name.startsWith("@")) {
        for await (const s of Deno.readDir(`${registryDir}/${e.name}`)) {
          if (s.isDirectory) {
            await versions(`${registryDir}/${e.name}/${s.name}`, `${e.name}/${s.name}`);
          }
        }
      } else await versions(`${registryDir}/${e.name}`, e.name);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { rev: { type: "string", default: "HEAD" }, json: { type: "boolean" } },
  });
  const m = await measureFirstStart(values.rev);
  if (values.json) console.log(JSON.stringify(m, null, 2));
  else {
    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    console.log(
      `rev ${m.rev}: first deno task start downloads ${mb(m.bytes)} ` +
        `(npm packages ${mb(m.npmBytes)}), listening after ${
          (m.msToListening / 1000).toFixed(1)
        } s`,
    );
    console.log(`packages: ${m.packages.join(", ")}`);
  }
}
