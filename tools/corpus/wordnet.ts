/**
 * WordNet 3.0's database files (`wordnet-base`: `/usr/share/wordnet/data.{noun,verb,adj,adv}`) to
 * plain text: one line per synset with its words, part of speech, definition and example
 * sentences, grouped into documents like the dictionary source.
 *
 * @module
 */

/** Synsets per corpus document. */
export const WORDNET_SYNSETS_PER_DOCUMENT = 250;

const POS: Record<string, string> = { n: "n.", v: "v.", a: "adj.", s: "adj.", r: "adv." };

/**
 * Converts one line of a WordNet `data.*` file to text, or returns `null` for the licence header
 * (lines starting with two spaces) and malformed lines. Underscores in words become spaces, the
 * adjective position markers (`(a)`, `(p)`, `(ip)`) are dropped, and the gloss is kept as it is:
 * the definition, then the example sentences in double quotes.
 *
 * @example
 * ```ts
 * import { wordnetSynsetToText } from "./wordnet.ts";
 * const line = "00001740 29 v 04 breathe 0 take_a_breath 0 respire 0 suspire 3 001 " +
 *   "$ 00002325 v 0000 01 + 02 00 | draw air into, and expel out of, the lungs; " +
 *   "\"I can breathe better when the air is clean\"  ";
 * console.log(wordnetSynsetToText(line));
 * // breathe, take a breath, respire, suspire (v.): draw air into, and expel out of, the lungs; "I can breathe better when the air is clean"
 * ```
 */
export function wordnetSynsetToText(line: string): string | null {
  if (!/^\d{8} /.test(line)) return null;
  const bar = line.indexOf(" | ");
  if (bar < 0) return null;
  const fields = line.slice(0, bar).split(" ");
  const pos = POS[fields[2]];
  const count = parseInt(fields[3], 16);
  if (!pos || !(count > 0)) return null;
  const words: string[] = [];
  for (let i = 0; i < count; i++) {
    const w = fields[4 + 2 * i];
    if (w === undefined) return null;
    words.push(w.replace(/\((?:a|p|ip)\)$/, "").replace(/_/g, " "));
  }
  const gloss = line.slice(bar + 3).trim();
  return `${[...new Set(words)].join(", ")} (${pos}): ${gloss}`;
}

/**
 * Splits a WordNet `data.*` file into documents of `size` synsets each (one synset a line).
 *
 * @example
 * ```ts
 * import { wordnetDocuments } from "./wordnet.ts";
 * const file = "  1 licence header\n" +
 *   "00000001 03 n 01 cat 0 000 | a small animal\n" +
 *   "00000002 03 n 01 dog 0 000 | a larger animal\n";
 * console.log(wordnetDocuments(file, 1)); // [ "cat (n.): a small animal", "dog (n.): a larger animal" ]
 * ```
 */
export function wordnetDocuments(
  file: string,
  size: number = WORDNET_SYNSETS_PER_DOCUMENT,
): string[] {
  const synsets: string[] = [];
  for (const line of file.split("\n")) {
    const t = wordnetSynsetToText(line);
    if (t !== null) synsets.push(t);
  }
  const docs: string[] = [];
  for (let i = 0; i < synsets.length; i += size) docs.push(synsets.slice(i, i + size).join("\n"));
  return docs;
}
