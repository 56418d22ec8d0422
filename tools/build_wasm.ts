/**
 * Compiles `assembly/` to the two committed SIMD WebAssembly modules:
 *
 * - `r3mem_kernels.wasm` — SIMD with the relaxed-SIMD instructions (fast int8 dot products);
 * - `r3mem_kernels_portable.wasm` — SIMD only, for engines without relaxed SIMD (Node 20, some
 *   edge runtimes); the kernels' `ASC_FEATURE_RELAXED_SIMD` branches are compiled away. Both give
 *   identical int8 results; the loader picks the first one the engine accepts.
 *
 * Usage: `deno task build:wasm`. Tests rebuild to temporary paths and compare bytes.
 *
 * @module
 */
// The compiler comes with an explicit specifier, not through deno.json: only this task pulls it.
// deno-lint-ignore no-import-prefix
import asc from "npm:assemblyscript@0.28.20/asc";

/** The committed modules, by variant. */
export const WASM_PATHS: Record<WasmVariant, URL> = {
  relaxed: new URL("../src/backend/wasm/r3mem_kernels.wasm", import.meta.url),
  portable: new URL("../src/backend/wasm/r3mem_kernels_portable.wasm", import.meta.url),
};

/** Which build: with or without relaxed SIMD. */
export type WasmVariant = "relaxed" | "portable";

/** Compiler flags: fixed, so a build is reproducible byte for byte. */
export const ASC_FLAGS = ["-O3", "--runtime", "incremental", "--noAssert", "--initialMemory", "64"];

const FEATURES: Record<WasmVariant, string[]> = {
  relaxed: ["--enable", "simd", "--enable", "relaxed-simd"],
  portable: ["--enable", "simd"],
};

/** Builds one variant and returns its bytes (also written to `outPath`). */
export async function buildWasm(outPath: string, variant: WasmVariant): Promise<Uint8Array> {
  const entry = new URL("../assembly/index.ts", import.meta.url).pathname;
  const stderr: string[] = [];
  const args = [entry, "--outFile", outPath, ...ASC_FLAGS, ...FEATURES[variant]];
  const { error } = await asc.main(args, {
    stderr: { write: (s: string) => void stderr.push(String(s)) },
    stdout: { write: () => {} },
  });
  if (error) throw new Error(`asc failed: ${error.message}\n${stderr.join("")}`);
  return await Deno.readFile(outPath);
}

if (import.meta.main) {
  for (const variant of ["relaxed", "portable"] as const) {
    const out = WASM_PATHS[variant].pathname;
    const bytes = await buildWasm(out, variant);
    console.log(`wrote ${out} (${bytes.length} bytes)`);
  }
}
