// Unit tests of the corpus tool's pure extraction functions (tools/corpus/*.ts), on inline
// samples only: no test needs the Debian packages, apt or network.
import { decodeEntities, htmlToText } from "../tools/corpus/html.ts";
import { expandEscapes, roffToText, splitArgs } from "../tools/corpus/roff.ts";
import {
  decodeGcideCodes,
  gcideEntryToText,
  groupEntries,
  splitGcideEntries,
} from "../tools/corpus/gcide.ts";
import { cleanAsciidoc, cleanRst, cleanRstInline } from "../tools/corpus/markup.ts";
import {
  formatCorpusDocument,
  hashUnit,
  normalizeText,
  parseCorpusDocuments,
  pickValidation,
  readCorpusDocuments,
  utf8Length,
} from "../tools/corpus/text.ts";
import { corpusHash, parseCorpusArgs, SOURCES } from "../tools/corpus.ts";
import { assert, assertEquals, assertThrowsMessage as assertThrows } from "./_assert.ts";

// ---------------------------------------------------------------- HTML

Deno.test("decodeEntities: named, decimal, hex, nbsp, unknown", () => {
  assertEquals(
    decodeEntities("&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#X43;&nbsp;&#160;&eacute;&Uuml;&ccedil;"),
    "&<>\"'ABC  éÜç",
  );
  assertEquals(decodeEntities("&mdash;&hellip;&rarr;&copy;"), "—…→©");
  assertEquals(decodeEntities("&unknown; & &amp"), "&unknown; & &amp");
  assertEquals(decodeEntities("&#0;&#xD800;&#x110000;"), "\ufffd\ufffd\ufffd");
  // Decoding happens once: &amp;lt; is the text "&lt;", not "<".
  assertEquals(decodeEntities("&amp;lt;"), "&lt;");
});

Deno.test("htmlToText: drops head/script/style/comments, keeps paragraphs", () => {
  const html = `<!DOCTYPE html><html><head><title>Ignored</title>
    <style>body { color: red }</style></head><body>
    <script>var x = "<p>not text</p>";</script>
    <!-- a comment <p>hidden</p> -->
    <h1>Heading</h1>
    <p>First   paragraph
       spans lines.</p>
    <p>Second<br/>line</p>
    <div>Tom &amp; Jerry &lt;3</div></body></html>`;
  assertEquals(
    htmlToText(html),
    "Heading\n\nFirst paragraph spans lines.\n\nSecond\nline\n\nTom & Jerry <3",
  );
});

Deno.test("htmlToText: pre keeps whitespace, lists and tables", () => {
  const html = `<p>Run:</p><pre class="screen">
$ psql  -c 'SELECT 1'
  ?column?
</pre><ul><li><p>alpha <code>beta</code></p></li><li>gamma</li></ul>
<table><tr><th>Name</th><th>Type</th></tr><tr><td>id</td><td>int</td></tr></table>`;
  assertEquals(
    htmlToText(html),
    "Run:\n\n$ psql  -c 'SELECT 1'\n  ?column?\n\n- alpha beta\n\n- gamma\n\nName\tType\n\nid\tint",
  );
});

Deno.test("htmlToText: drops elements by class, nested divs included", () => {
  const html = `<div class="navheader"><div>Prev</div><div>Next</div></div>` +
    `<p>Body</p><div class="navfooter x"><p>Home</p></div><p>After</p>`;
  assertEquals(htmlToText(html, { dropClasses: ["navheader", "navfooter"] }), "Body\n\nAfter");
});

Deno.test("htmlToText: attributes with > and inline tags do not split words", () => {
  assertEquals(htmlToText(`<p title="a > b">x<b>y</b>z <i>w</i></p>`), "xyz w");
});

// ---------------------------------------------------------------- roff

Deno.test("expandEscapes: fonts, dashes, specials, strings, sizes, comments", () => {
  assertEquals(
    expandEscapes(String.raw`\fBbold\fR \fIit\fP \f(CWcw\fP \f[B]b\f[]`),
    "bold it cw b",
  );
  assertEquals(
    expandEscapes(String.raw`a\-b \(em \(en \(bu \(aq\(dq \[lq]q\[rq]`),
    "a-b — – • '\" “q”",
  );
  assertEquals(expandEscapes(String.raw`\*(lqhi\*(rq \*R x\&.y\|z\^w`), "“hi” ® x.yzw");
  assertEquals(expandEscapes(String.raw`\s-1SMALL\s0 \s+2B\s[0]`), "SMALL B");
  assertEquals(expandEscapes(String.raw`\e \\ \[u00E9] \(co \h'1m'x \w'abc'y`), "\\ \\ é © x y");
  assertEquals(expandEscapes(String.raw`text \" a comment`), "text");
  assertEquals(expandEscapes(String.raw`a\ b\~c`), "a b c");
});

Deno.test("splitArgs: quotes and escapes", () => {
  assertEquals(splitArgs(String.raw`"int open(const char *" pathname ", int " flags );`), [
    "int open(const char *",
    "pathname",
    ", int ",
    "flags",
    ");",
  ]);
  assertEquals(splitArgs(String.raw`a\ b "say ""hi""" c`), [String.raw`a\ b`, 'say "hi"', "c"]);
});

Deno.test("roffToText: comments, headings, fill, alternating fonts", () => {
  const page = String.raw`.\" Copyright 2024 Someone
'\" another comment
.TH OPEN 2 2023-02-05 "Linux man-pages 6.03"
.SH NAME
open, creat \- open and possibly create a file
.SH SYNOPSIS
.nf
.B #include <fcntl.h>
.PP
.BI "int open(const char *" pathname ", int " flags );
.fi
.SH DESCRIPTION
The
.BR open ()
system call opens the file specified by
.IR pathname .
If it does not exist, it may be created.
.PP
Second paragraph with \fBbold\fP text.`;
  assertEquals(
    roffToText(page),
    [
      "NAME",
      "",
      "open, creat - open and possibly create a file",
      "",
      "SYNOPSIS",
      "",
      "#include <fcntl.h>",
      "",
      "int open(const char *pathname, int flags);",
      "",
      "DESCRIPTION",
      "",
      "The open() system call opens the file specified by pathname. If it does not exist, it may be created.",
      "",
      "Second paragraph with bold text.",
    ].join("\n"),
  );
});

Deno.test("roffToText: .TP/.TQ tags, .IP bullets, .RS/.RE, .EX", () => {
  const page = String.raw`.SH OPTIONS
.TP
.B \-a
Show all.
.TP
.BR \-l ", " \-\-long
.TQ
.B \-L
Long listing.
.RS
.IP \(bu 3
first item
.IP \(bu
second item
.RE
.PP
Example:
.EX
    $ ls  \-la
.EE
Done.`;
  assertEquals(
    roffToText(page),
    [
      "OPTIONS",
      "",
      "-a",
      "Show all.",
      "",
      "-l, --long",
      "-L",
      "Long listing.",
      "",
      "• first item",
      "",
      "• second item",
      "",
      "Example:",
      "    $ ls  -la",
      "Done.",
    ].join("\n"),
  );
});

Deno.test("roffToText: tables, macro definitions, conditionals, continuation", () => {
  const page = String.raw`.de XX
.B defined
..
.if n \{\
.B hidden
.\}
.TS
allbox;
l l.
Name	Value
_
T{
long cell
T}	2
.TE
A line \
continued.`;
  assertEquals(roffToText(page), "Name\tValue\nlong cell\t2\n\nA line continued.");
});

Deno.test("roffToText: .so redirection pages are empty", () => {
  assertEquals(roffToText(".so man2/open.2\n"), "");
});

// ---------------------------------------------------------------- gcide

const DICT = [
  "00-database-info",
  "   This file was converted from the original database on:",
  "",
  "The original data is available from: ftp://ftp.gnu.org/gnu/gcide",
  "",
  'Abandon \\A*ban"don\\ ([.a]*b[a^]n"d[u^]n), v. t. [imp. & p. p.',
  "   {Abandoned} (-d[u^]nd); p. pr. & vb. n. {Abandoning}.] [OF.",
  "   abandoner.]",
  "   1. To cast or drive out; to banish; to expel; to reject.",
  "      [Obs.]",
  "      [1913 Webster]",
  "",
  "            That he might . . . abandon them from him. --Udall.",
  "      [1913 Webster]",
  "",
  "   2. To give up absolutely.",
  "      [1913 Webster]",
  "",
  "   Syn: To give up; yield.",
  "",
  'Abassi \\A*bas"si\\ ([.a]*b[a^]s"s[i^]), Abassis \\A*bas"sis\\',
  '   ([.a]*b[a^]s"s[i^]s), n. [Ar. & Per. ab[=a]s[imac].]',
  "   A silver coin of Persia.",
  "   [1913 Webster +PJC]",
  "",
  "Caf['e] \\Caf['e]\\, n. [F.] A coffee house; an [ae]sthetic [alpha]-place.",
  "   [Webster 1913 Suppl.]",
  "",
].join("\n");

Deno.test("splitGcideEntries: blank line + column 0 starts an entry; metadata dropped", () => {
  const entries = splitGcideEntries(DICT);
  assertEquals(entries.length, 3);
  assert(entries[0].startsWith("Abandon \\A"));
  assert(entries[1].startsWith("Abassi"));
  assert(entries[2].startsWith("Caf['e]"));
  // An indented line after a blank line stays inside the entry.
  assert(entries[0].includes("That he might"));
});

Deno.test("gcideEntryToText: markup, pronunciations, source tags, codes", () => {
  const [a, b, c] = splitGcideEntries(DICT).map(gcideEntryToText);
  assertEquals(
    a,
    [
      "Abandon, v. t. [imp. & p. p. Abandoned; p. pr. & vb. n. Abandoning.] [OF. abandoner.]",
      "1. To cast or drive out; to banish; to expel; to reject. [Obs.]",
      "",
      "That he might . . . abandon them from him. --Udall.",
      "",
      "2. To give up absolutely.",
      "",
      "Syn: To give up; yield.",
    ].join("\n"),
  );
  assertEquals(b, "Abassi, Abassis, n. [Ar. & Per. abāsī.] A silver coin of Persia.");
  assertEquals(c, "Café, n. [F.] A coffee house; an æsthetic α-place.");
});

Deno.test("decodeGcideCodes: diacritics and symbols; labels untouched", () => {
  assertEquals(
    decodeGcideCodes("['e][`a][\"o][^o][~n][,c][=a][i^][aum][oe][deg][Delta]"),
    "éàöôñçāĭäœ°Δ",
  );
  assertEquals(decodeGcideCodes("[Obs.] [R.] [Colloq.] [2]"), "[Obs.] [R.] [Colloq.] [2]");
});

Deno.test("groupEntries: fixed-size groups of whole entries", () => {
  const entries = Array.from({ length: 450 }, (_, i) => `e${i}`);
  const docs = groupEntries(entries);
  assertEquals(docs.length, 3);
  assertEquals(docs[0].split("\n\n").length, 200);
  assertEquals(docs[2].split("\n\n").length, 50);
  assertEquals(docs[2].split("\n\n")[0], "e400");
});

// ---------------------------------------------------------------- reST / AsciiDoc

Deno.test("cleanRstInline: roles, titles, ~, links, literals", () => {
  assertEquals(
    cleanRstInline(
      ":func:`len`, :meth:`~object.__init__`, :ref:`the tutorial <tut>`, :py:class:`!Foo`",
    ),
    "len, __init__, the tutorial, Foo",
  );
  assertEquals(
    cleanRstInline("see `Python <https://python.org>`_ and ``x = 1``"),
    "see Python and `x = 1`",
  );
});

Deno.test("cleanRst: drops index/toctree/comments/options, labels admonitions", () => {
  const src = [
    ":mod:`json` --- JSON encoder",
    "============================",
    "",
    ".. module:: json",
    "   :synopsis: Encode and decode JSON.",
    "",
    ".. toctree::",
    "   :maxdepth: 2",
    "",
    "   intro.rst",
    "",
    ".. This is a comment",
    "   spanning lines.",
    "",
    "Example::",
    "",
    "    >>> import json",
    "",
    ".. note::",
    "",
    "   Be careful.",
    "",
    ".. versionadded:: 3.9",
    "",
    ".. code-block:: python",
    "",
    "   print(1)",
  ].join("\n");
  assertEquals(
    cleanRst(src),
    [
      "json --- JSON encoder",
      "============================",
      "",
      "Example:",
      "",
      "    >>> import json",
      "",
      "Note:",
      "",
      "   Be careful.",
      "",
      "New in version 3.9.",
      "",
      "   print(1)",
    ].join("\n"),
  );
});

Deno.test("cleanAsciidoc: linkgit, attributes, anchors, includes", () => {
  const src = [
    "git-add(1)",
    "==========",
    "include::includes/foo.txt[]",
    "ifdef::git-asciidoc[]",
    "[[options]]",
    "Use linkgit:git-commit[1] {litdd}amend or see <<options>>.",
    "endif::git-asciidoc[]",
  ].join("\n");
  assertEquals(
    cleanAsciidoc(src),
    "git-add(1)\n==========\nUse git-commit(1) --amend or see options.",
  );
});

// ---------------------------------------------------------------- text, format, split

Deno.test("normalizeText: line endings, controls, blank lines, trailing spaces, NFC", () => {
  assertEquals(normalizeText("\ufeff\n\nA\r\nB\rC \t\n\n\n\nD\x00\x1e\x07 \n\n"), "A\nB\nC\n\nD");
  assertEquals(normalizeText("e\u0301"), "é");
  assertEquals(normalizeText("keep\ttabs\n  and indentation"), "keep\ttabs\n  and indentation");
});

Deno.test("utf8Length matches TextEncoder", () => {
  for (const s of ["", "abc", "é", "—", "😀", "a😀é—z", "\ud800x"]) {
    assertEquals(utf8Length(s), new TextEncoder().encode(s).length, JSON.stringify(s));
  }
});

Deno.test("corpus format: round trip in memory and through a file stream", async () => {
  const docs = [
    { id: "a/1.txt", text: "first\n\nwith blank line" },
    { id: "b/2", text: "second" },
    { id: "c/3", text: "x".repeat(100_000) + "\nend" },
  ];
  const file = docs.map(formatCorpusDocument).join("");
  assertEquals(parseCorpusDocuments(file), docs);
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, file);
    const read = [];
    for await (const d of readCorpusDocuments(path)) read.push(d);
    assertEquals(read, docs);
  } finally {
    await Deno.remove(path);
  }
  assertThrows(() => formatCorpusDocument({ id: "a\nb", text: "x" }), "one line");
  assertThrows(() => formatCorpusDocument({ id: "a", text: "x\x1ey" }), "record separator");
});

Deno.test("hashUnit: fixed values, in [0, 1), salt matters", () => {
  const u = hashUnit("split:1", "git/git-commit.txt");
  assert(u >= 0 && u < 1);
  assertEquals(u, hashUnit("split:1", "git/git-commit.txt"));
  assert(u !== hashUnit("split:2", "git/git-commit.txt"));
  // Pinned: the split must not change between runs, machines or Deno versions.
  // sha256("split:1\0git/git-commit.txt") starts with b4675645f58c.
  assertEquals(u, 0xb4675645f58c / 2 ** 48);
});

Deno.test("pickValidation: deterministic, share-sized, every source represented", () => {
  const ids: string[] = [];
  for (let i = 0; i < 5000; i++) ids.push(`big/${i}`);
  for (let i = 0; i < 5; i++) ids.push(`small/${i}`);
  ids.push("single/only");
  const v1 = pickValidation(ids, 7, 0.02);
  const v2 = pickValidation([...ids].reverse(), 7, 0.02);
  assertEquals([...v1].sort(), [...v2].sort());
  const big = [...v1].filter((id) => id.startsWith("big/")).length;
  assert(big > 60 && big < 140, `big share ${big}`);
  assert([...v1].some((id) => id.startsWith("small/")), "small source represented");
  assert(!v1.has("single/only"), "a one-document source stays in training");
  const other = pickValidation(ids, 8, 0.02);
  assert([...other].sort().join() !== [...v1].sort().join(), "seed changes the split");
  assertEquals(pickValidation(ids, 7, 0).size, 0);
  assertThrows(() => pickValidation(ids, 7, 1), "valid share");
});

Deno.test("corpusHash and CLI parsing", () => {
  assertEquals(corpusHash("a", "b"), corpusHash("a", "b"));
  assert(corpusHash("a", "b") !== corpusHash("b", "a"));
  const o = parseCorpusArgs(["--out", "/tmp/x/", "--sources", "git,man", "--valid-share", "0.05"])!;
  assertEquals(o.out, "/tmp/x");
  assertEquals(o.sources.map((s) => s.name), ["git", "man"]);
  assertEquals(o.validShare, 0.05);
  assertEquals(o.install, true);
  assertEquals(parseCorpusArgs(["--no-install", "--seed", "abc"])!.seed, "abc");
  assertEquals(parseCorpusArgs(["--help"]), null);
  assertThrows(() => parseCorpusArgs(["--sources", "nope"]), "Unknown source");
  assertThrows(() => parseCorpusArgs(["--valid-share", "2"]), "valid-share");
});

Deno.test("source file patterns select what CORPUS.md lists", () => {
  const match = (name: string, p: string) => SOURCES.find((s) => s.name === name)!.files.test(p);
  assert(match("python", "/usr/share/doc/python3.11/html/_sources/library/os.rst.txt"));
  assert(!match("python", "/usr/share/doc/python3.11/html/library/os.html"));
  assert(match("git", "/usr/share/doc/git-doc/git-commit.txt"));
  assert(!match("git", "/usr/share/doc/git-doc/git-commit.html"));
  assert(match("postgresql", "/usr/share/doc/postgresql-doc-15/html/sql-select.html"));
  assert(!match("postgresql", "/usr/share/doc/postgresql-doc-15/html/bookindex.html"));
  assert(match("gcide", "/usr/share/dictd/gcide.dict.dz"));
  assert(match("man", "/usr/share/man/man2/open.2.gz"));
  assert(!match("man", "/usr/share/man/fr/man2/open.2.gz"));
});
