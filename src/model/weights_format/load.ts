/**
 * Loading a weights file from wherever it is: a URL (`http:`, `https:`, `file:`), a URL
 * string, or bytes already in memory.
 *
 * @module
 */
import { InputError } from "../../errors.ts";
import { readUrl } from "../../local_file.ts";
import { readWeights } from "./read.ts";
import type { WeightsFile } from "./types.ts";

/**
 * Loads and verifies a weights file from a URL (`http:`, `https:`, `file:`; in Deno `file:`
 * URLs are read from the disk in Deno and Node.js), a URL string, or bytes already in memory.
 *
 * @param source Where the file is.
 * @returns The verified file, as {@link readWeights} returns it.
 * @throws {InputError} If the source cannot be read (bad URL, HTTP error, missing file).
 * @throws {FormatError} If the bytes are not an intact weights file.
 *
 * @example From a file URL
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { loadWeightsFrom, writeWeights } from "../weights_format.ts";
 * const path = await Deno.makeTempFile({ suffix: ".r3mw" });
 * await Deno.writeFile(path, await writeWeights({ config: { v: 1 }, tokenizer: new Uint8Array(1), tensors: [] }));
 * const file = await loadWeightsFrom(new URL(`file://${path}`));
 * deepStrictEqual(file.config, { v: 1 });
 * await Deno.remove(path);
 * ```
 */
export async function loadWeightsFrom(
  source: URL | string | Uint8Array | ArrayBuffer,
): Promise<WeightsFile> {
  if (source instanceof Uint8Array) return await readWeights(source);
  if (source instanceof ArrayBuffer) return await readWeights(new Uint8Array(source));
  let url: URL;
  if (source instanceof URL) url = source;
  else if (typeof source === "string") {
    try {
      url = new URL(source);
    } catch (e) {
      throw new InputError(`Not an absolute URL: ${JSON.stringify(source)}`, { cause: e });
    }
  } else {
    throw new InputError(
      `Expected a URL, URL string, Uint8Array or ArrayBuffer, got ${typeof source}`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await readUrl(url);
  } catch (e) {
    throw new InputError(
      `Could not load model weights from ${url.href}: ${e instanceof Error ? e.message : e}`,
      { cause: e },
    );
  }
  return await readWeights(bytes);
}
