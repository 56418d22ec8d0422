/**
 * Token id ranges and the vocabulary file's fixed numbers.
 *
 * @module
 */

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
export const MAX_TOKEN_BYTES = 3 * MAX_CHUNK_LENGTH;

export const MAGIC = [0x52, 0x33, 0x54, 0x4b]; // "R3TK"
export const FORMAT_VERSION = 1;
/** Id of the pre-split rule below; stored in the binary form so a change is detected. */
export const PRETOKENIZER_ID = 1;
export const HEADER_BYTES = 24;
