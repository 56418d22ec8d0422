/**
 * Shared set-up of the WebGPU tests: a backend per int8 dot path, or the reason there is none.
 * Tests skip (with that reason printed) only when no adapter exists and `R3MEM_REQUIRE_WEBGPU`
 * is unset; CI sets it (`.ci/run`), so there a missing adapter fails instead of skipping.
 *
 * @module
 */
import { createWebGpuBackend, type WebGpuBackend } from "../src/backend/webgpu/webgpu_backend.ts";

/** The packed (dot4I8Packed) and unpacked backends, or null with the reason. */
export async function openGpus(): Promise<
  { packed: WebGpuBackend; unpacked: WebGpuBackend } | { reason: string }
> {
  try {
    const packed = await createWebGpuBackend();
    const unpacked = await createWebGpuBackend({ packedDot: false });
    return { packed, unpacked };
  } catch (e) {
    const reason = (e as Error).message;
    if (Deno.env.get("R3MEM_REQUIRE_WEBGPU")) {
      throw new Error(`R3MEM_REQUIRE_WEBGPU is set but WebGPU is unavailable: ${reason}`);
    }
    console.warn(`WebGPU tests skipped: ${reason}`);
    return { reason };
  }
}
