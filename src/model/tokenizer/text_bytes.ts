/**
 * Small string and byte helpers of the encoder and the vocabulary file.
 *
 * @module
 */

export function utf8Into(text: string, s: number, e: number, out: Int32Array): number {
  let p = 0;
  for (let i = s; i < e; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) out[p++] = c;
    else if (c < 0x800) {
      out[p++] = 0xc0 | (c >> 6);
      out[p++] = 0x80 | (c & 63);
    } else if ((c & 0xfc00) === 0xd800) {
      c = ((c - 0xd800) << 10) + text.charCodeAt(++i) + 0x2400;
      out[p++] = 0xf0 | (c >> 18);
      out[p++] = 0x80 | ((c >> 12) & 63);
      out[p++] = 0x80 | ((c >> 6) & 63);
      out[p++] = 0x80 | (c & 63);
    } else {
      out[p++] = 0xe0 | (c >> 12);
      out[p++] = 0x80 | ((c >> 6) & 63);
      out[p++] = 0x80 | (c & 63);
    }
  }
  return p;
}

/** `text.slice(s, e)` as a string of its own (a slice may keep all of `text` alive). */
export function flatCopy(text: string, s: number, e: number): string {
  if (e - s < 13) return text.slice(s, e); // V8 copies short slices anyway
  let out = "";
  for (let i = s; i < e; i += 1024) {
    out += String.fromCharCode.apply(null, codeUnits(text, i, Math.min(e, i + 1024)));
  }
  return out;
}

export function codeUnits(text: string, s: number, e: number): number[] {
  const a = new Array<number>(e - s);
  for (let i = s; i < e; i++) a[i - s] = text.charCodeAt(i);
  return a;
}

export function ascii(bytes: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

export function hex32(n: number): string {
  return "0x" + n.toString(16).padStart(8, "0");
}
