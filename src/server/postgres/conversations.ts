/**
 * Conversations in PostgreSQL (`r3mem_conversations`, `r3mem_turns`: migration 2 of
 * `./migrations.ts`), the same contract as the Deno KV store (`../conversation_store.ts`).
 *
 * A turn is computed outside any transaction (the model takes a while; no row is locked
 * meanwhile) from the state read with the counter `n`, then committed in one transaction that
 * moves the counter from `n` to `n + 1` only if it still reads `n` and inserts turn `n`: of two
 * appends that raced, the second finds the counter moved, computes its turn again from the newer
 * state and becomes turn `n + 1`. A deleted conversation takes its turns with it (`ON DELETE
 * CASCADE`), and an append in flight then finds no row and answers 404. Connection failures are
 * 503s (`./errors.ts`).
 *
 * @module
 */
import type { Sql } from "postgres";
import {
  appendRacesLost,
  type ConversationRecord,
  type ConversationStore,
  MAX_APPEND_ATTEMPTS,
  MAX_TURN_BYTES,
  newConversation,
  newTurn,
  type TurnJob,
  type TurnRecord,
  turnTooLarge,
} from "../conversation_store.ts";
import { ApiError } from "../errors.ts";
import { storeError } from "./errors.ts";

interface ConversationRow {
  id: string;
  created_at: Date;
  updated_at: Date;
  metadata: Record<string, unknown>;
  model: string;
  turns: number;
  state: Uint8Array | null;
}

interface TurnRow {
  n: number;
  role: string;
  metadata: Record<string, unknown>;
  created_at: Date;
  text_bytes: number;
  bytes: number;
}

/**
 * The conversation store on PostgreSQL. {@link PgStore} (`./store.ts`) makes one over its own
 * client as `store.conversations`.
 *
 * @example
 * ```ts ignore
 * import { PgStore } from "./store.ts";
 * const store = await PgStore.open("postgres://postgres@127.0.0.1:5432/r3mem");
 * const conv = await store.conversations.create("team-a", { topic: "demo" }, "model");
 * console.log(conv.turns); // 0
 * store.close();
 * ```
 */
export class PgConversationStore implements ConversationStore {
  readonly #sql: Sql;

  /**
   * A store over a client whose database is migrated.
   *
   * @param sql The client.
   */
  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** Creates an empty conversation. */
  async create(
    ns: string,
    metadata: Record<string, unknown>,
    model: string,
  ): Promise<ConversationRecord> {
    const rec = newConversation(metadata, model);
    const now = rec.createdAt;
    await this.#run(() =>
      this.#sql`INSERT INTO r3mem_conversations
          (ns, id, created_at, updated_at, metadata, model, turns, state)
        VALUES (${ns}, ${rec.id}, ${now}, ${now}, ${this.#json(metadata)}::json, ${model}, 0, NULL)`
    );
    return rec;
  }

  /** A conversation, or null. */
  async get(ns: string, id: string): Promise<ConversationRecord | null> {
    const rows = await this.#run(() =>
      this.#sql<ConversationRow[]>`SELECT id, created_at, updated_at, metadata, model, turns, state
        FROM r3mem_conversations WHERE ns = ${ns} AND id = ${id}`
    );
    if (!rows.length) return null;
    const r = rows[0];
    return {
      id: r.id,
      createdAt: r.created_at.toISOString(),
      updatedAt: r.updated_at.toISOString(),
      metadata: r.metadata,
      model: r.model,
      turns: r.turns,
      state: r.state ? new Uint8Array(r.state) : null,
    };
  }

  /**
   * Appends a turn: runs `job` on the current state, then commits turn `n` and the new state in
   * one transaction that holds only if the counter still reads `n`; otherwise runs `job` again.
   *
   * @throws {ApiError} 404 unknown (or deleted) conversation, 409 after
   *   {@link MAX_APPEND_ATTEMPTS} lost races, 413 a turn over {@link MAX_TURN_BYTES}, 503 when
   *   the database is unavailable; the job's own errors as they are. Nothing is written then.
   */
  async append(
    ns: string,
    id: string,
    role: string,
    metadata: Record<string, unknown>,
    job: TurnJob,
  ): Promise<TurnRecord> {
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      const rec = await this.get(ns, id);
      if (!rec) throw new ApiError(404, "not_found", `No conversation with id ${id}`);
      const out = await job(rec.state);
      if (out.turn.length > MAX_TURN_BYTES) throw turnTooLarge(out.turn.length);
      const n = rec.turns;
      const turn = newTurn(n, role, metadata, out, 1);
      const now = turn.createdAt;
      const won = await this.#run(() =>
        this.#sql.begin(async (tx) => {
          const moved = await tx`UPDATE r3mem_conversations
            SET turns = ${n + 1}, state = ${out.state}, updated_at = ${now}
            WHERE ns = ${ns} AND id = ${id} AND turns = ${n}`;
          if (moved.count === 0) return false;
          await tx`INSERT INTO r3mem_turns
              (ns, id, n, role, metadata, created_at, text_bytes, bytes)
            VALUES (${ns}, ${id}, ${n}, ${role}, ${this.#json(metadata)}::json, ${now},
              ${out.textBytes}, ${out.turn})`;
          return true;
        })
      );
      if (won) return turn;
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
    const rows = await this.#run(() =>
      this.#sql<TurnRow[]>`SELECT n, role, metadata, created_at, text_bytes,
          octet_length(bytes) AS bytes
        FROM r3mem_turns WHERE ns = ${ns} AND id = ${id} AND n >= ${from}
        ORDER BY n LIMIT ${limit + 1}`
    );
    const turns = rows.slice(0, limit).map(turnOf);
    return { turns, next: rows.length > limit ? turns[turns.length - 1].n + 1 : null };
  }

  /** A turn's record and memory bytes, or null. */
  async turn(
    ns: string,
    id: string,
    n: number,
  ): Promise<{ turn: TurnRecord; bytes: Uint8Array } | null> {
    const rows = await this.#run(() =>
      this.#sql<(TurnRow & { data: Uint8Array })[]>`SELECT n, role, metadata, created_at,
          text_bytes, octet_length(bytes) AS bytes, bytes AS data
        FROM r3mem_turns WHERE ns = ${ns} AND id = ${id} AND n = ${n}`
    );
    if (!rows.length) return null;
    return { turn: turnOf(rows[0]), bytes: new Uint8Array(rows[0].data) };
  }

  /** Deletes a conversation and its turns in one statement; whether it existed. */
  async delete(ns: string, id: string): Promise<boolean> {
    const res = await this.#run(() =>
      this.#sql`DELETE FROM r3mem_conversations WHERE ns = ${ns} AND id = ${id}`
    );
    return res.count > 0;
  }

  // A `json` parameter: kept as written (see PgStore).
  #json(value: unknown) {
    return this.#sql.typed(value as never, 114);
  }

  async #run<T>(query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (e) {
      throw storeError(e);
    }
  }
}

function turnOf(r: TurnRow): TurnRecord {
  return {
    n: r.n,
    role: r.role,
    metadata: r.metadata,
    createdAt: r.created_at.toISOString(),
    textBytes: r.text_bytes,
    bytes: Number(r.bytes),
    chunks: 1,
  };
}
