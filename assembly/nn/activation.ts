// Activations and their backward passes: SiLU and GELU (tanh approximation).
// GELU uses 0.5·(1 + tanh(u)) = sigmoid(2u), u = √(2/π)·(x + 0.044715·x³), so one exp serves
// both, and it stays NaN-free for large |x|.

import { sigmoid_s, sigmoid_v } from "./math";

const K: f32 = 0.7978845608028654; // √(2/π)
const KC: f32 = 0.035677408136300125; // √(2/π) · 0.044715
const KC3: f32 = 0.10703222440890037; // 3 · √(2/π) · 0.044715

/** out = x · sigmoid(x). */
export function silu_f32(out: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    v128.store(out + o, f32x4.mul(v, sigmoid_v(v)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(out + o, v * sigmoid_s(v));
  }
}

/** dx = dy · s · (1 + x·(1 − s)), s = sigmoid(x). */
export function silu_backward_f32(dx: usize, dy: usize, x: usize, n: i32): void {
  const one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    const s = sigmoid_v(v);
    const d = f32x4.mul(s, f32x4.add(one, f32x4.mul(v, f32x4.sub(one, s))));
    v128.store(dx + o, f32x4.mul(v128.load(dy + o), d));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    const s = sigmoid_s(v);
    const d = s * (<f32>1 + v * (<f32>1 - s));
    store<f32>(dx + o, load<f32>(dy + o) * d);
  }
}

/** out = x · sigmoid(2u), u = K·x + KC·x³. */
export function gelu_f32(out: usize, x: usize, n: i32): void {
  const vk = f32x4.splat(K);
  const vkc = f32x4.splat(KC);
  const two = f32x4.splat(2);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    const u = f32x4.mul(v, f32x4.add(vk, f32x4.mul(vkc, f32x4.mul(v, v))));
    v128.store(out + o, f32x4.mul(v, sigmoid_v(f32x4.mul(two, u))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    const u = v * (K + KC * (v * v));
    store<f32>(out + o, v * sigmoid_s(<f32>2 * u));
  }
}

/** dx = dy · (s + 2·x·s·(1 − s)·(K + 3·KC·x²)), s = sigmoid(2u). */
export function gelu_backward_f32(dx: usize, dy: usize, x: usize, n: i32): void {
  const vk = f32x4.splat(K);
  const vkc = f32x4.splat(KC);
  const vkc3 = f32x4.splat(KC3);
  const one = f32x4.splat(1);
  const two = f32x4.splat(2);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    const x2 = f32x4.mul(v, v);
    const u = f32x4.mul(v, f32x4.add(vk, f32x4.mul(vkc, x2)));
    const s = sigmoid_v(f32x4.mul(two, u));
    const du = f32x4.add(vk, f32x4.mul(vkc3, x2));
    const t = f32x4.mul(f32x4.mul(f32x4.mul(two, v), f32x4.mul(s, f32x4.sub(one, s))), du);
    v128.store(dx + o, f32x4.mul(v128.load(dy + o), f32x4.add(s, t)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    const x2 = v * v;
    const u = v * (K + KC * x2);
    const s = sigmoid_s(<f32>2 * u);
    const du = K + KC3 * x2;
    const t = ((<f32>2 * v) * (s * (<f32>1 - s))) * du;
    store<f32>(dx + o, load<f32>(dy + o) * (s + t));
  }
}
