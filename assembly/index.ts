// Entry point of the r3mem kernels. Everything the TypeScript side calls is re-exported here.
// Memory is a TLSF heap (incremental runtime) that the host drives through alloc/free; kernels
// themselves never allocate, so memory stays flat across calls.

export function alloc(bytes: usize): usize {
  return heap.alloc(bytes);
}

export function free(ptr: usize): void {
  heap.free(ptr);
}

export * from "./matmul_q8";
export * from "./matmul_f32";
export * from "./nn/elementwise";
export * from "./nn/rmsnorm";
export * from "./nn/softmax";
export * from "./nn/activation";
export * from "./nn/rope";
export * from "./nn/embedding";
export * from "./nn/attention";
export * from "./nn/cross_entropy";
export * from "./nn/coupling";
export * from "./nn/adamw";
export * from "./nn/dequant";
