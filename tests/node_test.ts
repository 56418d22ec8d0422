// The library (mod.ts, not the server) under Node.js with no Deno API, laid out as JSR's npm
// compatibility layer lays it out: every module of mod.ts's graph transpiled to JavaScript in
// place (`deno bundle --inline-imports=false`, relative `.ts` imports rewritten to `.js`), the
// kernels and the default weights beside them. Node (20 on this machine kind: no TypeScript, no
// relaxed SIMD) imports `mod.js`, loads the default model from `file:` URLs and round-trips a
// text. Skipped with a message when `node` is not installed.
import { assert, assertEquals } from "./_assert.ts";

const ROOT = new URL("..", import.meta.url);
const decoder = new TextDecoder();

async function nodeVersion(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("node", { args: ["--version"], stdout: "piped" }).output();
    return out.success ? decoder.decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

async function deno(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT.pathname,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = decoder.decode(out.stdout);
  assert(out.success, `deno ${args.join(" ")}:\n${decoder.decode(out.stderr)}`);
  return text;
}

/** The local modules of `mod.ts`'s graph, relative to the repository root. */
async function libraryModules(): Promise<string[]> {
  const info = JSON.parse(await deno(["info", "--json", "mod.ts"]));
  return (info.modules as { specifier: string }[])
    .map((m) => m.specifier)
    .filter((s) => s.startsWith(ROOT.href))
    .map((s) => s.slice(ROOT.href.length));
}

/** Rewrites relative `.ts` specifiers in static and dynamic imports to `.js`. */
function rewriteImports(js: string): string {
  return js.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.\.?\/[^"']*?)\.ts\2/g,
    (_m, lead: string, q: string, path: string) => `${lead}${q}${path}.js${q}`,
  );
}

/**
 * The files the library reads at run time, as the package ships them: the kernels (`.wasm`) and
 * the default model (weights and memory basis, not the f32 master).
 */
async function assets(): Promise<string[]> {
  const out: string[] = [];
  for (const dir of ["src/backend/wasm", "weights"]) {
    for await (const e of Deno.readDir(new URL(`${dir}/`, ROOT))) {
      if (e.isFile && /\.(wasm|r3w|r3b)$/.test(e.name) && !e.name.includes(".master.")) {
        out.push(`${dir}/${e.name}`);
      }
    }
  }
  return out;
}

const node = await nodeVersion();

Deno.test({
  name: "node: mod.ts transpiled in place, default model loaded from file: URLs, text round-trips",
  ignore: node === undefined,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "r3mem-node-" });
    try {
      const modules = await libraryModules();
      assert(modules.includes("mod.ts") && modules.length > 10, `graph: ${modules}`);
      const foreign = modules.filter((m) => !m.endsWith(".ts"));
      assertEquals(foreign, [], "the library's graph has modules that are not local TypeScript");
      await deno(["bundle", "--inline-imports=false", "--outdir", `${dir}/pkg`, ...modules]);
      for (const m of modules) {
        const path = `${dir}/pkg/${m.replace(/\.ts$/, ".js")}`;
        await Deno.writeTextFile(path, rewriteImports(await Deno.readTextFile(path)));
      }
      for (const a of await assets()) {
        await Deno.mkdir(`${dir}/pkg/${a.slice(0, a.lastIndexOf("/"))}`, { recursive: true });
        await Deno.copyFile(new URL(a, ROOT), `${dir}/pkg/${a}`);
      }
      await Deno.writeTextFile(`${dir}/pkg/package.json`, '{ "type": "module" }\n');
      const text = "Meeting moved to Friday. 🐈\n\nBring the slides and the budget.";
      await Deno.writeTextFile(
        `${dir}/pkg/client.js`,
        `if (typeof Deno !== "undefined") throw new Error("not Node");
const t0 = performance.now();
const { Memory, R3Mem } = await import("./mod.js");
const r3 = await R3Mem.load();
const memory = await r3.compress(${JSON.stringify(text)});
const back = await r3.reconstruct(Memory.fromBytes(memory.toBytes()));
const text = ${JSON.stringify(text)};
console.log(JSON.stringify({ roundTrip: back === text, basis: r3.basis !== null, ms: performance.now() - t0 }));
`,
      );
      const out = await new Deno.Command("node", {
        args: ["client.js"],
        cwd: `${dir}/pkg`,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(out.success, `node client.js:\n${decoder.decode(out.stderr)}`);
      const lines = decoder.decode(out.stdout).trim().split("\n");
      const result = JSON.parse(lines[lines.length - 1]);
      assert(result.roundTrip, "the text did not come back under Node");
      const hasBasis = (await assets()).some((a) => a.endsWith(".r3b"));
      assertEquals(result.basis, hasBasis, "the memory basis beside the weights was not loaded");
      console.log(
        `node ${node}: ${modules.length} modules, round trip in ${result.ms.toFixed(0)} ms`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
