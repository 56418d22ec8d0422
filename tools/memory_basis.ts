/**
 * Builds a model's memory basis (`.r3b`, `docs/FORMAT.md` "Memory basis"): the principal
 * components of the memories the model writes for sample text from the training split, which
 * compact memories (`slots: "code"`, the default) store their document memory in.
 *
 * ```
 * deno run -A tools/memory_basis.ts [--weights weights/r3mem-default.r3w] [--corpus .corpus]
 *   [--out PATH] [--components 64] [--samples 2400]
 * ```
 *
 * The output goes beside the weights (`….r3w` → `….r3b`), where `R3Mem.load` looks for it.
 * Deterministic: the same weights and training split give the same file. Samples: from every
 * third training document, two paragraphs (under 1500 characters: message-sized memories) and
 * one 1 KB prefix of the document (a memory chained over several segments), until `--samples`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { R3Mem } from "../src/r3mem.ts";
import { fitMemoryBasis, type MemoryBasis } from "../src/codec/memory_basis.ts";
import { loadWeightsFrom } from "../src/model/weights_format.ts";
import { ReversibleTransformer } from "../src/model/transformer.ts";
import { uploadWeights } from "../src/model/weights.ts";
import { createWasmBackend } from "../src/backend/wasm/wasm_backend.ts";
import { readCorpusDocuments } from "./corpus.ts";

/**
 * Memories of `texts` as `compress` computes a node's memory (recurrently, segment by segment,
 * from the learned initial memory), f32.
 *
 * @param weights The weights file.
 * @param texts Sample texts.
 * @returns One memory per non-empty text.
 */
export async function sampleMemories(
  weights: Uint8Array,
  texts: Iterable<string>,
): Promise<{ fingerprint: string; slotCount: number; dim: number; memories: Float32Array[] }> {
  const backend = await createWasmBackend({ deterministic: false });
  const r3 = await R3Mem.load({ weights, backend, basis: null });
  const file = await loadWeightsFrom(weights);
  const model = new ReversibleTransformer(
    backend,
    r3.config,
    uploadWeights(backend, r3.config, file.tensors),
  );
  const T = r3.config.segmentTokens;
  const memories: Float32Array[] = [];
  for (const text of texts) {
    const ids = Array.from(r3.tokenizer.encode(text));
    if (ids.length === 0) continue;
    let memory = model.memInit;
    for (let i = 0; i < ids.length; i += T) {
      memory = model.compressSegment(memory, ids.slice(i, i + T));
    }
    memories.push(memory);
  }
  return {
    fingerprint: r3.fingerprint,
    slotCount: r3.config.memorySlots,
    dim: r3.config.dim,
    memories,
  };
}

/**
 * Sample texts of the training split for a basis: from every third document, two paragraphs
 * under 1500 characters and its first 1 KB, until `samples`.
 *
 * @param trainPath The corpus' `train.txt`.
 * @param samples How many texts.
 *
 * @example
 * ```ts ignore
 * import { sampleTexts } from "./memory_basis.ts";
 * const texts = await Array.fromAsync(sampleTexts(".corpus/train.txt", 10));
 * console.log(texts.length); // 10
 * ```
 */
export async function* sampleTexts(
  trainPath: string,
  samples: number,
): AsyncGenerator<string> {
  let docIndex = 0, produced = 0;
  for await (const doc of readCorpusDocuments(trainPath)) {
    if (docIndex++ % 3 !== 0) continue;
    const paragraphs = doc.text.split(/\n[ \t]*\n/).filter((p) => p.trim() && p.length < 1500);
    for (let i = 0; i < 2 && i < paragraphs.length; i++) {
      yield paragraphs[(i * 7) % paragraphs.length];
      if (++produced >= samples) return;
    }
    yield doc.text.slice(0, 1024);
    if (++produced >= samples) return;
  }
}

// Share of the memories' variance along the first 8, 16, 32, 64 … components.
function explained(memories: Float32Array[], basis: MemoryBasis): string {
  const n = memories.length, sd = memories[0].length;
  const mean = new Float64Array(sd);
  for (const m of memories) for (let i = 0; i < sd; i++) mean[i] += m[i] / n;
  let total = 0;
  for (const m of memories) for (let i = 0; i < sd; i++) total += (m[i] - mean[i]) ** 2 / n;
  const sigma = basis.sigmas();
  const parts: string[] = [];
  let sum = 0;
  sigma.forEach((s, r) => {
    sum += s * s;
    if ([8, 16, 32, 64, 128].includes(r + 1) || r + 1 === sigma.length) {
      parts.push(`${r + 1}: ${(sum / total).toFixed(3)}`);
    }
  });
  return `variance explained by the first components ${parts.join(", ")}`;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      weights: { type: "string", default: "weights/r3mem-default.r3w" },
      corpus: { type: "string", default: ".corpus" },
      out: { type: "string" },
      components: { type: "string", default: "64" },
      samples: { type: "string", default: "2400" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(
      "Usage: deno run -A tools/memory_basis.ts [--weights PATH] [--corpus DIR] [--out PATH] " +
        "[--components 64] [--samples 2400]",
    );
    return 0;
  }
  const components = Number(values.components), samples = Number(values.samples);
  if (!Number.isInteger(components) || !Number.isInteger(samples) || samples < 2) {
    console.error("error: --components and --samples must be integers");
    return 1;
  }
  const out = values.out ?? values.weights!.replace(/\.r3w$/, "") + ".r3b";
  const t0 = performance.now();
  const weights = await Deno.readFile(values.weights!);
  const s = await sampleMemories(
    weights,
    await Array.fromAsync(sampleTexts(`${values.corpus}/train.txt`, samples)),
  );
  console.error(
    `memory_basis: ${s.memories.length} memories in ${
      ((performance.now() - t0) / 1000).toFixed(0)
    } s`,
  );
  const basis = fitMemoryBasis(s.memories, {
    slotCount: s.slotCount,
    dim: s.dim,
    components,
    model: s.fingerprint,
  });
  await Deno.writeFile(out, basis.toBytes());
  console.error(`memory_basis: ${explained(s.memories, basis)}`);
  console.error(
    `memory_basis: ${out}: ${components} components, id ${basis.id}, ` +
      `${basis.toBytes().length} bytes, ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
