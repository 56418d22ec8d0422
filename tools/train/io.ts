/**
 * The trainer's small helpers: time and log formatting, files, the corpus documents, the
 * tokenizer's sample, the fixed validation batches.
 *
 * @module
 */
import { Sampler, type TokenizedCorpus } from "../../src/train/data.ts";
import { makeBatch, type Recipe } from "../../src/train/trainer.ts";
import { readCorpusDocuments } from "../corpus/text.ts";

export function fmtTime(ms: number): string {
  if (!Number.isFinite(ms)) return "?";
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(r).padStart(2, "0")}s`;
}

export function log(msg: string): void {
  console.log(`[train ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

export async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await Deno.writeFile(path + ".tmp", bytes);
  await Deno.rename(path + ".tmp", path);
}

export async function readDocs(path: string, maxBytes: number): Promise<string[]> {
  const out: string[] = [];
  let bytes = 0;
  for await (const d of readCorpusDocuments(path)) {
    out.push(d.text);
    bytes += d.text.length;
    if (bytes >= maxBytes) break;
  }
  return out;
}

/** Every k-th document up to `maxChars` characters: the tokenizer's training sample. */
export function tokenizerSample(docs: string[], maxChars: number): string[] {
  const total = docs.reduce((a, d) => a + d.length, 0);
  const k = Math.max(1, Math.floor(total / maxChars));
  const out: string[] = [];
  let n = 0;
  for (let i = 0; i < docs.length && n < maxChars; i += k) out.push(docs[i]), n += docs[i].length;
  return out;
}

/** Fixed validation examples (same for every run with the same tokenizer). */
export function validationWork(corpus: TokenizedCorpus, recipe: Recipe) {
  const s = new Sampler(corpus, 12345);
  const saved = {
    ...recipe,
    stage1: { ...recipe.stage1, batch: 32 },
    stage2: { ...recipe.stage2, batch: 32 },
  };
  return { lm: makeBatch(1, saved, s).work, mem: makeBatch(2, saved, s).work };
}
