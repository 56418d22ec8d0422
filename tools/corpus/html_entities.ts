/**
 * HTML character references for the corpus's HTML converter (`html.ts`): the common named ones
 * (and Latin-1 letters with diacritics, composed), `&#NNN;` and `&#xHH;`.
 *
 * @module
 */

const NAMED: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  ensp: " ",
  emsp: " ",
  thinsp: " ",
  shy: "",
  zwj: "",
  zwnj: "",
  lrm: "",
  rlm: "",
  ndash: "–",
  mdash: "—",
  minus: "−",
  hellip: "…",
  lsquo: "‘",
  rsquo: "’",
  sbquo: "‚",
  ldquo: "“",
  rdquo: "”",
  bdquo: "„",
  laquo: "«",
  raquo: "»",
  lsaquo: "‹",
  rsaquo: "›",
  bull: "•",
  middot: "·",
  dagger: "†",
  Dagger: "‡",
  prime: "′",
  Prime: "″",
  copy: "©",
  reg: "®",
  trade: "™",
  deg: "°",
  plusmn: "±",
  times: "×",
  divide: "÷",
  frac12: "½",
  frac14: "¼",
  frac34: "¾",
  sup1: "¹",
  sup2: "²",
  sup3: "³",
  micro: "µ",
  para: "¶",
  sect: "§",
  cent: "¢",
  pound: "£",
  yen: "¥",
  euro: "€",
  curren: "¤",
  iexcl: "¡",
  iquest: "¿",
  not: "¬",
  macr: "¯",
  acute: "´",
  cedil: "¸",
  uml: "¨",
  ordf: "ª",
  ordm: "º",
  larr: "←",
  rarr: "→",
  uarr: "↑",
  darr: "↓",
  harr: "↔",
  lArr: "⇐",
  rArr: "⇒",
  hArr: "⇔",
  le: "≤",
  ge: "≥",
  ne: "≠",
  asymp: "≈",
  equiv: "≡",
  infin: "∞",
  sum: "∑",
  prod: "∏",
  radic: "√",
  part: "∂",
  isin: "∈",
  notin: "∉",
  cap: "∩",
  cup: "∪",
  sub: "⊂",
  sup: "⊃",
  and: "∧",
  or: "∨",
  forall: "∀",
  exist: "∃",
  empty: "∅",
  nabla: "∇",
  lowast: "∗",
  sdot: "⋅",
  szlig: "ß",
  alpha: "α",
  beta: "β",
  gamma: "γ",
  delta: "δ",
  epsilon: "ε",
  lambda: "λ",
  mu: "μ",
  pi: "π",
  sigma: "σ",
  tau: "τ",
  phi: "φ",
  omega: "ω",
  Delta: "Δ",
  Sigma: "Σ",
  Omega: "Ω",
};

// Latin-1 letters with diacritics: &eacute; &Uuml; &ccedil; &aring; &oslash; &atilde; ...
const MARKS: Record<string, string> = {
  acute: "\u0301",
  grave: "\u0300",
  circ: "\u0302",
  tilde: "\u0303",
  uml: "\u0308",
  ring: "\u030a",
  cedil: "\u0327",
};
const SPECIAL: Record<string, string> = {
  AElig: "Æ",
  aelig: "æ",
  OElig: "Œ",
  oelig: "œ",
  Oslash: "Ø",
  oslash: "ø",
  ETH: "Ð",
  eth: "ð",
  THORN: "Þ",
  thorn: "þ",
};

function named(name: string): string | undefined {
  if (name in NAMED) return NAMED[name];
  if (name in SPECIAL) return SPECIAL[name];
  const m = /^([A-Za-z])(acute|grave|circ|tilde|uml|ring|cedil)$/.exec(name);
  return m ? (m[1] + MARKS[m[2]]).normalize("NFC") : undefined;
}

/**
 * Decodes HTML character references: the common named ones, `&#NNN;` and `&#xHH;`. Unknown
 * names are left as they are; `&nbsp;` becomes a plain space.
 *
 * @example
 * ```ts
 * import { decodeEntities } from "./html_entities.ts";
 * console.log(decodeEntities("a &lt; b &amp;&amp; c&nbsp;&gt; d &#233;t&#xE9; &eacute; &bogus;"));
 * // a < b && c > d été é &bogus;
 * ```
 */
export function decodeEntities(text: string): string {
  return text.replace(/&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);/g, (all, ref) => {
    if (ref[0] === "#") {
      const cp = ref[1] === "x" || ref[1] === "X"
        ? parseInt(ref.slice(2), 16)
        : parseInt(ref.slice(1), 10);
      if (cp === 0xa0) return " ";
      if (!(cp > 0 && cp <= 0x10ffff) || (cp >= 0xd800 && cp <= 0xdfff)) return "\ufffd";
      return String.fromCodePoint(cp);
    }
    return named(ref) ?? all;
  });
}
