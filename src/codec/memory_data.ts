/**
 * The data a memory holds, as plain types: the tree of nodes, the residual, the code. A file of
 * its own so that the `Memory` class (`./memory.ts`) and the `.r3m` readers and writers
 * (`./r3m_format.ts`, `./r3m_compact.ts`) both import it without importing each other.
 *
 * @module
 */
import type { MemoryCode } from "./memory_code.ts";

/** Granularity of a memory node. */
export type NodeLevel = "document" | "paragraph" | "sentence";

/**
 * One node of the memory tree: the compressed memory of one span of the text.
 *
 * Invariants (checked by `new Memory` and by the `.r3m` reader): node 0 is the `document` root
 * (`parent` -1) and the only document; every other node's `parent` is an earlier index; a
 * `paragraph`'s parent is the document and a `sentence`'s parent a paragraph; spans are
 * half-open, ordered (`start ≤ end`), inside the parent's span (the root's inside the text) and
 * siblings come in text order without overlapping.
 */
export interface MemoryNode {
  /** Granularity. */
  level: NodeLevel;
  /** Index of the parent node in `MemoryData.nodes`, -1 for the root. */
  parent: number;
  /** Start of the span in the original UTF-8 bytes. */
  byteStart: number;
  /** End (exclusive) of the span in the original UTF-8 bytes. */
  byteEnd: number;
  /** Start of the span in tokens. */
  tokenStart: number;
  /** End (exclusive) of the span in tokens. */
  tokenEnd: number;
  /** `slotCount * dim` quantized values, slot-major: slot `s` is `slots[s*dim, (s+1)*dim)`. */
  slots: Int8Array;
  /** One finite scale per slot: value = `slots[s*dim + j] * scales[s]`. */
  scales: Float32Array;
}

/**
 * One turn of a conversation memory (`MemoryData.turns`): how its part of the residual is
 * stored. The turn's tokens are its paragraph node's span; its stream is coded from the start
 * of the turn, against its node's int8 slots or, when `code` is there, the memory the code
 * stands for (see `docs/FORMAT.md`, "Turns").
 */
export interface MemoryTurn {
  /** Bytes of the turn's residual stream (the residual holds the streams back to back). */
  streamBytes: number;
  /** The memory the turn was coded against, as a code over the model's memory basis. */
  code?: MemoryCode;
  /**
   * A conversation memory (`R3Mem.append`): one entry per paragraph node (one node per turn),
   * each turn decodable on its own. Only in the full container; see `./r3m_turns.ts`.
   */
  turns?: MemoryTurn[];
}

/** Everything a memory holds; what `.r3m` bytes encode. */
export interface MemoryData {
  /**
   * SHA-256 of the weights file of the model that wrote it: 64 lower-case hex characters, or,
   * for a compact memory read back without `expectModel`, the first 8 of them.
   */
  modelFingerprint: string;
  /**
   * Which `.r3m` container `toBytes` writes: `"full"` (default; any memory) or `"compact"`
   * (lossless memories without slots only: one document node and a residual coding every
   * token; about 16 bytes of framing instead of about 60; see `docs/FORMAT.md`).
   */
  container?: "full" | "compact";
  /** Memory slots per node (1 … 4096). */
  slotCount: number;
  /** Width of a slot (1 … 65536; `slotCount * dim` ≤ 2^24). */
  dim: number;
  /** Length of the original text in UTF-8 bytes. */
  textBytes: number;
  /** Length of the original text in tokens. */
  tokenCount: number;
  /** The tree, root first (see {@linkcode MemoryNode} for the invariants). */
  nodes: MemoryNode[];
  /** Range-coded residual: with it the memory restores the exact text. */
  residual?: {
    /** How many tokens (from the start) the residual codes, ≤ `tokenCount`. */
    codedTokens: number;
    /** The range coder's output. */
    bytes: Uint8Array;
    /**
     * The coder mixed the model's distribution with the document cache
     * (`./cache_mixer.ts`); absent or false: the model's distribution alone (files of
     * earlier versions).
     */
    cache?: boolean;
  };
  /** Small free-form annotations (≤ 64 entries, keys ≤ 64 and values ≤ 1024 UTF-8 bytes). */
  meta?: Record<string, string>;
  /**
   * The document node's memory as a code over the model's memory basis (`./memory_basis.ts`):
   * only in the compact container, whose document node then has no slots. The default of
   * `compress` for models that ship a basis; see `docs/FORMAT.md`, "Memory code".
   */
  code?: MemoryCode;
  /**
   * A conversation memory (`R3Mem.append`): one entry per paragraph node (one node per turn),
   * each turn decodable on its own. Only in the full container; see `./r3m_turns.ts`.
   */
  turns?: MemoryTurn[];
}
