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
 * The implementation is split by concept under `tokenizer/`: ids and file constants
 * (`constants.ts`), the pre-split (`pretokenize.ts`), the encoder's tables (`tables.ts`), merge
 * application (`merges.ts`), the {@link Tokenizer} class (`tokenizer.ts`), its vocabulary file
 * (`vocab_file.ts`) and training (`bpe_train.ts`).
 *
 * @module
 */
export {
  BOS_ID,
  BYTE_TOKENS,
  EOS_ID,
  FIRST_MERGE_ID,
  MAX_CHUNK_LENGTH,
  MAX_VOCAB_SIZE,
  NUM_SPECIAL_TOKENS,
  PAD_ID,
  SEP_ID,
} from "./tokenizer/constants.ts";
export { pretokenize } from "./tokenizer/pretokenize.ts";
export { type EncodeOptions, Tokenizer } from "./tokenizer/tokenizer.ts";
export { trainBpe, type TrainBpeOptions, type TrainBpeProgress } from "./tokenizer/bpe_train.ts";
