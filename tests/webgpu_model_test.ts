// The model on WebGPU against WebAssembly: memory slots within tolerance, greedy decoding, and
// lossless memories that decode byte for byte in both directions (the residual is always coded
// on WebAssembly, docs/ARCHITECTURE.md "WebGPU"); backend selection and its fallbacks.
//
// Tolerance of the slots: int8 slot values may differ by one quantization level (the f32
// hidden states differ in the last bits: WGSL exp/division accuracy, summation order); greedy
// decoding must agree on at least 90% of tokens (an argmax between near-equal logits may flip
// on some GPU; on Mesa's llvmpipe the texts are identical).
import { R3Mem } from "../src/r3mem.ts";
import { buildRandomModel } from "../src/model/random_model.ts";
import { createWasmBackend } from "../src/backend/wasm/wasm_backend.ts";
import { isSoftwareAdapter, selectBackend } from "../src/backend/webgpu/select.ts";
import { createWebGpuBackend } from "../src/backend/webgpu/webgpu_backend.ts";
import { Memory } from "../src/codec/memory.ts";
import type { LoadProgress } from "../src/r3mem.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { openGpus } from "./_webgpu.ts";

const gpus = await openGpus();
const ignore = "reason" in gpus;
if (!("reason" in gpus)) {
  await gpus.packed.shutdown(); // only probing; the models below start their own
  await gpus.unpacked.shutdown();
}

const TEXTS = [
  "Hello, memory. This is a test of the reversible network.\n\nA second paragraph follows!",
  "The quick brown fox jumps over the lazy dog. Memory is the treasury of everything. " +
  "A reversible network can run backward: what was compressed comes back again. ".repeat(3),
  "漢字 🐈 and ünïcödé.",
];

function slotDiff(a: Memory, b: Memory): number {
  assertEquals(a.nodes.length, b.nodes.length);
  let max = 0;
  a.nodes.forEach((n, i) => {
    for (let j = 0; j < n.slots.length; j++) {
      max = Math.max(max, Math.abs(n.slots[j] - b.nodes[i].slots[j]));
    }
  });
  return max;
}

function agreement(a: string, b: string): number {
  const n = Math.max(a.length, b.length);
  let same = 0;
  for (let i = 0; i < n; i++) if (a[i] === b[i]) same++;
  return n === 0 ? 1 : same / n;
}

Deno.test(
  { name: "webgpu model: slots, greedy and lossless both ways (random model)", ignore },
  async () => {
    const weights = await buildRandomModel({ seed: 3 });
    const events: LoadProgress[] = [];
    const gpu = await R3Mem.load({ weights, backend: "webgpu", onProgress: (e) => events.push(e) });
    const wasm = await R3Mem.load({ weights, backend: "wasm" });
    assertEquals(gpu.backend, "webgpu");
    assertEquals(await gpu.backendChosen, "webgpu");
    assert(
      events.some((e) => e.status === "backend" && e.backend === "webgpu"),
      "progress says webgpu",
    );
    for (const text of TEXTS) {
      const mg = await gpu.compress(text), mw = await wasm.compress(text);
      assert(slotDiff(mg, mw) <= 1, `slots differ by ${slotDiff(mg, mw)} levels`);
      // Lossless in both directions, through bytes.
      assertEquals(await wasm.reconstruct(Memory.fromBytes(mg.toBytes())), text);
      assertEquals(await gpu.reconstruct(Memory.fromBytes(mw.toBytes())), text);
      // Slot scales (f32) agree to a few ulp.
      mg.nodes.forEach((n, i) =>
        n.scales.forEach((s, j) => {
          const w = mw.nodes[i].scales[j];
          assert(Math.abs(s - w) <= 1e-5 * Math.abs(w), `scale ${i}/${j}: ${s} vs ${w}`);
        })
      );
      // Compact archives (no slots) too.
      const cg = await gpu.compress(text, { slots: "none" });
      assertEquals(await wasm.reconstruct(Memory.fromBytes(cg.toBytes())), text);
      // Greedy decoding from the same slots.
      const lossy = await wasm.compress(text, { lossless: false });
      const g1 = await gpu.reconstruct(lossy), g2 = await wasm.reconstruct(lossy);
      assert(agreement(g1, g2) >= 0.9, `greedy agreement ${agreement(g1, g2)}`);
      // Search keys come from the same model path.
      const kg = gpu.queryKey(text), kw = wasm.queryKey(text);
      let dot = 0;
      for (let i = 0; i < kg.length; i++) dot += kg[i] * kw[i];
      assert(dot > 0.999, `query keys' cosine ${dot}`);
    }
  },
);

Deno.test(
  { name: "webgpu model: the shipped model's slots and greedy text match wasm", ignore },
  async () => {
    const gpu = await R3Mem.load({ backend: "webgpu" });
    const wasm = await R3Mem.load({ backend: "wasm" });
    const text = "The cat sat on the mat. It was warm.";
    const mg = await gpu.compress(text, { lossless: false });
    const mw = await wasm.compress(text, { lossless: false });
    assert(slotDiff(mg, mw) <= 1, `slots differ by ${slotDiff(mg, mw)} levels`);
    const g1 = await gpu.reconstruct(mw), g2 = await wasm.reconstruct(mw);
    assert(agreement(g1, g2) >= 0.9, `greedy agreement ${agreement(g1, g2)}: ${g1} / ${g2}`);
    const full = await gpu.compress(text);
    assertEquals(await wasm.reconstruct(full), text);
  },
);

Deno.test(
  { name: "backend auto: WebAssembly at once, the software adapter refused", ignore },
  async () => {
    const weights = await buildRandomModel({ seed: 4 });
    const events: LoadProgress[] = [];
    const r3 = await R3Mem.load({ weights, onProgress: (e) => events.push(e) });
    assertEquals(r3.backend, "wasm"); // loading never waits for the GPU
    const chosen = await r3.backendChosen;
    const reasons = events.flatMap((e) => e.status === "backend" ? [e.reason] : []);
    // The adapter itself, refused by what auto checks after opening it.
    const wasm = await createWasmBackend();
    const shape = { dim: 32, ffnDim: 64, heads: 2, layers: 2, rows: 20 };
    const probe = await selectBackend("auto", shape, wasm);
    const gpu = await createWebGpuBackend();
    const software = isSoftwareAdapter(gpu.info);
    await gpu.shutdown();
    if (software) {
      assertEquals(chosen, "wasm");
      assert(/software|no GPU device/.test(reasons.join(" ")), reasons.join(" | "));
      assertEquals(probe.backend, null);
      assert(/software rasterizer/.test(probe.reason), probe.reason);
    }
    assertEquals(await r3.reconstruct(await r3.compress(TEXTS[0])), TEXTS[0]);
  },
);

Deno.test("backend webgpu without navigator.gpu falls back to wasm with no error", async () => {
  const weights = await buildRandomModel({ seed: 5 });
  Object.defineProperty(navigator, "gpu", { value: undefined, configurable: true });
  try {
    const events: LoadProgress[] = [];
    const r3 = await R3Mem.load({ weights, backend: "webgpu", onProgress: (e) => events.push(e) });
    assertEquals(r3.backend, "wasm");
    const ev = events.find((e) => e.status === "backend") as { reason: string };
    assert(/navigator\.gpu/.test(ev.reason), ev.reason);
    const auto = await R3Mem.load({ weights });
    assertEquals(await auto.backendChosen, "wasm");
  } finally {
    delete (navigator as { gpu?: unknown }).gpu;
  }
  assert("gpu" in navigator, "navigator.gpu restored");
});

Deno.test("backend option: an unknown name is refused with the choices listed", async () => {
  const weights = await buildRandomModel({ seed: 5 });
  // deno-lint-ignore no-explicit-any
  await assertRejects(() => R3Mem.load({ weights, backend: "cuda" as any }), TypeError, '"auto"');
});
