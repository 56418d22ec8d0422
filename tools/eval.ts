/**
 * `deno task eval`: measures a model on the validation split (or on any UTF-8 files) and
 * prints one report — bits per byte of lossless memories beside gzip, brotli and zstd; greedy
 * reconstruction accuracy from memory alone; perplexity with no history, with R³Mem memory and
 * with the full text; paragraph retrieval recall against BM25. See `docs/EVAL.md`.
 *
 * ```
 * deno task eval [--json] [--weights PATH] [--file F …] [--corpus DIR] [--limit-docs N]
 *   [--max-bytes N] [--doc-bytes N] [--recon-spans N] [--pool N] [--seed N]
 *   [--metrics bpb,recon,ppl,recall] [--plot] [--plot-file PATH] [--manifest PATH]
 * ```
 *
 * Progress and per-metric timings go to standard error; the report (JSON with `--json`, a table
 * otherwise) to standard output. Exit status 1 with one `error: …` line on bad usage or input.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DEFAULT_WEIGHTS_URL } from "../src/r3mem.ts";
import { type EvalDocument, loadFiles, loadValidation } from "./eval/data.ts";
import { loadEvalModel } from "./eval/metrics.ts";
import { rateDistortionSeries, rateDistortionSvg } from "./eval/plot.ts";
import { type EvalOptions, type MetricName, METRICS, runEval } from "./eval/run.ts";
import { formatReport } from "./eval/report.ts";
import { runMain, UsageError } from "./_main.ts";

const HELP = `Usage: deno task eval [options]

  --json              print the report as one JSON object (default: a table)
  --weights PATH      model weights (default: weights/r3mem-default.r3w)
  --file F            evaluate on this UTF-8 file instead of the validation split (repeatable)
  --corpus DIR        corpus directory holding valid.txt (default .corpus)
  --limit-docs N      use only the first N documents
  --max-bytes N       UTF-8 bytes of text per metric (bpb doc, bpb msg, ppl; default 131072)
  --doc-bytes N       cut longer documents at a paragraph boundary (default 16384)
  --recon-spans N     spans reconstructed per tokens-per-slot ratio (default 96)
  --refine-spans N    spans refined per tokens-per-slot ratio (default 4)
  --refine-steps LIST refinement budgets in Adam steps per memory (default 0,50,100,200,400)
  --refine-per-slot LIST  tokens per slot of the refined spans (default 2,4,8)
  --refine-lr X       refinement's peak learning rate (default: compress's, 1)
  --pool N            paragraphs in the retrieval pool (default 300)
  --seed N            seed of the retrieval queries' word dropping (default 1)
  --metrics LIST      comma-separated subset of ${METRICS.join(",")} (default all)
  --backend NAME      wasm (default) or reference (slow)
  --plot              also write the rate-distortion plot (needs bpb and recon)
  --plot-file PATH    where the plot goes (default docs/rate-distortion.svg)
  --manifest PATH     also store the report under "eval" in this model manifest (JSON)
  --no-cache          code lossless files with the model alone (the document cache off: an ablation)
  --help`;

function intFlag(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name} must be a non-negative integer`);
  return n;
}

async function readWeights(path: string | undefined): Promise<{ bytes: Uint8Array; name: string }> {
  const url = path ? new URL(path, `file://${Deno.cwd()}/`) : DEFAULT_WEIGHTS_URL;
  const name = path ?? "weights/r3mem-default.r3w";
  try {
    return { bytes: await Deno.readFile(url), name };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UsageError(
        path
          ? `no weights file at ${path}`
          : "no default model at weights/r3mem-default.r3w: train one with `deno task train` " +
            "or pass --weights PATH",
      );
    }
    throw e;
  }
}

/**
 * Runs the evaluation CLI with `args`; returns the exit status.
 *
 * @param args Command-line arguments (without the program name).
 * @returns 0 on success.
 */
export async function main(args: string[]): Promise<number> {
  const { values: a } = parseArgs({
    args,
    options: {
      json: { type: "boolean" },
      weights: { type: "string" },
      file: { type: "string", multiple: true },
      corpus: { type: "string" },
      "limit-docs": { type: "string" },
      "max-bytes": { type: "string" },
      "doc-bytes": { type: "string" },
      "recon-spans": { type: "string" },
      "refine-spans": { type: "string" },
      "refine-steps": { type: "string" },
      "refine-per-slot": { type: "string" },
      "refine-lr": { type: "string" },
      pool: { type: "string" },
      seed: { type: "string" },
      metrics: { type: "string" },
      backend: { type: "string" },
      plot: { type: "boolean" },
      "plot-file": { type: "string" },
      manifest: { type: "string" },
      "no-cache": { type: "boolean" },
      help: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (a.help) {
    console.log(HELP);
    return 0;
  }
  const metrics = a.metrics?.split(",").map((s) => s.trim()).filter(Boolean);
  for (const name of metrics ?? []) {
    if (!(METRICS as readonly string[]).includes(name)) {
      throw new UsageError(`unknown metric "${name}" (known: ${METRICS.join(", ")})`);
    }
  }
  if (a.backend && a.backend !== "wasm" && a.backend !== "reference") {
    throw new UsageError(`unknown backend "${a.backend}"`);
  }
  const limitDocs = intFlag(a["limit-docs"], "--limit-docs") ?? Infinity;
  const options: EvalOptions = {
    maxBytes: intFlag(a["max-bytes"], "--max-bytes"),
    docBytes: intFlag(a["doc-bytes"], "--doc-bytes"),
    reconSpans: intFlag(a["recon-spans"], "--recon-spans"),
    refineSpans: intFlag(a["refine-spans"], "--refine-spans"),
    refineTokensPerSlot: a["refine-per-slot"]?.split(",").map((s) => {
      const n = Number(s.trim());
      if (!Number.isInteger(n) || n < 1) {
        throw new UsageError(`--refine-per-slot takes integers ≥ 1, got "${s}"`);
      }
      return n;
    }),
    refineLr: a["refine-lr"] === undefined ? undefined : Number(a["refine-lr"]),
    refineSteps: a["refine-steps"]?.split(",").map((s) => {
      const n = Number(s.trim());
      if (!Number.isInteger(n) || n < 0) {
        throw new UsageError(`--refine-steps takes integers ≥ 0, got "${s}"`);
      }
      return n;
    }),
    poolSize: intFlag(a.pool, "--pool"),
    seed: intFlag(a.seed, "--seed"),
    cache: !a["no-cache"],
    metrics: metrics as MetricName[] | undefined,
    log: (line) => console.error(line),
  };
  const weights = await readWeights(a.weights);

  const { docs, source } = await evalText(a.file, a.corpus, limitDocs);
  if (docs.length === 0) throw new UsageError("no text to evaluate on");

  const t0 = performance.now();
  const m = await loadEvalModel(weights.bytes, (a.backend ?? "wasm") as "wasm" | "reference");
  console.error(
    `eval: model ${m.r3.fingerprint.slice(0, 12)}… loaded in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s; ${docs.length} documents from ${source}`,
  );
  const report = await runEval(m, docs, options, source);
  report.model.weights = weights.name;

  if (a.plot) {
    if (!report.bpb || !report.recon) {
      throw new UsageError("--plot needs the bpb and recon metrics");
    }
    const file = a["plot-file"] ?? "docs/rate-distortion.svg";
    const c = m.config;
    const svg = rateDistortionSvg(
      rateDistortionSeries({ bpb: report.bpb, recon: report.recon, refine: report.refine }),
      {
        title: "r3mem: rate against reconstruction accuracy",
        subtitle: `${weights.name}: ${c.layers}×${c.dim}, ${c.memorySlots} slots; ` +
          `${report.bpb.doc.bytes} bytes of ${source}`,
      },
    );
    await Deno.writeTextFile(file, svg);
    console.error(`eval: wrote ${file}`);
  }
  if (a.manifest) {
    // The weights manifest records the scores the shipped model reached (issue 4).
    const manifest = JSON.parse(await Deno.readTextFile(a.manifest));
    manifest.eval = { ...report, command: `deno task eval ${args.join(" ")}` };
    await Deno.writeTextFile(a.manifest, JSON.stringify(manifest, null, 2) + "\n");
    console.error(`eval: stored the report in ${a.manifest}`);
  }
  console.log(a.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return 0;
}

// The text to evaluate on: the files given, or the corpus's validation split.
async function evalText(
  files: string[] | undefined,
  corpus: string | undefined,
  limitDocs: number,
): Promise<{ docs: EvalDocument[]; source: string }> {
  if (files && files.length > 0) {
    return {
      docs: (await loadFiles(files)).slice(0, limitDocs),
      source: `files (${files.length})`,
    };
  }
  const path = `${corpus ?? ".corpus"}/valid.txt`;
  try {
    return { docs: await loadValidation(path, limitDocs), source: path };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UsageError(`no validation split at ${path}: run \`deno task corpus\` first`);
    }
    throw e;
  }
}

if (import.meta.main) await runMain(main);
