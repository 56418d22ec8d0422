/**
 * The GPU worker's entry point: opens the device on `init`, then runs batches in arrival order
 * and answers reads (and errors) through the shared buffer the caller waits on.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { openDevice } from "./gpu_runtime.ts";
import type { GpuRuntime } from "./gpu_runtime.ts";
import {
  CTRL_LENGTH,
  CTRL_STATE,
  type FromGpuWorker,
  STATE_CLOSED,
  STATE_DONE,
  STATE_ERROR,
  type ToGpuWorker,
} from "./protocol.ts";

let runtime: GpuRuntime | null = null;
let ctrl: Int32Array | null = null;
let data: SharedArrayBuffer | null = null;
let sticky: string | null = null; // an error of a batch nobody waited for, told at the next read
let chain: Promise<void> = Promise.resolve();

function post(msg: FromGpuWorker): void {
  parentPort!.postMessage(msg);
}

function answer(state: number, length: number): void {
  Atomics.store(ctrl!, CTRL_LENGTH, length);
  Atomics.store(ctrl!, CTRL_STATE, state);
  Atomics.notify(ctrl!, CTRL_STATE);
}

function fail(message: string): void {
  const bytes = new TextEncoder().encode(message).subarray(0, data!.byteLength);
  new Uint8Array(data!).set(bytes);
  answer(STATE_ERROR, bytes.length);
}

async function batch(msg: Extract<ToGpuWorker, { type: "batch" }>): Promise<void> {
  if (msg.data) data = msg.data;
  try {
    if (!runtime) throw new Error("The GPU worker has no device");
    if (sticky) throw new Error(sticky);
    const words = await runtime.run(msg.cmds, msg.read);
    if (msg.read) {
      new Uint32Array(data!).set(words!);
      answer(STATE_DONE, words!.length);
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (msg.read) {
      sticky = null;
      fail(message);
    } else sticky ??= message;
  }
}

parentPort!.on("message", (msg: ToGpuWorker) => {
  if (msg.type === "init") {
    ctrl = new Int32Array(msg.ctrl);
    data = msg.data;
    chain = chain.then(async () => {
      try {
        const opened = await openDevice(msg.init);
        if ("reason" in opened) return post({ type: "init_error", message: opened.reason });
        runtime = opened.runtime;
        post({ type: "ready", info: opened.info });
      } catch (err) {
        post({ type: "init_error", message: err instanceof Error ? err.message : String(err) });
      }
    });
  } else if (msg.type === "close") {
    // Destroy the device and let the thread end by itself: a thread killed while the driver
    // tears down (or starts up) can crash the process at exit.
    chain = chain.then(() => {
      runtime?.device.destroy();
      runtime = null;
      if (ctrl) answer(STATE_CLOSED, 0);
      (globalThis as { close?: () => void }).close?.(); // a Deno worker's own exit
    });
  } else {
    chain = chain.then(() => batch(msg));
  }
});
