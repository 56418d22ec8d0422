/**
 * How many memory-code coefficients pay for themselves: a diagnostic for the compact `.r3m`'s
 * code memory (`docs/FORMAT.md`, "Memory code"). For validation messages (≤ 1 KB paragraphs) and
 * documents, every item is coded as `compress(text)` would with a code of `k` coefficients for
 * each `k` asked, and the bytes of the code plus its residual are summed; `k = 0` is the compact
 * lossless archive (no memory), `int8` the item's own int8 slots (what a lossy memory keeps).
 * Items are grouped by token count, so the best `k` per length can be read off; `oracle` is the
 * total when every item takes its own best `k` (what a writer trying every `k` would get).
 *
 * ```
 * deno task probe:code [--weights weights/r3mem-default.r3w] [--basis PATH]
 *   [--corpus .corpus] [--files a.txt,b.txt] [--ks 0,16,32,64,128,255] [--items 200] [--json]
 * ```
 *
 * `--basis` names the `.r3b` to code with (default: the one beside the weights); with
 * `--fit N` a basis of `N` components is fitted first from the training split, as
 * `tools/memory_basis.ts` does, and written to `--basis`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { MemoryBasis } from "../src/codec/memory_basis.ts";
import { fitMemoryBasis } from "../src/codec/memory_basis.ts";
import { encodeResidual } from "../src/codec/residual_coder.ts";
import { dequantizeRowsInt8, quantizeRowsInt8 } from "../src/model/weights_format.ts";
import { compressTokens, loadEvalModel } from "./eval/metrics.ts";
import { loadFiles, loadValidation, messageParagraphs, takeBytes } from "./eval/data.ts";
import { sampleMemories, sampleTexts } from "./memory_basis.ts";

/**
 * Bytes of a code of `k` coefficients in the compact container: basis id, count, nibbles (no
 * code at all for `k = 0`, the compact archive).
 *
 * @example
 * ```ts
 * import { codeBytes } from "./code_rate.ts";
 * console.log(codeBytes(0), codeBytes(16), codeBytes(255)); // 0 11 131
 * ```
 */
export function codeBytes(k: number): number {
  return k === 0 ? 0 : 3 + Math.ceil(k / 2);
}

/** Token-count groups the report is split by (upper bounds). */
const GROUPS = [32, 64, 128, 256, 512, Infinity];

interface ItemCost {
  tokens: number;
  bytes: number;
  /** Code + residual bytes per `k` (same order as the ks), then int8. */
  cost: number[];
}

function measure(
  m: Awaited<ReturnType<typeof loadEvalModel>>,
  basis: MemoryBasis,
  texts: string[],
  ks: number[],
  memoryBytes = true,
): ItemCost[] {
  const S = m.config.memorySlots, D = m.config.dim;
  const out: ItemCost[] = [];
  for (const text of texts) {
    const ids = Array.from(m.r3.tokenizer.encode(text));
    if (ids.length === 0) continue;
    const memory = compressTokens(m.model, ids);
    const cost = ks.map((k) => {
      const against = k === 0 ? m.model.memInit : basis.decode(basis.encode(memory, k));
      return (memoryBytes ? codeBytes(k) : 0) + encodeResidual(m.model, against, ids, true).length;
    });
    const q = quantizeRowsInt8(memory, S, D);
    const int8 = dequantizeRowsInt8(q.q, q.scales, S, D);
    cost.push((memoryBytes ? S * (D + 4) : 0) + encodeResidual(m.model, int8, ids, true).length);
    out.push({ tokens: ids.length, bytes: new TextEncoder().encode(text).length, cost });
  }
  return out;
}

function report(name: string, items: ItemCost[], ks: number[]) {
  const labels = [...ks.map(String), "int8", "oracle"];
  const rows: Record<string, unknown>[] = [];
  let lo = 0;
  for (const hi of GROUPS) {
    const group = items.filter((it) => it.tokens > lo && it.tokens <= hi);
    const bound = lo;
    lo = hi;
    if (group.length === 0) continue;
    const bytes = group.reduce((s, it) => s + it.bytes, 0);
    const sums = labels.map((_, j) =>
      group.reduce((s, it) => {
        if (j < ks.length + 1) return s + it.cost[j];
        return s + Math.min(...it.cost.slice(0, ks.length));
      }, 0)
    );
    const best = ks[sums.slice(0, ks.length).indexOf(Math.min(...sums.slice(0, ks.length)))];
    rows.push({
      set: name,
      tokens: `${bound + 1}-${hi === Infinity ? "" : hi}`,
      items: group.length,
      ...Object.fromEntries(labels.map((l, j) => [l, +((sums[j] * 8) / bytes).toFixed(3)])),
      best_k: best,
    });
  }
  return rows;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      weights: { type: "string", default: "weights/r3mem-default.r3w" },
      basis: { type: "string" },
      fit: { type: "string" },
      corpus: { type: "string", default: ".corpus" },
      files: { type: "string" },
      ks: { type: "string", default: "0,16,32,64,128,255" },
      items: { type: "string", default: "200" },
      docs: { type: "string", default: "24" },
      json: { type: "boolean" },
      "residual-only": { type: "boolean" },
    },
  });
  const weights = await Deno.readFile(values.weights!);
  const basisPath = values.basis ?? values.weights!.replace(/\.r3w$/, "") + ".r3b";
  if (values.fit) {
    const t0 = performance.now();
    const s = await sampleMemories(
      weights,
      await Array.fromAsync(sampleTexts(`${values.corpus}/train.txt`, 2400)),
    );
    const basis = fitMemoryBasis(s.memories, {
      slotCount: s.slotCount,
      dim: s.dim,
      components: Number(values.fit),
      model: s.fingerprint,
    });
    await Deno.writeFile(basisPath, basis.toBytes());
    console.error(`code_rate: fitted ${basisPath} in ${((performance.now() - t0) / 1e3) | 0} s`);
  }
  const basis = MemoryBasis.fromBytes(await Deno.readFile(basisPath));
  const ks = values.ks!.split(",").map(Number).filter((k) => k <= basis.components);
  const m = await loadEvalModel(weights);
  const docs = values.files
    ? await loadFiles(values.files.split(","))
    : await loadValidation(`${values.corpus}/valid.txt`);
  const texts = takeBytes(docs.map((d) => d.text), 131072);
  const messages = texts.flatMap((t) => messageParagraphs(t, 1024)).slice(0, Number(values.items));
  const wholeDocs = texts.slice(0, Number(values.docs)).map((t) => t.slice(0, 8192));
  const t0 = performance.now();
  const rows = [
    ...report("msg", measure(m, basis, messages, ks, !values["residual-only"]), ks),
    ...report("doc", measure(m, basis, wholeDocs, ks, !values["residual-only"]), ks),
  ];
  console.error(`code_rate: ${((performance.now() - t0) / 1e3).toFixed(0)} s`);
  if (values.json) console.log(JSON.stringify(rows, null, 2));
  else console.table(rows);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
