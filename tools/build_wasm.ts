/**
 * Compiles `assembly/` to the committed SIMD WebAssembly module.
 *
 * Usage: `deno task build:wasm [--out PATH]`. The default output is
 * `src/backend/wasm/r3mem_kernels.wasm`; tests rebuild to a temporary path and compare bytes.
 *
 * @module
 */
import asc from "assemblyscript/asc";

/** Where the committed module lives. */
export const WASM_PATH = new URL("../src/backend/wasm/r3mem_kernels.wasm", import.meta.url);

/** Compiler flags: fixed, so a build is reproducible byte for byte. */
export const ASC_FLAGS = [
  "-O3",
  "--runtime",
  "incremental",
  "--enable",
  "simd",
  "--enable",
  "relaxed-simd",
  "--noAssert",
  "--initialMemory",
  "64",
];

/** Builds the module and returns its bytes (also written to `outPath`). */
export async function buildWasm(outPath: string): Promise<Uint8Array> {
  const entry = new URL("../assembly/index.ts", import.meta.url).pathname;
  const stderr: string[] = [];
  const { error } = await asc.main([entry, "--outFile", outPath, ...ASC_FLAGS], {
    stderr: { write: (s: string) => void stderr.push(String(s)) },
    stdout: { write: () => {} },
  });
  if (error) throw new Error(`asc failed: ${error.message}\n${stderr.join("")}`);
  return await Deno.readFile(outPath);
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--out");
  const out = i >= 0 ? Deno.args[i + 1] : WASM_PATH.pathname;
  const bytes = await buildWasm(out);
  console.log(`wrote ${out} (${bytes.length} bytes)`);
}
