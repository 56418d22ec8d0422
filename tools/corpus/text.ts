/**
 * Plain-text helpers of the corpus tool: normalisation, the on-disk document format, and the
 * seeded train/validation split. Everything here is pure (no file system, no packages).
 *
 * ## Document format
 *
 * `train.txt` and `valid.txt` are UTF-8 files holding a sequence of documents. Each document is a
 * header line made of the record separator `\x1e` (U+001E) followed by the document id, then the
 * document's text, then a newline:
 *
 * ```text
 * \x1epython/library/os.rst.txt
 * :mod:`os` --- Miscellaneous operating system interfaces
 * ...
 * \x1egit/git-commit.txt
 * ...
 * ```
 *
 * Normalised text never contains control characters other than `\n` and `\t`, so a line that
 * starts with `\x1e` is always a header, and the text never ends with a newline (the writer adds
 * exactly one).
 *
 * @module
 */
import { createHash } from "node:crypto";

/** The record separator that starts every document header line. */
export const RECORD_SEPARATOR = "\x1e";

/** Documents whose normalised UTF-8 text is shorter than this many bytes are dropped. */
export const MIN_DOCUMENT_BYTES = 200;

/** One document of the corpus. */
export interface CorpusDocument {
  /** Stable id, `source/relative-path` (for example `git/git-commit.txt`); never contains `\n`. */
  id: string;
  /** Normalised plain text (see {@linkcode normalizeText}). */
  text: string;
}

// C0 controls except \t and \n, DEL, and the C1 block; plus BOM / zero-width no-break space.
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]/g;

/**
 * Normalises extracted text: NFC, `\n` line endings, no control characters except tab, no
 * trailing whitespace on lines, at most one blank line in a row, and no leading or trailing blank
 * lines.
 *
 * @example
 * ```ts
 * import { normalizeText } from "./text.ts";
 * console.log(JSON.stringify(normalizeText("\r\n\r\nHello  \r\n\n\n\n\nworld\x07\n")));
 * // "Hello\n\nworld"
 * ```
 */
export function normalizeText(text: string): string {
  return text
    // deno-lint-ignore no-control-regex
    .replace(/\r\n?|[\u2028\u2029\x0b\x0c]/g, "\n")
    .replace(CONTROL, "")
    .normalize("NFC")
    .replace(/[ \t\u00a0]+$/gm, "")
    .replace(/\n{3,}/g, "\n\n")
    .replace(/^\n+/, "")
    .replace(/\n+$/, "");
}

/** UTF-8 byte length of a string, without allocating an encoded copy. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Serialises one document in the corpus format: header line, text, newline.
 *
 * @example
 * ```ts
 * import { formatCorpusDocument } from "./text.ts";
 * console.log(JSON.stringify(formatCorpusDocument({ id: "a/b.txt", text: "Hi\nthere" })));
 * // "\u001ea/b.txt\nHi\nthere\n"
 * ```
 */
export function formatCorpusDocument(doc: CorpusDocument): string {
  if (doc.id.includes("\n") || doc.id.includes(RECORD_SEPARATOR)) {
    throw new Error(`Document id must be one line: ${doc.id}`);
  }
  if (doc.text.includes(RECORD_SEPARATOR)) {
    throw new Error(`Document ${doc.id} contains a record separator`);
  }
  return `${RECORD_SEPARATOR}${doc.id}\n${doc.text}\n`;
}

/**
 * Incremental parser of the corpus format: feed it lines (without their `\n`), collect the
 * documents it completes, and call `end()` for the last one.
 */
export class CorpusLineParser {
  #id: string | null = null;
  #lines: string[] = [];

  /** Feeds one line; returns the document that this line completed, if any. */
  push(line: string): CorpusDocument | undefined {
    if (line.startsWith(RECORD_SEPARATOR)) {
      const done = this.end();
      this.#id = line.slice(1);
      return done;
    }
    if (this.#id === null) {
      if (line === "") return undefined; // tolerate a leading empty line
      throw new Error("Corpus file does not start with a \\x1e header line");
    }
    this.#lines.push(line);
    return undefined;
  }

  /** Finishes the current document (if one is open) and returns it. */
  end(): CorpusDocument | undefined {
    if (this.#id === null) return undefined;
    const doc = { id: this.#id, text: this.#lines.join("\n") };
    this.#id = null;
    this.#lines = [];
    return doc;
  }
}

/**
 * Parses a whole corpus file held in memory.
 *
 * @example
 * ```ts
 * import { formatCorpusDocument, parseCorpusDocuments } from "./text.ts";
 * const file = formatCorpusDocument({ id: "x/1", text: "one\n\ntwo" }) +
 *   formatCorpusDocument({ id: "x/2", text: "three" });
 * console.log(parseCorpusDocuments(file).map((d) => d.id)); // [ "x/1", "x/2" ]
 * ```
 */
export function parseCorpusDocuments(content: string): CorpusDocument[] {
  const parser = new CorpusLineParser();
  const docs: CorpusDocument[] = [];
  const lines = content.split("\n");
  if (lines.at(-1) === "") lines.pop(); // the final newline ends the last document
  for (const line of lines) {
    const d = parser.push(line);
    if (d) docs.push(d);
  }
  const last = parser.end();
  if (last) docs.push(last);
  return docs;
}

/**
 * Streams the documents of a corpus file (`train.txt`, `valid.txt`) without loading it whole.
 *
 * @example
 * ```ts
 * import { formatCorpusDocument, readCorpusDocuments } from "./text.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, formatCorpusDocument({ id: "t/1", text: "Hello" }));
 * for await (const doc of readCorpusDocuments(path)) console.log(doc.id, doc.text); // t/1 Hello
 * await Deno.remove(path);
 * ```
 */
export async function* readCorpusDocuments(
  path: string | URL,
): AsyncGenerator<CorpusDocument> {
  const file = await Deno.open(path, { read: true });
  const parser = new CorpusLineParser();
  let rest = "";
  try {
    for await (const chunk of file.readable.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        const d = parser.push(line);
        if (d) yield d;
      }
    }
    if (rest !== "") {
      const d = parser.push(rest);
      if (d) yield d;
    }
    const last = parser.end();
    if (last) yield last;
  } finally {
    try {
      file.close();
    } catch { /* already closed by the stream */ }
  }
}

/** Hex SHA-256 of a string's UTF-8 bytes or of raw bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * A number in [0, 1) derived from `sha256(salt + "\0" + id)`: the same on every machine, so it
 * can place documents into the validation split or order them.
 *
 * @example
 * ```ts
 * import { hashUnit } from "./text.ts";
 * const a = hashUnit("split:1", "git/git-commit.txt");
 * console.log(a >= 0 && a < 1, a === hashUnit("split:1", "git/git-commit.txt")); // true true
 * ```
 */
export function hashUnit(salt: string, id: string): number {
  const h = createHash("sha256").update(`${salt}\0${id}`).digest();
  // 48 bits are plenty and stay exact in a double.
  return (h.readUIntBE(0, 6)) / 2 ** 48;
}

/**
 * Picks the validation documents: those whose `hashUnit("split:" + seed, id)` is below `share`,
 * plus, for every source (the id's part before the first `/`) with at least two documents and
 * none picked, the one with the smallest hash, so each source is represented. Depends only on
 * the seed, the share and the ids, never on their order.
 *
 * @example
 * ```ts
 * import { pickValidation } from "./text.ts";
 * const ids = Array.from({ length: 300 }, (_, i) => `src${i % 3}/doc${i}`);
 * const valid = pickValidation(ids, 1, 0.02);
 * console.log(valid.size > 0, valid.size < 30); // true true
 * console.log([...pickValidation(ids.toReversed(), 1, 0.02)].sort().join() ===
 *   [...valid].sort().join()); // true
 * ```
 */
export function pickValidation(ids: Iterable<string>, seed: string | number, share: number) {
  if (!(share >= 0 && share < 1)) throw new RangeError(`valid share must be in [0, 1): ${share}`);
  const salt = `split:${seed}`;
  const best = new Map<string, { id: string; u: number; count: number; picked: boolean }>();
  const valid = new Set<string>();
  for (const id of ids) {
    const u = hashUnit(salt, id);
    const source = id.split("/", 1)[0];
    if (u < share) valid.add(id);
    const b = best.get(source);
    if (!b) best.set(source, { id, u, count: 1, picked: u < share });
    else {
      b.count++;
      b.picked ||= u < share;
      if (u < b.u || (u === b.u && id < b.id)) {
        b.id = id;
        b.u = u;
      }
    }
  }
  if (share > 0) {
    for (const b of best.values()) if (!b.picked && b.count >= 2) valid.add(b.id);
  }
  return valid;
}
