// Embedding gather and its backward scatter-add. A negative id gathers a zero row and is
// skipped by the backward pass; ids are not checked against the vocabulary (the host does).

/** out[i] = table[ids[i]] for i < count, rows of d floats. */
export function embedding_f32(out: usize, table: usize, ids: usize, count: i32, d: i32): void {
  const rowBytes = <usize>d << 2;
  for (let i = 0; i < count; i++) {
    const id = load<i32>(ids + (<usize>i << 2));
    const dst = out + <usize>i * rowBytes;
    if (id < 0) memory.fill(dst, 0, rowBytes);
    else memory.copy(dst, table + <usize>id * rowBytes, rowBytes);
  }
}

/** dtable[ids[i]] += dout[i] for i < count, in order of i (repeated ids accumulate). */
export function embedding_backward_f32(
  dtable: usize,
  dout: usize,
  ids: usize,
  count: i32,
  d: i32,
): void {
  const rowBytes = <usize>d << 2;
  for (let i = 0; i < count; i++) {
    const id = load<i32>(ids + (<usize>i << 2));
    if (id < 0) continue;
    const dst = dtable + <usize>id * rowBytes;
    const src = dout + <usize>i * rowBytes;
    let j = 0;
    for (; j + 4 <= d; j += 4) {
      const o = <usize>j << 2;
      v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
    }
    for (; j < d; j++) {
      const o = <usize>j << 2;
      store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
    }
  }
}
