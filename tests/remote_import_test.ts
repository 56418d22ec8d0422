// The library imported from a URL, as JSR and deno.land serve it: the repository is served over a
// local HTTP server, and a script in a fresh DENO_DIR (no config, no import map, no lockfile)
// imports `mod.ts` from `http://127.0.0.1:PORT/`, loads the default model (weights and kernels
// fetched from where the module is served) and round-trips a text. The cold start (a fresh
// DENO_DIR: every module and the weights downloaded) and a warm one are printed.
import { assert, assertEquals } from "./_assert.ts";

const ROOT = new URL("..", import.meta.url);

const TYPES: Record<string, string> = {
  ts: "application/typescript; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  json: "application/json",
  wasm: "application/wasm",
};

/** Serves the repository's files read-only (GET only, no listing, no `..`); counts requests. */
function serveRepository() {
  const requests: { path: string; bytes: number }[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    if (req.method !== "GET" || path.split("/").some((p) => p === ".." || p.startsWith("."))) {
      return new Response("not found", { status: 404 });
    }
    try {
      const body = await Deno.readFile(new URL(`.${path}`, ROOT));
      requests.push({ path, bytes: body.length });
      const ext = path.slice(path.lastIndexOf(".") + 1);
      return new Response(body, {
        headers: { "content-type": TYPES[ext] ?? "application/octet-stream" },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return { server, requests, base: `http://127.0.0.1:${server.addr.port}` };
}

async function runScript(dir: string, denoDir: string, port: number) {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "--no-lock",
      `--allow-import=127.0.0.1:${port}`,
      `--allow-net=127.0.0.1:${port}`,
      "client.ts",
    ],
    cwd: dir,
    env: { DENO_DIR: denoDir, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return { ms, result: JSON.parse(lines[lines.length - 1]) };
}

Deno.test({
  name: "remote import: mod.ts from http://127.0.0.1, default model from where it is served",
  sanitizeResources: false, // the subprocess's connections to the server close on their own
  fn: async () => {
    const { server, requests, base } = serveRepository();
    const dir = await Deno.makeTempDir({ prefix: "r3mem-remote-" });
    try {
      const text = "Meeting moved to Friday. 🐈\n\nBring the slides and the budget.";
      await Deno.writeTextFile(
        `${dir}/client.ts`,
        `import { DEFAULT_WEIGHTS_URL, Memory, R3Mem } from "${base}/mod.ts";
const t0 = performance.now();
const r3 = await R3Mem.load();
const loaded = performance.now();
const text = ${JSON.stringify(text)};
const memory = await r3.compress(text);
const back = await r3.reconstruct(Memory.fromBytes(memory.toBytes()));
console.log(JSON.stringify({
  basis: r3.basis !== null,
  weights: DEFAULT_WEIGHTS_URL.href,
  roundTrip: back === text,
  loadMs: loaded - t0,
  compressAndBackMs: performance.now() - loaded,
}));
`,
      );
      const port = server.addr.port;
      const cold = await runScript(dir, `${dir}/deno_dir`, port);
      const served = requests.reduce((n, r) => n + r.bytes, 0);
      const files = requests.length;
      const warm = await runScript(dir, `${dir}/deno_dir`, port);
      assert(cold.result.roundTrip, "cold: the text did not come back");
      assert(warm.result.roundTrip, "warm: the text did not come back");
      assertEquals(cold.result.weights, `${base}/weights/r3mem-default.r3w`);
      const paths = new Set(requests.map((r) => r.path));
      assert(
        paths.has("/weights/r3mem-default.r3w"),
        "the weights were not fetched from the server",
      );
      const hasBasis = await Deno.stat(new URL("weights/r3mem-default.r3b", ROOT)).then(
        () => true,
        () => false,
      );
      assertEquals(cold.result.basis, hasBasis, "the memory basis was not fetched from the server");
      assert(
        [...paths].some((p) => p.endsWith(".wasm")),
        "the kernels were not fetched from the server",
      );
      // Only what the library needs: no tools, tests, server or benchmarks.
      const stray = [...paths].filter((p) =>
        /^\/(tools|tests|bench|src\/server|src\/train)\//.test(p)
      );
      assertEquals(stray, [], "the library pulled files it should not need");
      console.log(
        `remote import: cold ${cold.ms.toFixed(0)} ms (fresh DENO_DIR: ${files} files, ` +
          `${(served / 1e6).toFixed(2)} MB served; load ${cold.result.loadMs.toFixed(0)} ms), ` +
          `warm ${warm.ms.toFixed(0)} ms (load ${warm.result.loadMs.toFixed(0)} ms)`,
      );
    } finally {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
