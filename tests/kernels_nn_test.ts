// The WebAssembly nn kernels against the reference backend, on seeded random inputs, at sizes
// that are and are not multiples of the SIMD width (4 lanes).
//
// Tolerances: EPS = 2^-23 (f32 machine epsilon). Where a result is a reduction of length K
// (rmsnorm over d, softmax over n, attention over headDim and tk, cross-entropy over vocab) the
// bound is EPS·(c + K) relative to the size of the terms — the classical worst case of f32
// summation — so it grows with K. Ops that are a single correctly rounded f32 operation in both
// backends (add, mul, couple, embedding, the fixed-point coupling) must match bit for bit.
import { createWasmBackend } from "../src/backend/wasm/wasm_backend.ts";
import { loadKernels } from "../src/backend/wasm/kernels_module.ts";
import { createReferenceBackend } from "../src/backend/reference.ts";
import type { AttentionShape, Backend, F32, I32, Q8Matrix } from "../src/backend/backend.ts";
import { randint, randn, rng, uniform } from "./_rng.ts";

const EPS = 2 ** -23;
const SIZES = [1, 3, 4, 7, 8, 17, 33, 65, 130];

const wasm = await createWasmBackend();
const ref = createReferenceBackend();
const hasMatmulF32 = typeof (await loadKernels()).matmul_f32 === "function";

// ── helpers ──────────────────────────────────────────────────────────────────

type Buf = F32 | I32 | Q8Matrix;

/** Buffers allocated through a scope are freed when the callback returns. */
interface Scope {
  be: Backend;
  f32(init: number | ArrayLike<number>): F32;
  i32(init: number | ArrayLike<number>): I32;
}

function scoped<T>(be: Backend, fn: (s: Scope) => T): T {
  const live: Buf[] = [];
  const keep = <B extends Buf>(b: B): B => (live.push(b), b);
  const s: Scope = {
    be,
    f32: (init) => keep(be.f32(init)),
    i32: (init) => keep(be.i32(init)),
  };
  try {
    return fn(s);
  } finally {
    for (const b of live) be.free(b);
  }
}

/** Runs `fn` on the reference backend and on wasm: `[expected, got]`. */
function both<T>(fn: (s: Scope) => T): [T, T] {
  return [scoped(ref, fn), scoped(wasm, fn)];
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/**
 * Asserts |expected − got| ≤ rtol·|expected| + atol elementwise (NaN matches NaN). On failure
 * reports the op, its shape, the number of mismatches and the first few (index, expected, got).
 */
function assertClose(
  what: string,
  shape: string,
  expected: ArrayLike<number>,
  got: ArrayLike<number>,
  rtol: number | ArrayLike<number>,
  atol: number,
): void {
  if (expected.length !== got.length) {
    throw new Error(`${what} [${shape}]: length ${got.length}, expected ${expected.length}`);
  }
  const bad: string[] = [];
  let count = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i], g = got[i];
    if (Number.isNaN(e) && Number.isNaN(g)) continue;
    const rt = typeof rtol === "number" ? rtol : rtol[i];
    if (!(Math.abs(e - g) <= rt * Math.abs(e) + atol)) {
      count++;
      if (bad.length < 5) bad.push(`  index ${i}: expected ${e}, got ${g}, diff ${e - g}`);
    }
  }
  if (count) {
    throw new Error(
      `${what} [${shape}]: ${count}/${expected.length} elements out of tolerance ` +
        `(rtol ${typeof rtol === "number" ? rtol.toExponential(2) : "per element"}, atol ${
          atol.toExponential(2)
        })\n${bad.join("\n")}`,
    );
  }
}

/** Bit-for-bit equality (as float32 / int32 bit patterns). */
function assertBits(
  what: string,
  shape: string,
  expected: Float32Array | Int32Array,
  got: Float32Array | Int32Array,
): void {
  const e = new Int32Array(expected.buffer, expected.byteOffset, expected.length);
  const g = new Int32Array(got.buffer, got.byteOffset, got.length);
  if (e.length !== g.length) {
    throw new Error(`${what} [${shape}]: length ${g.length} != ${e.length}`);
  }
  for (let i = 0; i < e.length; i++) {
    if (e[i] !== g[i]) {
      throw new Error(
        `${what} [${shape}]: not bit-identical at index ${i}: expected ${expected[i]}, got ${
          got[i]
        }`,
      );
    }
  }
}

// ── elementwise ──────────────────────────────────────────────────────────────

Deno.test("add, mul: bit-identical to the reference; axpy within 1 ulp", () => {
  const r = rng(1);
  for (const n of SIZES) {
    const a = randn(r, n), b = randn(r, n), alpha = 0.37;
    const [e, g] = both(({ be, f32 }) => {
      const A = f32(a), B = f32(b), O = f32(n), Y = f32(b);
      be.add(O, A, B, n);
      const add = be.read(O);
      be.mul(O, A, B, n);
      const mul = be.read(O);
      be.axpy(Y, A, alpha, n);
      be.add(A, A, A, n); // in place
      return { add, mul, axpy: be.read(Y), inPlace: be.read(A) };
    });
    assertBits("add", `${n}`, e.add, g.add);
    assertBits("mul", `${n}`, e.mul, g.mul);
    assertBits("add in place", `${n}`, e.inPlace, g.inPlace);
    assertClose("axpy", `${n}`, e.axpy, g.axpy, 2 * EPS, 2 * EPS * maxAbs(b));
  }
});

// ── rmsnorm ──────────────────────────────────────────────────────────────────

Deno.test("rmsnorm forward (with invRms) and backward match the reference", () => {
  const r = rng(2);
  const rows = 3;
  for (const d of SIZES) {
    const x = randn(r, rows * d), w = uniform(r, d, 0.5, 1.5), dy = randn(r, rows * d);
    const dw0 = randn(r, d);
    const [e, g] = both(({ be, f32 }) => {
      const X = f32(x), W = f32(w), O = f32(rows * d), IR = f32(rows);
      be.rmsnorm(O, X, W, rows, d, 1e-5, IR);
      const out = be.read(O);
      const O2 = f32(rows * d);
      be.rmsnorm(O2, X, W, rows, d, 1e-5); // without invRms
      const DX = f32(rows * d), DW = f32(dw0), DY = f32(dy);
      be.rmsnormBackward(DX, DW, DY, X, W, rows, d, 1e-5);
      return { out, out2: be.read(O2), inv: be.read(IR), dx: be.read(DX), dw: be.read(DW) };
    });
    const tol = EPS * (16 + d);
    const shape = `rows ${rows}, d ${d}`;
    assertClose("rmsnorm out", shape, e.out, g.out, tol, 1e-30);
    assertBits("rmsnorm out without invRms", shape, g.out, g.out2);
    assertClose("rmsnorm invRms", shape, e.inv, g.inv, tol, 1e-30);
    // dx = dy·w·r − x·c can cancel: bound relative to the size of its terms.
    const terms = maxAbs(dy) * maxAbs(w) * maxAbs(e.inv);
    assertClose("rmsnorm dx", shape, e.dx, g.dx, tol, tol * 4 * terms);
    assertClose("rmsnorm dw (accumulated)", shape, e.dw, g.dw, tol, tol * 4 * maxAbs(e.dw));
  }
});

// ── softmax ──────────────────────────────────────────────────────────────────

Deno.test("softmax matches the reference, in place too", () => {
  const r = rng(3);
  const rows = 3;
  for (const std of [1, 8]) {
    for (const n of SIZES) {
      const x = randn(r, rows * n, std);
      const [e, g] = both(({ be, f32 }) => {
        const X = f32(x), O = f32(rows * n);
        be.softmax(O, X, rows, n);
        be.softmax(X, X, rows, n);
        return { out: be.read(O), inPlace: be.read(X) };
      });
      // e^(x−max): x−max is rounded in f32 (relative error |x−max|·EPS in the result), plus the
      // sum of n terms.
      const tol = EPS * (16 + n + 2 * maxAbs(x) * 2);
      assertClose("softmax", `rows ${rows}, n ${n}, std ${std}`, e.out, g.out, tol, 1e-37);
      assertBits("softmax in place", `n ${n}`, g.out, g.inPlace);
    }
  }
});

// ── activations ──────────────────────────────────────────────────────────────

Deno.test("silu, gelu and their backward passes match the reference", () => {
  const r = rng(4);
  const extremes = [0, -0, 1e-30, -1e-30, 10, -10, 30, -30, 100, -100, 1e4, -1e4, 1e9, -1e9];
  for (const n of [...SIZES, extremes.length]) {
    const x = n === extremes.length ? Float32Array.from(extremes) : randn(r, n, 3);
    const dy = randn(r, n);
    const [e, g] = both(({ be, f32 }) => {
      const X = f32(x), DY = f32(dy), O = f32(n);
      be.silu(O, X, n);
      const silu = be.read(O);
      be.siluBackward(O, DY, X, n);
      const dsilu = be.read(O);
      be.gelu(O, X, n);
      const gelu = be.read(O);
      be.geluBackward(O, DY, X, n);
      return { silu, dsilu, gelu, dgelu: be.read(O) };
    });
    for (const [k, v] of Object.entries(g)) {
      for (let i = 0; i < n; i++) {
        if (!Number.isFinite(v[i])) throw new Error(`${k}(${x[i]}) = ${v[i]}, not finite`);
      }
    }
    const shape = `n ${n}`;
    // Elementwise: exp is accurate to ~2 ulp, but its argument a (x for silu, 2u for gelu) is
    // itself rounded in f32, which costs a relative |a|·EPS: rtol = EPS·(16 + 4|a|) per element.
    // Backward formulas cancel where the derivative crosses zero: absolute term EPS·|dy|.
    const rs = Array.from(x, (v) => EPS * (16 + 4 * Math.min(100, Math.abs(v))));
    const rg = Array.from(x, (v) => {
      const a = Math.abs(2 * 0.7978845608 * (v + 0.044715 * v * v * v));
      return EPS * (16 + 4 * Math.min(100, a));
    });
    assertClose("silu", shape, e.silu, g.silu, rs, 1e-30);
    assertClose("gelu", shape, e.gelu, g.gelu, rg, 1e-30);
    assertClose("silu backward", shape, e.dsilu, g.dsilu, rs, 16 * EPS * maxAbs(dy));
    assertClose("gelu backward", shape, e.dgelu, g.dgelu, rg, 16 * EPS * maxAbs(dy));
  }
});

// ── rope ─────────────────────────────────────────────────────────────────────

Deno.test("rope forward and inverse match the reference; inverse undoes forward", () => {
  const r = rng(5);
  for (
    const [t, heads, headDim, pos0] of [[1, 1, 2, 0], [3, 2, 4, 5], [7, 3, 6, 0], [
      5,
      2,
      34,
      1000,
    ], [17, 2, 64, 3]]
  ) {
    const n = t * heads * headDim;
    const x = randn(r, n);
    const [e, g] = both(({ be, f32 }) => {
      const X = f32(x);
      be.rope(X, t, heads, headDim, pos0, 10000);
      const fwd = be.read(X);
      const Y = f32(x);
      be.rope(Y, t, heads, headDim, pos0, 10000, true);
      const inv = be.read(Y);
      be.rope(X, t, heads, headDim, pos0, 10000, true);
      return { fwd, inv, back: be.read(X) };
    });
    const shape = `t ${t}, heads ${heads}, headDim ${headDim}, pos0 ${pos0}`;
    // a·c − b·s with c, s rounded to f32: error a few EPS of |a| + |b|.
    const atol = 8 * EPS * maxAbs(x);
    assertClose("rope", shape, e.fwd, g.fwd, 4 * EPS, atol);
    assertClose("rope inverse", shape, e.inv, g.inv, 4 * EPS, atol);
    assertClose("rope roundtrip", shape, x, g.back, 4 * EPS, atol);
  }
});

// ── embedding ────────────────────────────────────────────────────────────────

Deno.test("embedding gather and scatter-add are bit-identical to the reference", () => {
  const r = rng(6);
  const vocab = 11;
  for (const d of SIZES) {
    const count = 9;
    const table = randn(r, vocab * d);
    const ids = randint(r, count, 0, vocab);
    ids[2] = ids[5] = ids[7]; // repeated ids accumulate
    ids[4] = -1; // ignored: zero row, skipped by backward
    const dout = randn(r, count * d), dtable0 = randn(r, vocab * d);
    const [e, g] = both(({ be, f32, i32 }) => {
      const T = f32(table), I = i32(ids), O = f32(count * d), DT = f32(dtable0);
      be.embedding(O, T, I, count, d);
      be.embeddingBackward(DT, f32(dout), I, count, d);
      return { out: be.read(O), dt: be.read(DT) };
    });
    assertBits("embedding", `count ${count}, d ${d}`, e.out, g.out);
    assertBits("embedding backward", `count ${count}, d ${d}`, e.dt, g.dt);
  }
});

Deno.test("f32FromQ8 dequantizes int8 rows bit-identically to the reference (both builds)", async () => {
  const r = rng(61);
  const portable = await createWasmBackend({ kernels: "portable" });
  for (const cols of [...SIZES, 128]) {
    const rows = 5;
    const q = Int8Array.from(randint(r, rows * cols, -128, 128));
    const scales = Float32Array.from(uniform(r, rows, 1e-4, 0.1));
    const refBuf = ref.f32FromQ8(q, scales, rows, cols);
    const want = ref.read(refBuf);
    ref.free(refBuf);
    for (let i = 0; i < want.length; i++) {
      if (want[i] !== Math.fround(q[i] * scales[Math.floor(i / cols)])) {
        throw new Error(`reference f32FromQ8 wrong at ${i}`);
      }
    }
    for (const be of [wasm, portable]) {
      const buf = be.f32FromQ8(q, scales, rows, cols);
      assertBits("f32FromQ8", `cols ${cols}`, want, be.read(buf));
      be.free(buf);
    }
  }
  let threw = false;
  try {
    wasm.f32FromQ8(new Int8Array(3), new Float32Array(1), 1, 4);
  } catch (e) {
    threw = e instanceof RangeError;
  }
  if (!threw) throw new Error("a wrong shape was accepted");
});

// ── attention ────────────────────────────────────────────────────────────────

type MaskKind = "causal" | "bidirectional" | "memory" | "edge";

/** keyLimit for `tq` queries over `tk` keys (queries are the last tq positions of the keys). */
function mask(kind: MaskKind, tq: number, tk: number, slots = 0): Int32Array {
  const lim = new Int32Array(tq);
  const off = tk - tq;
  for (let i = 0; i < tq; i++) {
    const pos = off + i; // absolute position of query i
    if (kind === "causal") lim[i] = pos + 1;
    else if (kind === "bidirectional") lim[i] = tk;
    // memory slots [0, S) see each other; text sees all memory plus itself causally.
    else if (kind === "memory") lim[i] = pos < slots ? slots : pos + 1;
    // out-of-range limits are clamped: < 0 and 0 see nothing, > tk sees everything.
    else lim[i] = [0, -3, tk + 5, 1, tk][i % 5];
  }
  return lim;
}

const ATT_CASES: [AttentionShape, MaskKind, number?][] = [
  [{ tq: 1, tk: 1, heads: 1, headDim: 1 }, "causal"],
  [{ tq: 3, tk: 3, heads: 2, headDim: 7 }, "causal"],
  [{ tq: 7, tk: 7, heads: 3, headDim: 17 }, "bidirectional"],
  [{ tq: 17, tk: 17, heads: 2, headDim: 33 }, "causal"],
  [{ tq: 12, tk: 12, heads: 2, headDim: 8 }, "memory", 4],
  [{ tq: 5, tk: 13, heads: 2, headDim: 16 }, "memory", 8],
  [{ tq: 9, tk: 9, heads: 1, headDim: 65 }, "edge"],
  [{ tq: 33, tk: 33, heads: 2, headDim: 64 }, "memory", 5],
];

Deno.test("attention forward (out, probs) and backward match the reference", () => {
  const r = rng(7);
  for (const [s, kind, slots] of ATT_CASES) {
    const w = s.heads * s.headDim;
    const q = randn(r, s.tq * w), k = randn(r, s.tk * w), v = randn(r, s.tk * w);
    const dout = randn(r, s.tq * w);
    const lim = mask(kind, s.tq, s.tk, slots);
    const [e, g] = both(({ be, f32, i32 }) => {
      const Q = f32(q), K = f32(k), V = f32(v), L = i32(lim);
      const O = f32(s.tq * w), P = f32(s.heads * s.tq * s.tk);
      be.fill(O, 123); // must be overwritten
      be.attention(O, Q, K, V, L, s, P);
      const O2 = f32(s.tq * w);
      be.attention(O2, Q, K, V, L, s); // without probs
      const DQ = f32(s.tq * w), DK = f32(s.tk * w), DV = f32(s.tk * w);
      for (const b of [DQ, DK, DV]) be.fill(b, 7); // overwritten, not accumulated
      be.attentionBackward(DQ, DK, DV, f32(dout), Q, K, V, P, s);
      return {
        out: be.read(O),
        out2: be.read(O2),
        probs: be.read(P),
        dq: be.read(DQ),
        dk: be.read(DK),
        dv: be.read(DV),
      };
    });
    const shape = `${JSON.stringify(s)}, ${kind} mask`;
    const tol = EPS * (32 + 2 * s.headDim + 2 * s.tk);
    assertClose("attention probs", shape, e.probs, g.probs, tol, tol * 1e-3);
    assertClose("attention out", shape, e.out, g.out, tol, tol * maxAbs(e.out));
    assertBits("attention out without probs", shape, g.out, g.out2);
    for (const key of ["dq", "dk", "dv"] as const) {
      assertClose(`attention ${key}`, shape, e[key], g[key], tol, 4 * tol * maxAbs(e[key]));
    }
    // Masked keys have exactly zero probability; a query with no visible key outputs zeros.
    for (let h = 0; h < s.heads; h++) {
      for (let i = 0; i < s.tq; i++) {
        const L = Math.max(0, Math.min(s.tk, lim[i]));
        for (let j = L; j < s.tk; j++) {
          if (g.probs[(h * s.tq + i) * s.tk + j] !== 0) {
            throw new Error(`${shape}: probs[${h},${i},${j}] should be 0 (masked)`);
          }
        }
        if (L === 0) {
          for (let d = 0; d < s.headDim; d++) {
            if (g.out[i * w + h * s.headDim + d] !== 0) {
              throw new Error(`${shape}: query ${i} sees no key but out is not 0`);
            }
          }
        }
      }
    }
  }
});

// ── cross-entropy ────────────────────────────────────────────────────────────

Deno.test("cross-entropy loss and gradient match the reference (ignored targets)", () => {
  const r = rng(8);
  const rows = 6;
  for (const vocab of SIZES) {
    const logits = randn(r, rows * vocab, 3);
    const targets = randint(r, rows, 0, vocab);
    targets[1] = -1;
    targets[4] = -100;
    const [e, g] = both(({ be, f32, i32 }) => {
      const X = f32(logits), T = i32(targets), G = f32(rows * vocab);
      be.fill(G, 5); // overwritten, ignored rows zeroed
      const loss = be.crossEntropy(X, T, rows, vocab, G);
      const lossOnly = be.crossEntropy(X, T, rows, vocab);
      const none = be.crossEntropy(X, i32(new Int32Array(rows).fill(-1)), rows, vocab, G);
      return { loss, lossOnly, grad: be.read(G), none, gradNone: be.read(G) };
    });
    const shape = `rows ${rows}, vocab ${vocab}`;
    const tol = EPS * (32 + vocab + 4 * maxAbs(logits));
    assertClose("cross-entropy loss", shape, [e.loss], [g.loss], tol, tol);
    if (g.loss !== g.lossOnly) throw new Error(`${shape}: loss depends on dlogits being given`);
    assertClose("cross-entropy dlogits", shape, e.grad, g.grad, tol, tol / rows);
    if (g.none !== 0 || maxAbs(g.gradNone) !== 0) {
      throw new Error(`${shape}: all targets ignored must give loss 0 and zero gradient`);
    }
  }
});

// ── coupling ─────────────────────────────────────────────────────────────────

Deno.test("coupling: fixed-point ops bit-identical to the reference, exact inverse", () => {
  const r = rng(9);
  for (const n of [...SIZES, 16]) {
    const fracBits = 16;
    const f = randn(r, n, 4);
    // ties (k + 0.5)·2^-16 round to even; huge values saturate; NaN converts to 0
    if (n >= 8) {
      f[0] = 2.5 / 2 ** 16;
      f[1] = -3.5 / 2 ** 16;
      f[2] = 1e12;
      f[3] = -1e12;
      f[4] = NaN;
      f[5] = 0.5 / 2 ** 16;
    }
    const x = randint(r, n, -(2 ** 31), 2 ** 31 - 1);
    if (n >= 8) x[6] = 2 ** 31 - 1; // wraps on forward
    const [e, g] = both(({ be, f32, i32 }) => {
      const X = i32(x), F = f32(f), Y = i32(n), Z = i32(n), T = i32(n), B = f32(n);
      be.coupleFixed(Y, X, F, n, fracBits, false);
      be.coupleFixed(Z, Y, F, n, fracBits, true);
      be.toFixed(T, F, n, fracBits);
      be.fromFixed(B, X, n, fracBits);
      return { y: be.readI32(Y), z: be.readI32(Z), t: be.readI32(T), b: be.read(B) };
    });
    assertBits("coupleFixed forward", `n ${n}`, e.y, g.y);
    assertBits("coupleFixed inverse", `n ${n}`, e.z, g.z);
    assertBits("coupleFixed roundtrip", `n ${n}`, x, g.z);
    assertBits("toFixed", `n ${n}`, e.t, g.t);
    assertBits("fromFixed", `n ${n}`, e.b, g.b);
    if (n >= 8) {
      const want = [2, -4, 2 ** 31 - 1, -(2 ** 31), 0, 0];
      for (let i = 0; i < want.length; i++) {
        if (g.t[i] !== want[i]) throw new Error(`toFixed(${f[i]}): ${g.t[i]}, want ${want[i]}`);
      }
    }
  }
});

Deno.test("coupling: f32 couple inverts within 1e-6 relative and matches the reference", () => {
  const r = rng(10);
  for (const n of SIZES) {
    const x = randn(r, n), f = randn(r, n);
    const [e, g] = both(({ be, f32 }) => {
      const X = f32(x), F = f32(f), Y = f32(n), Z = f32(n);
      be.couple(Y, X, F, n, false);
      be.couple(Z, Y, F, n, true);
      return { y: be.read(Y), z: be.read(Z) };
    });
    assertBits("couple forward", `n ${n}`, e.y, g.y);
    assertBits("couple inverse", `n ${n}`, e.z, g.z);
    for (let i = 0; i < n; i++) {
      const err = Math.abs(g.z[i] - x[i]);
      if (err > 1e-6 * Math.max(Math.abs(x[i]), Math.abs(f[i]))) {
        throw new Error(`couple roundtrip n ${n} index ${i}: expected ${x[i]}, got ${g.z[i]}`);
      }
    }
  }
});

// ── adamw ────────────────────────────────────────────────────────────────────

Deno.test("adamw matches the reference over several steps", () => {
  const r = rng(11);
  for (const n of SIZES) {
    const p0 = randn(r, n), grads = [randn(r, n), randn(r, n), randn(r, n, 1e-3)];
    const [e, g] = both(({ be, f32 }) => {
      const P = f32(p0), M = f32(n), V = f32(n), G = f32(n);
      grads.forEach((gr, i) => {
        be.write(G, gr);
        be.adamw(P, G, M, V, n, 1e-3, 0.9, 0.999, 1e-8, 0.01, i + 1);
      });
      return { p: be.read(P), m: be.read(M), v: be.read(V) };
    });
    const shape = `n ${n}`;
    // m = β1·m + (1−β1)·g can cancel: absolute bound relative to |g|
    assertClose("adamw m", shape, e.m, g.m, 8 * EPS, 4 * EPS * Math.max(...grads.map(maxAbs)));
    assertClose("adamw v", shape, e.v, g.v, 8 * EPS, 1e-15);
    // the update is ~lr; its relative error of a few EPS is far below one ulp of p
    assertClose("adamw param", shape, e.p, g.p, 2 * EPS, 1e-9);
  }
});

// ── matrix products (the lead's kernels, against the reference rule) ────────

Deno.test("matmulQ8 is bit-identical to the reference quantization rule", () => {
  const r = rng(12);
  for (const m of [1, 3, 5, 8]) {
    for (const k of [1, 3, 7, 17, 33, 65]) {
      for (const n of [1, 3, 9, 17]) {
        const x = randn(r, m * k);
        if (m > 1) x.fill(0, k, 2 * k); // an all-zero row: scale 0
        const q = new Int8Array(n * k).map(() => Math.floor(r() * 255) - 127);
        const sc = uniform(r, n, 0.001, 0.02);
        const [e, g] = both(({ be, f32 }) => {
          const W = be.q8(q, sc, n, k);
          try {
            const O = f32(m * n);
            be.matmulQ8(O, f32(x), W, m);
            return be.read(O);
          } finally {
            be.free(W);
          }
        });
        assertBits("matmulQ8", `m ${m}, k ${k}, n ${n}`, e, g);
      }
    }
  }
});

Deno.test({
  name: "matmul f32, all transpose and accumulate forms, matches the reference",
  ignore: !hasMatmulF32,
  fn() {
    const r = rng(13);
    for (const [m, k, n] of [[1, 1, 1], [3, 7, 5], [8, 17, 9], [5, 33, 12], [17, 65, 3]]) {
      const a = randn(r, m * k), b = randn(r, k * n), c0 = randn(r, m * n);
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          if (transA && transB) continue; // TT is optional
          for (const accumulate of [false, true]) {
            const opts = { transA, transB, accumulate };
            const [e, g] = both(({ be, f32 }) => {
              const O = f32(c0);
              be.matmul(O, f32(a), f32(b), m, k, n, opts);
              return be.read(O);
            });
            const tol = EPS * (8 + 2 * k);
            assertClose(
              "matmul",
              `m ${m}, k ${k}, n ${n}, ${JSON.stringify(opts)}`,
              e,
              g,
              tol,
              tol * 4,
            );
          }
        }
      }
    }
  },
});

// ── determinism and leaks ────────────────────────────────────────────────────

/** A fixed workload through every nn kernel; returns all outputs concatenated. */
function workload(be: Backend): Float32Array[] {
  const r = rng(99);
  return scoped(be, ({ f32, i32 }) => {
    const outs: Float32Array[] = [];
    const s: AttentionShape = { tq: 19, tk: 23, heads: 3, headDim: 22 };
    const w = s.heads * s.headDim;
    const Q = f32(randn(r, s.tq * w)), K = f32(randn(r, s.tk * w)), V = f32(randn(r, s.tk * w));
    const L = i32(mask("memory", s.tq, s.tk, 6));
    const O = f32(s.tq * w), P = f32(s.heads * s.tq * s.tk);
    be.rope(Q, s.tq, s.heads, s.headDim, 4, 10000);
    be.attention(O, Q, K, V, L, s, P);
    const DQ = f32(s.tq * w), DK = f32(s.tk * w), DV = f32(s.tk * w);
    be.attentionBackward(DQ, DK, DV, f32(randn(r, s.tq * w)), Q, K, V, P, s);
    outs.push(be.read(O), be.read(P), be.read(DQ), be.read(DK), be.read(DV));
    const X = f32(randn(r, 5 * 37, 4)), Y = f32(5 * 37), W = f32(uniform(r, 37));
    be.rmsnorm(Y, X, W, 5, 37, 1e-5);
    outs.push(be.read(Y));
    const DW = f32(37);
    be.rmsnormBackward(Y, DW, X, X, W, 5, 37, 1e-5);
    outs.push(be.read(Y), be.read(DW));
    be.softmax(Y, X, 5, 37);
    outs.push(be.read(Y));
    be.silu(Y, X, 185);
    outs.push(be.read(Y));
    be.gelu(Y, X, 185);
    outs.push(be.read(Y));
    be.geluBackward(Y, Y, X, 185);
    outs.push(be.read(Y));
    const T = i32(randint(r, 5, -1, 37)), G = f32(5 * 37);
    outs.push(Float32Array.of(be.crossEntropy(X, T, 5, 37, G)), be.read(G));
    const M = f32(185), VV = f32(185);
    for (let t = 1; t <= 3; t++) be.adamw(W, Y, M, VV, 37, 1e-2, 0.9, 0.99, 1e-8, 0.1, t);
    outs.push(be.read(W));
    return outs;
  });
}

Deno.test("wasm kernels are bit-identical across runs and instances", async () => {
  const other = await createWasmBackend();
  const a = workload(wasm), b = workload(wasm), c = workload(other);
  a.forEach((x, i) => {
    assertBits(`workload output ${i} (same instance)`, `${x.length}`, x, b[i]);
    assertBits(`workload output ${i} (fresh instance)`, `${x.length}`, x, c[i]);
  });
});

Deno.test("no buffers leak from the tests above", () => {
  // Only the binding's scratch may stay (wasm keeps and grows it).
  const before = ref.bytesInUse();
  workload(ref);
  if (ref.bytesInUse() !== before || before !== 0) {
    throw new Error(`reference backend holds ${ref.bytesInUse()} bytes`);
  }
  const w0 = wasm.bytesInUse();
  workload(wasm);
  if (wasm.bytesInUse() !== w0) throw new Error(`wasm grew from ${w0} to ${wasm.bytesInUse()}`);
});
