/**
 * A pool of Deno `Worker`s, each with its own copy of the model, fed from one queue: inference
 * never blocks the thread that answers requests. Errors come back typed: the library's
 * (`InputError`, `FormatError`…) as they were thrown in the worker, the pool's own as
 * `PoolError`.
 *
 * @module
 */
import type {
  Compressed,
  Engine,
  EngineCompressOptions,
  EngineJobOptions,
  EngineReconstructOptions,
} from "./engine.ts";
import { PoolError } from "./errors.ts";
import type { AppendedTurn } from "./conversation_engine.ts";
import { JobQueue, LARGE_JOB_BYTES, LARGE_JOB_CHARS } from "./job_queue.ts";
import type { BackendChoice } from "../backend/webgpu/choose.ts";
import { fromWire, type FromWorker, type JobRequest, type ToWorker } from "./worker_protocol.ts";

/** Options of {@link WorkerPool.create}. */
export interface WorkerPoolOptions {
  /** The weights: a URL (string or `URL`) or the file's bytes. */
  weights: URL | string | Uint8Array;
  /** Number of workers (default: the number of cores). */
  size?: number;
  /** Backend of the workers' models (default wasm). */
  backend?: BackendChoice;
  /** Jobs that may wait for a worker before new ones are refused (default 256). */
  maxQueue?: number;
  /**
   * Workers that may run large jobs at once (`./job_queue.ts`; default all but one, at least
   * one): the others stay free for small requests.
   */
  maxLarge?: number;
}

interface Job {
  id: number;
  request: JobRequest;
  large: boolean;
  onPiece?: (text: string) => void;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface Slot {
  worker: Worker;
  job?: Job;
}

const WORKER_URL = new URL("./worker.ts", import.meta.url);

/**
 * The worker pool: an {@link Engine} whose work runs in `Worker`s.
 *
 * @example
 * ```ts
 * import { WorkerPool } from "./worker_pool.ts";
 * import { buildRandomModel } from "../model/random_model.ts";
 * const pool = await WorkerPool.create({ weights: await buildRandomModel(), size: 1 });
 * try {
 *   const { bytes, stats } = await pool.compress("Off the main thread.");
 *   let text = "";
 *   for await (const piece of pool.reconstruct(bytes)) text += piece;
 *   console.log(stats.bytes === bytes.length, text); // true "Off the main thread."
 * } finally {
 *   await pool.close();
 * }
 * ```
 */
export class WorkerPool implements Engine {
  /** Fingerprint of the model's weights. */
  readonly fingerprint: string;
  /** Name of the backend the workers run. */
  readonly backend: string;
  readonly #options: WorkerPoolOptions;
  readonly #slots: Slot[];
  readonly #queue = new JobQueue<Job>();
  readonly #maxQueue: number;
  readonly #maxLarge: number;
  #nextId = 1;
  #closed = false;

  private constructor(options: WorkerPoolOptions, slots: Slot[], ready: ReadyInfo) {
    this.#options = options;
    this.#slots = slots;
    this.#maxQueue = options.maxQueue ?? 256;
    this.#maxLarge = options.maxLarge ?? Math.max(1, slots.length - 1);
    this.fingerprint = ready.fingerprint;
    this.backend = ready.backend;
    for (const slot of slots) this.#listen(slot);
  }

  /**
   * Starts the workers and waits until each has loaded the model.
   *
   * @param options Weights, size, backend, queue bound.
   * @returns The ready pool.
   * @throws {R3MemError} When the weights cannot be loaded (damaged, missing…).
   */
  static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
    const size = options.size ?? Math.max(1, navigator.hardwareConcurrency ?? 1);
    const started = await Promise.allSettled(
      Array.from({ length: size }, () => startWorker(options)),
    );
    const failed = started.find((s) => s.status === "rejected");
    if (failed) {
      for (const s of started) if (s.status === "fulfilled") s.value.worker.terminate();
      throw (failed as PromiseRejectedResult).reason;
    }
    const ok = started as PromiseFulfilledResult<{ worker: Worker; ready: ReadyInfo }>[];
    return new WorkerPool(options, ok.map((s) => ({ worker: s.value.worker })), ok[0].value.ready);
  }

  /** Number of workers. */
  get size(): number {
    return this.#slots.length;
  }

  /** Workers running a job now (a worker starting in place of an ended one is not). */
  get busy(): number {
    return this.#slots.filter((s) => s.job && s.job !== PLACEHOLDER_JOB).length;
  }

  /** Jobs waiting for a worker. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Compresses text in a worker. */
  async compress(text: string, options: EngineCompressOptions = {}): Promise<Compressed> {
    const value = await this.#submit({
      op: "compress",
      text,
      lossless: options.lossless ?? true,
      slots: options.slots,
      refine: options.refine,
    }, { signal: options.signal });
    return value as Compressed;
  }

  /** Reconstructs `.r3m` bytes in a worker, piece by piece; ending early cancels the job. */
  async *reconstruct(
    bytes: Uint8Array,
    options: EngineReconstructOptions = {},
  ): AsyncGenerator<string, void, undefined> {
    const pieces: string[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    let failure: { error: unknown } | undefined;
    let id = 0;
    const finished = this.#submit(
      { op: "reconstruct", bytes, node: options.node ?? 0 },
      {
        signal: options.signal,
        onPiece: (text) => {
          pieces.push(text);
          wake?.();
        },
        onId: (jobId) => (id = jobId),
      },
    ).then(
      () => (done = true),
      (error) => (failure = { error }),
    ).finally(() => wake?.());
    try {
      while (true) {
        if (pieces.length) {
          yield pieces.shift()!;
          continue;
        }
        if (failure) throw failure.error;
        if (done) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      if (!done && !failure) {
        this.#cancel(id);
        await finished;
      }
    }
  }

  /** The unit search key of a query, computed in a worker. */
  async queryKey(query: string, options: EngineJobOptions = {}): Promise<Float32Array> {
    return await this.#submit({ op: "query_key", query }, options) as Float32Array;
  }

  /** The stats, keys and term counts of `.r3m` bytes, computed in a worker. */
  async index(bytes: Uint8Array, options: EngineJobOptions = {}): Promise<Compressed> {
    return await this.#submit({ op: "index", bytes }, options) as Compressed;
  }

  /** Appends a conversation turn in a worker (`./conversation_engine.ts`). */
  async append(
    state: Uint8Array | null,
    text: string,
    options: EngineJobOptions = {},
  ): Promise<AppendedTurn> {
    return await this.#submit({ op: "append", state, text }, options) as AppendedTurn;
  }

  /** Terminates the workers; waiting and running jobs fail with `PoolError("closed")`. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const err = () => new PoolError("closed", "The server is shutting down");
    for (const job of this.#queue.drain()) job.reject(err());
    for (const slot of this.#slots) {
      slot.job?.reject(err());
      slot.job = undefined;
      slot.worker.terminate();
    }
    return Promise.resolve();
  }

  #submit(
    request: JobRequest,
    options: {
      signal?: AbortSignal;
      onPiece?: (text: string) => void;
      onId?: (id: number) => void;
    } = {},
  ): Promise<unknown> {
    const { signal, onPiece, onId } = options;
    if (this.#closed) return Promise.reject(new PoolError("closed", "The pool is closed"));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.#queue.length >= this.#maxQueue) {
      return Promise.reject(
        new PoolError("overloaded", `Server is busy: ${this.#queue.length} jobs are waiting`),
      );
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => this.#abort(job, abortError(signal!));
      const job: Job = {
        id: this.#nextId++,
        request,
        large: isLarge(request),
        onPiece,
        resolve: (v) => (signal?.removeEventListener("abort", onAbort), resolve(v)),
        reject: (e) => (signal?.removeEventListener("abort", onAbort), reject(e)),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      onId?.(job.id);
      this.#queue.push(job);
      this.#dispatch();
    });
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (slot.job) continue;
      const large = this.#slots.filter((s) => s.job?.large).length;
      const job = this.#queue.take(large < this.#maxLarge);
      if (!job) return;
      slot.job = job;
      slot.worker.postMessage({ type: "job", id: job.id, job: job.request } satisfies ToWorker);
    }
  }

  #cancel(id: number): void {
    const slot = this.#slots.find((s) => s.job?.id === id);
    if (!slot) {
      const waiting = this.#queue.drain();
      for (const job of waiting) {
        if (job.id === id) job.reject(new PoolError("cancelled", "Cancelled"));
        else this.#queue.push(job);
      }
      return;
    }
    slot.worker.postMessage({ type: "cancel", id } satisfies ToWorker);
  }

  // The job's deadline passed (or its client left): a waiting job is dropped; a running one is
  // stopped by ending its worker (inference does not yield), which a fresh worker replaces.
  #abort(job: Job, error: Error): void {
    if (this.#queue.remove(job)) return job.reject(error);
    const slot = this.#slots.find((s) => s.job === job);
    if (!slot) return;
    slot.job = undefined;
    job.reject(error);
    this.#replace(slot, error.message);
  }

  #listen(slot: Slot): void {
    slot.worker.onmessage = (e: MessageEvent<FromWorker>) => {
      const msg = e.data;
      const job = slot.job;
      if (!job || !("id" in msg) || msg.id !== job.id) return;
      if (msg.type === "piece") return job.onPiece?.(msg.text);
      slot.job = undefined;
      if (msg.type === "result") job.resolve(msg.value);
      else job.reject(fromWire(msg.error));
      this.#dispatch();
    };
    slot.worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#replace(slot, `Worker failed: ${e.message}`);
    };
  }

  // A worker died (uncaught error, out of memory): fail its job, start a new one in its place.
  #replace(slot: Slot, message: string): void {
    slot.job?.reject(new PoolError("worker_failed", message));
    slot.job = undefined;
    slot.worker.terminate();
    if (this.#closed) return;
    const index = this.#slots.indexOf(slot);
    // Until the new worker is ready, the slot looks busy so no job is sent to it.
    const placeholder: Slot = { worker: slot.worker, job: PLACEHOLDER_JOB };
    this.#slots[index] = placeholder;
    startWorker(this.#options).then(
      ({ worker }) => {
        if (this.#closed) return worker.terminate();
        const fresh: Slot = { worker };
        this.#slots[index] = fresh;
        this.#listen(fresh);
        this.#dispatch();
      },
      (err) => console.error("r3mem: could not restart a worker:", err),
    );
  }
}

const PLACEHOLDER_JOB: Job = {
  id: -1,
  large: false,
  request: { op: "query_key", query: "" },
  resolve: () => {},
  reject: () => {},
};

interface ReadyInfo {
  fingerprint: string;
  backend: string;
}

function startWorker(options: WorkerPoolOptions): Promise<{ worker: Worker; ready: ReadyInfo }> {
  const worker = new Worker(WORKER_URL, { type: "module" });
  return new Promise((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      const msg = e.data;
      if (msg.type === "ready") {
        resolve({ worker, ready: { fingerprint: msg.fingerprint, backend: msg.backend } });
      } else if (msg.type === "init_error") {
        worker.terminate();
        reject(fromWire(msg.error));
      }
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      worker.terminate();
      reject(new PoolError("worker_failed", `Worker failed to start: ${e.message}`));
    };
    const weights = options.weights instanceof URL ? options.weights.href : options.weights;
    worker.postMessage({ type: "init", weights, backend: options.backend } satisfies ToWorker);
  });
}

function isLarge(request: JobRequest): boolean {
  if ("bytes" in request) return request.bytes.length >= LARGE_JOB_BYTES;
  if ("text" in request) return request.text.length >= LARGE_JOB_CHARS;
  return false;
}

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  if (reason instanceof PoolError) return reason;
  if (reason instanceof DOMException && reason.name === "TimeoutError") {
    return new PoolError("deadline", "The request's deadline passed; its job was cancelled");
  }
  return new PoolError("cancelled", "The request was cancelled");
}
