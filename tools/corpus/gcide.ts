/**
 * The Collaborative International Dictionary of English as dictd ships it
 * (`/usr/share/dictd/gcide.dict.dz`): one huge file of entries, each a headword line at column 0
 * followed by indented lines, entries separated by one blank line. These helpers split it into
 * entries, turn an entry's dictd markup into plain text, and group entries into documents.
 *
 * @module
 */

/** Entries per corpus document. */
export const GCIDE_ENTRIES_PER_DOCUMENT = 200;

/**
 * Splits the dictionary text into entries: an entry starts at a non-blank line at column 0 that
 * follows a blank line (or starts the file) and carries `\spelling\` markup in its first lines;
 * other unindented paragraphs continue the previous entry. The dictd metadata entries
 * (`00-database-…`) are dropped.
 *
 * @example
 * ```ts
 * import { splitGcideEntries } from "./gcide.ts";
 * const dict = "00-database-short\n   GCIDE\n\nCat \\Cat\\, n.\n   A small animal.\n" +
 *   "   [1913 Webster]\n\nDog \\Dog\\, n.\n   A larger animal.\n";
 * console.log(splitGcideEntries(dict).length); // 2
 * ```
 */
export function splitGcideEntries(text: string): string[] {
  const chunks = text.replace(/\r\n?/g, "\n").split(/\n[ \t]*\n(?=[^\s])/);
  const entries: string[] = [];
  for (const raw of chunks) {
    const chunk = raw.replace(/^\n+|\s+$/g, "");
    if (chunk === "") continue;
    // A real entry names its headword with \spelling\ markup in its first lines; anything else
    // (a stray unindented line, metadata text) continues the previous entry.
    const head = chunk.split("\n", 3).join("\n");
    if (
      entries.length > 0 && !/\\[^\\\n]+\\/.test(head) &&
      !/^00-?(database|gcide|web1913)/i.test(chunk)
    ) {
      entries[entries.length - 1] += "\n\n" + chunk;
    } else entries.push(chunk);
  }
  return entries.filter((e) => !/^00-?(database|gcide|web1913)/i.test(e));
}

/** dictd's ASCII codes for letters with diacritics and a few symbols, as Unicode. */
const WHOLE: Record<string, string> = {
  ae: "æ",
  AE: "Æ",
  oe: "œ",
  OE: "Œ",
  eth: "ð",
  ETH: "Ð",
  thorn: "þ",
  THORN: "Þ",
  yogh: "ȝ",
  ng: "ŋ",
  deg: "°",
  sect: "§",
  para: "¶",
  root: "√",
  times: "×",
  pounds: "£",
  cent: "¢",
  middot: "·",
  nbsp: " ",
  rarr: "→",
  larr: "←",
  prime: "′",
  bprime: "″",
  min: "′",
  sec: "″",
  flat: "♭",
  sharp: "♯",
  natural: "♮",
  asl: "a",
  add: "ä",
  udd: "ü",
  dsdot: "ḍ",
  zdot: "ż",
  "=oo": "oo",
  "oo^": "oo",
  "*a": "a",
  "*u": "u",
};
const GREEK: Record<string, string> = {
  alpha: "α",
  beta: "β",
  gamma: "γ",
  delta: "δ",
  epsilon: "ε",
  zeta: "ζ",
  eta: "η",
  theta: "θ",
  iota: "ι",
  kappa: "κ",
  lambda: "λ",
  mu: "μ",
  nu: "ν",
  xi: "ξ",
  omicron: "ο",
  pi: "π",
  rho: "ρ",
  sigma: "σ",
  tau: "τ",
  upsilon: "υ",
  phi: "φ",
  chi: "χ",
  psi: "ψ",
  omega: "ω",
};
const PREFIX_MARK: Record<string, string> = {
  "=": "\u0304", // macron
  "-": "\u0304",
  "^": "\u0302", // circumflex
  "~": "\u0303", // tilde
  ".": "\u0307", // dot above
  '"': "\u0308", // diaeresis
  "'": "\u0301", // acute
  "`": "\u0300", // grave
  ",": "\u0327", // cedilla
};

function decodeCode(code: string): string | undefined {
  if (code in WHOLE) return WHOLE[code];
  const lower = code.toLowerCase();
  if (lower in GREEK) {
    const g = GREEK[lower];
    return code[0] === lower[0] ? g : g.toUpperCase();
  }
  let m = /^([=\-^~.“"'`,])([A-Za-z])$/.exec(code);
  if (m) return (m[2] + PREFIX_MARK[m[1]]).normalize("NFC");
  m = /^([A-Za-z])\^$/.exec(code);
  if (m) return (m[1] + "\u0306").normalize("NFC"); // breve
  m = /^([A-Za-z])(um|dd)$/.exec(code);
  if (m) return (m[1] + "\u0308").normalize("NFC");
  m = /^([A-Za-z])mac$/.exec(code);
  if (m) return (m[1] + "\u0304").normalize("NFC");
  m = /^([A-Za-z])(sl|cr)$/.exec(code);
  if (m) return m[1];
  return undefined;
}

/** Replaces dictd's bracketed character codes (`[ae]`, `['e]`, `[=a]`, `[i^]`, `[alpha]`). */
export function decodeGcideCodes(text: string): string {
  return text.replace(/\[([^\]\s[]{1,8})\]/g, (all, code) => decodeCode(code) ?? all);
}

const SOURCE_TOKEN =
  /^(?:\+|\+?(?:\d[\d.]*|Webster|Webster's|WordNet|PJC\.?|Suppl\.?|Century|Dict\.|RDH|RHUD|AS|MW10|MI11|sense|Online|Wikipedia|NIST|Chambers|Johnson|Stormonth|Black|Bouvier))$/;

/** Whether a bracketed group is an editorial source tag like `[1913 Webster +PJC]`. */
function isSourceTag(inner: string): boolean {
  const tokens = inner.trim().split(/\s+/);
  return tokens.length > 0 && tokens.every((t) => SOURCE_TOKEN.test(t)) &&
    /Webster|WordNet|PJC|Century|RDH|RHUD|AS|MW10|MI11/.test(inner);
}

// A pronunciation group: parenthesised, no inner spaces except after commas, and marked with
// syllable or accent signs or diacritic codes.
const PRONUNCIATION = /\s?\((?=[^()]*(?:[*"`]|\[[^\]\s]{1,6}\]))[^()\s,]+(?:,\s?[^()\s,]+)*\)/g;

/** Starts of lines that begin a new line in the plain text rather than continue the previous. */
const NEW_LINE = /^(?:\d+\.\s|\([a-z]\)\s|Syn:|Usage:|Note:|Specifically:)/;

/**
 * Converts one dictd entry to plain text: drops the `\Ab*an"don\` spelling markup and the
 * pronunciation that follows it, editorial source tags (`[1913 Webster]`), cross-reference
 * braces (`{Abandoned}` → `Abandoned`) and indentation; decodes character codes (`['e]` → `é`);
 * and joins wrapped lines, starting a new line at each numbered sense, `Syn:`, `Usage:` and
 * `Note:`.
 *
 * @example
 * ```ts
 * import { gcideEntryToText } from "./gcide.ts";
 * const entry = [
 *   'Abandon \\A*ban"don\\ ([.a]*b[a^]n"d[u^]n), v. t. [imp. & p. p.',
 *   "   {Abandoned} (-d[u^]nd).] [OF. abandoner.]",
 *   "   1. To cast or drive out; to banish; to expel; to reject.",
 *   "      [Obs.]",
 *   "      [1913 Webster]",
 *   "",
 *   "            That he might . . . abandon them from him. --Udall.",
 *   "      [1913 Webster]",
 *   "",
 *   "   Syn: To give up; yield; forego; caf['e].",
 * ].join("\n");
 * console.log(gcideEntryToText(entry));
 * // Abandon, v. t. [imp. & p. p. Abandoned.] [OF. abandoner.]
 * // 1. To cast or drive out; to banish; to expel; to reject. [Obs.]
 * //
 * // That he might . . . abandon them from him. --Udall.
 * //
 * // Syn: To give up; yield; forego; café.
 * ```
 */
export function gcideEntryToText(entry: string): string {
  const lines = entry.replace(/\r\n?/g, "\n").split("\n");
  const paragraphs: string[][] = [[]];
  for (const raw of lines) {
    const line = raw.trim().replace(
      /\s*\[([^\]]*)\]$/,
      (all, inner) => isSourceTag(inner) ? "" : all,
    );
    if (line === "") {
      if (raw.trim() === "") paragraphs.push([]);
      continue;
    }
    const para = paragraphs.at(-1)!;
    if (para.length === 0 || NEW_LINE.test(line)) para.push(line);
    else para[para.length - 1] += " " + line;
  }
  const kept = paragraphs.filter((p) => p.length > 0);
  // The headword line (which may wrap) carries the \Ab*an"don\ spelling markup.
  if (kept.length > 0) kept[0][0] = kept[0][0].replace(/\s*\\[^\\]{1,80}\\/g, "");
  const text = kept.map((p) => p.map((l) => l.replace(PRONUNCIATION, "")).join("\n")).join("\n\n");
  return decodeGcideCodes(text.replace(/\{([^{}]*)\}/g, "$1")).replace(/[ \t]+/g, " ");
}

/**
 * Groups entries into documents of `size` entries each (the last one may be shorter), joined by
 * blank lines.
 *
 * @example
 * ```ts
 * import { groupEntries } from "./gcide.ts";
 * console.log(groupEntries(["a", "b", "c"], 2)); // [ "a\n\nb", "c" ]
 * ```
 */
export function groupEntries(entries: readonly string[], size = GCIDE_ENTRIES_PER_DOCUMENT) {
  const docs: string[] = [];
  for (let i = 0; i < entries.length; i += size) {
    docs.push(entries.slice(i, i + size).join("\n\n"));
  }
  return docs;
}
