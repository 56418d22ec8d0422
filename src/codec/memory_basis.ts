/**
 * A model's **memory basis**: the learned low-dimensional form in which a compact `.r3m` stores
 * its document memory. A memory (`slotCount × dim` values) is written as a few 4-bit
 * coefficients over the basis' principal components; the reader rebuilds an approximate memory
 * from them, and the residual is coded against that rebuilt memory, so writer and reader agree
 * bit for bit.
 *
 * Why: the memories of one model lie close to a low-dimensional subspace (on the default model,
 * 16 components explain 87% of the variance of paragraph memories, 64 explain 97%), and on
 * validation messages a 16-coefficient code keeps most of what the full memory tells the decoder
 * (`docs/FORMAT.md`, "Memory code"). Stored as 8 bytes instead of `slotCount × (dim + 4)`. (That
 * held for session 3's model; session 6's memories are worth more but spread over more
 * components, no code pays for its bytes, and the default code now has none: `compress`'s
 * `coefficients`.)
 *
 * The basis lives in a `.r3b` file beside the model's `.r3w` (layout in `docs/FORMAT.md`) and
 * names the model it belongs to; `fitMemoryBasis` computes one from memories of sample text
 * (`tools/memory_basis.ts` does it for a trained model).
 *
 * @example
 * ```ts
 * import { fitMemoryBasis, MemoryBasis } from "./memory_basis.ts";
 * const memories = Array.from({ length: 40 }, (_, i) =>
 *   Float32Array.from({ length: 8 }, (_, j) => Math.sin(i * (j + 1)) + (j === 0 ? i / 10 : 0)));
 * const basis = fitMemoryBasis(memories, { slotCount: 2, dim: 4, components: 4, model: "ab".repeat(32) });
 * const again = MemoryBasis.fromBytes(basis.toBytes());
 * const code = again.encode(memories[3], 4);
 * console.log(code.length, again.decode(code).length, again.id === basis.id); // 4 8 true
 * ```
 *
 * @module
 */

import { FormatError, InputError } from "../errors.ts";
import { hex, writeHex } from "./byte_io.ts";
import { crc32 } from "./crc32.ts";

/** The four bytes a `.r3b` file starts with: `R`, `3`, `B`, `0x1A`. */
export const R3B_MAGIC: Uint8Array = new Uint8Array([0x52, 0x33, 0x42, 0x1a]);
/** The `.r3b` version this module writes and reads. */
export const R3B_VERSION = 1;
/** Components a basis may hold (a code has at most this many coefficients). */
export const MAX_COMPONENTS = 255;
/** Smallest and largest value of a code coefficient (4-bit two's complement). */
export const CODE_MIN = -8;
/** Largest value of a code coefficient. */
export const CODE_MAX = 7;
/** Quantization step of a coefficient, in units of the component's standard deviation. */
export const DEFAULT_STEP = 0.5;
/** Fixed part of a `.r3b` file: header (magic, version, flags, model, shape, step) and CRC. */
const HEAD = 4 + 2 + 2 + 32 + 4 + 4 + 2 + 4;
const CRC_BYTES = 4;

/**
 * How many coefficients the compact memory of a text of `tokenCount` tokens keeps: 16 per
 * started 64 tokens, at least 16, at most the basis' components. Short texts get a short code
 * (8 bytes for a chat message), long ones a finer one (32 bytes from 193 tokens on, with 64
 * components).
 *
 * @example
 * ```ts
 * import { codeLength } from "./memory_basis.ts";
 * console.log(codeLength(30, 64), codeLength(100, 64), codeLength(5000, 64), codeLength(30, 8)); // 16 32 64 8
 * ```
 */
export function codeLength(tokenCount: number, components: number): number {
  return Math.min(components, 16 * Math.max(1, Math.ceil(tokenCount / 64)));
}

/** Shape and provenance of a basis (see {@linkcode fitMemoryBasis}). */
export interface BasisShape {
  /** Memory slots of the model. */
  slotCount: number;
  /** Width of a slot. */
  dim: number;
  /** Principal components to keep (1 … 255). */
  components: number;
  /** SHA-256 (64 hex characters) of the weights file of the model whose memories these are. */
  model: string;
}

/**
 * A memory basis: mean memory, `components` unit directions (stored int8, one scale each) and
 * the standard deviation of the memories along each. Immutable once built. `R3Mem.basis` is the
 * loaded model's (the default model's is `weights/r3mem-default.r3b`).
 *
 * @example
 * ```ts
 * import { fitMemoryBasis } from "./memory_basis.ts";
 * const ms = Array.from({ length: 20 }, (_, i) => Float32Array.from([i, 1 - i, 2, i % 4]));
 * const basis = fitMemoryBasis(ms, { slotCount: 2, dim: 2, components: 2, model: "e".repeat(64) });
 * const code = basis.encode(ms[5], 2); // two 4-bit coefficients
 * console.log(code.length, basis.decode(code).length); // 2 4
 * ```
 */
export class MemoryBasis {
  /** SHA-256 of the weights of the model the basis belongs to (64 hex characters). */
  readonly model: string;
  /** Memory slots of that model. */
  readonly slotCount: number;
  /** Width of a slot. */
  readonly dim: number;
  /** Number of components. */
  readonly components: number;
  /** Quantization step of a coefficient, in standard deviations. */
  readonly step: number;
  /** Identifies the basis in a compact `.r3m`: 4 hex characters (the file's CRC-32, low half). */
  readonly id: string;
  readonly #mean: Float32Array;
  readonly #sigma: Float32Array;
  readonly #rowScale: Float32Array;
  readonly #rows: Int8Array;
  readonly #bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    const len = bytes.length;
    if (len < HEAD + CRC_BYTES) {
      throw new FormatError(`Truncated memory basis: ${len} bytes`);
    }
    for (let i = 0; i < 4; i++) {
      if (bytes[i] !== R3B_MAGIC[i]) {
        throw new FormatError(`Not a memory basis (.r3b): bad magic bytes`);
      }
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = view.getUint16(4, true);
    if (version !== R3B_VERSION) {
      throw new FormatError(
        `Unsupported memory basis version ${version}: this reader supports ${R3B_VERSION}`,
      );
    }
    const crc = view.getUint32(len - CRC_BYTES, true);
    if (crc !== crc32(bytes, 0, len - CRC_BYTES)) {
      throw new FormatError(`Checksum mismatch: the memory basis is damaged or truncated`);
    }
    if (view.getUint16(6, true) !== 0) throw new FormatError(`Unknown memory basis flags`);
    const slotCount = view.getUint32(40, true), dim = view.getUint32(44, true);
    const k = view.getUint16(48, true), step = view.getFloat32(50, true);
    const sd = slotCount * dim;
    if (slotCount < 1 || dim < 1 || sd > 1 << 24 || k < 1 || k > MAX_COMPONENTS) {
      throw new FormatError(`Memory basis shape ${slotCount}×${dim}, ${k} components is invalid`);
    }
    if (!(step > 0 && Number.isFinite(step))) throw new FormatError(`Bad basis step ${step}`);
    const want = HEAD + 4 * sd + 8 * k + k * sd + CRC_BYTES;
    if (len !== want) {
      throw new FormatError(`Memory basis is ${len} bytes; its shape needs ${want}`);
    }
    this.model = hex(bytes.subarray(8, 40));
    this.slotCount = slotCount;
    this.dim = dim;
    this.components = k;
    this.step = step;
    this.id = hex(new Uint8Array([crc & 0xff, (crc >>> 8) & 0xff]));
    let at = HEAD;
    const floats = (n: number) => {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++, at += 4) {
        out[i] = view.getFloat32(at, true);
        if (!Number.isFinite(out[i])) throw new FormatError(`Memory basis holds ${out[i]}`);
      }
      return out;
    };
    this.#mean = floats(sd);
    this.#sigma = floats(k);
    this.#rowScale = floats(k);
    this.#rows = new Int8Array(
      bytes.buffer.slice(bytes.byteOffset + at, bytes.byteOffset + at + k * sd),
    );
    this.#bytes = bytes.slice();
  }

  /**
   * Reads and checks a `.r3b` file (magic, version, CRC, shape, exact length, finite values).
   *
   * @throws {FormatError} When the bytes are not an intact memory basis.
   *
   * @example
   * ```ts
   * import { MemoryBasis } from "./memory_basis.ts";
   * import { FormatError } from "../errors.ts";
   * try {
   *   MemoryBasis.fromBytes(new Uint8Array(10));
   * } catch (e) {
   *   console.log(e instanceof FormatError); // true
   * }
   * ```
   */
  static fromBytes(bytes: Uint8Array): MemoryBasis {
    if (!(bytes instanceof Uint8Array)) throw new InputError(`Expected the basis as a Uint8Array`);
    return new MemoryBasis(bytes);
  }

  /**
   * Standard deviation of the memories along each component (a copy), largest first.
   *
   * @example
   * ```ts
   * import { fitMemoryBasis } from "./memory_basis.ts";
   * const ms = Array.from({ length: 20 }, (_, i) => Float32Array.from([i, -i, 1, 0]));
   * const b = fitMemoryBasis(ms, { slotCount: 1, dim: 4, components: 2, model: "0".repeat(64) });
   * console.log(b.sigmas()[0] > b.sigmas()[1]); // true
   * ```
   */
  sigmas(): Float32Array {
    return this.#sigma.slice();
  }

  /** The `.r3b` bytes (a copy). */
  toBytes(): Uint8Array {
    return this.#bytes.slice();
  }

  /**
   * The code of `memory` (`slotCount × dim` values) with `k` coefficients: its projection on
   * the first `k` components, in standard deviations, rounded to steps and clamped to 4 bits.
   *
   * @example
   * ```ts
   * import { fitMemoryBasis } from "./memory_basis.ts";
   * const ms = Array.from({ length: 20 }, (_, i) => Float32Array.from([i, -i, 1, i % 3]));
   * const b = fitMemoryBasis(ms, { slotCount: 1, dim: 4, components: 2, model: "0".repeat(64) });
   * console.log(b.encode(ms[0], 2).every((v) => v >= -8 && v <= 7)); // true
   * ```
   */
  encode(memory: Float32Array, k: number): Int8Array {
    const sd = this.slotCount * this.dim;
    if (memory.length !== sd) throw new InputError(`Memory has ${memory.length} values, not ${sd}`);
    if (!Number.isInteger(k) || k < 1 || k > this.components) {
      throw new InputError(`A code has 1..${this.components} coefficients, asked for ${k}`);
    }
    const out = new Int8Array(k);
    for (let r = 0; r < k; r++) {
      let s = 0;
      const row = r * sd;
      for (let i = 0; i < sd; i++) s += (memory[i] - this.#mean[i]) * this.#rows[row + i];
      const z = (s * this.#rowScale[r]) / (this.#sigma[r] * this.step);
      out[r] = Math.max(CODE_MIN, Math.min(CODE_MAX, Math.round(z)));
    }
    return out;
  }

  /**
   * The memory a code stands for: mean + Σ code[r]·step·σ[r]·direction[r]. Computed in doubles
   * in a fixed order and rounded to f32 once, so every reader gets the same numbers.
   *
   * @throws {InputError} When the code is longer than the basis or has a value outside -8..7.
   *
   * @example
   * ```ts
   * import { fitMemoryBasis } from "./memory_basis.ts";
   * const ms = Array.from({ length: 20 }, (_, i) => Float32Array.from([i, -i, 1, i % 3]));
   * const b = fitMemoryBasis(ms, { slotCount: 1, dim: 4, components: 2, model: "0".repeat(64) });
   * const back = b.decode(b.encode(ms[19], 2));
   * console.log(Math.abs(back[0] - 19) < 2); // true
   * ```
   */
  decode(code: Int8Array): Float32Array {
    const k = code.length, sd = this.slotCount * this.dim;
    if (k < 1 || k > this.components) {
      throw new InputError(`A code has 1..${this.components} coefficients, got ${k}`);
    }
    const w = new Float64Array(k);
    for (let r = 0; r < k; r++) {
      if (code[r] < CODE_MIN || code[r] > CODE_MAX) {
        throw new InputError(`Code value ${code[r]} is outside ${CODE_MIN}..${CODE_MAX}`);
      }
      w[r] = code[r] * this.step * this.#sigma[r] * this.#rowScale[r];
    }
    const acc = Float64Array.from(this.#mean);
    for (let r = 0; r < k; r++) {
      if (w[r] === 0) continue;
      const row = r * sd;
      for (let i = 0; i < sd; i++) acc[i] += w[r] * this.#rows[row + i];
    }
    return Float32Array.from(acc);
  }
}

/**
 * Principal components of `memories` (each `slotCount × dim` values) as a memory basis: the
 * covariance's top eigenvectors by subspace iteration (deterministic start, 60 rounds). Meant
 * for a few thousand memories of sample text (`tools/memory_basis.ts`); runs in doubles.
 *
 * @param memories Sample memories (at least 2).
 * @param shape Slots, width, components to keep, and the model's fingerprint.
 * @returns The basis.
 * @throws {InputError} On a shape that does not match the memories.
 *
 * @example
 * ```ts
 * import { fitMemoryBasis } from "./memory_basis.ts";
 * const ms = Array.from({ length: 30 }, (_, i) => Float32Array.from([i, 2 * i, 0, 1]));
 * const b = fitMemoryBasis(ms, { slotCount: 2, dim: 2, components: 1, model: "f".repeat(64) });
 * console.log(b.components, b.id.length); // 1 4
 * ```
 */
export function fitMemoryBasis(memories: Float32Array[], shape: BasisShape): MemoryBasis {
  const { slotCount, dim, components: k, model } = shape;
  const sd = slotCount * dim;
  if (!/^[0-9a-f]{64}$/.test(model)) throw new InputError(`model must be 64 hex characters`);
  if (!Number.isInteger(k) || k < 1 || k > Math.min(MAX_COMPONENTS, sd)) {
    throw new InputError(`components must be in 1..${Math.min(MAX_COMPONENTS, sd)}, got ${k}`);
  }
  if (memories.length < 2 || memories.some((m) => m.length !== sd)) {
    throw new InputError(`Need at least 2 memories of ${sd} values each`);
  }
  const n = memories.length;
  const mean = new Float64Array(sd);
  for (const m of memories) for (let i = 0; i < sd; i++) mean[i] += m[i] / n;
  const cov = new Float64Array(sd * sd);
  const d = new Float64Array(sd);
  for (const m of memories) {
    for (let i = 0; i < sd; i++) d[i] = m[i] - mean[i];
    for (let i = 0; i < sd; i++) {
      const a = d[i], o = i * sd;
      if (a !== 0) { for (let j = i; j < sd; j++) cov[o + j] += a * d[j]; }
    }
  }
  for (let i = 0; i < sd; i++) {
    for (let j = i; j < sd; j++) cov[j * sd + i] = cov[i * sd + j] /= n;
  }
  const times = (v: Float64Array) => {
    const o = new Float64Array(sd);
    for (let i = 0; i < sd; i++) {
      let s = 0;
      for (let j = 0, r = i * sd; j < sd; j++) s += cov[r + j] * v[j];
      o[i] = s;
    }
    return o;
  };
  let q = Array.from({ length: k }, (_, c) => {
    return Float64Array.from({ length: sd }, (_, i) => Math.sin((i + 1) * (c + 1) * 1.618 + c));
  });
  const orthonormalize = (vs: Float64Array[]) => {
    for (let a = 0; a < vs.length; a++) {
      for (let b = 0; b < a; b++) {
        let dot = 0;
        for (let i = 0; i < sd; i++) dot += vs[a][i] * vs[b][i];
        for (let i = 0; i < sd; i++) vs[a][i] -= dot * vs[b][i];
      }
      let norm = 0;
      for (let i = 0; i < sd; i++) norm += vs[a][i] * vs[a][i];
      norm = Math.sqrt(norm) || 1;
      for (let i = 0; i < sd; i++) vs[a][i] /= norm;
    }
  };
  orthonormalize(q);
  for (let round = 0; round < 60; round++) {
    q = q.map(times);
    orthonormalize(q);
  }
  const variance = q.map((v) => {
    const w = times(v);
    let s = 0;
    for (let i = 0; i < sd; i++) s += v[i] * w[i];
    return s;
  });
  const order = variance.map((_, i) => i).sort((a, b) => variance[b] - variance[a]);
  return buildBasis(
    shape,
    mean,
    order.map((i) => q[i]),
    order.map((i) => Math.sqrt(Math.max(variance[i], 1e-12))),
  );
}

// Serializes a basis (directions quantized to int8, one scale each) and reads it back, so a
// fitted basis is exactly the one its file holds.
function buildBasis(
  shape: BasisShape,
  mean: Float64Array,
  directions: Float64Array[],
  sigma: number[],
): MemoryBasis {
  const { slotCount, dim, model } = shape;
  const k = directions.length, sd = slotCount * dim;
  const out = new Uint8Array(HEAD + 4 * sd + 8 * k + k * sd + CRC_BYTES);
  const view = new DataView(out.buffer);
  out.set(R3B_MAGIC, 0);
  view.setUint16(4, R3B_VERSION, true);
  writeHex(model, out, 8);
  view.setUint32(40, slotCount, true);
  view.setUint32(44, dim, true);
  view.setUint16(48, k, true);
  view.setFloat32(50, DEFAULT_STEP, true);
  let at = HEAD;
  for (let i = 0; i < sd; i++, at += 4) view.setFloat32(at, mean[i], true);
  for (let r = 0; r < k; r++, at += 4) view.setFloat32(at, sigma[r], true);
  const scales = directions.map((v) => {
    let max = 0;
    for (let i = 0; i < sd; i++) max = Math.max(max, Math.abs(v[i]));
    return max / 127 || 1;
  });
  for (let r = 0; r < k; r++, at += 4) view.setFloat32(at, scales[r], true);
  for (let r = 0; r < k; r++) {
    for (let i = 0; i < sd; i++) out[at++] = Math.round(directions[r][i] / scales[r]) & 0xff;
  }
  view.setUint32(at, crc32(out, 0, at), true);
  return MemoryBasis.fromBytes(out);
}
