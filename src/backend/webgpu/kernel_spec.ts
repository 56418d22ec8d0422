/**
 * How a WGSL compute kernel is described: its storage bindings, its scalar parameters and its
 * body. {@link kernelSource} writes the declarations every kernel shares, so the body only holds
 * the computation. Parameters travel in one uniform block per dispatch (a dynamic offset into a
 * shared buffer), so a batch of dispatches needs one upload.
 *
 * @module
 */

/** Element type of a storage binding or a parameter. */
export type WgslScalar = "f32" | "i32" | "u32";

/** A compute kernel: bindings `1…n` in order, parameters in binding 0. */
export interface KernelSpec {
  /** Name, unique per generated source (pipelines are cached by it). */
  readonly name: string;
  /** Storage bindings, in binding order: `[name, element type]`. */
  readonly buffers: readonly (readonly [string, WgslScalar])[];
  /** Uniform parameters, in order: `[name, type]` (each 4 bytes). */
  readonly params: readonly (readonly [string, WgslScalar])[];
  /** Threads per workgroup (x). */
  readonly workgroupSize: number;
  /** Extra module-scope declarations (constants, workgroup arrays, helpers). */
  readonly prelude?: string;
  /** The body of `fn main`; `gid`, `lid`, `wid` and `nwg` are in scope. */
  readonly body: string;
}

/** Bytes reserved for one dispatch's parameters (the minimum uniform offset alignment). */
export const PARAM_SLOT_BYTES = 256;

/**
 * The WGSL source of a kernel. Every storage binding is `read_write`: WebGPU lets one buffer be
 * bound twice as writable storage in a dispatch, which in-place calls (`out` = `x`) need.
 *
 * @param spec The kernel.
 * @returns WGSL source text.
 *
 * @example
 * ```ts
 * import { kernelSource } from "./kernel_spec.ts";
 * const src = kernelSource({
 *   name: "twice", buffers: [["x", "f32"]], params: [["n", "u32"]], workgroupSize: 64,
 *   body: "let i = gid.x; if (i < p.n) { x[i] = 2.0 * x[i]; }",
 * });
 * console.log(src.includes("var<storage, read_write> x: array<f32>;")); // true
 * ```
 */
export function kernelSource(spec: KernelSpec): string {
  if (spec.params.length === 0 || spec.params.length * 4 > PARAM_SLOT_BYTES) {
    throw new RangeError(`Kernel ${spec.name}: 1…64 parameters, got ${spec.params.length}`);
  }
  const fields = spec.params.map(([n, t]) => `  ${n}: ${t},`).join("\n");
  const bindings = spec.buffers.map(([n, t], i) =>
    `@group(0) @binding(${i + 1}) var<storage, read_write> ${n}: array<${t}>;`
  ).join("\n");
  return `struct Params {\n${fields}\n}
@group(0) @binding(0) var<uniform> p: Params;
${bindings}
${spec.prelude ?? ""}
@compute @workgroup_size(${spec.workgroupSize})
fn main(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
${spec.body}
}
`;
}

/** Workgroups of `size` threads covering `n` items, spread over x and y (x ≤ 65535). */
export function gridFor(n: number, size: number): [number, number] {
  const groups = Math.max(1, Math.ceil(n / size));
  if (groups <= 65535) return [groups, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}
