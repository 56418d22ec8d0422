/**
 * The corpus manifest (`manifest.json`): settings, package versions, per-source statistics
 * (documents, bytes, shares, what deduplication and the caps dropped) and the output files' sizes
 * and hashes.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** Identifies the manifest layout and the document format. */
export const CORPUS_FORMAT = "r3mem-corpus/1";

/**
 * Version of the extraction code. Bump it whenever extraction output changes, so that an
 * existing corpus is rebuilt instead of being reported as up to date.
 * 2: nine more sources, share caps, near-duplicate removal.
 * 3: left out: SQLite's single-page copies and link indexes, perltoc, perluniprops, and the
 *    non-English pages (kernel translations/, perlcn/jp/ko/tw).
 */
export const EXTRACTOR_VERSION = 3;

/** Sizes and hash of one output file. */
export interface CorpusOutput {
  /** File name, relative to the manifest's directory. */
  path: string;
  bytes: number;
  documents: number;
  /** Hex SHA-256 of the file. */
  sha256: string;
}

/** A package a source was read from. */
export interface SourcePackage {
  /** Debian package name, or `npm:` and the npm package name. */
  name: string;
  version: string;
  /** Hex SHA-256 of the npm tarball (npm packages only). */
  sha256?: string;
}

/** What one source contributed, and what was dropped on the way. */
export interface SourceStats {
  name: string;
  packages: SourcePackage[];
  /** Files read. */
  files: number;
  /** Their (decompressed) size. */
  inputBytes: number;
  /** Documents extracted and at least `minDocumentBytes` long, before dedup and the cap. */
  extractedDocuments: number;
  /** UTF-8 bytes of those documents. */
  extractedBytes: number;
  /** Documents under `minDocumentBytes`. */
  droppedShort: number;
  /** Documents dropped as exact or near-duplicates of an earlier document, and their bytes. */
  duplicates: { exact: number; near: number; bytes: number };
  /** The source's share cap. */
  maxShare: number;
  /** Documents (and their bytes) the cap left out. */
  capped: { documents: number; bytes: number };
  /** Kept documents, train and validation together. */
  documents: number;
  validDocuments: number;
  /** UTF-8 bytes of the kept documents' text. */
  bytes: number;
  /** `bytes` over the kept bytes of all sources. */
  share: number;
}

/** What `manifest.json` holds. */
export interface CorpusManifest {
  format: string;
  extractor: number;
  seed: string | number;
  validShare: number;
  minDocumentBytes: number;
  gcideEntriesPerDocument: number;
  wordnetSynsetsPerDocument: number;
  /** Estimated Jaccard similarity (word 5-gram shingles) at which a document is a duplicate. */
  nearDuplicateJaccard: number;
  /** Per source: packages and versions, files read, documents kept, text bytes, drops. */
  sources: SourceStats[];
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
 * import { corpusHash } from "./manifest.ts";
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
 * import { loadCorpusManifest } from "./manifest.ts";
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
