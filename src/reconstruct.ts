/**
 * Memory → text: the steps of `R3Mem.reconstruct`. Exact when the memory carries its residual
 * (the whole token stream decoded against the document memory, the node's part yielded); from
 * the memory alone otherwise (greedy decoding of each sentence from its own slots, or of a code
 * memory's node from the document memory). Conversations decode each turn from its own stream
 * (`./append.ts`).
 *
 * @module
 */
import type { Memory } from "./codec/memory.ts";
import { buildTree } from "./codec/memory_tree.ts";
import { decodeResidual } from "./codec/residual_coder.ts";
import { turnTexts } from "./append.ts";
import { FormatError, InputError } from "./errors.ts";
import type { DerivedTree, ModelCore } from "./model_core.ts";
import type { ReconstructOptions } from "./r3mem_options.ts";

/**
 * The text of a reconstruction, piece by piece (synchronously). The memory is checked by the
 * caller.
 *
 * @param core The model.
 * @param memory A memory this model wrote.
 * @param options Which node; greedy or exact.
 * @param derived A code memory's derived tree and tokens (kept with the memory by the caller).
 * @throws {InputError} For a node that does not exist or has no memory to decode greedily.
 *
 * @example
 * ```ts
 * import { R3Mem } from "./r3mem.ts";
 * import { buildRandomModel } from "./model/random_model.ts";
 * // R3Mem.reconstruct joins these pieces.
 * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
 * console.log(await r3.reconstruct(await r3.compress("Piece by piece."))); // "Piece by piece."
 * ```
 */
export function* reconstructPieces(
  core: ModelCore,
  memory: Memory,
  options: ReconstructOptions,
  derived: (memory: Memory) => DerivedTree,
): Generator<string, void, undefined> {
  const index = options.node ?? 0;
  if (memory.code && options.greedy && index !== 0) {
    throw new InputError(
      `Node ${index} has no memory of its own (a code memory stores only the document's); ` +
        `reconstruct it exactly, without greedy`,
    );
  }
  // A code memory's paragraphs and sentences are derived from its text (decoded once, kept);
  // a node's text is then its tokens there, with no second decoding pass.
  if (memory.code && index !== 0 && !options.greedy) {
    const text = derivedNodeText(core, derived(memory), index);
    if (text !== null) {
      if (text) yield text;
      return;
    }
  }
  const nodes = memory.code && index !== 0 ? derived(memory).nodes : memory.nodes;
  const node = nodes[index];
  if (!node) {
    throw new InputError(`Node ${index} does not exist (the memory has ${nodes.length})`);
  }
  // A conversation (./append.ts): every turn decodes from its own stream.
  if (memory.data.turns && !options.greedy) {
    return yield* turnTexts(core, memory, index);
  }
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  const residual = memory.residual;
  let streams: Iterable<number[]>[];
  if (residual && !options.greedy && residual.codedTokens === memory.tokenCount) {
    // Exact: decode the whole token stream, yield the node's part.
    streams = [decodeResidual(core.coder, core.docMemory(memory), memory, node)];
  } else if (memory.code) {
    // Memory alone: the document memory the code stands for (the only memory stored).
    streams = [core.greedy(node, core.docMemory(memory))];
  } else {
    streams = greedyUnits(memory, index).map((leaf) => {
      const unit = memory.nodes[leaf];
      return core.greedy(unit, core.memoryOf(unit));
    });
  }
  for (const stream of streams) {
    for (const ids of stream) {
      const text = decoder.decode(core.bytesOf(ids), { stream: true });
      if (text) yield text;
    }
  }
  const tail = decoder.decode();
  if (tail) yield tail;
}

/**
 * The tree and tokens of a code memory, decoded from its residual and built again from the
 * text, as compress built it.
 *
 * @throws {FormatError} When the decoded text does not give back the memory's own tokens.
 *
 * @example
 * ```ts
 * import { R3Mem } from "./r3mem.ts";
 * import { buildRandomModel } from "./model/random_model.ts";
 * // R3Mem.tree uses it for memories read from bytes.
 * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
 * console.log(r3.tree(await r3.compress("A. B.")).length); // 3
 * ```
 */
export function decodeDerivedTree(core: ModelCore, memory: Memory): DerivedTree {
  const ids: number[] = [];
  for (const batch of decodeResidual(core.coder, core.docMemory(memory), memory, memory.nodes[0])) {
    for (const id of batch) ids.push(id);
  }
  const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(core.bytesOf(ids));
  const built = buildTree(text, (piece) => core.tokenizer.encode(piece));
  if (
    built.bytes !== memory.textBytes || built.ids.length !== ids.length ||
    built.ids.some((id, i) => id !== ids[i])
  ) {
    throw new FormatError(`The memory's text does not give back its own tokens: damaged`);
  }
  return { nodes: built.nodes, ids: Int32Array.from(ids) };
}

/**
 * The exact text of node `index` of a code memory's derived tree, from the tokens the tree
 * keeps: finding a paragraph or sentence already decoded the whole text once (the tree is kept
 * with the memory), so reading it needs no second decoding pass (what search hits read).
 *
 * @returns The text, or null when the tree has no node `index`.
 * @internal
 */
export function derivedNodeText(
  core: ModelCore,
  derived: DerivedTree,
  index: number,
): string | null {
  const node = derived.nodes[index];
  if (!node) return null;
  const ids = Array.from(derived.ids.subarray(node.tokenStart, node.tokenEnd));
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(core.bytesOf(ids));
}

// The sentence nodes under `index` (or the node itself when it has none), in text order.
function leavesOf(memory: Memory, index: number): number[] {
  const children = memory.children(index);
  if (children.length === 0) return [index];
  return children.flatMap((c) => leavesOf(memory, c));
}

// What greedy reconstruction of node `index` decodes: its sentences, each from its own slots
// (the finest memory there is), or else the node's own slots.
function greedyUnits(memory: Memory, index: number): number[] {
  const leaves = leavesOf(memory, index);
  if (leaves.every((i) => memory.nodes[i].slots.length > 0)) return leaves;
  if (memory.nodes[index].slots.length > 0) return [index];
  throw new InputError(
    `Node ${index} has no memory slots to reconstruct from (it was compressed without them); ` +
      `reconstruct it exactly from a lossless memory instead`,
  );
}
