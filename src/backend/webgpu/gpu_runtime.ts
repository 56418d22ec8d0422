/**
 * The worker side of the WebGPU backend: runs batches of {@link Command}s on one device.
 * Dispatches are recorded into one command encoder (WebGPU orders dispatches and makes each
 * one's writes visible to the next); a host write first submits what is recorded, so queue order
 * matches call order. Parameters of a whole encoder are uploaded once, at submit.
 *
 * @module
 */
import { gridFor, kernelSource, type KernelSpec, PARAM_SLOT_BYTES } from "./kernel_spec.ts";
import type { Command, GpuInfo, GpuInit, ReadRequest } from "./protocol.ts";
import { GpuBufferStore } from "./gpu_buffers.ts";
import { ELEMENTWISE_KERNELS, ELEMENTWISE_WG } from "./wgsl_elementwise.ts";
import { EMBEDDING, RMSNORM, ROPE, SOFTMAX } from "./wgsl_rows.ts";
import { MATMUL_F32, matmulQ8Kernel, Q8_COLS, Q8_ROWS, QUANTIZE_ROWS } from "./wgsl_matmul.ts";
import { attentionKernel } from "./wgsl_attention.ts";

/** Dispatches per encoder before it is submitted (bounds the parameter buffer). */
const MAX_DISPATCHES = 1024;
const PACKED_DOT = "packed_4x8_integer_dot_product";

interface Pipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/** Opens the adapter and device; returns null with a reason when there is none. */
export async function openDevice(
  init: GpuInit,
): Promise<{ runtime: GpuRuntime; info: GpuInfo } | { reason: string }> {
  const gpu = (navigator as { gpu?: GPU }).gpu;
  if (!gpu) return { reason: "navigator.gpu is missing (Deno needs --unstable-webgpu)" };
  const adapter = await gpu.requestAdapter({ powerPreference: init.powerPreference });
  if (!adapter) return { reason: "navigator.gpu.requestAdapter() gave no adapter" };
  const device = await adapter.requestDevice();
  const ai = adapter.info;
  const features = (gpu as { wgslLanguageFeatures?: ReadonlySet<string> }).wgslLanguageFeatures;
  const packedDot = init.packedDot && (features?.has(PACKED_DOT) ?? false);
  const info: GpuInfo = {
    description: ai.description,
    vendor: ai.vendor,
    architecture: ai.architecture,
    isFallbackAdapter: (ai as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
    packedDot,
    features: [...adapter.features],
  };
  return { runtime: new GpuRuntime(device, packedDot), info };
}

/** One device's buffers, pipelines and pending work. */
export class GpuRuntime {
  readonly device: GPUDevice;
  readonly #store: GpuBufferStore;
  readonly #packedDot: boolean;
  readonly #pipelines = new Map<string, Pipeline>();
  #bindGroups = new Map<string, GPUBindGroup>();
  #bindGeneration = -1;
  readonly #params: GPUBuffer;
  readonly #paramHost = new ArrayBuffer(MAX_DISPATCHES * PARAM_SLOT_BYTES);
  #dispatches = 0;
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #staging: GPUBuffer | null = null;
  readonly #rope = new Map<string, { id: number; positions: number }>();
  #ropeIds = -1;

  constructor(device: GPUDevice, packedDot: boolean) {
    this.device = device;
    this.#packedDot = packedDot;
    this.#store = new GpuBufferStore(device);
    this.#params = device.createBuffer({
      size: this.#paramHost.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  /** Runs a batch, then the read if any (its elements as raw 32-bit words). */
  async run(cmds: Command[], read?: ReadRequest): Promise<Uint32Array | null> {
    this.device.pushErrorScope("validation");
    let result: Uint32Array | null = null;
    let failure: unknown = null;
    try {
      for (const c of cmds) this.#exec(c);
      if (read) result = await this.#read(read);
      else this.#submit();
    } catch (e) {
      failure = e;
    }
    const err = await this.device.popErrorScope(); // the validation error explains the rest
    if (err) throw new Error(`WebGPU validation: ${err.message}`);
    if (failure) throw failure;
    return result;
  }

  #exec(c: Command): void {
    const s = this.#store;
    switch (c[0]) {
      case "alloc":
        return s.alloc(c[1], c[2]);
      case "write":
        this.#submit(); // queue order: what was recorded runs before this write
        return this.device.queue.writeBuffer(s.get(c[1]), c[2] * 4, c[3]);
      case "q8":
        this.#submit();
        return s.q8(c[1], c[2], c[3], c[4], c[5]);
      case "free":
        return s.free(c[1]);
      case "copy":
        return this.#copy(c[1], c[2], c[3], c[4], c[5]);
      case "fill":
        return this.#elementwise("fill", [c[1]], c[2], [c[3]]);
      case "matmulQ8":
        return this.#matmulQ8(c[1], c[2], c[3], c[4]);
      case "matmul": {
        const [, out, a, b, m, k, n, ta, tb, acc] = c;
        const [gx, gy] = gridFor(m * n, 64);
        return this.#dispatch(MATMUL_F32, [out, a, b], [m, k, n, ta, tb, acc], gx, gy);
      }
      case "binary":
        return this.#elementwise(c[1], [c[2], c[3], c[4]], c[5], []);
      case "axpy":
        return this.#elementwise("axpy", [c[1], c[2]], c[4], [c[3]]);
      case "unary":
        return this.#elementwise(c[1], [c[2], c[3]], c[4], []);
      case "rmsnorm": {
        const [, out, x, w, inv, rows, d, eps] = c;
        const [gx, gy] = gridFor(rows, 1);
        const invId = inv < 0 ? out : inv; // bound but not written when absent
        return this.#dispatch(RMSNORM, [out, x, w, invId], [rows, d, eps, inv < 0 ? 0 : 1], gx, gy);
      }
      case "softmax": {
        const [gx, gy] = gridFor(c[3], 1);
        return this.#dispatch(SOFTMAX, [c[1], c[2]], [c[3], c[4]], gx, gy);
      }
      case "rope":
        return this.#ropeOp(c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
      case "embedding": {
        const [, out, table, ids, count, d] = c;
        const [gx, gy] = gridFor(count * d, 64);
        return this.#dispatch(EMBEDDING, [out, table, ids], [count, d], gx, gy);
      }
      case "attention": {
        const [, out, q, k, v, lim, probs, tq, tk, heads, hd] = c;
        const [gx, gy] = gridFor(tq * heads, 64);
        const spec = attentionKernel(hd);
        const params = [tq, tk, heads, 1 / Math.sqrt(hd), probs < 0 ? 0 : 1];
        return this.#dispatch(spec, [out, q, k, v, lim, probs < 0 ? out : probs], params, gx, gy);
      }
      case "couple":
        return this.#elementwise("couple", [c[1], c[2], c[3]], c[4], [c[5]]);
      case "coupleFixed":
        return this.#elementwise("couple_fixed", [c[1], c[2], c[3]], c[4], [2 ** c[5], c[6]]);
      case "toFixed":
        return this.#elementwise("to_fixed", [c[1], c[2]], c[3], [2 ** c[4]]);
      case "fromFixed":
        return this.#elementwise("from_fixed", [c[1], c[2]], c[3], [2 ** -c[4]]);
    }
  }

  // ── ops ──────────────────────────────────────────────────────────────────────

  #elementwise(name: string, ids: number[], n: number, extra: number[]): void {
    if (n === 0) return;
    const [gx, gy] = gridFor(n, ELEMENTWISE_WG);
    this.#dispatch(ELEMENTWISE_KERNELS[name], ids, [n, ...extra], gx, gy);
  }

  #copy(dst: number, dstOff: number, src: number, srcOff: number, n: number): void {
    if (n === 0) return;
    const enc = this.#encoderForCopy();
    const d = this.#store.get(dst), s = this.#store.get(src);
    if (dst !== src) {
      enc.copyBufferToBuffer(s, srcOff * 4, d, dstOff * 4, n * 4);
      return;
    }
    // WebGPU refuses a copy within one buffer: go through a scratch buffer (overlap-safe).
    const tmp = this.#store.scratch("copy", n * 4);
    enc.copyBufferToBuffer(s, srcOff * 4, tmp, 0, n * 4);
    enc.copyBufferToBuffer(tmp, 0, d, dstOff * 4, n * 4);
  }

  #matmulQ8(out: number, x: number, w: number, m: number): void {
    if (m === 0) return;
    const q = this.#store.getQ8(w);
    const xq = this.#store.scratch("xq", m * q.k4 * 4);
    const xs = this.#store.scratch("xs", m * 4);
    const [gx, gy] = gridFor(m, 1);
    const xBuf = this.#store.get(x);
    this.#dispatchBuffers(QUANTIZE_ROWS, [xq, xs, xBuf], [m, q.cols, q.k4], gx, gy, `${x}`);
    const spec = matmulQ8Kernel(this.#packedDot);
    const bufs = [this.#store.get(out), xq, xs, q.words, q.scales];
    this.#dispatchBuffers(
      spec,
      bufs,
      [m, q.rows, q.k4],
      Math.ceil(q.rows / Q8_COLS),
      Math.ceil(m / Q8_ROWS),
      `${out},${w}`,
    );
  }

  #ropeOp(
    x: number,
    t: number,
    heads: number,
    hd: number,
    pos0: number,
    theta: number,
    inverse: number,
  ): void {
    if (t === 0) return;
    const key = `${theta}|${hd}`;
    let tab = this.#rope.get(key);
    if (!tab || tab.positions < pos0 + t) {
      const positions = Math.max(1024, 2 ** Math.ceil(Math.log2(pos0 + t)));
      const half = hd / 2;
      const data = new Float32Array(positions * half * 2);
      const th = Math.fround(theta);
      for (let i = 0; i < half; i++) {
        const freq = Math.pow(th, -(2 * i) / hd); // as the reference computes it
        for (let pos = 0; pos < positions; pos++) {
          data[(pos * half + i) * 2] = Math.cos(pos * freq);
          data[(pos * half + i) * 2 + 1] = Math.sin(pos * freq);
        }
      }
      if (tab) this.#store.free(tab.id);
      const id = this.#ropeIds--;
      this.#submit();
      this.#store.alloc(id, data.length);
      this.device.queue.writeBuffer(this.#store.get(id), 0, data);
      tab = { id, positions };
      this.#rope.set(key, tab);
    }
    const [gx, gy] = gridFor(t * heads * (hd / 2), 64);
    this.#dispatch(ROPE, [x, tab.id], [t, heads, hd, pos0, inverse], gx, gy);
  }

  // ── dispatch machinery ───────────────────────────────────────────────────────

  #dispatch(spec: KernelSpec, ids: number[], params: number[], gx: number, gy: number): void {
    this.#dispatchBuffers(spec, ids.map((id) => this.#store.get(id)), params, gx, gy, ids.join());
  }

  #dispatchBuffers(
    spec: KernelSpec,
    buffers: GPUBuffer[],
    params: number[],
    gx: number,
    gy: number,
    cacheKey: string,
  ): void {
    if (this.#dispatches >= MAX_DISPATCHES) this.#submit();
    const { pipeline, layout } = this.#pipeline(spec);
    const slot = this.#dispatches++;
    const view = new DataView(this.#paramHost, slot * PARAM_SLOT_BYTES, PARAM_SLOT_BYTES);
    spec.params.forEach(([, type], i) => {
      if (type === "f32") view.setFloat32(i * 4, params[i], true);
      else if (type === "i32") view.setInt32(i * 4, params[i], true);
      else view.setUint32(i * 4, params[i], true);
    });
    const pass = this.#computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.#bindGroup(`${spec.name}|${cacheKey}`, layout, buffers), [
      slot * PARAM_SLOT_BYTES,
    ]);
    pass.dispatchWorkgroups(gx, gy);
  }

  #pipeline(spec: KernelSpec): Pipeline {
    let p = this.#pipelines.get(spec.name);
    if (p) return p;
    const module = this.device.createShaderModule({ code: kernelSource(spec), label: spec.name });
    const layout = this.device.createBindGroupLayout({
      entries: [
        {
          binding: 0,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: "uniform", hasDynamicOffset: true, minBindingSize: PARAM_SLOT_BYTES },
        },
        ...spec.buffers.map((_, i) => ({
          binding: i + 1,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: "storage" as const },
        })),
      ],
    });
    const pipeline = this.device.createComputePipeline({
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: "main" },
      label: spec.name,
    });
    p = { pipeline, layout };
    this.#pipelines.set(spec.name, p);
    return p;
  }

  // Bind groups are cached by kernel and buffer ids (the transformer reuses its scratch); any
  // buffer going away (free, scratch growth) drops the cache.
  #bindGroup(key: string, layout: GPUBindGroupLayout, buffers: GPUBuffer[]): GPUBindGroup {
    if (this.#bindGeneration !== this.#store.generation) {
      this.#bindGroups = new Map();
      this.#bindGeneration = this.#store.generation;
    }
    const hit = this.#bindGroups.get(key);
    if (hit) return hit;
    const group = this.device.createBindGroup({
      layout,
      entries: [
        { binding: 0, resource: { buffer: this.#params, size: PARAM_SLOT_BYTES } },
        ...buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } })),
      ],
    });
    this.#bindGroups.set(key, group);
    return group;
  }

  #computePass(): GPUComputePassEncoder {
    if (!this.#encoder) this.#encoder = this.device.createCommandEncoder();
    if (!this.#pass) this.#pass = this.#encoder.beginComputePass();
    return this.#pass;
  }

  #encoderForCopy(): GPUCommandEncoder {
    if (!this.#encoder) this.#encoder = this.device.createCommandEncoder();
    if (this.#pass) {
      this.#pass.end();
      this.#pass = null;
    }
    return this.#encoder;
  }

  /** Uploads the recorded dispatches' parameters and submits the encoder. */
  #submit(): void {
    if (this.#encoder) {
      this.#pass?.end();
      this.#pass = null;
      if (this.#dispatches > 0) {
        this.device.queue.writeBuffer(
          this.#params,
          0,
          this.#paramHost,
          0,
          this.#dispatches * PARAM_SLOT_BYTES,
        );
      }
      this.device.queue.submit([this.#encoder.finish()]);
      this.#encoder = null;
      this.#dispatches = 0;
    }
    this.#store.bury();
  }

  async #read(r: ReadRequest): Promise<Uint32Array> {
    const bytes = r.length * 4;
    if (bytes === 0) {
      this.#submit();
      return new Uint32Array(0);
    }
    if (!this.#staging || this.#staging.size < bytes) {
      this.#staging?.destroy();
      this.#staging = this.device.createBuffer({
        size: Math.ceil(bytes / 256) * 256,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
    }
    const enc = this.#encoderForCopy();
    enc.copyBufferToBuffer(this.#store.get(r.id), r.offset * 4, this.#staging, 0, bytes);
    this.#submit();
    await this.#staging.mapAsync(GPUMapMode.READ, 0, Math.ceil(bytes / 4) * 4);
    const out = new Uint32Array(this.#staging.getMappedRange(0, bytes).slice(0));
    this.#staging.unmap();
    return out;
  }
}
