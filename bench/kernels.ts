/**
 * Kernel benchmark: r3mem's WebAssembly matrix products against onnxruntime-web (its
 * WebAssembly backend, 1 thread, SIMD) and onnxruntime-node (native CPU, 1 thread), all in one
 * process, timed with benchmark.js.
 *
 * ```sh
 * deno task bench:kernels [--quick] [--json] [--filter int8|f32]
 *   [--shapes 1x512x512,64x512x512] [--engine r3mem,onnxruntime-web,onnxruntime-node]
 * ```
 *
 * `ms` is the median over benchmark.js samples of the time of one op call; `gops` is
 * `2·M·K·N / (ms·1e6)`. See docs/BENCHMARKS.md for the methodology.
 *
 * @module
 */
// Benchmark tools come with explicit specifiers, not through deno.json: `deno task start` and the
// library never download them.
// deno-lint-ignore no-import-prefix
import Benchmark from "npm:benchmark@2.1.4";
// deno-lint-ignore no-import-prefix
import type * as OrtWeb from "npm:onnxruntime-web@1.30.0";
import type { Backend } from "../src/backend/backend.ts";
import { createWasmBackend } from "../src/backend/wasm/wasm_backend.ts";
import { mulberry32 as rng } from "../src/prng.ts";
import { type Align, renderTable } from "./_table.ts";
import { type MatmulForm, matmulModel } from "./onnx_model.ts";

// ── configuration ────────────────────────────────────────────────────────────

/** The benchmarked operations. */
export type Op = "matmul_int8" | "matmul_f32";
/** The compared implementations. */
export type Engine = "r3mem" | "onnxruntime-web" | "onnxruntime-node";
/** A matrix product shape `[M, K, N]`: `[M,K] · [K,N]`. */
export type Shape = readonly [m: number, k: number, n: number];

/** Every op, in report order. */
export const OPS: readonly Op[] = ["matmul_int8", "matmul_f32"];
/** Every engine, in report order. */
export const ENGINES: readonly Engine[] = ["r3mem", "onnxruntime-web", "onnxruntime-node"];
/** The default shapes: one token, a small batch, and the two halves of a 512→2048→512 MLP. */
export const SHAPES: readonly Shape[] = [
  [1, 512, 512],
  [64, 512, 512],
  [128, 512, 2048],
  [128, 2048, 512],
];

/** Command-line options of the benchmark. */
export interface Options {
  /** Shorter runs (less time per case, fewer samples). */
  quick: boolean;
  /** Print JSON lines instead of a table. */
  json: boolean;
  /** Ops to run. */
  ops: Op[];
  /** Shapes to run. */
  shapes: Shape[];
  /** Engines to run. */
  engines: Engine[];
}

const USAGE = `usage: deno task bench:kernels [--quick] [--json] [--filter int8|f32]
  [--shapes MxKxN,...] [--engine r3mem,onnxruntime-web,onnxruntime-node]`;

const ENGINE_ALIASES: Record<string, Engine> = {
  r3mem: "r3mem",
  web: "onnxruntime-web",
  "onnxruntime-web": "onnxruntime-web",
  "ort-web": "onnxruntime-web",
  node: "onnxruntime-node",
  "onnxruntime-node": "onnxruntime-node",
  "ort-node": "onnxruntime-node",
};

function parseList<T>(value: string | undefined, flag: string, parse: (s: string) => T): T[] {
  if (!value) throw new Error(`${flag} needs a value\n${USAGE}`);
  return value.split(",").filter((s) => s).map(parse);
}

function parseOp(s: string): Op {
  const op = s.startsWith("matmul_") ? s : `matmul_${s}`;
  if (!OPS.includes(op as Op)) throw new Error(`unknown op "${s}" (int8 or f32)`);
  return op as Op;
}

function parseShape(s: string): Shape {
  const dims = s.split(/[x×,]/).map(Number);
  if (dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`bad shape "${s}" (expected MxKxN)`);
  }
  return [dims[0], dims[1], dims[2]];
}

function parseEngine(s: string): Engine {
  const e = ENGINE_ALIASES[s];
  if (!e) throw new Error(`unknown engine "${s}" (${ENGINES.join(", ")})`);
  return e;
}

/**
 * Parses the command line (`--flag value` or `--flag=value`).
 *
 * @example
 * ```ts
 * import { parseOptions } from "./kernels.ts";
 * const o = parseOptions(["--quick", "--filter", "int8", "--shapes=1x512x512"]);
 * console.log(o.ops, o.shapes); // ["matmul_int8"] [[1, 512, 512]]
 * ```
 */
export function parseOptions(args: readonly string[]): Options {
  const o: Options = {
    quick: false,
    json: false,
    ops: [...OPS],
    shapes: [...SHAPES],
    engines: [...ENGINES],
  };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    const value = () => inline ?? args[++i];
    if (flag === "--help" || flag === "-h") throw new Error(USAGE);
    else if (flag === "--quick") o.quick = true;
    else if (flag === "--json") o.json = true;
    else if (flag === "--filter") o.ops = parseList(value(), flag, parseOp);
    else if (flag === "--shapes") o.shapes = parseList(value(), flag, parseShape);
    else if (flag === "--engine" || flag === "--engines") {
      o.engines = parseList(value(), flag, parseEngine);
    } else throw new Error(`unknown argument "${args[i]}"\n${USAGE}`);
  }
  return o;
}

// ── inputs and reference ─────────────────────────────────────────────────────

/** The operands of one shape: the int8 and the f32 problem. */
interface Inputs {
  /** `A[M,K]` int8, every row reaching ±127 (r3mem gets it as f32 and requantizes it). */
  aInt: Int8Array;
  /** `B[K,N]` int8. */
  bInt: Int8Array;
  /** `A[M,K]` f32, uniform in [-1, 1). */
  aF32: Float32Array;
  /** `B[K,N]` f32, uniform in [-1, 1). */
  bF32: Float32Array;
}

function makeInputs([m, k, n]: Shape): Inputs {
  const rand = rng(0x5eed + m * 31 + k * 17 + n);
  const int8 = () => Math.floor(rand() * 255) - 127;
  const aInt = Int8Array.from({ length: m * k }, int8);
  for (let r = 0; r < m; r++) aInt[r * k + Math.floor(rand() * k)] = rand() < 0.5 ? -127 : 127;
  return {
    aInt,
    bInt: Int8Array.from({ length: k * n }, int8),
    aF32: Float32Array.from({ length: m * k }, () => rand() * 2 - 1),
    bF32: Float32Array.from({ length: k * n }, () => rand() * 2 - 1),
  };
}

/** Row 0 of `A·B` in f64 (exact for the int8 problem). */
function referenceRow(op: Op, [, k, n]: Shape, x: Inputs): Float64Array {
  const [a, b] = op === "matmul_int8" ? [x.aInt, x.bInt] : [x.aF32, x.bF32];
  const out = new Float64Array(n);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < n; j++) out[j] += a[i] * b[i * n + j];
  }
  return out;
}

/**
 * How close an engine's output must be to the float64 reference: `"max"`: every element within
 * `rel · max|want|` (0 = exact); `"rms"`: RMS error within `rel · RMS(want)`, for an op that
 * quantizes its f32 input (catches layout bugs, not rounding).
 */
interface Tolerance {
  kind: "max" | "rms";
  rel: number;
}

const EXACT: Tolerance = { kind: "max", rel: 0 };
const F32_ROUNDING: Tolerance = { kind: "max", rel: 1e-4 };
const QUANTIZED: Tolerance = { kind: "rms", rel: 0.05 };

/** Throws when `got` is not `want` within `tol`. */
function checkRow(what: string, got: ArrayLike<number>, want: Float64Array, tol: Tolerance): void {
  if (tol.kind === "rms") {
    let err = 0, norm = 0;
    for (let j = 0; j < want.length; j++) {
      err += (got[j] - want[j]) ** 2;
      norm += want[j] ** 2;
    }
    const rel = Math.sqrt(err / norm);
    if (!(rel <= tol.rel)) throw new Error(`${what}: wrong result (relative RMS error ${rel})`);
    return;
  }
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  for (let j = 0; j < want.length; j++) {
    if (!(Math.abs(got[j] - want[j]) <= tol.rel * scale)) {
      throw new Error(`${what}: wrong result at [0,${j}]: ${got[j]} instead of ${want[j]}`);
    }
  }
}

// ── engines ──────────────────────────────────────────────────────────────────

/** One prepared op call, ready to time. */
interface Case {
  /** Operand types, e.g. `"u8s8"` for onnxruntime's MatMulInteger with uint8 activations. */
  form: string;
  /** Whether `run` returns a promise (benchmark.js then runs it deferred). */
  isAsync: boolean;
  /** How close row 0 must be to the reference. */
  tolerance: Tolerance;
  /** One op call. */
  run(): void | Promise<unknown>;
  /** Runs once and returns row 0 of the output. */
  firstRow(): Promise<ArrayLike<number>>;
  /** Releases what `prepare` allocated. */
  close(): Promise<void>;
}

/** An engine that can prepare cases. */
interface Runner {
  /** The int8 / f32 forms this engine is measured in; the fastest is its result. */
  forms(op: Op): string[];
  /** Builds a case for one form. */
  prepare(op: Op, form: string, shape: Shape, inputs: Inputs): Promise<Case>;
}

/** Transposes a row-major `[rows, cols]` matrix. */
function transpose(src: Int8Array, rows: number, cols: number): Int8Array {
  const out = new Int8Array(src.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  }
  return out;
}

/**
 * r3mem's forms: f32 activations quantized per row inside the op, times int8 weights, through
 * the relaxed-SIMD dot product (`relaxed`, the default at run time) or the portable kernel
 * (`portable`, deterministic mode; bit-identical results); f32 with fused multiply-add (`fma`)
 * or multiply-then-add (`det`).
 */
function r3memRunner(fast: Backend, portable: Backend): Runner {
  return {
    forms: (op) => op === "matmul_int8" ? ["relaxed", "portable"] : ["fma", "det"],
    prepare(op, form, [m, k, n], x) {
      const be = form === "relaxed" || form === "fma" ? fast : portable;
      const out = be.f32(m * n);
      let run: () => void;
      let buffers: Parameters<Backend["free"]>[0][];
      if (op === "matmul_int8") {
        // r3mem stores W as [N, K] (row = output channel): the transpose of the peers' B.
        const w = be.q8(transpose(x.bInt, k, n), new Float32Array(n).fill(1), n, k);
        const a = be.f32(x.aInt);
        run = () => be.matmulQ8(out, a, w, m);
        buffers = [w, a, out];
      } else {
        const a = be.f32(x.aF32);
        const b = be.f32(x.bF32);
        run = () => be.matmul(out, a, b, m, k, n);
        buffers = [a, b, out];
      }
      return Promise.resolve({
        form,
        isAsync: false,
        tolerance: op === "matmul_int8" ? QUANTIZED : F32_ROUNDING,
        run,
        firstRow: () => {
          run();
          return Promise.resolve(be.read(out).subarray(0, n));
        },
        close: () => {
          for (const b of buffers) be.free(b);
          return Promise.resolve();
        },
      });
    },
  };
}

type Ort = typeof OrtWeb;
type SessionOptions = OrtWeb.InferenceSession.SessionOptions;

function ortInput(ort: Ort, form: MatmulForm, [m, k]: Shape, x: Inputs): OrtWeb.Tensor {
  if (form === "f32") return new ort.Tensor("float32", x.aF32, [m, k]);
  if (form === "s8s8") return new ort.Tensor("int8", x.aInt, [m, k]);
  // u8s8: A_u8 = A_s8 + 128 with zero point 128 computes the same product.
  return new ort.Tensor("uint8", Uint8Array.from(x.aInt, (v) => v + 128), [m, k]);
}

function ortRunner(ort: Ort, options: SessionOptions): Runner {
  return {
    forms: (op) => op === "matmul_int8" ? ["u8s8", "s8s8"] : ["f32"],
    async prepare(_op, form, shape, x) {
      const f = form as MatmulForm;
      const model = matmulModel(f, shape, f === "f32" ? x.bF32 : x.bInt);
      const session = await ort.InferenceSession.create(model, options);
      const feeds = { A: ortInput(ort, f, shape, x) };
      return {
        form,
        isAsync: true,
        tolerance: f === "f32" ? F32_ROUNDING : EXACT,
        run: () => session.run(feeds),
        firstRow: async () => {
          const y = (await session.run(feeds)).Y.data as Float32Array | Int32Array;
          return y.subarray(0, shape[2]);
        },
        close: () => session.release(),
      };
    },
  };
}

async function loadOrtWeb(): Promise<Runner> {
  // deno-lint-ignore no-import-prefix
  const ort = await import("npm:onnxruntime-web@1.30.0");
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true;
  ort.env.wasm.proxy = false;
  return ortRunner(ort, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
}

async function loadOrtNode(): Promise<Runner> {
  // deno-lint-ignore no-import-prefix
  const ort = await import("npm:onnxruntime-node@1.30.0");
  return ortRunner(ort as unknown as Ort, {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
  });
}

const LOADERS: Record<Engine, () => Promise<Runner>> = {
  r3mem: async () =>
    r3memRunner(
      await createWasmBackend({ deterministic: false }),
      await createWasmBackend({ deterministic: true }),
    ),
  "onnxruntime-web": loadOrtWeb,
  "onnxruntime-node": loadOrtNode,
};

/** Loads the requested engines; one that fails to load is reported, not fatal. */
async function loadEngines(engines: readonly Engine[]): Promise<Map<Engine, Runner | Error>> {
  const loaded = new Map<Engine, Runner | Error>();
  for (const e of engines) {
    loaded.set(e, await LOADERS[e]().catch((err) => new Error(`failed to load: ${message(err)}`)));
  }
  return loaded;
}

// ── timing ───────────────────────────────────────────────────────────────────

/** benchmark.js time limits, in seconds. */
interface Timing {
  maxTime: number;
  minTime: number;
  minSamples: number;
}

const TIMING: Timing = { maxTime: 1.5, minTime: 0.05, minSamples: 10 };
const QUICK_TIMING: Timing = { maxTime: 0.3, minTime: 0.025, minSamples: 5 };

/** The parts of a benchmark.js instance used here (the package ships no types). */
interface BenchInstance {
  stats: { sample: number[]; rme: number };
  error?: unknown;
  run(options: { async: boolean }): void;
}
type BenchConstructor = new (name: string, options: Record<string, unknown>) => BenchInstance;
const BenchmarkJs = Benchmark as unknown as BenchConstructor;

/** Times one case with benchmark.js; resolves to seconds per call, one entry per sample. */
function sampleTimes(name: string, c: Case, timing: Timing): Promise<number[]> {
  return new Promise((resolve, reject) => {
    let failure: unknown;
    const fn = c.isAsync
      ? (deferred: { resolve(): void }) => {
        (c.run() as Promise<unknown>).then(
          () => deferred.resolve(),
          (e) => {
            failure ??= e;
            deferred.resolve();
          },
        );
      }
      : () => void c.run();
    const bench: BenchInstance = new BenchmarkJs(name, {
      ...timing,
      delay: 0,
      defer: c.isAsync,
      fn,
      onComplete: () => {
        const error = failure ?? bench.error;
        if (error) reject(error);
        else resolve(bench.stats.sample);
      },
    });
    bench.run({ async: true });
  });
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

// ── running ──────────────────────────────────────────────────────────────────

/** One JSON line of `--json`. */
export interface Result {
  /** The operation. */
  op: Op;
  /** `[M, K, N]`. */
  shape: number[];
  /** The engine. */
  engine: Engine;
  /** Median time of one op call, in milliseconds. */
  ms: number;
  /** `2·M·K·N / (ms·1e6)`. */
  gops: number;
  /** Operand types of the fastest form (for int8: `u8s8`, `s8s8`, or r3mem's `dyn-q8`). */
  form: string;
  /** Median ms of every form measured, when there were several. */
  forms?: Record<string, number>;
}

/** The outcome of one engine on one op and shape. */
type Outcome = Result | { engine: Engine; error: string };

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function shapeName(shape: Shape): string {
  return shape.join("×");
}

/** Prepares, checks and times one form; the case is always closed. */
async function timeForm(
  runner: Runner,
  op: Op,
  form: string,
  shape: Shape,
  inputs: Inputs,
  opts: Options,
): Promise<number> {
  const c = await runner.prepare(op, form, shape, inputs);
  try {
    checkRow(form, await c.firstRow(), referenceRow(op, shape, inputs), c.tolerance);
    const samples = await sampleTimes(
      `${op} ${shapeName(shape)} ${form}`,
      c,
      opts.quick ? QUICK_TIMING : TIMING,
    );
    return median(samples) * 1e3;
  } finally {
    await c.close();
  }
}

/** Measures every form of one engine and keeps the fastest. */
async function runEngine(
  engine: Engine,
  runner: Runner,
  op: Op,
  shape: Shape,
  inputs: Inputs,
  opts: Options,
): Promise<Outcome> {
  const forms: Record<string, number> = {};
  let error = "";
  for (const form of runner.forms(op)) {
    const what = `${op} ${shapeName(shape)} ${engine} ${form}`;
    try {
      forms[form] = await timeForm(runner, op, form, shape, inputs, opts);
      progress(`${what}: ${forms[form].toFixed(4)} ms`);
    } catch (err) {
      error = message(err);
      progress(`${what}: not available (${error})`);
    }
  }
  if (Object.keys(forms).length === 0) return { engine, error };
  const [form, ms] = Object.entries(forms).reduce((best, f) => f[1] < best[1] ? f : best);
  const [m, k, n] = shape;
  const result: Result = {
    op,
    shape: [m, k, n],
    engine,
    ms,
    gops: (2 * m * k * n) / (ms * 1e6),
    form,
  };
  if (Object.keys(forms).length > 1) result.forms = forms;
  return result;
}

function progress(line: string): void {
  console.error(`  ${line}`);
}

/** All outcomes of one op and shape. */
interface Row {
  op: Op;
  shape: Shape;
  outcomes: Map<Engine, Outcome>;
}

async function runRow(
  op: Op,
  shape: Shape,
  engines: Map<Engine, Runner | Error>,
  opts: Options,
): Promise<Row> {
  const inputs = makeInputs(shape);
  const outcomes = new Map<Engine, Outcome>();
  for (const [engine, runner] of engines) {
    outcomes.set(
      engine,
      runner instanceof Error
        ? { engine, error: runner.message }
        : await runEngine(engine, runner, op, shape, inputs, opts),
    );
  }
  return { op, shape, outcomes };
}

// ── reporting ────────────────────────────────────────────────────────────────

function isResult(o: Outcome | undefined): o is Result {
  return o !== undefined && "ms" in o;
}

function jsonLines(row: Row): string[] {
  return [...row.outcomes.values()].filter(isResult).map((r) => {
    const line: Result = { ...r, ms: round(r.ms, 5), gops: round(r.gops, 3) };
    if (r.forms) {
      line.forms = Object.fromEntries(Object.entries(r.forms).map(([f, ms]) => [f, round(ms, 5)]));
    }
    return JSON.stringify(line);
  });
}

function round(x: number, digits: number): number {
  return Number(x.toPrecision(digits));
}

const SHORT: Record<Engine, string> = {
  r3mem: "r3mem",
  "onnxruntime-web": "ort-web",
  "onnxruntime-node": "ort-node",
};

function speedTable(rows: readonly Row[], engines: readonly Engine[]): string {
  const headers = ["op", "M×K×N"];
  for (const e of engines) headers.push(`${SHORT[e]} ms`, "GOP/s");
  const ratios = engines.includes("r3mem");
  if (ratios && engines.includes("onnxruntime-web")) headers.push("r3mem/ort-web");
  if (ratios && engines.includes("onnxruntime-node")) headers.push("r3mem of ort-node");
  const body = rows.map((row) => {
    const cells = [row.op, shapeName(row.shape)];
    for (const e of engines) {
      const o = row.outcomes.get(e);
      cells.push(isResult(o) ? o.ms.toFixed(4) : "n/a", isResult(o) ? o.gops.toFixed(1) : "");
    }
    const mine = row.outcomes.get("r3mem");
    const ratio = (peer: Engine) => {
      const p = row.outcomes.get(peer);
      return isResult(mine) && isResult(p) ? p.ms / mine.ms : NaN;
    };
    if (ratios && engines.includes("onnxruntime-web")) {
      cells.push(fmtRatio(ratio("onnxruntime-web"), (x) => `${x.toFixed(2)}×`));
    }
    if (ratios && engines.includes("onnxruntime-node")) {
      cells.push(fmtRatio(ratio("onnxruntime-node"), (x) => `${(x * 100).toFixed(0)}%`));
    }
    return cells;
  });
  const align: Align[] = headers.map((_, i) => i < 2 ? "left" : "right");
  return renderTable(headers, body, align);
}

function fmtRatio(x: number, fmt: (x: number) => string): string {
  return Number.isFinite(x) ? fmt(x) : "n/a";
}

function formsTable(rows: readonly Row[]): string {
  const body: string[][] = [];
  for (const row of rows) {
    for (const o of row.outcomes.values()) {
      if (!isResult(o) || !o.forms) continue;
      const ms = Object.entries(o.forms).map(([f, t]) => `${f} ${t.toFixed(4)}`);
      body.push([SHORT[o.engine], row.op, shapeName(row.shape), ms.join("  "), o.form]);
    }
  }
  if (body.length === 0) return "";
  return `forms measured per engine (median ms; the fastest is the engine's result above):\n` +
    renderTable(["engine", "op", "M×K×N", "forms", "fastest"], body);
}

function notes(rows: readonly Row[]): string[] {
  const out = new Set<string>();
  for (const row of rows) {
    for (const o of row.outcomes.values()) {
      if (!isResult(o)) out.add(`${o.engine} ${row.op}: not available (${o.error})`);
    }
  }
  return [...out];
}

function header(opts: Options): string {
  return [
    `r3mem kernel benchmark — Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ${Deno.build.target}`,
    `benchmark.js ${opts.quick ? "--quick " : ""}(maxTime ${
      (opts.quick ? QUICK_TIMING : TIMING).maxTime
    } s per case); ` +
    `ms = median time of one call; GOP/s = 2·M·K·N / time; all engines single-threaded.`,
    `r3mem/ort-web: speed ratio (>1: r3mem faster); r3mem of ort-node: r3mem's speed as a share of native.`,
  ].join("\n");
}

/** Runs the benchmark with the given command-line arguments. */
export async function main(args: readonly string[]): Promise<void> {
  const opts = parseOptions(args);
  const engines = await loadEngines(opts.engines);
  const rows: Row[] = [];
  for (const op of opts.ops) {
    for (const shape of opts.shapes) {
      const row = await runRow(op, shape, engines, opts);
      rows.push(row);
      if (opts.json) { for (const line of jsonLines(row)) console.log(line); }
    }
  }
  if (opts.json) return;
  console.log(`\n${header(opts)}\n\n${speedTable(rows, opts.engines)}\n`);
  const forms = formsTable(rows);
  if (forms) console.log(`${forms}\n`);
  for (const note of notes(rows)) console.log(`note: ${note}`);
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (err) {
    console.error(message(err));
    Deno.exit(1);
  }
}
