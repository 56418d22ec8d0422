/**
 * The reversible transformer at inference time, in both directions.
 *
 * Two streams `(x1, x2)` start as copies of the input embedding. A block computes
 * `y1 = x1 + F(x2)`, `y2 = x2 + G(y1)` (F = attention, G = SwiGLU feed-forward). The forward
 * direction (compress) runs the blocks in order with the `fwd` weights; the backward direction
 * (reconstruct) invokes them in reverse with the inverse coupling, `x2 = y2 − G(y1)`,
 * `x1 = y1 − F(x2)`, using the `bwd` weights, and decodes text token by token with a key/value
 * cache. Every kernel works row by row with a fixed order, so a batch of rows gives bit-identical
 * results to the same rows one at a time; the lossless codec relies on that.
 *
 * @module
 */
import type { Backend, F32, I32 } from "../backend/backend.ts";
import { headDim, type ModelConfig } from "./config.ts";
import {
  type DirectionWeights,
  type ModelWeights,
  TYPE_FRESH,
  TYPE_MEMORY,
  TYPE_TEXT,
} from "./weights.ts";
import { BOS_ID } from "./tokenizer.ts";

/** Scratch buffers for up to `rows` positions, allocated once. */
interface Scratch {
  rows: number;
  x1: F32;
  x2: F32;
  h: F32;
  q: F32;
  k: F32;
  v: F32;
  att: F32;
  f: F32;
  a: F32;
  b: F32;
  keyLimit: I32;
  logits: F32;
}

/**
 * Runs the model. Owns scratch buffers sized for the longest call; decoding state lives in
 * {@link DecoderSession}s so several decodes can interleave.
 */
export class ReversibleTransformer {
  readonly config: ModelConfig;
  readonly backend: Backend;
  readonly weights: ModelWeights;
  #s: Scratch;
  // Small tables kept on the host: inputs are assembled here, then uploaded in one write.
  #embed: Float32Array;
  #typeEmbed: Float32Array;
  #memFresh: Float32Array;
  /** Learned initial memory (the state before the first segment), [S*D]. */
  readonly memInit: Float32Array;

  constructor(backend: Backend, config: ModelConfig, weights: ModelWeights) {
    this.backend = backend;
    this.config = config;
    this.weights = weights;
    const c = config;
    const rows = Math.max(2 * c.memorySlots + c.segmentTokens, this.decodeCapacity);
    const be = backend;
    this.#s = {
      rows,
      x1: be.f32(rows * c.dim),
      x2: be.f32(rows * c.dim),
      h: be.f32(rows * c.dim),
      q: be.f32(rows * c.dim),
      k: be.f32(rows * c.dim),
      v: be.f32(rows * c.dim),
      att: be.f32(rows * c.dim),
      f: be.f32(rows * c.dim),
      a: be.f32(rows * c.ffnDim),
      b: be.f32(rows * c.ffnDim),
      keyLimit: be.i32(rows),
      logits: be.f32(rows * c.vocabSize),
    };
    this.#embed = be.read(weights.embed);
    this.#typeEmbed = be.read(weights.typeEmbed);
    this.#memFresh = be.read(weights.memFresh);
    this.memInit = be.read(weights.memInit);
  }

  /** Positions a decoder holds: memory slots, BOS and the text window. */
  get decodeCapacity(): number {
    return this.config.memorySlots + 1 + this.config.window;
  }

  // ── forward direction: compress ─────────────────────────────────────────────

  /**
   * Compresses one segment: input `[memory (S) | tokens | fresh memory tokens (S)]`, output the
   * new memory (the final hidden states at the fresh slots), `[S*D]` f32.
   *
   * @param memory Previous memory, `[S*D]`.
   * @param tokens Up to `segmentTokens` token ids.
   */
  compressSegment(memory: Float32Array, tokens: ArrayLike<number>): Float32Array {
    const c = this.config, be = this.backend, s = this.#s;
    const S = c.memorySlots, D = c.dim, T = tokens.length;
    if (T > c.segmentTokens) {
      throw new RangeError(`Segment of ${T} tokens exceeds ${c.segmentTokens}`);
    }
    const n = 2 * S + T;
    const input = new Float32Array(n * D);
    const limits = new Int32Array(n);
    for (let i = 0; i < S; i++) {
      this.#row(input, i, memory, i, TYPE_MEMORY);
      limits[i] = S; // memory slots see each other
    }
    for (let i = 0; i < T; i++) {
      this.#row(input, S + i, this.#embed, tokens[i], TYPE_TEXT);
      limits[S + i] = S + T; // text sees the memory and the whole segment
    }
    for (let i = 0; i < S; i++) {
      this.#row(input, S + T + i, this.#memFresh, i, TYPE_FRESH);
      limits[S + T + i] = n; // fresh memory tokens see everything
    }
    be.write(s.x1, input);
    be.write(s.x2, input);
    be.write(s.keyLimit, limits);
    for (const block of this.weights.fwd.blocks) {
      this.#attention(block, this.weights.fwd, n, 0, s.x2, null);
      be.couple(s.x1, s.x1, s.f, n * D, false); // y1 = x1 + F(x2)
      this.#ffn(block, n, s.x1);
      be.couple(s.x2, s.x2, s.f, n * D, false); // y2 = x2 + G(y1)
    }
    this.#finalNorm(this.weights.fwd, n);
    return be.read(s.h, (S + T) * D, S * D);
  }

  // ── backward direction: reconstruct ─────────────────────────────────────────

  /** Starts decoding from `memory` (`[S*D]`); call {@link DecoderSession.free} when done. */
  startDecoder(memory: Float32Array): DecoderSession {
    return new DecoderSession(this, memory);
  }

  /**
   * Runs `n` new rows (already embedded in `input`, `[n*D]`) at positions `pos0…` through the
   * backward direction, extending `cache`; leaves the logits of the last `logitRows` rows (all
   * by default) as rows `0 … logitRows-1` for {@link readLogits} / {@link readProbs}.
   * @internal
   */
  runBackward(
    cache: KvCache,
    input: Float32Array,
    n: number,
    pos0: number,
    limits: Int32Array,
    logitRows: number = n,
  ): void {
    const be = this.backend, s = this.#s, D = this.config.dim;
    be.write(s.x1, input);
    be.write(s.x2, input);
    be.write(s.keyLimit, limits);
    const blocks = this.weights.bwd.blocks;
    for (let l = blocks.length - 1; l >= 0; l--) {
      this.#ffn(blocks[l], n, s.x1);
      be.couple(s.x2, s.x2, s.f, n * D, true); // x2 = y2 − G(y1)
      this.#attention(blocks[l], this.weights.bwd, n, pos0, s.x2, cache.layers[l]);
      be.couple(s.x1, s.x1, s.f, n * D, true); // x1 = y1 − F(x2)
    }
    this.#finalNorm(this.weights.bwd, n);
    if (logitRows < n) be.copy(s.h, 0, s.h, (n - logitRows) * D, logitRows * D);
    be.matmulQ8(s.logits, s.h, this.weights.head, logitRows);
  }

  /** Copies the logits of the last `runBackward` (`n` rows) to the host. @internal */
  readLogits(n: number): Float32Array {
    return this.backend.read(this.#s.logits, 0, n * this.config.vocabSize);
  }

  /** Softmax of the last logits in place, then copied to the host. @internal */
  readProbs(n: number): Float32Array {
    const s = this.#s, V = this.config.vocabSize;
    this.backend.softmax(s.logits, s.logits, n, V);
    return this.backend.read(s.logits, 0, n * V);
  }

  /** Embeds a row: `table[index] + type_embed[type]` into `out` row `row`. @internal */
  embedRow(
    out: Float32Array,
    row: number,
    table: "memory" | "text",
    src: Float32Array | null,
    index: number,
  ): void {
    if (table === "memory") this.#row(out, row, src!, index, TYPE_MEMORY);
    else this.#row(out, row, this.#embed, index, TYPE_TEXT);
  }

  /** Releases the scratch buffers (the weights stay). */
  free(): void {
    for (const b of Object.values(this.#s)) if (typeof b === "object") this.backend.free(b);
  }

  // ── pieces ──────────────────────────────────────────────────────────────────

  #row(out: Float32Array, row: number, table: Float32Array, index: number, type: number): void {
    const D = this.config.dim;
    const o = row * D, t = index * D, e = type * D;
    for (let j = 0; j < D; j++) out[o + j] = table[t + j] + this.#typeEmbed[e + j];
  }

  // F(x): attention of the rows of `x` (RMSNorm first) into s.f. With a cache, keys and values
  // of the new rows are appended at pos0 and the queries attend over the whole cache.
  #attention(
    block: DirectionWeights["blocks"][number],
    _dir: DirectionWeights,
    n: number,
    pos0: number,
    x: F32,
    cache: LayerCache | null,
  ): void {
    const be = this.backend, s = this.#s, c = this.config, D = c.dim;
    be.rmsnorm(s.h, x, block.attnNorm, n, D, c.normEps);
    be.matmulQ8(s.q, s.h, block.wq, n);
    be.matmulQ8(s.k, s.h, block.wk, n);
    be.matmulQ8(s.v, s.h, block.wv, n);
    const hd = headDim(c);
    be.rope(s.q, n, c.heads, hd, pos0, c.ropeTheta);
    be.rope(s.k, n, c.heads, hd, pos0, c.ropeTheta);
    if (cache) {
      be.copy(cache.k, pos0 * D, s.k, 0, n * D);
      be.copy(cache.v, pos0 * D, s.v, 0, n * D);
      be.attention(s.att, s.q, cache.k, cache.v, s.keyLimit, {
        tq: n,
        tk: pos0 + n,
        heads: c.heads,
        headDim: hd,
      });
    } else {
      be.attention(s.att, s.q, s.k, s.v, s.keyLimit, { tq: n, tk: n, heads: c.heads, headDim: hd });
    }
    be.matmulQ8(s.f, s.att, block.wo, n);
  }

  // G(x): SwiGLU feed-forward of the rows of `x` (RMSNorm first) into s.f.
  #ffn(block: DirectionWeights["blocks"][number], n: number, x: F32): void {
    const be = this.backend, s = this.#s, c = this.config;
    be.rmsnorm(s.h, x, block.ffnNorm, n, c.dim, c.normEps);
    be.matmulQ8(s.a, s.h, block.w1, n);
    be.matmulQ8(s.b, s.h, block.w3, n);
    be.silu(s.a, s.a, n * c.ffnDim);
    be.mul(s.a, s.a, s.b, n * c.ffnDim);
    be.matmulQ8(s.f, s.a, block.w2, n);
  }

  // h = RMSNorm((x1 + x2) / 2): the two streams merged for the output.
  #finalNorm(dir: DirectionWeights, n: number): void {
    const be = this.backend, s = this.#s, c = this.config;
    be.add(s.h, s.x1, s.x2, n * c.dim);
    // RMSNorm is scale invariant up to eps, so the 1/2 is folded away.
    be.rmsnorm(s.h, s.h, dir.finalNorm, n, c.dim, c.normEps);
  }
}

/** Keys and values of one layer, `[capacity, D]` each. */
interface LayerCache {
  k: F32;
  v: F32;
}

/** Per-layer key/value caches of a decoder. */
interface KvCache {
  layers: LayerCache[];
}

/**
 * Incremental decoding in the backward direction from one memory. The context is
 * `[memory slots | BOS | text]`; when it is full, it restarts from the memory, BOS and the last
 * half window of text, at the same token on every run (so encoder and decoder agree).
 */
export class DecoderSession {
  readonly #m: ReversibleTransformer;
  readonly #memory: Float32Array;
  readonly #cache: KvCache;
  #pos = 0; // positions used in the cache
  #history: number[] = []; // text tokens in the current context
  #freed = false;

  constructor(model: ReversibleTransformer, memory: Float32Array) {
    const c = model.config;
    if (memory.length !== c.memorySlots * c.dim) {
      throw new RangeError(`Memory has ${memory.length} values, expected ${c.memorySlots * c.dim}`);
    }
    this.#m = model;
    this.#memory = memory;
    const cap = model.decodeCapacity * c.dim;
    this.#cache = {
      layers: Array.from({ length: c.layers }, () => ({
        k: model.backend.f32(cap),
        v: model.backend.f32(cap),
      })),
    };
  }

  /** Free text positions before the context slides. */
  get room(): number {
    return this.#m.decodeCapacity - this.#pos;
  }

  /**
   * Feeds the context prefix (memory slots and BOS) — or, after a slide, the prefix plus the
   * kept text — and returns the next-token distribution source for its last row.
   * Returns the number of rows whose logits are available (always 1: the last row).
   */
  #prefill(kept: number[]): void {
    const m = this.#m, c = m.config, S = c.memorySlots;
    const n = S + 1 + kept.length;
    const input = new Float32Array(n * c.dim);
    const limits = new Int32Array(n);
    for (let i = 0; i < S; i++) {
      m.embedRow(input, i, "memory", this.#memory, i);
      limits[i] = S;
    }
    m.embedRow(input, S, "text", null, BOS_ID);
    limits[S] = S + 1;
    for (let i = 0; i < kept.length; i++) {
      m.embedRow(input, S + 1 + i, "text", null, kept[i]);
      limits[S + 1 + i] = S + 2 + i;
    }
    // Only the last row (BOS, or the last kept token) predicts the next token.
    m.runBackward(this.#cache, input, n, 0, limits, 1);
    this.#pos = n;
    this.#history = kept.slice();
  }

  /**
   * Starts (or restarts) the context. Afterwards the model's logits hold one row: the
   * distribution of the first token.
   */
  begin(): void {
    this.#check();
    this.#prefill([]);
  }

  /**
   * Appends `tokens` (at most {@link room}) and leaves logits for each of them in the model:
   * row `i` is the distribution of the token after `tokens[i]`.
   */
  feed(tokens: ArrayLike<number>): void {
    this.#check();
    const m = this.#m, c = m.config, n = tokens.length;
    if (n === 0) return;
    if (n > this.room) throw new RangeError(`Feeding ${n} tokens with room for ${this.room}`);
    const input = new Float32Array(n * c.dim);
    const limits = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      m.embedRow(input, i, "text", null, tokens[i]);
      limits[i] = this.#pos + i + 1;
    }
    m.runBackward(this.#cache, input, n, this.#pos, limits);
    this.#pos += n;
    for (let i = 0; i < n; i++) this.#history.push(tokens[i]);
  }

  /**
   * When the context is full, restarts it from the memory, BOS and the last half window of
   * text; the model's logits then hold one row (the next token's distribution).
   * @returns Whether it slid.
   */
  slideIfFull(): boolean {
    if (this.room > 0) return false;
    const keep = this.#m.config.window >> 1;
    this.#prefill(this.#history.slice(this.#history.length - keep));
    return true;
  }

  /** Releases the caches. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    for (const l of this.#cache.layers) {
      this.#m.backend.free(l.k);
      this.#m.backend.free(l.v);
    }
  }

  #check(): void {
    if (this.#freed) throw new Error("Decoder session was freed");
  }
}
