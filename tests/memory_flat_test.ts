// No memory grows across calls: ten thousand kernel calls leave the WebAssembly memory and the
// backend's live-buffer count exactly where the first round left them.
import { assertEquals } from "./_assert.ts";
import { randint, randn, rng } from "./_rng.ts";
import { createWasmBackend } from "../src/backend/wasm/wasm_backend.ts";

Deno.test("10 000 kernel calls keep WebAssembly memory flat", async () => {
  const be = await createWasmBackend({ deterministic: false });
  const rand = rng(7);
  const [t, d, heads, vocab] = [24, 32, 4, 50];
  const x = be.f32(randn(rand, t * d));
  const y = be.f32(t * d);
  const w = be.f32(randn(rand, d * d));
  const norm = be.f32(new Float32Array(d).fill(1));
  const q8 = be.q8(
    Int8Array.from(randint(rand, d * d, -127, 128)),
    new Float32Array(d).fill(0.01),
    d,
    d,
  );
  const limits = be.i32(Array.from({ length: t }, (_, i) => i + 1));
  const probs = be.f32(heads * t * t);
  const logits = be.f32(randn(rand, t * vocab));
  const dlogits = be.f32(t * vocab);
  const targets = be.i32(randint(rand, t, 0, vocab));
  const shape = { tq: t, tk: t, heads, headDim: d / heads };
  const round = () => {
    be.matmulQ8(y, x, q8, t);
    be.matmul(y, x, w, t, d, d);
    be.matmul(y, x, w, t, d, d, { transB: true });
    be.rmsnorm(y, x, norm, t, d, 1e-5);
    be.attention(y, x, x, x, limits, shape, probs);
    be.silu(y, y, t * d);
    be.crossEntropy(logits, targets, t, vocab, dlogits);
    be.rope(y, t, heads, d / heads, 0, 10000);
    be.softmax(dlogits, logits, t, vocab);
    be.add(y, y, x, t * d);
  };
  round();
  const memory = be.memoryBytes!();
  const live = be.bytesInUse();
  for (let i = 0; i < 1000; i++) round(); // 10 calls per round
  assertEquals(be.memoryBytes!(), memory, "WebAssembly memory grew");
  assertEquals(be.bytesInUse(), live, "live buffer bytes changed");
  // Allocating and freeing in a loop must not grow memory either (the heap reuses blocks).
  for (let i = 0; i < 1000; i++) be.free(be.f32(4096));
  assertEquals(be.memoryBytes!(), memory, "alloc/free cycle grew memory");
});
