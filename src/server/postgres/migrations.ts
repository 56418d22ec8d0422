/**
 * The PostgreSQL store's schema, as numbered migrations that the server applies when it opens
 * the store. Applied versions are recorded in `r3mem_migrations`; {@link migrate} takes a
 * transaction-scoped advisory lock first, so several instances starting at once apply each
 * migration exactly once (the others wait, then find it done). A migration is a list of
 * statements run in that one transaction: all of it or nothing.
 *
 * @module
 */
import type { Sql } from "postgres";

/** One schema change. */
export interface Migration {
  /** Its number: 1, 2, … in order. */
  version: number;
  /** What it does. */
  name: string;
  /** Its statements. */
  statements: string[];
}

/** Key of the advisory lock that serialises migrations ("r3mem" in ASCII). */
export const MIGRATION_LOCK = 0x72336d656dn;

/**
 * Every migration, oldest first. Append new ones; never change a published one.
 *
 * - `r3mem_memories`: a memory's current version (one row per namespace and id): scope,
 *   metadata and stats as `json` (kept as written), its search keys and term counts (`bytea`,
 *   the encodings of `search_index.ts` and `search/lexical.ts`). `seq` orders by creation.
 * - `r3mem_versions`: every version's record; `bytes` holds the `.r3m` of a version that
 *   brought new content, and `content` names the version whose bytes a version has.
 * - `r3mem_conversations` (2): a conversation, its turn counter and recurrent state;
 *   `r3mem_turns`: each turn's record and `.r3m`, deleted with its conversation.
 *
 * @example
 * ```ts
 * import { MIGRATIONS } from "./migrations.ts";
 * console.log(MIGRATIONS.map((m) => m.version)); // [ 1, 2 ]
 * ```
 */
export const MIGRATIONS: readonly Migration[] = [{
  version: 1,
  name: "memories, versions and their indexes",
  statements: [
    `CREATE TABLE r3mem_memories (
      ns text NOT NULL,
      id text NOT NULL,
      seq bigint GENERATED ALWAYS AS IDENTITY,
      version integer NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      expires_at timestamptz,
      user_id text,
      agent_id text,
      run_id text,
      metadata json NOT NULL,
      stats json NOT NULL,
      model text NOT NULL,
      keys bytea NOT NULL,
      lexical bytea,
      PRIMARY KEY (ns, id))`,
    `CREATE UNIQUE INDEX r3mem_memories_order ON r3mem_memories (ns, seq)`,
    `CREATE INDEX r3mem_memories_expiry ON r3mem_memories (expires_at)
      WHERE expires_at IS NOT NULL`,
    `CREATE INDEX r3mem_memories_user ON r3mem_memories (ns, user_id) WHERE user_id IS NOT NULL`,
    `CREATE INDEX r3mem_memories_agent ON r3mem_memories (ns, agent_id)
      WHERE agent_id IS NOT NULL`,
    `CREATE INDEX r3mem_memories_run ON r3mem_memories (ns, run_id) WHERE run_id IS NOT NULL`,
    `CREATE INDEX r3mem_memories_metadata ON r3mem_memories
      USING gin ((metadata::jsonb) jsonb_path_ops)`,
    // Search keys and .r3m bytes do not compress: store them out of line as they are.
    `ALTER TABLE r3mem_memories ALTER COLUMN keys SET STORAGE EXTERNAL`,
    `CREATE TABLE r3mem_versions (
      ns text NOT NULL,
      id text NOT NULL,
      version integer NOT NULL,
      updated_at timestamptz NOT NULL,
      expires_at timestamptz,
      metadata json NOT NULL,
      stats json NOT NULL,
      model text NOT NULL,
      content integer NOT NULL,
      bytes bytea,
      PRIMARY KEY (ns, id, version),
      FOREIGN KEY (ns, id) REFERENCES r3mem_memories (ns, id) ON DELETE CASCADE,
      CHECK ((bytes IS NOT NULL) = (content = version)))`,
    `ALTER TABLE r3mem_versions ALTER COLUMN bytes SET STORAGE EXTERNAL`,
  ],
}, {
  version: 2,
  name: "conversations and their turns",
  statements: [
    `CREATE TABLE r3mem_conversations (
      ns text NOT NULL,
      id text NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      metadata json NOT NULL,
      model text NOT NULL,
      turns integer NOT NULL,
      state bytea,
      PRIMARY KEY (ns, id))`,
    `CREATE TABLE r3mem_turns (
      ns text NOT NULL,
      id text NOT NULL,
      n integer NOT NULL,
      role text NOT NULL,
      metadata json NOT NULL,
      created_at timestamptz NOT NULL,
      text_bytes integer NOT NULL,
      bytes bytea NOT NULL,
      PRIMARY KEY (ns, id, n),
      FOREIGN KEY (ns, id) REFERENCES r3mem_conversations (ns, id) ON DELETE CASCADE)`,
    `ALTER TABLE r3mem_turns ALTER COLUMN bytes SET STORAGE EXTERNAL`,
  ],
}];

/**
 * Brings the database's schema up to date: creates `r3mem_migrations` if needed and applies the
 * migrations not recorded there, in order, in one transaction under an advisory lock.
 *
 * @param sql A client (`postgres(url)`).
 * @param migrations The migrations (default {@link MIGRATIONS}).
 * @returns The versions applied now (empty when the schema was current).
 *
 * @example
 * ```ts ignore
 * import postgres from "postgres";
 * import { migrate } from "./migrations.ts";
 * const sql = postgres("postgres://postgres@127.0.0.1:5432/r3mem");
 * console.log(await migrate(sql)); // [ 1, 2 ] the first time, [] after
 * await sql.end();
 * ```
 */
export async function migrate(
  sql: Sql,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  return await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`;
    await tx`CREATE TABLE IF NOT EXISTS r3mem_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`;
    const done = new Set(
      (await tx<{ version: number }[]>`SELECT version FROM r3mem_migrations`).map((r) => r.version),
    );
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      for (const statement of m.statements) await tx.unsafe(statement);
      await tx`INSERT INTO r3mem_migrations (version, name) VALUES (${m.version}, ${m.name})`;
      applied.push(m.version);
    }
    return applied;
  });
}
