/**
 * `R3Mem.load`'s `backend` option resolved to the backend that runs the model and the one that
 * codes the lossless residual. The WebGPU code (a worker, `node:worker_threads`) is imported
 * only when WebGPU is asked for and `navigator.gpu` exists, so hosts without it never load it.
 *
 * @module
 */
import type { Backend } from "../backend.ts";
import { createReferenceBackend } from "../reference.ts";
import { createWasmBackend } from "../wasm/wasm_backend.ts";
import type { BackendSelection, WorkloadShape } from "./select.ts";

export type { BackendSelection, WorkloadShape };

/** A backend name `R3Mem.load` accepts. */
export type BackendChoice = "auto" | "webgpu" | "wasm" | "reference";

/** The backend names `R3Mem.load` accepts. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ["auto", "webgpu", "wasm", "reference"];

/**
 * Resolves a backend option.
 *
 * - `"auto"` (default): WebAssembly at once, and WebGPU probed in the background (`upgrade`):
 *   an adapter that is not a software rasterizer, passes the self-test and runs a compression
 *   segment faster than WebAssembly takes the model over. Loading never waits for the GPU (the
 *   adapter alone takes ~0.5 s to open here, several times the whole cold start). On Linux
 *   without a GPU device node there is no probe at all.
 * - `"webgpu"`: waits for WebGPU and its self-test; WebAssembly if either fails.
 * - `"wasm"`, `"reference"`: that backend.
 * - a backend instance runs the model as given; the residual is coded on it too unless it is a
 *   WebGPU backend (then on WebAssembly: GPU arithmetic is not the same on every machine).
 *
 * @param choice The option.
 * @param shape The model's sizes (awaited only when WebGPU is probed).
 * @returns The model's backend, the coder's backend, the reason, and for `"auto"` the probe.
 * @throws {TypeError} When `choice` is none of those (the message lists them).
 *
 * @example
 * ```ts
 * import { chooseBackend } from "./choose.ts";
 * const picked = await chooseBackend("wasm", Promise.reject(new Error("unused")));
 * console.log(picked.backend.name, picked.coder === picked.backend); // wasm true
 * ```
 */
export async function chooseBackend(
  choice: BackendChoice | Backend | undefined,
  shape: Promise<WorkloadShape>,
): Promise<BackendSelection> {
  shape.catch(() => {}); // only the WebGPU paths wait for it
  if (typeof choice === "object" && choice !== null) {
    const coder = choice.name === "webgpu"
      ? await createWasmBackend({ deterministic: false })
      : choice;
    return { backend: choice, coder, reason: `backend instance "${choice.name}" given` };
  }
  const kind = choice ?? "auto";
  if (!BACKEND_CHOICES.includes(kind)) {
    throw new TypeError(
      `backend must be one of ${BACKEND_CHOICES.map((c) => `"${c}"`).join(", ")} or a Backend, ` +
        `got ${JSON.stringify(kind)}`,
    );
  }
  if (kind === "reference") {
    const ref = createReferenceBackend();
    return { backend: ref, coder: ref, reason: "reference backend requested" };
  }
  const wasm = await createWasmBackend({ deterministic: false });
  const only = (reason: string) => ({ backend: wasm, coder: wasm, reason });
  if (kind === "wasm") return only("WebAssembly backend requested");
  // globalThis.navigator: Node.js 20 has no navigator at all.
  if (!(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) {
    return only("WebGPU is unavailable (no navigator.gpu); using WebAssembly");
  }
  if (kind === "auto" && gpuDeviceNodes() === false) {
    return only(
      "no GPU device under /dev (only a software adapter could exist); using WebAssembly",
    );
  }
  const probe = (async () => {
    try {
      const { selectBackend } = await import("./select.ts");
      return await selectBackend(kind, await shape, wasm);
    } catch (e) {
      return { backend: null, reason: `WebGPU failed to start: ${(e as Error).message}` };
    }
  })();
  if (kind === "auto") {
    return { ...only("WebAssembly; WebGPU is being probed in the background"), upgrade: probe };
  }
  const gpu = await probe;
  if (!gpu.backend) return only(`${gpu.reason}; using WebAssembly`);
  return { backend: gpu.backend, coder: wasm, reason: gpu.reason };
}

/**
 * On Linux, whether a GPU device node exists (`/dev/dri`, `/dev/nvidia*`, `/dev/dxg`, `/dev/kfd`,
 * `/dev/mali*`); null when that cannot be told (another system, no read permission on `/dev`).
 * Without one only a software adapter can exist, so `"auto"` need not open it (~0.5 s of driver
 * start-up that a short process would otherwise wait for at exit).
 */
function gpuDeviceNodes(): boolean | null {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (!deno || deno.build.os !== "linux") return null;
  try {
    if (deno.permissions.querySync({ name: "read", path: "/dev" }).state !== "granted") return null;
    for (const e of deno.readDirSync("/dev")) {
      if (/^(dri|nvidia\d|nvidiactl|dxg|kfd|mali\d)$/.test(e.name)) return true;
    }
    return false;
  } catch {
    return null;
  }
}
