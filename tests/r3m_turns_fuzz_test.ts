// The turns section of the .r3m full container (conversation memories, src/codec/r3m_turns.ts):
// round trips, targeted damage, and a fuzz run of mutated files (the pattern of
// r3m_fuzz_test.ts): each must decode — and re-encode to the very same bytes, a valid memory —
// or throw FormatError; nothing else, no hang.
import { Memory, type MemoryData, type MemoryNode } from "../src/codec/memory.ts";
import { encodedSize, R3M_HEADER_BYTES, validateMemoryData } from "../src/codec/r3m_format.ts";
import { FLAG_TURNS } from "../src/codec/r3m_turns.ts";
import { FormatError, InputError } from "../src/errors.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { fixup, varint } from "./_r3m_edit.ts";
import { rng as prng } from "./_rng.ts";

const ITERATIONS = 30_000;
const FP = "c3".repeat(32);

function conversation(
  rnd: () => number,
  turns: number,
  slotCount: number,
  dim: number,
): MemoryData {
  const slots = () => new Int8Array(slotCount * dim).map(() => Math.floor(rnd() * 256) - 128);
  const scales = () => new Float32Array(slotCount).map(() => rnd() / 16);
  const nodes: MemoryNode[] = [];
  const streams: number[] = [];
  const kinds: boolean[] = [];
  let byte = 0, token = 0;
  for (let t = 0; t < turns; t++) {
    const tokens = 1 + Math.floor(rnd() * 30);
    const bytes = tokens + Math.floor(rnd() * 3 * tokens);
    const coded = rnd() < 0.6;
    kinds.push(coded);
    nodes.push({
      level: "paragraph",
      parent: 0,
      byteStart: byte,
      byteEnd: byte + bytes,
      tokenStart: token,
      tokenEnd: token + tokens,
      slots: coded ? new Int8Array(0) : slots(),
      scales: coded ? new Float32Array(0) : scales(),
    });
    streams.push(Math.floor(rnd() * 40));
    byte += bytes;
    token += tokens;
  }
  const total = streams.reduce((a, b) => a + b, 0);
  return {
    modelFingerprint: FP,
    slotCount,
    dim,
    textBytes: byte,
    tokenCount: token,
    nodes: [{
      level: "document",
      parent: -1,
      byteStart: 0,
      byteEnd: byte,
      tokenStart: 0,
      tokenEnd: token,
      slots: slots(),
      scales: scales(),
    }, ...nodes],
    residual: {
      codedTokens: token,
      bytes: new Uint8Array(total).map(() => Math.floor(rnd() * 256)),
      cache: rnd() < 0.5,
    },
    turns: streams.map((streamBytes, t) =>
      // Coded turns: some against no memory (the empty code, kind 2), the rest a stored code.
      kinds[t] && rnd() < 0.3
        ? { streamBytes, code: { basis: "0000", values: new Int8Array(0) } }
        : kinds[t]
        ? {
          streamBytes,
          code: {
            basis: "0f1e",
            values: new Int8Array(1 + Math.floor(rnd() * 20)).map(() => Math.floor(rnd() * 16) - 8),
          },
        }
        : { streamBytes }
    ),
    ...(rnd() < 0.5 ? { meta: { role: "chat" } } : {}),
  };
}

Deno.test("turns: a conversation memory round-trips, canonically, with the turns flag", () => {
  const rnd = prng(7);
  for (let i = 0; i < 50; i++) {
    const data = conversation(rnd, Math.floor(rnd() * 6), 1 + Math.floor(rnd() * 3), 4);
    const bytes = new Memory(data).toBytes();
    assertEquals(bytes.length, encodedSize(data));
    assert(new DataView(bytes.buffer).getUint16(6, true) & FLAG_TURNS);
    const back = Memory.fromBytes(bytes, { expectModel: FP });
    assertEquals(back.toBytes(), bytes);
    assertEquals(back.data.turns!.length, data.turns!.length);
    back.data.turns!.forEach((t, k) => {
      assertEquals(t.streamBytes, data.turns![k].streamBytes);
      assertEquals(Array.from(t.code?.values ?? []), Array.from(data.turns![k].code?.values ?? []));
    });
  }
});

Deno.test("turns: memories that break the rules are refused by the writer and the reader", () => {
  const rnd = prng(8);
  const good = conversation(rnd, 3, 2, 4);
  const bad: [string, MemoryData][] = [
    ["streams do not add up", {
      ...good,
      turns: good.turns!.map((t, i) => i ? t : { ...t, streamBytes: t.streamBytes + 1 }),
    }],
    ["one turn too few", { ...good, turns: good.turns!.slice(1) }],
    ["no residual", { ...good, residual: undefined }],
    ["a sentence node", {
      ...good,
      nodes: [...good.nodes.slice(0, 3), { ...good.nodes[3], level: "sentence", parent: 2 }],
    }],
    ["a coded turn with slots", {
      ...good,
      turns: good.turns!.map((t) => ({
        ...t,
        code: { basis: "0000", values: new Int8Array([1]) },
      })),
      nodes: good.nodes.map((n, i) =>
        i ? { ...n, slots: good.nodes[0].slots, scales: good.nodes[0].scales } : n
      ),
    }],
    ["compact", { ...good, container: "compact" }],
  ];
  for (const [what, data] of bad) {
    let thrown: unknown;
    try {
      new Memory(data);
    } catch (e) {
      thrown = e;
    }
    assert(thrown instanceof InputError, `${what}: ${thrown}`);
  }
  // The reader: a conversation with the turns flag cleared has unread bytes; without residual
  // flag it is refused before anything is parsed.
  const bytes = new Memory(good).toBytes();
  const cleared = bytes.slice();
  cleared[6] &= ~FLAG_TURNS;
  assertThrows(() => Memory.fromBytes(fixup(cleared)), FormatError);
  const noResidual = bytes.slice();
  noResidual[6] &= ~1;
  assertThrows(() => Memory.fromBytes(fixup(noResidual)), FormatError, "no residual");
  // A plain memory with the turns flag set is read as a conversation and refused.
  const plain = new Memory({ ...good, turns: undefined }).toBytes();
  const flagged = plain.slice();
  flagged[6] |= FLAG_TURNS;
  assertThrows(() => Memory.fromBytes(fixup(flagged)), FormatError);
});

function splice(f: Uint8Array, at: number, del: number, ins: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(f.length - del + ins.length);
  out.set(f.subarray(0, at));
  out.set(ins, at);
  out.set(f.subarray(at + del), at + ins.length);
  return out;
}

Deno.test("turns: fuzz — mutated conversation files decode canonically or throw FormatError", () => {
  const rnd = prng(4242);
  const seeds = [
    conversation(rnd, 1, 1, 2),
    conversation(rnd, 4, 2, 4),
    conversation(rnd, 12, 1, 3),
    conversation(rnd, 7, 3, 8),
  ].map((d) => {
    const bytes = new Memory(d).toBytes();
    const { turns: _t, meta: _m, ...bare } = d;
    return { bytes, turnsAt: encodedSize(bare) - 4 }; // where the turns section starts
  });
  const counts = { ok: 0, format: 0 };
  const t0 = performance.now();
  for (let i = 0; i < ITERATIONS; i++) {
    const seed = seeds[Math.floor(rnd() * seeds.length)];
    const src = seed.bytes;
    const end = src.length - 4;
    // Mostly inside the turns section (and the residual before it), CRCs fixed so the
    // structural checks are what is exercised.
    const at = rnd() < 0.7
      ? seed.turnsAt + Math.floor(rnd() * Math.max(1, end - seed.turnsAt))
      : R3M_HEADER_BYTES + Math.floor(rnd() * (end - R3M_HEADER_BYTES));
    let f: Uint8Array;
    const k = Math.floor(rnd() * 6);
    if (k === 0) {
      f = src.slice();
      f[Math.min(at, end - 1)] ^= 1 << Math.floor(rnd() * 8);
    } else if (k === 1) {
      f = src.slice();
      f[Math.min(at, end - 1)] = [0, 1, 2, 0x7f, 0x80, 0xff][Math.floor(rnd() * 6)];
    } else if (k === 2) {
      f = splice(src, at, 0, [Math.floor(rnd() * 256)]);
    } else if (k === 3) {
      f = splice(src, Math.min(at, end - 1), 1 + Math.floor(rnd() * 3), []);
    } else if (k === 4) {
      f = splice(src, at, 1, varint(Math.floor(rnd() * 2 ** (7 * (1 + Math.floor(rnd() * 4))))));
    } else {
      f = src.slice();
      f[6] ^= 1 << Math.floor(rnd() * 4);
    }
    fixup(f);
    try {
      const m = Memory.fromBytes(f);
      assertEquals(m.toBytes(), f, `case ${i}: re-encoding differs`);
      validateMemoryData({ ...m.data });
      counts.ok++;
    } catch (e) {
      if (!(e instanceof FormatError)) throw new Error(`case ${i}: ${e}`, { cause: e });
      counts.format++;
    }
  }
  assert(performance.now() - t0 < 60_000, "fuzz took over a minute");
  assert(counts.format > ITERATIONS / 2 && counts.ok > 0, JSON.stringify(counts));
});
