// int8 rows with one f32 scale per row, to f32: out[r, c] = q[r, c] · scales[r]. Used when a
// model loads its embedding table (4096 × 128 values: in WebAssembly rather than in JavaScript
// that is still cold at load time).

/** out[r·cols + c] = q[r·cols + c] · scales[r]  (q int8, out and scales f32). */
export function dequant_rows_i8(out: usize, q: usize, scales: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = load<f32>(scales + (<usize>r << 2));
    const sv = f32x4.splat(s);
    const qr = q + <usize>r * <usize>cols;
    const orow = out + ((<usize>r * <usize>cols) << 2);
    let c = 0;
    for (; c + 16 <= cols; c += 16) {
      const b = v128.load(qr + <usize>c);
      const lo = i16x8.extend_low_i8x16_s(b);
      const hi = i16x8.extend_high_i8x16_s(b);
      const o = orow + (<usize>c << 2);
      v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), sv));
      v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), sv), 16);
      v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), sv), 32);
      v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), sv), 48);
    }
    for (; c < cols; c++) {
      store<f32>(orow + (<usize>c << 2), <f32>load<i8>(qr + <usize>c) * s);
    }
  }
}
