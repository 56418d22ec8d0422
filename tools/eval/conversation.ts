/**
 * The `conversation` metric of `deno task eval`: what `R3Mem.append` (`src/append.ts`) costs and
 * keeps on long conversations built from the evaluated documents — each document with enough
 * paragraphs is one conversation, its paragraphs (≤ 1 KB) the turns, in order.
 *
 * Bits per byte of every turn but the first of each conversation, five ways, all as the ideal
 * code length `Σ −log2 q(token)` of the coder's distribution `q` (the model mixed with the
 * document cache, as lossless memories are coded; the range coder is within 0.01 % of it):
 * - `alone`: the turn coded on its own from the memory of nothing (`slots: "none"`);
 * - `alone_own`: on its own against its own memory code (what `compress(turn)` does);
 * - `append`: against the conversation's memory after the turn, as `append` stores it (the
 *   recurrent memory over every turn so far, as a code; int8 without a basis);
 * - `append_before`: against the memory of the turns before it (the design `append` did not
 *   take: see `docs/EVAL.md`);
 * - `full`: after the whole history's text in the model's window, with the cache over it (what
 *   one `compress` of the conversation so far would spend on the turn; no random access);
 *
 * These leave out what a turn stores beside its stream (the code it was coded against, 11 bytes
 * for 16 coefficients against nothing for none), which on short turns outweighs what the memory
 * saves; the stored sizes (`sizes`) count every byte, for `append`'s default (`condition:
 * "none"`), for `condition: "best"` (the
 * shorter of no memory and a 2-coefficient code of the conversation's memory), for
 * and for `condition: "conversation"`.
 *
 * And how far back the memory remembers: for lags `L`, the turn `N − L` decoded teacher-forced
 * from the memory after `N` turns (int8, as the document node stores it), beside the same turn
 * from the memory of nothing: the bits per byte the memory saves and the token accuracy.
 *
 * @module
 */
import { CacheMixer } from "../../src/codec/cache_mixer.ts";
import type { Memory } from "../../src/codec/memory.ts";
import { codeLength } from "../../src/codec/memory_basis.ts";
import { dequantizeRowsInt8, quantizeRowsInt8 } from "../../src/model/weights_format.ts";
import { type EvalDocument, messageParagraphs, utf8Bytes } from "./data.ts";
import { compressTokens, type EvalModel } from "./metrics.ts";

/** Bits per byte of the turns, five ways (see the module doc). */
export interface TurnBits {
  alone: number;
  alone_own: number;
  append: number;
  append_before: number;
  full: number;
}

/** What the `conversation` metric reports. */
export interface ConversationReport {
  /** Conversations (documents with at least `minTurns` paragraphs). */
  conversations: number;
  /** Turns measured (every turn but the first of each conversation). */
  turns: number;
  /** Their UTF-8 bytes. */
  bytes: number;
  /** Bits per byte over all measured turns. */
  bpb: TurnBits;
  /** The same by turn position (turns `from … to`, 1-based). */
  by_position: ({ from: number; to: number; turns: number } & TurnBits)[];
  /**
   * Stored sizes: `append_bytes`, the conversations' `.r3m` files as `append` writes them by
   * default (`condition: "none"`), `append_conversation_bytes` and `append_best_bytes` with
   * `condition: "conversation"` and `"best"`; `separate_bytes`, each
   * turn's default `compress` on its own; `state_bytes`, the recurrent memory (one node of int8
   * slots, whatever the length); `turn_overhead_bytes`, what a turn adds beyond its stream
   * (code, node-table entry, stream length), per turn.
   */
  sizes: {
    append_bytes: number;
    append_conversation_bytes: number;
    append_best_bytes: number;
    separate_bytes: number;
    state_bytes: number;
    turn_overhead_bytes: number;
  };
  /** Per lag `L`: turn `N − L` from the memory after `N` turns (see the module doc). */
  recall: {
    lag: number;
    turns: number;
    bpb_saved: number;
    accuracy: number;
    accuracy_none: number;
  }[];
}

const POSITIONS: [number, number][] = [[2, 4], [5, 8], [9, 16], [17, 32], [33, 64]];
const LAGS = [0, 1, 2, 4, 8, 16];

// Ideal code length of `ids` after `context` in the window, from `memory`, with the document
// cache over context and ids; also how many of `ids` are the argmax of the model's own row.
function codeBits(
  m: EvalModel,
  memory: Float32Array,
  context: number[],
  ids: number[],
  cache = true,
): { bits: number; hits: number } {
  const { model } = m;
  const V = model.config.vocabSize;
  const all = context.concat(ids);
  const mixer = cache ? new CacheMixer(V) : null;
  const mixed = new Float32Array(V);
  let bits = 0, hits = 0;
  const score = (probs: Float32Array, row: number, i: number) => {
    const p = probs.subarray(row * V, (row + 1) * V);
    if (mixer) mixer.mix(p, mixed);
    if (i >= context.length) {
      bits -= Math.log2(Math.max((mixer ? mixed : p)[all[i]], 1e-30));
      let best = 0;
      for (let v = 1; v < V; v++) if (p[v] > p[best]) best = v;
      if (best === all[i]) hits++;
    }
    mixer?.update(all[i]);
  };
  const session = model.startDecoder(memory);
  try {
    session.begin();
    score(model.readProbs(1), 0, 0);
    for (let fed = 0; fed < all.length - 1;) {
      session.slideIfFull();
      const n = Math.min(session.room, all.length - 1 - fed);
      session.feed(all.slice(fed, fed + n));
      const probs = model.readProbs(n);
      for (let i = 0; i < n; i++) score(probs, i, fed + 1 + i);
      fed += n;
    }
  } finally {
    session.free();
  }
  return { bits, hits };
}

/**
 * The conversations of a set of documents: each with at least `minTurns` paragraphs of ≤ 1 KB
 * (its first `maxTurns`), at most `maxConversations` of them.
 *
 * @example
 * ```ts
 * import { conversationsOf } from "./conversation.ts";
 * const doc = { id: "d", text: Array.from({ length: 6 }, (_, i) => `Turn ${i}.`).join("\n\n") };
 * console.log(conversationsOf([doc], { minTurns: 4 })[0].length); // 6
 * ```
 */
export function conversationsOf(
  docs: EvalDocument[],
  o: { minTurns?: number; maxTurns?: number; maxConversations?: number } = {},
): string[][] {
  const out: string[][] = [];
  for (const d of docs) {
    const turns = messageParagraphs(d.text, 1024);
    if (turns.length >= (o.minTurns ?? 16)) out.push(turns.slice(0, o.maxTurns ?? 64));
    if (out.length >= (o.maxConversations ?? 8)) break;
  }
  return out;
}

/**
 * Measures append on conversations (see the module doc).
 *
 * @param m The model.
 * @param conversations Turns of each conversation (from {@linkcode conversationsOf}).
 * @returns The report.
 */
export async function conversationMetrics(
  m: EvalModel,
  conversations: string[][],
): Promise<ConversationReport> {
  const acc = newTally();
  const memories = memoryCoders(m);
  for (const conv of conversations) await measureConversation(m, conv, memories, acc);
  return conversationReport(conversations.length, acc);
}

/** How a memory is stored: `int8`, the document node's slots; `stored`, a turn's code. */
interface MemoryCoders {
  int8: (x: Float32Array) => Float32Array;
  stored: (x: Float32Array, n: number) => Float32Array;
}

const zeroBits = (): TurnBits => ({ alone: 0, alone_own: 0, append: 0, append_before: 0, full: 0 });

/** What `conversationMetrics` sums over the conversations. */
type Tally = ReturnType<typeof newTally>;

function newTally() {
  return {
    total: zeroBits(),
    byPos: POSITIONS.map(() => ({ bits: zeroBits(), bytes: 0, turns: 0 })),
    lag: LAGS.map(() => ({ turns: 0, bytes: 0, saved: 0, hits: 0, hitsNone: 0, tokens: 0 })),
    bytes: 0,
    turns: 0,
    appendBytes: 0,
    conversationBytes: 0,
    bestBytes: 0,
    separateBytes: 0,
    overhead: 0,
    stateBytes: 0,
  };
}

// A turn's code is what a lossless memory stores: the basis code of the length `compress` would
// pick, or int8 slots where the model has no basis.
function memoryCoders(m: EvalModel): MemoryCoders {
  const { memorySlots: S, dim: D } = m.config;
  const basis = m.r3.basis;
  const int8 = (x: Float32Array) => {
    const q = quantizeRowsInt8(x, S, D);
    return dequantizeRowsInt8(q.q, q.scales, S, D);
  };
  const stored = (x: Float32Array, n: number) =>
    basis ? basis.decode(basis.encode(x, codeLength(n, basis.components))) : int8(x);
  return { int8, stored };
}

// One conversation: its turns appended three ways and measured, then how far back its memory
// remembers.
async function measureConversation(
  m: EvalModel,
  conv: string[],
  memories: MemoryCoders,
  acc: Tally,
): Promise<void> {
  const { r3, model, config } = m;
  const { memorySlots: S, dim: D, segmentTokens: T } = config;
  const seqs = conv.map((t) => Array.from(r3.tokenizer.encode(t)));
  let state = model.memInit;
  const states: Float32Array[] = [];
  let history: number[] = [];
  let memory: Memory | null = null;
  let withMemory: Memory | null = null;
  let best: Memory | null = null;
  for (const [i, ids] of seqs.entries()) {
    // What append computes: the recurrent memory through the int8 document node.
    const before = state;
    let after = before;
    for (let j = 0; j < ids.length; j += T) {
      after = model.compressSegment(after, ids.slice(j, j + T));
    }
    state = memories.int8(after);
    states.push(state);
    const grown: number = memory?.byteLength ?? 0;
    memory = await r3.append(memory, conv[i]);
    withMemory = await r3.append(withMemory, conv[i], { condition: "conversation" });
    best = await r3.append(best, conv[i], { condition: "best" });
    if (i > 0) acc.overhead += memory.byteLength - grown - memory.data.turns![i].streamBytes;
    acc.separateBytes += r3.compressSync(conv[i]).byteLength;
    if (i > 0) {
      const bits = turnBits(m, memories, ids, { before, after, history });
      addTurn(acc, i, utf8Bytes(conv[i]), bits);
    }
    history = history.concat(ids);
  }
  acc.appendBytes += memory!.byteLength;
  acc.conversationBytes += withMemory!.byteLength;
  acc.bestBytes += best!.byteLength;
  acc.stateBytes = S * (D + 4);
  measureRecall(m, conv, seqs, states, acc);
}

// A turn's bits five ways (see the module doc): `before` and `after` are the recurrent memory
// without and with the turn, `history` the tokens of the turns before it.
function turnBits(
  m: EvalModel,
  memories: MemoryCoders,
  ids: number[],
  at: { before: Float32Array; after: Float32Array; history: number[] },
): TurnBits {
  const { model } = m;
  const { stored } = memories;
  return {
    alone: codeBits(m, model.memInit, [], ids).bits,
    alone_own: codeBits(m, stored(compressTokens(model, ids), ids.length), [], ids).bits,
    append: codeBits(m, stored(at.after, ids.length), [], ids).bits,
    append_before: codeBits(m, stored(at.before, ids.length), [], ids).bits,
    full: codeBits(m, model.memInit, at.history, ids).bits,
  };
}

// Adds turn `i` (0-based) of `bytes` UTF-8 bytes to the totals and to its position's.
function addTurn(acc: Tally, i: number, bytes: number, bits: TurnBits): void {
  const p = POSITIONS.findIndex(([a, z]) => i + 1 >= a && i + 1 <= z);
  for (const k of Object.keys(acc.total) as (keyof TurnBits)[]) {
    acc.total[k] += bits[k];
    if (p >= 0) acc.byPos[p].bits[k] += bits[k];
  }
  if (p >= 0) {
    acc.byPos[p].bytes += bytes;
    acc.byPos[p].turns++;
  }
  acc.bytes += bytes;
  acc.turns++;
}

// How far back: turn N − L from the memory after N turns (the last turn of the conversation
// and a few before it as N).
function measureRecall(
  m: EvalModel,
  conv: string[],
  seqs: number[][],
  states: Float32Array[],
  acc: Tally,
): void {
  for (let N = seqs.length - 1; N >= Math.max(0, seqs.length - 4); N--) {
    LAGS.forEach((L, k) => {
      if (N - L < 0) return;
      const ids = seqs[N - L];
      const withMem = codeBits(m, states[N], [], ids, false);
      const none = codeBits(m, m.model.memInit, [], ids, false);
      const lag = acc.lag[k];
      lag.turns++;
      lag.bytes += utf8Bytes(conv[N - L]);
      lag.saved += none.bits - withMem.bits;
      lag.hits += withMem.hits;
      lag.hitsNone += none.hits;
      lag.tokens += ids.length;
    });
  }
}

// The report from the sums: bits per byte, sizes and recall by lag.
function conversationReport(conversations: number, acc: Tally): ConversationReport {
  const per = (t: TurnBits, n: number): TurnBits => ({
    alone: t.alone / n,
    alone_own: t.alone_own / n,
    append: t.append / n,
    append_before: t.append_before / n,
    full: t.full / n,
  });
  const { byPos, lag } = acc;
  return {
    conversations,
    turns: acc.turns,
    bytes: acc.bytes,
    bpb: per(acc.total, acc.bytes),
    by_position: POSITIONS.map(([from, to], k) => ({
      from,
      to,
      turns: byPos[k].turns,
      ...per(byPos[k].bits, byPos[k].bytes),
    })).filter((p) => p.turns > 0),
    sizes: {
      append_bytes: acc.appendBytes,
      append_conversation_bytes: acc.conversationBytes,
      append_best_bytes: acc.bestBytes,
      separate_bytes: acc.separateBytes,
      state_bytes: acc.stateBytes,
      turn_overhead_bytes: acc.overhead / acc.turns,
    },
    recall: LAGS.map((L, k) => ({
      lag: L,
      turns: lag[k].turns,
      bpb_saved: lag[k].saved / lag[k].bytes,
      accuracy: lag[k].hits / lag[k].tokens,
      accuracy_none: lag[k].hitsNone / lag[k].tokens,
    })).filter((r) => r.turns > 0),
  };
}

/** The report's lines for the table output. */
export function formatConversation(c: ConversationReport): string[] {
  const n = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : "—");
  const row = (label: string, b: TurnBits) =>
    `  ${label.padEnd(12)}${n(b.alone).padStart(7)}${n(b.alone_own).padStart(11)}${
      n(b.append).padStart(8)
    }${n(b.append_before).padStart(15)}${n(b.full).padStart(7)}`;
  return [
    `conversations (bpb per turn)  ${c.conversations} conversations, ${c.turns} turns, ${c.bytes} bytes`,
    "  turns         alone  alone_own  append  append_before   full",
    row("all", c.bpb),
    ...c.by_position.map((p) => row(`${p.from}-${p.to} (${p.turns})`, p)),
    `  stored: append ${c.sizes.append_bytes} B (condition conversation ` +
    `${c.sizes.append_conversation_bytes} B, best ${c.sizes.append_best_bytes} B), ` +
    `each turn compressed alone ${c.sizes.separate_bytes} B; ` +
    `state ${c.sizes.state_bytes} B, ${
      n(c.sizes.turn_overhead_bytes, 1)
    } B/turn besides its stream`,
    "  memory after N turns, turn N-L: lag  bpb saved  accuracy (none)",
    ...c.recall.map((r) =>
      `  ${String(r.lag).padStart(37)}  ${n(r.bpb_saved).padStart(9)}  ${n(r.accuracy)} (${
        n(r.accuracy_none)
      })  ${r.turns} turns`
    ),
  ];
}
