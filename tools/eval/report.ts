/**
 * The plain-text form of an eval report (`deno task eval` without `--json`).
 *
 * @module
 */
import { formatConversation } from "./conversation.ts";
import { formatRefine } from "./refine.ts";
import type { EvalReport } from "./run.ts";

const num = (v: number | null | undefined, digits = 3) =>
  v === undefined ? "—" : v === null || !Number.isFinite(v) ? "n/a" : v.toFixed(digits);

/**
 * A readable plain-text table of a report.
 *
 * @example
 * ```ts
 * import { formatReport } from "./report.ts";
 * const text = formatReport({
 *   model: { fingerprint: "ab".repeat(32), backend: "wasm", config: {} as never },
 *   data: { source: "valid", documents: 1, bytes: 10 },
 *   settings: {} as never,
 *   ppl_none: 30, ppl_r3mem: 20, ppl_full: 10, gap_closed: 0.5,
 *   timings_s: { total: 1 },
 * });
 * console.log(text.includes("gap closed")); // true
 * ```
 */
export function formatReport(r: EvalReport): string {
  const lines: string[] = [];
  lines.push(
    `model ${r.model.fingerprint.slice(0, 12)}… (${r.model.backend})` +
      (r.model.weights ? ` ${r.model.weights}` : ""),
  );
  lines.push(`data  ${r.data.source}: ${r.data.documents} documents, ${r.data.bytes} bytes`);
  if (r.bpb) {
    lines.push("");
    lines.push("bits per byte        r3mem    gzip  brotli    zstd  (residual)   items    bytes");
    for (const key of ["doc", "msg"] as const) {
      const b = r.bpb[key];
      lines.push(
        `  ${key === "doc" ? "doc (whole)  " : "msg (≤1 KB ¶)"}  ${
          num(b.bpb_lossless).padStart(8)
        }  ${num(b.bpb_gzip).padStart(6)}  ${num(b.bpb_brotli).padStart(6)}  ${
          num(b.bpb_zstd).padStart(6)
        }  ${num(b.bpb_residual).padStart(10)}  ${String(b.items).padStart(6)}  ${
          String(b.bytes).padStart(7)
        }`,
      );
    }
  }
  if (r.format) {
    const f = r.format, g = f.memory_gain;
    lines.push("");
    lines.push("default .r3m (bpb)  default  compact  brotli  ÷ brotli  (slots all)  storage");
    for (const key of ["doc", "msg"] as const) {
      const b = f[key];
      lines.push(
        `  ${key}${" ".repeat(18 - key.length)}${num(b.bpb_default).padStart(7)}  ${
          num(b.bpb_compact).padStart(7)
        }  ${num(b.bpb_brotli).padStart(6)}  ${num(b.default_vs_brotli).padStart(8)}  ${
          num(b.bpb_slots_all).padStart(11)
        }  ${b.default_slots}`,
      );
    }
    lines.push(
      `memory gain (msg, bpb)  int8 ${num(g.gain_int8)}  code ${num(g.gain_code)}  kept ${
        num(g.kept, 2)
      }  (${g.items} messages)`,
    );
    lines.push(
      `recall@5 default memories ${num(f.recall.default)}  slots all ${
        num(f.recall.all)
      }  (pool ${f.recall.pool})`,
    );
  }
  if (r.conversation) {
    lines.push("");
    lines.push(...formatConversation(r.conversation));
  }
  if (r.recon) {
    lines.push("");
    lines.push("reconstruction from memory alone (token accuracy)");
    lines.push("  tokens/slot    greedy  teacher-forced  memory bpb   spans  tokens");
    for (const [k, v] of Object.entries(r.recon)) {
      lines.push(
        `  ${k.padStart(11)}  ${num(v.accuracy).padStart(8)}  ${num(v.tf_accuracy).padStart(14)}  ${
          num(v.bpb_memory).padStart(10)
        }  ${String(v.spans).padStart(6)}  ${String(v.tokens).padStart(6)}`,
      );
    }
  }
  if (r.refine) {
    lines.push("");
    lines.push(...formatRefine(r.refine));
  }
  if (r.ppl_none !== undefined) {
    lines.push("");
    lines.push(
      `perplexity  none ${num(r.ppl_none, 2)}  r3mem ${num(r.ppl_r3mem, 2)}  full ${
        num(r.ppl_full, 2)
      }  gap closed ${num(r.gap_closed)}  (${r.ppl?.tokens ?? 0} tokens)`,
    );
  }
  if (r.recall_at_5_r3mem !== undefined) {
    lines.push(
      `recall@5    r3mem ${num(r.recall_at_5_r3mem)} (own keys ${
        num(r.recall_at_5_r3mem_node)
      })  bm25 ${num(r.recall_at_5_bm25)}  lexical ${num(r.recall_at_5_lexical)}  hybrid ${
        num(r.recall_at_5_hybrid)
      }  (pool ${r.recall?.pool ?? 0})`,
    );
    const p = r.recall_paraphrased;
    if (p) {
      lines.push(
        `  paraphrased  r3mem ${num(p.r3mem)}  bm25 ${num(p.bm25)}  lexical ${
          num(p.lexical)
        }  hybrid ${num(p.hybrid)}  (WordNet, ${p.queries} queries)`,
      );
    }
  }
  lines.push("");
  lines.push(
    "time (s)    " + Object.entries(r.timings_s).map(([k, v]) => `${k} ${v.toFixed(1)}`).join("  "),
  );
  return lines.join("\n") + "\n";
}
