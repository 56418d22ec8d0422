/**
 * Builds the training corpus from Debian packages (see `docs/CORPUS.md`).
 *
 * Usage: `deno task corpus [--out DIR] [--sources python,git,postgresql,gcide,man]
 * [--valid-share 0.02] [--seed 1] [--no-install] [--force]`.
 *
 * Installs the packages that are missing (`apt-get update` once, then `apt-get install`),
 * extracts plain UTF-8 text, one document per source file (the dictionary: one per
 * {@linkcode GCIDE_ENTRIES_PER_DOCUMENT} entries), holds out whole documents for validation by a
 * seeded hash, and writes `train.txt`, `valid.txt` and `manifest.json` into the output directory
 * (default `.corpus/`). A second run with the same options and package versions only checks
 * the files and exits.
 *
 * Readers use {@linkcode readCorpusDocuments} and {@linkcode loadCorpusManifest}.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { gunzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { htmlToText } from "./corpus/html.ts";
import { roffToText } from "./corpus/roff.ts";
import {
  GCIDE_ENTRIES_PER_DOCUMENT,
  gcideEntryToText,
  groupEntries,
  splitGcideEntries,
} from "./corpus/gcide.ts";
import { cleanAsciidoc, cleanRst } from "./corpus/markup.ts";
import {
  type CorpusDocument,
  formatCorpusDocument,
  hashUnit,
  MIN_DOCUMENT_BYTES,
  normalizeText,
  pickValidation,
  utf8Length,
} from "./corpus/text.ts";

export {
  type CorpusDocument,
  parseCorpusDocuments,
  readCorpusDocuments,
  RECORD_SEPARATOR,
} from "./corpus/text.ts";
export { GCIDE_ENTRIES_PER_DOCUMENT };

/** Identifies the manifest layout and the document format. */
export const CORPUS_FORMAT = "r3mem-corpus/1";

/**
 * Version of the extraction code. Bump it whenever extraction output changes, so that an
 * existing corpus is rebuilt instead of being reported as up to date.
 */
export const EXTRACTOR_VERSION = 1;

/** Default output directory, relative to the working directory. */
export const DEFAULT_CORPUS_DIR = ".corpus";

/** Default share of documents held out for validation. */
export const DEFAULT_VALID_SHARE = 0.02;

/** Default split seed. */
export const DEFAULT_SEED = 1;

/** One source of text: which packages ship it, which of their files to read, how. */
export interface CorpusSource {
  /** Short name, also the first part of every document id. */
  name: string;
  /** Debian packages that ship the files. */
  packages: string[];
  /** Which of the packages' files (absolute paths from `dpkg -L`) to read. */
  files: RegExp;
  /** Document id (without the `name/` prefix) for a file path. */
  idOf(path: string): string;
  /** Extracts documents from one file's text (already gunzipped if it ended in `.gz`). */
  extract(text: string, id: string): CorpusDocument[];
}

const one = (fn: (text: string) => string) => (text: string, id: string) => [
  { id, text: fn(text) },
];

/** The sources of `/work/shared/CORPUS.md`, in manifest order. */
export const SOURCES: readonly CorpusSource[] = [
  {
    name: "python",
    packages: ["python3.11-doc"],
    files: /^\/usr\/share\/doc\/python3\.11\/html\/_sources\/.+\.txt(?:\.gz)?$/,
    idOf: (p) => p.replace(/^\/usr\/share\/doc\/python3\.11\/html\/_sources\//, ""),
    extract: one(cleanRst),
  },
  {
    name: "git",
    packages: ["git-doc"],
    files: /^\/usr\/share\/doc\/git-doc\/.+\.txt(?:\.gz)?$/,
    idOf: (p) => p.replace(/^\/usr\/share\/doc\/git-doc\//, ""),
    extract: one(cleanAsciidoc),
  },
  {
    name: "postgresql",
    packages: ["postgresql-doc-15"],
    // bookindex.html is the back-of-book index: a list of terms and links, not prose.
    files: /^\/usr\/share\/doc\/postgresql-doc-15\/html\/(?!bookindex\.html)[^/]+\.html(?:\.gz)?$/,
    idOf: (p) => p.replace(/^\/usr\/share\/doc\/postgresql-doc-15\/html\//, ""),
    extract: one((t) => htmlToText(t, { dropClasses: ["navheader", "navfooter", "toc"] })),
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
  },
  {
    name: "man",
    packages: ["manpages", "manpages-dev"],
    files: /^\/usr\/share\/man\/man[^/]+\/[^/]+\.gz$/,
    idOf: (p) => p.replace(/^\/usr\/share\/man\//, ""),
    extract: one(roffToText),
  },
];

/** Sizes and hash of one output file. */
export interface CorpusOutput {
  /** File name, relative to the manifest's directory. */
  path: string;
  bytes: number;
  documents: number;
  /** Hex SHA-256 of the file. */
  sha256: string;
}

/** What `manifest.json` holds. */
export interface CorpusManifest {
  format: string;
  extractor: number;
  seed: string | number;
  validShare: number;
  minDocumentBytes: number;
  gcideEntriesPerDocument: number;
  /** Per source: packages and versions, files read, documents kept, text bytes. */
  sources: {
    name: string;
    packages: { name: string; version: string }[];
    files: number;
    inputBytes: number;
    documents: number;
    validDocuments: number;
    bytes: number;
    droppedShort: number;
  }[];
  outputs: { train: CorpusOutput; valid: CorpusOutput };
  /**
   * Corpus identity: hex SHA-256 of `"r3mem-corpus/1\ntrain <sha256>\nvalid <sha256>\n"`.
   * Equal hashes mean byte-identical train and validation files.
   */
  hash: string;
}

/**
 * The corpus identity hash of two output file hashes (see {@linkcode CorpusManifest.hash}).
 *
 * @example
 * ```ts
 * import { corpusHash } from "./corpus.ts";
 * console.log(corpusHash("a".repeat(64), "b".repeat(64)).length); // 64
 * ```
 */
export function corpusHash(trainSha256: string, validSha256: string): string {
  return createHash("sha256")
    .update(`${CORPUS_FORMAT}\ntrain ${trainSha256}\nvalid ${validSha256}\n`)
    .digest("hex");
}

/**
 * Reads `manifest.json` of a corpus directory, or returns `null` when there is none.
 *
 * @example
 * ```ts
 * import { loadCorpusManifest } from "./corpus.ts";
 * const dir = await Deno.makeTempDir();
 * console.log(await loadCorpusManifest(dir)); // null
 * await Deno.remove(dir);
 * ```
 */
export async function loadCorpusManifest(dir: string): Promise<CorpusManifest | null> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

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

async function run(cmd: string, args: string[], inherit = false): Promise<string> {
  const p = new Deno.Command(cmd, {
    args,
    stdout: inherit ? "inherit" : "piped",
    stderr: inherit ? "inherit" : "piped",
    env: { DEBIAN_FRONTEND: "noninteractive" },
  });
  const r = await p.output();
  if (!r.success) {
    const err = inherit ? "" : new TextDecoder().decode(r.stderr).trim();
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.code})${err ? `: ${err}` : ""}`);
  }
  return inherit ? "" : new TextDecoder().decode(r.stdout);
}

/** Installed version of a package, or `null` when it is not installed. */
async function packageVersion(pkg: string): Promise<string | null> {
  const r = await new Deno.Command("dpkg-query", {
    args: ["-W", "-f=${Status}\t${Version}", pkg],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!r.success) return null;
  const [status, version] = new TextDecoder().decode(r.stdout).split("\t");
  return status === "install ok installed" ? version : null;
}

async function packageVersions(pkgs: string[]): Promise<Map<string, string | null>> {
  const m = new Map<string, string | null>();
  for (const p of pkgs) m.set(p, await packageVersion(p));
  return m;
}

/** Installs missing packages (or fails when installing is not allowed); returns versions. */
async function ensurePackages(pkgs: string[], opts: BuildOptions): Promise<Map<string, string>> {
  let versions = await packageVersions(pkgs);
  const missing = pkgs.filter((p) => versions.get(p) === null);
  if (missing.length > 0) {
    if (!opts.install) {
      throw new Error(
        `Missing Debian packages: ${missing.join(", ")}. Install them with ` +
          `\`apt-get install -y --no-install-recommends ${missing.join(" ")}\` ` +
          `or run \`deno task corpus\` without --no-install.`,
      );
    }
    if (Deno.uid?.() !== 0) {
      throw new Error(
        `Missing Debian packages: ${missing.join(", ")}, and installing them needs root ` +
          `(run as root, or install them first and pass --no-install).`,
      );
    }
    opts.log(`corpus: installing ${missing.join(" ")} (apt-get update, then install)`);
    const t0 = performance.now();
    await run("apt-get", ["update", "-q"], true);
    await run("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], true);
    opts.log(`corpus: installed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    versions = await packageVersions(pkgs);
    const still = pkgs.filter((p) => versions.get(p) === null);
    if (still.length) throw new Error(`apt-get did not install: ${still.join(", ")}`);
  }
  return versions as Map<string, string>;
}

async function packageFiles(pkgs: string[], pattern: RegExp): Promise<string[]> {
  const files = new Set<string>();
  for (const pkg of pkgs) {
    for (const line of (await run("dpkg-query", ["-L", pkg])).split("\n")) {
      if (!pattern.test(line)) continue;
      const st = await Deno.lstat(line).catch(() => null);
      if (st?.isFile) files.add(line); // symlinks (man page aliases) are duplicates
    }
  }
  return [...files].sort();
}

const fmtMB = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** The key that decides whether an existing manifest is still valid. */
function sameSettings(m: CorpusManifest, opts: BuildOptions, versions: Map<string, string>) {
  return m.format === CORPUS_FORMAT && m.extractor === EXTRACTOR_VERSION &&
    String(m.seed) === String(opts.seed) && m.validShare === opts.validShare &&
    m.minDocumentBytes === MIN_DOCUMENT_BYTES &&
    m.gcideEntriesPerDocument === GCIDE_ENTRIES_PER_DOCUMENT &&
    m.sources.map((s) => s.name).join() === opts.sources.map((s) => s.name).join() &&
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
 * Builds (or confirms) the corpus and returns its manifest. Needs the Debian packages, so it
 * is only run by the CLI, never by tests.
 */
export async function buildCorpus(opts: BuildOptions): Promise<CorpusManifest> {
  const t0 = performance.now();
  const pkgs = [...new Set(opts.sources.flatMap((s) => s.packages))];
  const versions = await ensurePackages(pkgs, opts);

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

  const all: CorpusDocument[] = [];
  const stats: CorpusManifest["sources"] = [];
  const strict = new TextDecoder("utf-8", { fatal: true });
  const lenient = new TextDecoder("utf-8");
  for (const src of opts.sources) {
    const ts = performance.now();
    const files = await packageFiles(src.packages, src.files);
    if (files.length === 0) {
      throw new Error(`No files of ${src.packages.join(", ")} match ${src.files}`);
    }
    let inputBytes = 0;
    let dropped = 0;
    let replaced = 0;
    const docs: CorpusDocument[] = [];
    for (const file of files) {
      let bytes: Uint8Array = await Deno.readFile(file);
      if (/\.(gz|dz)$/.test(file)) bytes = gunzipSync(bytes);
      inputBytes += bytes.length;
      let raw: string;
      try {
        raw = strict.decode(bytes);
      } catch {
        raw = lenient.decode(bytes); // invalid bytes become U+FFFD
        replaced++;
      }
      const base = src.idOf(file).replace(/\.gz$/, "");
      for (const d of src.extract(raw, base)) {
        const text = normalizeText(d.text);
        if (utf8Length(text) < MIN_DOCUMENT_BYTES) {
          dropped++;
          continue;
        }
        docs.push({ id: `${src.name}/${d.id}`, text });
      }
    }
    const bytes = docs.reduce((n, d) => n + utf8Length(d.text), 0);
    stats.push({
      name: src.name,
      packages: src.packages.map((p) => ({ name: p, version: versions.get(p)! })),
      files: files.length,
      inputBytes,
      documents: docs.length,
      validDocuments: 0,
      bytes,
      droppedShort: dropped,
    });
    opts.log(
      `corpus: ${src.name.padEnd(10)} ${String(files.length).padStart(5)} files → ` +
        `${String(docs.length).padStart(5)} documents, ${fmtMB(bytes)} of text` +
        (dropped ? ` (${dropped} under ${MIN_DOCUMENT_BYTES} B dropped)` : "") +
        (replaced ? ` (${replaced} files with invalid UTF-8, replaced by U+FFFD)` : "") +
        ` in ${((performance.now() - ts) / 1000).toFixed(1)} s`,
    );
    for (const d of docs) all.push(d);
  }

  const ids = new Set<string>();
  for (const d of all) {
    if (ids.has(d.id)) throw new Error(`Duplicate document id ${d.id}`);
    ids.add(d.id);
  }
  const valid = pickValidation(ids, opts.seed, opts.validShare);
  for (const s of stats) {
    s.validDocuments = [...valid].filter((id) => id.startsWith(`${s.name}/`)).length;
  }
  // A fixed shuffle (by a second seeded hash) interleaves the sources for streaming readers.
  const order = new Map(all.map((d) => [d.id, hashUnit(`order:${opts.seed}`, d.id)]));
  all.sort((a, b) => order.get(a.id)! - order.get(b.id)! || (a.id < b.id ? -1 : 1));

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
  const train = await write("train.txt", all.filter((d) => !valid.has(d.id)));
  const validOut = await write("valid.txt", all.filter((d) => valid.has(d.id)));
  const manifest: CorpusManifest = {
    format: CORPUS_FORMAT,
    extractor: EXTRACTOR_VERSION,
    seed: opts.seed,
    validShare: opts.validShare,
    minDocumentBytes: MIN_DOCUMENT_BYTES,
    gcideEntriesPerDocument: GCIDE_ENTRIES_PER_DOCUMENT,
    sources: stats,
    outputs: { train, valid: validOut },
    hash: corpusHash(train.sha256, validOut.sha256),
  };
  await Deno.writeTextFile(`${opts.out}/manifest.json`, JSON.stringify(manifest, null, 2) + "\n");
  opts.log(
    `corpus: train ${train.documents} documents ${fmtMB(train.bytes)}, valid ` +
      `${validOut.documents} documents ${fmtMB(validOut.bytes)}; hash ${manifest.hash}; ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return manifest;
}

const HELP = `Usage: deno task corpus [options]

Builds the training corpus from Debian packages into DIR/train.txt, DIR/valid.txt and
DIR/manifest.json (see docs/CORPUS.md).

  --out DIR            output directory (default ${DEFAULT_CORPUS_DIR})
  --sources a,b        only these sources: ${SOURCES.map((s) => s.name).join(",")} (default all)
  --valid-share X      share of documents held out for validation (default ${DEFAULT_VALID_SHARE})
  --seed S             split seed (default ${DEFAULT_SEED})
  --no-install         fail instead of installing missing packages
  --force              rebuild even if the manifest is up to date
  -h, --help           this text`;

/** Parses the command line into build options. */
export function parseCorpusArgs(args: string[]): BuildOptions | null {
  const { values } = parseArgs({
    args,
    options: {
      out: { type: "string", default: DEFAULT_CORPUS_DIR },
      sources: { type: "string" },
      "valid-share": { type: "string", default: String(DEFAULT_VALID_SHARE) },
      seed: { type: "string", default: String(DEFAULT_SEED) },
      "no-install": { type: "boolean", default: false },
      force: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return null;
  let sources: CorpusSource[] = [...SOURCES];
  if (values.sources) {
    const names = values.sources.split(",").map((s) => s.trim()).filter(Boolean);
    const unknown = names.filter((n) => !SOURCES.some((s) => s.name === n));
    if (unknown.length) {
      throw new Error(
        `Unknown source ${unknown.join(", ")}; expected some of ${
          SOURCES.map((s) => s.name).join(", ")
        }`,
      );
    }
    sources = SOURCES.filter((s) => names.includes(s.name));
  }
  const validShare = Number(values["valid-share"]);
  if (!(validShare >= 0 && validShare < 1)) {
    throw new Error(`--valid-share must be a number in [0, 1), got ${values["valid-share"]}`);
  }
  const seed = /^\d+$/.test(values.seed) ? Number(values.seed) : values.seed;
  return {
    out: values.out.replace(/\/+$/, "") || ".",
    sources,
    validShare,
    seed,
    install: !values["no-install"],
    force: values.force,
    log: (line) => console.log(line),
  };
}

if (import.meta.main) {
  try {
    const opts = parseCorpusArgs(Deno.args);
    if (!opts) console.log(HELP);
    else await buildCorpus(opts);
  } catch (e) {
    console.error(`corpus: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
