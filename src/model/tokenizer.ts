/**
 * Byte-level BPE tokenizer with byte fallback, trained from scratch by {@link trainBpe}.
 *
 * Token ids:
 * - `0..255` are the raw bytes, so every byte sequence (hence every string) is encodable;
 * - `256..263` are special tokens ({@link BOS_ID}, {@link EOS_ID}, {@link PAD_ID},
 *   {@link SEP_ID} and four reserved ids); they never come out of {@link Tokenizer.encode} and
 *   decode to no bytes;
 * - `264..` are merges, in rank order: merge `r` joins two earlier tokens into token `264 + r`.
 *
 * Text is encoded as UTF-8 after a GPT-2-like pre-split ({@link pretokenize}) into chunks:
 * letter runs with an optional leading space, groups of up to three digits, punctuation runs,
 * whitespace runs. Merges never cross chunk boundaries and are applied by rank (lowest first,
 * leftmost first on ties), which reproduces exactly what training did to the same chunk.
 *
 * @module
 */
import { FormatError, InputError } from "../errors.ts";

/** Number of byte tokens (ids `0..255`). */
export const BYTE_TOKENS = 256;
/** Beginning-of-sequence special token id. */
export const BOS_ID = 256;
/** End-of-sequence special token id. */
export const EOS_ID = 257;
/** Padding special token id. */
export const PAD_ID = 258;
/** Separator special token id (e.g. between memory and text). */
export const SEP_ID = 259;
/** Number of ids reserved for special tokens (`256..263`; `260..263` unassigned so far). */
export const NUM_SPECIAL_TOKENS = 8;
/** Id of the first merge token; merge of rank `r` has id `FIRST_MERGE_ID + r`. */
export const FIRST_MERGE_ID = BYTE_TOKENS + NUM_SPECIAL_TOKENS;
/** Largest vocabulary the tokenizer supports. */
export const MAX_VOCAB_SIZE = 1 << 20;
/**
 * Longest chunk, in UTF-16 code units, that the pre-split emits; longer runs (a page of CJK
 * without spaces, a megabyte of blanks) are cut into pieces of this length so BPE stays fast.
 */
export const MAX_CHUNK_LENGTH = 256;

/** Longest possible token: the UTF-8 length of the longest chunk. */
const MAX_TOKEN_BYTES = 3 * MAX_CHUNK_LENGTH;

const MAGIC = [0x52, 0x33, 0x54, 0x4b]; // "R3TK"
const FORMAT_VERSION = 1;
/** Id of the pre-split rule below; stored in the binary form so a change is detected. */
const PRETOKENIZER_ID = 1;
const HEADER_BYTES = 24;

// Character classes of the pre-split rule.
const C_OTHER = 1, C_LETTER = 2, C_MARK = 3, C_NUMBER = 4, C_SPACE = 5;
const RE_LETTER = /^\p{L}$/u, RE_MARK = /^\p{M}$/u, RE_NUMBER = /^\p{N}$/u, RE_SPACE = /^\s$/u;
let classTable: Uint8Array | undefined; // code point -> class, filled lazily (0 = not yet)

function classify(cp: number): number {
  const s = String.fromCodePoint(cp);
  if (RE_LETTER.test(s)) return C_LETTER;
  if (RE_MARK.test(s)) return C_MARK;
  if (RE_NUMBER.test(s)) return C_NUMBER;
  if (RE_SPACE.test(s)) return C_SPACE;
  return C_OTHER;
}

function classOf(cp: number): number {
  const t = classTable ??= new Uint8Array(0x110000);
  const k = t[cp];
  return k !== 0 ? k : (t[cp] = classify(cp));
}

/** Code point at `i` of a well-formed string (a high surrogate is followed by a low one). */
function cpAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return (c & 0xfc00) === 0xd800 ? ((c - 0xd800) << 10) + text.charCodeAt(i + 1) + 0x2400 : c;
}

/** Length after `'` of an English contraction starting at `i` (s, d, m, t, ll, ve, re), or 0. */
function contractionAt(text: string, i: number): number {
  const a = text.charCodeAt(i);
  if (a === 0x73 || a === 0x64 || a === 0x6d || a === 0x74) return 1; // s d m t
  const b = text.charCodeAt(i + 1); // NaN past the end
  if ((a === 0x6c && b === 0x6c) || (a === 0x76 && b === 0x65) || (a === 0x72 && b === 0x65)) {
    return 2; // ll ve re
  }
  return 0;
}

/**
 * Calls `fn(start, end)` for every chunk of a well-formed `text`, in order; the chunks tile the
 * text. The rule, equivalent to the GPT-2-like regular expression
 * `'(?:[sdmt]|ll|ve|re)(?![\p{L}\p{M}])| ?[\p{L}\p{M}]+| ?\p{N}{1,3}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
 * (checked against it by a property test) but several times faster: English contractions,
 * letters and combining marks with an optional leading space, 1–3 digits with an optional
 * leading space, punctuation/symbol runs with an optional leading space, whitespace runs that
 * leave their last blank to a following word. Chunks longer than {@link MAX_CHUNK_LENGTH} are
 * then cut into pieces of that length.
 */
function scanChunks(text: string, fn: (start: number, end: number) => void): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const s = i;
    let c = cpAt(text, i);
    if (c === 0x27) { // '
      const len = contractionAt(text, i + 1);
      if (len > 0) {
        const j = i + 1 + len;
        const k = j < n ? classOf(cpAt(text, j)) : 0;
        if (k !== C_LETTER && k !== C_MARK) {
          emit(s, j, text, fn);
          i = j;
          continue;
        }
      }
    }
    let k = classOf(c);
    if (c === 0x20 && i + 1 < n) { // a space joins a following non-blank chunk
      const c2 = cpAt(text, i + 1), k2 = classOf(c2);
      if (k2 !== C_SPACE) {
        i++;
        c = c2;
        k = k2;
      }
    }
    i += c > 0xffff ? 2 : 1;
    if (k === C_LETTER || k === C_MARK) {
      while (i < n) {
        const d = cpAt(text, i), kd = classOf(d);
        if (kd !== C_LETTER && kd !== C_MARK) break;
        i += d > 0xffff ? 2 : 1;
      }
    } else if (k === C_NUMBER) {
      for (let count = 1; count < 3 && i < n; count++) {
        const d = cpAt(text, i);
        if (classOf(d) !== C_NUMBER) break;
        i += d > 0xffff ? 2 : 1;
      }
    } else if (k === C_OTHER) {
      while (i < n) {
        const d = cpAt(text, i), kd = classOf(d);
        if (kd !== C_OTHER && kd !== C_MARK) break;
        i += d > 0xffff ? 2 : 1;
      }
    } else { // whitespace (all of it is in the BMP)
      while (i < n && classOf(text.charCodeAt(i)) === C_SPACE) i++;
      if (i < n && i - s >= 2) i--; // leave the last blank to the next chunk
    }
    emit(s, i, text, fn);
  }
}

function emit(s: number, e: number, text: string, fn: (start: number, end: number) => void) {
  while (e - s > MAX_CHUNK_LENGTH) {
    let cut = s + MAX_CHUNK_LENGTH;
    if ((text.charCodeAt(cut - 1) & 0xfc00) === 0xd800) cut--; // never split a surrogate pair
    fn(s, cut);
    s = cut;
  }
  fn(s, e);
}

/**
 * Splits text into the chunks that BPE works on; merges never cross chunk boundaries.
 *
 * @param text A well-formed string.
 * @returns The chunks, in order; they concatenate back to `text`.
 *
 * @example Pre-splitting a sentence
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { pretokenize } from "./tokenizer.ts";
 * deepStrictEqual(
 *   pretokenize("Hello, world! It's 2025."),
 *   ["Hello", ",", " world", "!", " It", "'s", " 202", "5", "."],
 * );
 * ```
 */
export function pretokenize(text: string): string[] {
  checkText(text);
  const out: string[] = [];
  scanChunks(text, (s, e) => out.push(text.slice(s, e)));
  return out;
}

/** Throws {@link InputError} unless `text` is a well-formed string. */
function checkText(text: unknown): asserts text is string {
  if (typeof text !== "string") {
    throw new InputError(`Expected a string, got ${describe(text)}`);
  }
  if (!text.isWellFormed()) {
    const i = findLoneSurrogate(text);
    const code = text.charCodeAt(i).toString(16).toUpperCase();
    throw new InputError(
      `Text has a lone surrogate U+${code} at index ${i} (UTF-16 code unit); ` +
        `only well-formed Unicode can be encoded`,
    );
  }
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return `an object (${v.constructor?.name ?? "Object"})`;
  return typeof v;
}

function findLoneSurrogate(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
    }
    return i;
  }
  return -1;
}

/** Open-addressing hash table from a token pair to its merge rank. */
class PairRanks {
  #a: Int32Array;
  #b: Int32Array;
  #rank: Int32Array;
  #mask: number;

  constructor(merges: Uint32Array) {
    const n = merges.length / 2;
    let cap = 16;
    while (cap < n * 2) cap *= 2;
    this.#a = new Int32Array(cap).fill(-1);
    this.#b = new Int32Array(cap);
    this.#rank = new Int32Array(cap);
    this.#mask = cap - 1;
    for (let r = 0; r < n; r++) {
      const a = merges[2 * r], b = merges[2 * r + 1];
      let h = hashPair(a, b) & this.#mask;
      while (this.#a[h] !== -1) {
        if (this.#a[h] === a && this.#b[h] === b) {
          throw new InputError(`merge ${r} repeats the pair (${a}, ${b})`);
        }
        h = (h + 1) & this.#mask;
      }
      this.#a[h] = a;
      this.#b[h] = b;
      this.#rank[h] = r;
    }
  }

  /** Rank of the merge of `(a, b)`, or -1 if there is none. */
  get(a: number, b: number): number {
    const A = this.#a, mask = this.#mask;
    let h = hashPair(a, b) & mask;
    for (;;) {
      const x = A[h];
      if (x === -1) return -1;
      if (x === a && this.#b[h] === b) return this.#rank[h];
      h = (h + 1) & mask;
    }
  }
}

function hashPair(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77);
  h ^= h >>> 15;
  return h >>> 0;
}

/**
 * Open-addressing hash table keyed by chunk text, looked up by `(text, start, end)` without
 * allocating a substring; grows as needed.
 */
class ChunkTable {
  keys: (string | undefined)[];
  hashes: Int32Array;
  vals: Float64Array;
  size = 0;
  #mask: number;

  constructor(capacity = 1 << 12) {
    this.keys = new Array(capacity).fill(undefined);
    this.hashes = new Int32Array(capacity);
    this.vals = new Float64Array(capacity);
    this.#mask = capacity - 1;
  }

  static hash(text: string, s: number, e: number): number {
    let h = 0x811c9dc5 ^ (e - s);
    for (let i = s; i < e; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return h ^ (h >>> 16);
  }

  /** Slot holding the chunk `text[s..e)`, or the empty slot where it would go. */
  find(text: string, s: number, e: number, h: number): number {
    const keys = this.keys, hashes = this.hashes, len = e - s;
    let slot = h & this.#mask;
    for (;;) {
      const key = keys[slot];
      if (key === undefined) return slot;
      if (hashes[slot] === h && key.length === len) {
        let i = 0;
        while (i < len && key.charCodeAt(i) === text.charCodeAt(s + i)) i++;
        if (i === len) return slot;
      }
      slot = (slot + 1) & this.#mask;
    }
  }

  /** Stores `key`/`val` in the empty `slot` returned by {@link ChunkTable.find}. */
  insert(slot: number, key: string, h: number, val: number): void {
    this.keys[slot] = key;
    this.hashes[slot] = h;
    this.vals[slot] = val;
    if (++this.size * 2 > this.keys.length) this.#grow();
  }

  #grow(): void {
    const keys = this.keys, hashes = this.hashes, vals = this.vals;
    const cap = keys.length * 2;
    this.keys = new Array(cap).fill(undefined);
    this.hashes = new Int32Array(cap);
    this.vals = new Float64Array(cap);
    this.#mask = cap - 1;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === undefined) continue;
      let slot = hashes[i] & this.#mask;
      while (this.keys[slot] !== undefined) slot = (slot + 1) & this.#mask;
      this.keys[slot] = keys[i];
      this.hashes[slot] = hashes[i];
      this.vals[slot] = vals[i];
    }
  }
}

/** Growable list of token ids. */
class IdBuffer {
  data: Int32Array;
  length = 0;
  constructor(capacity: number) {
    this.data = new Int32Array(Math.max(16, capacity));
  }
  push(id: number): void {
    if (this.length === this.data.length) this.#grow(this.length + 1);
    this.data[this.length++] = id;
  }
  /** Appends `src[start..start+n)`. */
  pushRange(src: Int32Array, start: number, n: number): void {
    if (this.length + n > this.data.length) this.#grow(this.length + n);
    const d = this.data;
    for (let i = 0, p = this.length; i < n; i++, p++) d[p] = src[start + i];
    this.length += n;
  }
  #grow(min: number): void {
    const next = new Int32Array(Math.max(min, this.data.length * 2));
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }
}

/** Chunks up to this many bytes use the simple quadratic merge loop; longer ones a heap. */
const SHORT_CHUNK_BYTES = 48;
/** The encode cache (chunk → ids) is cleared when it reaches this many entries… */
const CACHE_MAX_ENTRIES = 1 << 18;
/** …or this many cached ids, bounding its memory. */
const CACHE_MAX_IDS = 1 << 22;
/** Cached ids are stored as `start * ID_PACK + length` (length ≤ 3 × MAX_CHUNK_LENGTH). */
const ID_PACK = 1024;

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Prepend {@link BOS_ID}. */
  bos?: boolean;
  /** Append {@link EOS_ID}. */
  eos?: boolean;
}

/**
 * A trained byte-level BPE tokenizer: encodes well-formed strings to token ids and decodes
 * any id sequence back to bytes or text.
 *
 * @example Round trip
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { Tokenizer, trainBpe } from "./tokenizer.ts";
 * const tok: Tokenizer = trainBpe(["the cat sat on the mat", "the cat ate"], 300);
 * const ids = tok.encode("the cat 🐈 sat");
 * strictEqual(tok.decode(ids), "the cat 🐈 sat");
 * ```
 */
export class Tokenizer {
  /** Number of token ids: bytes, special tokens and merges. */
  readonly vocabSize: number;
  /** Number of merges. */
  readonly numMerges: number;
  /** Flat merge table: merge `r` joins `merges[2r]` and `merges[2r+1]`. Do not mutate. */
  readonly merges: Uint32Array;
  #table: PairRanks;
  // Bytes of every token, built on first decode (loading a model only to compress skips it).
  #pieceStartTable: Int32Array | undefined;
  #pieceBytesTable: Uint8Array | undefined;
  // encode cache: chunk text -> (start * ID_PACK + length) of its ids in #pool
  #cache: ChunkTable | undefined;
  #pool = new Int32Array(1 << 12);
  #poolLength = 0;
  #ids = new Int32Array(3 * MAX_CHUNK_LENGTH); // a chunk's bytes, then its merged ids
  #ranks = new Int32Array(SHORT_CHUNK_BYTES);

  /**
   * Builds a tokenizer from a merge table.
   *
   * @param merges Pairs of token ids, in rank order, as `[a, b]` pairs or a flat array
   *   `[a0, b0, a1, b1, …]`. Each pair must refer to bytes or earlier merges.
   * @throws {InputError} If the table is malformed.
   *
   * @example From explicit merges
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { FIRST_MERGE_ID, Tokenizer } from "./tokenizer.ts";
   * const h = "h".charCodeAt(0), i = "i".charCodeAt(0);
   * const tok = new Tokenizer([[h, i]]); // "hi" becomes token FIRST_MERGE_ID = 264
   * deepStrictEqual(Array.from(tok.encode("hi hi")), [FIRST_MERGE_ID, 32, FIRST_MERGE_ID]);
   * ```
   */
  constructor(merges: ArrayLike<readonly [number, number]> | ArrayLike<number>) {
    const flat = flattenMerges(merges);
    const problem = validateMerges(flat);
    if (problem) throw new InputError(problem);
    this.merges = flat;
    this.numMerges = flat.length / 2;
    this.vocabSize = FIRST_MERGE_ID + this.numMerges;
    this.#table = new PairRanks(flat);
  }

  get #pieceStart(): Int32Array {
    if (!this.#pieceStartTable) this.#buildPieces();
    return this.#pieceStartTable!;
  }

  get #pieceBytes(): Uint8Array {
    if (!this.#pieceBytesTable) this.#buildPieces();
    return this.#pieceBytesTable!;
  }

  // The piece table: the bytes of every token, concatenated, and where each starts.
  #buildPieces(): void {
    const flat = this.merges;
    const start = new Int32Array(this.vocabSize + 1);
    const lens = new Int32Array(this.vocabSize);
    for (let i = 0; i < BYTE_TOKENS; i++) lens[i] = 1;
    for (let r = 0; r < this.numMerges; r++) {
      lens[FIRST_MERGE_ID + r] = lens[flat[2 * r]] + lens[flat[2 * r + 1]];
    }
    for (let i = 0; i < this.vocabSize; i++) start[i + 1] = start[i] + lens[i];
    const bytes = new Uint8Array(start[this.vocabSize]);
    for (let i = 0; i < BYTE_TOKENS; i++) bytes[start[i]] = i;
    for (let r = 0; r < this.numMerges; r++) {
      const id = FIRST_MERGE_ID + r, a = flat[2 * r], b = flat[2 * r + 1];
      bytes.copyWithin(start[id], start[a], start[a + 1]);
      bytes.copyWithin(start[id] + lens[a], start[b], start[b + 1]);
    }
    this.#pieceStartTable = start;
    this.#pieceBytesTable = bytes;
  }

  /**
   * Encodes a string to token ids.
   *
   * @param text A well-formed string (no lone surrogates).
   * @param options Whether to add {@link BOS_ID} / {@link EOS_ID}.
   * @returns The token ids.
   * @throws {InputError} If `text` is not a string or has a lone surrogate.
   *
   * @example Encoding with BOS
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { BOS_ID, Tokenizer } from "./tokenizer.ts";
   * const tok = new Tokenizer([]); // bytes only
   * deepStrictEqual(Array.from(tok.encode("Hi", { bos: true })), [BOS_ID, 72, 105]);
   * ```
   */
  encode(text: string, options: EncodeOptions = {}): Int32Array {
    checkText(text);
    const out = new IdBuffer((text.length >> 2) + 16);
    if (options.bos) out.push(BOS_ID);
    scanChunks(text, (s, e) => this.#encodeChunk(text, s, e, out));
    if (options.eos) out.push(EOS_ID);
    return out.data.slice(0, out.length);
  }

  #encodeChunk(text: string, s: number, e: number, out: IdBuffer): void {
    let cache = this.#cache;
    if (
      cache === undefined || cache.size >= CACHE_MAX_ENTRIES || this.#poolLength > CACHE_MAX_IDS
    ) {
      cache = this.#cache = new ChunkTable(1 << 12);
      this.#poolLength = 0;
    }
    const h = ChunkTable.hash(text, s, e);
    const slot = cache.find(text, s, e, h);
    if (cache.keys[slot] !== undefined) {
      const v = cache.vals[slot], start = Math.floor(v / ID_PACK);
      out.pushRange(this.#pool, start, v - start * ID_PACK);
      return;
    }
    const ids = this.#ids;
    const nb = utf8Into(text, s, e, ids);
    const n = nb <= SHORT_CHUNK_BYTES
      ? mergeShort(ids, nb, this.#table, this.#ranks)
      : mergeLong(ids, nb, this.#table);
    if (this.#poolLength + n > this.#pool.length) {
      const g = new Int32Array(Math.max(this.#pool.length * 2, this.#poolLength + n));
      g.set(this.#pool.subarray(0, this.#poolLength));
      this.#pool = g;
    }
    this.#pool.set(ids.subarray(0, n), this.#poolLength);
    cache.insert(slot, flatCopy(text, s, e), h, this.#poolLength * ID_PACK + n);
    this.#poolLength += n;
    out.pushRange(ids, 0, n);
  }

  /**
   * Exact bytes of a token sequence (special tokens contribute nothing).
   *
   * @param ids Token ids, each in `0..vocabSize-1`.
   * @returns The concatenated bytes of the tokens.
   * @throws {InputError} If an id is not an integer in range.
   *
   * @example A split UTF-8 character
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { Tokenizer } from "./tokenizer.ts";
   * const tok = new Tokenizer([]);
   * const ids = tok.encode("é"); // two byte tokens
   * deepStrictEqual(tok.decodeBytes(ids.subarray(0, 1)), new Uint8Array([0xc3]));
   * ```
   */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    const start = this.#pieceStart, pieces = this.#pieceBytes;
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!(id >= 0 && id < this.vocabSize && Number.isInteger(id))) {
        throw new InputError(
          `Token id ${String(id)} at index ${i} is not an integer in 0..${this.vocabSize - 1}`,
        );
      }
      total += start[id + 1] - start[id];
    }
    const out = new Uint8Array(total);
    let p = 0;
    for (let i = 0; i < ids.length; i++) {
      const s = start[ids[i]], e = start[ids[i] + 1];
      if (e - s === 1) out[p++] = pieces[s];
      else {
        out.set(pieces.subarray(s, e), p);
        p += e - s;
      }
    }
    return out;
  }

  /**
   * Decodes token ids to text. Never throws on a sequence that splits a UTF-8 character (as
   * greedy model output may): invalid bytes become U+FFFD. Use {@link Tokenizer.decodeBytes}
   * for the exact bytes.
   *
   * @param ids Token ids, each in `0..vocabSize-1`.
   * @returns The decoded text.
   * @throws {InputError} If an id is not an integer in range.
   *
   * @example Replacement of a broken character
   * ```ts
   * import { strictEqual } from "node:assert";
   * import { Tokenizer } from "./tokenizer.ts";
   * const tok = new Tokenizer([]);
   * strictEqual(tok.decode([0x61, 0xe2, 0x82]), "a\uFFFD");
   * ```
   */
  decode(ids: ArrayLike<number>): string {
    return new TextDecoder("utf-8", { ignoreBOM: true }).decode(this.decodeBytes(ids));
  }

  /**
   * Bytes of one token, for streaming output (feed them to a `TextDecoder` with
   * `{ stream: true }`, or use {@link Tokenizer.streamDecoder}).
   *
   * @param id A token id.
   * @returns A fresh copy of the token's bytes (empty for special tokens).
   * @throws {InputError} If `id` is not an integer in range.
   *
   * @example Piece of a merge token
   * ```ts
   * import { strictEqual } from "node:assert";
   * import { Tokenizer } from "./tokenizer.ts";
   * const tok = new Tokenizer([[104, 105]]);
   * strictEqual(new TextDecoder().decode(tok.decodePiece(264)), "hi");
   * ```
   */
  decodePiece(id: number): Uint8Array {
    if (!(id >= 0 && id < this.vocabSize && Number.isInteger(id))) {
      throw new InputError(
        `Token id ${String(id)} is not an integer in 0..${this.vocabSize - 1}`,
      );
    }
    return this.#pieceBytes.slice(this.#pieceStart[id], this.#pieceStart[id + 1]);
  }

  /**
   * A stateful decoder for token-by-token output: each `push` returns the text completed so
   * far (a character split across tokens is held back until it is whole), `flush` the rest.
   *
   * @returns The decoder.
   *
   * @example Streaming an emoji split across byte tokens
   * ```ts
   * import { strictEqual } from "node:assert";
   * import { Tokenizer } from "./tokenizer.ts";
   * const tok = new Tokenizer([]);
   * const d = tok.streamDecoder();
   * let text = "";
   * for (const id of tok.encode("a🙂")) text += d.push(id);
   * text += d.flush();
   * strictEqual(text, "a🙂");
   * ```
   */
  streamDecoder(): { push(id: number): string; flush(): string } {
    const td = new TextDecoder("utf-8", { ignoreBOM: true });
    return {
      push: (id: number) => td.decode(this.decodePiece(id), { stream: true }),
      flush: () => td.decode(),
    };
  }

  /**
   * Whether `id` is a special token (BOS, EOS, PAD, SEP or reserved).
   *
   * @param id A token id.
   * @returns `true` for ids `256..263`.
   *
   * @example
   * ```ts
   * import { strictEqual } from "node:assert";
   * import { EOS_ID, Tokenizer } from "./tokenizer.ts";
   * strictEqual(new Tokenizer([]).isSpecial(EOS_ID), true);
   * ```
   */
  isSpecial(id: number): boolean {
    return id >= BYTE_TOKENS && id < FIRST_MERGE_ID;
  }

  /**
   * Compact binary form: magic `R3TK`, u32 version, u32 pre-tokenizer id, u32 number of
   * special tokens, u32 number of merges, u32 id width (2 or 4 bytes), the merges as pairs of
   * little-endian ids of that width, then a CRC-32 of everything before it.
   *
   * @returns The bytes.
   *
   * @example
   * ```ts
   * import { strictEqual } from "node:assert";
   * import { Tokenizer } from "./tokenizer.ts";
   * const tok = new Tokenizer([[104, 105]]);
   * strictEqual(tok.toBytes().length, 24 + 4 + 4); // header, one merge of two u16 ids, CRC
   * ```
   */
  toBytes(): Uint8Array {
    const width = this.vocabSize <= 0x10000 ? 2 : 4;
    const out = new Uint8Array(HEADER_BYTES + this.merges.length * width + 4);
    const dv = new DataView(out.buffer);
    out.set(MAGIC, 0);
    dv.setUint32(4, FORMAT_VERSION, true);
    dv.setUint32(8, PRETOKENIZER_ID, true);
    dv.setUint32(12, NUM_SPECIAL_TOKENS, true);
    dv.setUint32(16, this.numMerges, true);
    dv.setUint32(20, width, true);
    let p = HEADER_BYTES;
    for (let i = 0; i < this.merges.length; i++, p += width) {
      if (width === 2) dv.setUint16(p, this.merges[i], true);
      else dv.setUint32(p, this.merges[i], true);
    }
    dv.setUint32(p, crc32(out.subarray(0, p)), true);
    return out;
  }

  /**
   * Reads the form written by {@link Tokenizer.toBytes}.
   *
   * @param bytes The bytes.
   * @returns The tokenizer.
   * @throws {FormatError} If the bytes are damaged, truncated or not a tokenizer.
   *
   * @example
   * ```ts
   * import { strictEqual } from "node:assert";
   * import { Tokenizer } from "./tokenizer.ts";
   * const tok = Tokenizer.fromBytes(new Tokenizer([[104, 105]]).toBytes());
   * strictEqual(tok.vocabSize, 265);
   * ```
   */
  static fromBytes(bytes: Uint8Array): Tokenizer {
    if (!(bytes instanceof Uint8Array)) {
      throw new FormatError(`Tokenizer bytes must be a Uint8Array, got ${describe(bytes)}`);
    }
    if (bytes.length < HEADER_BYTES + 4) {
      throw new FormatError(
        `Tokenizer bytes are truncated: ${bytes.length} bytes, need at least ${HEADER_BYTES + 4}`,
      );
    }
    for (let i = 0; i < 4; i++) {
      if (bytes[i] !== MAGIC[i]) {
        throw new FormatError(
          `Not a tokenizer: expected magic "R3TK", got ${JSON.stringify(ascii(bytes, 0, 4))}`,
        );
      }
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = dv.getUint32(4, true);
    if (version !== FORMAT_VERSION) {
      throw new FormatError(
        `Unsupported tokenizer format version ${version} (this library reads ${FORMAT_VERSION})`,
      );
    }
    const pre = dv.getUint32(8, true);
    if (pre !== PRETOKENIZER_ID) {
      throw new FormatError(
        `Unsupported pre-tokenizer ${pre} (this library implements ${PRETOKENIZER_ID})`,
      );
    }
    const specials = dv.getUint32(12, true);
    if (specials !== NUM_SPECIAL_TOKENS) {
      throw new FormatError(
        `Tokenizer declares ${specials} special tokens; this library uses ${NUM_SPECIAL_TOKENS}`,
      );
    }
    const numMerges = dv.getUint32(16, true);
    const width = dv.getUint32(20, true);
    if (width !== 2 && width !== 4) {
      throw new FormatError(`Tokenizer id width must be 2 or 4 bytes, got ${width}`);
    }
    if (numMerges > MAX_VOCAB_SIZE - FIRST_MERGE_ID) {
      throw new FormatError(`Tokenizer declares ${numMerges} merges, more than supported`);
    }
    const expected = HEADER_BYTES + numMerges * 2 * width + 4;
    if (bytes.length !== expected) {
      throw new FormatError(
        `Tokenizer bytes have the wrong length: ${numMerges} merges need ${expected} bytes, ` +
          `got ${bytes.length}` + (bytes.length < expected ? " (truncated)" : ""),
      );
    }
    const end = expected - 4;
    const stored = dv.getUint32(end, true), actual = crc32(bytes.subarray(0, end));
    if (stored !== actual) {
      throw new FormatError(
        `Tokenizer checksum mismatch (stored CRC-32 ${hex32(stored)}, computed ${
          hex32(actual)
        }): the bytes are damaged`,
      );
    }
    const flat = new Uint32Array(numMerges * 2);
    for (let i = 0, p = HEADER_BYTES; i < flat.length; i++, p += width) {
      flat[i] = width === 2 ? dv.getUint16(p, true) : dv.getUint32(p, true);
    }
    try {
      return new Tokenizer(flat); // validates the merges
    } catch (e) {
      if (e instanceof InputError) {
        throw new FormatError(`Invalid tokenizer merge table: ${e.message}`);
      }
      throw e;
    }
  }
}

/** UTF-8 bytes of a well-formed `text[s..e)` into `out` (room for 3 per code unit); returns count. */
function utf8Into(text: string, s: number, e: number, out: Int32Array): number {
  let p = 0;
  for (let i = s; i < e; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) out[p++] = c;
    else if (c < 0x800) {
      out[p++] = 0xc0 | (c >> 6);
      out[p++] = 0x80 | (c & 63);
    } else if ((c & 0xfc00) === 0xd800) {
      c = ((c - 0xd800) << 10) + text.charCodeAt(++i) + 0x2400;
      out[p++] = 0xf0 | (c >> 18);
      out[p++] = 0x80 | ((c >> 12) & 63);
      out[p++] = 0x80 | ((c >> 6) & 63);
      out[p++] = 0x80 | (c & 63);
    } else {
      out[p++] = 0xe0 | (c >> 12);
      out[p++] = 0x80 | ((c >> 6) & 63);
      out[p++] = 0x80 | (c & 63);
    }
  }
  return p;
}

/** `text.slice(s, e)` as a string of its own (a slice may keep all of `text` alive). */
function flatCopy(text: string, s: number, e: number): string {
  if (e - s < 13) return text.slice(s, e); // V8 copies short slices anyway
  let out = "";
  for (let i = s; i < e; i += 1024) {
    out += String.fromCharCode.apply(null, codeUnits(text, i, Math.min(e, i + 1024)));
  }
  return out;
}

function codeUnits(text: string, s: number, e: number): number[] {
  const a = new Array<number>(e - s);
  for (let i = s; i < e; i++) a[i - s] = text.charCodeAt(i);
  return a;
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

function hex32(n: number): string {
  return "0x" + n.toString(16).padStart(8, "0");
}

function flattenMerges(
  merges: ArrayLike<readonly [number, number]> | ArrayLike<number>,
): Uint32Array {
  if (merges instanceof Uint32Array) return merges.slice();
  if (merges === null || typeof merges !== "object" || typeof merges.length !== "number") {
    throw new InputError(`Merges must be an array of [a, b] pairs, got ${describe(merges)}`);
  }
  const n = merges.length;
  if (n === 0) return new Uint32Array(0);
  if (typeof merges[0] === "number") {
    if (n % 2 !== 0) throw new InputError(`A flat merge table needs an even length, got ${n}`);
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const v = (merges as ArrayLike<number>)[i];
      if (!Number.isInteger(v) || v < 0 || v >= MAX_VOCAB_SIZE) {
        throw new InputError(`Merge table entry ${i} is not a valid token id: ${String(v)}`);
      }
      out[i] = v;
    }
    return out;
  }
  const out = new Uint32Array(2 * n);
  for (let r = 0; r < n; r++) {
    const pair = (merges as ArrayLike<readonly [number, number]>)[r];
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new InputError(`Merge ${r} must be a pair [a, b], got ${describe(pair)}`);
    }
    for (let k = 0; k < 2; k++) {
      const v = pair[k];
      if (!Number.isInteger(v) || v < 0 || v >= MAX_VOCAB_SIZE) {
        throw new InputError(`Merge ${r} has an invalid token id: ${String(v)}`);
      }
      out[2 * r + k] = v;
    }
  }
  return out;
}

/** Returns a description of the first problem of a flat merge table, or "" if it is valid. */
function validateMerges(flat: Uint32Array): string {
  const n = flat.length / 2;
  if (FIRST_MERGE_ID + n > MAX_VOCAB_SIZE) return `too many merges (${n})`;
  // (Repeated pairs are found while the pair table is built: no Set here.)
  const lens = new Int32Array(FIRST_MERGE_ID + n).fill(1, 0, BYTE_TOKENS);
  for (let r = 0; r < n; r++) {
    const a = flat[2 * r], b = flat[2 * r + 1];
    // Checked without a per-merge array: this runs, uncompiled, at every model load.
    for (let side = 0; side < 2; side++) {
      const v = side === 0 ? a : b;
      if (v >= FIRST_MERGE_ID + r) {
        return `merge ${r} refers to token ${v}, which does not exist before token ${
          FIRST_MERGE_ID + r
        }`;
      }
      if (v >= BYTE_TOKENS && v < FIRST_MERGE_ID) {
        return `merge ${r} refers to special token ${v}`;
      }
    }
    const len = lens[FIRST_MERGE_ID + r] = lens[a] + lens[b];
    if (len > MAX_TOKEN_BYTES) {
      return `merge ${r} makes a token of ${len} bytes, longer than any chunk can be ` +
        `(${MAX_TOKEN_BYTES})`;
    }
  }
  return "";
}

/**
 * Applies merges to `ids[0..n)` in place (lowest rank first, leftmost first on ties); returns
 * the new length. Quadratic, for short chunks; `ranks` is scratch of at least `n` entries.
 */
function mergeShort(ids: Int32Array, n: number, table: PairRanks, ranks: Int32Array): number {
  if (n < 2) return n;
  // ranks[i]: rank of (ids[i], ids[i+1]), -1 if none
  for (let i = 0; i < n - 1; i++) ranks[i] = table.get(ids[i], ids[i + 1]);
  ranks[n - 1] = -1;
  for (;;) {
    let best = -1, bi = -1;
    for (let i = 0; i < n - 1; i++) {
      const r = ranks[i];
      if (r >= 0 && (best < 0 || r < best)) {
        best = r;
        bi = i;
      }
    }
    if (bi < 0) return n;
    ids[bi] = FIRST_MERGE_ID + best;
    ids.copyWithin(bi + 1, bi + 2, n);
    ranks.copyWithin(bi + 1, bi + 2, n);
    n--;
    ranks[n - 1] = -1;
    if (bi + 1 < n) ranks[bi] = table.get(ids[bi], ids[bi + 1]);
    else ranks[bi] = -1;
    if (bi > 0) ranks[bi - 1] = table.get(ids[bi - 1], ids[bi]);
  }
}

const POS_SCALE = 2 ** 32;

/**
 * Same result as {@link mergeShort} in O(n log n): a linked list of tokens and a min-heap of
 * candidate merges keyed by (rank, position); stale candidates are skipped when popped.
 */
function mergeLong(ids: Int32Array, n: number, table: PairRanks): number {
  const next = new Int32Array(n), prev = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  const heap = new MinHeap(n);
  for (let i = 0; i < n - 1; i++) {
    const r = table.get(ids[i], ids[i + 1]);
    if (r >= 0) heap.push(r * POS_SCALE + i);
  }
  while (heap.size > 0) {
    const key = heap.pop();
    const r = Math.floor(key / POS_SCALE), i = key - r * POS_SCALE;
    if (ids[i] < 0) continue;
    const j = next[i];
    if (j >= n || table.get(ids[i], ids[j]) !== r) continue; // stale
    ids[i] = FIRST_MERGE_ID + r;
    ids[j] = -1;
    const k = next[j];
    next[i] = k;
    if (k < n) {
      prev[k] = i;
      const r2 = table.get(ids[i], ids[k]);
      if (r2 >= 0) heap.push(r2 * POS_SCALE + i);
    }
    const p = prev[i];
    if (p >= 0) {
      const r3 = table.get(ids[p], ids[i]);
      if (r3 >= 0) heap.push(r3 * POS_SCALE + p);
    }
  }
  let m = 0;
  for (let i = 0; i < n; i++) if (ids[i] >= 0) ids[m++] = ids[i];
  return m;
}

/** Binary min-heap of non-negative numbers. */
class MinHeap {
  #h: Float64Array;
  size = 0;
  constructor(capacity: number) {
    this.#h = new Float64Array(Math.max(16, capacity));
  }
  push(v: number): void {
    if (this.size === this.#h.length) {
      const g = new Float64Array(this.#h.length * 2);
      g.set(this.#h);
      this.#h = g;
    }
    const h = this.#h;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p] <= v) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = v;
  }
  pop(): number {
    const h = this.#h;
    const top = h[0];
    const last = h[--this.size];
    let i = 0;
    const n = this.size;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && h[c + 1] < h[c]) c++;
      if (h[c] >= last) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = last;
    return top;
  }
}

let crcTable: Uint32Array | undefined;

function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[i] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Training

/** Progress report of {@link trainBpe}. */
export interface TrainBpeProgress {
  /** Which phase: counting chunks of the corpus, or merging pairs. */
  phase: "count" | "merge";
  /** Texts read (count phase) or merges learned (merge phase). */
  done: number;
  /** Total merges wanted (merge phase); 0 in the count phase. */
  total: number;
}

/** Options of {@link trainBpe}. */
export interface TrainBpeOptions {
  /** Stop early when the most frequent pair occurs fewer times than this (default 2). */
  minPairCount?: number;
  /** Called now and then with progress. */
  onProgress?: (progress: TrainBpeProgress) => void;
}

/**
 * Learns BPE merges from a corpus: counts pre-split chunks, then repeatedly merges the most
 * frequent adjacent pair (ties: lowest first id, then lowest second id), updating pair counts
 * incrementally. Deterministic: the same texts give the same merges.
 *
 * @param texts The corpus, as well-formed strings (a generator is fine).
 * @param vocabSize Wanted vocabulary size, including the 256 byte and 8 special tokens; fewer
 *   merges are learned if the corpus runs out of pairs occurring `minPairCount` times.
 * @param options Early stop and progress callback.
 * @returns The trained tokenizer.
 * @throws {InputError} If `vocabSize` is out of range or a text is not a well-formed string.
 *
 * @example Training a tiny vocabulary
 * ```ts
 * import { ok } from "node:assert";
 * import { trainBpe } from "./tokenizer.ts";
 * const tok = trainBpe(["low lower lowest", "new newer newest"], 280);
 * ok(tok.vocabSize <= 280);
 * ok(tok.encode(" lowest").length < " lowest".length);
 * ```
 */
export function trainBpe(
  texts: Iterable<string>,
  vocabSize: number,
  options: TrainBpeOptions = {},
): Tokenizer {
  if (!Number.isInteger(vocabSize) || vocabSize < FIRST_MERGE_ID || vocabSize > MAX_VOCAB_SIZE) {
    throw new InputError(
      `vocabSize must be an integer in ${FIRST_MERGE_ID}..${MAX_VOCAB_SIZE}, got ${vocabSize}`,
    );
  }
  if (texts === null || typeof (texts as Iterable<string>)?.[Symbol.iterator] !== "function") {
    throw new InputError(`Expected an iterable of strings, got ${describe(texts)}`);
  }
  const minPairCount = Math.max(1, options.minPairCount ?? 2);
  const onProgress = options.onProgress;

  // 1. chunk frequencies
  const chunkCounts = new ChunkTable(1 << 16);
  let nTexts = 0;
  for (const text of texts) {
    checkText(text);
    scanChunks(text, (s, e) => {
      const h = ChunkTable.hash(text, s, e);
      const slot = chunkCounts.find(text, s, e, h);
      if (chunkCounts.keys[slot] === undefined) {
        chunkCounts.insert(slot, flatCopy(text, s, e), h, 1);
      } else chunkCounts.vals[slot]++;
    });
    if (++nTexts % 1000 === 0) onProgress?.({ phase: "count", done: nTexts, total: 0 });
  }

  // 2. words (unique chunks of at least 2 bytes) as byte symbols in one flat array
  const enc = new TextEncoder();
  let scratch = new Uint8Array(4 * MAX_CHUNK_LENGTH);
  let syms = new Int32Array(1 << 16);
  let symLen = 0;
  const wStartList: number[] = [], wLenList: number[] = [], wFreqList: number[] = [];
  for (let slot = 0; slot < chunkCounts.keys.length; slot++) {
    const chunk = chunkCounts.keys[slot];
    if (chunk === undefined) continue;
    const freq = chunkCounts.vals[slot];
    if (scratch.length < chunk.length * 3) scratch = new Uint8Array(chunk.length * 3);
    const { written } = enc.encodeInto(chunk, scratch);
    if (written < 2) continue;
    if (symLen + written > syms.length) {
      const g = new Int32Array(Math.max(syms.length * 2, symLen + written));
      g.set(syms.subarray(0, symLen));
      syms = g;
    }
    wStartList.push(symLen);
    wLenList.push(written);
    wFreqList.push(freq);
    for (let i = 0; i < written; i++) syms[symLen++] = scratch[i];
  }
  const numWords = wStartList.length;
  const wStart = Int32Array.from(wStartList);
  const wLen = Int32Array.from(wLenList);
  const wFreq = Float64Array.from(wFreqList);

  // 3. initial pair counts and where each pair occurs
  const P = MAX_VOCAB_SIZE;
  const pairCount = new Map<number, number>();
  const where = new Map<number, number[]>();
  for (let w = 0; w < numWords; w++) {
    const s = wStart[w], e = s + wLen[w], f = wFreq[w];
    for (let i = s; i < e - 1; i++) {
      const key = syms[i] * P + syms[i + 1];
      pairCount.set(key, (pairCount.get(key) ?? 0) + f);
      let list = where.get(key);
      if (list === undefined) where.set(key, list = []);
      if (list[list.length - 1] !== w) list.push(w);
    }
  }
  const heap = new PairHeap();
  for (const [key, c] of pairCount) heap.push(c, key);

  // 4. merge loop
  const numMerges = vocabSize - FIRST_MERGE_ID;
  const merges = new Uint32Array(numMerges * 2);
  const stamp = new Int32Array(numWords).fill(-1);
  const delta = new Map<number, number>();
  let m = 0;
  while (m < numMerges && heap.size > 0) {
    const c = heap.topCount(), key = heap.topKey();
    heap.pop();
    const current = pairCount.get(key) ?? 0;
    if (current !== c) {
      if (current > 0) heap.push(current, key); // count went down since it was pushed
      continue;
    }
    if (c < minPairCount) break;
    const a = Math.floor(key / P), b = key - a * P, z = FIRST_MERGE_ID + m;
    merges[2 * m] = a;
    merges[2 * m + 1] = b;
    delta.clear();
    const add = (x: number, y: number, d: number) => {
      const k = x * P + y;
      delta.set(k, (delta.get(k) ?? 0) + d);
    };
    for (const w of where.get(key) ?? []) {
      if (stamp[w] === m) continue;
      stamp[w] = m;
      const s = wStart[w], n = wLen[w], f = wFreq[w];
      let found = false;
      for (let i = s; i < s + n - 1; i++) {
        if (syms[i] === a && syms[i + 1] === b) {
          found = true;
          break;
        }
      }
      if (!found) continue;
      // pairs that may change are those touching a or b (old) or a, b or z (new)
      for (let i = s; i < s + n - 1; i++) {
        const x = syms[i], y = syms[i + 1];
        if (x === a || x === b || y === a || y === b) add(x, y, -f);
      }
      let j = s;
      for (let i = s; i < s + n;) {
        if (i < s + n - 1 && syms[i] === a && syms[i + 1] === b) {
          syms[j++] = z;
          i += 2;
        } else syms[j++] = syms[i++];
      }
      const n2 = j - s;
      wLen[w] = n2;
      for (let i = s; i < s + n2 - 1; i++) {
        const x = syms[i], y = syms[i + 1];
        if (x === z || y === z) {
          add(x, y, f);
          const k = x * P + y;
          let list = where.get(k);
          if (list === undefined) where.set(k, list = []);
          if (list[list.length - 1] !== w) list.push(w);
        } else if (x === a || x === b || y === a || y === b) add(x, y, f);
      }
    }
    for (const [k, d] of delta) {
      if (d === 0) continue;
      const v = (pairCount.get(k) ?? 0) + d;
      if (v <= 0) pairCount.delete(k);
      else pairCount.set(k, v);
      if (d > 0) heap.push(v, k);
    }
    pairCount.delete(key);
    where.delete(key);
    m++;
    if (onProgress && m % 256 === 0) onProgress({ phase: "merge", done: m, total: numMerges });
  }
  onProgress?.({ phase: "merge", done: m, total: numMerges });
  return new Tokenizer(merges.subarray(0, 2 * m));
}

/** Max-heap of (count, pair key): highest count first, then lowest key. */
class PairHeap {
  #c: number[] = [];
  #k: number[] = [];
  get size(): number {
    return this.#c.length;
  }
  topCount(): number {
    return this.#c[0];
  }
  topKey(): number {
    return this.#k[0];
  }
  #before(c1: number, k1: number, c2: number, k2: number): boolean {
    return c1 > c2 || (c1 === c2 && k1 < k2);
  }
  push(c: number, k: number): void {
    const C = this.#c, K = this.#k;
    let i = C.length;
    C.push(c);
    K.push(k);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#before(c, k, C[p], K[p])) break;
      C[i] = C[p];
      K[i] = K[p];
      i = p;
    }
    C[i] = c;
    K[i] = k;
  }
  pop(): void {
    const C = this.#c, K = this.#k;
    const c = C.pop()!, k = K.pop()!;
    const n = C.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let ch = 2 * i + 1;
      if (ch >= n) break;
      if (ch + 1 < n && this.#before(C[ch + 1], K[ch + 1], C[ch], K[ch])) ch++;
      if (!this.#before(C[ch], K[ch], c, k)) break;
      C[i] = C[ch];
      K[i] = K[ch];
      i = ch;
    }
    C[i] = c;
    K[i] = k;
  }
}
