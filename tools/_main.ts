/**
 * The entry point shared by the command-line tools: runs `main`, exits with its status, and turns
 * an exception into one `error: …` line (with the stack unless it was a usage error).
 *
 * @module
 */

/** A wrong command line: reported without a stack trace. */
export class UsageError extends Error {}

/**
 * Runs a tool's `main(args)` and exits the process with its status (1 on an exception).
 *
 * @example
 * ```ts ignore
 * import { runMain } from "./_main.ts";
 * if (import.meta.main) await runMain(async (args) => (console.log(args.length), 0));
 * ```
 */
export async function runMain(main: (args: string[]) => Promise<number>): Promise<never> {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    const usage = e instanceof UsageError ||
      (e instanceof TypeError && "code" in e && String(e.code).startsWith("ERR_PARSE_ARGS"));
    console.error(`error: ${e instanceof Error ? e.message : e}`);
    if (!usage && e instanceof Error && e.stack) console.error(e.stack);
    Deno.exit(1);
  }
}
