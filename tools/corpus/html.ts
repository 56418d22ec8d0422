/**
 * HTML to plain text for the corpus (the PostgreSQL manual): drops `head`, `script`, `style`
 * and navigation blocks, keeps `pre` verbatim, turns block elements into paragraph breaks and
 * decodes character references (`html_entities.ts`).
 *
 * @module
 */

import { decodeEntities } from "./html_entities.ts";

export { decodeEntities };

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
  const drop: DropRules = {
    classes: new Set(options.dropClasses ?? []),
    ids: new Set(options.dropIds ?? []),
    tags: new Set(options.dropTags ?? []),
  };
  const w = new TextOut();
  // The element being dropped with its content, and how deep in nested ones of its name.
  let dropTag: string | null = null;
  let dropDepth = 0;
  let last = 0;
  TAG.lastIndex = 0;
  for (let m = TAG.exec(html); m; m = TAG.exec(html)) {
    const before = html.slice(last, m.index);
    last = TAG.lastIndex;
    if (dropTag === null && before) w.emitText(before);
    if (m[0].startsWith("<![CDATA[")) {
      if (dropTag === null) w.emitText(m[1]);
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
    if (!closing && !selfClosing && !VOID.has(name) && dropsElement(name, attrs, drop)) {
      dropTag = name;
      dropDepth = 1;
      continue;
    }
    w.tag(name, closing, selfClosing);
  }
  if (dropTag === null) w.emitText(html.slice(last));
  if (w.line.trim() !== "") w.flushLine();
  return w.out.join("\n").replace(/\n{3,}/g, "\n\n").replace(/^\n+|\n+$/g, "");
}

/** What {@link htmlToText} drops besides {@link DROP}: by class, id or element name. */
interface DropRules {
  classes: Set<string>;
  ids: Set<string>;
  tags: Set<string>;
}

/** Whether an opening tag starts an element dropped with its content. */
function dropsElement(name: string, attrs: string, drop: DropRules): boolean {
  const cls = /\bclass\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i.exec(attrs);
  const classes = cls ? (cls[1] ?? cls[2] ?? cls[3]).split(/\s+/) : [];
  const id = drop.ids.size > 0
    ? /(?:^|\s)id\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i.exec(attrs)
    : null;
  return DROP.has(name) || drop.tags.has(name) || classes.some((c) => drop.classes.has(c)) ||
    (id !== null && drop.ids.has(id[1] ?? id[2] ?? id[3]));
}

/** The text being written: finished lines, the current line, breaks and list markers pending. */
class TextOut {
  out: string[] = [];
  /** Current output line (outside pre: whitespace already collapsed). */
  line = "";
  pre = 0;
  /** A newline right after <pre> is not content. */
  skipNewline = false;
  /** List marker waiting for the item's first text. */
  prefix = "";
  /** 0 none, 1 line break, 2 paragraph break. */
  pendingBreak = 0;

  flushLine(): void {
    this.out.push(this.line.replace(/[ \t]+$/, ""));
    this.line = "";
  }

  emitBreak(): void {
    if (this.pendingBreak === 0) return;
    if (this.line.trim() !== "" || this.out.length > 0) {
      this.flushLine();
      if (this.pendingBreak === 2) this.out.push("");
    } else this.line = "";
    this.pendingBreak = 0;
  }

  emitText(raw: string): void {
    let text = decodeEntities(raw);
    if (this.pre > 0) {
      if (this.skipNewline) text = text.replace(/^\r?\n/, "");
      this.skipNewline = false;
      if (text === "") return;
      this.emitBreak();
      if (this.prefix) this.line = this.prefix + this.line;
      this.prefix = "";
      const parts = text.split("\n");
      this.line += parts[0];
      for (let i = 1; i < parts.length; i++) {
        this.flushLine();
        this.line = parts[i];
      }
      return;
    }
    text = text.replace(/[ \t\n\r\f]+/g, " ");
    const line = this.line;
    if (text === "" || (text === " " && (line === "" || line.endsWith(" ")))) return;
    if (this.pendingBreak) {
      text = text.replace(/^ /, "");
      if (text === "") return;
      this.emitBreak();
    }
    if (this.line === "" || this.line.endsWith(" ") || this.line.endsWith("\t")) {
      text = text.replace(/^ /, "");
    }
    if (text === "") return;
    if (this.prefix) this.line = this.prefix + this.line;
    this.prefix = "";
    this.line += text;
  }

  requestBreak(kind: 1 | 2): void {
    if (this.line === "" && this.out.length === 0) return;
    this.pendingBreak = Math.max(this.pendingBreak, kind);
  }

  /** A tag that is kept: breaks, table cells, `pre`, blocks and list items. */
  tag(name: string, closing: boolean, selfClosing: boolean): void {
    if (name === "br") this.requestBreak(1);
    else if (name === "td" || name === "th") {
      if (!closing && this.line !== "" && !this.pendingBreak) {
        this.line = this.line.replace(/ $/, "") + "\t";
      }
    } else if (name === "pre") {
      this.requestBreak(2);
      this.pre = Math.max(0, this.pre + (closing ? -1 : selfClosing ? 0 : 1));
      this.skipNewline = !closing;
    } else if (BLOCK.has(name)) {
      this.requestBreak(2);
      if (name === "li" && !closing) this.prefix = "- ";
    }
  }
}
