/**
 * A hand-written SVG scatter plot of rate against distortion: bits per byte on the x axis,
 * token reconstruction accuracy on the y axis (1.0 for every lossless coder).
 *
 * @module
 */

/** One point of a series. */
export interface PlotPoint {
  /** Bits per byte. */
  x: number;
  /** Accuracy, 0 … 1. */
  y: number;
  /** Short label written beside the point. */
  label?: string;
  /** Draw this point's marker hollow. */
  hollow?: boolean;
}

/** One series: a colour, a legend entry and its points. */
export interface PlotSeries {
  /** Legend text. */
  name: string;
  /** CSS colour. */
  color: string;
  /** The points. */
  points: PlotPoint[];
  /** Join the points with a line (in the order given). */
  line?: boolean;
  /** Draw hollow markers. */
  hollow?: boolean;
  /** Marker shape (default circle). */
  shape?: "circle" | "square" | "diamond" | "triangle";
}

/** Options of {@link rateDistortionSvg}. */
export interface PlotOptions {
  /** Title on top. */
  title?: string;
  /** A second line under the title (model, data). */
  subtitle?: string;
  /** Width in pixels (default 760). */
  width?: number;
  /** Height in pixels (default 460). */
  height?: number;
}

/** Escapes text for SVG content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

// A "nice" upper bound (1, 2, 2.5 or 5 × 10^k) at or above `v`, and its tick step.
function niceAxis(v: number): { max: number; step: number } {
  if (!(v > 0) || !Number.isFinite(v)) return { max: 1, step: 0.2 };
  const exp = Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    const max = m * 10 ** exp;
    if (max >= v) {
      const raw = max / 6;
      const e = Math.floor(Math.log10(raw));
      const step = [1, 2, 2.5, 5, 10].map((s) => s * 10 ** e).find((s) => s >= raw)!;
      return { max: Math.ceil(max / step - 1e-9) * step, step };
    }
  }
  return { max: v, step: v / 5 };
}

// The x axis: linear from 0, or logarithmic (ticks 1, 2, 5 × 10^k) when the values span more
// than a factor of 20.
function xTicks(xs: number[]): { log: boolean; min: number; max: number; ticks: number[] } {
  const pos = xs.filter((x) => x > 0);
  const hi = Math.max(0, ...xs);
  const lo = pos.length ? Math.min(...pos) : 0;
  if (lo > 0 && hi / lo > 20) {
    const min = 10 ** Math.floor(Math.log10(lo));
    const max = 10 ** Math.ceil(Math.log10(hi * 1.05));
    const ticks: number[] = [];
    for (let d = min; d <= max * 1.0001; d *= 10) {
      for (const m of [1, 2, 5]) if (d * m <= max * 1.0001) ticks.push(d * m);
    }
    return { log: true, min, max, ticks };
  }
  const { max, step } = niceAxis(hi * 1.05);
  const ticks: number[] = [];
  for (let i = 0; i * step <= max + 1e-9; i++) ticks.push(i * step);
  return { log: false, min: 0, max, ticks };
}

const fmt = (v: number) => String(Math.round(v * 1000) / 1000);

function marker(s: PlotSeries, cx: number, cy: number, hollow = s.hollow): string {
  const fill = hollow ? "white" : s.color;
  const common = `fill="${fill}" stroke="${s.color}" stroke-width="2"`;
  const r = 5;
  switch (s.shape ?? "circle") {
    case "square":
      return `<rect x="${fmt(cx - r)}" y="${fmt(cy - r)}" width="${2 * r}" height="${
        2 * r
      }" ${common}/>`;
    case "diamond":
      return `<polygon points="${fmt(cx)},${fmt(cy - r - 1)} ${fmt(cx + r + 1)},${fmt(cy)} ${
        fmt(cx)
      },${fmt(cy + r + 1)} ${fmt(cx - r - 1)},${fmt(cy)}" ${common}/>`;
    case "triangle":
      return `<polygon points="${fmt(cx)},${fmt(cy - r - 1)} ${fmt(cx + r + 1)},${fmt(cy + r)} ${
        fmt(cx - r - 1)
      },${fmt(cy + r)}" ${common}/>`;
    default:
      return `<circle cx="${fmt(cx)}" cy="${fmt(cy)}" r="${r}" ${common}/>`;
  }
}

// The plot's geometry: the image (W × H), the plot area inside it (left, top, pw × ph) and the
// scales from bits per byte and accuracy into it. The margins leave room for the tick labels and
// axis titles (left, bottom), the title and subtitle (top) and the legend (right).
function frameOf(series: PlotSeries[], options: PlotOptions) {
  const W = options.width ?? 760, H = options.height ?? 460;
  const left = 64, right = 230, top = options.subtitle ? 58 : 40, bottom = 56;
  const pw = W - left - right, ph = H - top - bottom;
  const xs = series.flatMap((s) => s.points.map((p) => p.x)).filter(Number.isFinite);
  const xAxis = xTicks(xs);
  const xmax = xAxis.max;
  const ymax = 1.05;
  const X = xAxis.log
    ? (x: number) =>
      left + (Math.log10(Math.max(x, xAxis.min) / xAxis.min) / Math.log10(xmax / xAxis.min)) * pw
    : (x: number) => left + (Math.max(0, x) / xmax) * pw;
  const Y = (y: number) => top + ph - (Math.min(Math.max(y, 0), ymax) / ymax) * ph;
  return { W, H, left, top, pw, ph, xAxis, X, Y };
}
type Frame = ReturnType<typeof frameOf>;

// The opening tag, the white background, the title and the subtitle.
function header({ W, H, left, pw }: Frame, options: PlotOptions): string[] {
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      `font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`);
  if (options.title) {
    out.push(
      `<text x="${left + pw / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${
        escapeXml(options.title)
      }</text>`,
    );
  }
  if (options.subtitle) {
    out.push(
      `<text x="${left + pw / 2}" y="40" text-anchor="middle" fill="#555">${
        escapeXml(options.subtitle)
      }</text>`,
    );
  }
  return out;
}

// The grid, the tick labels, the plot area's border and the axis titles.
function axes({ H, left, top, pw, ph, xAxis, X, Y }: Frame): string[] {
  const out: string[] = [];
  out.push(`<g stroke="#e4e4e4" stroke-width="1">`);
  for (const v of xAxis.ticks) {
    out.push(`<line x1="${fmt(X(v))}" y1="${top}" x2="${fmt(X(v))}" y2="${top + ph}"/>`);
  }
  for (let v = 0; v <= 1 + 1e-9; v += 0.2) {
    out.push(`<line x1="${left}" y1="${fmt(Y(v))}" x2="${left + pw}" y2="${fmt(Y(v))}"/>`);
  }
  out.push(`</g>`);
  out.push(`<g fill="#333">`);
  for (const v of xAxis.ticks) {
    out.push(
      `<text x="${fmt(X(v))}" y="${top + ph + 18}" text-anchor="middle">${fmt(v)}</text>`,
    );
  }
  for (let v = 0; v <= 1 + 1e-9; v += 0.2) {
    out.push(
      `<text x="${left - 8}" y="${fmt(Y(v) + 4)}" text-anchor="end">${v.toFixed(1)}</text>`,
    );
  }
  out.push(`</g>`);
  out.push(
    `<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
  );
  out.push(
    `<text x="${left + pw / 2}" y="${H - 14}" text-anchor="middle">` +
      `bits per byte of input${xAxis.log ? ", log scale" : ""} (lower is smaller)</text>`,
  );
  out.push(
    `<text x="18" y="${top + ph / 2}" text-anchor="middle" transform="rotate(-90 18 ${
      top + ph / 2
    })">token reconstruction accuracy</text>`,
  );
  return out;
}

// One series as a group: its line (when joined), then each point's marker and label. Points
// that are not finite are left out.
function seriesGroup(s: PlotSeries, { X, Y }: Frame): string[] {
  const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const out = [`<g>`];
  if (s.line && pts.length > 1) {
    out.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${
        pts.map((p) => `${fmt(X(p.x))},${fmt(Y(p.y))}`).join(" ")
      }"/>`,
    );
  }
  for (const p of pts) {
    out.push(marker(s, X(p.x), Y(p.y), p.hollow ?? s.hollow));
    if (p.label) {
      out.push(
        `<text x="${fmt(X(p.x) + 8)}" y="${fmt(Y(p.y) - 8)}" fill="${s.color}" font-size="11">${
          escapeXml(p.label)
        }</text>`,
      );
    }
  }
  out.push(`</g>`);
  return out;
}

// A marker and the name of every series, one under the other right of the plot area.
function legend(series: PlotSeries[], { left, top, pw }: Frame): string[] {
  const lx = left + pw + 16;
  const out = [`<g>`];
  series.forEach((s, i) => {
    const ly = top + 10 + i * 22;
    out.push(marker(s, lx + 6, ly));
    out.push(`<text x="${lx + 18}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  out.push(`</g>`);
  return out;
}

/**
 * Renders the series as a standalone SVG document: axes with ticks and labels, a grid, the
 * points (optionally joined), point labels and a legend.
 *
 * @example
 * ```ts
 * import { rateDistortionSvg } from "./plot.ts";
 * const svg = rateDistortionSvg([
 *   { name: "gzip -9", color: "#888", points: [{ x: 2.6, y: 1 }] },
 *   { name: "model", color: "#c00", line: true, points: [{ x: 1, y: 0.4 }, { x: 0.5, y: 0.2 }] },
 * ], { title: "Rate–distortion" });
 * console.log(svg.startsWith("<svg"), svg.trimEnd().endsWith("</svg>")); // true true
 * ```
 */
export function rateDistortionSvg(series: PlotSeries[], options: PlotOptions = {}): string {
  const frame = frameOf(series, options);
  const out = [
    ...header(frame, options),
    ...axes(frame),
    ...series.flatMap((s) => seriesGroup(s, frame)),
    ...legend(series, frame),
    `</svg>`,
  ];
  return out.join("\n") + "\n";
}

/** The parts of an evaluation report that the rate–distortion plot shows. */
export interface RateDistortionData {
  /** Bits per byte of each lossless coder, per setting. */
  bpb: Record<
    "doc" | "msg",
    { bpb_lossless: number; bpb_gzip: number; bpb_brotli: number; bpb_zstd: number }
  >;
  /** Memory-only reconstruction per tokens-per-slot: accuracy and bits per byte of memory. */
  recon: Record<string, { accuracy: number; bpb_memory: number }>;
  /**
   * Memory-only reconstruction after refinement (eval metric `refine`), per tokens-per-slot:
   * the memory's bits per byte and greedy accuracy after each budget of steps.
   */
  refine?: Record<string, { bpb_memory: number; points: { steps: number; accuracy: number }[] }>;
}

/**
 * The plot's series for an evaluation report: the model's memory-only points (one per
 * tokens-per-slot ratio, joined), refinement paths (one per ratio of the `refine` metric, from
 * the encoder's memory up to the largest budget at the same rate), its lossless files, and gzip,
 * brotli and zstd (filled markers for whole documents, hollow for paragraphs compressed one by
 * one).
 *
 * @example
 * ```ts
 * import { rateDistortionSeries } from "./plot.ts";
 * const b = { bpb_lossless: 2, bpb_gzip: 3, bpb_brotli: 2.8, bpb_zstd: 2.9 };
 * const s = rateDistortionSeries({
 *   bpb: { doc: b, msg: b },
 *   recon: { "4": { accuracy: 0.5, bpb_memory: 1 }, "8": { accuracy: 0.3, bpb_memory: 0.5 } },
 * });
 * console.log(s.length); // 7
 * ```
 */
export function rateDistortionSeries(data: RateDistortionData): PlotSeries[] {
  const coders = [
    ["r3mem lossless (.r3m)", "bpb_lossless", "#d62728", "circle"],
    ["gzip -9", "bpb_gzip", "#7f7f7f", "square"],
    ["brotli q11", "bpb_brotli", "#1f77b4", "diamond"],
    ["zstd -19", "bpb_zstd", "#2ca02c", "triangle"],
  ] as const;
  const out: PlotSeries[] = [{
    name: "r3mem memory only (greedy)",
    color: "#ff7f0e",
    line: true,
    points: Object.entries(data.recon)
      .sort((a, b) => Number(a[0]) - Number(b[0]))
      .map(([k, r]) => ({ x: r.bpb_memory, y: r.accuracy, label: `${k}/slot` })),
  }];
  // Refinement: a path per span length, up the accuracy axis at the memory's fixed rate.
  const refineColors = ["#9467bd", "#8c564b", "#e377c2", "#17becf"];
  for (const [i, [k, c]] of Object.entries(data.refine ?? {}).entries()) {
    out.push({
      name: `refined, ${k}/slot (0 → ${c.points.at(-1)?.steps ?? 0} steps)`,
      color: refineColors[i % refineColors.length],
      line: true,
      shape: "square",
      points: c.points.map((p, j) => ({
        x: c.bpb_memory,
        y: p.accuracy,
        label: j === c.points.length - 1 ? `${p.steps}` : undefined,
      })),
    });
  }
  for (const [name, key, color, shape] of coders) {
    out.push({
      name: `${name}`,
      color,
      shape,
      points: [
        { x: data.bpb.doc[key], y: 1 },
        { x: data.bpb.msg[key], y: 1, hollow: true },
      ],
    });
  }
  out.push({ name: "filled: whole documents", color: "#444", points: [] });
  out.push({
    name: "hollow: ≤ 1 KB paragraphs alone",
    color: "#444",
    hollow: true,
    points: [],
  });
  return out;
}
