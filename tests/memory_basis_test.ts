// The memory basis (src/codec/memory_basis.ts): fitting, coding, its file's checks, and that
// the basis shipped beside the default model belongs to it.
import {
  CODE_MAX,
  CODE_MIN,
  codeLength,
  fitMemoryBasis,
  MemoryBasis,
} from "../src/codec/memory_basis.ts";
import { FormatError, InputError } from "../src/errors.ts";
import { loadWeightsFrom } from "../src/model/weights_format.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { rng } from "./_rng.ts";

const FP = "5a".repeat(32);

// Memories near a 3-dimensional subspace of a 2 × 8 memory, plus a little noise.
const DIRS = (() => {
  const rnd = rng(1);
  return Array.from({ length: 3 }, () => Float32Array.from({ length: 16 }, () => rnd() - 0.5));
})();

function samples(n: number, seed = 1): Float32Array[] {
  const rnd = rng(seed);
  const dirs = DIRS;
  return Array.from({ length: n }, () => {
    const a = [4 * (rnd() - 0.5), 2 * (rnd() - 0.5), rnd() - 0.5];
    return Float32Array.from({ length: 16 }, (_, i) => {
      return 1 + a[0] * dirs[0][i] + a[1] * dirs[1][i] + a[2] * dirs[2][i] + 0.01 * (rnd() - 0.5);
    });
  });
}

const shape = { slotCount: 2, dim: 8, components: 4, model: FP };

Deno.test("basis: a code of a few coefficients rebuilds memories near their subspace", () => {
  const train = samples(200);
  const basis = fitMemoryBasis(train, shape);
  assertEquals([basis.components, basis.slotCount, basis.dim, basis.model], [4, 2, 8, FP]);
  let err = 0, errMean = 0;
  for (const m of samples(40, 2)) {
    const code = basis.encode(m, 4);
    assert(code.every((v) => v >= CODE_MIN && v <= CODE_MAX));
    const back = basis.decode(code);
    const mean = basis.decode(new Int8Array(1)); // a zero code: the mean memory
    for (let i = 0; i < 16; i++) {
      err += (back[i] - m[i]) ** 2;
      errMean += (mean[i] - m[i]) ** 2;
    }
    // Fewer coefficients: a prefix of the same code.
    assertEquals(Array.from(basis.encode(m, 2)), Array.from(code.subarray(0, 2)));
  }
  // 4-bit steps of half a standard deviation: a small part of the memories' own spread.
  assert(err < 0.1 * errMean, `error ${err} vs spread ${errMean}`);
});

Deno.test("basis: the file round-trips, and the decoded memory is the same bit for bit", () => {
  const basis = fitMemoryBasis(samples(50), shape);
  const again = MemoryBasis.fromBytes(basis.toBytes());
  assertEquals(again.id, basis.id);
  const code = new Int8Array([3, -8, 7, 0]);
  assertEquals(Array.from(again.decode(code)), Array.from(basis.decode(code)));
  // Fitting is deterministic: the same samples give the same file.
  assertEquals(
    Array.from(fitMemoryBasis(samples(50), shape).toBytes()),
    Array.from(basis.toBytes()),
  );
});

Deno.test("basis: damaged, truncated or foreign files are refused with FormatError", () => {
  const bytes = fitMemoryBasis(samples(30), { ...shape, components: 2 }).toBytes();
  for (let n = 0; n < bytes.length; n += 7) {
    assertThrows(() => MemoryBasis.fromBytes(bytes.subarray(0, n)), FormatError);
  }
  const rnd = rng(9);
  for (let i = 0; i < 200; i++) {
    const f = bytes.slice();
    f[Math.floor(rnd() * f.length)] ^= 1 << Math.floor(rnd() * 8);
    assertThrows(() => MemoryBasis.fromBytes(f), FormatError);
  }
  const newer = bytes.slice();
  newer[4] = 9;
  assertThrows(() => MemoryBasis.fromBytes(newer), FormatError, "version 9");
  assertThrows(() => MemoryBasis.fromBytes(new TextEncoder().encode("R3M\x1a....")), FormatError);
});

Deno.test("basis: bad arguments are InputErrors", () => {
  const basis = fitMemoryBasis(samples(30), shape);
  assertThrows(() => basis.encode(new Float32Array(15), 2), InputError, "16");
  assertThrows(() => basis.encode(new Float32Array(16), 5), InputError, "1..4");
  assertThrows(() => basis.decode(new Int8Array([8])), InputError, "-8..7");
  assertThrows(() => basis.decode(new Int8Array(0)), InputError);
  assertThrows(() => fitMemoryBasis([new Float32Array(16)], shape), InputError);
  assertThrows(() => fitMemoryBasis(samples(5), { ...shape, model: "xyz" }), InputError);
  assertThrows(() => fitMemoryBasis(samples(5), { ...shape, components: 17 }), InputError);
});

Deno.test("basis: code length grows with the text, within the basis", () => {
  assertEquals([1, 64, 65, 128, 129, 10_000].map((t) => codeLength(t, 64)), [
    16,
    16,
    32,
    32,
    48,
    64,
  ]);
  assertEquals(codeLength(10_000, 20), 20);
});

Deno.test("the shipped basis belongs to the shipped default model", async () => {
  const weights = await Deno.readFile(new URL("../weights/r3mem-default.r3w", import.meta.url));
  const basis = MemoryBasis.fromBytes(
    await Deno.readFile(new URL("../weights/r3mem-default.r3b", import.meta.url)),
  );
  // When this fails the model was retrained: rebuild the basis (tools/memory_basis.ts).
  assertEquals(basis.model, (await loadWeightsFrom(weights)).fingerprint);
  assertEquals(basis.components, 64);
});
