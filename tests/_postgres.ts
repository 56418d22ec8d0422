/**
 * A throwaway PostgreSQL 15 cluster for tests: `initdb` into a temporary folder, `pg_ctl start`
 * on a free loopback port with its unix socket in that folder, and a stop that removes it all.
 * PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user (the
 * Debian package creates it) and its commands run through `runuser`. CI installs the package
 * (`.ci/run`); without the binaries {@link startPostgres} fails with a message that says so.
 */

/** Where Debian's `postgresql-15` puts the server binaries (or `R3MEM_PG_BIN`). */
export const PG_BIN = Deno.env.get("R3MEM_PG_BIN") ?? "/usr/lib/postgresql/15/bin";

/** A running test cluster. */
export interface TestPostgres {
  /** `postgres://` URL of its `postgres` database over TCP on 127.0.0.1. */
  url: string;
  /** Its TCP port. */
  port: number;
  /** Its data folder. */
  dataDir: string;
  /** Creates a database and returns its URL (a fresh one per test keeps tests apart). */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown: open connections are ended), keeping the data. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  destroy(): Promise<void>;
}

const asRoot = Deno.uid() === 0;

async function run(cmd: string, args: string[], what: string): Promise<string> {
  const argv = asRoot ? ["runuser", "-u", "postgres", "--", cmd, ...args] : [cmd, ...args];
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${what} failed (exit ${out.code}):\n${text}`);
  return text;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts a fresh cluster. Throws a clear error when PostgreSQL 15 is not installed.
 *
 * @returns The cluster; call `destroy()` when done.
 */
export async function startPostgres(): Promise<TestPostgres> {
  try {
    await Deno.stat(`${PG_BIN}/initdb`);
  } catch {
    throw new Error(
      `PostgreSQL 15 is not installed (no ${PG_BIN}/initdb): the PostgreSQL store tests need it. ` +
        `Install it with \`apt-get install -y postgresql-15\` (.ci/run does), or set ` +
        `R3MEM_PG_BIN to the folder of initdb and pg_ctl.`,
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "r3mem-pg-" });
  const dataDir = `${dir}/data`;
  if (asRoot) {
    await Deno.chmod(dir, 0o755);
    const pw = (await Deno.readTextFile("/etc/passwd")).split("\n")
      .map((l) => l.split(":")).find((f) => f[0] === "postgres");
    if (!pw) throw new Error("Running as root, but there is no postgres user to run PostgreSQL");
    await Deno.chown(dir, Number(pw[2]), Number(pw[3]));
  }
  await run(`${PG_BIN}/initdb`, [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--auth=trust",
    "--no-sync",
    "-E",
    "UTF8",
    "--locale=C",
  ], "initdb");
  const port = freePort();
  const opts = `-h 127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c full_page_writes=off ` +
    `-c max_connections=200 -c shared_buffers=64MB`;
  const start = async () => {
    await run(`${PG_BIN}/pg_ctl`, [
      "-D",
      dataDir,
      "-o",
      opts,
      "-l",
      `${dir}/log`,
      "-w",
      "-t",
      "60",
      "start",
    ], "pg_ctl start");
  };
  const stop = async () => {
    await run(`${PG_BIN}/pg_ctl`, ["-D", dataDir, "-m", "fast", "-w", "stop"], "pg_ctl stop");
  };
  await start();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let running = true;
  return {
    url,
    port,
    dataDir,
    async createDatabase(name: string) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new TypeError(`Bad database name "${name}"`);
      await run(`${PG_BIN}/psql`, [
        "-h",
        "127.0.0.1",
        "-p",
        String(port),
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        `CREATE DATABASE ${name}`,
      ], `CREATE DATABASE ${name}`);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      await stop();
      running = false;
    },
    async start() {
      await start();
      running = true;
    },
    async destroy() {
      try {
        if (running) await stop();
      } finally {
        running = false;
        await Deno.remove(dir, { recursive: true });
      }
    },
  };
}
