/**
 * The r3mem command line.
 *
 * ```
 * deno task cli compress IN OUT [--lossy | --compact] [--refine N]
 *                                           text → .r3m (lossless unless --lossy; --compact: a
 *                                           slot-less archive in the compact container;
 *                                           --refine N: int8 slots on every node, each refined
 *                                           by N steps against the decoder)
 * deno task cli reconstruct IN [OUT] [--greedy]
 *                                           .r3m → text (--greedy: from the memory alone)
 * deno task cli inspect IN                  .r3m → JSON summary
 * ```
 * `-` means standard input or output. `--weights PATH` picks a model other than the embedded
 * default. Exit status 0 on success; on bad input or usage, 1 with one `error: …` line on
 * standard error.
 *
 * @module
 */
import { Memory, R3Mem } from "../mod.ts";

const USAGE =
  "usage: cli compress IN OUT [--lossy | --compact] [--refine N] | reconstruct IN [OUT] " +
  "[--greedy] | inspect IN [--weights PATH]";

class UsageError extends Error {}

async function readInput(path: string): Promise<Uint8Array> {
  if (path === "-") return new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
  return await Deno.readFile(path);
}

async function writeOutput(path: string | undefined, bytes: Uint8Array): Promise<void> {
  if (!path || path === "-") {
    const w = Deno.stdout.writable.getWriter();
    await w.write(bytes);
    w.releaseLock();
  } else await Deno.writeFile(path, bytes);
}

function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new UsageError(`${path === "-" ? "standard input" : path} is not valid UTF-8 text`);
  }
}

async function loadModel(weights: string | undefined): Promise<R3Mem> {
  if (!weights) return await R3Mem.load();
  return await R3Mem.load({ weights: await Deno.readFile(weights) });
}

/** Runs the CLI with `args`; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  // options that take a value, and where their values are
  const valued = new Map<string, string>();
  const valueAt = new Set<number>();
  for (const name of ["--weights", "--refine"]) {
    const i = args.indexOf(name);
    if (i < 0) continue;
    if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
      throw new UsageError(`${name} needs a value`);
    }
    valued.set(name, args[i + 1]);
    valueAt.add(i + 1);
  }
  const weights = valued.get("--weights");
  const flags = new Set(
    args.filter((a, i) => a.startsWith("--") && !valueAt.has(i) && !valued.has(a)),
  );
  const pos = args.filter((a, i) => !a.startsWith("--") && !valueAt.has(i));
  for (const f of flags) {
    if (f !== "--lossy" && f !== "--compact" && f !== "--greedy") {
      throw new UsageError(`unknown option ${f}`);
    }
  }
  if (flags.has("--lossy") && flags.has("--compact")) {
    throw new UsageError("--compact archives are lossless: drop --lossy");
  }
  const refineArg = valued.get("--refine");
  const refine = refineArg === undefined ? 0 : Number(refineArg);
  if (!Number.isInteger(refine) || refine < 0) {
    throw new UsageError(`--refine takes a number of steps, got ${refineArg}`);
  }
  if (refine > 0 && flags.has("--compact")) {
    throw new UsageError("--refine improves memory slots; a --compact archive has none");
  }
  const [command, input, output] = pos;
  switch (command) {
    case "compress": {
      if (!input || !output) throw new UsageError("compress needs IN and OUT");
      const text = decodeUtf8(await readInput(input), input);
      const r3 = await loadModel(weights);
      const memory = await r3.compress(text, {
        lossless: !flags.has("--lossy"),
        // Without --compact or --refine: the library's default (the coded memory where the model
        // has a basis); refined memories keep int8 slots on every node.
        slots: flags.has("--compact") ? "none" : refine > 0 ? "all" : undefined,
        refine,
      });
      await writeOutput(output, memory.toBytes());
      return 0;
    }
    case "reconstruct": {
      if (!input) throw new UsageError("reconstruct needs IN");
      const memory = Memory.fromBytes(await readInput(input));
      const r3 = await loadModel(weights);
      const text = await r3.reconstruct(memory, { greedy: flags.has("--greedy") });
      await writeOutput(output, new TextEncoder().encode(text));
      return 0;
    }
    case "inspect": {
      if (!input) throw new UsageError("inspect needs IN");
      const memory = Memory.fromBytes(await readInput(input));
      const s = memory.stats();
      const summary = {
        bytes: s.bytes,
        nodes: s.nodes,
        slots: s.slots,
        slotCount: memory.slotCount,
        dim: memory.dim,
        residualBytes: s.residualBytes,
        lossless: memory.lossless,
        container: memory.container,
        textBytes: s.textBytes,
        tokens: memory.tokenCount,
        ratio: Number(s.ratio.toFixed(4)),
        model: memory.modelFingerprint,
      };
      await writeOutput("-", new TextEncoder().encode(JSON.stringify(summary) + "\n"));
      return 0;
    }
    default:
      throw new UsageError(command ? `unknown command ${command}` : "no command given");
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    const message = e instanceof UsageError
      ? `${e.message} (${USAGE})`
      : e instanceof Deno.errors.NotFound
      ? `file not found: ${(e as Error).message.replace(/^.*?: /, "")}`
      : e instanceof Error
      ? e.message
      : String(e);
    console.error(`error: ${message.split("\n")[0]}`);
    Deno.exit(1);
  }
}
