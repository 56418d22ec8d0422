// Tests of the Memory type and its .r3m bytes (src/codec/memory.ts, src/codec/r3m_format.ts).
import { Memory, type MemoryData, type MemoryNode, type NodeLevel } from "../src/codec/memory.ts";
import { crc32 } from "../src/codec/crc32.ts";
import {
  encodeR3M,
  R3M_HEADER_BYTES,
  R3M_MAGIC,
  R3M_VERSION,
  validateMemoryData,
} from "../src/codec/r3m_format.ts";
import { FormatError, InputError, ModelMismatchError } from "../src/errors.ts";
import { crc32 as zlibCrc32 } from "node:zlib";
import { fixup, varint } from "./_r3m_edit.ts";
import { rng as prng } from "./_rng.ts";

function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

function assertThrows(
  fn: () => unknown,
  type: new (...a: never[]) => Error,
  includes?: string | RegExp,
): Error {
  try {
    fn();
  } catch (e) {
    assert(e instanceof type, `expected ${type.name}, got ${(e as Error)?.name}: ${e}`);
    if (includes !== undefined) {
      const ok = typeof includes === "string"
        ? e.message.toLowerCase().includes(includes.toLowerCase())
        : includes.test(e.message);
      assert(ok, `message ${JSON.stringify(e.message)} lacks ${includes}`);
    }
    return e;
  }
  throw new Error(`expected ${type.name}, nothing thrown`);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function raw(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

const FP_A = "a1".repeat(32);
const FP_B = "b2".repeat(32);

/** `k` ordered, non-overlapping (possibly empty, possibly gapped) spans inside [a, b]. */
function splitSpan(rnd: () => number, a: number, b: number, k: number): Array<[number, number]> {
  const pts = Array.from({ length: 2 * k }, () => a + Math.floor(rnd() * (b - a + 1)));
  pts.sort((x, y) => x - y);
  if (rnd() < 0.5) { // often contiguous, covering everything
    const cuts = Array.from({ length: k - 1 }, () => a + Math.floor(rnd() * (b - a + 1)));
    cuts.sort((x, y) => x - y);
    const edges = [a, ...cuts, b];
    return Array.from({ length: k }, (_, i) => [edges[i], edges[i + 1]]);
  }
  return Array.from({ length: k }, (_, i) => [pts[2 * i], pts[2 * i + 1]]);
}

/** A random valid memory tree (seeded). */
function randomMemory(rnd: () => number, maxNodes = 40): MemoryData {
  const slotCount = 1 + Math.floor(rnd() * 4);
  const dim = 1 + Math.floor(rnd() * 12);
  const textBytes = Math.floor(rnd() ** 2 * 300_000);
  const tokenCount = Math.floor(textBytes / (1 + rnd() * 4));
  const node = (level: NodeLevel, parent: number, bs: [number, number], ts: [number, number]) => {
    const slots = new Int8Array(slotCount * dim);
    for (let i = 0; i < slots.length; i++) slots[i] = Math.floor(rnd() * 256) - 128;
    const scales = new Float32Array(slotCount);
    for (let i = 0; i < slotCount; i++) {
      const r = rnd();
      scales[i] = r < 0.05 ? 0 : r < 0.08 ? -0 : r < 0.1 ? -rnd() : r < 0.12 ? 3e38 : rnd() / 64;
    }
    return {
      level,
      parent,
      byteStart: bs[0],
      byteEnd: bs[1],
      tokenStart: ts[0],
      tokenEnd: ts[1],
      slots,
      scales,
    } satisfies MemoryNode;
  };
  const docB = splitSpan(rnd, 0, textBytes, 1)[0];
  const docT = splitSpan(rnd, 0, tokenCount, 1)[0];
  const nodes: MemoryNode[] = [node("document", -1, docB, docT)];
  const nParas = Math.floor(rnd() * Math.min(8, maxNodes));
  const pb = splitSpan(rnd, docB[0], docB[1], nParas);
  const pt = splitSpan(rnd, docT[0], docT[1], nParas);
  const dfs = rnd() < 0.5;
  const pending: Array<() => void> = [];
  for (let p = 0; p < nParas; p++) {
    const pi = nodes.length;
    nodes.push(node("paragraph", 0, pb[p], pt[p]));
    const nSent = Math.floor(rnd() * Math.max(1, (maxNodes - nParas) / Math.max(1, nParas)));
    const sb = splitSpan(rnd, pb[p][0], pb[p][1], nSent);
    const st = splitSpan(rnd, pt[p][0], pt[p][1], nSent);
    const addSentences = () => {
      for (let s = 0; s < nSent; s++) nodes.push(node("sentence", pi, sb[s], st[s]));
    };
    if (dfs) addSentences();
    else pending.push(addSentences);
  }
  for (const f of pending) f();
  const data: MemoryData = {
    modelFingerprint: Array.from({ length: 32 }, () => {
      return Math.floor(rnd() * 256).toString(16).padStart(2, "0");
    }).join(""),
    slotCount,
    dim,
    textBytes,
    tokenCount,
    nodes,
  };
  if (rnd() < 0.5) {
    const bytes = new Uint8Array(Math.floor(rnd() ** 2 * 3000));
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rnd() * 256);
    data.residual = { codedTokens: Math.floor(rnd() * (tokenCount + 1)), bytes };
  }
  if (rnd() < 0.5) {
    const keys = ["model", "created", "__proto__", "ключ", "😀", "\uFEFFbom", "a", "b".repeat(64)];
    const meta: Record<string, string> = {};
    for (const k of keys) {
      if (rnd() < 0.5) {
        Object.defineProperty(meta, k, {
          value: rnd() < 0.2 ? "" : "v\u00e9\u{1F600}".repeat(Math.floor(rnd() * 100)),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
    }
    data.meta = meta;
  }
  return data;
}

function assertSameData(a: MemoryData, b: MemoryData): void {
  assert(a.modelFingerprint === b.modelFingerprint, "fingerprint");
  for (const k of ["slotCount", "dim", "textBytes", "tokenCount"] as const) {
    assert(a[k] === b[k], `${k}: ${a[k]} vs ${b[k]}`);
  }
  assert(a.nodes.length === b.nodes.length, "node count");
  for (let i = 0; i < a.nodes.length; i++) {
    const x = a.nodes[i], y = b.nodes[i];
    for (
      const k of ["level", "parent", "byteStart", "byteEnd", "tokenStart", "tokenEnd"] as const
    ) {
      assert(x[k] === y[k], `node ${i} ${k}: ${x[k]} vs ${y[k]}`);
    }
    assert(bytesEqual(raw(x.slots), raw(y.slots)), `node ${i} slots`);
    assert(bytesEqual(raw(x.scales), raw(y.scales)), `node ${i} scales (bitwise)`);
  }
  assert((a.residual === undefined) === (b.residual === undefined), "residual presence");
  if (a.residual && b.residual) {
    assert(a.residual.codedTokens === b.residual.codedTokens, "codedTokens");
    assert(bytesEqual(a.residual.bytes, b.residual.bytes), "residual bytes");
  }
  const ma = Object.entries(a.meta ?? {}).sort(), mb = Object.entries(b.meta ?? {}).sort();
  assert(JSON.stringify(ma) === JSON.stringify(mb), "meta");
}

Deno.test("crc32 matches node:zlib", () => {
  const rnd = prng(1);
  for (let n = 0; n < 300; n++) {
    const b = new Uint8Array(n * 7).map(() => Math.floor(rnd() * 256));
    const s = Math.floor(rnd() * (b.length + 1));
    assert(crc32(b) === zlibCrc32(b), `length ${b.length}`);
    assert(crc32(b, s, b.length, crc32(b, 0, s)) === crc32(b), "incremental");
  }
});

Deno.test("random memory trees round-trip bit-exactly", () => {
  const rnd = prng(20260101);
  let totalBytes = 0;
  for (let trial = 0; trial < 300; trial++) {
    const data = randomMemory(rnd, trial < 5 ? 2000 : 40);
    const mem = new Memory(data);
    const bytes = mem.toBytes();
    assert(bytes.length === mem.byteLength, "byteLength");
    assert(bytesEqual(bytes, encodeR3M(data)), "encodeR3M agrees");
    assert(bytesEqual(bytes, mem.toBytes()), "deterministic");
    const back = Memory.fromBytes(bytes, { expectModel: data.modelFingerprint.toUpperCase() });
    assertSameData(data, back.data);
    assert(bytesEqual(back.toBytes(), bytes), "canonical re-encoding");
    validateMemoryData(back.data);
    assert(back.lossless === (data.residual !== undefined));
    const lv = back.levels();
    assert(lv.document === 1);
    assert(lv.paragraph === data.nodes.filter((n) => n.level === "paragraph").length);
    const st = back.stats();
    assert(st.bytes === bytes.length && st.textBytes === data.textBytes);
    assert(st.slots === data.nodes.length * data.slotCount);
    assert(st.residualBytes === (data.residual?.bytes.length ?? 0));
    assert(st.ratio === data.textBytes / bytes.length);
    assert(lv.document + lv.paragraph + lv.sentence === back.nodes.length);
    totalBytes += bytes.length;
  }
  assert(totalBytes > 100_000);
});

Deno.test("meta key order does not change the bytes; the reader returns plain own keys", () => {
  const rnd = prng(3);
  const data = randomMemory(rnd, 3);
  const a = new Memory({ ...data, meta: { zeta: "1", alpha: "2", __proto__x: "3" } }).toBytes();
  const b = new Memory({ ...data, meta: { __proto__x: "3", alpha: "2", zeta: "1" } }).toBytes();
  assert(bytesEqual(a, b));
  const proto: Record<string, string> = {};
  Object.defineProperty(proto, "__proto__", { value: "x", enumerable: true });
  const m = Memory.fromBytes(new Memory({ ...data, meta: proto }).toBytes());
  assert(Object.getPrototypeOf(m.meta) === Object.prototype);
  assert(Object.hasOwn(m.meta!, "__proto__") && m.meta!["__proto__"] === "x");
  // Empty meta is the same as no meta.
  const { meta: _, ...noMeta } = data;
  assert(bytesEqual(new Memory({ ...data, meta: {} }).toBytes(), new Memory(noMeta).toBytes()));
});

Deno.test("Memory accessors: levels, children, stats, withoutResidual", () => {
  const mk = (level: NodeLevel, parent: number, a: number, b: number): MemoryNode => ({
    level,
    parent,
    byteStart: a,
    byteEnd: b,
    tokenStart: a,
    tokenEnd: b,
    slots: new Int8Array(8),
    scales: new Float32Array(2),
  });
  const mem = new Memory({
    modelFingerprint: FP_A.toUpperCase(),
    slotCount: 2,
    dim: 4,
    textBytes: 100,
    tokenCount: 100,
    nodes: [
      mk("document", -1, 0, 100),
      mk("paragraph", 0, 0, 50),
      mk("paragraph", 0, 50, 100),
      mk("sentence", 1, 0, 20),
      mk("sentence", 1, 20, 50),
      mk("sentence", 2, 60, 100),
    ],
    residual: { codedTokens: 100, bytes: new Uint8Array(40) },
    meta: { source: "test" },
  });
  assert(mem.modelFingerprint === FP_A, "fingerprint normalised to lower case");
  assert(JSON.stringify(mem.levels()) === '{"document":1,"paragraph":2,"sentence":3}');
  assert(JSON.stringify(mem.children(0)) === "[1,2]");
  assert(JSON.stringify(mem.children(1)) === "[3,4]");
  assert(JSON.stringify(mem.children(5)) === "[]");
  const s = mem.stats();
  assert(s.slots === 12 && s.residualBytes === 40 && s.textBytes === 100);
  assert(s.bytes === mem.toBytes().length);
  assert(mem.lossless && mem.meta?.source === "test" && mem.slotCount === 2 && mem.dim === 4);
  const lossy = mem.withoutResidual();
  assert(!lossy.lossless && lossy.byteLength < mem.byteLength && mem.lossless);
  assert(Memory.fromBytes(lossy.toBytes()).residual === undefined);
});

// ---------------------------------------------------------------------------------------------
// Refusals

function smallFile(): Uint8Array {
  const mk = (level: NodeLevel, parent: number, a: number, b: number): MemoryNode => ({
    level,
    parent,
    byteStart: a,
    byteEnd: b,
    tokenStart: a >> 1,
    tokenEnd: b >> 1,
    slots: new Int8Array([1, -2, 3, -128]),
    scales: new Float32Array([0.5, 0.25]),
  });
  return new Memory({
    modelFingerprint: FP_A,
    slotCount: 2,
    dim: 2,
    textBytes: 40,
    tokenCount: 20,
    nodes: [mk("document", -1, 0, 40), mk("paragraph", 0, 0, 40), mk("sentence", 1, 2, 30)],
    residual: { codedTokens: 20, bytes: new Uint8Array([9, 8, 7]) },
    meta: { k: "v" },
  }).toBytes();
}

/** A file with the given payload bytes and valid header and CRCs. */
function withPayload(payload: number[], flags = 0, fp = FP_A): Uint8Array {
  const f = new Uint8Array(R3M_HEADER_BYTES + payload.length + 4);
  f.set(R3M_MAGIC);
  const v = new DataView(f.buffer);
  v.setUint16(4, R3M_VERSION, true);
  v.setUint16(6, flags, true);
  for (let i = 0; i < 32; i++) f[8 + i] = parseInt(fp.slice(2 * i, 2 * i + 2), 16);
  f.set(payload, R3M_HEADER_BYTES);
  return fixup(f);
}

/** Payload of a 1-slot, dim-1 memory; `nodes` are [level, parentDelta, bGap, bLen, tGap, tLen]. */
function payload(
  nodes: number[][],
  o: { text?: number; tokens?: number; slotCount?: number; dim?: number; tail?: number[] } = {},
): number[] {
  const sc = o.slotCount ?? 1, dim = o.dim ?? 1;
  const p = [
    ...varint(sc),
    ...varint(dim),
    ...varint(o.text ?? 100),
    ...varint(o.tokens ?? 100),
    ...varint(nodes.length),
  ];
  for (const [level, ...rest] of nodes) p.push(level, ...rest.flatMap(varint));
  for (let i = 0; i < nodes.length * sc * dim; i++) p.push(i & 0xff);
  for (let i = 0; i < nodes.length * sc; i++) p.push(0, 0, 0x80, 0x3f); // 1.0f
  return [...p, ...(o.tail ?? [])];
}

Deno.test("hand-built payloads: the well-formed one decodes", () => {
  const m = Memory.fromBytes(withPayload(payload([[0, 1, 0, 100, 0, 100], [1, 1, 10, 20, 5, 5]])));
  assert(m.nodes[1].byteStart === 10 && m.nodes[1].byteEnd === 30 && m.nodes[1].tokenEnd === 10);
  assert(m.nodes[0].scales[0] === 1);
});

Deno.test("refuses: wrong magic, with a FormatError saying it is not an .r3m file", () => {
  const good = smallFile();
  for (
    const bad of [
      new Uint8Array(0),
      new TextEncoder().encode("hello world, this is plain text and not a memory at all"),
      new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Uint8Array.from(good, (b, i) => (i === 3 ? 0x01 : b)),
      Uint8Array.from(good, (b, i) => (i === 0 ? 0x72 : b)),
    ]
  ) assertThrows(() => Memory.fromBytes(bad), FormatError, "not an .r3m file");
});

Deno.test("refuses: unknown version, naming both versions", () => {
  for (const version of [0, 2, 99, 0xffff]) {
    const f = smallFile();
    new DataView(f.buffer).setUint16(4, version, true);
    const e = assertThrows(() => Memory.fromBytes(f), FormatError, String(version));
    assert(e.message.includes(`version ${R3M_VERSION}`), e.message);
    // Same with a header CRC that matches: still the version error.
    assertThrows(() => Memory.fromBytes(fixup(f)), FormatError, `version ${version}`);
  }
});

Deno.test("refuses: bad CRC in header or payload", () => {
  const good = smallFile();
  for (let i = 0; i < good.length; i++) {
    if (i < 8) continue; // magic and version have their own messages
    const f = good.slice();
    f[i] ^= 0x10;
    assertThrows(() => Memory.fromBytes(f), FormatError, "checksum");
  }
});

Deno.test("refuses: truncated at every length, and trailing bytes", () => {
  const good = smallFile();
  for (let n = 0; n < good.length; n++) {
    assertThrows(() => Memory.fromBytes(good.subarray(0, n)), FormatError);
    // A shifted copy (not at offset 0 of its buffer) behaves the same.
    const shifted = new Uint8Array(n + 3).subarray(3);
    shifted.set(good.subarray(0, n));
    assertThrows(() => Memory.fromBytes(shifted), FormatError);
  }
  const longer = new Uint8Array(good.length + 1);
  longer.set(good);
  assertThrows(() => Memory.fromBytes(longer), FormatError, "unexpected bytes");
  const inner = new Uint8Array(good.length + 10).subarray(5, 5 + good.length);
  inner.set(good);
  assert(Memory.fromBytes(inner).nodes.length === 3, "decodes from a subarray view");
});

Deno.test("refuses: a foreign model with ModelMismatchError naming both", () => {
  const good = smallFile();
  const e = assertThrows(
    () => Memory.fromBytes(good, { expectModel: FP_B }),
    ModelMismatchError,
    FP_A,
  );
  assert(e.message.includes(FP_B), e.message);
  assert(Memory.fromBytes(good, { expectModel: FP_A }).modelFingerprint === FP_A);
  assert(Memory.fromBytes(good, { expectModel: FP_A.toUpperCase() }).nodes.length === 3);
  assertThrows(() => Memory.fromBytes(good, { expectModel: "abc" }), InputError);
  assertThrows(() => Memory.fromBytes("nope" as unknown as Uint8Array), InputError);
  // Damaged and foreign: the damage is reported (integrity is checked first).
  const damaged = good.slice();
  damaged[60] ^= 1;
  assertThrows(() => Memory.fromBytes(damaged, { expectModel: FP_B }), FormatError, "checksum");
});

Deno.test("refuses structurally invalid payloads that have valid checksums", () => {
  const D = [0, 1, 0, 100, 0, 100]; // a document root covering everything
  const cases: Array<[string, Uint8Array, string]> = [
    ["no nodes", withPayload(payload([])), "at least its document"],
    ["huge node count", withPayload([1, 1, 100, 100, ...varint(0xffffffff)]), "node table"],
    [
      "huge slots",
      withPayload([...varint(4096), ...varint(4097), 0, 0, 1]),
      "slotCount*dim",
    ],
    ["slotCount 0", withPayload(payload([D], { slotCount: 0 })), "slotCount"],
    ["dim too big", withPayload([1, ...varint(65537), 0, 0, 1]), "dim"],
    ["varint over 32 bits", withPayload([0xff, 0xff, 0xff, 0xff, 0x7f]), "32 bits"],
    ["varint over 5 bytes", withPayload([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), "longer than 5"],
    ["overlong varint", withPayload([0x81, 0x00, 1, 0, 0, 1]), "overlong"],
    ["root not a document", withPayload(payload([[1, 1, 0, 100, 0, 100]])), "document root"],
    ["root with a parent", withPayload(payload([[0, 0, 0, 100, 0, 100]])), "document root"],
    ["two documents", withPayload(payload([D, [0, 1, 0, 1, 0, 1]])), "cannot be a child"],
    ["forward parent", withPayload(payload([D, [1, 0, 0, 1, 0, 1]])), "parent index"],
    ["parent before root", withPayload(payload([D, [1, 2, 0, 1, 0, 1]])), "parent index"],
    ["sentence under document", withPayload(payload([D, [2, 1, 0, 1, 0, 1]])), "child"],
    [
      "paragraph under paragraph",
      withPayload(payload([D, [1, 1, 0, 10, 0, 10], [1, 1, 0, 1, 0, 1]])),
      "child",
    ],
    ["unknown level", withPayload(payload([D, [3, 1, 0, 1, 0, 1]])), "level"],
    ["root beyond text", withPayload(payload([[0, 1, 0, 101, 0, 100]])), "byte span"],
    ["root beyond tokens", withPayload(payload([[0, 1, 0, 100, 1, 100]])), "token span"],
    [
      "child beyond parent",
      withPayload(payload([[0, 1, 0, 50, 0, 50], [1, 1, 40, 11, 0, 1]])),
      "overruns",
    ],
    [
      "second sibling past the parent's end",
      withPayload(payload([D, [1, 1, 10, 50, 0, 1], [1, 2, 0, 41, 0, 1]])),
      "overruns",
    ],
    ["NaN scale", withPayload(patchScale(payload([D]), [0, 0, 0xc0, 0x7f])), "scale"],
    ["infinite scale", withPayload(patchScale(payload([D]), [0, 0, 0x80, 0x7f])), "scale"],
    ["unread payload bytes", withPayload(payload([D], { tail: [0] })), "unexpected bytes"],
    ["missing residual", withPayload(payload([D]), 1), "truncated"],
    ["residual over tokens", withPayload(payload([D], { tail: [101, 0] }), 1), "residual"],
    ["residual too long", withPayload(payload([D], { tail: [1, 9, 1, 2] }), 1), "residual"],
    ["unknown flag", withPayload(payload([D]), 16), "flags"],
    ["turns flag without a residual", withPayload(payload([D]), 8), "no residual"],
    ["cache flag without residual", withPayload(payload([D]), 4), "no residual"],
    ["meta count 0", withPayload(payload([D], { tail: [0] }), 2), "meta"],
    ["meta count 65", withPayload(payload([D], { tail: [65] }), 2), "meta"],
    ["meta empty key", withPayload(payload([D], { tail: [1, 0, 0] }), 2), "meta key"],
    ["meta bad utf-8", withPayload(payload([D], { tail: [1, 1, 0xff, 0] }), 2), "utf-8"],
    [
      "meta keys unsorted",
      withPayload(payload([D], { tail: [2, 1, 0x62, 0, 1, 0x61, 0] }), 2),
      "sorted",
    ],
    [
      "meta keys duplicated",
      withPayload(payload([D], { tail: [2, 1, 0x61, 0, 1, 0x61, 0] }), 2),
      "unique",
    ],
    [
      "meta value too long",
      withPayload(payload([D], { tail: [1, 1, 0x61, ...varint(1025)] }), 2),
      "meta value",
    ],
  ];
  for (const [name, file, msg] of cases) {
    const t0 = performance.now();
    const e = assertThrows(() => Memory.fromBytes(file), FormatError);
    assert(e.message.toLowerCase().includes(msg.toLowerCase()), `${name}: ${e.message}`);
    assert(performance.now() - t0 < 50, `${name}: slow`);
  }
});

function patchScale(p: number[], f32: number[]): number[] {
  p.splice(p.length - 4, 4, ...f32);
  return p;
}

Deno.test("the constructor refuses invalid data with InputError", () => {
  const rnd = prng(11);
  const base = randomMemory(rnd, 1);
  const doc = base.nodes[0];
  const n = (o: Partial<MemoryNode>): MemoryNode => ({ ...doc, ...o });
  const para = n({
    level: "paragraph",
    parent: 0,
    byteStart: doc.byteStart,
    byteEnd: doc.byteStart,
    tokenStart: doc.tokenStart,
    tokenEnd: doc.tokenStart,
  });
  const cases: Array<[string, Partial<MemoryData>]> = [
    ["bad fingerprint", { modelFingerprint: "xyz" }],
    ["no nodes", { nodes: [] }],
    ["slotCount 0", { slotCount: 0 }],
    ["fractional dim", { dim: 1.5 }],
    ["negative text", { textBytes: -1 }],
    ["root with parent", { nodes: [n({ parent: 0 })] }],
    ["root is a paragraph", { nodes: [n({ level: "paragraph" })] }],
    ["unknown level", { nodes: [n({ level: "entity" as NodeLevel })] }],
    ["inherited level name", { nodes: [n({ level: "toString" as NodeLevel })] }],
    ["second document", { nodes: [doc, n({ parent: 0 })] }],
    ["sentence under document", { nodes: [doc, { ...para, level: "sentence" }] }],
    ["forward parent", { nodes: [doc, { ...para, parent: 1 }] }],
    ["span reversed", { nodes: [n({ byteStart: 1, byteEnd: 0 })] }],
    ["span beyond text", { nodes: [n({ byteEnd: base.textBytes + 1 })] }],
    ["slots wrong length", { nodes: [n({ slots: new Int8Array(doc.slots.length + 1) })] }],
    ["slots wrong type", { nodes: [n({ slots: new Uint8Array(doc.slots.length) as never })] }],
    ["NaN scale", { nodes: [n({ scales: new Float32Array(doc.scales.length).fill(NaN) })] }],
    ["residual over tokens", {
      residual: { codedTokens: base.tokenCount + 1, bytes: new Uint8Array() },
    }],
    ["residual not bytes", { residual: { codedTokens: 0, bytes: [1, 2] as never } }],
    ["meta not strings", { meta: { a: 1 as never } }],
    ["meta lone surrogate", { meta: { a: "\uD800" } }],
    ["meta empty key", { meta: { "": "x" } }],
    ["meta long value", { meta: { a: "x".repeat(1025) } }],
    ["meta too many", {
      meta: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, ""])),
    }],
  ];
  for (const [name, patch] of cases) {
    try {
      new Memory({ ...base, ...patch } as MemoryData);
    } catch (e) {
      assert(e instanceof InputError, `${name}: ${e}`);
      continue;
    }
    throw new Error(`${name}: accepted`);
  }
  // Overlapping siblings.
  const wide = { ...base, textBytes: 100, tokenCount: 100 };
  const d = n({ byteStart: 0, byteEnd: 100, tokenStart: 0, tokenEnd: 100 });
  const p = (a: number, b: number) =>
    n({ level: "paragraph", parent: 0, byteStart: a, byteEnd: b, tokenStart: a, tokenEnd: b });
  new Memory({ ...wide, nodes: [d, p(0, 50), p(50, 100)] }); // touching is fine
  assertThrows(
    () => new Memory({ ...wide, nodes: [d, p(0, 50), p(49, 100)] }),
    InputError,
    "sibling",
  );
  assertThrows(
    () => new Memory({ ...wide, nodes: [d, p(50, 60), p(0, 10)] }),
    InputError,
    "sibling",
  );
});
