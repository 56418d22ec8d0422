/**
 * The `.r3m` format's constants: magic, version, header and trailer sizes, flag bits, limits,
 * level codes. `./r3m_format.ts` (writer), `./r3m_validate.ts` and `./r3m_read.ts` share them;
 * `docs/FORMAT.md` is the specification.
 *
 * @module
 */
import { MAX_META_ENTRIES, MAX_META_KEY_BYTES, MAX_META_VALUE_BYTES } from "./byte_io.ts";
import type { NodeLevel } from "./memory_data.ts";
import { FLAG_TURNS } from "./r3m_turns.ts";

/** The four bytes every `.r3m` file starts with: `R`, `3`, `M`, `0x1A`. */
export const R3M_MAGIC: Uint8Array = new Uint8Array([0x52, 0x33, 0x4d, 0x1a]);
/** The format version this module writes and reads. */
export const R3M_VERSION = 1;
/** Size of the fixed header, including its CRC-32. */
export const R3M_HEADER_BYTES = 48;
/** Size of the trailer (the payload's CRC-32). */
export const R3M_TRAILER_BYTES = 4;

/** Flag bit: a residual section is present. */
export const FLAG_RESIDUAL = 1;
/** Flag bit: a meta section is present. */
export const FLAG_META = 2;
/** Flag bit: the residual was coded with the document cache (`residual.cache`). */
export const FLAG_CACHE = 4;
/** Internal to the .r3m reader and writer. */
export const KNOWN_FLAGS = FLAG_RESIDUAL | FLAG_META | FLAG_CACHE | FLAG_TURNS;

/** Limits enforced on write and on read. */
export const R3M_LIMITS: {
  readonly maxSlotCount: number;
  readonly maxDim: number;
  readonly maxValuesPerNode: number;
  readonly maxCount: number;
  readonly maxMetaEntries: number;
  readonly maxMetaKeyBytes: number;
  readonly maxMetaValueBytes: number;
} = Object.freeze({
  /** Memory slots per node. */
  maxSlotCount: 4096,
  /** Width of one slot. */
  maxDim: 65536,
  /** `slotCount * dim`. */
  maxValuesPerNode: 1 << 24,
  /** Text bytes, tokens, nodes, coded tokens, residual bytes: anything stored as a varint. */
  maxCount: 0xffffffff,
  /** Entries in `meta`. */
  maxMetaEntries: MAX_META_ENTRIES,
  /** UTF-8 bytes of one meta key (at least 1). */
  maxMetaKeyBytes: MAX_META_KEY_BYTES,
  /** UTF-8 bytes of one meta value. */
  maxMetaValueBytes: MAX_META_VALUE_BYTES,
});

/** Internal to the .r3m reader and writer. */
export const LEVELS: readonly NodeLevel[] = ["document", "paragraph", "sentence"];
/** Internal to the .r3m reader and writer: a level's code in the node table. */
export const LEVEL_CODE: Record<string, number> = { document: 0, paragraph: 1, sentence: 2 };
/** Set in a node's level byte when the node stores no slots (a compact lossless memory). */
/** Internal to the .r3m reader and writer. */
export const SLOTLESS_BIT = 0x80;
/** Internal to the .r3m reader and writer. */
export const EMPTY_SLOTS = new Int8Array(0);
/** Internal to the .r3m reader and writer. */
export const EMPTY_SCALES = new Float32Array(0);
