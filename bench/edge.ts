/**
 * What r3mem needs from an edge runtime: a fresh process imports `server.ts`'s edge handler (the
 * default export) and answers one cold request, `POST /v1/compress` with 1 KB of text (the model
 * loads during that request). Reports, as the median of `--runs` fresh processes: the request's
 * wall time and CPU time, the whole process's CPU time (runtime start and module loading
 * included) and its peak RSS. Compare with the published limits in `docs/DEPLOY.md`.
 *
 * Usage: `deno task bench:edge [--runs 5] [--json]`
 *
 * @module
 */
import { parseArgs } from "node:util";

/** One cold request. */
export interface ColdRequest {
  /** HTTP status of the answer. */
  status: number;
  /** Wall time of the first request (model load included), ms. */
  requestMs: number;
  /** CPU time (user + system) spent during the first request, ms. */
  requestCpuMs: number;
  /** CPU time of the whole process up to the answer, ms. */
  processCpuMs: number;
  /** Wall time of a second request (model loaded), ms. */
  warmRequestMs: number;
  /** CPU time of the second request, ms. */
  warmRequestCpuMs: number;
  /** Peak resident set size of the process, MB (MiB). */
  peakRssMB: number;
}

const PARAGRAPHS = [
  "The quarterly planning meeting moved from Thursday to Friday at ten, in the large room on the " +
  "third floor. Bring the revised slides, the budget spreadsheet and the notes from the customer " +
  "calls. Maria will present the hiring plan; Tom asked for fifteen minutes to go over the " +
  "incident from last week, when the backup job failed twice and nobody was paged.",
  "After the meeting, the team will review the draft of the public roadmap. Legal wants the " +
  "wording about data retention checked again, and the support lead asked whether the new export " +
  "feature can ship before the holidays. If it cannot, we should say so plainly in the release " +
  "notes rather than promise a date we might miss.",
  "Remember that the office closes early on Friday, that the parking garage is being repainted, " +
  "and that visitors need a badge from the front desk. Lunch is on the team: sandwiches, soup and " +
  "fruit, ordered for twelve people; tell Ana by Wednesday if you need something else.",
  "Next month the whole group travels to the conference in Lisbon. Book flights through the " +
  "usual agency, keep the receipts, and share your talk outlines with the program chair early.",
];

/** About 1 KB (up to 1024 bytes) of English text in paragraphs, cut after a word. */
export function oneKilobyte(): string {
  const text = PARAGRAPHS.join("\n\n");
  const cut = text.slice(0, 1024);
  return cut.slice(0, cut.lastIndexOf(" ")) + ".";
}

/**
 * Runs one fresh process and returns its measurement.
 *
 * @param textPath A file with the text to compress.
 * @returns The measurement.
 */
export async function coldRequest(textPath: string): Promise<ColdRequest> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_edge_cold.ts", import.meta.url).pathname, textPath],
    env: { R3MEM_KV_PATH: ":memory:", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { runs: { type: "string", default: "5" }, json: { type: "boolean" } },
  });
  const dir = await Deno.makeTempDir();
  const path = `${dir}/1k.txt`;
  const text = oneKilobyte();
  await Deno.writeTextFile(path, text);
  const runs: ColdRequest[] = [];
  for (let i = 0; i < Number(values.runs); i++) runs.push(await coldRequest(path));
  await Deno.remove(dir, { recursive: true });
  if (runs.some((r) => r.status !== 200)) {
    throw new Error(`a request failed: ${JSON.stringify(runs)}`);
  }
  const keys = [
    "requestMs",
    "requestCpuMs",
    "processCpuMs",
    "warmRequestMs",
    "warmRequestCpuMs",
    "peakRssMB",
  ] as const;
  const summary = Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r[k]))]));
  if (values.json) console.log(JSON.stringify({ textBytes: text.length, summary, runs }, null, 2));
  else {
    console.log(
      `cold POST /v1/compress, ${new TextEncoder().encode(text).length} bytes, ` +
        `median of ${runs.length} fresh processes:`,
    );
    for (const k of keys) {
      console.log(
        `  ${k.padEnd(17)} ${summary[k].toFixed(1).padStart(8)}   ` +
          `(${runs.map((r) => r[k].toFixed(0)).join(" / ")})`,
      );
    }
  }
}
