// The package as JSR would take it: `deno publish --dry-run` (type check, slow-type check of the
// public API, file list) passes without `--allow-slow-types`, exports `.` and `./server`, ships
// the kernels and the default model, leaves out tests, tools, benchmarks, lockfiles and the f32
// master weights, and stays under JSR's 20 MB per file and per package.
import { assert, assertEquals } from "./_assert.ts";

const ROOT = new URL("..", import.meta.url);
const JSR_LIMIT = 20 * 1024 * 1024;

Deno.test("publish: deno publish --dry-run passes without --allow-slow-types", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: ROOT.pathname,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert(out.success, `deno publish --dry-run failed:\n${log.slice(-8000)}`);
  assert(log.includes("Dry run complete"), log.slice(-2000));
  assert(!/slow types? (found|detected)/i.test(log), "slow types reported");

  // "   file:///…/path (12.3KB)"
  const units: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };
  const files = new Map<string, number>();
  for (const m of log.matchAll(/^\s+(file:\/\/\S+) \(([\d.]+)(B|KB|MB|GB)\)$/gm)) {
    files.set(m[1].slice(ROOT.href.length), Number(m[2]) * units[m[3]]);
  }
  assert(files.size > 20, `no file list in:\n${log.slice(0, 2000)}`);
  for (
    const needed of [
      "mod.ts",
      "src/server/mod.ts",
      "server.ts",
      "src/backend/wasm/r3mem_kernels.wasm",
      "src/backend/wasm/r3mem_kernels_portable.wasm",
      "weights/r3mem-default.r3w",
    ]
  ) assert(files.has(needed), `${needed} is not in the package`);
  const stray = [...files.keys()].filter((f) =>
    /^(tests|tools|bench)\//.test(f) || /^deno(\.runtime)?\.lock$/.test(f) ||
    f.endsWith(".master.r3w")
  );
  assertEquals(stray, [], "the package carries files it does not need");
  const total = [...files.values()].reduce((a, b) => a + b, 0);
  for (const [f, size] of files) assert(size < JSR_LIMIT, `${f} is over JSR's 20 MB per file`);
  assert(total < JSR_LIMIT, `the package is ${(total / 1e6).toFixed(1)} MB, over JSR's 20 MB`);
  console.log(`publish dry run: ${files.size} files, ${(total / 1e6).toFixed(2)} MB`);

  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  assertEquals(Object.keys(config.exports).sort(), [".", "./server"]);
});
