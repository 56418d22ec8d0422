/**
 * The caller's end of the GPU worker: queues commands, sends them in batches, and for a read
 * blocks with `Atomics.wait` until the worker has put the numbers in the shared buffer.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import {
  type Command,
  CTRL_LENGTH,
  CTRL_STATE,
  type FromGpuWorker,
  type GpuInfo,
  type GpuInit,
  type ReadRequest,
  STATE_CLOSED,
  STATE_DONE,
  STATE_PENDING,
  type ToGpuWorker,
} from "./protocol.ts";

/** Commands queued before a batch is sent without waiting. */
const BATCH = 4096;

// Channels still open. A GPU thread still alive when the process exits can crash it (the driver's
// teardown races the exit), so open channels are shut down gracefully when the event loop runs
// dry ("beforeunload": the shutdown keeps it alive until the thread has ended) and, on an
// explicit Deno.exit, at "unload" (the device is destroyed before the process goes).
const open = new Set<GpuChannel>();
let exitHooks = false;
function hookExit(): void {
  if (exitHooks || typeof globalThis.addEventListener !== "function") return;
  exitHooks = true;
  globalThis.addEventListener("beforeunload", () => {
    for (const ch of open) void ch.shutdown();
  });
  globalThis.addEventListener("unload", () => {
    for (const ch of open) ch.closeSync();
  });
}

/** A started GPU worker with its device open. */
export class GpuChannel {
  readonly info: GpuInfo;
  readonly #worker: Worker;
  readonly #ctrl: Int32Array;
  readonly #timeoutMs: number;
  #data: SharedArrayBuffer;
  #newData = false;
  #cmds: Command[] = [];
  #closed = false;

  private constructor(
    worker: Worker,
    ctrl: SharedArrayBuffer,
    data: SharedArrayBuffer,
    info: GpuInfo,
    timeoutMs: number,
  ) {
    this.#worker = worker;
    this.#ctrl = new Int32Array(ctrl);
    this.#data = data;
    this.info = info;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Starts the worker and waits for its device; rejects with the reason when there is none. The
   * worker is a `node:worker_threads` one so it can be unreferenced: an open backend does not
   * keep the process alive.
   */
  static async open(init: GpuInit, timeoutMs: number): Promise<GpuChannel> {
    const worker = new Worker(new URL("./gpu_worker.ts", import.meta.url));
    const ctrl = new SharedArrayBuffer(16);
    const data = new SharedArrayBuffer(1 << 20);
    const ready = new Promise<GpuInfo>((resolve, reject) => {
      worker.on("message", (msg: FromGpuWorker) => {
        if (msg.type === "ready") resolve(msg.info);
        else reject(new Error(`WebGPU is unavailable: ${msg.message}`));
      });
      worker.on("error", (e: Error) => reject(new Error(`WebGPU worker failed: ${e.message}`)));
    });
    worker.postMessage({ type: "init", ctrl, data, init } satisfies ToGpuWorker);
    try {
      const info = await ready;
      worker.unref();
      const ch = new GpuChannel(worker, ctrl, data, info, timeoutMs);
      open.add(ch);
      hookExit();
      return ch;
    } catch (e) {
      void worker.terminate();
      throw e;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Queues a command (a full queue is sent without waiting). */
  push(c: Command): void {
    if (this.#closed) throw new Error("The WebGPU backend was closed");
    this.#cmds.push(c);
    if (this.#cmds.length >= BATCH) this.#post();
  }

  /** Sends the queue with a read and blocks until the worker answers; returns raw words. */
  read(read: ReadRequest): Uint32Array {
    if (this.#closed) throw new Error("The WebGPU backend was closed");
    if (read.length * 4 > this.#data.byteLength) {
      this.#data = new SharedArrayBuffer(Math.max(read.length * 4, 2 * this.#data.byteLength));
      this.#newData = true;
    }
    Atomics.store(this.#ctrl, CTRL_STATE, STATE_PENDING);
    this.#post(read);
    const deadline = performance.now() + this.#timeoutMs;
    while (Atomics.load(this.#ctrl, CTRL_STATE) === STATE_PENDING) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`WebGPU read timed out after ${this.#timeoutMs} ms`);
      Atomics.wait(this.#ctrl, CTRL_STATE, STATE_PENDING, left);
    }
    const n = Atomics.load(this.#ctrl, CTRL_LENGTH);
    if (Atomics.load(this.#ctrl, CTRL_STATE) !== STATE_DONE) {
      const msg = new TextDecoder().decode(new Uint8Array(this.#data).slice(0, n));
      throw new Error(`WebGPU backend: ${msg}`);
    }
    return new Uint32Array(this.#data, 0, n).slice();
  }

  /**
   * Stops the worker gracefully: the device is destroyed and the thread ends by itself (waits at
   * most `ms`, then terminates it).
   */
  async shutdown(ms = 5000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    open.delete(this);
    this.#cmds = [];
    this.#worker.ref(); // the process waits for the thread to end
    const exited = new Promise<void>((resolve) => this.#worker.once("exit", () => resolve()));
    this.#worker.postMessage({ type: "close" } satisfies ToGpuWorker);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), ms));
    if (await Promise.race([exited, late]) === "late") await this.#worker.terminate();
    clearTimeout(timer);
  }

  /** Destroys the device (waits up to `ms` for the worker to confirm), then stops the worker. */
  closeSync(ms = 2000): void {
    if (this.#closed) return;
    Atomics.store(this.#ctrl, CTRL_STATE, STATE_PENDING);
    this.#worker.postMessage({ type: "close" } satisfies ToGpuWorker);
    const deadline = performance.now() + ms;
    while (Atomics.load(this.#ctrl, CTRL_STATE) !== STATE_CLOSED) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      Atomics.wait(this.#ctrl, CTRL_STATE, Atomics.load(this.#ctrl, CTRL_STATE), left);
    }
    this.#kill();
  }

  /** Destroys the device, then stops the worker (as {@link closeSync}). */
  close(): void {
    this.closeSync();
  }

  #kill(): void {
    if (this.#closed) return;
    this.#closed = true;
    open.delete(this);
    this.#cmds = [];
    void this.#worker.terminate();
  }

  #post(read?: ReadRequest): void {
    const msg: ToGpuWorker = { type: "batch", cmds: this.#cmds };
    if (read) msg.read = read;
    if (this.#newData) msg.data = this.#data;
    this.#newData = false;
    this.#cmds = [];
    this.#worker.postMessage(msg);
  }
}
