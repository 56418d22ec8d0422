/**
 * Strict base64 for `.r3m` bytes in JSON bodies.
 *
 * @module
 */
import { ApiError } from "./errors.ts";

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Encodes bytes as standard base64.
 *
 * @example
 * ```ts
 * import { toBase64 } from "./encoding.ts";
 * console.log(toBase64(new Uint8Array([82, 51, 77]))); // "UjNN"
 * ```
 */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * Decodes standard base64 (padding required; whitespace ignored).
 *
 * @param text The base64 text.
 * @param field Name of the field, for the error message.
 * @throws {ApiError} 400 `bad_input` when `text` is not base64.
 *
 * @example
 * ```ts
 * import { fromBase64 } from "./encoding.ts";
 * console.log(fromBase64("UjNN")); // Uint8Array(3) [ 82, 51, 77 ]
 * ```
 */
export function fromBase64(text: string, field = "memory"): Uint8Array<ArrayBuffer> {
  const clean = text.replace(/\s+/g, "");
  if (!BASE64_RE.test(clean)) {
    throw new ApiError(400, "bad_input", `${field} must be standard base64 (with padding)`);
  }
  const binary = atob(clean);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
