/**
 * Light clean-up of lightweight markup for the corpus: reStructuredText (the Python docs) and
 * AsciiDoc (the git manuals). The text stays close to its source; only markup that never shows
 * in the rendered page (index entries, labels, role names, include lines) goes.
 *
 * @module
 */

/** Directives dropped together with their indented body. */
const RST_DROP = new Set([
  "index",
  "toctree",
  "highlight",
  "sectionauthor",
  "moduleauthor",
  "tabularcolumns",
  "include",
  "literalinclude",
  "image",
  "figure",
  "raw",
  "audit-event",
  "currentmodule",
  "testsetup",
  "testcleanup",
  "contents",
  "program",
  "only",
  "module",
]);

/** Directives whose heading line is dropped but whose body stays. */
const RST_BODY_ONLY = new Set([
  "code-block",
  "sourcecode",
  "code",
  "doctest",
  "testcode",
  "testoutput",
  "productionlist",
  "parsed-literal",
  "list-table",
  "csv-table",
  "table",
  "impl-detail",
  "rubric",
  "topic",
  "sidebar",
  "container",
  "availability",
]);

/** Admonitions rendered as a label, as Sphinx does. */
const RST_LABELS: Record<string, (arg: string) => string> = {
  note: () => "Note:",
  warning: () => "Warning:",
  caution: () => "Caution:",
  important: () => "Important:",
  tip: () => "Tip:",
  hint: () => "Hint:",
  attention: () => "Attention:",
  danger: () => "Danger:",
  error: () => "Error:",
  admonition: (a) => a ? `${a}:` : "",
  seealso: (a) => a ? `See also: ${a}` : "See also:",
  versionadded: (a) => `New in version ${a}.`,
  versionchanged: (a) => `Changed in version ${a}:`,
  deprecated: (a) => `Deprecated since version ${a}:`,
  "deprecated-removed": (a) => {
    const [d, r] = a.split(/\s+/);
    return r
      ? `Deprecated since version ${d}, will be removed in version ${r}:`
      : `Deprecated since version ${d}:`;
  },
};

function role(inner: string): string {
  const titled = /^([\s\S]*?)\s*<[^<>]*>$/.exec(inner);
  if (titled && titled[1] !== "") return titled[1];
  let t = inner.replace(/^!/, "");
  if (t.startsWith("~")) t = t.slice(1).split(".").at(-1)!;
  return t;
}

/** Cleans inline reST markup in one line (roles, hyperlinks, double-backquote literals). */
export function cleanRstInline(line: string): string {
  return line
    .replace(/(?::[A-Za-z][\w+.-]*)+:`((?:[^`\\]|\\.)+)`/g, (_, inner) => role(inner))
    .replace(/`([^`<]+?)\s*<[^`>]+>`__?/g, "$1")
    .replace(/`([^`]+)`__?(?=\W|$)/g, "$1")
    .replace(/``(\S(?:[^`]*?\S)?)``/g, "`$1`");
}

/**
 * Lightly cleans reStructuredText: drops index entries, labels, comments and meta directives
 * (`toctree`, `highlight`, `sectionauthor`, …), shows object directives as their signature
 * (`.. function:: open(file)` → `open(file)`), admonitions as Sphinx labels (`Note:`,
 * `New in version 3.2.`), removes role markup (`:func:\`len\`` → `len`), link targets and
 * directive options, and turns a paragraph-ending `::` into `:`.
 *
 * @example
 * ```ts
 * import { cleanRst } from "./markup.ts";
 * const src = [
 *   ".. _os-path:",
 *   "",
 *   ".. index:: single: path; operations",
 *   "",
 *   ".. function:: abspath(path)",
 *   "",
 *   "   Return :func:`normpath` of *path*, see :ref:`the docs <os-path>`::",
 *   "",
 *   "      >>> abspath('.')",
 *   "",
 *   "   .. versionchanged:: 3.6",
 *   "      Accepts a :term:`path-like object`.",
 * ].join("\n");
 * console.log(cleanRst(src));
 * // abspath(path)
 * //
 * //    Return normpath of *path*, see the docs:
 * //
 * //       >>> abspath('.')
 * //
 * //    Changed in version 3.6:
 * //       Accepts a path-like object.
 * ```
 */
export function cleanRst(source: string): string {
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  const out: string[] = [];
  const indentOf = (l: string) => l.length - l.trimStart().length;
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k];
    const m = /^(\s*)\.\.(?:\s+(.*))?$/.exec(line);
    if (m) {
      const indent = m[1].length;
      const rest = m[2] ?? "";
      const d = /^([A-Za-z][\w:-]*)::\s*(.*)$/.exec(rest);
      const name = d ? d[1].replace(/^(?:py|c|cpp|js|std|rst):/, "") : "";
      const arg = d ? d[2].trim() : "";
      // Body: following lines that are blank or indented deeper than the marker.
      let end = k + 1;
      while (
        end < lines.length && (lines[end].trim() === "" || indentOf(lines[end]) > indent)
      ) end++;
      while (end > k + 1 && lines[end - 1].trim() === "") end--;
      const dropAll = !d || RST_DROP.has(name);
      if (dropAll && !/^\[[^\]]+\]\s/.test(rest) && !/^\|[^|]+\|\s/.test(rest)) {
        // Comment, link target, or a dropped directive: skip the whole block.
        k = end - 1;
        continue;
      }
      if (!d) {
        out.push(line.replace(/^(\s*)\.\.\s+/, "$1"));
        continue;
      }
      // Skip directive options (":maxdepth: 2") right after the marker.
      let j = k + 1;
      while (j < end && /^\s+:[\w -]+:(?:\s.*)?$/.test(lines[j])) j++;
      const pad = m[1];
      let head = "";
      if (name in RST_LABELS) head = RST_LABELS[name](cleanRstInline(arg));
      else if (!RST_BODY_ONLY.has(name)) head = cleanRstInline(arg);
      if (head !== "") out.push(pad + head);
      k = j - 1;
      continue;
    }
    // Section underlines and transitions stay; a lone "::" vanishes, a trailing "::" is ":".
    let l = cleanRstInline(line);
    if (/^\s*::\s*$/.test(l)) l = "";
    else l = l.replace(/(\S)\s*::\s*$/, (_, c) => (c === ":" ? c : c + ":"));
    out.push(l);
  }
  return out.join("\n").replace(/[ \t]+$/gm, "").replace(/\n{3,}/g, "\n\n").trim();
}

/**
 * Lightly cleans AsciiDoc (the git manuals): `linkgit:git-add[1]` → `git-add(1)`, attribute
 * references like `{litdd}` → `--`, cross references `<<anchor,text>>` → `text`, and drops
 * `include::`, `ifdef::`/`endif::` and `[[anchor]]` lines.
 *
 * @example
 * ```ts
 * import { cleanAsciidoc } from "./markup.ts";
 * const src = "include::includes/cmd-config-section-all.txt[]\n[[opts]]\n" +
 *   "See linkgit:git-commit[1] and {litdd}amend, or <<opts,the options>>.";
 * console.log(cleanAsciidoc(src)); // See git-commit(1) and --amend, or the options.
 * ```
 */
export function cleanAsciidoc(source: string): string {
  const attrs: Record<string, string> = {
    litdd: "--",
    caret: "^",
    tilde: "~",
    startsb: "[",
    endsb: "]",
    vbar: "|",
    asterisk: "*",
    plus: "+",
    apostrophe: "'",
    backtick: "`",
    "sp": " ",
    "nbsp": " ",
    "empty": "",
    "amp": "&",
    "lt": "<",
    "gt": ">",
  };
  return source.replace(/\r\n?/g, "\n").split("\n")
    .filter((l) =>
      !/^(?:include|ifdef|ifndef|ifeval|endif)::.*\[.*\]\s*$/.test(l) &&
      !/^\[\[[^\]]+\]\]\s*$/.test(l)
    )
    .map((l) =>
      l.replace(/linkgit:([\w.-]+)\[(\w+)\]/g, "$1($2)")
        .replace(/\{(\w+)\}/g, (all, name) => name in attrs ? attrs[name] : all)
        .replace(/<<[^,>]+,\s*([^>]+)>>/g, "$1")
        .replace(/<<([^,>]+)>>/g, "$1")
    )
    .join("\n").replace(/[ \t]+$/gm, "").replace(/\n{3,}/g, "\n\n").trim();
}
