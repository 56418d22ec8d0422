/**
 * Splits text into the hierarchy's spans: paragraphs (separated by blank lines) and sentences
 * (ending in `.`, `!`, `?` or a line break). Spans tile the text exactly, so concatenating the
 * sentences of every paragraph gives back the input byte for byte.
 *
 * @module
 */

/** A span of the text, in UTF-16 code units (`text.slice(start, end)`). */
export interface Span {
  /** Inclusive start. */
  start: number;
  /** Exclusive end. */
  end: number;
}

/** A paragraph and the sentences that tile it. */
export interface ParagraphSpans extends Span {
  /** Sentences, in order, covering the paragraph exactly. */
  sentences: Span[];
}

/**
 * Splits `text` into paragraphs and sentences that tile it exactly. Whitespace between
 * paragraphs is attached to the end of the paragraph before it.
 *
 * @param text Any string.
 * @param maxSentence Longest sentence in code units; longer runs are cut (at a space if one is
 *   near) so every node stays small enough to reconstruct.
 * @returns The paragraphs (at least one when `text` is not empty).
 *
 * @example
 * ```ts
 * import { splitText } from "./segment.ts";
 * const p = splitText("One. Two!\n\nThree");
 * console.log(p.length, p[0].sentences.length); // 2 2
 * ```
 */
export function splitText(text: string, maxSentence = 400): ParagraphSpans[] {
  const paragraphs: ParagraphSpans[] = [];
  const re = /\n[ \t]*\n\s*/g;
  let start = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const end = m.index + m[0].length;
    if (end >= text.length) break;
    paragraphs.push({ start, end, sentences: splitSentences(text, start, end, maxSentence) });
    start = end;
  }
  if (start < text.length) {
    paragraphs.push({
      start,
      end: text.length,
      sentences: splitSentences(text, start, text.length, maxSentence),
    });
  }
  return paragraphs;
}

function splitSentences(text: string, start: number, end: number, max: number): Span[] {
  const out: Span[] = [];
  let s = start;
  let i = start;
  while (i < end) {
    const c = text.charCodeAt(i);
    let cut = -1;
    // A line break, or . ! ? before whitespace, ends a sentence; the whitespace after it
    // (newlines included) stays with the sentence it follows.
    if (
      c === 10 ||
      ((c === 46 || c === 33 || c === 63) && i + 1 < end && isSpace(text.charCodeAt(i + 1)))
    ) {
      cut = i + 1;
      while (cut < end && isSpace(text.charCodeAt(cut))) cut++;
    }
    if (cut < 0 && i - s >= max) cut = cutNear(text, s, i);
    if (cut > s) {
      out.push({ start: s, end: cut });
      s = cut;
      i = cut;
      continue;
    }
    i++;
  }
  if (s < end) out.push({ start: s, end });
  return out;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

// A cut point at or before `i`, preferring just after a space, never splitting a surrogate pair.
function cutNear(text: string, s: number, i: number): number {
  for (let j = i; j > s + (i - s) / 2; j--) if (text.charCodeAt(j - 1) === 32) return j;
  const c = text.charCodeAt(i - 1);
  return c >= 0xd800 && c <= 0xdbff ? i + 1 : i;
}
