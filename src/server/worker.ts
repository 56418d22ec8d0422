/**
 * The worker script of the pool (`./worker_pool.ts`): loads the model once, then runs one job
 * at a time and posts the result, the streamed pieces, or a typed error back.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { R3MemError } from "../errors.ts";
import { R3Mem } from "../r3mem.ts";
import { compressToBytes, indexBytes, reconstructBytes } from "./engine.ts";
import { appendToBytes } from "./conversation_engine.ts";
import type { FromWorker, JobRequest, ToWorker, WireError } from "./worker_protocol.ts";

let model: R3Mem | undefined;
let current = -1;
let cancelled = false;

function post(msg: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(msg, transfer);
}

function toWire(e: unknown): WireError {
  if (e instanceof R3MemError) return { code: e.code, message: e.message };
  return { code: "internal", message: e instanceof Error ? e.message : String(e) };
}

async function run(id: number, job: JobRequest, r3: R3Mem): Promise<void> {
  switch (job.op) {
    case "compress": {
      const c = await compressToBytes(r3, job.text, {
        lossless: job.lossless,
        slots: job.slots,
        refine: job.refine,
      });
      return post({ type: "result", id, value: c }, [
        c.bytes.buffer as ArrayBuffer,
        c.keys.keys.buffer as ArrayBuffer,
      ]);
    }
    case "index": {
      const c = indexBytes(r3, job.bytes);
      return post({ type: "result", id, value: c }, [c.keys.keys.buffer as ArrayBuffer]);
    }
    case "append": {
      const t = await appendToBytes(r3, job.state, job.text);
      return post({ type: "result", id, value: t }, [
        t.state.buffer as ArrayBuffer,
        t.turn.buffer as ArrayBuffer,
      ]);
    }
    case "query_key": {
      const key = r3.queryKey(job.query);
      return post({ type: "result", id, value: key }, [key.buffer as ArrayBuffer]);
    }
    case "reconstruct": {
      for await (const text of reconstructBytes(r3, job.bytes, { node: job.node })) {
        if (cancelled) {
          return post({ type: "error", id, error: { code: "cancelled", message: "Cancelled" } });
        }
        post({ type: "piece", id, text });
      }
      return post({ type: "result", id, value: null });
    }
  }
}

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  if (msg.type === "init") {
    try {
      const weights = typeof msg.weights === "string" ? new URL(msg.weights) : msg.weights;
      model = await R3Mem.load({ weights, backend: msg.backend });
      // With "auto", /healthz reports the backend chosen once the WebGPU probe is over.
      const backend = await model.backendChosen;
      post({ type: "ready", fingerprint: model.fingerprint, backend });
    } catch (err) {
      post({ type: "init_error", error: toWire(err) });
    }
  } else if (msg.type === "cancel") {
    if (msg.id === current) cancelled = true;
  } else if (msg.type === "job") {
    current = msg.id;
    cancelled = false;
    try {
      if (!model) throw new Error("The worker has no model");
      await run(msg.id, msg.job, model);
    } catch (err) {
      post({ type: "error", id: msg.id, error: toWire(err) });
    } finally {
      current = -1;
    }
  }
};
