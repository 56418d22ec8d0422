// Fuzz test of the .r3m reader: 100 000 mutated or truncated files fed to Memory.fromBytes.
// Each must decode (and then re-encode to the very same bytes) or throw FormatError /
// ModelMismatchError; nothing else, no hang, no allocation beyond what the input implies.
import { Memory, type MemoryData, type MemoryNode, type NodeLevel } from "../src/codec/memory.ts";
import { crc32 } from "../src/codec/crc32.ts";
import { encodedSize, R3M_HEADER_BYTES, validateMemoryData } from "../src/codec/r3m_format.ts";
import { FormatError, ModelMismatchError } from "../src/errors.ts";
import { fixup, varint } from "./_r3m_edit.ts";
import { rng as prng } from "./_rng.ts";

const ITERATIONS = 100_000;
const MAX_PARSE_MS = 50;
/** Parses slower than this are timed again (the fastest of four runs counts). */
const RETIME_MS = 10;
const MAX_TOTAL_MS = 30_000;

function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

// ---------------------------------------------------------------------------------------------
// Seed corpus: small files (so each parse is quick) covering every section.

interface Seed {
  bytes: Uint8Array;
  fingerprint: string;
  /** Offsets of the varint fields worth inflating (counts, residual and meta lengths). */
  fields: number[];
}

function makeSeed(rnd: () => number, o: {
  nodes: number;
  slotCount: number;
  dim: number;
  residual: boolean;
  meta: boolean;
}): Seed {
  const textBytes = 200 + Math.floor(rnd() * 2000);
  const tokenCount = Math.floor(textBytes / 4);
  const fp = Array.from({ length: 32 }, () => Math.floor(rnd() * 256).toString(16).padStart(2, "0"))
    .join("");
  const mk = (level: NodeLevel, parent: number, b0: number, b1: number): MemoryNode => ({
    level,
    parent,
    byteStart: b0,
    byteEnd: b1,
    tokenStart: b0 >> 2,
    tokenEnd: b1 >> 2,
    slots: new Int8Array(o.slotCount * o.dim).map(() => Math.floor(rnd() * 256) - 128),
    scales: new Float32Array(o.slotCount).map(() => rnd() / 32),
  });
  const nodes: MemoryNode[] = [mk("document", -1, 0, textBytes)];
  const paras = Math.max(0, Math.min(o.nodes - 1, 1 + Math.floor((o.nodes - 1) / 3)));
  const sentPer = paras > 0 ? Math.floor((o.nodes - 1 - paras) / paras) : 0;
  const step = Math.floor(textBytes / Math.max(1, paras));
  for (let p = 0; p < paras; p++) {
    const pi = nodes.length;
    const a = p * step, b = (p + 1) * step;
    nodes.push(mk("paragraph", 0, a, b));
    const s = Math.floor((b - a) / Math.max(1, sentPer));
    for (let k = 0; k < sentPer; k++) nodes.push(mk("sentence", pi, a + k * s, a + (k + 1) * s));
  }
  const data: MemoryData = {
    modelFingerprint: fp,
    slotCount: o.slotCount,
    dim: o.dim,
    textBytes,
    tokenCount,
    nodes,
  };
  if (o.residual) {
    data.residual = {
      codedTokens: tokenCount,
      bytes: new Uint8Array(20 + Math.floor(rnd() * 100)).map(() => Math.floor(rnd() * 256)),
    };
  }
  if (o.meta) data.meta = { created: "2026-01-01", model: "tiny", note: "ünïcødé ✓" };
  const bytes = new Memory(data).toBytes();
  // Field offsets: the five leading counts, the residual's two varints, the meta count.
  const fields: number[] = [];
  let pos = R3M_HEADER_BYTES;
  for (let k = 0; k < 5; k++) {
    fields.push(pos);
    while (bytes[pos] & 0x80) pos++;
    pos++;
  }
  const { residual: _r, meta: _m, ...bare } = data;
  if (data.residual) {
    const at = encodedSize(bare) - 4;
    fields.push(at);
    let q = at;
    while (bytes[q] & 0x80) q++;
    fields.push(q + 1);
  }
  if (data.meta) fields.push(encodedSize({ ...bare, residual: data.residual }) - 4);
  return { bytes, fingerprint: fp, fields };
}

function seeds(): Seed[] {
  const rnd = prng(31337);
  return [
    makeSeed(rnd, { nodes: 1, slotCount: 1, dim: 1, residual: false, meta: false }),
    makeSeed(rnd, { nodes: 4, slotCount: 2, dim: 4, residual: true, meta: false }),
    makeSeed(rnd, { nodes: 7, slotCount: 2, dim: 3, residual: false, meta: true }),
    makeSeed(rnd, { nodes: 10, slotCount: 4, dim: 8, residual: true, meta: true }),
    makeSeed(rnd, { nodes: 25, slotCount: 1, dim: 2, residual: true, meta: true }),
    makeSeed(rnd, { nodes: 13, slotCount: 3, dim: 16, residual: true, meta: false }),
  ];
}

// ---------------------------------------------------------------------------------------------
// Mutations

function splice(f: Uint8Array, at: number, del: number, ins: ArrayLike<number>): Uint8Array {
  at = Math.max(0, Math.min(at, f.length));
  del = Math.max(0, Math.min(del, f.length - at));
  const out = new Uint8Array(f.length - del + ins.length);
  out.set(f.subarray(0, at));
  out.set(ins, at);
  out.set(f.subarray(at + del), at + ins.length);
  return out;
}

function randomBytes(rnd: () => number, n: number): number[] {
  return Array.from({ length: n }, () => Math.floor(rnd() * 256));
}

/** A "large" value for a length field: near a limit, huge, or just off by a little. */
function inflated(rnd: () => number, old: number): number {
  const r = rnd();
  if (r < 0.2) return 0xffffffff;
  if (r < 0.35) return 2 ** (7 * (1 + Math.floor(rnd() * 4))); // varint length boundaries
  if (r < 0.5) return Math.floor(rnd() * 2 ** 32);
  if (r < 0.75) return old + 1 + Math.floor(rnd() * 4);
  if (r < 0.85) return Math.max(0, old - 1 - Math.floor(rnd() * 4));
  return Math.floor(rnd() * 70000);
}

function readVarintLength(f: Uint8Array, at: number): { value: number; len: number } {
  let v = 0, mul = 1, i = at;
  while (i < f.length && i - at < 5) {
    const b = f[i++];
    v += (b & 0x7f) * mul;
    mul *= 128;
    if (b < 0x80) break;
  }
  return { value: v, len: i - at };
}

interface Case {
  bytes: Uint8Array;
  kind: string;
  expectModel?: string;
}

function mutate(rnd: () => number, all: Seed[]): Case {
  const seed = all[Math.floor(rnd() * all.length)];
  const src = seed.bytes;
  const n = src.length;
  const payloadPos = () => R3M_HEADER_BYTES + Math.floor(rnd() * (n - R3M_HEADER_BYTES - 4));
  const k = Math.floor(rnd() * 16);
  let f: Uint8Array;
  switch (k) {
    case 0: { // bit flips anywhere
      f = src.slice();
      for (let i = 1 + Math.floor(rnd() * 3); i > 0; i--) {
        f[Math.floor(rnd() * n)] ^= 1 << Math.floor(rnd() * 8);
      }
      return { bytes: f, kind: "bitflip" };
    }
    case 1: { // byte overwrite anywhere
      f = src.slice();
      for (let i = 1 + Math.floor(rnd() * 3); i > 0; i--) {
        f[Math.floor(rnd() * n)] = Math.floor(rnd() * 256);
      }
      return { bytes: f, kind: "overwrite" };
    }
    case 2: // insert anywhere
      return {
        bytes: splice(
          src,
          Math.floor(rnd() * (n + 1)),
          0,
          randomBytes(rnd, 1 + Math.floor(rnd() * 8)),
        ),
        kind: "insert",
      };
    case 3: // delete anywhere
      return {
        bytes: splice(src, Math.floor(rnd() * n), 1 + Math.floor(rnd() * 8), []),
        kind: "delete",
      };
    case 4: // truncation
      return { bytes: src.slice(0, Math.floor(rnd() * n)), kind: "truncate" };
    case 5: { // payload-length field inflation (header CRC recomputed)
      f = src.slice();
      const v = new DataView(f.buffer);
      v.setUint32(40, inflated(rnd, v.getUint32(40, true)), true);
      v.setUint32(44, crc32(f, 0, 44), true);
      return { bytes: f, kind: "header-length" };
    }
    case 6: { // payload bit flips, CRCs fixed
      f = src.slice();
      for (let i = 1 + Math.floor(rnd() * 2); i > 0; i--) {
        f[payloadPos()] ^= 1 << Math.floor(rnd() * 8);
      }
      return { bytes: fixup(f), kind: "payload-bitflip+crc" };
    }
    case 7: { // payload byte overwrite, CRCs fixed
      f = src.slice();
      f[payloadPos()] = rnd() < 0.3 ? 0xff : rnd() < 0.5 ? 0 : Math.floor(rnd() * 256);
      return { bytes: fixup(f), kind: "payload-overwrite+crc" };
    }
    case 8: // payload insert, CRCs fixed
      return {
        bytes: fixup(splice(src, payloadPos(), 0, randomBytes(rnd, 1 + Math.floor(rnd() * 4)))),
        kind: "payload-insert+crc",
      };
    case 9: // payload delete, CRCs fixed
      return {
        bytes: fixup(splice(src, payloadPos(), 1 + Math.floor(rnd() * 4), [])),
        kind: "payload-delete+crc",
      };
    case 10:
    case 11: { // length/count field inflation at a known field, CRCs fixed
      const at = seed.fields[Math.floor(rnd() * seed.fields.length)];
      const old = readVarintLength(src, at);
      return {
        bytes: fixup(splice(src, at, old.len, varint(inflated(rnd, old.value)))),
        kind: "field-inflate+crc",
      };
    }
    case 12: { // a big varint at a random payload position, CRCs fixed
      const at = payloadPos();
      const old = readVarintLength(src, at);
      return {
        bytes: fixup(splice(src, at, old.len, varint(inflated(rnd, old.value)))),
        kind: "varint-inflate+crc",
      };
    }
    case 13: { // flags or version, CRCs fixed
      f = src.slice();
      const v = new DataView(f.buffer);
      if (rnd() < 0.7) v.setUint16(6, Math.floor(rnd() * 8), true);
      else v.setUint16(4, rnd() < 0.5 ? 1 : Math.floor(rnd() * 4), true);
      return { bytes: fixup(f), kind: "flags+crc" };
    }
    case 14: { // fingerprint changed (CRC fixed), read with the original model
      f = src.slice();
      f[8 + Math.floor(rnd() * 32)] ^= 1 + Math.floor(rnd() * 255);
      return { bytes: fixup(f), kind: "foreign-model", expectModel: seed.fingerprint };
    }
    default: { // splice in a chunk of another seed's payload, CRCs fixed
      const other = all[Math.floor(rnd() * all.length)].bytes;
      const a = R3M_HEADER_BYTES + Math.floor(rnd() * (other.length - R3M_HEADER_BYTES - 4));
      const len = 1 + Math.floor(rnd() * 40);
      const chunk = other.subarray(a, Math.min(a + len, other.length - 4));
      return {
        bytes: fixup(splice(src, payloadPos(), Math.floor(rnd() * 40), chunk)),
        kind: "crossover+crc",
      };
    }
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

Deno.test(`r3m fuzz: ${ITERATIONS} mutated files are decoded or refused with typed errors`, () => {
  const all = seeds();
  for (const s of all) assert(Memory.fromBytes(s.bytes).toBytes().length === s.bytes.length);
  const sizes = all.map((s) => s.bytes.length);
  console.log(`seed corpus: ${sizes.join(", ")} bytes`);
  const rnd = prng(0xc0ffee);
  const outcome = new Map<string, number>();
  const count = (key: string) => outcome.set(key, (outcome.get(key) ?? 0) + 1);
  let maxMs = 0;
  let maxKind = "";
  let decoded = 0;
  let structural = 0;
  let stalls = 0;
  const t0 = performance.now();
  for (let it = 0; it < ITERATIONS; it++) {
    const c = mutate(rnd, all);
    const ts = performance.now();
    let mem: Memory | undefined;
    try {
      mem = Memory.fromBytes(c.bytes, c.expectModel ? { expectModel: c.expectModel } : undefined);
    } catch (e) {
      if (e instanceof ModelMismatchError) count(`${c.kind}: ModelMismatchError`);
      else if (e instanceof FormatError) {
        const m = e.message;
        const what = /checksum/i.test(m)
          ? "checksum"
          : /truncated .r3m|after the end|not an .r3m|version/i.test(m)
          ? "envelope"
          : "structure";
        if (what === "structure") structural++;
        count(`${c.kind}: FormatError (${what})`);
      } else {
        throw new Error(
          `iteration ${it} (${c.kind}): unexpected ${(e as Error)?.name}: ${e}\n` +
            `bytes: ${Array.from(c.bytes).join(",")}`,
        );
      }
    }
    let ms = performance.now() - ts;
    if (ms > RETIME_MS) {
      // Wall-clock time includes GC pauses and the scheduler of a loaded machine. A real hang
      // is slow every time: retime the same input and keep the fastest run.
      stalls++;
      for (let k = 0; k < 3; k++) {
        const t1 = performance.now();
        try {
          Memory.fromBytes(c.bytes, c.expectModel ? { expectModel: c.expectModel } : undefined);
        } catch { /* same outcome as above */ }
        ms = Math.min(ms, performance.now() - t1);
      }
    }
    if (ms > maxMs) {
      maxMs = ms;
      maxKind = c.kind;
    }
    if (mem !== undefined) {
      decoded++;
      count(`${c.kind}: decoded`);
      // Canonical: what decodes re-encodes to the same bytes, and is valid data.
      const again = mem.toBytes();
      if (!bytesEqual(again, c.bytes)) {
        throw new Error(`iteration ${it} (${c.kind}): decoded but re-encodes differently`);
      }
      validateMemoryData(mem.data);
      // Allocation bounded by the input: the typed arrays hold exactly bytes from the file.
      let held = 0;
      for (const n of mem.nodes) held += n.slots.byteLength + n.scales.byteLength;
      held += mem.residual?.bytes.byteLength ?? 0;
      assert(held <= c.bytes.length, `iteration ${it}: holds ${held} bytes of ${c.bytes.length}`);
      assert(mem.nodes.length * 6 <= c.bytes.length, `iteration ${it}: too many nodes`);
    }
  }
  const totalMs = performance.now() - t0;
  const lines = [...outcome.entries()].sort().map(([k, v]) => `  ${k}: ${v}`);
  console.log(lines.join("\n"));
  console.log(
    `${ITERATIONS} cases in ${totalMs.toFixed(0)} ms ` +
      `(${(totalMs * 1000 / ITERATIONS).toFixed(1)} µs each incl. mutation); ` +
      `slowest parse ${maxMs.toFixed(2)} ms (${maxKind}); decoded ${decoded}, ` +
      `structural refusals ${structural}; parses retimed after a stall: ${stalls}`,
  );
  assert(maxMs < MAX_PARSE_MS, `a parse took ${maxMs} ms (${maxKind})`);
  assert(totalMs < MAX_TOTAL_MS, `fuzz run took ${totalMs} ms`);
  // The mutations must reach past the checksums into the structural validation.
  assert(structural > ITERATIONS / 5, `only ${structural} structural refusals`);
  assert(decoded > 100, `only ${decoded} mutated files decoded`);
  assert((outcome.get("foreign-model: ModelMismatchError") ?? 0) > 1000);
});

// ---------------------------------------------------------------------------------------------
// The compact container, versions 1 (no code) and 2 (a memory code): mutated files, with the
// trailing CRC left as is or recomputed, decode canonically or throw FormatError.

function compactSeed(rnd: () => number, code: boolean, meta: boolean): Uint8Array {
  const tokenCount = Math.floor(rnd() * 400);
  const textBytes = tokenCount + Math.floor(rnd() * 2 * tokenCount);
  const data: MemoryData = {
    modelFingerprint: "c0de".repeat(16),
    container: "compact",
    slotCount: 8,
    dim: 128,
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
      bytes: Uint8Array.from(randomBytes(rnd, 30)),
      cache: true,
    },
  };
  if (meta) data.meta = { source: "fuzz", note: "ünïcødé" };
  if (code) {
    data.code = {
      basis: "4081",
      values: Int8Array.from(
        { length: 1 + Math.floor(rnd() * 40) },
        () => Math.floor(rnd() * 16) - 8,
      ),
    };
  }
  return new Memory(data).toBytes();
}

Deno.test("r3m fuzz: 40 000 mutated compact files (with and without a memory code)", () => {
  const rnd = prng(0xbeef);
  const all = [0, 1, 2, 3, 4, 5].map((i) => compactSeed(rnd, i >= 2, i % 2 === 1));
  for (const s of all) assert(bytesEqual(Memory.fromBytes(s).toBytes(), s));
  let decoded = 0, structural = 0;
  const t0 = performance.now();
  for (let it = 0; it < 40_000; it++) {
    const src = all[it % all.length];
    const n = src.length;
    let f: Uint8Array;
    switch (Math.floor(rnd() * 6)) {
      case 0:
        f = src.slice();
        f[Math.floor(rnd() * n)] ^= 1 << Math.floor(rnd() * 8);
        break;
      case 1:
        f = src.slice(0, Math.floor(rnd() * n));
        break;
      case 2:
        f = splice(src, 2 + Math.floor(rnd() * 30), 1 + Math.floor(rnd() * 3), randomBytes(rnd, 2));
        break;
      case 3: // the version nibble or flag bits
        f = src.slice();
        f[2] = rnd() < 0.5
          ? (f[2] & 0xf0) | Math.floor(rnd() * 4)
          : f[2] ^ (0x10 << Math.floor(rnd() * 4));
        break;
      case 4: // the code's count or padding, and the bytes after it
        f = src.slice();
        f[14 + Math.floor(rnd() * 6)] = Math.floor(rnd() * 256);
        break;
      default:
        f = splice(src, 3 + Math.floor(rnd() * 25), Math.floor(rnd() * 4), []);
    }
    if (rnd() < 0.8 && f.length >= 4) {
      new DataView(f.buffer, f.byteOffset).setUint32(f.length - 4, crc32(f, 0, f.length - 4), true);
    }
    try {
      const mem = Memory.fromBytes(f);
      decoded++;
      if (!bytesEqual(mem.toBytes(), f)) throw new Error(`iteration ${it}: not canonical`);
      validateMemoryData(mem.data);
    } catch (e) {
      if (!(e instanceof FormatError)) {
        throw new Error(`iteration ${it}: unexpected ${e}\nbytes: ${Array.from(f).join(",")}`);
      }
      if (!/checksum|version|magic|Truncated compact/i.test(e.message)) structural++;
    }
  }
  const ms = performance.now() - t0;
  console.log(
    `compact: 40000 cases in ${ms.toFixed(0)} ms; decoded ${decoded}; structural ${structural}`,
  );
  assert(decoded > 100 && structural > 1000, `decoded ${decoded}, structural ${structural}`);
  assert(ms < MAX_TOTAL_MS, `compact fuzz took ${ms} ms`);
});
