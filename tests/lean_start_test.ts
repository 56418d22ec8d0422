// The first `deno task start` on a clean machine (a clone of HEAD, a fresh DENO_DIR, no
// node_modules) downloads only the server's runtime packages: under 30 MB besides Deno itself, and
// none of the benchmark, build or test tools; and deno.runtime.lock already covers it (the start
// changes no tracked file). Needs the npm registry.
import { assert } from "./_assert.ts";
import { measureFirstStart } from "../bench/first_start.ts";

const TOOLS = /^(onnxruntime|benchmark|assemblyscript|binaryen|playwright|@redocly|openapi-)/;

Deno.test({
  name: "lean start: the first deno task start downloads under 30 MB and no tools",
  sanitizeResources: false,
  fn: async () => {
    const m = await measureFirstStart("HEAD");
    const tools = m.packages.filter((p) => TOOLS.test(p));
    assert(tools.length === 0, `deno task start downloaded tools: ${tools.join(", ")}`);
    assert(m.bytes < 30e6, `deno task start downloaded ${(m.bytes / 1e6).toFixed(1)} MB`);
    assert(
      m.changed.length === 0,
      `deno task start changed ${m.changed.join(", ")}: deno.runtime.lock does not cover it ` +
        `(run deno task start once and commit deno.runtime.lock)`,
    );
    console.log(
      `first deno task start: ${(m.bytes / 1e6).toFixed(1)} MB, ${m.packages.length} packages ` +
        `(${m.packages.join(", ")}), listening after ${(m.msToListening / 1000).toFixed(1)} s`,
    );
  },
});
