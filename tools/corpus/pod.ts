/**
 * Perl's POD (Plain Old Documentation) to plain text, for the `perl-doc` source
 * (`/usr/share/perl/5.36.0/pod/*.pod`): headings, filled paragraphs, verbatim blocks kept as they
 * are, `=item` lists, and the inline formatting codes (`B<>`, `C<< >>`, `L<>`, `E<>` …) reduced to
 * their text. Written here instead of shelling out to `pod2text`, so the output does not depend on
 * which Pod::Text version a machine has.
 *
 * @module
 */
import { decodeEntities } from "./html.ts";

/** `E<…>` names that are not HTML entity names. */
const POD_ESCAPES: Record<string, string> = { verbar: "|", sol: "/", lchevron: "«", rchevron: "»" };

function podEscape(name: string): string {
  if (name in POD_ESCAPES) return POD_ESCAPES[name];
  let cp = NaN;
  if (/^0x[0-9a-f]+$/i.test(name)) cp = parseInt(name.slice(2), 16);
  else if (/^0[0-7]+$/.test(name)) cp = parseInt(name, 8);
  else if (/^\d+$/.test(name)) cp = parseInt(name, 10);
  if (!Number.isNaN(cp)) return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : "\ufffd";
  const decoded = decodeEntities(`&${name};`);
  return decoded === `&${name};` ? name : decoded;
}

/** The text an `L<…>` link shows: its `text|` part, else `"sec" in name`, else the target. */
function linkText(inner: string): string {
  const bar = inner.indexOf("|");
  if (bar >= 0) return inner.slice(0, bar);
  if (/^[a-z][a-z0-9+.-]*:\S/i.test(inner)) return inner; // a URL
  const m = /^([^/]*)\/"?([^"]*)"?$/.exec(inner);
  if (m) return m[1] ? `"${m[2]}" in ${m[1]}` : m[2];
  return inner;
}

/**
 * Parses formatting codes from `pos` until `closer` (a number of `>` after whitespace for
 * `C<< … >>`, one `>` for `C<…>`, or none at the top level). Returns the text and the position
 * after the closer.
 */
function parseCodes(s: string, pos: number, closer: number): [string, number] {
  let out = "";
  let i = pos;
  while (i < s.length) {
    const c = s[i];
    if (closer === 1 && c === ">") return [out, i + 1];
    if (closer > 1 && /\s/.test(c)) {
      const m = /^\s+(>+)/.exec(s.slice(i, i + closer + 64));
      if (m && m[1].length >= closer) return [out, i + m[0].length - (m[1].length - closer)];
    }
    const code = /^([A-Z])(<+)/.exec(s.slice(i, i + 40));
    if (code) {
      let n = code[2].length;
      let start = i + code[0].length;
      if (n > 1) {
        // `C<<` opens a multi-bracket code only when whitespace follows; else it is C< + "<".
        if (/\s/.test(s[start] ?? "")) start++;
        else {
          n = 1;
          start = i + 2;
        }
      }
      const [inner, end] = parseCodes(s, start, n);
      i = end;
      switch (code[1]) {
        case "E":
          out += podEscape(inner.trim());
          break;
        case "L":
          out += linkText(inner);
          break;
        case "X":
        case "Z":
          break; // index entries and zero-width markers are not text
        default:
          out += inner; // B, I, C, F, S and unknown codes: keep the text, drop the styling
      }
      continue;
    }
    out += c;
    i++;
  }
  return [out, i];
}

/**
 * Reduces POD inline formatting codes to plain text.
 *
 * @example
 * ```ts
 * import { podInline } from "./pod.ts";
 * console.log(podInline("Use B<bold>, C<< $a <=> $b >>, E<lt>tagE<gt> and L<perlop/\"Sorting\">."));
 * // Use bold, $a <=> $b, <tag> and "Sorting" in perlop.
 * ```
 */
export function podInline(text: string): string {
  return parseCodes(text, 0, 0)[0];
}

/**
 * Converts a POD document to plain text. Ordinary paragraphs are joined into one line each,
 * verbatim paragraphs (indented) keep their lines, `=headN` become heading paragraphs, `=item *`
 * items start with `- ` (numbered items with their number, other items are a line of their own),
 * and `=begin`/`=for` blocks for other formatters, `=cut` sections (code) and index codes vanish.
 *
 * @example
 * ```ts
 * import { podToText } from "./pod.ts";
 * const pod = [
 *   "=head1 NAME", "", "perlfoo - the I<foo> manual", "", "=over 4", "", "=item *", "",
 *   "First", "point.", "", "=back", "", "    my $x = 1;", "    print $x;", "", "=cut", "", "code",
 * ].join("\n");
 * console.log(podToText(pod));
 * // NAME
 * //
 * // perlfoo - the foo manual
 * //
 * // - First point.
 * //
 * //     my $x = 1;
 * //     print $x;
 * ```
 */
export function podToText(pod: string): string {
  const paragraphs = pod.replace(/\r\n?/g, "\n").split(/\n[ \t]*\n/);
  const out: string[] = [];
  let inPod = !/^=/m.test(pod); // a file without commands is plain pod text
  let skipUntil: string | null = null; // `=end X` that closes a skipped `=begin X`
  let prefix = "";
  for (const raw of paragraphs) {
    const para = raw.replace(/^\n+|\n+$/g, "");
    if (para === "") continue;
    const cmd = /^=([a-zA-Z]\w*)\s*([\s\S]*)$/.exec(para);
    if (cmd) {
      const [, name, arg] = cmd;
      if (skipUntil !== null) {
        if (name === "end" && arg.trim() === skipUntil) skipUntil = null;
        continue;
      }
      inPod = name !== "cut";
      if (name.startsWith("head")) {
        prefix = "";
        out.push(podInline(arg.replace(/\s+/g, " ").trim()));
      } else if (name === "item") {
        const label = arg.replace(/\s+/g, " ").trim();
        if (label === "*" || label === "" || label === "o") prefix = "- ";
        else if (/^\d+\.?$/.test(label)) prefix = `${label.replace(/\.$/, "")}. `;
        else {
          prefix = "";
          out.push(podInline(label));
        }
      } else if (name === "begin") {
        const fmt = arg.trim().split(/\s+/)[0];
        if (fmt !== "text") skipUntil = arg.trim();
      } else if (name === "for") {
        const m = /^(\S+)\s*([\s\S]*)$/.exec(arg);
        if (m && m[1] === "text" && m[2].trim()) out.push(m[2].trim());
      }
      // =pod, =over, =back, =encoding, =end text: no text of their own
      continue;
    }
    if (!inPod || skipUntil !== null) continue;
    if (/^[ \t]/.test(para)) {
      // Verbatim: keep lines and indentation (tabs expanded so they line up as in a terminal).
      out.push(para.replace(/\t/g, "        "));
      continue;
    }
    const text = podInline(para.replace(/\s*\n\s*/g, " ").trim());
    out.push(prefix + text);
    prefix = "";
  }
  return out.filter((p) => p.trim() !== "").join("\n\n");
}
