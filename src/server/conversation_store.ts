/**
 * Conversations, per namespace: the {@link ConversationStore} interface the routes use, and its
 * Deno KV implementation {@link KvConversationStore} (the PostgreSQL one is
 * `./postgres/conversations.ts`; both keep the same contract, `tests/_conversation_contract.ts`).
 *
 * In Deno KV: A conversation is a record holding its recurrent
 * state (`.r3m` bytes of a zero-turn conversation memory, about 1.1 KB however long it grows:
 * `src/append.ts`) and a turn counter; each turn is its own record (role, metadata) and its own
 * memory's bytes (chunked under Deno KV's 64 KiB value limit), so a turn is read without the
 * others and a new one is appended without reading any.
 *
 * A turn is appended in one atomic commit that checks the conversation record's versionstamp and
 * that turn `n` does not exist, then writes turn `n`, its chunks and the record (counter `n + 1`,
 * the new state): a failed append writes nothing, and of two concurrent appends one commits and
 * the other computes its turn again from the new state (up to {@link MAX_APPEND_ATTEMPTS}
 * times) and becomes turn `n + 1`. Layout:
 *
 * ```
 * ["r3conv", ns, "rec", id]           → ConversationRecord
 * ["r3conv", ns, "turn", id, n]       → TurnRecord
 * ["r3conv", ns, "blob", id, n, i]    → Uint8Array   (the turn's .r3m chunk i)
 * ```
 *
 * @module
 */
import { ApiError } from "./errors.ts";

/** A stored conversation. */
export interface ConversationRecord {
  /** Random id (UUID). */
  id: string;
  /** Creation time, ISO 8601. */
  createdAt: string;
  /** Time of the last turn (or the creation), ISO 8601. */
  updatedAt: string;
  /** Caller's metadata. */
  metadata: Record<string, unknown>;
  /** Fingerprint of the model whose state it holds. */
  model: string;
  /** Number of turns. */
  turns: number;
  /** The recurrent state's `.r3m` bytes; null before the first turn. */
  state: Uint8Array | null;
}

/** A stored turn. */
export interface TurnRecord {
  /** Its number, from 0. */
  n: number;
  /** Who spoke (`user`, `assistant`…). */
  role: string;
  /** Caller's metadata. */
  metadata: Record<string, unknown>;
  /** When it was appended, ISO 8601. */
  createdAt: string;
  /** UTF-8 bytes of its text. */
  textBytes: number;
  /** Bytes of its memory. */
  bytes: number;
  /** Chunks of its memory. */
  chunks: number;
}

/**
 * Where conversations live. Contract of every implementation: a turn is appended whole or not at
 * all; of concurrent appends each gets its own number (0, 1, … with no gap); a deleted
 * conversation's appends in flight fail with 404; unknown ids read as null.
 */
export interface ConversationStore {
  /** Creates an empty conversation. */
  create(ns: string, metadata: Record<string, unknown>, model: string): Promise<ConversationRecord>;
  /** A conversation, or null. */
  get(ns: string, id: string): Promise<ConversationRecord | null>;
  /**
   * Appends a turn computed by `job` from the conversation's current state.
   *
   * @throws {ApiError} 404 unknown conversation, 409 too many lost races, 413 a turn over
   *   {@link MAX_TURN_BYTES}; nothing is written when it throws.
   */
  append(
    ns: string,
    id: string,
    role: string,
    metadata: Record<string, unknown>,
    job: TurnJob,
  ): Promise<TurnRecord>;
  /** Turns `from …` (at most `limit`), in order, and the number of the next one (or null). */
  turns(
    ns: string,
    id: string,
    from: number,
    limit: number,
  ): Promise<{ turns: TurnRecord[]; next: number | null }>;
  /** A turn's record and memory bytes, or null. */
  turn(ns: string, id: string, n: number): Promise<{ turn: TurnRecord; bytes: Uint8Array } | null>;
  /** Deletes a conversation and its turns; whether it existed. */
  delete(ns: string, id: string): Promise<boolean>;
}

/** What a turn's append computes from the conversation's state (`null`: no turn yet). */
export type TurnJob = (
  state: Uint8Array | null,
) => Promise<{ state: Uint8Array; turn: Uint8Array; textBytes: number }>;

/** Bytes per chunk: under Deno KV's 64 KiB value limit. */
const CHUNK_BYTES = 60_000;
/** A turn's memory in at most this many chunks: one commit stays under KV's 800 KiB. */
export const MAX_TURN_CHUNKS = 10;
/** The largest turn memory any store accepts (413 past it): {@link MAX_TURN_CHUNKS} KV chunks. */
export const MAX_TURN_BYTES = MAX_TURN_CHUNKS * CHUNK_BYTES;
/** Appends computed again after losing a race before the request gives up (409). */
export const MAX_APPEND_ATTEMPTS = 8;
const ROOT = "r3conv";

/**
 * A new, empty conversation's record (every store writes this shape).
 *
 * @example
 * ```ts
 * import { newConversation } from "./conversation_store.ts";
 * console.log(newConversation({}, "m").turns); // 0
 * ```
 */
export function newConversation(
  metadata: Record<string, unknown>,
  model: string,
): ConversationRecord {
  const now = new Date().toISOString();
  return {
    id: crypto.randomUUID(),
    createdAt: now,
    updatedAt: now,
    metadata,
    model,
    turns: 0,
    state: null,
  };
}

/**
 * The record of turn `n` appended now from a job's result.
 *
 * @example
 * ```ts
 * import { newTurn } from "./conversation_store.ts";
 * const out = { state: new Uint8Array(1), turn: new Uint8Array(5), textBytes: 4 };
 * console.log(newTurn(0, "user", {}, out, 1).bytes); // 5
 * ```
 */
export function newTurn(
  n: number,
  role: string,
  metadata: Record<string, unknown>,
  out: { turn: Uint8Array; textBytes: number },
  chunks: number,
): TurnRecord {
  return {
    n,
    role,
    metadata,
    createdAt: new Date().toISOString(),
    textBytes: out.textBytes,
    bytes: out.turn.length,
    chunks,
  };
}

/**
 * The conflict every store gives when a turn lost {@link MAX_APPEND_ATTEMPTS} races in a row.
 *
 * @param id The conversation.
 * @returns A 409 `conflict` error.
 *
 * @example
 * ```ts
 * import { appendRacesLost } from "./conversation_store.ts";
 * console.log(appendRacesLost("c1").status); // 409
 * ```
 */
export function appendRacesLost(id: string): ApiError {
  return new ApiError(
    409,
    "conflict",
    `Conversation ${id} changed ${MAX_APPEND_ATTEMPTS} times while this turn was computed; retry`,
  );
}

/**
 * Turns the too-large error every store gives for a turn's memory over {@link MAX_TURN_BYTES}.
 *
 * @param bytes The turn memory's size.
 * @returns A 413 `too_large` error.
 *
 * @example
 * ```ts
 * import { turnTooLarge } from "./conversation_store.ts";
 * console.log(turnTooLarge(700_000).status); // 413
 * ```
 */
export function turnTooLarge(bytes: number): ApiError {
  return new ApiError(
    413,
    "too_large",
    `The turn's memory is ${bytes} bytes; a turn holds at most ${MAX_TURN_BYTES}`,
  );
}

/**
 * The conversation store on Deno KV.
 *
 * @example
 * ```ts
 * import { KvConversationStore } from "./conversation_store.ts";
 * const kv = await Deno.openKv(":memory:");
 * const store = new KvConversationStore(kv);
 * const conv = await store.create("ns", { topic: "demo" }, "model");
 * const job = (state: Uint8Array | null) =>
 *   Promise.resolve({ state: new Uint8Array([state ? state[0] + 1 : 1]), turn: new Uint8Array(3), textBytes: 2 });
 * await store.append("ns", conv.id, "user", {}, job);
 * const t = await store.append("ns", conv.id, "assistant", {}, job);
 * console.log(t.n, (await store.get("ns", conv.id))?.state); // 1 Uint8Array(1) [ 2 ]
 * kv.close();
 * ```
 */
export class KvConversationStore implements ConversationStore {
  /** The database (not closed by the store: the memory store owns it). */
  readonly kv: Deno.Kv;

  /**
   * A store over an open database.
   *
   * @param kv An open Deno KV database.
   */
  constructor(kv: Deno.Kv) {
    this.kv = kv;
  }

  /** Creates an empty conversation. */
  async create(
    ns: string,
    metadata: Record<string, unknown>,
    model: string,
  ): Promise<ConversationRecord> {
    const rec = newConversation(metadata, model);
    const key = [ROOT, ns, "rec", rec.id];
    const res = await this.kv.atomic().check({ key, versionstamp: null }).set(key, rec).commit();
    if (!res.ok) throw new ApiError(409, "conflict", `Conversation ${rec.id} exists`);
    return rec;
  }

  /** A conversation, or null. */
  async get(ns: string, id: string): Promise<ConversationRecord | null> {
    return (await this.kv.get<ConversationRecord>([ROOT, ns, "rec", id])).value;
  }

  /**
   * Appends a turn: runs `job` on the current state and commits its result as turn `n` in one
   * atomic write, or runs it again on the newer state when another append won the race.
   *
   * @throws {ApiError} 404 for an unknown conversation, 409 after
   *   {@link MAX_APPEND_ATTEMPTS} lost races, 413 for a turn over {@link MAX_TURN_CHUNKS}
   *   chunks; the job's own errors as they are. Nothing is written when it throws.
   */
  async append(
    ns: string,
    id: string,
    role: string,
    metadata: Record<string, unknown>,
    job: TurnJob,
  ): Promise<TurnRecord> {
    const recKey = [ROOT, ns, "rec", id];
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      const entry = await this.kv.get<ConversationRecord>(recKey);
      const rec = entry.value;
      if (!rec) throw new ApiError(404, "not_found", `No conversation with id ${id}`);
      const out = await job(rec.state);
      const chunks = Math.max(1, Math.ceil(out.turn.length / CHUNK_BYTES));
      if (chunks > MAX_TURN_CHUNKS) throw turnTooLarge(out.turn.length);
      const n = rec.turns;
      const turn = newTurn(n, role, metadata, out, chunks);
      const now = turn.createdAt;
      const turnKey = [ROOT, ns, "turn", id, n];
      const op = this.kv.atomic()
        .check(entry)
        .check({ key: turnKey, versionstamp: null })
        .set(recKey, { ...rec, turns: n + 1, state: out.state, updatedAt: now })
        .set(turnKey, turn);
      for (let i = 0; i < chunks; i++) {
        op.set(
          [ROOT, ns, "blob", id, n, i],
          out.turn.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES),
        );
      }
      if ((await op.commit()).ok) return turn;
    }
    throw appendRacesLost(id);
  }

  /** Turns `from …` (at most `limit`), in order, and the number of the next one (or null). */
  async turns(
    ns: string,
    id: string,
    from: number,
    limit: number,
  ): Promise<{ turns: TurnRecord[]; next: number | null }> {
    const out: TurnRecord[] = [];
    const prefix = [ROOT, ns, "turn", id];
    const iter = this.kv.list<TurnRecord>({ prefix, start: [...prefix, from] }, {
      limit: limit + 1,
    });
    for await (const e of iter) out.push(e.value);
    const more = out.length > limit;
    if (more) out.length = limit;
    return { turns: out, next: more ? out[out.length - 1].n + 1 : null };
  }

  /** A turn's record and memory bytes, or null. */
  async turn(
    ns: string,
    id: string,
    n: number,
  ): Promise<{ turn: TurnRecord; bytes: Uint8Array } | null> {
    const turn = (await this.kv.get<TurnRecord>([ROOT, ns, "turn", id, n])).value;
    if (!turn) return null;
    const keys = Array.from({ length: turn.chunks }, (_, i) => [ROOT, ns, "blob", id, n, i]);
    const bytes = new Uint8Array(turn.bytes);
    let at = 0;
    for (let i = 0; i < keys.length; i += 10) {
      for (const e of await this.kv.getMany<Uint8Array[]>(keys.slice(i, i + 10))) {
        if (!e.value) return null; // deleted meanwhile
        bytes.set(e.value, at);
        at += e.value.length;
      }
    }
    return at === turn.bytes ? { turn, bytes } : null;
  }

  /**
   * Deletes a conversation: its record first (in one commit: it is gone at once, and appends in
   * flight fail their check), then its turns and chunks.
   *
   * @returns Whether it existed.
   */
  async delete(ns: string, id: string): Promise<boolean> {
    const recKey = [ROOT, ns, "rec", id];
    const entry = await this.kv.get(recKey);
    if (!entry.value) return false;
    if (!(await this.kv.atomic().check(entry).delete(recKey).commit()).ok) {
      return this.delete(ns, id); // changed meanwhile (a turn): delete the newer one
    }
    for (const part of ["turn", "blob"]) {
      let op = this.kv.atomic(), n = 0;
      for await (const e of this.kv.list({ prefix: [ROOT, ns, part, id] })) {
        op.delete(e.key);
        if (++n % 500 === 0) {
          await op.commit();
          op = this.kv.atomic();
        }
      }
      await op.commit();
    }
    return true;
  }
}
