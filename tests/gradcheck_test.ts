// Finite-difference checks of every backward pass, on both backends.
//
// Method: for a scalar loss L(x) = Σ f(x)ᵢ·gᵢ (g fixed and random; for cross-entropy L is the
// loss itself) we compare the central difference L(x⁺) − L(x⁻), x± = fl32(x ± εu), with the
// analytic Σ ∂L/∂xᵢ·Δᵢ, Δ = x⁺ − x⁻ (the perturbation actually applied once the inputs are
// rounded to f32), for u a random direction (3 per input) or a coordinate (3 per input),
// ε = 1e-2. The forward pass runs in f32 on the backend under test; L is summed in f64.
//
// Tolerance: |numeric − analytic| ≤ rtol·(|analytic| + ‖(∂L/∂xᵢ·Δᵢ)ᵢ‖₂) + 16·EPS·Σ|f(x)ᵢ·gᵢ|.
// rtol = 2e-3 for the nonlinear ops (the O(ε²) truncation error of central differences), 1e-4
// for the linear ones (matmul, embedding), where only f32 rounding remains. Rope is checked as
// an adjoint identity instead: <rope(x), g> = <x, rope⁻¹(g)> to 1e-5 of Σ|x|·|g|.
import { createWasmBackend } from "../src/backend/wasm/wasm_backend.ts";
import { loadKernels } from "../src/backend/wasm/kernels_module.ts";
import { createReferenceBackend } from "../src/backend/reference.ts";
import type { AttentionShape, Backend, F32, I32 } from "../src/backend/backend.ts";
import { randint, randn, rng, uniform } from "./_rng.ts";

const EPS = 2 ** -23;
const FD_EPS = 1e-2;
const RTOL_NONLINEAR = 2e-3;
const RTOL_LINEAR = 1e-4;

const hasMatmulF32 = typeof (await loadKernels()).matmul_f32 === "function";
const BACKENDS: [string, Backend][] = [
  ["reference", createReferenceBackend()],
  ["wasm", await createWasmBackend()],
];

/** A loss value and the scale of its terms Σ|termᵢ| (for the rounding allowance). */
type Loss = [value: number, scale: number];

/** Σ out·g in f64, and Σ|out·g|. */
function project(out: ArrayLike<number>, g: ArrayLike<number>): Loss {
  let s = 0, a = 0;
  for (let i = 0; i < out.length; i++) {
    s += out[i] * g[i];
    a += Math.abs(out[i] * g[i]);
  }
  return [s, a];
}

/** Allocates through `be`, runs `fn`, frees everything. */
function withBuffers<T>(
  be: Backend,
  fn: (f32: (x: number | ArrayLike<number>) => F32, i32: (x: ArrayLike<number>) => I32) => T,
): T {
  const live: (F32 | I32)[] = [];
  try {
    return fn(
      (x) => {
        const b = be.f32(x);
        live.push(b);
        return b;
      },
      (x) => {
        const b = be.i32(x);
        live.push(b);
        return b;
      },
    );
  } finally {
    for (const b of live) be.free(b);
  }
}

/**
 * Checks `grad` = ∂L/∂x at `x` by central differences along random and coordinate directions.
 * On failure reports the direction, both values and the shape.
 */
function checkGrad(
  what: string,
  loss: (x: Float32Array) => Loss,
  x: Float32Array,
  grad: ArrayLike<number>,
  rtol: number,
  seed: number,
): void {
  const r = rng(seed);
  const n = x.length;
  const scale = loss(x)[1];
  for (let t = 0; t < 6; t++) {
    const coord = t >= 3 ? Math.floor(r() * n) : -1;
    const u = coord >= 0 ? new Float32Array(n).fill(0) : randn(r, n);
    if (coord >= 0) u[coord] = 1;
    const xp = new Float32Array(n), xm = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      xp[i] = x[i] + FD_EPS * u[i];
      xm[i] = x[i] - FD_EPS * u[i];
    }
    let analytic = 0, mag = 0;
    for (let i = 0; i < n; i++) {
      const d = grad[i] * (xp[i] - xm[i]);
      analytic += d;
      mag += d * d;
    }
    const numeric = loss(xp)[0] - loss(xm)[0];
    const bound = rtol * (Math.abs(analytic) + Math.sqrt(mag)) + 16 * EPS * scale;
    if (!(Math.abs(numeric - analytic) <= bound)) {
      const dir = coord >= 0 ? `coordinate ${coord}` : `random direction ${t}`;
      throw new Error(
        `${what}: ${dir}: finite difference ${numeric}, analytic ${analytic}, ` +
          `diff ${numeric - analytic} > bound ${bound} (n ${n})`,
      );
    }
  }
}

// ── rmsnorm ──────────────────────────────────────────────────────────────────

for (const [name, be] of BACKENDS) {
  Deno.test(`gradcheck ${name}: rmsnorm backward (dx, dweight)`, () => {
    const r = rng(21);
    for (const [rows, d] of [[3, 17], [2, 8], [1, 3]]) {
      const x = randn(r, rows * d), w = uniform(r, d, 0.5, 1.5), g = randn(r, rows * d);
      const fwd = (xv: Float32Array, wv: Float32Array): Loss =>
        withBuffers(be, (f32) => {
          const O = f32(rows * d);
          be.rmsnorm(O, f32(xv), f32(wv), rows, d, 1e-5);
          return project(be.read(O), g);
        });
      const [dx, dw] = withBuffers(be, (f32) => {
        const DX = f32(rows * d), DW = f32(d);
        be.rmsnormBackward(DX, DW, f32(g), f32(x), f32(w), rows, d, 1e-5);
        return [be.read(DX), be.read(DW)];
      });
      const shape = `rows ${rows}, d ${d}`;
      checkGrad(`rmsnorm dx [${shape}]`, (xv) => fwd(xv, w), x, dx, RTOL_NONLINEAR, 1);
      checkGrad(`rmsnorm dweight [${shape}]`, (wv) => fwd(x, wv), w, dw, RTOL_NONLINEAR, 2);
    }
  });

  // ── activations ──────────────────────────────────────────────────────────

  Deno.test(`gradcheck ${name}: silu and gelu backward`, () => {
    const r = rng(22);
    for (const n of [1, 7, 33]) {
      const x = randn(r, n, 2), g = randn(r, n);
      for (const act of ["silu", "gelu"] as const) {
        const fwd = (xv: Float32Array): Loss =>
          withBuffers(be, (f32) => {
            const O = f32(n);
            be[act](O, f32(xv), n);
            return project(be.read(O), g);
          });
        const dx = withBuffers(be, (f32) => {
          const DX = f32(n);
          be[act === "silu" ? "siluBackward" : "geluBackward"](DX, f32(g), f32(x), n);
          return be.read(DX);
        });
        checkGrad(`${act} [n ${n}]`, fwd, x, dx, RTOL_NONLINEAR, 3);
      }
    }
  });

  // ── rope ─────────────────────────────────────────────────────────────────

  Deno.test(`gradcheck ${name}: rope backward is its inverse (adjoint identity)`, () => {
    const r = rng(23);
    for (const [t, heads, headDim, pos0] of [[5, 2, 8, 0], [3, 3, 6, 17], [4, 1, 64, 2000]]) {
      const n = t * heads * headDim;
      const x = randn(r, n), g = randn(r, n);
      const [rx, rg] = withBuffers(be, (f32) => {
        const X = f32(x), G = f32(g);
        be.rope(X, t, heads, headDim, pos0, 10000);
        be.rope(G, t, heads, headDim, pos0, 10000, true);
        return [be.read(X), be.read(G)];
      });
      const [lhs] = project(rx, g), [rhs, scale] = project(x, rg);
      if (!(Math.abs(lhs - rhs) <= 1e-5 * scale)) {
        throw new Error(
          `rope [t ${t}, heads ${heads}, headDim ${headDim}, pos0 ${pos0}]: ` +
            `<rope(x), g> = ${lhs} but <x, rope^-1(g)> = ${rhs}`,
        );
      }
    }
  });

  // ── embedding ────────────────────────────────────────────────────────────

  Deno.test(`gradcheck ${name}: embedding backward (scatter-add)`, () => {
    const r = rng(24);
    const vocab = 7, d = 5, count = 11;
    const table = randn(r, vocab * d), ids = randint(r, count, 0, vocab), g = randn(r, count * d);
    ids[3] = ids[8]; // repeated id
    const fwd = (tv: Float32Array): Loss =>
      withBuffers(be, (f32, i32) => {
        const O = f32(count * d);
        be.embedding(O, f32(tv), i32(ids), count, d);
        return project(be.read(O), g);
      });
    const dt = withBuffers(be, (f32, i32) => {
      const DT = f32(vocab * d);
      be.embeddingBackward(DT, f32(g), i32(ids), count, d);
      return be.read(DT);
    });
    checkGrad(`embedding [count ${count}, d ${d}]`, fwd, table, dt, RTOL_LINEAR, 4);
  });

  // ── attention ────────────────────────────────────────────────────────────

  Deno.test(`gradcheck ${name}: attention backward (causal and memory-prefix masks)`, () => {
    const r = rng(25);
    const cases: [AttentionShape, Int32Array, string][] = [
      [{ tq: 6, tk: 6, heads: 2, headDim: 5 }, Int32Array.from([1, 2, 3, 4, 5, 6]), "causal"],
      // 3 memory slots, then 7 text positions; queries are all 10 positions: memory sees memory,
      // text sees memory + causal text.
      [
        { tq: 10, tk: 10, heads: 2, headDim: 4 },
        Int32Array.from([3, 3, 3, 4, 5, 6, 7, 8, 9, 10]),
        "memory prefix",
      ],
      // queries are the 4 text positions after 4 memory slots and 2 earlier text positions
      [{ tq: 4, tk: 10, heads: 1, headDim: 8 }, Int32Array.from([7, 8, 9, 10]), "memory + cache"],
    ];
    for (const [s, lim, kind] of cases) {
      const w = s.heads * s.headDim;
      const q = randn(r, s.tq * w), k = randn(r, s.tk * w), v = randn(r, s.tk * w);
      const g = randn(r, s.tq * w);
      const fwd = (qv: Float32Array, kv: Float32Array, vv: Float32Array): Loss =>
        withBuffers(be, (f32, i32) => {
          const O = f32(s.tq * w);
          be.attention(O, f32(qv), f32(kv), f32(vv), i32(lim), s);
          return project(be.read(O), g);
        });
      const [dq, dk, dv] = withBuffers(be, (f32, i32) => {
        const Q = f32(q), K = f32(k), V = f32(v), P = f32(s.heads * s.tq * s.tk);
        be.attention(f32(s.tq * w), Q, K, V, i32(lim), s, P);
        const DQ = f32(s.tq * w), DK = f32(s.tk * w), DV = f32(s.tk * w);
        be.attentionBackward(DQ, DK, DV, f32(g), Q, K, V, P, s);
        return [be.read(DQ), be.read(DK), be.read(DV)];
      });
      const shape = `${JSON.stringify(s)}, ${kind}`;
      checkGrad(`attention dq [${shape}]`, (x) => fwd(x, k, v), q, dq, RTOL_NONLINEAR, 5);
      checkGrad(`attention dk [${shape}]`, (x) => fwd(q, x, v), k, dk, RTOL_NONLINEAR, 6);
      checkGrad(`attention dv [${shape}]`, (x) => fwd(q, k, x), v, dv, RTOL_NONLINEAR, 7);
    }
  });

  // ── cross-entropy ────────────────────────────────────────────────────────

  Deno.test(`gradcheck ${name}: cross-entropy gradient (with ignored targets)`, () => {
    const r = rng(26);
    for (const [rows, vocab] of [[4, 9], [5, 33], [1, 2]]) {
      const logits = randn(r, rows * vocab, 2), targets = randint(r, rows, 0, vocab);
      if (rows > 1) targets[1] = -1;
      const fwd = (xv: Float32Array): Loss =>
        withBuffers(be, (f32, i32) => {
          const l = be.crossEntropy(f32(xv), i32(targets), rows, vocab);
          return [l, Math.abs(l)];
        });
      const grad = withBuffers(be, (f32, i32) => {
        const G = f32(rows * vocab);
        be.crossEntropy(f32(logits), i32(targets), rows, vocab, G);
        return be.read(G);
      });
      checkGrad(`cross-entropy [rows ${rows}, vocab ${vocab}]`, fwd, logits, grad, 2e-3, 8);
    }
  });

  // ── matmul, transposed forms of training ─────────────────────────────────

  Deno.test({
    name: `gradcheck ${name}: matmul gradients dA = dY·Bᵀ, dB = Aᵀ·dY (and the Wᵀ layer form)`,
    ignore: name === "wasm" && !hasMatmulF32,
    fn() {
      const r = rng(27);
      for (const [m, k, n] of [[3, 5, 4], [7, 17, 9], [1, 33, 2]]) {
        const a = randn(r, m * k), b = randn(r, k * n), g = randn(r, m * n);
        const shape = `m ${m}, k ${k}, n ${n}`;
        // Y = A·B
        const fwd = (av: Float32Array, bv: Float32Array): Loss =>
          withBuffers(be, (f32) => {
            const Y = f32(m * n);
            be.matmul(Y, f32(av), f32(bv), m, k, n);
            return project(be.read(Y), g);
          });
        const [dA, dB] = withBuffers(be, (f32) => {
          const A = f32(a), B = f32(b), G = f32(g), DA = f32(m * k), DB = f32(k * n);
          be.matmul(DA, G, B, m, n, k, { transB: true }); // dA[m,k] = dY[m,n]·Bᵀ
          be.matmul(DB, A, G, k, m, n, { transA: true }); // dB[k,n] = Aᵀ·dY[m,n]
          return [be.read(DA), be.read(DB)];
        });
        checkGrad(`matmul dA [${shape}]`, (x) => fwd(x, b), a, dA, RTOL_LINEAR, 9);
        checkGrad(`matmul dB [${shape}]`, (x) => fwd(a, x), b, dB, RTOL_LINEAR, 10);

        // Linear layer Y = X·Wᵀ, W stored [n, k]: dX = dY·W, dW (+)= dYᵀ·X.
        const wt = randn(r, n * k);
        const fwdT = (xv: Float32Array, wv: Float32Array): Loss =>
          withBuffers(be, (f32) => {
            const Y = f32(m * n);
            be.matmul(Y, f32(xv), f32(wv), m, k, n, { transB: true });
            return project(be.read(Y), g);
          });
        const dW0 = randn(r, n * k);
        const [dX, dW] = withBuffers(be, (f32) => {
          const X = f32(a), W = f32(wt), G = f32(g), DX = f32(m * k), DW = f32(dW0);
          be.matmul(DX, G, W, m, n, k); // dX[m,k] = dY[m,n]·W[n,k]
          be.matmul(DW, G, X, n, m, k, { transA: true, accumulate: true }); // dW += dYᵀ·X
          return [be.read(DX), be.read(DW).map((v, i) => v - dW0[i])];
        });
        checkGrad(`linear dX [${shape}]`, (x) => fwdT(x, wt), a, dX, RTOL_LINEAR, 11);
        checkGrad(`linear dW [${shape}]`, (x) => fwdT(a, x), wt, dW, 2 * RTOL_LINEAR, 12);
      }
    },
  });
}
