// Matrix products: the wasm kernels (deterministic and fast modes) against the plain TypeScript
// reference, on seeded random inputs including sizes that are not multiples of the tiles.
import { assert, assertClose, assertEquals } from "./_assert.ts";
import { randint, randn, rng } from "./_rng.ts";
import { createReferenceBackend } from "../src/backend/reference.ts";
import { createWasmBackend } from "../src/backend/wasm/wasm_backend.ts";
import type { Backend } from "../src/backend/backend.ts";

const ref = createReferenceBackend();
const det = await createWasmBackend({ deterministic: true });
const fast = await createWasmBackend({ deterministic: false });
// The SIMD-only build (for engines without relaxed SIMD), asked for its fast mode.
const portable = await createWasmBackend({ deterministic: false, kernels: "portable" });

// [M, K, N]: unit sizes, odd sizes, tile edges (6-row blocks, 8-channel panels, K quads).
const SHAPES = [
  [1, 1, 1],
  [1, 3, 7],
  [2, 5, 9],
  [3, 17, 33],
  [6, 16, 8],
  [7, 33, 17],
  [13, 64, 40],
  [1, 512, 96],
  [19, 130, 65],
];

function q8Case(
  b: Backend,
  x: Float32Array,
  q: Int8Array,
  s: Float32Array,
  m: number,
  k: number,
  n: number,
) {
  const w = b.q8(q, s, n, k);
  const xb = b.f32(x);
  const out = b.f32(m * n);
  b.matmulQ8(out, xb, w, m);
  const r = b.read(out);
  b.free(w);
  b.free(xb);
  b.free(out);
  return r;
}

Deno.test("matmulQ8: wasm (both modes, both builds) equals the reference bit for bit", () => {
  const rand = rng(1);
  for (const [m, k, n] of SHAPES) {
    const x = randn(rand, m * k);
    if (m > 1) x.fill(0, 0, k); // an all-zero row (scale 0) must give zeros, not NaN
    const q = Int8Array.from(randint(rand, n * k, -127, 128));
    const s = randn(rand, n, 0.02).map(Math.abs);
    const want = q8Case(ref, x, q, s, m, k, n);
    for (const [name, b] of [["det", det], ["fast", fast], ["portable build", portable]] as const) {
      const got = q8Case(b, x, q, s, m, k, n);
      assertClose(got, want, 0, `matmulQ8 ${name} [${m},${k},${n}]`);
    }
    assert(want.every(Number.isFinite), "reference produced a non-finite value");
  }
});

Deno.test("matmulQ8: extreme weights (-127, 127) and activations do not overflow", () => {
  const [m, k, n] = [7, 1024, 9];
  const x = new Float32Array(m * k).map((_, i) => (i % 2 ? 1 : -1) * 1e3);
  const q = new Int8Array(n * k).map((_, i) => (i % 3 ? 127 : -127));
  const s = new Float32Array(n).fill(1);
  const want = q8Case(ref, x, q, s, m, k, n);
  assertClose(q8Case(fast, x, q, s, m, k, n), want, 0, "extreme fast");
  assertClose(q8Case(det, x, q, s, m, k, n), want, 0, "extreme det");
});

Deno.test("matmulQ8 approximates the f32 product (quantization error bound)", () => {
  const rand = rng(2);
  const [m, k, n] = [5, 256, 24];
  const x = randn(rand, m * k);
  const wf = randn(rand, n * k, 0.05);
  const q = new Int8Array(n * k);
  const s = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let amax = 0;
    for (let c = 0; c < k; c++) amax = Math.max(amax, Math.abs(wf[r * k + c]));
    s[r] = amax / 127;
    for (let c = 0; c < k; c++) q[r * k + c] = Math.round(wf[r * k + c] / s[r]);
  }
  const got = q8Case(fast, x, q, s, m, k, n);
  const exact = new Float32Array(m * n);
  ref.matmul(ref.f32(0), ref.f32(0), ref.f32(0), 0, 0, 0); // no-op shape is allowed
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let c = 0; c < k; c++) acc += x[i * k + c] * wf[j * k + c];
      exact[i * n + j] = acc;
    }
  }
  // 7-bit activations: relative error of a dot product of this size stays within a few percent
  // of the output's RMS.
  const rms = Math.sqrt(exact.reduce((a, v) => a + v * v, 0) / exact.length);
  for (let i = 0; i < exact.length; i++) {
    assert(Math.abs(got[i] - exact[i]) < 0.05 * rms, `index ${i}: ${got[i]} vs ${exact[i]}`);
  }
});

const F32_FORMS = [
  { transA: false, transB: false },
  { transA: true, transB: false },
  { transA: false, transB: true },
  { transA: true, transB: true },
];

// Beyond the shared shapes: K past one packed block (256), full and partial 6 x 8 tiles.
const F32_SHAPES = [...SHAPES, [13, 600, 19], [12, 257, 16], [6, 512, 8], [25, 259, 41]];

Deno.test("matmul f32: every transpose form and accumulate, odd sizes", () => {
  const rand = rng(3);
  for (const [m, k, n] of F32_SHAPES) {
    for (const form of F32_FORMS) {
      for (const accumulate of [false, true]) {
        const a = randn(rand, m * k);
        const bm = randn(rand, k * n);
        const init = randn(rand, m * n);
        const run = (b: Backend) => {
          const out = b.f32(init);
          b.matmul(out, b.f32(a), b.f32(bm), m, k, n, { ...form, accumulate });
          return b.read(out);
        };
        const want = run(ref);
        // f32 summation order differs from the float64 reference: scale tolerance with K.
        const tol = 4e-7 * Math.sqrt(k) * 4;
        const label = `matmul [${m},${k},${n}] ${JSON.stringify(form)} acc=${accumulate}`;
        assertClose(run(det), want, tol, `${label} det`);
        assertClose(run(fast), want, tol, `${label} fast`);
        assertClose(run(portable), want, tol, `${label} portable build`);
      }
    }
  }
});

Deno.test("deterministic mode gives identical results run to run", async () => {
  const rand = rng(4);
  const [m, k, n] = [9, 77, 23];
  const a = randn(rand, m * k), b = randn(rand, k * n);
  const other = await createWasmBackend({ deterministic: true });
  const run = (be: Backend) => {
    const out = be.f32(m * n);
    be.matmul(out, be.f32(a), be.f32(b), m, k, n);
    return Array.from(be.read(out));
  };
  assertEquals(run(det), run(other));
  assertEquals(run(det), run(det));
});
