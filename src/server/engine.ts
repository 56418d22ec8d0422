/**
 * The inference seam of the server: what the routes ask of the model, on `.r3m` bytes. Two
 * implementations: {@link LocalEngine} runs the model on the calling thread (tests, tools), the
 * `WorkerPool` (`./worker_pool.ts`) runs it in workers so requests never wait on inference.
 *
 * @module
 */
import { decodedMemoriesOf } from "./decoded_memories.ts";
import type { RefineBudget } from "../refine_budget.ts";
import { Memory, type MemoryStats } from "../codec/memory.ts";
import type { R3Mem } from "../r3mem.ts";
import type { LexicalTerms } from "../search/lexical.ts";
import { type SearchKeys, searchKeysFrom } from "./search_index.ts";
import { type AppendedTurn, appendToBytes } from "./conversation_engine.ts";

/** A compressed text: the `.r3m` bytes, their stats and their search keys. */
export interface Compressed {
  /** `.r3m` bytes. */
  bytes: Uint8Array;
  /** Size statistics. */
  stats: MemoryStats;
  /** One search key per node. */
  keys: SearchKeys;
  /** Term counts of every node for lexical search; absent for lossy memories and archives. */
  lexical?: LexicalTerms;
}

/** Options of {@link Engine.compress}. */
export interface EngineCompressOptions {
  /** Keep the residual (default true). */
  lossless?: boolean;
  /**
   * How the memory is stored (see `CompressOptions.slots`): by default the library's default
   * (`"code"`, a compact memory, when the model has a memory basis); `"none"` stores a compact
   * lossless archive that search cannot find.
   */
  slots?: "code" | "all" | "document" | "none";
  /**
   * Refine the stored memories against the decoder (see `CompressOptions.refine`): steps per
   * memory and a time budget. Runs past the request's deadline are cancelled like any job.
   */
  refine?: RefineBudget;
  /** Aborting it cancels the job (in the worker, if it runs); it then fails with its reason. */
  signal?: AbortSignal;
}

/** Options of {@link Engine.reconstruct}. */
export interface EngineReconstructOptions {
  /** Node to reconstruct (default 0, the whole text). */
  node?: number;
  /** Aborting it cancels the job. */
  signal?: AbortSignal;
}

/** Options of the engine's other jobs. */
export interface EngineJobOptions {
  /** Aborting it cancels the job. */
  signal?: AbortSignal;
}

/** Model operations the server needs. Errors are the library's typed errors or `PoolError`s. */
export interface Engine {
  /** Fingerprint of the model's weights. */
  readonly fingerprint: string;
  /** Name of the backend the model runs on. */
  readonly backend: string;
  /** Compresses text. */
  compress(text: string, options?: EngineCompressOptions): Promise<Compressed>;
  /**
   * Reconstructs the text of `.r3m` bytes, piece by piece. Validation errors (damaged or
   * foreign bytes, unknown node) are thrown by the first `next()`, before any text.
   * Ending the iteration early cancels the work.
   */
  reconstruct(bytes: Uint8Array, options?: EngineReconstructOptions): AsyncIterable<string>;
  /** The unit search key of a query. */
  queryKey(query: string, options?: EngineJobOptions): Promise<Float32Array>;
  /**
   * The stats, search keys and term counts of `.r3m` bytes written by this model (what
   * {@link Engine.compress} returns with them): for memories imported as bytes.
   */
  index(bytes: Uint8Array, options?: EngineJobOptions): Promise<Compressed>;
  /**
   * Appends a turn to the conversation whose state is `state` (`null`: a new one):
   * `./conversation_engine.ts`.
   */
  append(state: Uint8Array | null, text: string, options?: EngineJobOptions): Promise<AppendedTurn>;
  /** Releases the engine's resources. */
  close(): Promise<void>;
}

/**
 * Compresses on the model given: the work shared by both engines.
 *
 * @example
 * ```ts
 * import { compressToBytes } from "./engine.ts";
 * import { R3Mem } from "../r3mem.ts";
 * import { buildRandomModel } from "../model/random_model.ts";
 * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
 * const c = await compressToBytes(r3, "Hello.", {});
 * console.log(c.stats.bytes === c.bytes.length); // true
 * ```
 */
export async function compressToBytes(
  r3: R3Mem,
  text: string,
  options: EngineCompressOptions,
): Promise<Compressed> {
  const memory = await r3.compress(text, {
    lossless: options.lossless ?? true,
    ...(options.slots ? { slots: options.slots } : {}),
    ...(options.refine ? { refine: options.refine } : {}),
  });
  return indexed(r3, memory, memory.toBytes());
}

/**
 * The stats, search keys and term counts of `.r3m` bytes (checked: damaged or foreign bytes
 * throw the library's typed errors): what an imported memory is stored with.
 *
 * @param r3 The model that wrote them.
 * @param bytes `.r3m` bytes.
 * @returns The bytes (the same array) with their index.
 *
 * @example
 * ```ts
 * import { compressToBytes, indexBytes } from "./engine.ts";
 * import { R3Mem } from "../r3mem.ts";
 * import { buildRandomModel } from "../model/random_model.ts";
 * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
 * const c = await compressToBytes(r3, "Peanuts again.", {});
 * const again = indexBytes(r3, c.bytes);
 * console.log(again.lexical?.terms.length === c.lexical?.terms.length); // true
 * ```
 */
export function indexBytes(r3: R3Mem, bytes: Uint8Array): Compressed {
  return indexed(r3, Memory.fromBytes(bytes, { expectModel: r3.fingerprint }), bytes);
}

function indexed(r3: R3Mem, memory: Memory, bytes: Uint8Array): Compressed {
  // The keys of every node of the memory's tree: a code memory's from its text, computed now
  // (the text is at hand) rather than stored in the memory.
  const tree = r3.tree(memory);
  const stats = memory.stats();
  if (memory.code) {
    stats.nodes = { document: 0, paragraph: 0, sentence: 0 };
    for (const n of tree) stats.nodes[n.level]++;
  }
  // The words of the exact text, for the lexical index (null: lossy, or a slots "none" archive).
  const lexical = r3.lexicalTerms(memory);
  return {
    bytes,
    stats,
    keys: searchKeysFrom(tree, r3.nodeKeys(memory), r3.config.dim),
    ...(lexical ? { lexical } : {}),
  };
}

/**
 * Reconstructs `.r3m` bytes on the model given: the work shared by both engines. Memories read
 * recently are kept (`./decoded_memories.ts`).
 *
 * @example
 * ```ts
 * import { compressToBytes, reconstructBytes } from "./engine.ts";
 * import { R3Mem } from "../r3mem.ts";
 * import { buildRandomModel } from "../model/random_model.ts";
 * const r3 = await R3Mem.load({ weights: await buildRandomModel() });
 * let text = "";
 * const { bytes } = await compressToBytes(r3, "Hi.", {});
 * for await (const piece of reconstructBytes(r3, bytes, {})) text += piece;
 * console.log(text); // "Hi."
 * ```
 */
export async function* reconstructBytes(
  r3: R3Mem,
  bytes: Uint8Array,
  options: EngineReconstructOptions,
): AsyncGenerator<string, void, undefined> {
  // The same bytes read again (a memory hit by search before) give the kept memory, whose
  // derived tree makes a node's text a lookup (./decoded_memories.ts).
  const memory = decodedMemoriesOf(r3).read(bytes);
  yield* r3.reconstructStream(memory, { node: options.node ?? 0 });
}

/**
 * An engine that runs the model on the calling thread: simple, for tests and tools; a server
 * under load wants the `WorkerPool`.
 *
 * @example
 * ```ts
 * import { LocalEngine } from "./engine.ts";
 * import { R3Mem } from "../r3mem.ts";
 * import { buildRandomModel } from "../model/random_model.ts";
 * const engine = new LocalEngine(await R3Mem.load({ weights: await buildRandomModel() }));
 * const { bytes } = await engine.compress("Kept in memory.");
 * let text = "";
 * for await (const piece of engine.reconstruct(bytes)) text += piece;
 * console.log(text); // "Kept in memory."
 * ```
 */
export class LocalEngine implements Engine {
  readonly #r3: R3Mem;

  /**
   * Wraps a loaded model.
   *
   * @param r3 The loaded model.
   */
  constructor(r3: R3Mem) {
    this.#r3 = r3;
  }

  /** Fingerprint of the model's weights. */
  get fingerprint(): string {
    return this.#r3.fingerprint;
  }

  /** Name of the backend. */
  get backend(): string {
    return this.#r3.backend;
  }

  /** Compresses text (on this thread). */
  compress(text: string, options: EngineCompressOptions = {}): Promise<Compressed> {
    return run(options.signal, () => compressToBytes(this.#r3, text, options));
  }

  /**
   * Reconstructs `.r3m` bytes (on this thread); an aborted signal ends it between pieces.
   */
  async *reconstruct(
    bytes: Uint8Array,
    options: EngineReconstructOptions = {},
  ): AsyncGenerator<string, void, undefined> {
    for await (const piece of reconstructBytes(this.#r3, bytes, options)) {
      options.signal?.throwIfAborted();
      yield piece;
    }
  }

  /** The unit search key of a query. */
  queryKey(query: string, options: EngineJobOptions = {}): Promise<Float32Array> {
    return run(options.signal, () => this.#r3.queryKey(query));
  }

  /** The stats, keys and term counts of `.r3m` bytes (on this thread). */
  index(bytes: Uint8Array, options: EngineJobOptions = {}): Promise<Compressed> {
    return run(options.signal, () => indexBytes(this.#r3, bytes));
  }

  /** Appends a conversation turn (on this thread). */
  async append(
    state: Uint8Array | null,
    text: string,
    options: EngineJobOptions = {},
  ): Promise<AppendedTurn> {
    options.signal?.throwIfAborted();
    return await appendToBytes(this.#r3, state, text);
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

// Runs a job on this thread unless the signal is already aborted (it cannot stop one midway).
function run<T>(signal: AbortSignal | undefined, job: () => T | Promise<T>): Promise<T> {
  try {
    signal?.throwIfAborted();
    return Promise.resolve(job());
  } catch (e) {
    return Promise.reject(e);
  }
}
