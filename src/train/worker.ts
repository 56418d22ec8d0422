/**
 * Entry point of a training worker (see `WorkerPool` in `pool.ts`): owns one WebAssembly backend
 * (fast or deterministic kernels, as `PoolInit.deterministic` says) and one engine, and answers the pool's messages.
 *
 * @module
 */
import { createWasmBackend } from "../backend/wasm/wasm_backend.ts";
import { TrainEngine } from "./engine.ts";
import { type PoolInit, runWork, type Work } from "./pool.ts";

// deno-lint-ignore no-explicit-any
const self = globalThis as any;
let engine: TrainEngine | null = null;

async function handle(msg: Record<string, unknown>): Promise<[unknown, Transferable[]]> {
  if (msg.type === "init") {
    const init = msg.init as PoolInit;
    const backend = await createWasmBackend({ deterministic: init.deterministic ?? false });
    engine = new TrainEngine(backend, init.config, init.params, {
      rank: init.rank,
      maxRows: init.maxRows,
    });
    return [null, []];
  }
  const e = engine;
  if (!e) throw new Error("Worker not initialised");
  switch (msg.type) {
    case "stage":
      e.setStage(msg.stage as 1 | 2);
      return [null, []];
    case "compute": {
      const r = runWork(e, msg.work as Work);
      return [r, r.grad ? [r.grad.buffer as ArrayBuffer] : []];
    }
    case "update":
      e.applyUpdate(
        msg.grad as Float32Array,
        msg.scale as number,
        msg.lr as number,
        msg.step as number,
        msg.h as never,
      );
      return [null, []];
    case "state": {
      const { m, v } = e.readOptimizer();
      return [{ params: e.readParams(), m, v, merged: e.mergedMatrices() }, []];
    }
    case "load": {
      e.writeParams(msg.params as Map<string, Float32Array>);
      const m = msg.m as Map<string, Float32Array> | undefined;
      const v = msg.v as Map<string, Float32Array> | undefined;
      if (m && v && m.size) e.writeOptimizer(m, v);
      return [null, []];
    }
    case "compress":
      return [(msg.items as Int32Array[]).map((t) => e.compress(t)), []];
    case "close":
      e.free();
      engine = null;
      return [null, []];
  }
  throw new Error(`Unknown message ${String(msg.type)}`);
}

self.onmessage = async (ev: MessageEvent<Record<string, unknown>>) => {
  const id = ev.data.id;
  try {
    const [result, transfer] = await handle(ev.data);
    self.postMessage({ id, ok: true, result }, transfer);
  } catch (err) {
    self.postMessage({
      id,
      ok: false,
      error: err instanceof Error ? err.stack ?? err.message : String(err),
    });
  }
};
