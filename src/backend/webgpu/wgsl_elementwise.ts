/**
 * Elementwise WGSL kernels: fill, add, mul, axpy, the SiLU and GELU activations, the f32
 * reversible coupling and the fixed-point coupling with its conversions. One thread per
 * element; `i` runs over a 2-D grid so any length fits the 65535-workgroup limit.
 *
 * @module
 */
import type { KernelSpec } from "./kernel_spec.ts";

/** Threads per workgroup of the elementwise kernels. */
export const ELEMENTWISE_WG = 256;

const INDEX = `let i = gid.x + gid.y * nwg.x * ${ELEMENTWISE_WG}u;\n  if (i >= p.n) { return; }`;

function elementwise(
  name: string,
  buffers: KernelSpec["buffers"],
  params: KernelSpec["params"],
  body: string,
  prelude?: string,
): KernelSpec {
  return {
    name,
    buffers,
    params: [["n", "u32"], ...params],
    workgroupSize: ELEMENTWISE_WG,
    prelude,
    body: `  ${INDEX}\n  ${body}`,
  };
}

// exp(-x) overflows to +inf for x < -88: x / inf is -0, the limit of SiLU and GELU there.
const SIGMOID_HELPERS = `
fn sigmoid_div(x: f32, u: f32) -> f32 { return x / (1.0 + exp(-u)); }
`;

// round(x · scale) to int32, ties to even (WGSL's round), saturated; NaN (exponent all ones,
// mantissa non-zero) gives 0. Tested on the bits: shader compilers may assume NaN never occurs.
const FIXED_HELPERS = `
fn round_sat_i32(x: f32) -> i32 {
  let bits = bitcast<u32>(x);
  if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0u) { return 0; }
  let r = round(x);
  if (r >= 2147483647.0) { return 2147483647; }
  if (r <= -2147483648.0) { return -2147483647 - 1; }
  return i32(r);
}
`;

/** Every elementwise kernel, by op name. */
export const ELEMENTWISE_KERNELS: Record<string, KernelSpec> = {
  fill: elementwise("fill", [["out", "f32"]], [["value", "f32"]], "out[i] = p.value;"),
  add: elementwise(
    "add",
    [["out", "f32"], ["a", "f32"], ["b", "f32"]],
    [],
    "out[i] = a[i] + b[i];",
  ),
  mul: elementwise(
    "mul",
    [["out", "f32"], ["a", "f32"], ["b", "f32"]],
    [],
    "out[i] = a[i] * b[i];",
  ),
  axpy: elementwise(
    "axpy",
    [["out", "f32"], ["x", "f32"]],
    [["alpha", "f32"]],
    "out[i] = out[i] + p.alpha * x[i];",
  ),
  silu: elementwise(
    "silu",
    [["out", "f32"], ["x", "f32"]],
    [],
    "let v = x[i]; out[i] = sigmoid_div(v, v);",
    SIGMOID_HELPERS,
  ),
  // GELU (tanh form) as x · sigmoid(2u), u = √(2/π)(x + 0.044715x³), as the reference writes it.
  gelu: elementwise(
    "gelu",
    [["out", "f32"], ["x", "f32"]],
    [],
    "let v = x[i];\n  let u = 0.7978845608028654 * (v + 0.044715 * v * v * v);\n" +
      "  out[i] = sigmoid_div(v, 2.0 * u);",
    SIGMOID_HELPERS,
  ),
  couple: elementwise(
    "couple",
    [["out", "f32"], ["x", "f32"], ["f", "f32"]],
    [["inverse", "u32"]],
    "if (p.inverse != 0u) { out[i] = x[i] - f[i]; } else { out[i] = x[i] + f[i]; }",
  ),
  // Integer coupling: exact and wrapping (WGSL i32 arithmetic wraps), so it inverts bit for bit.
  couple_fixed: elementwise(
    "couple_fixed",
    [["out", "i32"], ["x", "i32"], ["f", "f32"]],
    [["scale", "f32"], ["inverse", "u32"]],
    "let q = round_sat_i32(f[i] * p.scale);\n" +
      "  if (p.inverse != 0u) { out[i] = x[i] - q; } else { out[i] = x[i] + q; }",
    FIXED_HELPERS,
  ),
  to_fixed: elementwise(
    "to_fixed",
    [["out", "i32"], ["x", "f32"]],
    [["scale", "f32"]],
    "out[i] = round_sat_i32(x[i] * p.scale);",
    FIXED_HELPERS,
  ),
  from_fixed: elementwise(
    "from_fixed",
    [["out", "f32"], ["x", "i32"]],
    [["scale", "f32"]],
    "out[i] = f32(x[i]) * p.scale;",
  ),
};
