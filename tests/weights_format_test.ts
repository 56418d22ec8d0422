import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert";
import { FormatError, InputError } from "../src/errors.ts";
import { Tokenizer } from "../src/model/tokenizer.ts";
import {
  dequantizeRowsInt8,
  loadWeightsFrom,
  type NamedTensor,
  quantizeRowsInt8,
  readWeights,
  WEIGHTS_ALIGNMENT,
  WEIGHTS_VERSION,
  type WeightsHeader,
  writeWeights,
} from "../src/model/weights_format.ts";
import { rng } from "./_rng.ts";

function randomF32(n: number, seed: number): Float32Array {
  const r = rng(seed), out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() - 0.5) * 4;
  return out;
}

const TOKENIZER = new Tokenizer([[104, 105], [264, 33]]).toBytes();
const CONFIG = { dim: 8, layers: 2, vocab: 266, name: "tiny ✓" };

function sampleTensors(): NamedTensor[] {
  const w = randomF32(5 * 8, 1);
  const { q, scales } = quantizeRowsInt8(w, 5, 8);
  return [
    { name: "embed", dtype: "f32", shape: [7, 8], data: randomF32(56, 2) },
    { name: "blocks.0.wq", dtype: "i8", shape: [5, 8], data: q, scales },
    { name: "blocks.0.raw", dtype: "i8", shape: [3], data: new Int8Array([-128, 0, 127]) },
    {
      name: "cube",
      dtype: "i8",
      shape: [2, 3, 4],
      data: new Int8Array(24).fill(-3),
      scales: new Float32Array([1, 2, 3, 4, 5, 6]),
    },
    { name: "scalar", dtype: "f32", shape: [], data: new Float32Array([Math.PI]) },
    { name: "odd", dtype: "f32", shape: [1, 3], data: new Float32Array([1, -0, Infinity]) },
  ];
}

async function sample(metadata: Record<string, unknown> = {}): Promise<Uint8Array> {
  return await writeWeights({
    config: CONFIG,
    tokenizer: TOKENIZER,
    tensors: sampleTensors(),
    createdBy: "weights_format_test",
    metadata,
  });
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice()));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

function headerOf(bytes: Uint8Array): { header: WeightsHeader; length: number } {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length)));
  return { header, length };
}

/**
 * Rewrites the header of `bytes` (which must leave room: `sample({ pad })`) and re-seals the
 * SHA-256, so the file passes the checksum and only the structural checks can reject it.
 */
async function craft(
  bytes: Uint8Array,
  mutate: (h: WeightsHeader) => unknown,
  raw?: string,
): Promise<Uint8Array> {
  const { header } = headerOf(bytes);
  const copy = structuredClone(header);
  const replaced = mutate(copy);
  const text = raw ?? JSON.stringify(replaced === undefined ? copy : replaced);
  const json = new TextEncoder().encode(text);
  const out = bytes.slice();
  const dataStart = Math.min(...header.tensors.map((t) => t.offset), header.tokenizer.offset);
  ok(12 + json.length <= dataStart, "crafted header does not fit");
  out.fill(0, 12, dataStart);
  out.set(json, 12);
  new DataView(out.buffer).setUint32(8, json.length, true);
  return await reseal(out);
}

async function reseal(bytes: Uint8Array): Promise<Uint8Array> {
  const out = bytes.slice();
  const d = await crypto.subtle.digest("SHA-256", out.slice(0, out.length - 32));
  out.set(new Uint8Array(d), out.length - 32);
  return out;
}

async function refused(bytes: Uint8Array, needle: string | RegExp): Promise<void> {
  await rejects(readWeights(bytes), (e: unknown) => {
    ok(e instanceof FormatError, `expected FormatError, got ${e}`);
    const hit = typeof needle === "string" ? e.message.includes(needle) : needle.test(e.message);
    ok(hit, `message "${e.message}" should match ${needle}`);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------

Deno.test("write → read round trip", async () => {
  const bytes = await sample({ trainedOn: "test", steps: 3 });
  const file = await readWeights(bytes);
  deepStrictEqual(file.config, CONFIG);
  deepStrictEqual(file.tokenizerBytes, TOKENIZER);
  deepStrictEqual(
    Tokenizer.fromBytes(file.tokenizerBytes).merges,
    Tokenizer.fromBytes(TOKENIZER).merges,
  );
  deepStrictEqual(file.metadata, { trainedOn: "test", steps: 3 });
  strictEqual(file.header.createdBy, "weights_format_test");
  const input = sampleTensors();
  deepStrictEqual([...file.tensors.keys()], input.map((t) => t.name));
  for (const t of input) {
    const got = file.tensors.get(t.name)!;
    strictEqual(got.dtype, t.dtype);
    deepStrictEqual(got.shape, t.shape);
    deepStrictEqual(got.data, t.data);
    if (t.dtype === "i8" && got.dtype === "i8") deepStrictEqual(got.scales, t.scales);
  }
  strictEqual(file.fingerprint, await sha256Hex(bytes.subarray(0, bytes.length - 32)));
  ok(/^[0-9a-f]{64}$/.test(file.fingerprint));
  // deterministic: same input, same bytes, same fingerprint
  deepStrictEqual(await sample({ trainedOn: "test", steps: 3 }), bytes);
});

Deno.test("layout: magic, version, aligned regions, hash at the end", async () => {
  const bytes = await sample();
  deepStrictEqual(Array.from(bytes.subarray(0, 4)), [0x52, 0x33, 0x4d, 0x57]);
  const dv = new DataView(bytes.buffer);
  strictEqual(dv.getUint32(4, true), WEIGHTS_VERSION);
  const { header, length } = headerOf(bytes);
  const offsets = [header.tokenizer.offset];
  for (const t of header.tensors) {
    offsets.push(t.offset);
    if (t.scalesOffset !== undefined) offsets.push(t.scalesOffset);
  }
  for (const o of offsets) {
    strictEqual(o % WEIGHTS_ALIGNMENT, 0);
    ok(o >= 12 + length);
  }
  strictEqual(header.tensors.find((t) => t.name === "blocks.0.raw")?.scalesOffset, undefined);
  strictEqual(header.tensors.find((t) => t.name === "embed")?.length, 56 * 4);
});

Deno.test("read from a view at an unaligned offset copies f32 data correctly", async () => {
  const bytes = await sample();
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  const file = await readWeights(shifted.subarray(3));
  deepStrictEqual(file.tensors.get("embed")!.data, sampleTensors()[0].data);
  const cube = file.tensors.get("cube")!;
  ok(cube.dtype === "i8");
  deepStrictEqual(cube.scales, new Float32Array([1, 2, 3, 4, 5, 6]));
});

Deno.test("a larger model (≈3 MB) round-trips", async () => {
  const tensors: NamedTensor[] = [];
  for (let i = 0; i < 6; i++) {
    const { q, scales } = quantizeRowsInt8(randomF32(256 * 512, 10 + i), 256, 512);
    tensors.push({ name: `w${i}`, dtype: "i8", shape: [256, 512], data: q, scales });
  }
  tensors.push({ name: "emb", dtype: "f32", shape: [4096, 64], data: randomF32(4096 * 64, 99) });
  const bytes = await writeWeights({ config: {}, tokenizer: TOKENIZER, tensors });
  const file = await readWeights(bytes);
  for (const t of tensors) deepStrictEqual(file.tensors.get(t.name)!.data, t.data);
});

Deno.test("refuses truncated files", async () => {
  const bytes = await sample();
  await refused(new Uint8Array(0), "too short");
  await refused(bytes.subarray(0, 11), "too short");
  await refused(bytes.subarray(0, 60), "does not fit");
  const { length } = headerOf(bytes);
  for (const cut of [12 + length + 40, Math.floor(bytes.length / 2), bytes.length - 33]) {
    await refused(bytes.subarray(0, cut), /truncated/);
  }
  await refused(bytes.subarray(0, bytes.length - 1), /SHA-256 mismatch|truncated/);
});

Deno.test("refuses flipped bytes (hash mismatch)", async () => {
  const bytes = await sample();
  const r = rng(5);
  const positions = [13, 40, bytes.length - 100, bytes.length - 33, bytes.length - 1];
  for (let i = 0; i < 20; i++) positions.push(12 + Math.floor(r() * (bytes.length - 12)));
  for (const p of positions) {
    const damaged = bytes.slice();
    damaged[p] ^= 1 << Math.floor(r() * 8);
    await refused(damaged, /SHA-256 mismatch|truncated|header/);
  }
  // a flip in the data section is always caught by the hash
  const damaged = bytes.slice();
  damaged[bytes.length - 40] ^= 0x80;
  await refused(damaged, "SHA-256 mismatch");
});

Deno.test("refuses wrong magic and wrong version", async () => {
  const bytes = await sample();
  const magic = bytes.slice();
  magic.set([0x50, 0x4b, 0x03, 0x04]); // a zip file
  await refused(magic, /bad magic 50 4b 03 04/);
  await refused(
    new TextEncoder().encode('{"not": "a weights file at all, just some JSON text"}'),
    "magic",
  );
  const version = bytes.slice();
  new DataView(version.buffer).setUint32(4, 2, true);
  await refused(await reseal(version), "unsupported format version 2");
  await refused(version, "unsupported format version 2"); // checked before the hash
});

Deno.test("refuses bad header length", async () => {
  const bytes = await sample();
  const big = bytes.slice();
  new DataView(big.buffer).setUint32(8, 0xffffffff, true);
  await refused(big, "out of range");
  const zero = bytes.slice();
  new DataView(zero.buffer).setUint32(8, 0, true);
  await refused(zero, "out of range");
  const short = bytes.slice();
  new DataView(short.buffer).setUint32(8, 5, true);
  await refused(await reseal(short), "not valid JSON");
});

Deno.test("refuses structurally bad headers even with a valid hash", async () => {
  const bytes = await sample({ pad: "x".repeat(400) });
  const { header } = headerOf(bytes);
  const end = bytes.length - 32;
  const first = (h: WeightsHeader) => h.tensors[0];
  const cases: [(h: WeightsHeader) => unknown, string | RegExp][] = [
    [(h) => void (first(h).offset = end + 64 * 4), "past the data end"],
    [(h) => void (first(h).offset = end - 64), "past the data end"],
    [(h) => void (h.tokenizer.offset = 1 << 30), "past the data end"],
    [(h) => void (first(h).offset += 4), "not aligned"],
    [(h) => void (h.tensors[1].scalesOffset! += 8), "not aligned"],
    [(h) => void (first(h).offset = -64), "not a non-negative integer"],
    [(h) => void (first(h).offset = 0), "points into the header"],
    [(h) => void (first(h).offset = 64.5), "not a non-negative integer"],
    [(h) => void (first(h).length = 12), "does not match shape"],
    [(h) => void (first(h).shape = [7, 9]), "does not match shape"],
    [(h) => void (first(h).shape = [7, 0]), "invalid shape"],
    [(h) => void (first(h).shape = "7x8" as unknown as number[]), "invalid shape"],
    [(h) => void ((first(h) as { dtype: string }).dtype = "f16"), "unknown dtype"],
    [(h) => void (h.tensors[1].offset = h.tensors[0].offset), "overlaps"],
    [(h) => void (h.tensors[1].scalesOffset = h.tokenizer.offset), "overlaps"],
    [(h) => void (h.tensors[1].name = h.tensors[0].name), "appears twice"],
    [(h) => void (first(h).name = ""), "no name"],
    [(h) => void (first(h).scalesOffset = h.tensors[1].scalesOffset), "f32 but has scalesOffset"],
    [(h) => void (h.config = [] as unknown as Record<string, unknown>), "config"],
    [(h) => void delete (h as Partial<WeightsHeader>).createdBy, "createdBy"],
    [(h) => void (h.tensors = {} as unknown as []), "tensors must be an array"],
    [(h) => void delete (h as Partial<WeightsHeader>).tokenizer, "tokenizer"],
    [(h) => void (h.tokenizer.length = -1), "tokenizer length"],
    [() => [1, 2, 3], "not a JSON object"],
  ];
  for (const [mutate, needle] of cases) {
    await refused(await craft(bytes, mutate), needle)
      .catch((e) => {
        throw new Error(`case ${mutate}: ${e.message}`);
      });
  }
  // the craft helper itself is sound: an unmodified header re-sealed is accepted
  await readWeights(await craft(bytes, () => header));
  await refused(await craft(bytes, () => 0, "{not json"), "not valid JSON");
  // invalid UTF-8 inside the header
  const text = JSON.stringify(header);
  const at = 12 + text.indexOf("xxxx");
  const badUtf8 = bytes.slice();
  badUtf8[at] = 0xff;
  await refused(await reseal(badUtf8), "not valid UTF-8");
});

Deno.test("writer validates its input", async () => {
  const good = { config: {}, tokenizer: TOKENIZER, tensors: [] as NamedTensor[] };
  const bad = async (input: unknown, needle: string) =>
    await rejects(writeWeights(input as never), (e: unknown) => {
      ok(e instanceof InputError, String(e));
      ok(e.message.includes(needle), `${e.message} should mention ${needle}`);
      return true;
    });
  await bad(null, "object");
  await bad({ ...good, config: [] }, "config");
  await bad({ ...good, tokenizer: [1] }, "tokenizer");
  await bad({
    ...good,
    tensors: [{ name: "a", dtype: "f32", shape: [2], data: new Float32Array(3) }],
  }, "3 values");
  await bad(
    { ...good, tensors: [{ name: "a", dtype: "f32", shape: [2], data: new Int8Array(2) }] },
    "Float32Array",
  );
  await bad({
    ...good,
    tensors: [{
      name: "a",
      dtype: "i8",
      shape: [2, 2],
      data: new Int8Array(4),
      scales: new Float32Array(3),
    }],
  }, "scales");
  await bad({
    ...good,
    tensors: [{ name: "a", dtype: "f64", shape: [1], data: new Float64Array(1) }],
  }, "dtype");
  await bad({
    ...good,
    tensors: [{ name: "a", dtype: "f32", shape: [0], data: new Float32Array(0) }],
  }, "shape");
  const t = { name: "a", dtype: "f32", shape: [1], data: new Float32Array(1) };
  await bad({ ...good, tensors: [t, t] }, "used twice");
  await bad({ ...good, tensors: [{ ...t, name: "" }] }, "name");
  await bad({ ...good, metadata: { config: 1 } }, "reserved");
  await bad({ ...good, config: { big: 1n } }, "JSON");
});

Deno.test("loadWeightsFrom: bytes, file URL, http URL, and clear errors", async () => {
  const bytes = await sample();
  strictEqual((await loadWeightsFrom(bytes)).fingerprint, (await readWeights(bytes)).fingerprint);
  strictEqual((await loadWeightsFrom(bytes.slice().buffer)).config.dim, 8);

  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/model.r3mw`;
    await Deno.writeFile(path, bytes);
    const url = new URL(`file://${path}`);
    deepStrictEqual((await loadWeightsFrom(url)).config, CONFIG);
    deepStrictEqual((await loadWeightsFrom(url.href)).config, CONFIG);
    await rejects(loadWeightsFrom(new URL(`file://${dir}/missing.r3mw`)), (e: unknown) => {
      ok(e instanceof InputError);
      ok(e.message.includes("missing.r3mw"), e.message);
      return true;
    });
    await Deno.writeFile(path, bytes.subarray(0, 100));
    await rejects(loadWeightsFrom(url), FormatError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (req) =>
      new URL(req.url).pathname === "/model.r3mw"
        ? new Response(bytes.slice())
        : new Response("nope", { status: 404 }),
  );
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    strictEqual((await loadWeightsFrom(new URL(`${base}/model.r3mw`))).config.dim, 8);
    await rejects(loadWeightsFrom(`${base}/other.r3mw`), /HTTP 404/);
  } finally {
    await server.shutdown();
  }

  await rejects(loadWeightsFrom("not a url"), InputError);
  await rejects(loadWeightsFrom(42 as unknown as URL), InputError);
  await rejects(readWeights("R3MW" as unknown as Uint8Array), InputError);
});

Deno.test("quantizeRowsInt8: symmetric per-row, bounded error", () => {
  const rows = 17, cols = 33;
  const x = randomF32(rows * cols, 3);
  x.fill(0, 5 * cols, 6 * cols); // an all-zero row
  const { q, scales } = quantizeRowsInt8(x, rows, cols);
  strictEqual(scales[5], 0);
  const y = dequantizeRowsInt8(q, scales, rows, cols);
  for (let r = 0; r < rows; r++) {
    let max = 0, maxQ = 0;
    for (let c = 0; c < cols; c++) {
      max = Math.max(max, Math.abs(x[r * cols + c]));
      maxQ = Math.max(maxQ, Math.abs(q[r * cols + c]));
      ok(Math.abs(y[r * cols + c] - x[r * cols + c]) <= scales[r] / 2 + 1e-7);
    }
    strictEqual(scales[r], Math.fround(max / 127));
    if (max > 0) strictEqual(maxQ, 127);
  }
  ok(q.every((v) => v >= -127 && v <= 127));
  throws(() => quantizeRowsInt8(new Float32Array(5), 2, 3), InputError);
  throws(() => quantizeRowsInt8(new Float32Array([1, NaN]), 1, 2), InputError);
  throws(() => quantizeRowsInt8(new Float32Array([1, Infinity]), 1, 2), InputError);
  throws(() => dequantizeRowsInt8(new Int8Array(4), new Float32Array(1), 2, 2), InputError);
});
