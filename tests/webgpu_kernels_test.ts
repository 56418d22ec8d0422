// Every WGSL kernel of the WebGPU backend against the TypeScript reference, on seeded random
// inputs at odd sizes, through both int8 dot paths (dot4I8Packed and the unpacked shifts).
//
// Tolerances (EPS = 2^-23): single correctly rounded f32 operations (add, mul, couple, embedding,
// copies, the fixed-point coupling and conversions) must match bit for bit. Reductions of length
// K (f32 matmul, RMSNorm, softmax, attention) get EPS·(4 + K) relative to the sum of the terms'
// magnitudes, the worst case of f32 summation. exp-based ops (SiLU, GELU, softmax, attention) add
// WGSL's exp accuracy (3 + 2|x| ulp). RoPE: 4 ulp of the row's magnitude (its table is f32).
// matmulQ8's integers are exact; its activation scale is a WGSL division (2.5 ulp), which can
// move one activation across a rounding boundary: the bound is two activation quanta times the
// largest |weight| times the channel's scale (and on Mesa's llvmpipe the results are bit-exact).
import type { AttentionShape, Backend, F32, I32 } from "../src/backend/backend.ts";
import { createReferenceBackend } from "../src/backend/reference.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { randint, randn, rng, uniform } from "./_rng.ts";
import { openGpus } from "./_webgpu.ts";

const EPS = 2 ** -23;
const ref = createReferenceBackend();
const gpus = await openGpus();
const ignore = "reason" in gpus;
const packed = "reason" in gpus ? null : gpus.packed;
const unpacked = "reason" in gpus ? null : gpus.unpacked;
const gpu = packed!;

/** Compares element-wise; `tol(i)` is the allowed absolute error of element i. */
function check(
  name: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: (i: number) => number,
) {
  assertEquals(got.length, want.length, `${name}: length`);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= tol(i)) && !(Object.is(got[i], want[i]))) {
      throw new Error(`${name}: index ${i}: expected ${want[i]}, got ${got[i]} (tol ${tol(i)})`);
    }
  }
}
const exact = () => 0;

/** The same inputs on both backends. */
function pair(data: ArrayLike<number>, dtype: "f32" | "i32" = "f32"): [F32 & I32, F32 & I32] {
  const mk = (be: Backend) => (dtype === "f32" ? be.f32(data) : be.i32(data)) as F32 & I32;
  return [mk(gpu), mk(ref)];
}

Deno.test(
  { name: "webgpu: matmulQ8 (packed and unpacked dot) matches the reference", ignore },
  () => {
    const rand = rng(1);
    for (const be of [packed!, unpacked!]) {
      for (const [m, k, n] of [[1, 1, 1], [3, 37, 19], [7, 130, 65], [13, 5, 200], [6, 128, 33]]) {
        const x = randn(rand, m * k, 2);
        const q = Int8Array.from(randint(rand, n * k, -127, 128));
        const s = uniform(rand, n, 0.001, 0.02);
        const wg = be.q8(q, s, n, k), wr = ref.q8(q, s, n, k);
        const xg = be.f32(x), xr = ref.f32(x), og = be.f32(m * n), or = ref.f32(m * n);
        be.matmulQ8(og, xg, wg, m);
        ref.matmulQ8(or, xr, wr, m);
        const want = ref.read(or);
        const amax = (r: number) => Math.max(...x.subarray(r * k, (r + 1) * k).map(Math.abs));
        check(
          `matmulQ8 ${m}x${k}x${n} packed=${be.info.packedDot}`,
          be.read(og),
          want,
          (i) => 2 * (amax(Math.floor(i / n)) / 63) * 127 * s[i % n] + 1e-6 * Math.abs(want[i]),
        );
        for (const b of [wg, xg, og]) {
          be.free(b);
        }
      }
    }
    assert(packed!.info.packedDot || !unpacked!.info.packedDot, "dot paths");
  },
);

Deno.test({ name: "webgpu: f32 matmul, all transpose forms and accumulate", ignore }, () => {
  const rand = rng(2);
  for (const [m, k, n] of [[1, 1, 1], [5, 17, 3], [9, 33, 14]]) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const a = randn(rand, m * k), b = randn(rand, k * n), o = randn(rand, m * n);
        const [ag, ar] = pair(a), [bg, br] = pair(b), [og, or] = pair(o);
        const opts = { transA, transB, accumulate: transA };
        gpu.matmul(og, ag, bg, m, k, n, opts);
        ref.matmul(or, ar, br, m, k, n, opts);
        const want = ref.read(or);
        // Σ|a||b| bounded by k·max|a|·max|b| (+|out| when accumulating)
        const mag = k * Math.max(...a.map(Math.abs)) * Math.max(...b.map(Math.abs));
        check(
          `matmul ${m}x${k}x${n} ${transA}/${transB}`,
          gpu.read(og),
          want,
          (i) => EPS * (4 + k) * (mag + Math.abs(o[i])),
        );
      }
    }
  }
});

Deno.test(
  { name: "webgpu: elementwise ops are bit-exact or within exp's accuracy", ignore },
  () => {
    const rand = rng(3);
    for (const n of [1, 3, 255, 257, 1000]) {
      const a = randn(rand, n, 3), b = randn(rand, n, 3);
      const [ag, ar] = pair(a), [bg, br] = pair(b);
      const [og, or] = pair(new Float32Array(n));
      for (const op of ["add", "mul"] as const) {
        gpu[op](og, ag, bg, n);
        ref[op](or, ar, br, n);
        check(`${op} ${n}`, gpu.read(og), ref.read(or), exact);
      }
      for (const inverse of [false, true]) {
        gpu.couple(og, ag, bg, n, inverse);
        ref.couple(or, ar, br, n, inverse);
        check(`couple ${n} ${inverse}`, gpu.read(og), ref.read(or), exact);
      }
      gpu.axpy(og, ag, 0.37, n);
      ref.axpy(or, ar, 0.37, n);
      const want = ref.read(or);
      check(`axpy ${n}`, gpu.read(og), want, (i) => 2 * EPS * (Math.abs(want[i]) + Math.abs(a[i])));
      for (const op of ["silu", "gelu"] as const) {
        gpu[op](og, ag, n);
        ref[op](or, ar, n);
        const w = ref.read(or);
        check(
          `${op} ${n}`,
          gpu.read(og),
          w,
          (i) => EPS * (8 + 4 * Math.abs(a[i])) * (1 + Math.abs(w[i])),
        );
        gpu[op](ag, ag, n); // in place
        check(
          `${op} in place ${n}`,
          gpu.read(ag),
          w,
          (i) => EPS * (8 + 4 * Math.abs(a[i])) * (1 + Math.abs(w[i])),
        );
        gpu.write(ag, a);
      }
      gpu.fill(og, -2.5);
      check(`fill ${n}`, gpu.read(og), new Float32Array(n).fill(-2.5), exact);
    }
  },
);

Deno.test(
  { name: "webgpu: fixed-point coupling inverts bit for bit and saturates", ignore },
  () => {
    const rand = rng(4);
    const n = 301, fracBits = 16;
    const f = randn(rand, n, 50);
    f[0] = NaN;
    f[1] = 1e30;
    f[2] = -1e30;
    f[3] = 2.5 / 2 ** fracBits; // a tie: rounds to even
    const x = randint(rand, n, -(2 ** 30), 2 ** 30);
    const [fg, fr] = pair(f), [xg, xr] = pair(x, "i32");
    const [yg, yr] = pair(new Int32Array(n), "i32");
    gpu.coupleFixed(yg, xg, fg, n, fracBits, false);
    ref.coupleFixed(yr, xr, fr, n, fracBits, false);
    check("coupleFixed", gpu.readI32(yg), ref.readI32(yr), exact);
    gpu.coupleFixed(yg, yg, fg, n, fracBits, true);
    check("coupleFixed inverse", gpu.readI32(yg), x, exact);
    gpu.toFixed(yg, fg, n, fracBits);
    ref.toFixed(yr, fr, n, fracBits);
    check("toFixed", gpu.readI32(yg), ref.readI32(yr), exact);
    const [zg, zr] = pair(new Float32Array(n));
    gpu.fromFixed(zg, xg, n, fracBits);
    ref.fromFixed(zr, xr, n, fracBits);
    check("fromFixed", gpu.read(zg), ref.read(zr), exact);
  },
);

Deno.test({ name: "webgpu: RMSNorm and softmax rows, in place, odd widths", ignore }, () => {
  const rand = rng(5);
  for (const [rows, d] of [[1, 1], [3, 7], [5, 130], [2, 1001]]) {
    const x = randn(rand, rows * d, 2), w = randn(rand, d);
    const [xg, xr] = pair(x), [wg, wr] = pair(w), [ig, ir] = pair(new Float32Array(rows));
    const [og, or] = pair(new Float32Array(rows * d));
    gpu.rmsnorm(og, xg, wg, rows, d, 1e-5, ig);
    ref.rmsnorm(or, xr, wr, rows, d, 1e-5, ir);
    const want = ref.read(or);
    check(
      `rmsnorm ${rows}x${d}`,
      gpu.read(og),
      want,
      (i) => EPS * (4 + d) * (1 + Math.abs(want[i])),
    );
    check(
      `rmsnorm invRms ${rows}x${d}`,
      gpu.read(ig),
      ref.read(ir),
      (i) => EPS * (4 + d) * ref.read(ir)[i],
    );
    gpu.softmax(xg, xg, rows, d);
    ref.softmax(xr, xr, rows, d);
    const p = ref.read(xr);
    check(`softmax ${rows}x${d}`, gpu.read(xg), p, (i) => EPS * (16 + d) * (p[i] + 1 / d));
  }
});

Deno.test({ name: "webgpu: RoPE forward and inverse at far positions", ignore }, () => {
  const rand = rng(6);
  for (const [t, heads, hd, pos0] of [[1, 1, 2, 0], [5, 3, 6, 100], [9, 4, 32, 1500]]) {
    const x = randn(rand, t * heads * hd);
    const [xg, xr] = pair(x);
    for (const inverse of [false, true]) {
      gpu.rope(xg, t, heads, hd, pos0, 10000, inverse);
      ref.rope(xr, t, heads, hd, pos0, 10000, inverse);
      const want = ref.read(xr);
      check(`rope ${t}x${heads}x${hd}@${pos0}`, gpu.read(xg), want, () => 8 * EPS * 4);
    }
  }
});

Deno.test({ name: "webgpu: embedding gather (negative id gives zeros)", ignore }, () => {
  const rand = rng(7);
  const vocab = 37, d = 5;
  const table = randn(rand, vocab * d), ids = [3, -1, 36, 0, 3];
  const [tg, tr] = pair(table), [ig, ir] = pair(ids, "i32");
  const [og, or] = pair(new Float32Array(ids.length * d));
  gpu.embedding(og, tg, ig, ids.length, d);
  ref.embedding(or, tr, ir, ids.length, d);
  check("embedding", gpu.read(og), ref.read(or), exact);
});

Deno.test({ name: "webgpu: attention with prefix, causal and memory masks", ignore }, () => {
  const rand = rng(8);
  const cases: [AttentionShape, (i: number) => number][] = [
    [{ tq: 1, tk: 1, heads: 1, headDim: 2 }, () => 1],
    [{ tq: 7, tk: 7, heads: 3, headDim: 6 }, (i) => i + 1], // causal
    [{ tq: 5, tk: 13, heads: 2, headDim: 8 }, (i) => 8 + i + 1], // cache: 8 earlier rows
    [{ tq: 11, tk: 11, heads: 4, headDim: 32 }, (i) => (i < 3 ? 3 : i < 8 ? 8 : 11)], // memory
    [{ tq: 4, tk: 6, heads: 2, headDim: 4 }, (i) => [0, -2, 6, 99][i]], // empty and clamped
  ];
  for (const [s, limit] of cases) {
    const w = s.heads * s.headDim;
    const q = randn(rand, s.tq * w), k = randn(rand, s.tk * w), v = randn(rand, s.tk * w);
    const lim = Int32Array.from({ length: s.tq }, (_, i) => limit(i));
    const [qg, qr] = pair(q), [kg, kr] = pair(k), [vg, vr] = pair(v), [lg, lr] = pair(lim, "i32");
    const [og, or] = pair(new Float32Array(s.tq * w));
    const [pg, pr] = pair(new Float32Array(s.heads * s.tq * s.tk));
    gpu.attention(og, qg, kg, vg, lg, s, pg);
    ref.attention(or, qr, kr, vr, lr, s, pr);
    const K = s.headDim + s.tk;
    check(
      `attention ${JSON.stringify(s)}`,
      gpu.read(og),
      ref.read(or),
      () => EPS * (32 + 4 * K) * 8,
    );
    check(
      `attention probs ${JSON.stringify(s)}`,
      gpu.read(pg),
      ref.read(pr),
      () => EPS * (32 + 4 * K),
    );
  }
});

Deno.test({ name: "webgpu: buffers: offsets, overlapping copies, i32, errors", ignore }, () => {
  const x = gpu.f32([0, 1, 2, 3, 4, 5, 6, 7]);
  gpu.copy(x, 2, x, 0, 5); // overlapping, within one buffer
  check("copy overlap", gpu.read(x), [0, 1, 0, 1, 2, 3, 4, 7], exact);
  gpu.write(x, [9, 9], 6);
  check("write offset", gpu.read(x, 5, 3), [3, 9, 9], exact);
  const y = gpu.f32(3);
  gpu.copy(y, 0, x, 5, 3);
  check("copy across", gpu.read(y), [3, 9, 9], exact);
  check("i32", gpu.readI32(gpu.i32([-1, 2 ** 31 - 1])), [-1, 2 ** 31 - 1], exact);
  assertThrows(() => gpu.read(x, 4, 5), RangeError);
  assertThrows(() => gpu.add(y, x, x, 8), RangeError);
  const before = gpu.bytesInUse();
  gpu.free(y);
  assert(gpu.bytesInUse() < before, "bytesInUse drops after free");
  assertThrows(() => gpu.read(y), TypeError);
  assertThrows(() => gpu.free(y), Error);
});

Deno.test({ name: "webgpu: training ops run on the host, as the reference", ignore }, () => {
  const rand = rng(9);
  const rows = 3, d = 7;
  const [dxg, dxr] = pair(new Float32Array(rows * d)), [dwg, dwr] = pair(new Float32Array(d));
  const dy = randn(rand, rows * d), x = randn(rand, rows * d), w = randn(rand, d);
  const [dyg, dyr] = pair(dy), [xg, xr] = pair(x), [wg, wr] = pair(w);
  gpu.rmsnormBackward(dxg, dwg, dyg, xg, wg, rows, d, 1e-5);
  ref.rmsnormBackward(dxr, dwr, dyr, xr, wr, rows, d, 1e-5);
  check("rmsnormBackward dx", gpu.read(dxg), ref.read(dxr), exact);
  check("rmsnormBackward dw", gpu.read(dwg), ref.read(dwr), exact);
  const [tg, tr] = pair([1, -1, 2], "i32");
  const loss = gpu.crossEntropy(xg, tg, 3, d);
  assertEquals(loss, ref.crossEntropy(xr, tr, 3, d));
});

Deno.test({ name: "webgpu: close and shutdown", ignore }, async () => {
  packed!.close();
  await unpacked!.shutdown();
  assertThrows(() => packed!.f32(1), Error);
});
