/**
 * Compression: the forward direction folds a text into memory segment by segment, from
 * `mem_init`, as the runtime's `compressSegment` loop does (rows `[memory | segment | fresh]`,
 * the fresh rows' outputs are the next memory). Every segment's run is kept for the backward
 * pass through the chain.
 *
 * @module
 */
import type { F32 } from "../../backend/backend.ts";
import { dequantizeRowsInt8, quantizeRowsInt8 } from "../../model/weights_format.ts";
import { backward } from "./backward.ts";
import { forward, freeRun, type Run } from "./forward.ts";
import { buildInput, freeInput, type Input, inputBackward, type RowSpec } from "./input.ts";
import type { EngineState } from "./state.ts";

/** One segment of a compression chain. */
export interface ChainLink {
  run: Run;
  input: Input;
  /** Tokens (or soft rows) in the segment. */
  T: number;
  /** Index of its first token. */
  start: number;
}

/** A compression chain: its segments and the final memory `[S*D]`. */
export interface Chain {
  links: ChainLink[];
  memory: F32;
}

/** Soft input rows `rows[row0 + j]`, `count` of them, compressed instead of tokens. */
export interface SoftRows {
  rows: F32;
  row0: number;
  count: number;
}

/**
 * Recurrent compression of `tokens` (or, with `soft`, of soft rows `soft.rows[soft.row0 + j]`)
 * from `mem_init`. Keeps every segment's run for the backward pass.
 */
export function compressChain(st: EngineState, tokens: Int32Array, soft: SoftRows | null): Chain {
  const be = st.backend, c = st.config, S = c.memorySlots, D = c.dim, T = c.segmentTokens;
  const total = soft ? soft.count : tokens.length;
  const links: ChainLink[] = [];
  let mem = st.params.get("mem_init")!;
  let owned: F32 | null = null;
  for (let start = 0; start < total || start === 0; start += T) {
    const t = Math.min(T, total - start);
    const n = 2 * S + t;
    const rows: RowSpec[] = [];
    const limits = new Int32Array(n);
    for (let i = 0; i < S; i++) rows.push({ kind: "mem", id: i }), limits[i] = S;
    for (let j = 0; j < t; j++) {
      rows.push(soft ? { kind: "soft", id: start + j } : { kind: "text", id: tokens[start + j] });
      limits[S + j] = S + t;
    }
    for (let i = 0; i < S; i++) rows.push({ kind: "fresh", id: i }), limits[S + t + i] = n;
    const input = buildInput(st, rows, limits, mem, soft?.rows ?? null, soft?.row0 ?? 0);
    const run = forward(st, st.views.get("fwd")!, input);
    const next = be.f32(S * D);
    be.copy(next, 0, run.h, (S + t) * D, S * D);
    if (owned) be.free(owned);
    owned = next;
    mem = next;
    links.push({ run, input, T: t, start });
  }
  return { links, memory: owned! };
}

/**
 * Backward through a compression chain given the final memory's gradient `dm` (consumed).
 * Soft rows' gradients go to `dSoft` (rows `row0 + j`) when given.
 */
export function chainBackward(
  st: EngineState,
  chain: { links: ChainLink[] },
  dm: F32,
  dSoft: { rows: F32; row0: number } | null,
): void {
  const be = st.backend, c = st.config, S = c.memorySlots, D = c.dim;
  for (let k = chain.links.length - 1; k >= 0; k--) {
    const { run, input, T: t, start } = chain.links[k];
    const dH = be.f32(run.n * D);
    be.copy(dH, (S + t) * D, dm, 0, S * D);
    const dX = backward(st, run, dH);
    inputBackward(st, input, dX);
    if (dSoft) be.copy(dSoft.rows, (dSoft.row0 + start) * D, dX, S * D, t * D);
    if (k > 0) be.copy(dm, 0, dX, 0, S * D);
    else {
      const g = st.grads.get("mem_init");
      if (g) be.embeddingBackward(g, dX, input.memIds, run.n, D);
    }
    be.free(dH);
    be.free(dX);
  }
}

/** Releases a chain's runs, inputs and memory. */
export function freeChain(st: EngineState, chain: Chain): void {
  for (const l of chain.links) freeRun(st, l.run), freeInput(st, l.input);
  st.backend.free(chain.memory);
}

/** The final memory `[S*D]` of `tokens` (no gradient). */
export function compress(st: EngineState, tokens: Int32Array): Float32Array {
  const chain = compressChain(st, tokens, null);
  const out = st.backend.read(chain.memory);
  freeChain(st, chain);
  return out;
}

/** The memory as the runtime stores it: int8 per row, dequantized (unless `quantizeMemory` is off). */
export function fakeQuant(st: EngineState, m: F32): F32 {
  const c = st.config;
  if (!st.quantizeMemory) return st.backend.f32(st.backend.read(m));
  const { q, scales } = quantizeRowsInt8(st.backend.read(m), c.memorySlots, c.dim);
  return st.backend.f32(dequantizeRowsInt8(q, scales, c.memorySlots, c.dim));
}
