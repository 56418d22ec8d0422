/**
 * `deno task capacity`: how much text the decoder can reproduce from its memory slots when the
 * slots are the best possible, not what the encoder makes. See `docs/TRAINING.md`, "Decoder
 * capacity".
 *
 * ```
 * deno task capacity [--json] [--steps N] [--spans N] [--lengths 16,32,64,128,256] [--seed N]
 *   [--lr X] [--grow] [--file F …] [--corpus DIR] [--weights MASTER.r3w]
 * ```
 *
 * The f32 trainer master is loaded into a `TrainEngine`; for every span the memory
 * (`memorySlots × dim` values) starts as the encoder's memory of the span and is optimized with
 * Adam against the frozen decoder's teacher-forced reconstruction loss
 * (`src/train/slots.ts`). Reported per span length: teacher-forced accuracy and loss of the
 * encoder's memory and of the optimized slots, teacher-forced accuracy of the slots rounded to
 * int8 (as stored), and greedy accuracy.
 *
 * Spans are nested: span `i` of every length starts at the same place, so a longer span extends
 * a shorter one; they are placed for at least 256 tokens, so runs with other `--lengths` see the
 * same text. Spans longer than the decoder's window are decoded as the runtime does, sliding
 * the window (`decodeWindows`): one memory of `memorySlots` slots still holds the whole span.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createWasmBackend } from "../src/backend/wasm/wasm_backend.ts";
import { Tokenizer } from "../src/model/tokenizer.ts";
import { readMasterFile } from "../src/train/checkpoint.ts";
import { TrainEngine } from "../src/train/engine.ts";
import { type EvalDocument, loadFiles, loadValidation, mulberry32 } from "./eval/data.ts";
import { measureSpan, type SpanCapacity } from "../src/train/slots.ts";
import { runMain, UsageError } from "./_main.ts";

const HELP = `Usage: deno task capacity [options]

  --json            print the report as one JSON object (default: a table)
  --steps N         Adam steps per span (default 600)
  --spans N         spans per length (default 3)
  --lengths LIST    span lengths in tokens (default 16,32,64,128,256)
  --seed N          where the spans are taken (default 1)
  --lr X            peak learning rate on the slots (default 0.1; cosine decay to a tenth)
  --grow            grow the target from 4 tokens to the whole span over the first half
  --file F          take spans from this UTF-8 file (repeatable); default .corpus/valid.txt,
                    or /usr/share/common-licenses/* when there is no corpus
  --corpus DIR      corpus directory holding valid.txt (default .corpus)
  --weights PATH    trainer master file (default weights/r3mem-default.master.r3w)
  --help`;

/** The capacity report (`--json`). */
export interface CapacityReport {
  /** The master file, its shape. */
  model: { weights: string; config: Record<string, number>; rank: number };
  /** Where the spans came from. */
  data: { source: string; documents: number };
  /** The settings used. */
  settings: { steps: number; spans: number; lengths: number[]; seed: number; lr: number };
  /** Growing targets (`--grow`). */
  grow: boolean;
  /** Per length: every span's result and their means. */
  results: Record<string, { spans: SpanCapacity[]; mean: Omit<SpanCapacity, "tokens"> }>;
}

const LICENSES = "/usr/share/common-licenses";
const PICK_TOKENS = 256;

async function loadDocs(a: { file?: string[]; corpus?: string }) {
  if (a.file && a.file.length > 0) {
    return { docs: await loadFiles(a.file), source: `files (${a.file.length})` };
  }
  const path = `${a.corpus ?? ".corpus"}/valid.txt`;
  try {
    return { docs: await loadValidation(path), source: path };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound) || a.corpus) throw e;
  }
  // No corpus on this machine: licence texts, which the corpus (docs/CORPUS.md) does not draw on.
  const files: string[] = [];
  for await (const f of Deno.readDir(LICENSES)) if (f.isFile) files.push(`${LICENSES}/${f.name}`);
  files.sort();
  return { docs: await loadFiles(files), source: `${LICENSES}/* (${files.length} files)` };
}

/**
 * `count` nested spans: for each, one document (among those long enough for the longest length)
 * and a start drawn with `seed`; the span of length L is the first L tokens from there.
 *
 * @example
 * ```ts
 * import { pickNestedSpans } from "./capacity.ts";
 * const doc = Int32Array.from({ length: 100 }, (_, i) => i);
 * const spans = pickNestedSpans([doc], 2, 30, 7);
 * console.log(spans.length, spans[0].length); // 2 30
 * ```
 */
export function pickNestedSpans(
  docs: Int32Array[],
  count: number,
  longest: number,
  seed: number,
): Int32Array[] {
  const usable = docs.filter((d) => d.length >= longest);
  if (usable.length === 0) return [];
  const rand = mulberry32(seed);
  const out: Int32Array[] = [];
  for (let i = 0; i < count; i++) {
    // round-robin over a seeded order of documents, so spans come from different documents
    const doc = usable[(Math.floor(rand() * usable.length) + i) % usable.length];
    const start = Math.floor(rand() * (doc.length - longest + 1));
    out.push(doc.slice(start, start + longest));
  }
  return out;
}

function intFlag(v: string | undefined, name: string, d: number, min = 1): number {
  if (v === undefined) return d;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer ≥ ${min}`);
  return n;
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);

function summarize(spans: SpanCapacity[]): Omit<SpanCapacity, "tokens"> {
  return {
    empty: {
      loss: mean(spans.map((s) => s.empty.loss)),
      accuracy: mean(spans.map((s) => s.empty.accuracy)),
    },
    encoder: {
      loss: mean(spans.map((s) => s.encoder.loss)),
      accuracy: mean(spans.map((s) => s.encoder.accuracy)),
    },
    loss: mean(spans.map((s) => s.loss)),
    accuracy: mean(spans.map((s) => s.accuracy)),
    accuracy_int8: mean(spans.map((s) => s.accuracy_int8)),
    greedy_accuracy: mean(spans.map((s) => s.greedy_accuracy)),
    bits: mean(spans.map((s) => s.bits)),
    seconds: spans.reduce((t, s) => t + s.seconds, 0),
  };
}

/**
 * The report as a plain-text table: one row per length, means over the spans with the range of
 * the accuracies.
 */
export function formatCapacity(r: CapacityReport): string {
  const f = (x: number, d = 2) => x.toFixed(d);
  const range = (xs: number[]) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
  const c = r.model.config;
  const lines = [
    `model ${r.model.weights}: ${c.layers}×${c.dim}, ${c.memorySlots} slots, window ${c.window}`,
    `data  ${r.data.source}; ${r.settings.spans} spans per length, ${r.settings.steps} Adam ` +
    `steps, lr ${r.settings.lr}${r.grow ? ", growing target" : ""}, seed ${r.settings.seed}`,
    "",
    "teacher-forced (tf) accuracy and loss (nats/token): from mem_init (empty), the encoder's " +
    "memory, the optimized slots",
    "",
    "tokens  empty tf (loss)  encoder tf (loss)  slots tf  range      loss  int8 tf  greedy  " +
    "range       bits      s",
  ];
  for (const [len, { spans, mean: m }] of Object.entries(r.results)) {
    lines.push(
      [
        len.padStart(6),
        `${f(m.empty.accuracy)} (${f(m.empty.loss)})`.padStart(15),
        `${f(m.encoder.accuracy)} (${f(m.encoder.loss)})`.padStart(17),
        f(m.accuracy).padStart(8),
        range(spans.map((s) => s.accuracy)).padEnd(9),
        f(m.loss).padStart(5),
        f(m.accuracy_int8).padStart(7),
        f(m.greedy_accuracy).padStart(6),
        range(spans.map((s) => s.greedy_accuracy)).padEnd(9),
        f(m.bits, 0).padStart(6),
        f(m.seconds, 0).padStart(6),
      ].join("  "),
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * Runs the command with `args` (without the program name); returns the exit status.
 */
export async function main(args: string[]): Promise<number> {
  const { values: a } = parseArgs({
    args,
    options: {
      json: { type: "boolean" },
      steps: { type: "string" },
      spans: { type: "string" },
      lengths: { type: "string" },
      seed: { type: "string" },
      lr: { type: "string" },
      grow: { type: "boolean" },
      file: { type: "string", multiple: true },
      corpus: { type: "string" },
      weights: { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (a.help) {
    console.log(HELP);
    return 0;
  }
  const steps = intFlag(a.steps, "--steps", 600, 0);
  const count = intFlag(a.spans, "--spans", 3);
  const seed = intFlag(a.seed, "--seed", 1, 0);
  const lr = a.lr === undefined ? 0.1 : Number(a.lr);
  if (!(lr > 0)) throw new UsageError("--lr must be a positive number");
  const lengths = (a.lengths ?? "16,32,64,128,256").split(",").map((s) =>
    intFlag(s.trim(), "--lengths", 0)
  );
  const weights = a.weights ?? "weights/r3mem-default.master.r3w";
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(weights);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UsageError(`no master file at ${weights}`);
    throw e;
  }
  const master = await readMasterFile(bytes);
  const c = master.config;
  const { docs, source } = await loadDocs(a);
  const tokenizer = Tokenizer.fromBytes(master.tokenizer);
  const seqs = docs.map((d: EvalDocument) => tokenizer.encode(d.text));
  // Spans are placed for at least PICK_TOKENS tokens whatever --lengths asks, so runs with
  // different lengths (or --grow) measure the same text; shorter documents only when they must.
  const longest = Math.max(...lengths);
  let spans = pickNestedSpans(seqs, count, Math.max(longest, PICK_TOKENS), seed);
  if (spans.length === 0) spans = pickNestedSpans(seqs, count, longest, seed);
  if (spans.length === 0) throw new UsageError(`no document of ${longest} tokens or more`);

  const engine = new TrainEngine(await createWasmBackend(), c, master.params, {
    rank: master.rank,
    // the decoder's rows: memory, BOS and a full window; compression's: memory twice + segment
    maxRows: Math.max(c.memorySlots + 1 + c.window, 2 * c.memorySlots + c.segmentTokens),
  });
  // stage 2 merges the adapters: the directions are what the runtime's model runs
  engine.setStage(2);
  const empty = master.params.get("mem_init")!;
  const report: CapacityReport = {
    model: { weights, config: { ...c }, rank: master.rank },
    data: { source, documents: docs.length },
    settings: { steps, spans: spans.length, lengths, seed, lr },
    grow: a.grow ?? false,
    results: {},
  };
  for (const len of lengths) {
    const rows: SpanCapacity[] = [];
    for (const [i, span] of spans.entries()) {
      const r = measureSpan(engine, span.subarray(0, len), { steps, lr, grow: a.grow }, empty);
      console.error(
        `capacity: ${len} tokens, span ${i + 1}/${spans.length}: tf ${r.accuracy.toFixed(3)} ` +
          `(encoder ${r.encoder.accuracy.toFixed(3)}), loss ${r.loss.toFixed(3)}, greedy ` +
          `${r.greedy_accuracy.toFixed(3)}, ${r.seconds.toFixed(1)} s`,
      );
      rows.push(r);
    }
    report.results[String(len)] = { spans: rows, mean: summarize(rows) };
  }
  engine.free();
  console.log(a.json ? JSON.stringify(report, null, 2) : formatCapacity(report));
  return 0;
}

if (import.meta.main) await runMain(main);
