/**
 * Files the trainer writes, all in the runtime's weights format (`src/model/weights_format.ts`):
 *
 * - the **model** (`r3mem.r3w`): exactly the tensors the runtime loads (`tensorShapes`), with
 *   each direction's matrices merged (`W + B·A`) and stored int8 with per-row scales; norms,
 *   `type_embed`, `mem_init` and `mem_fresh` stay f32;
 * - the **master** (`master.r3w`): the same runtime tensors in f32 (so the runtime can load it
 *   too) plus the trainer's own tensors under their names (`base.*`, `lora.*`, …), for
 *   fine-tuning;
 * - a **checkpoint**: the master plus the optimizer's moments (`opt.m.*`, `opt.v.*`) and the
 *   loop state (step, random state, schedule) in the header's `train` key, for `--resume`.
 *
 * @module
 */
import type { ModelConfig } from "../model/config.ts";
import { parseConfig } from "../model/config.ts";
import { tensorShapes } from "../model/weights.ts";
import {
  type NamedTensor,
  quantizeRowsInt8,
  readWeights,
  type Tensor,
  writeWeights,
} from "../model/weights_format.ts";
import { paramSpecs } from "./params.ts";

/** What wrote the files. */
export const CREATED_BY = "r3mem tools/train.ts 0.1.0";

/** Everything needed to write a model, master or checkpoint file. */
export interface ModelFileInput {
  /** Model shape. */
  config: ModelConfig;
  /** LoRA rank of the adapters. */
  rank: number;
  /** Tokenizer bytes (`Tokenizer.toBytes()`). */
  tokenizer: Uint8Array;
  /** Every trainer parameter by name (see `paramSpecs`). */
  params: Map<string, Float32Array>;
  /** Each direction's merged matrices `{dir}.blocks.{l}.{w}` (f32). */
  merged: Map<string, Float32Array>;
  /** Free metadata for the header. */
  metadata?: Record<string, unknown>;
}

/**
 * The runtime's tensors in file order: `embed` is `base.embed`, the direction norms and memory
 * tensors are the trainer's, matrices are the merged ones. With `int8`, matrices and the
 * embedding are quantized per row.
 */
export function runtimeTensors(input: ModelFileInput, int8: boolean): NamedTensor[] {
  const out: NamedTensor[] = [];
  for (const [name, shape] of tensorShapes(input.config)) {
    const data = name === "embed"
      ? input.params.get("base.embed")
      : input.merged.get(name) ?? input.params.get(name);
    if (!data) throw new RangeError(`No value for runtime tensor ${name}`);
    if (int8 && shape.length === 2 && name !== "type_embed" && !name.startsWith("mem_")) {
      const { q, scales } = quantizeRowsInt8(data, shape[0], shape[1]);
      out.push({ name, dtype: "i8", shape, data: q, scales });
    } else out.push({ name, dtype: "f32", shape, data });
  }
  return out;
}

/**
 * Writes the runtime model file: int8 matrices, f32 norms and memory tensors.
 *
 * @returns The file's bytes.
 */
export async function writeModelFile(input: ModelFileInput): Promise<Uint8Array> {
  return await writeWeights({
    config: { ...input.config },
    tokenizer: input.tokenizer,
    tensors: runtimeTensors(input, true),
    createdBy: CREATED_BY,
    metadata: input.metadata,
  });
}

/** Optimizer moments and loop state of a checkpoint. */
export interface CheckpointExtra {
  /** First moments by parameter name (the stage's trainable parameters). */
  m: Map<string, Float32Array>;
  /** Second moments. */
  v: Map<string, Float32Array>;
  /** Loop state (JSON). */
  state: Record<string, unknown>;
}

/**
 * Writes the f32 master (and, with `extra`, a checkpoint): the runtime tensors in f32 plus every
 * trainer parameter under its own name.
 */
export async function writeMasterFile(
  input: ModelFileInput,
  extra?: CheckpointExtra,
): Promise<Uint8Array> {
  const tensors = runtimeTensors(input, false);
  const have = new Set(tensors.map((t) => t.name));
  for (const spec of paramSpecs(input.config, input.rank)) {
    if (have.has(spec.name)) continue;
    tensors.push({
      name: spec.name,
      dtype: "f32",
      shape: spec.shape,
      data: input.params.get(spec.name)!,
    });
  }
  if (extra) {
    for (const [k, d] of extra.m) {
      tensors.push({ name: `opt.m.${k}`, dtype: "f32", shape: [d.length], data: d });
    }
    for (const [k, d] of extra.v) {
      tensors.push({ name: `opt.v.${k}`, dtype: "f32", shape: [d.length], data: d });
    }
  }
  return await writeWeights({
    config: { ...input.config },
    tokenizer: input.tokenizer,
    tensors,
    createdBy: CREATED_BY,
    metadata: { ...input.metadata, train: { rank: input.rank, ...(extra?.state ?? {}) } },
  });
}

/** A master or checkpoint file read back. */
export interface LoadedMaster {
  /** Model shape. */
  config: ModelConfig;
  /** LoRA rank. */
  rank: number;
  /** Tokenizer bytes. */
  tokenizer: Uint8Array;
  /** Every trainer parameter. */
  params: Map<string, Float32Array>;
  /** Optimizer moments, when the file is a checkpoint. */
  m: Map<string, Float32Array>;
  /** Second moments. */
  v: Map<string, Float32Array>;
  /** The header's `train` key (loop state). */
  state: Record<string, unknown>;
  /** All free metadata. */
  metadata: Record<string, unknown>;
}

function f32Of(t: Tensor): Float32Array {
  if (t.dtype !== "f32") throw new RangeError("Master tensors must be f32");
  return t.data.slice();
}

/**
 * Reads a master or checkpoint file written by {@link writeMasterFile}.
 *
 * @throws {RangeError} When a trainer tensor is missing (e.g. a runtime-only model file).
 */
export async function readMasterFile(bytes: Uint8Array): Promise<LoadedMaster> {
  const file = await readWeights(bytes);
  const config = parseConfig(file.config);
  const train = (file.metadata.train ?? {}) as Record<string, unknown>;
  const rank = Number(train.rank);
  if (!Number.isInteger(rank) || rank < 1) {
    throw new RangeError("Not a trainer master file (no train.rank in its header)");
  }
  const params = new Map<string, Float32Array>();
  for (const spec of paramSpecs(config, rank)) {
    const t = file.tensors.get(spec.name) ??
      (spec.name === "base.embed" ? file.tensors.get("embed") : undefined);
    if (!t) throw new RangeError(`Master file lacks tensor ${spec.name}`);
    params.set(spec.name, f32Of(t));
  }
  const m = new Map<string, Float32Array>(), v = new Map<string, Float32Array>();
  for (const [name, t] of file.tensors) {
    if (name.startsWith("opt.m.")) m.set(name.slice(6), f32Of(t));
    else if (name.startsWith("opt.v.")) v.set(name.slice(6), f32Of(t));
  }
  return {
    config,
    rank,
    tokenizer: file.tokenizerBytes.slice(),
    params,
    m,
    v,
    state: train,
    metadata: file.metadata,
  };
}
