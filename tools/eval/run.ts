/**
 * Runs the whole evaluation on a set of documents and formats the report: bits per byte
 * (`doc` and `msg` settings), reconstruction accuracy, perplexities and retrieval recall.
 *
 * @module
 */
import type { ModelConfig } from "../../src/model/config.ts";
import {
  type EvalDocument,
  makeQuery,
  messageParagraphs,
  mixSeed,
  pickSpans,
  querySentence,
  retrievalPool,
  takeBytes,
  truncateText,
  utf8Bytes,
} from "./data.ts";
import type { EvalModel } from "./metrics.ts";
import { bitsPerByte, type BpbResult } from "./bpb.ts";
import { gapClosed, perplexities } from "./perplexity.ts";
import { type RecallSet, retrievalRecall } from "./recall.ts";
import { type ReconResult, reconstructionAccuracy } from "./recon.ts";
import {
  type FormatRecall,
  formatRecall,
  type FormatSizes,
  formatSizes,
  type MemoryGain,
  memoryGain,
} from "./format_size.ts";
import { loadWordNet, paraphrase, WORDNET_DIR } from "./paraphrase.ts";
import { type RefineCurve, refinementCurve } from "./refine.ts";
import { DEFAULT_REFINE_LR } from "../../src/refine_budget.ts";
import { conversationMetrics, type ConversationReport, conversationsOf } from "./conversation.ts";

/** Budgets and choices of {@link runEval}. */
export interface EvalOptions {
  /** UTF-8 bytes of text each metric may use (bpb doc, bpb msg, perplexity). Default 131072. */
  maxBytes?: number;
  /**
   * Documents longer than this (or than `maxBytes`) are cut at a paragraph boundary first.
   * Default 16384.
   */
  docBytes?: number;
  /** Spans reconstructed per tokens-per-slot ratio. Default 96. */
  reconSpans?: number;
  /** Tokens per memory slot of the reconstruction spans. Default `[4, 8, 16]`. */
  tokensPerSlot?: number[];
  /** Spans refined per tokens-per-slot ratio (metric `refine`). Default 4. */
  refineSpans?: number;
  /** Tokens per memory slot of the refined spans. Default `[2, 4, 8]`. */
  refineTokensPerSlot?: number[];
  /** Refinement budgets, Adam steps per memory. Default `[0, 50, 100, 200, 400]`. */
  refineSteps?: number[];
  /** Refinement's peak learning rate. Default: `compress`'s (`DEFAULT_REFINE_LR`). */
  refineLr?: number;
  /** Paragraphs in the retrieval pool. Default 300. */
  poolSize?: number;
  /** Seed of the query word dropping. Default 1. */
  seed?: number;
  /** Check the lossless round trip on the first message. Default true. */
  verify?: boolean;
  /** Code lossless files with the document cache. Default true (`--no-cache`: false). */
  cache?: boolean;
  /** Which metrics to run (default all). */
  metrics?: MetricName[];
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** The metrics {@link runEval} can run. */
export const METRICS = [
  "bpb",
  "recon",
  "refine",
  "ppl",
  "recall",
  "format",
  "conversation",
] as const;

/** One of {@link METRICS}. */
export type MetricName = typeof METRICS[number];

/** Everything {@link runEval} measures (fields of metrics not run are absent). */
export interface EvalReport {
  /** The model evaluated. */
  model: { fingerprint: string; backend: string; config: ModelConfig; weights?: string };
  /** The text evaluated on. */
  data: { source: string; documents: number; bytes: number };
  /** The budgets used. */
  settings: Required<Omit<EvalOptions, "log" | "metrics">>;
  /** Bits per byte: each document whole (`doc`), each ≤ 1 KB paragraph alone (`msg`). */
  bpb?: { doc: BpbResult; msg: BpbResult };
  /** `bpb.doc.bpb_lossless`. */
  bpb_lossless?: number;
  /** `bpb.doc.bpb_gzip`. */
  bpb_gzip?: number;
  /** `bpb.doc.bpb_brotli`. */
  bpb_brotli?: number;
  /** `bpb.doc.bpb_zstd`. */
  bpb_zstd?: number;
  /** Greedy reconstruction accuracy from memory alone, per tokens-per-slot ratio. */
  recon_token_acc?: Record<string, number>;
  /** Teacher-forced reconstruction accuracy from memory alone, per tokens-per-slot ratio. */
  recon_tf_acc?: Record<string, number>;
  /** Details of the reconstruction runs, per tokens-per-slot ratio. */
  recon?: Record<string, ReconResult>;
  /**
   * Memory-only reconstruction after refinement at compress time, per tokens-per-slot ratio:
   * accuracy and time against the steps allowed (`./refine.ts`).
   */
  refine?: Record<string, RefineCurve>;
  /** Perplexity of non-first segments with no history (NaN, JSON null, when none). */
  ppl_none?: number;
  /** … with the R³Mem memory of the earlier segments. */
  ppl_r3mem?: number;
  /** … with the earlier text in the window. */
  ppl_full?: number;
  /** `(ppl_none − ppl_r3mem) / (ppl_none − ppl_full)`, null when there is no gap. */
  gap_closed?: number | null;
  /** Segments and tokens scored for perplexity. */
  ppl?: { segments: number; tokens: number };
  /** Recall@5 of memory search over paragraph memories (null when the pool is empty). */
  recall_at_5_r3mem?: number | null;
  /** Recall@5 of BM25 over the same paragraphs (null when the pool is empty). */
  recall_at_5_bm25?: number | null;
  /** Diagnostic: recall@5 with documents scored by their own key alone (`scoring: "node"`). */
  recall_at_5_r3mem_node?: number | null;
  /** Recall@5 of the library's lexical search (`mode: "lexical"`), null when the pool is empty. */
  recall_at_5_lexical?: number | null;
  /** Recall@5 of hybrid search (`mode: "hybrid"`, the default), null when the pool is empty. */
  recall_at_5_hybrid?: number | null;
  /**
   * Recall@5 of every ranking on the second query set, WordNet paraphrases (`./paraphrase.ts`);
   * null without WordNet (`/usr/share/wordnet`) or with an empty pool.
   */
  recall_paraphrased?: RecallSet | null;
  /** Size of the retrieval pool. */
  recall?: { pool: number; queries: number };
  /** Seconds each metric took. */
  timings_s: Record<string, number>;
  /**
   * The default `.r3m` beside the compact archive and brotli-11, and the memory gain the
   * default's memory code keeps (`./format_size.ts`).
   */
  format?: { doc: FormatSizes; msg: FormatSizes; memory_gain: MemoryGain; recall: FormatRecall };
  /** Conversations built with `R3Mem.append` (`./conversation.ts`). */
  conversation?: ConversationReport;
}

/**
 * Runs the evaluation.
 *
 * @param m The model.
 * @param docs The documents (validation split or the user's files).
 * @param options Budgets, seed, progress.
 * @param source How to name the data in the report (default `"documents"`).
 * @returns The report.
 */
export async function runEval(
  m: EvalModel,
  docs: EvalDocument[],
  options: EvalOptions = {},
  source = "documents",
): Promise<EvalReport> {
  const run = startRun(m, docs, options, source);
  const metrics = new Set<MetricName>(options.metrics ?? METRICS);
  const total0 = performance.now();
  // In this order whatever the order of `options.metrics`, as the report and timings expect.
  for (const [name, step] of STEPS) if (metrics.has(name)) await step(run);
  run.report.timings_s.total = Math.round((performance.now() - total0) / 10) / 100;
  return run.report;
}

/** What every metric of one {@link runEval} shares. */
interface EvalRun {
  m: EvalModel;
  docs: EvalDocument[];
  settings: EvalReport["settings"];
  /** The documents cut to `docBytes`, empty ones left out. */
  texts: string[];
  /** The tokens of `texts[i]`, encoded once. */
  tokensOf: (i: number) => Int32Array;
  report: EvalReport;
  log: (line: string) => void;
  /** Runs `fn`, recording its seconds in `report.timings_s[name]`. */
  timed: <T>(name: string, fn: () => T | Promise<T>) => Promise<T>;
}

// The settings with their defaults, the texts and an empty report.
function startRun(
  m: EvalModel,
  docs: EvalDocument[],
  options: EvalOptions,
  source: string,
): EvalRun {
  const settings = {
    maxBytes: options.maxBytes ?? 131072,
    docBytes: options.docBytes ?? 16384,
    reconSpans: options.reconSpans ?? 96,
    refineSpans: options.refineSpans ?? 4,
    refineTokensPerSlot: options.refineTokensPerSlot ?? [2, 4, 8],
    refineSteps: options.refineSteps ?? [0, 50, 100, 200, 400],
    refineLr: options.refineLr ?? DEFAULT_REFINE_LR,
    tokensPerSlot: options.tokensPerSlot ?? [4, 8, 16],
    poolSize: options.poolSize ?? 300,
    seed: options.seed ?? 1,
    verify: options.verify ?? true,
    cache: options.cache ?? true,
  };
  const log = options.log ?? (() => {});
  const { r3, config } = m;
  const docCap = Math.min(settings.docBytes, settings.maxBytes);
  const texts = docs.map((d) => truncateText(d.text, docCap)).filter((t) => t.trim());
  const tokenCache = new Map<number, Int32Array>();
  const tokensOf = (i: number) => {
    let t = tokenCache.get(i);
    if (!t) tokenCache.set(i, t = r3.tokenizer.encode(texts[i]));
    return t;
  };
  const report: EvalReport = {
    model: { fingerprint: r3.fingerprint, backend: r3.backend, config },
    data: {
      source,
      documents: docs.length,
      bytes: docs.reduce((s, d) => s + utf8Bytes(d.text), 0),
    },
    settings,
    timings_s: {},
  };
  const timed = async <T>(name: string, fn: () => T | Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const out = await fn();
    const s = (performance.now() - t0) / 1000;
    report.timings_s[name] = Math.round(s * 100) / 100;
    log(`eval: ${name} took ${s.toFixed(1)} s`);
    return out;
  };
  return { m, docs, settings, texts, tokensOf, report, log, timed };
}

// The documents within the byte budget, and their ≤ 1 KB paragraphs as messages.
function docAndMessageItems(run: EvalRun): { docItems: string[]; msgItems: string[] } {
  const docItems = takeBytes(run.texts, run.settings.maxBytes);
  return { docItems, msgItems: docItems.flatMap((t) => messageParagraphs(t, 1024)) };
}

// The retrieval pool of the texts' paragraphs and one query per pool entry.
function poolAndQueries(run: EvalRun) {
  const pool = retrievalPool(
    run.texts.map((text, i) => ({ id: String(i), text })),
    { size: run.settings.poolSize },
  );
  const queries = pool.map((p, i) => makeQuery(p, mixSeed(run.settings.seed, i)));
  return { pool, queries };
}

async function evalBpb(run: EvalRun): Promise<void> {
  const { m, settings, report, log, timed } = run;
  const { docItems, msgItems } = docAndMessageItems(run);
  const doc = await timed("bpb_doc", () => bitsPerByte(m.r3, docItems, false, settings.cache));
  log(`eval: bpb doc: ${doc.items} documents, ${doc.bytes} bytes`);
  const msg = await timed(
    "bpb_msg",
    () => bitsPerByte(m.r3, msgItems, settings.verify, settings.cache),
  );
  log(`eval: bpb msg: ${msg.items} paragraphs, ${msg.bytes} bytes`);
  report.bpb = { doc, msg };
  report.bpb_lossless = doc.bpb_lossless;
  report.bpb_gzip = doc.bpb_gzip;
  report.bpb_brotli = doc.bpb_brotli;
  report.bpb_zstd = doc.bpb_zstd;
}

async function evalFormat(run: EvalRun): Promise<void> {
  const { m, timed } = run;
  const { docItems, msgItems } = docAndMessageItems(run);
  run.report.format = {
    doc: await timed("format_doc", () => formatSizes(m, docItems)),
    msg: await timed("format_msg", () => formatSizes(m, msgItems)),
    memory_gain: await timed("memory_gain", () => memoryGain(m, msgItems.slice(0, 200))),
    recall: await timed("format_recall", () => {
      const { pool, queries } = poolAndQueries(run);
      return formatRecall(m, pool, queries, 5);
    }),
  };
}

async function evalConversation(run: EvalRun): Promise<void> {
  const { docs } = run;
  // Long conversations from the split; from a few files (--file), whatever they hold.
  const convs = conversationsOf(docs, { minTurns: docs.length < 8 ? 4 : 16 });
  run.report.conversation = await run.timed(
    "conversation",
    () => conversationMetrics(run.m, convs),
  );
}

async function evalRecon(run: EvalRun): Promise<void> {
  const { m, settings, texts, tokensOf, report, log, timed } = run;
  report.recon_token_acc = {};
  report.recon_tf_acc = {};
  report.recon = {};
  for (const k of settings.tokensPerSlot) {
    const length = k * m.config.memorySlots;
    const r = await timed(`recon_${k}`, () => {
      const seqs: Int32Array[] = [];
      for (let i = 0; i < texts.length; i++) seqs.push(tokensOf(i));
      return reconstructionAccuracy(m, pickSpans(seqs, length, settings.reconSpans));
    });
    log(`eval: recon ${k}/slot: ${r.spans} spans of ${length} tokens`);
    report.recon[String(k)] = r;
    report.recon_token_acc[String(k)] = r.accuracy;
    report.recon_tf_acc[String(k)] = r.tf_accuracy;
  }
}

async function evalRefine(run: EvalRun): Promise<void> {
  const { m, settings, texts, tokensOf, report, log, timed } = run;
  const curves: Record<string, RefineCurve> = report.refine = {};
  const seqs: Int32Array[] = [];
  for (let i = 0; i < texts.length; i++) seqs.push(tokensOf(i));
  for (const k of settings.refineTokensPerSlot) {
    const length = k * m.config.memorySlots;
    const spans = pickSpans(seqs, length, settings.refineSpans);
    curves[String(k)] = await timed(
      `refine_${k}`,
      () => refinementCurve(m, m.weights, spans, settings.refineSteps, settings.refineLr),
    );
    log(`eval: refine ${k}/slot: ${spans.length} spans of ${length} tokens`);
  }
}

async function evalPpl(run: EvalRun): Promise<void> {
  const { m, settings, texts, tokensOf, report, log, timed } = run;
  const p = await timed("ppl", () => {
    const chosen = takeBytes(texts, settings.maxBytes).map((_, i) => tokensOf(i));
    return perplexities(m, chosen);
  });
  log(`eval: ppl: ${p.segments} segments, ${p.tokens} tokens`);
  report.ppl_none = p.none;
  report.ppl_r3mem = p.r3mem;
  report.ppl_full = p.full;
  report.gap_closed = gapClosed(p);
  report.ppl = { segments: p.segments, tokens: p.tokens };
}

async function evalRecall(run: EvalRun): Promise<void> {
  const { m, settings, report, log, timed } = run;
  const r = await timed("recall", async () => {
    const { pool, queries } = poolAndQueries(run);
    const wordnet = await loadWordNet();
    if (!wordnet) log(`eval: recall: no WordNet at ${WORDNET_DIR}: no paraphrased queries`);
    const paraphrased = wordnet
      ? pool.map((p, i) => {
        const seed = mixSeed(settings.seed, i);
        return paraphrase(wordnet, querySentence(p, seed), mixSeed(seed, 2));
      })
      : undefined;
    return retrievalRecall(m.r3, pool, queries, 5, paraphrased);
  });
  log(`eval: recall: pool of ${r.pool} paragraphs`);
  const any = r.queries > 0;
  report.recall_at_5_r3mem = any ? r.r3mem : null;
  report.recall_at_5_bm25 = any ? r.bm25 : null;
  report.recall_at_5_r3mem_node = any ? r.r3memNode : null;
  report.recall_at_5_lexical = any ? r.lexical : null;
  report.recall_at_5_hybrid = any ? r.hybrid : null;
  report.recall_paraphrased = any && r.paraphrased ? r.paraphrased : null;
  report.recall = { pool: r.pool, queries: r.queries };
}

/** The metrics' steps, in the order {@link runEval} runs them. */
const STEPS: [MetricName, (run: EvalRun) => Promise<void>][] = [
  ["bpb", evalBpb],
  ["format", evalFormat],
  ["conversation", evalConversation],
  ["recon", evalRecon],
  ["refine", evalRefine],
  ["ppl", evalPpl],
  ["recall", evalRecall],
];
