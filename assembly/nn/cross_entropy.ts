// Mean cross-entropy over the rows whose target is in [0, vocab) (others are ignored), with the
// gradient w.r.t. the logits.

import { exp_s, exp_v, hmax, hsum } from "./math";

/**
 * Returns the mean of logsumexp(logits[r]) − logits[r][t_r] over counted rows (0 when none;
 * row losses are summed in f64, in row order). If `dlogits` is not 0 it receives
 * (softmax(logits[r]) − onehot(t_r)) / count, and zero rows for ignored targets.
 */
export function cross_entropy_f32(
  logits: usize,
  targets: usize,
  rows: i32,
  vocab: i32,
  dlogits: usize,
): f32 {
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const t = load<i32>(targets + (<usize>r << 2));
    if (t >= 0 && t < vocab) count++;
  }
  const rowBytes = <usize>vocab << 2;
  const invCount: f32 = count > 0 ? <f32>1 / <f32>count : 0;
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const t = load<i32>(targets + (<usize>r << 2));
    const x = logits + <usize>r * rowBytes;
    const g = dlogits ? dlogits + <usize>r * rowBytes : 0;
    if (t < 0 || t >= vocab) {
      if (g) memory.fill(g, 0, rowBytes);
      continue;
    }
    const xt = load<f32>(x + (<usize>t << 2));
    let vm = f32x4.splat(-Infinity as f32);
    let j = 0;
    for (; j + 4 <= vocab; j += 4) vm = f32x4.pmax(vm, v128.load(x + (<usize>j << 2)));
    let m = hmax(vm);
    for (; j < vocab; j++) m = max(m, load<f32>(x + (<usize>j << 2)));
    const vmx = f32x4.splat(m);
    let acc = f32x4.splat(0);
    j = 0;
    if (g) {
      for (; j + 4 <= vocab; j += 4) {
        const o = <usize>j << 2;
        const e = exp_v(f32x4.sub(v128.load(x + o), vmx));
        v128.store(g + o, e);
        acc = f32x4.add(acc, e);
      }
    } else {
      for (; j + 4 <= vocab; j += 4) {
        acc = f32x4.add(acc, exp_v(f32x4.sub(v128.load(x + (<usize>j << 2)), vmx)));
      }
    }
    let s = hsum(acc);
    for (; j < vocab; j++) {
      const o = <usize>j << 2;
      const e = exp_s(load<f32>(x + o) - m);
      if (g) store<f32>(g + o, e);
      s += e;
    }
    total += (<f64>m + Math.log(<f64>s)) - <f64>xt;
    if (g) {
      const c: f32 = invCount / s;
      const vc = f32x4.splat(c);
      j = 0;
      for (; j + 4 <= vocab; j += 4) {
        const o = <usize>j << 2;
        v128.store(g + o, f32x4.mul(v128.load(g + o), vc));
      }
      for (; j < vocab; j++) {
        const o = <usize>j << 2;
        store<f32>(g + o, load<f32>(g + o) * c);
      }
      const ot = <usize>t << 2;
      store<f32>(g + ot, load<f32>(g + ot) - invCount);
    }
  }
  return count > 0 ? <f32>(total / <f64>count) : 0;
}
