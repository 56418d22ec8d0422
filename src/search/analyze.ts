/**
 * Text analysis of the lexical index: lower-cased words (runs of Unicode letters, marks and
 * digits) and a light suffix stemmer (plurals, `-ing`, `-ed`), so "peanuts" finds "peanut" and
 * "barking" finds "barked". Deliberately small: the index runs on the edge and in the library,
 * with no dependency. Stopwords stay in the index: BM25's idf already weighs them near zero, and
 * dropping them cost recall (docs/EVAL.md: 0.989 against 1.000 on unseen text); the list is
 * here for the evaluation's paraphrased queries.
 *
 * @example
 * ```ts
 * import { terms } from "./analyze.ts";
 * console.log(terms("The dogs were barking at cities")); // [ "the", "dog", "were", "bark", "at", "city" ]
 * ```
 *
 * @module
 */

// Common English function words: they carry no topic and only add noise to BM25.
const STOPWORDS = new Set(
  ("a about above after again against all am an and any are as at be because been before being " +
    "below between both but by can could did do does doing down during each few for from " +
    "further had has have having he her here hers herself him himself his how i if in into is " +
    "it its itself just me more most my myself no nor not now of off on once only or other our " +
    "ours ourselves out over own same she should so some such than that the their theirs them " +
    "themselves then there these they this those through to too under until up very was we " +
    "were what when where which while who whom why will with would you your yours yourself " +
    "yourselves s t d ll m re ve").split(" "),
);

/**
 * Whether a lower-cased word is a stopword.
 *
 * @example
 * ```ts
 * import { isStopword } from "./analyze.ts";
 * console.log(isStopword("the"), isStopword("peanut")); // true false
 * ```
 */
export function isStopword(word: string): boolean {
  return STOPWORDS.has(word);
}

/**
 * Lower-cased words: maximal runs of Unicode letters, marks and digits.
 *
 * @example
 * ```ts
 * import { words } from "./analyze.ts";
 * console.log(words("Hello, WORLD! it's 2025")); // [ "hello", "world", "it", "s", "2025" ]
 * ```
 */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? [];
}

const VOWEL = /[aeiouy]/;

/**
 * A light English stemmer: plural `-s`/`-es`/`-ies`, `-ing` and `-ed` (with a doubled final
 * consonant undone), only where a vowel stays in the stem; other words are unchanged.
 *
 * @example
 * ```ts
 * import { stem } from "./analyze.ts";
 * console.log(["peanuts", "cities", "boxes", "running", "stopped", "glass", "bus"].map(stem));
 * // [ "peanut", "city", "box", "run", "stop", "glass", "bus" ]
 * ```
 */
export function stem(word: string): string {
  if (word.length <= 3 || !/^[a-z]+$/.test(word)) return word;
  let w = word;
  if (w.endsWith("ies") && w.length > 4) w = w.slice(0, -3) + "y";
  else if (/(?:ss|sh|ch|x|z)es$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith("s") && !/(?:ss|us|is)$/.test(w)) w = w.slice(0, -1);
  else if (w.endsWith("ing") && VOWEL.test(w.slice(0, -3)) && w.length > 5) w = undouble(w, 3);
  else if (w.endsWith("ed") && VOWEL.test(w.slice(0, -2)) && w.length > 4) w = undouble(w, 2);
  return w;
}

// Drops a suffix and a doubled final consonant it leaves ("stopped" → "stop"; "falling" keeps
// its "ll", "passed" its "ss").
function undouble(word: string, suffix: number): string {
  const w = word.slice(0, -suffix);
  const last = w[w.length - 1];
  if (w.length > 2 && last === w[w.length - 2] && !/[aeiouylsz]/.test(last)) return w.slice(0, -1);
  return w;
}

/**
 * The index terms of a text: its words, stemmed, in order.
 *
 * @example
 * ```ts
 * import { terms } from "./analyze.ts";
 * console.log(terms("I am allergic to peanuts.")); // [ "i", "am", "allergic", "to", "peanut" ]
 * ```
 */
export function terms(text: string): string[] {
  return words(text).map(stem);
}
