// AdamW with decoupled weight decay:
//   m = β1·m + (1−β1)·g,  v = β2·v + (1−β2)·g²,  m̂ = m/(1−β1^t),  v̂ = v/(1−β2^t),
//   p = p − lr·(m̂/(√v̂ + eps) + wd·p).
// The bias corrections are computed once in f64 and rounded to f32; the update is f32
// (f32x4.sqrt and division are correctly rounded, so deterministic).

/** One AdamW step over n parameters; `step` counts from 1. */
export function adamw_f32(
  param: usize,
  grad: usize,
  m: usize,
  v: usize,
  n: i32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weightDecay: f32,
  step: i32,
): void {
  const t = <f64>max(step, 1);
  const bc1 = <f32>(1.0 / (1.0 - Math.pow(<f64>beta1, t)));
  const bc2 = <f32>(1.0 / (1.0 - Math.pow(<f64>beta2, t)));
  const c1: f32 = <f32>1 - beta1;
  const c2: f32 = <f32>1 - beta2;
  const vb1 = f32x4.splat(beta1), vc1 = f32x4.splat(c1);
  const vb2 = f32x4.splat(beta2), vc2 = f32x4.splat(c2);
  const vbc1 = f32x4.splat(bc1), vbc2 = f32x4.splat(bc2);
  const veps = f32x4.splat(eps), vwd = f32x4.splat(weightDecay), vlr = f32x4.splat(lr);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(grad + o);
    const p = v128.load(param + o);
    const mv = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(vc1, g));
    const vv = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(vc2, f32x4.mul(g, g)));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    const mh = f32x4.mul(mv, vbc1);
    const vh = f32x4.mul(vv, vbc2);
    const u = f32x4.add(f32x4.div(mh, f32x4.add(f32x4.sqrt(vh), veps)), f32x4.mul(vwd, p));
    v128.store(param + o, f32x4.sub(p, f32x4.mul(vlr, u)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(grad + o);
    const p = load<f32>(param + o);
    const mv = beta1 * load<f32>(m + o) + c1 * g;
    const vv = beta2 * load<f32>(v + o) + c2 * (g * g);
    store<f32>(m + o, mv);
    store<f32>(v + o, vv);
    const mh = mv * bc1;
    const vh = vv * bc2;
    const u = mh / (sqrt<f32>(vh) + eps) + weightDecay * p;
    store<f32>(param + o, p - lr * u);
  }
}
