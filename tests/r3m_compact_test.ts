// The compact .r3m container (src/codec/r3m_compact.ts): round trips, canonical bytes, the short
// fingerprint, the eligibility rules, and a fuzz run over mutated files whose checksum is fixed
// up so that the structural checks behind it are reached too.
import { Memory, type MemoryData } from "../src/codec/memory.ts";
import { crc32 } from "../src/codec/crc32.ts";
import { COMPACT_MAGIC, compactSize } from "../src/codec/r3m_compact.ts";
import { encodedSize } from "../src/codec/r3m_format.ts";
import { decodeR3M } from "../src/codec/r3m_read.ts";
import { FormatError, InputError, ModelMismatchError } from "../src/errors.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { rng } from "./_rng.ts";

const FP = "0123456789abcdef".repeat(4);
/** A compact v2 file whose code has no values (written 2026-12-02). */
const PINNED_EMPTY_CODE = "sxojASNFZwiAAQwEAQIDs301Sg==";

function compactData(rnd: () => number, o: { meta?: boolean; code?: boolean } = {}): MemoryData {
  const tokenCount = Math.floor(rnd() * 3000);
  const textBytes = tokenCount + Math.floor(rnd() * 3 * tokenCount);
  const data: MemoryData = {
    modelFingerprint: FP,
    container: "compact",
    slotCount: 1 + Math.floor(rnd() * 16),
    dim: 1 + Math.floor(rnd() * 300),
    textBytes,
    tokenCount,
    nodes: [{
      level: "document",
      parent: -1,
      byteStart: 0,
      byteEnd: textBytes,
      tokenStart: 0,
      tokenEnd: tokenCount,
      slots: new Int8Array(0),
      scales: new Float32Array(0),
    }],
    residual: {
      codedTokens: tokenCount,
      bytes: new Uint8Array(Math.floor(rnd() * 200)).map(() => Math.floor(rnd() * 256)),
      cache: rnd() < 0.5,
    },
  };
  if (o.meta) data.meta = { b: "ünïcødé ✓", a: "1", "__proto__": "x" };
  if (o.code) {
    data.code = {
      basis: Math.floor(rnd() * 65536).toString(16).padStart(4, "0"),
      values: new Int8Array(1 + Math.floor(rnd() * 64)).map(() => Math.floor(rnd() * 16) - 8),
    };
  }
  return data;
}

function withCrc(f: Uint8Array): Uint8Array {
  const end = f.length - 4;
  if (end >= 0) new DataView(f.buffer, f.byteOffset).setUint32(end, crc32(f, 0, end), true);
  return f;
}

Deno.test("compact: random memories round-trip, canonically, at the planned size", () => {
  const rnd = rng(7);
  for (let i = 0; i < 300; i++) {
    const data = compactData(rnd, { meta: i % 3 === 0 });
    const mem = new Memory(data);
    const bytes = mem.toBytes();
    assertEquals(bytes.length, compactSize(data));
    assertEquals(bytes.length, encodedSize(data));
    assertEquals(bytes.length, mem.byteLength);
    assertEquals([bytes[0], bytes[1]], [COMPACT_MAGIC[0], COMPACT_MAGIC[1]]);
    const back = Memory.fromBytes(bytes, { expectModel: FP });
    assertEquals(back.container, "compact");
    assertEquals(back.modelFingerprint, FP); // restored whole from expectModel
    assertEquals(back.textBytes, data.textBytes);
    assertEquals(back.tokenCount, data.tokenCount);
    assertEquals(back.slotCount, data.slotCount);
    assertEquals(back.dim, data.dim);
    assertEquals(Array.from(back.residual!.bytes), Array.from(data.residual!.bytes));
    assertEquals(back.residual!.cache ?? false, data.residual!.cache);
    assertEquals(
      back.meta ? Object.entries(back.meta).sort() : undefined,
      data.meta ? Object.entries(data.meta).sort() : undefined,
    );
    assertEquals(Array.from(back.toBytes()), Array.from(bytes));
    // Without expectModel the memory keeps the short fingerprint, and still writes the same bytes.
    const anon = Memory.fromBytes(bytes);
    assertEquals(anon.modelFingerprint, FP.slice(0, 8));
    assert(anon.writtenBy(FP) && !anon.writtenBy("f".repeat(64)));
    assertEquals(Array.from(anon.toBytes()), Array.from(bytes));
  }
});

Deno.test("compact: framing is 16 bytes around a short residual, for the default shape", () => {
  const data = compactData(rng(1));
  Object.assign(data, { slotCount: 8, dim: 128, textBytes: 100, tokenCount: 30 });
  Object.assign(data.nodes[0], { byteEnd: 100, tokenEnd: 30 });
  data.residual = { codedTokens: 30, bytes: new Uint8Array(40) };
  // magic 2 + version 1 + fingerprint 4 + counts 1+2+1+1 + CRC 4 = 16 bytes around the residual.
  assertEquals(new Memory(data).toBytes().length - 40, 16);
});

Deno.test("compact: withoutResidual is refused (nothing would be left)", () => {
  assertThrows(() => new Memory(compactData(rng(5))).withoutResidual(), InputError, "compact");
});

Deno.test("compact: a foreign model is refused with ModelMismatchError", () => {
  const bytes = new Memory(compactData(rng(2))).toBytes();
  const e = assertThrows(
    () => Memory.fromBytes(bytes, { expectModel: "ff".repeat(32) }),
    ModelMismatchError,
  );
  assert(e.message.includes("01234567"), e.message);
});

Deno.test("compact: only slot-less lossless single-node memories are eligible", () => {
  const base = () => compactData(rng(3));
  const cases: Array<[string, (d: MemoryData) => void]> = [
    ["no residual", (d) => delete d.residual],
    ["a partial residual", (d) => {
      d.tokenCount = d.nodes[0].tokenEnd = d.tokenCount + 1;
    }],
    ["slots", (d) => {
      d.nodes[0].slots = new Int8Array(d.slotCount * d.dim);
      d.nodes[0].scales = new Float32Array(d.slotCount);
    }],
    ["two nodes", (d) => d.nodes.push({ ...d.nodes[0], level: "paragraph", parent: 0 })],
    ["root not spanning the text", (d) => (d.textBytes += 1)],
  ];
  for (const [what, edit] of cases) {
    const d = base();
    edit(d);
    try {
      new Memory(d);
      throw new Error(`accepted a compact memory with ${what}`);
    } catch (e) {
      assert(e instanceof InputError && e.message.includes("compact container"), `${what}: ${e}`);
    }
  }
  // A short fingerprint is a compact-only form.
  const full = base();
  full.container = "full";
  full.modelFingerprint = "01234567";
  assertThrows(() => new Memory(full), InputError, "64");
  assertThrows(() => new Memory({ ...base(), modelFingerprint: "0123456" }), InputError);
  assertThrows(
    () => new Memory({ ...base(), container: "tiny" as "compact" }),
    InputError,
    "container",
  );
});

Deno.test("compact: damaged files are refused at every truncation and byte flip", () => {
  const bytes = new Memory(compactData(rng(4), { meta: true })).toBytes();
  for (let n = 0; n < bytes.length; n++) {
    assertThrows(() => Memory.fromBytes(bytes.subarray(0, n)), FormatError);
  }
  for (let i = 2; i < bytes.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const f = bytes.slice();
      f[i] ^= 1 << bit;
      assertThrows(() => Memory.fromBytes(f), FormatError);
    }
  }
  const newer = bytes.slice();
  newer[2] = (newer[2] & 0xf0) | 4; // versions 2 and 3 are the code containers (below)
  assertThrows(() => Memory.fromBytes(withCrc(newer)), FormatError, "version 4");
  const flagged = bytes.slice();
  flagged[2] |= 0x40; // bits 4 (meta) and 5 (cache) are known; 6 is not
  assertThrows(() => Memory.fromBytes(withCrc(flagged)), FormatError, "flags");
});

Deno.test("compact fuzz: mutated files with fixed-up checksums decode canonically or throw FormatError", () => {
  const rnd = rng(99);
  // Version 1 (no code), 2 (a memory code) and 3 (the empty code) files, with and without meta.
  const seeds = [0, 1, 2, 3, 4, 5].map((i) =>
    new Memory(compactData(rng(10 + i), { meta: i % 2 === 1, code: i >= 2 })).toBytes()
  );
  // Version 3: the empty code.
  const empty = { basis: "0000", values: new Int8Array(0) };
  seeds.push(new Memory({ ...compactData(rng(30), { meta: true }), code: empty }).toBytes());
  let decoded = 0;
  const t0 = performance.now();
  for (let it = 0; it < 20_000; it++) {
    const src = seeds[it % seeds.length];
    let f: Uint8Array;
    const k = it % 4;
    if (k === 0) { // overwrite bytes in the counts and meta region
      f = src.slice();
      for (let j = 1 + Math.floor(rnd() * 3); j > 0; j--) {
        f[2 + Math.floor(rnd() * Math.min(40, f.length - 6))] = Math.floor(rnd() * 256);
      }
    } else if (k === 1) { // delete a run
      const at = 2 + Math.floor(rnd() * (src.length - 6));
      f = new Uint8Array([...src.subarray(0, at), ...src.subarray(at + 1 + Math.floor(rnd() * 4))]);
    } else if (k === 2) { // insert random bytes
      const at = 2 + Math.floor(rnd() * (src.length - 6));
      const ins = Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => Math.floor(rnd() * 256));
      f = new Uint8Array([...src.subarray(0, at), ...ins, ...src.subarray(at)]);
    } else { // truncate
      f = src.slice(0, 2 + Math.floor(rnd() * (src.length - 2)));
    }
    withCrc(f);
    try {
      const m = Memory.fromBytes(f);
      decoded++;
      const again = m.toBytes();
      assertEquals(again.length, f.length, "re-encoding changed the length");
      for (let i = 0; i < f.length; i++) assert(again[i] === f[i], "re-encoding changed a byte");
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
    }
  }
  assert(decoded > 0, "no mutated file decoded: the fuzz reaches nothing past the checksum");
  assert(performance.now() - t0 < 20_000, "compact fuzz too slow");
});

Deno.test("compact v2: memory codes round-trip canonically at the planned size", () => {
  const rnd = rng(21);
  for (let i = 0; i < 200; i++) {
    const data = compactData(rnd, { meta: i % 3 === 0, code: true });
    const bytes = new Memory(data).toBytes();
    assertEquals(bytes.length, compactSize(data));
    assertEquals(bytes[2] & 0x0f, 2);
    const back = Memory.fromBytes(bytes, { expectModel: FP });
    assertEquals(back.code!.basis, data.code!.basis);
    assertEquals(Array.from(back.code!.values), Array.from(data.code!.values));
    assertEquals(Array.from(back.residual!.bytes), Array.from(data.residual!.bytes));
    assertEquals(Array.from(back.toBytes()), Array.from(bytes));
  }
  // The code section: 2 bytes of basis id, a count, two coefficients a byte.
  const data = compactData(rng(1), { code: true });
  data.code = { basis: "abcd", values: new Int8Array(16) };
  const v1 = { ...data, code: undefined };
  assertEquals(new Memory(data).byteLength - new Memory(v1).byteLength, 3 + 8);
});

// The hand-made memory of the pinned-file tests (not model output): 12 bytes, 4 tokens, a
// 3-byte residual coded with the cache; `extra` adds meta and a code.
function pinnedData(extra: Pick<MemoryData, "meta" | "code">): MemoryData {
  return {
    modelFingerprint: FP,
    container: "compact",
    slotCount: 8,
    dim: 128,
    textBytes: 12,
    tokenCount: 4,
    nodes: [{
      level: "document",
      parent: -1,
      byteStart: 0,
      byteEnd: 12,
      tokenStart: 0,
      tokenEnd: 4,
      slots: new Int8Array(0),
      scales: new Float32Array(0),
    }],
    residual: { codedTokens: 4, bytes: new Uint8Array([1, 2, 3]), cache: true },
    ...extra,
  };
}

Deno.test("compact v2: a file written by this version is pinned and decodes", () => {
  // A hand-made memory (not model output): 5 coefficients (odd: padded), meta, cache flag.
  const data = pinnedData({
    meta: { k: "v" },
    code: { basis: "4081", values: new Int8Array([-8, 7, 0, -1, 3]) },
  });
  const b64 = "sxoyASNFZwiAAQwEQIEFePADAQFrAXYBAgP8ZMAe";
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  assertEquals(btoa(String.fromCharCode(...new Memory(data).toBytes())), b64);
  const m = Memory.fromBytes(bytes);
  assertEquals(Array.from(m.code!.values), [-8, 7, 0, -1, 3]);
  assertEquals([m.code!.basis, m.meta!.k, m.residual!.cache], ["4081", "v", true]);
  // The padding nibble of an odd code must be 0.
  const padded = bytes.slice();
  padded[17] |= 0x10; // the last code byte (third of three)
  assertThrows(() => Memory.fromBytes(withCrc(padded)), FormatError, "padding");
  // A stored code has at least one value (the empty code is version 3, with no section).
  const empty = bytes.slice();
  empty[14] = 0; // the count
  assertThrows(() => Memory.fromBytes(withCrc(empty)), FormatError, "empty");
});

Deno.test("compact v3: the empty code is written as no section, pinned and read back", () => {
  const data = pinnedData({ code: { basis: "0000", values: new Int8Array(0) } });
  const bytes = new Memory(data).toBytes();
  // Version 1's bytes but for the version: no code section at all.
  const v1 = new Memory({ ...data, code: undefined }).toBytes();
  assertEquals([bytes.length, bytes[2] & 0x0f, v1[2] & 0x0f], [v1.length, 3, 1]);
  const b64 = btoa(String.fromCharCode(...bytes));
  assertEquals(b64, PINNED_EMPTY_CODE);
  const m = Memory.fromBytes(bytes);
  assertEquals([m.code!.basis, m.code!.values.length, m.residual!.bytes], [
    "0000",
    0,
    new Uint8Array([1, 2, 3]),
  ]);
  assertEquals(m.toBytes(), bytes); // canonical
  // The empty code's basis is 0000 (it names no basis).
  assertThrows(
    () => new Memory({ ...data, code: { basis: "4081", values: new Int8Array(0) } }),
    InputError,
    "0000",
  );
});

Deno.test("compact v2: a code belongs in the compact container only, with valid values", () => {
  const data = compactData(rng(8), { code: true });
  assertThrows(() => new Memory({ ...data, container: "full" }), InputError);
  assertThrows(
    () => new Memory({ ...data, code: { basis: "xyz1", values: new Int8Array(1) } }),
    InputError,
    "basis",
  );
  assertThrows(
    () => new Memory({ ...data, code: { basis: "0000", values: new Int8Array([8]) } }),
    InputError,
    "-8..7",
  );
  assertThrows(
    () => new Memory({ ...data, code: { basis: "0000", values: new Int8Array(256) } }),
    InputError,
    "0..255",
  );
});

Deno.test("compact: decodeR3M names both magics for foreign bytes", () => {
  assertThrows(() => decodeR3M(new Uint8Array([1, 2, 3, 4, 5])), FormatError, "b3 1a");
});
