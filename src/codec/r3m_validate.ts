/**
 * Validation of {@linkcode MemoryData} before it is written (and after it is read): the
 * container, fingerprint and limits, the node tree and its spans, the residual, code, turns and
 * meta sections. The first problem found is thrown, in words that name the field.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import type { MemoryData, MemoryNode } from "./memory_data.ts";
import { codeProblem } from "./memory_code.ts";
import { SHORT_FINGERPRINT_BYTES } from "./r3m_compact.ts";
import { LEVEL_CODE, R3M_LIMITS } from "./r3m_constants.ts";
import { turnsProblem } from "./r3m_turns.ts";

/** Builds the error that {@linkcode validateMemoryData} throws for a problem it finds. */
export type ErrorFactory = (message: string) => Error;
const inputError: ErrorFactory = (m) => new InputError(m);
const HEX_RE = /^[0-9a-f]{64}$/;
const SHORT_HEX_RE = new RegExp(`^[0-9a-f]{${2 * SHORT_FINGERPRINT_BYTES}}$`);
const utf8Encoder = new TextEncoder();
type Fail = (message: string) => never;

function isU32(v: unknown): v is number {
  return typeof v === "number" && (v >>> 0) === v;
}

/**
 * Normalise a model fingerprint (64 hex characters, the SHA-256 of the weights file) to lower
 * case, or throw.
 *
 * @throws {InputError} If it is not 64 hexadecimal characters.
 *
 * @example
 * ```ts
 * import { normalizeFingerprint } from "./r3m_validate.ts";
 * console.log(normalizeFingerprint("AB".repeat(32)) === "ab".repeat(32)); // true
 * ```
 */
export function normalizeFingerprint(fp: unknown, what = "Model fingerprint"): string {
  const s = typeof fp === "string" ? fp.toLowerCase() : "";
  if (!HEX_RE.test(s)) {
    throw new InputError(
      `${what} must be 64 hexadecimal characters (a SHA-256), got ${describe(fp)}`,
    );
  }
  return s;
}

/** Internal to the .r3m reader and writer. */
export function spaced(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** Internal to the .r3m reader and writer. */
export function describe(v: unknown): string {
  if (typeof v === "string") {
    return v.length > 80 ? `a ${v.length}-character string` : JSON.stringify(v);
  }
  return v === null ? "null" : typeof v;
}

/**
 * Check that `data` is a well-formed memory: fingerprint, limits, array lengths, finite scales,
 * the node tree (node 0 is the only `document` and the root; every other node's parent comes
 * earlier; a paragraph's parent is the document, a sentence's parent a paragraph), the spans
 * (start ≤ end, inside the parent's span — the root's inside `[0, textBytes]` and
 * `[0, tokenCount]` — and siblings in order without overlap), the residual and the meta.
 *
 * @param data The memory to check.
 * @param errorFactory Builds the error to throw (default: {@linkcode InputError}).
 * @throws The factory's error (an `InputError` by default) describing the first problem.
 *
 * @example
 * ```ts
 * import { validateMemoryData } from "./r3m_validate.ts";
 * import { InputError } from "../errors.ts";
 * try {
 *   validateMemoryData({
 *     modelFingerprint: "00".repeat(32), slotCount: 1, dim: 1, textBytes: 0, tokenCount: 0,
 *     nodes: [],
 *   });
 * } catch (e) {
 *   console.log(e instanceof InputError); // true: a memory needs its document node
 * }
 * ```
 */
export function validateMemoryData(
  data: MemoryData,
  errorFactory: ErrorFactory = inputError,
): void {
  const fail = (m: string): never => {
    throw errorFactory(m);
  };
  checkShape(data, fail);
  checkNodes(data, fail);
  checkSections(data, fail);
  checkMeta(data.meta, fail);
}

// The container, fingerprint, sizes and node count.
function checkShape(data: MemoryData, fail: Fail): void {
  if (typeof data !== "object" || data === null) fail(`Memory data must be an object`);
  const container = data.container ?? "full";
  if (container !== "full" && container !== "compact") {
    fail(`container must be "full" or "compact", got ${describe(container)}`);
  }
  const fp = data.modelFingerprint;
  if (
    typeof fp !== "string" ||
    !(HEX_RE.test(fp) || (container === "compact" && SHORT_HEX_RE.test(fp)))
  ) {
    fail(
      `modelFingerprint must be 64 lower-case hex characters` +
        (container === "compact" ? ` (or the ${2 * SHORT_FINGERPRINT_BYTES} of a short one)` : "") +
        `, got ${describe(fp)}`,
    );
  }
  const { slotCount, dim, textBytes, tokenCount, nodes } = data;
  const L = R3M_LIMITS;
  if (!isU32(slotCount) || slotCount < 1 || slotCount > L.maxSlotCount) {
    fail(`slotCount must be an integer in 1..${L.maxSlotCount}, got ${slotCount}`);
  }
  if (!isU32(dim) || dim < 1 || dim > L.maxDim) {
    fail(`dim must be an integer in 1..${L.maxDim}, got ${dim}`);
  }
  const perNode = slotCount * dim;
  if (perNode > L.maxValuesPerNode) {
    fail(`slotCount*dim must be at most ${L.maxValuesPerNode}, got ${perNode}`);
  }
  if (!isU32(textBytes)) fail(`textBytes must be an integer in 0..2^32-1, got ${textBytes}`);
  if (!isU32(tokenCount)) fail(`tokenCount must be an integer in 0..2^32-1, got ${tokenCount}`);
  if (!Array.isArray(nodes) || nodes.length < 1 || nodes.length > L.maxCount) {
    fail(`nodes must be a non-empty array (the document node first)`);
  }
}

// The node tree: levels, parents, spans inside the parent's and after the previous sibling's,
// slots and scales.
function checkNodes(data: MemoryData, fail: Fail): void {
  const { slotCount, dim, textBytes, tokenCount, nodes } = data;
  const perNode = slotCount * dim;
  // Per node: end of its last child so far (children must come in order, without overlap).
  const lastByte: number[] = new Array(nodes.length);
  const lastToken: number[] = new Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const n: MemoryNode = nodes[i];
    if (typeof n !== "object" || n === null) fail(`Node ${i} is not an object`);
    const code = LEVEL_CODE[n.level];
    if (code === undefined || !Object.hasOwn(LEVEL_CODE, n.level)) {
      fail(
        `Node ${i}: level must be "document", "paragraph" or "sentence", got ${describe(n.level)}`,
      );
    }
    let byteAnchor = 0, byteLimit = textBytes, tokenAnchor = 0, tokenLimit = tokenCount;
    if (i === 0) {
      if (n.parent !== -1 || code !== 0) {
        fail(`Node 0 must be the document root (level "document", parent -1)`);
      }
    } else {
      const p = n.parent;
      if (!Number.isInteger(p) || p < 0 || p >= i) {
        fail(`Node ${i}: parent must be an earlier node index (0..${i - 1}), got ${p}`);
      }
      const pc = LEVEL_CODE[nodes[p].level];
      if (code !== pc + 1) {
        fail(
          `Node ${i}: a ${n.level} node cannot be a child of a ${nodes[p].level} node ` +
            `(paragraphs belong to the document, sentences to paragraphs)`,
        );
      }
      byteAnchor = lastByte[p];
      byteLimit = nodes[p].byteEnd;
      tokenAnchor = lastToken[p];
      tokenLimit = nodes[p].tokenEnd;
    }
    const { byteStart, byteEnd, tokenStart, tokenEnd } = n;
    if (
      !isU32(byteStart) || !isU32(byteEnd) || byteStart < byteAnchor || byteStart > byteEnd ||
      byteEnd > byteLimit
    ) {
      fail(
        `Node ${i}: byte span [${byteStart}, ${byteEnd}) must be ordered and lie in ` +
          `[${byteAnchor}, ${byteLimit}] (inside its parent, after its previous sibling)`,
      );
    }
    if (
      !isU32(tokenStart) || !isU32(tokenEnd) || tokenStart < tokenAnchor ||
      tokenStart > tokenEnd || tokenEnd > tokenLimit
    ) {
      fail(
        `Node ${i}: token span [${tokenStart}, ${tokenEnd}) must be ordered and lie in ` +
          `[${tokenAnchor}, ${tokenLimit}] (inside its parent, after its previous sibling)`,
      );
    }
    if (i > 0) {
      lastByte[n.parent] = byteEnd;
      lastToken[n.parent] = tokenEnd;
    }
    lastByte[i] = byteStart;
    lastToken[i] = tokenStart;
    const slotless = n.slots instanceof Int8Array && n.slots.length === 0;
    if (!(n.slots instanceof Int8Array) || (n.slots.length !== perNode && !slotless)) {
      fail(
        `Node ${i}: slots must be an Int8Array of slotCount*dim = ${perNode} values (or empty)`,
      );
    }
    const wantScales = slotless ? 0 : slotCount;
    if (!(n.scales instanceof Float32Array) || n.scales.length !== wantScales) {
      fail(`Node ${i}: scales must be a Float32Array of ${wantScales} values`);
    }
    for (let s = 0; s < wantScales; s++) {
      if (!Number.isFinite(n.scales[s])) fail(`Node ${i}: scale ${s} is ${n.scales[s]}`);
    }
  }
}

// The residual, what the compact container allows, the code and the turns.
function checkSections(data: MemoryData, fail: Fail): void {
  const { textBytes, tokenCount, nodes } = data;
  const container = data.container ?? "full";
  const L = R3M_LIMITS;
  const r = data.residual;
  if (r !== undefined) {
    if (typeof r !== "object" || r === null || !(r.bytes instanceof Uint8Array)) {
      fail(`residual must be { codedTokens, bytes: Uint8Array }`);
    }
    if (!isU32(r.codedTokens) || r.codedTokens > tokenCount) {
      fail(
        `residual.codedTokens must be an integer in 0..tokenCount (${tokenCount}), got ${r.codedTokens}`,
      );
    }
    if (r.bytes.length > L.maxCount) fail(`residual is larger than 4 GiB`);
    if (r.cache !== undefined && typeof r.cache !== "boolean") {
      fail(`residual.cache must be a boolean, got ${describe(r.cache)}`);
    }
  }
  if (container === "compact") {
    const root = nodes[0];
    if (
      nodes.length !== 1 || root.slots.length !== 0 || root.byteStart !== 0 ||
      root.byteEnd !== textBytes || root.tokenStart !== 0 || root.tokenEnd !== tokenCount ||
      r === undefined || r.codedTokens !== tokenCount
    ) {
      fail(
        `The compact container holds only lossless memories without slots: one document node ` +
          `spanning the whole text and a residual that codes every token`,
      );
    }
  }
  if (data.code !== undefined) {
    if (container !== "compact") fail(`A memory code is only stored in the compact container`);
    const problem = codeProblem(data.code);
    if (problem) fail(problem);
  }
  if (data.turns !== undefined) {
    if (container !== "full") fail(`A conversation memory is only stored in the full container`);
    const problem = turnsProblem(data);
    if (problem) fail(problem);
  }
}

// The free-form annotations: a plain object of well-formed strings within the limits.
function checkMeta(m: MemoryData["meta"], fail: Fail): void {
  const L = R3M_LIMITS;
  if (m !== undefined) {
    if (typeof m !== "object" || m === null || Array.isArray(m)) {
      fail(`meta must be a plain object of strings`);
    }
    const entries = Object.entries(m);
    if (entries.length > L.maxMetaEntries) {
      fail(`meta has ${entries.length} entries; at most ${L.maxMetaEntries} are allowed`);
    }
    for (const [k, v] of entries) {
      if (typeof v !== "string") fail(`meta[${JSON.stringify(k)}] must be a string`);
      if (!k.isWellFormed() || !v.isWellFormed()) {
        fail(`meta[${JSON.stringify(k)}] contains a lone surrogate`);
      }
      const kb = utf8Encoder.encode(k).length, vb = utf8Encoder.encode(v).length;
      if (kb < 1 || kb > L.maxMetaKeyBytes) {
        fail(`meta keys must have 1..${L.maxMetaKeyBytes} UTF-8 bytes, got ${kb}`);
      }
      if (vb > L.maxMetaValueBytes) {
        fail(`meta[${JSON.stringify(k)}] has ${vb} UTF-8 bytes; at most ${L.maxMetaValueBytes}`);
      }
    }
  }
}
