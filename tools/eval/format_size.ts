/**
 * The `format` metric of `deno task eval`: bits per byte of the **default** `.r3m` (what
 * `compress(text)` writes: with the shipped model, a compact code memory) beside the compact
 * lossless archive (`slots: "none"`) and brotli-11, on whole documents and on ≤ 1 KB paragraphs
 * ("messages"), each item compressed on its own; and what storing the document memory as a code
 * would cost the memory: the **memory gain** (bits of decoding a message from another message's
 * memory minus from its own), with its int8 slots and with a code of `codeLength` coefficients
 * (what `compress(text, { coefficients: "auto" })` tries; the default code has none, which codes
 * every measured text shorter: `tools/code_rate.ts`).
 *
 * @module
 */
import { compressedBytes } from "./baselines.ts";
import { compressTokens, type EvalModel } from "./metrics.ts";
import { dequantizeRowsInt8, quantizeRowsInt8 } from "../../src/model/weights_format.ts";
import { codeLength } from "../../src/codec/memory_basis.ts";
import type { ReversibleTransformer } from "../../src/model/transformer.ts";

/** Sizes of one setting (documents or messages). */
export interface FormatSizes {
  /** The default `.r3m` (`compress(text)`), every byte. */
  bpb_default: number;
  /** The compact lossless archive (`slots: "none"`). */
  bpb_compact: number;
  /** Every node's int8 slots (`slots: "all"`, what the default was before code memories). */
  bpb_slots_all: number;
  /** brotli quality 11. */
  bpb_brotli: number;
  /** `bpb_default / bpb_brotli`: the goal is ≤ 1. */
  default_vs_brotli: number;
  /** `bpb_compact / bpb_brotli`. */
  compact_vs_brotli: number;
  /** Which storage the default chose (`"code"` with a memory basis, else `"all"`). */
  default_slots: string;
  /** Items compressed. */
  items: number;
  /** Their UTF-8 bytes. */
  bytes: number;
}

/** Memory gain in bits per byte of message text (see the module doc). */
export interface MemoryGain {
  /** Bits per byte decoding each message from another message's int8 memory. */
  bpb_other: number;
  /** … from its own int8 memory (slots "all"). */
  bpb_own_int8: number;
  /** … from its own `codeLength` memory code, when the model has a basis. */
  bpb_own_code: number | null;
  /** `bpb_other − bpb_own_int8`. */
  gain_int8: number;
  /** `bpb_other − bpb_own_code`. */
  gain_code: number | null;
  /** `gain_code / gain_int8`: the share of the memory's information the code keeps. */
  kept: number | null;
  /** Messages measured. */
  items: number;
}

/**
 * Sizes of every item compressed on its own: default `.r3m`, compact archive, slots "all",
 * brotli-11.
 *
 * @param m The model.
 * @param items Texts (non-empty).
 * @param allLimit Measure slots "all" on at most this many items (it is only a reference).
 */
export function formatSizes(m: EvalModel, items: string[], allLimit = 40): FormatSizes {
  const enc = new TextEncoder();
  let bytes = 0, def = 0, compact = 0, brotli = 0, allBits = 0, allBytes = 0;
  let slots = "all";
  for (const [i, text] of items.entries()) {
    const data = enc.encode(text);
    const memory = m.r3.compressSync(text);
    if (memory.code) slots = "code";
    bytes += data.length;
    def += memory.byteLength * 8;
    compact += m.r3.compressSync(text, { slots: "none" }).byteLength * 8;
    brotli += compressedBytes("brotli", data) * 8;
    if (i < allLimit) {
      allBits += m.r3.compressSync(text, { slots: "all" }).byteLength * 8;
      allBytes += data.length;
    }
  }
  const per = (b: number, n = bytes) => (n > 0 ? b / n : NaN);
  return {
    bpb_default: per(def),
    bpb_compact: per(compact),
    bpb_slots_all: per(allBits, allBytes),
    bpb_brotli: per(brotli),
    default_vs_brotli: def / brotli,
    compact_vs_brotli: compact / brotli,
    default_slots: slots,
    items: items.length,
    bytes,
  };
}

// Bits of `ids` decoded from `memory` (teacher-forced, the model's distribution alone).
function bitsFrom(model: ReversibleTransformer, memory: Float32Array, ids: number[]): number {
  const V = model.config.vocabSize;
  const session = model.startDecoder(memory);
  let bits = 0;
  const add = (p: Float32Array, row: number, t: number) => {
    bits -= Math.log2(Math.max(p[row * V + t], 1e-30));
  };
  try {
    session.begin();
    add(model.readProbs(1), 0, ids[0]);
    for (let fed = 0; fed < ids.length - 1;) {
      session.slideIfFull();
      const n = Math.min(session.room, ids.length - 1 - fed);
      session.feed(ids.slice(fed, fed + n));
      const p = model.readProbs(n);
      for (let i = 0; i < n; i++) add(p, i, ids[fed + 1 + i]);
      fed += n;
    }
  } finally {
    session.free();
  }
  return bits;
}

/**
 * The memory gain of messages with int8 slots and with the default memory code (each message
 * against the next one's memory as "other").
 *
 * @param m The model.
 * @param items Messages (at least 2 non-empty).
 */
export function memoryGain(m: EvalModel, items: string[]): MemoryGain {
  const { r3, model, config } = m;
  const S = config.memorySlots, D = config.dim;
  const seqs = items.map((t) => Array.from(r3.tokenizer.encode(t))).filter((s) => s.length > 0);
  const mems = seqs.map((s) => compressTokens(model, s));
  const int8 = mems.map((x) => {
    const { q, scales } = quantizeRowsInt8(x, S, D);
    return dequantizeRowsInt8(q, scales, S, D);
  });
  const basis = r3.basis;
  let bytes = 0, other = 0, own = 0, code = 0;
  for (let i = 0; i < seqs.length; i++) {
    bytes += r3.tokenizer.decodeBytes(seqs[i]).length;
    other += bitsFrom(model, int8[(i + 1) % seqs.length], seqs[i]);
    own += bitsFrom(model, int8[i], seqs[i]);
    if (basis) {
      const k = codeLength(seqs[i].length, basis.components);
      code += bitsFrom(model, basis.decode(basis.encode(mems[i], k)), seqs[i]);
    }
  }
  const per = (b: number) => (bytes > 0 ? b / bytes : NaN);
  const gainInt8 = per(other - own);
  const gainCode = basis ? per(other - code) : null;
  return {
    bpb_other: per(other),
    bpb_own_int8: per(own),
    bpb_own_code: basis ? per(code) : null,
    gain_int8: gainInt8,
    gain_code: gainCode,
    kept: gainCode === null ? null : gainCode / gainInt8,
    items: seqs.length,
  };
}

/** Recall@k of paragraph retrieval with default memories and with slots "all" (lossy). */
export interface FormatRecall {
  /** Share of queries whose paragraph's default memory (a code memory) is in the top k. */
  default: number;
  /** The same with lossy memories carrying every node's int8 slots (the `recall` metric's). */
  all: number;
  /** Paragraphs in the pool (one query each). */
  pool: number;
}

/**
 * Paragraph retrieval as the `recall` metric does it (document-level hits, each memory scored by
 * the best node of its tree), once over default memories and once over lossy `slots: "all"`
 * ones: a code memory's keys are computed from its text, so the two should agree.
 *
 * @param m The model.
 * @param pool The paragraphs.
 * @param queries One query per paragraph.
 * @param k Cut-off (default 5).
 */
export async function formatRecall(
  m: EvalModel,
  pool: string[],
  queries: string[],
  k = 5,
): Promise<FormatRecall> {
  const { r3 } = m;
  const def = pool.map((p) => r3.compressSync(p));
  const all = pool.map((p) => r3.compressSync(p, { lossless: false }));
  let hitsDefault = 0, hitsAll = 0;
  const opts = { k, levels: ["document" as const], withText: false, mode: "keys" as const };
  for (const [i, q] of queries.entries()) {
    if (q.length === 0) continue;
    if ((await r3.search(q, def, opts)).some((h) => h.memory === i)) hitsDefault++;
    if ((await r3.search(q, all, opts)).some((h) => h.memory === i)) hitsAll++;
  }
  const n = queries.length;
  return { default: n ? hitsDefault / n : 0, all: n ? hitsAll / n : 0, pool: pool.length };
}
