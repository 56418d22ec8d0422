export function matmul_f32_placeholder(): void {}
