/**
 * roff escapes for the man page converter (`roff.ts`): groff special characters (`\(em`,
 * `\[u00E9]`), predefined strings (`\*(lq`), font and size changes, and macro argument splitting.
 *
 * @module
 */

/** groff special characters (`\(xx`, `\[xx]`) that man pages use. */
const SPECIAL: Record<string, string> = {
  em: "—",
  en: "–",
  hy: "-",
  mi: "-",
  bu: "•",
  aq: "'",
  dq: '"',
  lq: "“",
  rq: "”",
  oq: "‘",
  cq: "’",
  Bq: "„",
  bq: "‚",
  Fo: "«",
  Fc: "»",
  fo: "‹",
  fc: "›",
  co: "©",
  rg: "®",
  tm: "™",
  de: "°",
  mu: "×",
  di: "÷",
  "+-": "±",
  "<=": "≤",
  ">=": "≥",
  "!=": "≠",
  "==": "≡",
  "~=": "≅",
  "~~": "≈",
  "->": "→",
  "<-": "←",
  "<>": "↔",
  "=>": "⇒",
  "<=>": "⇔",
  ua: "↑",
  da: "↓",
  ti: "~",
  ha: "^",
  rs: "\\",
  sl: "/",
  ul: "_",
  ru: "_",
  ga: "`",
  aa: "´",
  pc: "·",
  bv: "|",
  br: "|",
  ba: "|",
  lB: "[",
  rB: "]",
  lC: "{",
  rC: "}",
  la: "⟨",
  ra: "⟩",
  sc: "§",
  ps: "¶",
  dg: "†",
  dd: "‡",
  ct: "¢",
  Po: "£",
  Eu: "€",
  eu: "€",
  Ye: "¥",
  if: "∞",
  sr: "√",
  pl: "+",
  eq: "=",
  "12": "½",
  "14": "¼",
  "34": "¾",
  S1: "¹",
  S2: "²",
  S3: "³",
  "*a": "α",
  "*b": "β",
  "*g": "γ",
  "*d": "δ",
  "*e": "ε",
  "*l": "λ",
  "*m": "μ",
  "*p": "π",
  "*s": "σ",
  "*t": "τ",
  "*f": "φ",
  "*w": "ω",
  ss: "ß",
  "'e": "é",
  "'a": "á",
  "'o": "ó",
  "`e": "è",
  "`a": "à",
  ":a": "ä",
  ":o": "ö",
  ":u": "ü",
  ":A": "Ä",
  ":O": "Ö",
  ":U": "Ü",
  ",c": "ç",
  "~n": "ñ",
  oe: "œ",
  ae: "æ",
  "/o": "ø",
  ao: "å",
};

/** Predefined strings (`\*(xx`, `\*x`, `\*[name]`). */
const STRINGS: Record<string, string> = {
  lq: "“",
  rq: "”",
  R: "®",
  Tm: "™",
  "(Tm": "™",
};

function special(name: string): string {
  if (name in SPECIAL) return SPECIAL[name];
  const u = /^u([0-9A-Fa-f]{4,6})(?:_[0-9A-Fa-f]{4,6})*$/.exec(name);
  if (u) return String.fromCodePoint(parseInt(u[1], 16));
  const c = /^char(\d+)$/.exec(name);
  if (c) return String.fromCodePoint(Number(c[1]));
  return "";
}

/**
 * Expands roff escapes in one line of text: font and size changes vanish, `\-` and special
 * characters (`\(em`, `\[bu]`, `\[u00E9]`) become their Unicode text, `\&`, `\|`, `\^` and
 * `\c` disappear, `\e` is a backslash, and `\"` starts a comment.
 *
 * @example
 * ```ts
 * import { expandEscapes } from "./roff.ts";
 * console.log(expandEscapes(String.raw`\fBls\fP \-l \(em list \[lq]all\[rq]\&. \s-1SMALL\s0 \e \" gone`));
 * // ls -l — list “all”. SMALL \
 * ```
 */
export function expandEscapes(line: string): string {
  let out = "";
  const n = line.length;
  let i = 0;
  while (i < n) {
    const ch = line[i];
    if (ch !== "\\") {
      out += ch;
      i++;
      continue;
    }
    const e = line[i + 1];
    i += 2;
    if (e === undefined) return out; // trailing backslash: line continuation, handled by the caller
    if (e === '"') return out.replace(/[ \t]+$/, "");
    if (e === "#") return out;
    const fixed = FIXED.get(e);
    if (fixed !== undefined) out += fixed;
    else if (e === "(") {
      out += special(line.slice(i, i + 2));
      i += 2;
    } else if (e === "[") {
      const end = line.indexOf("]", i);
      if (end < 0) return out;
      out += special(line.slice(i, end));
      i = end + 1;
    } else if (e === "*") {
      let name: string;
      if (line[i] === "(") {
        name = line.slice(i + 1, i + 3);
        i += 3;
      } else if (line[i] === "[") {
        const end = line.indexOf("]", i);
        name = line.slice(i + 1, end < 0 ? n : end);
        i = end < 0 ? n : end + 1;
      } else {
        name = line[i] ?? "";
        i++;
      }
      out += STRINGS[name] ?? "";
    } else if (NAMED_ARG.has(e)) i = skipNamedArg(line, i, e);
    else if (e === "s") i = skipSize(line, i);
    else if (DELIMITED.has(e)) {
      // Delimited argument: \h'1m', \w'text', \o'..'. \C'name' is a character.
      const delim = line[i];
      const end = line.indexOf(delim, i + 1);
      const arg = line.slice(i + 1, end < 0 ? n : end);
      i = end < 0 ? n : end + 1;
      if (e === "C") out += special(arg);
      else if (e === "N") out += String.fromCodePoint(Number(arg) || 0x3f);
    } else out += e; // unknown escape: keep the character
  }
  return out;
}

/**
 * Escapes that stand for fixed text: `\-` a hyphen, `\e` a backslash, `\~` a space, and the
 * spacing, break and motion escapes (`\&`, `\|`, `\c`, `\d`, …) nothing.
 */
const FIXED = new Map<string, string>([
  ["-", "-"],
  ["_", "_"],
  ["e", "\\"],
  ["\\", "\\"],
  ...[..."&|^%:,/cdurazt{}"].map((c): [string, string] => [c, ""]),
  [" ", " "],
  ["~", " "],
  ["0", " "],
  ["'", "´"],
  ["`", "`"],
  [".", "."],
]);

/** Escapes with a one-character, `(xx` or `[name]` argument and no text (fonts, registers…). */
const NAMED_ARG = new Set([..."fFngkmMVY"]);

/** Escapes with a delimited argument (`\h'1m'`, `\w'text'`); only `\C` and `\N` give text. */
const DELIMITED = new Set([..."hvwlLobxDXNZRABCS"]);

/** Index after the argument of a {@link NAMED_ARG} escape whose argument starts at `i`. */
function skipNamedArg(line: string, i: number, e: string): number {
  if (line[i] === "(") return i + 3;
  if (line[i] === "[") {
    const end = line.indexOf("]", i);
    return end < 0 ? line.length : end + 1;
  }
  if (e === "n" && (line[i] === "+" || line[i] === "-")) i++;
  return i + 1;
}

/** Index after the argument of `\s`: `\s-1 \s+2 \s0 \s(12 \s[12] \s'12'`. */
function skipSize(line: string, i: number): number {
  const n = line.length;
  if (line[i] === "+" || line[i] === "-") i++;
  if (line[i] === "(") return i + 3;
  if (line[i] === "[" || line[i] === "'") {
    const close = line[i] === "[" ? "]" : "'";
    const end = line.indexOf(close, i + 1);
    return end < 0 ? n : end + 1;
  }
  while (i < n && /[0-9]/.test(line[i])) i++;
  return i;
}

/** Splits a macro's argument string into arguments, honouring double quotes. */
export function splitArgs(text: string): string[] {
  const args: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text[i] === " " || text[i] === "\t")) i++;
    if (i >= n) break;
    let arg = "";
    if (text[i] === '"') {
      i++;
      while (i < n) {
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            arg += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (text[i] === "\\" && i + 1 < n) {
          arg += text[i] + text[i + 1];
          i += 2;
          continue;
        }
        arg += text[i++];
      }
    } else {
      while (i < n && text[i] !== " " && text[i] !== "\t") {
        if (text[i] === "\\" && i + 1 < n) {
          arg += text[i] + text[i + 1];
          i += 2;
          continue;
        }
        arg += text[i++];
      }
    }
    args.push(arg);
  }
  return args;
}
