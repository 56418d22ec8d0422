/**
 * Data-parallel gradient computation. A pool holds one {@link TrainEngine} per worker (or one in
 * this thread); each step's examples are split into contiguous slices, one per worker, each
 * worker sums its slice's gradient in example order, and the pool adds the workers' gradients in
 * worker order. The result depends on the seed and the number of workers, never on timing. Every
 * worker then applies the same AdamW update, so their parameters stay identical.
 *
 * @module
 */
import type { Backend } from "../backend/backend.ts";
import type { ModelConfig } from "../model/config.ts";
import {
  type AdamHyper,
  type LossWeights,
  type MemoryLosses,
  type MemorySample,
  TrainEngine,
} from "./engine.ts";
import type { Stage } from "./params.ts";

/** What a pool's engines are built from. */
export interface PoolInit {
  /** Model shape. */
  config: ModelConfig;
  /** LoRA rank. */
  rank: number;
  /** Every parameter by name. */
  params: Map<string, Float32Array>;
  /** Scratch rows per run. */
  maxRows: number;
  /**
   * Kernels in deterministic mode (multiply, then add: the same bits on every machine) instead
   * of the default fast mode (relaxed fused multiply-add where the engine has it: the same bits
   * run to run on one machine, possibly other bits on another).
   */
  deterministic?: boolean;
}

/** A batch of work: stage-1 sequences or stage-2 samples, each with its gradient weight. */
export type Work =
  | { kind: "lm"; items: Int32Array[]; weights: number[] }
  | { kind: "mem"; items: MemorySample[]; weights: number[]; loss: LossWeights };

/** Losses of each item of a {@link Work}, in item order. */
export type WorkLosses = number[] | MemoryLosses[];

/** A set of engines computing gradients together. */
export interface GradPool {
  /** Number of engines. */
  readonly size: number;
  /** Selects the stage on every engine (gradient and optimizer buffers are reset). */
  setStage(stage: Stage): Promise<void>;
  /**
   * Computes the weighted gradient sum of `work` (weights 0: losses only, gradient null) and
   * each item's losses.
   */
  compute(work: Work): Promise<{ grad: Float32Array | null; losses: WorkLosses }>;
  /** Applies one AdamW step with `grad` × `scale` on every engine. */
  update(grad: Float32Array, scale: number, lr: number, step: number, h: AdamHyper): Promise<void>;
  /** Parameters, optimizer moments and merged matrices (from the first engine). */
  state(): Promise<{
    params: Map<string, Float32Array>;
    m: Map<string, Float32Array>;
    v: Map<string, Float32Array>;
    merged: Map<string, Float32Array>;
  }>;
  /** Overwrites parameters and (for the current stage) optimizer moments on every engine. */
  load(
    params: Map<string, Float32Array>,
    m?: Map<string, Float32Array>,
    v?: Map<string, Float32Array>,
  ): Promise<void>;
  /** Stage-2 compression of each token list (no gradient), from the first engine. */
  compress(items: Int32Array[]): Promise<Float32Array[]>;
  /** Releases the engines (and workers). */
  close(): Promise<void>;
}

/** Runs a slice of work on one engine; shared by the local pool and the worker. */
export function runWork(
  engine: TrainEngine,
  work: Work,
): { grad: Float32Array | null; losses: WorkLosses } {
  const grad = work.weights.some((w) => w !== 0);
  engine.beginStep();
  let losses: WorkLosses;
  if (work.kind === "lm") {
    losses = work.items.map((t, i) => engine.lmLoss(t, work.weights[i]));
  } else {
    // The retrieval term couples the slice's samples: it runs first and hands each span's
    // memory gradient to that sample's memoryLoss.
    const ret = work.loss.ret ?? 0;
    const r = ret > 0 ? engine.retrievalLoss(work.items, work.weights, ret) : null;
    losses = work.items.map((s, i) => {
      const l = engine.memoryLoss(s, work.loss, work.weights[i], r?.dSpan[i]);
      if (r) l.ret = r.losses[i];
      return l;
    });
  }
  return { grad: grad ? engine.gradients() : null, losses };
}

/**
 * Splits `work` into `n` contiguous slices (some may be empty) of about equal cost, so that no
 * worker waits for another: stage-1 sequences cost their length; a stage-2 sample costs its
 * span three times (compressed, reconstructed, compressed again by the cycle term) plus the
 * tokens that follow it. Slices stay in item order, so the result is deterministic.
 *
 * @example
 * ```ts
 * import { splitWork } from "./pool.ts";
 * const t = (n: number) => new Int32Array(n);
 * const parts = splitWork({ kind: "lm", items: [t(30), t(10), t(10), t(10)], weights: [1, 1, 1, 1] }, 2);
 * console.log(parts.map((p) => p.items.length)); // [ 1, 3 ]
 * ```
 */
export function splitWork(work: Work, n: number): Work[] {
  const cost = work.kind === "lm"
    ? work.items.map((t) => t.length)
    : work.items.map((s) => 3 * s.span.length + s.next.length);
  const total = cost.reduce((x, c) => x + c, 0);
  const out: Work[] = [];
  let a = 0, acc = 0;
  for (let i = 0; i < n; i++) {
    // End this slice where its share of the total cost is best met.
    let b = a;
    const target = (total * (i + 1)) / n;
    while (
      b < cost.length && (i === n - 1 || Math.abs(acc + cost[b] - target) <= Math.abs(acc - target))
    ) {
      acc += cost[b++];
    }
    if (work.kind === "lm") {
      out.push({ kind: "lm", items: work.items.slice(a, b), weights: work.weights.slice(a, b) });
    } else {
      out.push({
        kind: "mem",
        items: work.items.slice(a, b),
        weights: work.weights.slice(a, b),
        loss: work.loss,
      });
    }
    a = b;
  }
  return out;
}

/** Adds gradients in the given order (f32, element by element). */
export function sumGradients(parts: (Float32Array | null)[]): Float32Array | null {
  let out: Float32Array | null = null;
  for (const g of parts) {
    if (!g) continue;
    if (!out) out = g.slice();
    else for (let i = 0; i < out.length; i++) out[i] += g[i];
  }
  return out;
}

/**
 * A pool of one engine in this thread: the single-threaded trainer, and the reference the worker
 * pool is tested against.
 *
 * @example
 * ```ts
 * import { createReferenceBackend } from "../backend/reference.ts";
 * import { initParams } from "./params.ts";
 * import { LocalPool } from "./pool.ts";
 * const config = { vocabSize: 270, dim: 8, layers: 1, heads: 2, ffnDim: 16, memorySlots: 2,
 *   segmentTokens: 4, window: 8, ropeTheta: 10000, normEps: 1e-5 };
 * const pool = new LocalPool(createReferenceBackend(),
 *   { config, rank: 2, params: initParams(config, 2, 1), maxRows: 16 });
 * await pool.setStage(1);
 * const { losses } = await pool.compute({ kind: "lm", items: [new Int32Array([65, 66])], weights: [0] });
 * console.log(losses.length); // 1
 * await pool.close();
 * ```
 */
export class LocalPool implements GradPool {
  /** Always 1. */
  readonly size = 1;
  /** The engine. */
  readonly engine: TrainEngine;

  /** Builds the engine on `backend`. */
  constructor(backend: Backend, init: PoolInit) {
    this.engine = new TrainEngine(backend, init.config, init.params, {
      rank: init.rank,
      maxRows: init.maxRows,
    });
  }
  setStage(stage: Stage): Promise<void> {
    this.engine.setStage(stage);
    return Promise.resolve();
  }
  compute(work: Work): Promise<{ grad: Float32Array | null; losses: WorkLosses }> {
    return Promise.resolve(runWork(this.engine, work));
  }
  update(grad: Float32Array, scale: number, lr: number, step: number, h: AdamHyper): Promise<void> {
    this.engine.applyUpdate(grad, scale, lr, step, h);
    return Promise.resolve();
  }
  state() {
    const { m, v } = this.engine.readOptimizer();
    return Promise.resolve({
      params: this.engine.readParams(),
      m,
      v,
      merged: this.engine.mergedMatrices(),
    });
  }
  load(
    params: Map<string, Float32Array>,
    m?: Map<string, Float32Array>,
    v?: Map<string, Float32Array>,
  ): Promise<void> {
    this.engine.writeParams(params);
    if (m && v && m.size) this.engine.writeOptimizer(m, v);
    return Promise.resolve();
  }
  compress(items: Int32Array[]): Promise<Float32Array[]> {
    return Promise.resolve(items.map((t) => this.engine.compress(t)));
  }
  close(): Promise<void> {
    this.engine.free();
    return Promise.resolve();
  }
}

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/**
 * A pool of Deno workers (`worker.ts`), each with its own WebAssembly backend.
 */
export class WorkerPool implements GradPool {
  /** Number of workers. */
  readonly size: number;
  #workers: Worker[];
  #next = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(workers: Worker[]) {
    this.size = workers.length;
    this.#workers = workers;
    for (const w of workers) {
      w.onmessage = (e: MessageEvent<Reply>) => {
        const p = this.#pending.get(e.data.id);
        if (!p) return;
        this.#pending.delete(e.data.id);
        if (e.data.ok) p.resolve(e.data.result);
        else p.reject(new Error(`Training worker failed: ${e.data.error}`));
      };
      w.onerror = (e) => {
        e.preventDefault();
        for (const p of this.#pending.values()) {
          p.reject(new Error(`Training worker crashed: ${e.message}`));
        }
        this.#pending.clear();
      };
    }
  }

  /** Starts `n` workers and builds an engine in each. */
  static async create(n: number, init: PoolInit): Promise<WorkerPool> {
    const url = new URL("./worker.ts", import.meta.url);
    const workers = Array.from({ length: n }, () => new Worker(url.href, { type: "module" }));
    const pool = new WorkerPool(workers);
    await Promise.all(workers.map((_, i) => pool.#call(i, { type: "init", init })));
    return pool;
  }

  #call(i: number, msg: Record<string, unknown>, transfer: Transferable[] = []): Promise<unknown> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#workers[i].postMessage({ ...msg, id }, transfer);
    });
  }

  #all(msg: Record<string, unknown>): Promise<unknown[]> {
    return Promise.all(this.#workers.map((_, i) => this.#call(i, msg)));
  }

  async setStage(stage: Stage): Promise<void> {
    await this.#all({ type: "stage", stage });
  }

  async compute(work: Work): Promise<{ grad: Float32Array | null; losses: WorkLosses }> {
    const parts = splitWork(work, this.size);
    const results = await Promise.all(
      parts.map((p, i) => this.#call(i, { type: "compute", work: p })),
    ) as { grad: Float32Array | null; losses: WorkLosses }[];
    const losses = results.flatMap((r) => r.losses as unknown[]) as WorkLosses;
    return { grad: sumGradients(results.map((r) => r.grad)), losses };
  }

  async update(
    grad: Float32Array,
    scale: number,
    lr: number,
    step: number,
    h: AdamHyper,
  ): Promise<void> {
    await this.#all({ type: "update", grad, scale, lr, step, h });
  }

  async state() {
    return await this.#call(0, { type: "state" }) as {
      params: Map<string, Float32Array>;
      m: Map<string, Float32Array>;
      v: Map<string, Float32Array>;
      merged: Map<string, Float32Array>;
    };
  }

  async load(
    params: Map<string, Float32Array>,
    m?: Map<string, Float32Array>,
    v?: Map<string, Float32Array>,
  ): Promise<void> {
    await this.#all({ type: "load", params, m, v });
  }

  async compress(items: Int32Array[]): Promise<Float32Array[]> {
    return await this.#call(0, { type: "compress", items }) as Float32Array[];
  }

  async close(): Promise<void> {
    try {
      await this.#all({ type: "close" });
    } finally {
      for (const w of this.#workers) w.terminate();
    }
  }
}
