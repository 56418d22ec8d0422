import { assertEquals } from "./_assert.ts";
import { buildWasm, WASM_PATH } from "../tools/build_wasm.ts";

Deno.test("committed r3mem_kernels.wasm is a fresh build of assembly/", async () => {
  const tmp = await Deno.makeTempFile({ suffix: ".wasm" });
  try {
    const fresh = await buildWasm(tmp);
    const committed = await Deno.readFile(WASM_PATH);
    const same = fresh.length === committed.length && fresh.every((b, i) => b === committed[i]);
    assertEquals(
      same,
      true,
      `src/backend/wasm/r3mem_kernels.wasm (${committed.length} B) differs from a fresh build ` +
        `(${fresh.length} B): run \`deno task build:wasm\` and commit the result`,
    );
  } finally {
    await Deno.remove(tmp);
  }
});
