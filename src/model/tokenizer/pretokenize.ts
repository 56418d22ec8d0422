/**
 * The GPT-2-like pre-split of text into chunks, and the checks on input text.
 *
 * @module
 */
import { InputError } from "../../errors.ts";
import { MAX_CHUNK_LENGTH } from "./constants.ts";

// Character classes of the pre-split rule.
export const C_OTHER = 1, C_LETTER = 2, C_MARK = 3, C_NUMBER = 4, C_SPACE = 5;
export const RE_LETTER = /^\p{L}$/u,
  RE_MARK = /^\p{M}$/u,
  RE_NUMBER = /^\p{N}$/u,
  RE_SPACE = /^\s$/u;
let classTable: Uint8Array | undefined; // code point -> class, filled lazily (0 = not yet)

export function classify(cp: number): number {
  const s = String.fromCodePoint(cp);
  if (RE_LETTER.test(s)) return C_LETTER;
  if (RE_MARK.test(s)) return C_MARK;
  if (RE_NUMBER.test(s)) return C_NUMBER;
  if (RE_SPACE.test(s)) return C_SPACE;
  return C_OTHER;
}

export function classOf(cp: number): number {
  const t = classTable ??= new Uint8Array(0x110000);
  const k = t[cp];
  return k !== 0 ? k : (t[cp] = classify(cp));
}

/** Code point at `i` of a well-formed string (a high surrogate is followed by a low one). */
export function cpAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return (c & 0xfc00) === 0xd800 ? ((c - 0xd800) << 10) + text.charCodeAt(i + 1) + 0x2400 : c;
}

/** Length after `'` of an English contraction starting at `i` (s, d, m, t, ll, ve, re), or 0. */
export function contractionAt(text: string, i: number): number {
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
export function scanChunks(text: string, fn: (start: number, end: number) => void): void {
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

export function emit(s: number, e: number, text: string, fn: (start: number, end: number) => void) {
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
 * import { pretokenize } from "../tokenizer.ts";
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
export function checkText(text: unknown): asserts text is string {
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

export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return `an object (${v.constructor?.name ?? "Object"})`;
  return typeof v;
}

export function findLoneSurrogate(s: string): number {
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
