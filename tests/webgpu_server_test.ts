// The server's backend: R3MEM_BACKEND parsed by configFromEnv, passed to the worker pool, and
// reported by GET /healthz (as the pool's `backend`, which tests/server_app_test.ts ties to
// /healthz) once the workers' backend choice is over.
import { configFromEnv } from "../src/server/config.ts";
import { WorkerPool } from "../src/server/worker_pool.ts";
import { buildRandomModel } from "../src/model/random_model.ts";
import { assert, assertEquals } from "./_assert.ts";
import { openGpus } from "./_webgpu.ts";

const gpus = await openGpus();
const ignore = "reason" in gpus;
if (!("reason" in gpus)) {
  await gpus.packed.shutdown();
  await gpus.unpacked.shutdown();
}

Deno.test("configFromEnv: R3MEM_BACKEND, default auto, bad values named", () => {
  assertEquals(configFromEnv(() => undefined).backend, "auto");
  for (const b of ["auto", "webgpu", "wasm", "reference"]) {
    assertEquals(configFromEnv((n) => (n === "R3MEM_BACKEND" ? b : undefined)).backend, b);
  }
  let message = "";
  try {
    configFromEnv((n) => (n === "R3MEM_BACKEND" ? "cuda" : undefined));
  } catch (e) {
    message = (e as Error).message;
  }
  assert(message.includes("R3MEM_BACKEND") && message.includes("webgpu"), message);
});

for (const [backend, expected] of [["webgpu", "webgpu"], ["auto", "wasm"]] as const) {
  Deno.test(
    { name: `the worker pool (GET /healthz) reports backend ${backend} as ${expected}`, ignore },
    async () => {
      const weights = await buildRandomModel({ seed: 6 });
      const pool = await WorkerPool.create({ weights, size: 1, backend });
      try {
        // auto: the software adapter here is refused (on a GPU machine it may say webgpu)
        if (backend === "webgpu") assertEquals(pool.backend, expected);
        else assert(["wasm", "webgpu"].includes(pool.backend), pool.backend);
      } finally {
        await pool.close();
      }
    },
  );
}
