/**
 * Bits per byte of lossless memories (compact and default `.r3m`) beside the baseline compressors. Part of `deno task eval` (`./run.ts`).
 *
 * @module
 */
import type { R3Mem } from "../../src/r3mem.ts";
import { baselineBits } from "./baselines.ts";
/** Bits per input byte of one setting (`doc` or `msg`). */
export interface BpbResult {
  /**
   * Compact lossless `.r3m` files (`slots: "none"`: the node tree and the residual): every byte
   * of them.
   */
  bpb_lossless: number;
  /** What storing every node's memory slots (the default `slots: "all"`) would add. */
  bpb_slots_all: number;
  /** gzip -9. */
  bpb_gzip: number;
  /** brotli quality 11. */
  bpb_brotli: number;
  /** zstd level 19. */
  bpb_zstd: number;
  /**
   * The residual stream of the `.r3m` files alone (a diagnostic: what the file would cost
   * without its memory slots and container).
   */
  bpb_residual: number;
  /** Items compressed. */
  items: number;
  /** Their UTF-8 bytes. */
  bytes: number;
}

/**
 * Compresses every item on its own, losslessly with the model (`memory.toBytes()` of a compact
 * memory, `slots: "none"`) and with each
 * baseline; sums the bits and divides by the total input bytes.
 *
 * @param r3 The runtime.
 * @param items The texts (non-empty).
 * @param verify Also reconstruct the first item and check it comes back exactly.
 * @param cache Code with the document cache (default true; false: the model alone).
 */
export async function bitsPerByte(
  r3: R3Mem,
  items: string[],
  verify = false,
  cache = true,
): Promise<BpbResult> {
  const enc = new TextEncoder();
  let bytes = 0, model = 0, residual = 0, slots = 0, gzip = 0, brotli = 0, zstd = 0;
  const slotBits = 8 * r3.config.memorySlots * (r3.config.dim + 4);
  for (const [i, text] of items.entries()) {
    const data = enc.encode(text);
    const memory = r3.compressSync(text, { slots: "none", cache });
    const file = memory.toBytes();
    if (verify && i === 0) {
      const back = await r3.reconstruct(memory);
      if (back !== text) throw new Error("Lossless round trip failed on the first item");
    }
    const b = baselineBits(data);
    bytes += data.length;
    model += file.length * 8;
    residual += (memory.residual?.bytes.length ?? 0) * 8;
    slots += memory.nodes.length * slotBits;
    gzip += b.gzip;
    brotli += b.brotli;
    zstd += b.zstd;
  }
  const per = (bits: number) => (bytes > 0 ? bits / bytes : NaN);
  return {
    bpb_lossless: per(model),
    bpb_slots_all: per(slots),
    bpb_gzip: per(gzip),
    bpb_brotli: per(brotli),
    bpb_zstd: per(zstd),
    bpb_residual: per(residual),
    items: items.length,
    bytes,
  };
}

// ── retrieval ────────────────────────────────────────────────────────────────
