/**
 * Typed errors of the library. The server maps `code` to an HTTP status; nothing else in the
 * library knows about HTTP.
 *
 * @module
 */

/** What went wrong, as a stable machine-readable code. */
export type R3MemErrorCode =
  | "bad_input" // the caller passed something invalid (wrong type, empty, lone surrogate…)
  | "bad_format" // bytes that are not a valid .r3m / weights file (damaged, truncated, foreign)
  | "model_mismatch" // a memory written by another model
  | "too_large"; // an input over a configured limit

/**
 * Base class of every error r3mem throws on purpose.
 *
 * @example
 * ```ts
 * import { R3MemError } from "./errors.ts";
 * try {
 *   throw new R3MemError("bad_input", "Expected a string, got number");
 * } catch (e) {
 *   if (e instanceof R3MemError) console.log(e.code); // "bad_input"
 * }
 * ```
 */
export class R3MemError extends Error {
  /** Stable code for programmatic handling. */
  readonly code: R3MemErrorCode;
  /**
   * Creates an error with a stable code.
   *
   * @param code Stable code.
   * @param message Sentence-case description: what was expected and what came.
   */
  constructor(code: R3MemErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "R3MemError";
    this.code = code;
  }
}

/**
 * Bytes that are not a valid r3mem file: wrong magic, unsupported version, bad checksum,
 * truncated or inconsistent structure.
 *
 * @example
 * ```ts
 * import { FormatError } from "./errors.ts";
 * const e = new FormatError("Bad magic: expected R3M1");
 * console.log(e.code); // "bad_format"
 * ```
 */
export class FormatError extends R3MemError {
  /**
   * Creates the error.
   *
   * @param message What is wrong with the bytes.
   */
  constructor(message: string, options?: ErrorOptions) {
    super("bad_format", message, options);
    this.name = "FormatError";
  }
}

/**
 * A memory written by a different model than the one asked to read it.
 *
 * @example
 * ```ts
 * import { ModelMismatchError } from "./errors.ts";
 * console.log(new ModelMismatchError("Memory was written by model ab12…").code); // "model_mismatch"
 * ```
 */
export class ModelMismatchError extends R3MemError {
  /**
   * Creates the error.
   *
   * @param message Which fingerprints differ.
   */
  constructor(message: string, options?: ErrorOptions) {
    super("model_mismatch", message, options);
    this.name = "ModelMismatchError";
  }
}

/**
 * Invalid input from the caller (wrong type, empty text, a string with lone surrogates…).
 *
 * @example
 * ```ts
 * import { InputError } from "./errors.ts";
 * console.log(new InputError("Text must not be empty").code); // "bad_input"
 * ```
 */
export class InputError extends R3MemError {
  /**
   * Creates the error.
   *
   * @param message What was expected and what came.
   */
  constructor(message: string, options?: ErrorOptions) {
    super("bad_input", message, options);
    this.name = "InputError";
  }
}
