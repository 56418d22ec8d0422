/**
 * The node tree `compress` builds from a text: the document, a node per paragraph and one per
 * sentence, with byte and token spans (the tokens are the concatenation of each sentence's
 * tokens, so every span falls on token boundaries). A compact memory stores only its document
 * node; its paragraphs and sentences are this tree, built again from the exact text.
 *
 * @example
 * ```ts
 * import { buildTree } from "./memory_tree.ts";
 * const encode = (s: string) => Array.from(s, (c) => c.charCodeAt(0)); // one token per character
 * const { nodes, ids } = buildTree("A. B.\n\nC.", encode);
 * console.log(nodes.map((n) => n.level).join(" "), ids.length);
 * // document paragraph sentence sentence paragraph sentence 9
 * ```
 *
 * @module
 */

import { splitText } from "../model/segment.ts";
import type { MemoryNode, NodeLevel } from "./memory_data.ts";

const encoder = new TextEncoder();

/** A text's tree: its nodes (without slots) and the token ids they span. */
export interface TextTree {
  /** Document first, then each paragraph followed by its sentences. */
  nodes: MemoryNode[];
  /** The text's tokens. */
  ids: number[];
  /** UTF-8 length of the text. */
  bytes: number;
}

/**
 * Builds the tree of `text` (spans only: every node's `slots` and `scales` are empty).
 *
 * @param text The text.
 * @param encode The tokenizer (may throw on bad input: the error passes through).
 *
 * @example
 * ```ts
 * import { buildTree } from "./memory_tree.ts";
 * const { nodes } = buildTree("One. Two.", (s) => Array.from(s, () => 1));
 * console.log(nodes.length, nodes[3].byteStart, nodes[3].tokenEnd); // 4 5 9
 * ```
 */
export function buildTree(text: string, encode: (s: string) => ArrayLike<number>): TextTree {
  const nodes: MemoryNode[] = [span("document", -1, 0, 0)];
  const ids: number[] = [];
  let bytePos = 0;
  for (const p of splitText(text)) {
    const pi = nodes.push(span("paragraph", 0, bytePos, ids.length)) - 1;
    for (const s of p.sentences) {
      const piece = text.slice(s.start, s.end);
      const node = span("sentence", pi, bytePos, ids.length);
      const t = encode(piece);
      for (let i = 0; i < t.length; i++) ids.push(t[i]);
      bytePos += encoder.encode(piece).length;
      node.byteEnd = bytePos;
      node.tokenEnd = ids.length;
      nodes.push(node);
    }
    nodes[pi].byteEnd = bytePos;
    nodes[pi].tokenEnd = ids.length;
  }
  nodes[0].byteEnd = bytePos;
  nodes[0].tokenEnd = ids.length;
  return { nodes, ids, bytes: bytePos };
}

function span(level: NodeLevel, parent: number, byteStart: number, tokenStart: number): MemoryNode {
  return {
    level,
    parent,
    byteStart,
    byteEnd: byteStart,
    tokenStart,
    tokenEnd: tokenStart,
    slots: new Int8Array(0),
    scales: new Float32Array(0),
  };
}
