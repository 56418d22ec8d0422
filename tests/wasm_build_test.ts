import { assertEquals } from "./_assert.ts";
import { buildWasm, WASM_PATHS } from "../tools/build_wasm.ts";

for (const variant of ["relaxed", "portable"] as const) {
  Deno.test(`committed ${variant} kernels are a fresh build of assembly/`, async () => {
    const tmp = await Deno.makeTempFile({ suffix: ".wasm" });
    try {
      const fresh = await buildWasm(tmp, variant);
      const committed = await Deno.readFile(WASM_PATHS[variant]);
      const same = fresh.length === committed.length && fresh.every((b, i) => b === committed[i]);
      assertEquals(
        same,
        true,
        `${WASM_PATHS[variant].pathname} (${committed.length} B) differs from a fresh build ` +
          `(${fresh.length} B): run \`deno task build:wasm\` and commit the result`,
      );
    } finally {
      await Deno.remove(tmp);
    }
  });
}
