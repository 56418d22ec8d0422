/**
 * The trained tokenizer: encoding and decoding (its vocabulary file is `vocab_file.ts`).
 *
 * @module
 */
import { FormatError, InputError } from "../../errors.ts";
import { readVocabFile, writeVocabFile } from "./vocab_file.ts";
import { BOS_ID, BYTE_TOKENS, EOS_ID, FIRST_MERGE_ID, MAX_CHUNK_LENGTH } from "./constants.ts";
import { flattenMerges, mergeLong, mergeShort, validateMerges } from "./merges.ts";
import { checkText, scanChunks } from "./pretokenize.ts";
import {
  CACHE_MAX_ENTRIES,
  CACHE_MAX_IDS,
  ChunkTable,
  ID_PACK,
  IdBuffer,
  PairRanks,
  SHORT_CHUNK_BYTES,
} from "./tables.ts";
import { flatCopy, utf8Into } from "./text_bytes.ts";

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
 * import { Tokenizer, trainBpe } from "../tokenizer.ts";
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
   * import { FIRST_MERGE_ID, Tokenizer } from "../tokenizer.ts";
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
   * import { BOS_ID, Tokenizer } from "../tokenizer.ts";
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
   * import { Tokenizer } from "../tokenizer.ts";
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
   * import { Tokenizer } from "../tokenizer.ts";
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
   * import { Tokenizer } from "../tokenizer.ts";
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
   * import { Tokenizer } from "../tokenizer.ts";
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
   * import { EOS_ID, Tokenizer } from "../tokenizer.ts";
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
   * import { Tokenizer } from "../tokenizer.ts";
   * const tok = new Tokenizer([[104, 105]]);
   * strictEqual(tok.toBytes().length, 24 + 4 + 4); // header, one merge of two u16 ids, CRC
   * ```
   */
  toBytes(): Uint8Array {
    return writeVocabFile(this.merges, this.numMerges, this.vocabSize);
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
   * import { Tokenizer } from "../tokenizer.ts";
   * const tok = Tokenizer.fromBytes(new Tokenizer([[104, 105]]).toBytes());
   * strictEqual(tok.vocabSize, 265);
   * ```
   */
  static fromBytes(bytes: Uint8Array): Tokenizer {
    const flat = readVocabFile(bytes);
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
