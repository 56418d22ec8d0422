/**
 * Symmetric per-row int8 quantization, the form of every int8 tensor in a weights file (and of
 * the memory slots a `.r3m` stores): one f32 scale per row, values in −127…127.
 *
 * @module
 */
import { InputError } from "../../errors.ts";

/**
 * Symmetric per-row int8 quantization: `scale[r] = max|row r| / 127` (as f32),
 * `q = round(x / scale)` clamped to ±127; an all-zero row gets scale 0 and zeros.
 *
 * @param data Row-major `[rows, cols]` values, all finite.
 * @param rows Number of rows (output channels).
 * @param cols Number of columns.
 * @returns The quantized values and one scale per row.
 * @throws {InputError} If the sizes disagree or a value is not finite.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { quantizeRowsInt8 } from "../weights_format.ts";
 * const { q, scales } = quantizeRowsInt8(new Float32Array([1, -0.5, 0, 0.25]), 2, 2);
 * deepStrictEqual(q, new Int8Array([127, -64, 0, 127]));
 * deepStrictEqual(scales, new Float32Array([1 / 127, 0.25 / 127]));
 * ```
 */
export function quantizeRowsInt8(
  data: Float32Array,
  rows: number,
  cols: number,
): { q: Int8Array; scales: Float32Array } {
  if (!Number.isSafeInteger(rows) || !Number.isSafeInteger(cols) || rows < 0 || cols < 0) {
    throw new InputError(`rows and cols must be non-negative integers, got ${rows}, ${cols}`);
  }
  if (!(data instanceof Float32Array) || data.length !== rows * cols) {
    throw new InputError(
      `Expected a Float32Array of ${rows}×${cols} = ${rows * cols} values, got ${
        data instanceof Float32Array ? data.length : typeof data
      }`,
    );
  }
  const q = new Int8Array(rows * cols);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = 0;
    for (let c = 0; c < cols; c++) {
      const v = data[base + c];
      if (!Number.isFinite(v)) {
        throw new InputError(`Value at row ${r}, column ${c} is not finite (${v})`);
      }
      const a = Math.abs(v);
      if (a > max) max = a;
    }
    const scale = Math.fround(max / 127);
    scales[r] = scale;
    if (scale === 0) continue;
    for (let c = 0; c < cols; c++) {
      const x = data[base + c] / scale;
      const v = Math.sign(x) * Math.round(Math.abs(x)); // round half away from zero
      q[base + c] = v > 127 ? 127 : v < -127 ? -127 : v;
    }
  }
  return { q, scales };
}

/**
 * Inverse of {@link quantizeRowsInt8}: `x = q * scale[row]`.
 *
 * @param q Row-major int8 values.
 * @param scales One scale per row.
 * @param rows Number of rows.
 * @param cols Number of columns.
 * @returns The dequantized values.
 * @throws {InputError} If the sizes disagree.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert";
 * import { dequantizeRowsInt8, quantizeRowsInt8 } from "../weights_format.ts";
 * const x = new Float32Array([0.5, -1, 2, 0]);
 * const { q, scales } = quantizeRowsInt8(x, 2, 2);
 * const y = dequantizeRowsInt8(q, scales, 2, 2);
 * ok(y.every((v, i) => Math.abs(v - x[i]) <= scales[i >> 1] / 2));
 * ```
 */
export function dequantizeRowsInt8(
  q: Int8Array,
  scales: Float32Array,
  rows: number,
  cols: number,
): Float32Array {
  if (q.length !== rows * cols || scales.length !== rows) {
    throw new InputError(
      `Expected ${rows}×${cols} values and ${rows} scales, got ${q.length} and ${scales.length}`,
    );
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const s = scales[r], base = r * cols;
    for (let c = 0; c < cols; c++) out[base + c] = q[base + c] * s;
  }
  return out;
}
