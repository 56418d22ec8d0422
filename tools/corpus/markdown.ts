/**
 * Markdown to plain text, for the Node.js API documentation (`nodejs-doc`,
 * `/usr/share/doc/nodejs/api/*.md.gz`).
 *
 * @module
 */
import { decodeEntities } from "./html.ts";

/**
 * Reduces inline Markdown to its text: links and images keep their text, code spans and
 * emphasis lose their markers, inline HTML tags vanish.
 *
 * @example
 * ```ts
 * import { markdownInline } from "./markdown.ts";
 * console.log(markdownInline("See [`fs.open()`][] and [the **guide**](guide.md#x) &amp; <br>`x`."));
 * // See fs.open() and the guide & x.
 * ```
 */
export function markdownInline(line: string): string {
  // Code spans are set aside first: their content is literal (`Map<K, V>` is not a tag).
  const codes: string[] = [];
  const text = line.replace(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g, (_, _t, code: string) => {
    codes.push(code.trim());
    return `\ue000${codes.length - 1}\ue000`;
  });
  return decodeEntities(
    text
      .replace(/!?\[([^\]]*)\]\([^)\s]*(?:\s+"[^"]*")?\)/g, "$1") // [text](url), ![alt](src)
      .replace(/\[([^\]]+)\]\[[^\]]*\]/g, "$1") // [text][] and [text][ref]
      .replace(/<\/?[A-Za-z][^>]*>/g, "") // inline HTML (<a id="…"></a>, <br>)
      .replace(/(\*\*|__)(?=\S)([^*_]*?\S)\1/g, "$2")
      .replace(/(^|[\s(])[*_](?=[^\s*_])([^*_]*?[^\s*_])[*_](?=$|[\s.,;:!?)])/g, "$1$2"),
  ).replace(/\ue000(\d+)\ue000/g, (_, i) => codes[Number(i)]);
}

/**
 * Converts a Markdown document to plain text: HTML comments and link reference definitions
 * vanish, headings lose their `#`, block quotes their `>`, fenced code keeps its lines without
 * the fences (a fenced `cjs` block right after an `mjs` one is dropped: it repeats the same
 * example in the other module syntax), and inline markup is reduced by {@linkcode markdownInline}.
 *
 * @example
 * ```ts
 * import { markdownToText } from "./markdown.ts";
 * const fence = "`".repeat(3);
 * const md = "# File system\n\n<!--introduced_in=v0.10.0-->\n\n> Stability: 2 - Stable\n\n" +
 *   `Use \`fs\`:\n\n${fence}mjs\nimport fs from 'node:fs';\n${fence}\n\n` +
 *   `${fence}cjs\nconst fs = require('node:fs');\n${fence}\n\n[\`fs\`]: fs.md\n`;
 * console.log(markdownToText(md));
 * // File system
 * //
 * // Stability: 2 - Stable
 * //
 * // Use fs:
 * //
 * // import fs from 'node:fs';
 * ```
 */
export function markdownToText(md: string): string {
  const lines = md.replace(/\r\n?/g, "\n").replace(/<!--[\s\S]*?-->/g, "").split("\n");
  const out: string[] = [];
  let fence: string | null = null; // the open fence's marker
  let dropping = false; // inside a repeated (cjs) example
  let lastFenceLang = "";
  let lastFenceEnd = -2; // index in `out` where the last fenced block ended
  for (const line of lines) {
    const f = /^\s*(`{3,}|~{3,})\s*([\w+-]*)/.exec(line);
    if (fence !== null) {
      if (f && f[1].startsWith(fence) && line.trim() === f[1]) {
        fence = null;
        if (!dropping) lastFenceEnd = out.length;
        dropping = false;
        continue;
      }
      if (!dropping) out.push(line);
      continue;
    }
    if (f) {
      fence = f[1];
      const lang = f[2].toLowerCase();
      // Only blank lines since the previous block ended: this is its other-syntax twin.
      const adjacent = out.slice(lastFenceEnd).every((l) => l.trim() === "");
      dropping = lang === "cjs" && lastFenceLang === "mjs" && adjacent;
      lastFenceLang = lang;
      continue;
    }
    if (/^\s{0,3}\[[^\]]+\]:\s*\S+/.test(line)) continue; // [ref]: url
    let l = line.replace(/^\s{0,3}#{1,6}\s+/, "").replace(/\s+#+\s*$/, "");
    l = l.replace(/^(\s*>)+\s?/, "");
    out.push(markdownInline(l));
  }
  return out.join("\n").replace(/\n{3,}/g, "\n\n").trim();
}
