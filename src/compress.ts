/**
 * Text → memory: the steps of `R3Mem.compress`. The text's tree (document, paragraphs,
 * sentences, on token boundaries), a memory per kept node (refined against the decoder when
 * asked), the document memory as a code over the basis for compact memories, and the residual
 * coded against the document memory so the text comes back exactly.
 *
 * @module
 */
import { codeLength } from "./codec/memory_basis.ts";
import { Memory, type MemoryCode, type NodeLevel } from "./codec/memory.ts";
import { codeSize, EMPTY_CODE } from "./codec/memory_code.ts";
import { buildTree } from "./codec/memory_tree.ts";
import { encodeResidual } from "./codec/residual_coder.ts";
import { InputError } from "./errors.ts";
import type { DerivedTree, ModelCore } from "./model_core.ts";
import { quantizeRowsInt8 } from "./model/weights_format.ts";
import type { CompressOptions } from "./r3mem_options.ts";
import { parseRefine } from "./refine_budget.ts";
import type { MemoryRefiner } from "./train/refiner.ts";

/** Which levels keep their slots for each `slots` option. */
export const SLOT_LEVELS: Record<NonNullable<CompressOptions["slots"]>, NodeLevel[]> = {
  code: [],
  all: ["document", "paragraph", "sentence"],
  document: ["document"],
  none: [],
};

/**
 * Compresses `text` (`R3Mem.compressSync` checks and caches around it).
 *
 * @param core The model.
 * @param text The text.
 * @param options As `R3Mem.compress` takes them.
 * @param refiner The loaded refiner when `options.refine` asks for one, else null.
 * @returns The memory, and for a code memory the tree it stands for.
 * @throws {InputError} For bad text or options.
 *
 * @example
 * ```ts
 * import { R3Mem } from "./r3mem.ts";
 * import { buildRandomModel } from "./model/random_model.ts";
 * // R3Mem.compress runs compressText on its model.
 * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
 * console.log((await r3.compress("One. Two.")).levels().sentence); // 2
 * ```
 */
export function compressText(
  core: ModelCore,
  text: string,
  options: CompressOptions,
  refiner: MemoryRefiner | null,
): { memory: Memory; derived: DerivedTree | null } {
  const lossless = options.lossless ?? true;
  const slots = options.slots ?? (lossless && core.basis ? "code" : "all");
  if (!Object.hasOwn(SLOT_LEVELS, slots)) {
    throw new InputError(
      `slots must be "code", "all", "document" or "none", got ${String(slots)}`,
    );
  }
  const refine = parseRefine(options.refine);
  if (refine && slots !== "all" && slots !== "document") {
    throw new InputError(
      `refine improves stored slots: use slots "all" or "document" (got "${slots}")`,
    );
  }
  if (refine && !refiner) {
    throw new InputError(`refine needs the asynchronous compress() (it loads the refiner)`);
  }
  if (slots === "code" && !core.basis) {
    throw new InputError(
      `slots "code" needs the model's memory basis (a .r3b file; see tools/memory_basis.ts)`,
    );
  }
  const { config } = core;
  // 1. Spans: the document, its paragraphs, their sentences; tokens are the concatenation of
  // each sentence's tokens, so every node's span falls on token boundaries.
  const tree = buildTree(text, (piece) => core.tokenizer.encode(piece)); // InputError on lone surrogates
  const { nodes, ids: all, bytes: bytePos } = tree;
  // 2. Memories of the kept levels. Equal spans have equal memories (a one-sentence paragraph,
  // a one-paragraph document): computed once.
  const keep = SLOT_LEVELS[slots];
  const cache = new Map<string, { q: Int8Array; scales: Float32Array }>();
  // With refinement, sentences first: greedy reconstruction reads the smallest nodes.
  const order = refine ? nodes.slice().reverse() : nodes;
  const deadline = refine?.ms !== undefined ? performance.now() + refine.ms : undefined;
  for (const node of order) {
    if (!keep.includes(node.level)) continue;
    const key = `${node.tokenStart}:${node.tokenEnd}`;
    let m = cache.get(key);
    if (!m) {
      const span = all.slice(node.tokenStart, node.tokenEnd);
      let memory = core.compressTokens(span);
      if (refine) memory = refiner!.refine(Int32Array.from(span), memory, refine, deadline).memory;
      m = quantizeRowsInt8(memory, config.memorySlots, config.dim);
      cache.set(key, m);
    }
    node.slots = m.q;
    node.scales = m.scales;
  }
  const useCache = options.cache ?? true;
  if (typeof useCache !== "boolean") throw new InputError(`cache must be a boolean`);
  if (options.coefficients !== undefined && slots !== "code") {
    throw new InputError(`coefficients sets the size of a memory code: it needs slots "code"`);
  }
  if (!lossless && (slots === "none" || slots === "code")) {
    throw new InputError(`A lossy memory needs slots: use slots "all" or "document"`);
  }
  // A code memory stores its document memory as a code over the basis; the residual is coded
  // against the memory the code stands for, which is what a reader rebuilds.
  const root = slots === "code" ? core.compressTokens(all) : undefined;
  const chosen = root ? codedDocument(core, root, all, useCache, options.coefficients) : undefined;
  const code = chosen?.code;
  const derived = slots === "code" ? nodes.slice() : null;
  // Compact memories keep the document node alone: its sub-tree is derivable from the text.
  if (slots === "none" || slots === "code") nodes.length = 1;
  // 3. The residual, coded against the document memory when it is stored (else the memory of
  // nothing, so a slot-less memory still decodes).
  const memory = new Memory({
    modelFingerprint: core.fingerprint,
    // Slot-less archives go in the compact container: no node table, 4-byte fingerprint.
    container: slots === "none" || slots === "code" ? "compact" : "full",
    slotCount: config.memorySlots,
    dim: config.dim,
    textBytes: bytePos,
    tokenCount: all.length,
    nodes,
    residual: lossless
      ? {
        codedTokens: all.length,
        bytes: chosen?.residual ??
          encodeResidual(core.coder, core.memoryOf(nodes[0]), all, useCache),
        ...(useCache ? { cache: true } : {}),
      }
      : undefined,
    meta: options.meta,
    ...(code ? { code } : {}),
  });
  return {
    memory,
    derived: derived ? { nodes: derived, ids: Int32Array.from(all), root } : null,
  };
}

/**
 * The document memory of a code memory as a code of `coefficients` values, and the residual
 * coded against what the code stands for (a code of no values: the memory of nothing). With
 * `"auto"`, the shorter of no code and a `codeLength` code; the default is no code: on the
 * shipped model every validation and unseen text measured codes shorter without one
 * (`tools/code_rate.ts`, docs/FORMAT.md "Memory code").
 */
function codedDocument(
  core: ModelCore,
  root: Float32Array,
  ids: number[],
  cache: boolean,
  coefficients: number | "auto" = 0,
): { code: MemoryCode; residual: Uint8Array } {
  const basis = core.basis!;
  if (
    coefficients !== "auto" &&
    !(Number.isInteger(coefficients) && coefficients >= 0 && coefficients <= basis.components)
  ) {
    throw new InputError(
      `coefficients must be "auto" or an integer in 0..${basis.components}, got ${
        String(coefficients)
      }`,
    );
  }
  const coded = (k: number) => {
    const code = k === 0
      ? { basis: EMPTY_CODE.basis, values: new Int8Array(0) }
      : { basis: basis.id, values: basis.encode(root, k) };
    const against = k === 0 ? core.model.memInit : basis.decode(code.values);
    return { code, residual: encodeResidual(core.coder, against, ids, cache) };
  };
  if (coefficients !== "auto") return coded(coefficients);
  const none = coded(0), some = coded(codeLength(ids.length, basis.components));
  const size = (c: typeof none) => codeSize(c.code) + c.residual.length;
  return size(some) < size(none) ? some : none;
}
