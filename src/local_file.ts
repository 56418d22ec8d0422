/**
 * Reading the library's own files (the default model, the kernels) wherever the module runs.
 * They are found with `new URL(…, import.meta.url)`: an `http(s):` URL where the module is served
 * (JSR, any web server) is fetched; a `file:` URL is read with `Deno.readFile` in Deno and with
 * `node:fs` in Node.js and Bun, whose `fetch` does not read files.
 *
 * @module
 */

/**
 * Reads a `file:` URL, in Deno or in Node.js.
 *
 * @param url A `file:` URL.
 * @returns The file's bytes.
 * @throws {Error} The runtime's own error when the file cannot be read (`Deno.errors.NotFound`,
 *   or Node's `ENOENT`).
 *
 * @example
 * ```ts
 * import { readLocalFile } from "./local_file.ts";
 * const bytes = await readLocalFile(new URL("../deno.json", import.meta.url));
 * console.log(bytes[0] === "{".charCodeAt(0)); // true
 * ```
 */
export async function readLocalFile(url: URL): Promise<Uint8Array> {
  const deno = (globalThis as { Deno?: { readFile(u: URL): Promise<Uint8Array> } }).Deno;
  if (deno) return await deno.readFile(url);
  const fs: { readFile(u: URL): Promise<Uint8Array> } = await import("node:fs/promises");
  const buf = await fs.readFile(url);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Reads a URL's bytes: `file:` from the local disk, anything else with `fetch`.
 *
 * @param url Where the bytes are.
 * @returns The bytes.
 * @throws {Error} If the file cannot be read or the server does not answer 2xx
 *   (`HTTP 404 Not Found`).
 *
 * @example
 * ```ts
 * import { readUrl } from "./local_file.ts";
 * const bytes = await readUrl(new URL("../deno.json", import.meta.url));
 * console.log(bytes.length > 0); // true
 * ```
 */
export async function readUrl(url: URL): Promise<Uint8Array> {
  if (url.protocol === "file:") return await readLocalFile(url);
  const res = await fetch(url);
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status} ${res.statusText}`);
  }
  return new Uint8Array(await res.arrayBuffer());
}
