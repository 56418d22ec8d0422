/**
 * A run's input rows and their gradients: each row is `table[index] + type_embed[type]`, as the
 * runtime's transformer builds it, where the table is the token embedding (text), the fresh
 * memory rows, the current memory, or (cycle loss) given soft rows.
 *
 * @module
 */
import type { F32, I32 } from "../../backend/backend.ts";
import { TYPE_FRESH, TYPE_MEMORY, TYPE_TEXT } from "../../model/weights.ts";
import type { EngineState } from "./state.ts";

/** An embedded input and what its rows are, for the input gradients. */
export interface Input {
  n: number;
  x: F32;
  limits: I32;
  /** Token id per row, -1 elsewhere. */
  textIds: I32;
  /** Type per row. */
  typeIds: I32;
  /** Fresh slot per row, -1 elsewhere. */
  freshIds: I32;
  /** Memory slot per row, -1 elsewhere. */
  memIds: I32;
}

/** What one input row is: a memory slot, a token, a fresh slot, or a soft row. */
export interface RowSpec {
  kind: "mem" | "text" | "fresh" | "soft";
  id: number;
}

/**
 * Builds an input: `rows` in order, row `i` attending to rows before `limits[i]`; memory rows
 * read `mem`, soft rows `soft[softRow0 + id]`.
 */
export function buildInput(
  st: EngineState,
  rows: RowSpec[],
  limits: Int32Array,
  mem: F32 | null,
  soft: F32 | null,
  softRow0: number,
): Input {
  const be = st.backend, D = st.config.dim, n = rows.length;
  if (n > st.maxRows) {
    throw new RangeError(`Run of ${n} rows exceeds maxRows ${st.maxRows}`);
  }
  const textIds = new Int32Array(n).fill(-1), freshIds = new Int32Array(n).fill(-1);
  const memIds = new Int32Array(n).fill(-1), typeIds = new Int32Array(n);
  rows.forEach((r, i) => {
    if (r.kind === "mem") memIds[i] = r.id, typeIds[i] = TYPE_MEMORY;
    else if (r.kind === "text") textIds[i] = r.id, typeIds[i] = TYPE_TEXT;
    else if (r.kind === "soft") typeIds[i] = TYPE_TEXT;
    else freshIds[i] = r.id, typeIds[i] = TYPE_FRESH;
  });
  const inp: Input = {
    n,
    x: be.f32(n * D),
    limits: be.i32(limits),
    textIds: be.i32(textIds),
    typeIds: be.i32(typeIds),
    freshIds: be.i32(freshIds),
    memIds: be.i32(memIds),
  };
  const t = st.s.tmp;
  be.embedding(inp.x, st.params.get("base.embed")!, inp.textIds, n, D);
  be.embedding(t, st.params.get("mem_fresh")!, inp.freshIds, n, D);
  be.add(inp.x, inp.x, t, n * D);
  if (mem) {
    be.embedding(t, mem, inp.memIds, n, D);
    be.add(inp.x, inp.x, t, n * D);
  }
  if (soft) {
    rows.forEach((r, i) => {
      if (r.kind === "soft") be.copy(inp.x, i * D, soft, (softRow0 + r.id) * D, D);
    });
  }
  be.embedding(t, st.params.get("type_embed")!, inp.typeIds, n, D);
  be.add(inp.x, inp.x, t, n * D);
  return inp;
}

/** Releases an input's buffers. */
export function freeInput(st: EngineState, inp: Input): void {
  const be = st.backend;
  for (const b of [inp.x, inp.limits, inp.textIds, inp.typeIds, inp.freshIds, inp.memIds]) {
    be.free(b);
  }
}

/** Gradients of the input tables from `dX`: embedding (stage 1), type, fresh memory. */
export function inputBackward(st: EngineState, inp: Input, dX: F32): void {
  const be = st.backend, D = st.config.dim, n = inp.n;
  const gEmbed = st.grads.get("base.embed");
  if (gEmbed) be.embeddingBackward(gEmbed, dX, inp.textIds, n, D);
  const gType = st.grads.get("type_embed");
  if (gType) be.embeddingBackward(gType, dX, inp.typeIds, n, D);
  const gFresh = st.grads.get("mem_fresh");
  if (gFresh) be.embeddingBackward(gFresh, dX, inp.freshIds, n, D);
}
