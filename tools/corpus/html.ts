/**
 * HTML to plain text for the corpus (the PostgreSQL manual): drops `head`, `script`, `style`
 * and navigation blocks, keeps `pre` verbatim, turns block elements into paragraph breaks and
 * decodes character references.
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
 * import { decodeEntities } from "./html.ts";
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

/** Elements whose start and end both break the text into a new paragraph. */
const BLOCK = new Set([
  "address",
  "article",
  "aside",
  "blockquote",
  "body",
  "caption",
  "center",
  "dd",
  "details",
  "div",
  "dl",
  "dt",
  "fieldset",
  "figcaption",
  "figure",
  "footer",
  "form",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "header",
  "hr",
  "html",
  "li",
  "main",
  "nav",
  "ol",
  "p",
  "pre",
  "section",
  "summary",
  "table",
  "tbody",
  "tfoot",
  "thead",
  "tr",
  "ul",
]);

/** Elements that never have content or an end tag: dropping one must not wait for `</img>`. */
const VOID = new Set(["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"]);

/** Elements dropped together with everything inside them. */
const DROP = new Set(["head", "script", "style", "noscript", "template", "svg", "object"]);

/** Options of {@linkcode htmlToText}. */
export interface HtmlToTextOptions {
  /** `class` values of elements to drop with their content (for example navigation bars). */
  dropClasses?: readonly string[];
  /** `id` values of elements to drop with their content (for example a sidebar). */
  dropIds?: readonly string[];
  /** Further element names to drop with their content (for example `nav`). */
  dropTags?: readonly string[];
}

const TAG =
  /<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>|<![^>]*>|<\?[\s\S]*?\?>|<(\/?)([A-Za-z][A-Za-z0-9:-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g;

/**
 * Converts an HTML page to plain text. Block elements (`p`, `div`, `h1`…`h6`, `li`, `tr`, …)
 * become blank-line paragraph breaks, `br` a line break, list items start with `- `, table
 * cells are separated by a tab, whitespace outside `pre` collapses to single spaces, `pre` keeps
 * its lines, and `head`, `script`, `style` (and elements with a class in `dropClasses`) vanish.
 *
 * @example
 * ```ts
 * import { htmlToText } from "./html.ts";
 * const html = `<html><head><title>T</title><style>p{}</style></head><body>
 *   <div class="nav">Prev | Next</div>
 *   <h1>Title</h1><p>Some   <b>bold</b>
 *   text &amp; more.</p><pre>  keep
 *     this</pre><ul><li>one</li><li>two</li></ul></body></html>`;
 * console.log(htmlToText(html, { dropClasses: ["nav"] }));
 * // Title
 * //
 * // Some bold text & more.
 * //
 * //   keep
 * //     this
 * //
 * // - one
 * //
 * // - two
 * ```
 */
export function htmlToText(html: string, options: HtmlToTextOptions = {}): string {
  const dropClasses = new Set(options.dropClasses ?? []);
  const dropIds = new Set(options.dropIds ?? []);
  const dropTags = new Set(options.dropTags ?? []);
  const out: string[] = [];
  // Stack of open elements that we track for dropping: [tagName, depth counter].
  let dropTag: string | null = null;
  let dropDepth = 0;
  let pre = 0;
  let skipNewline = false; // a newline right after <pre> is not content
  let prefix = ""; // list marker waiting for the item's first text
  let pendingBreak = 0; // 0 none, 1 line break, 2 paragraph break
  let line = ""; // current output line (outside pre: whitespace already collapsed)

  const flushLine = () => {
    out.push(line.replace(/[ \t]+$/, ""));
    line = "";
  };
  const emitBreak = () => {
    if (pendingBreak === 0) return;
    if (line.trim() !== "" || out.length > 0) {
      flushLine();
      if (pendingBreak === 2) out.push("");
    } else line = "";
    pendingBreak = 0;
  };
  const emitText = (raw: string) => {
    let text = decodeEntities(raw);
    if (pre > 0) {
      if (skipNewline) text = text.replace(/^\r?\n/, "");
      skipNewline = false;
      if (text === "") return;
      emitBreak();
      if (prefix) line = prefix + line;
      prefix = "";
      const parts = text.split("\n");
      line += parts[0];
      for (let i = 1; i < parts.length; i++) {
        flushLine();
        line = parts[i];
      }
      return;
    }
    text = text.replace(/[ \t\n\r\f]+/g, " ");
    if (text === "" || (text === " " && (line === "" || line.endsWith(" ")))) return;
    if (pendingBreak) {
      text = text.replace(/^ /, "");
      if (text === "") return;
      emitBreak();
    }
    if (line === "" || line.endsWith(" ") || line.endsWith("\t")) text = text.replace(/^ /, "");
    if (text === "") return;
    if (prefix) line = prefix + line;
    prefix = "";
    line += text;
  };
  const requestBreak = (kind: 1 | 2) => {
    if (line === "" && out.length === 0) return;
    pendingBreak = Math.max(pendingBreak, kind);
  };

  let last = 0;
  TAG.lastIndex = 0;
  for (let m = TAG.exec(html); m; m = TAG.exec(html)) {
    const before = html.slice(last, m.index);
    last = TAG.lastIndex;
    if (dropTag === null && before) emitText(before);
    if (m[0].startsWith("<![CDATA[")) {
      if (dropTag === null) emitText(m[1]);
      continue;
    }
    const name = m[3]?.toLowerCase();
    if (!name) continue; // comment, doctype, processing instruction
    const closing = m[2] === "/";
    const attrs = m[4] ?? "";
    const selfClosing = /\/\s*$/.test(attrs);
    if (dropTag !== null) {
      if (name === dropTag && !selfClosing) dropDepth += closing ? -1 : 1;
      if (dropDepth === 0) dropTag = null;
      continue;
    }
    if (!closing && !selfClosing && !VOID.has(name)) {
      const cls = /\bclass\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i.exec(attrs);
      const classes = cls ? (cls[1] ?? cls[2] ?? cls[3]).split(/\s+/) : [];
      const id = dropIds.size > 0
        ? /(?:^|\s)id\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i.exec(attrs)
        : null;
      if (
        DROP.has(name) || dropTags.has(name) || classes.some((c) => dropClasses.has(c)) ||
        (id !== null && dropIds.has(id[1] ?? id[2] ?? id[3]))
      ) {
        dropTag = name;
        dropDepth = 1;
        continue;
      }
    }
    if (name === "br") {
      requestBreak(1);
      continue;
    }
    if (name === "td" || name === "th") {
      if (!closing && line !== "" && !pendingBreak) line = line.replace(/ $/, "") + "\t";
      continue;
    }
    if (name === "pre") {
      requestBreak(2);
      pre = Math.max(0, pre + (closing ? -1 : selfClosing ? 0 : 1));
      skipNewline = !closing;
      continue;
    }
    if (BLOCK.has(name)) {
      requestBreak(2);
      if (name === "li" && !closing) prefix = "- ";
    }
  }
  if (dropTag === null) emitText(html.slice(last));
  if (line.trim() !== "") flushLine();
  return out.join("\n").replace(/\n{3,}/g, "\n\n").replace(/^\n+|\n+$/g, "");
}
