// Rotary position embedding, in place on x[t, heads·headDim].
// Pair (2i, 2i+1) of every head of row r turns by angle (pos0 + r) · theta^(−2i/headDim);
// `inverse` turns by the negative angle (the inverse, and also the backward pass, since the
// rotation is orthogonal). Angles and their sine/cosine are computed in f64 with the software
// (deterministic) Math of AssemblyScript, then rounded to f32 once.

/** Rotates every head of every row; headDim must be even (an odd last channel is left as is). */
export function rope_f32(
  x: usize,
  t: i32,
  heads: i32,
  headDim: i32,
  pos0: i32,
  theta: f32,
  inverse: i32,
): void {
  const half = headDim >> 1;
  const rowBytes = <usize>(heads * headDim) << 2;
  const headBytes = <usize>headDim << 2;
  const th = <f64>theta;
  for (let i = 0; i < half; i++) {
    const invFreq = Math.pow(th, -(<f64>(2 * i)) / <f64>headDim);
    for (let r = 0; r < t; r++) {
      const ang = <f64>(pos0 + r) * invFreq;
      const c = <f32>Math.cos(ang);
      let s = <f32>Math.sin(ang);
      if (inverse) s = -s;
      let p = x + <usize>r * rowBytes + (<usize>(2 * i) << 2);
      for (let h = 0; h < heads; h++) {
        const a = load<f32>(p);
        const b = load<f32>(p, 4);
        store<f32>(p, a * c - b * s);
        store<f32>(p, a * s + b * c, 4);
        p += headBytes;
      }
    }
  }
}
