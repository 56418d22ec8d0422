/**
 * GPU buffer bookkeeping inside the worker: buffers by id, grow-only scratch buffers, and a
 * graveyard so a buffer freed while a not-yet-submitted encoder still uses it is destroyed only
 * after that encoder is submitted.
 *
 * @module
 */

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/**
 * An int8 matrix on the GPU: `k4` words (four int8 each, zero-padded) per row, stored word-major
 * (`[k4, rows]`), and one scale per row.
 */
export interface GpuQ8 {
  words: GPUBuffer;
  scales: GPUBuffer;
  rows: number;
  cols: number;
  k4: number;
}

/** Buffers of one device, by the ids the caller chose. */
export class GpuBufferStore {
  readonly #device: GPUDevice;
  readonly #buffers = new Map<number, GPUBuffer>();
  readonly #q8 = new Map<number, GpuQ8>();
  readonly #scratch = new Map<string, GPUBuffer>();
  #graveyard: GPUBuffer[] = [];
  /** Bumped whenever a buffer goes away, so cached bind groups can be dropped. */
  generation = 0;

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** A zeroed buffer of `bytes` (at least 16; WebGPU zero-initializes). */
  create(bytes: number, label?: string): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 4) * 4);
    return this.#device.createBuffer({ size, usage: USAGE, label });
  }

  alloc(id: number, elements: number): void {
    this.#buffers.set(id, this.create(elements * 4, `buf${id}`));
  }

  get(id: number): GPUBuffer {
    const b = this.#buffers.get(id);
    if (!b) throw new Error(`GPU buffer ${id} does not exist`);
    return b;
  }

  /** Registers an int8 matrix from its packed words and scales. */
  q8(
    id: number,
    words: Uint32Array<ArrayBuffer>,
    scales: Float32Array<ArrayBuffer>,
    rows: number,
    cols: number,
  ): void {
    const w = this.create(words.byteLength, `q8w${id}`);
    const s = this.create(scales.byteLength, `q8s${id}`);
    this.#device.queue.writeBuffer(w, 0, words);
    this.#device.queue.writeBuffer(s, 0, scales);
    this.#q8.set(id, { words: w, scales: s, rows, cols, k4: Math.ceil(cols / 4) });
  }

  getQ8(id: number): GpuQ8 {
    const m = this.#q8.get(id);
    if (!m) throw new Error(`GPU matrix ${id} does not exist`);
    return m;
  }

  free(id: number): void {
    const b = this.#buffers.get(id);
    if (b) {
      this.#buffers.delete(id);
      this.#graveyard.push(b);
    }
    const m = this.#q8.get(id);
    if (m) {
      this.#q8.delete(id);
      this.#graveyard.push(m.words, m.scales);
    }
    this.generation++;
  }

  /** A scratch buffer of at least `bytes` for `role`, grown by a quarter when too small. */
  scratch(role: string, bytes: number): GPUBuffer {
    const b = this.#scratch.get(role);
    if (b && b.size >= bytes) return b;
    if (b) {
      this.#graveyard.push(b);
      this.generation++;
    }
    const nb = this.create(Math.ceil(bytes * 1.25), role);
    this.#scratch.set(role, nb);
    return nb;
  }

  /** Destroys what was freed; call after submitting the encoder that may still use it. */
  bury(): void {
    for (const b of this.#graveyard) b.destroy();
    this.#graveyard = [];
  }
}
