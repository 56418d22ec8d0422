/**
 * The backend seam: every numeric kernel the model and the trainer need, behind one interface.
 *
 * Callers hold opaque buffer handles and never see where the numbers live (WebAssembly linear
 * memory for `wasm`, plain typed arrays for `reference`, GPU buffers for a future `webgpu`).
 * All matrices are row-major. Shapes are passed explicitly; kernels never allocate.
 *
 * @module
 */

/** A dense buffer of 32-bit floats owned by a backend. */
export interface F32 {
  /** Number of elements. */
  readonly length: number;
  /** Discriminant, so an `I32` is never passed where an `F32` is expected. */
  readonly dtype: "f32";
}

/** A dense buffer of 32-bit signed integers owned by a backend. */
export interface I32 {
  /** Number of elements. */
  readonly length: number;
  /** Discriminant. */
  readonly dtype: "i32";
}

/**
 * An int8 weight matrix `W` of shape `[rows, cols]` (row = output channel) with one f32 scale per
 * row: `W_real[r][c] = q[r][c] * scales[r]`. Backends may repack it (e.g. widen to int16 tiles).
 */
export interface Q8Matrix {
  /** Output channels (N). */
  readonly rows: number;
  /** Input features (K). */
  readonly cols: number;
  /** Discriminant. */
  readonly dtype: "q8";
}

/** Options of the f32 matrix product. */
export interface MatmulOptions {
  /** `a` is stored transposed, as `[K, M]`. */
  transA?: boolean;
  /** `b` is stored transposed, as `[N, K]`. */
  transB?: boolean;
  /** Add the product into `out` instead of overwriting it (gradient accumulation). */
  accumulate?: boolean;
}

/** Shape of a multi-head attention call; `q` is `[tq, heads*headDim]`, `k`/`v` `[tk, heads*headDim]`. */
export interface AttentionShape {
  /** Query positions. */
  tq: number;
  /** Key/value positions. */
  tk: number;
  /** Attention heads. */
  heads: number;
  /** Channels per head. */
  headDim: number;
}

/**
 * A numeric backend. Every op writes its first argument.
 *
 * Masks: attention masks in r3mem are always "prefix" masks — query `i` may attend to keys
 * `0 .. keyLimit[i]-1`. That one form expresses causal (`keyLimit[i] = offset+i+1`),
 * bidirectional (`keyLimit[i] = tk`) and the memory-slot masks of DESIGN.md (memory first, so
 * every position sees all memory slots plus a causal or bidirectional text part).
 */
export interface Backend {
  /** `"wasm"`, `"reference"` or `"webgpu"`. */
  readonly name: string;
  /**
   * True when results are bit-identical run to run and machine to machine (no relaxed SIMD,
   * fixed summation order). The lossless codec requires it.
   */
  readonly deterministic: boolean;

  // ── buffers ────────────────────────────────────────────────────────────────
  /** Allocates a zeroed f32 buffer of `n` elements, or one holding a copy of `data`. */
  f32(init: number | ArrayLike<number>): F32;
  /** Allocates a zeroed i32 buffer of `n` elements, or one holding a copy of `data`. */
  i32(init: number | ArrayLike<number>): I32;
  /** Copies a buffer (or `length` elements from `offset`) out into a new typed array. */
  read(buf: F32, offset?: number, length?: number): Float32Array;
  /** Copies a buffer out into a new typed array. */
  readI32(buf: I32): Int32Array;
  /** Overwrites `buf` (from element `offset`) with `data`. */
  write(buf: F32 | I32, data: ArrayLike<number>, offset?: number): void;
  /** Copies `n` elements from `src[srcOffset..]` to `dst[dstOffset..]` (buffers may be the same). */
  copy(dst: F32, dstOffset: number, src: F32, srcOffset: number, n: number): void;
  /** Sets every element to `value`. */
  fill(buf: F32, value: number): void;
  /** Registers an int8 matrix with per-row scales (copied). */
  q8(q: Int8Array, scales: Float32Array, rows: number, cols: number): Q8Matrix;
  /**
   * Allocates an f32 buffer holding int8 rows dequantized: `q[r·cols + c] · scales[r]`, each
   * product rounded to f32 once (so every backend gives the same bits).
   */
  f32FromQ8(q: Int8Array, scales: Float32Array, rows: number, cols: number): F32;
  /** Releases a buffer; using it afterwards is an error. */
  free(buf: F32 | I32 | Q8Matrix): void;
  /** Bytes the backend currently holds for live buffers (for leak tests). */
  bytesInUse(): number;
  /** Bytes of backing memory reserved (the WebAssembly memory's size), if the backend has one. */
  memoryBytes?(): number;

  // ── matrix products ────────────────────────────────────────────────────────
  /**
   * `out[M,N] = x[M,K] · Wᵀ` with `W` int8 `[N,K]`: each row of `x` is quantized to int8 on the
   * fly (symmetric, per row), products accumulate in int32, then rescale to f32. Exact integer
   * arithmetic, so it is deterministic on every backend.
   */
  matmulQ8(out: F32, x: F32, w: Q8Matrix, m: number): void;
  /** `out[M,N] (+)= op(a)[M,K] · op(b)[K,N]` in f32. */
  matmul(
    out: F32,
    a: F32,
    b: F32,
    m: number,
    k: number,
    n: number,
    opts?: MatmulOptions,
  ): void;

  // ── elementwise and row ops ────────────────────────────────────────────────
  /** `out = a + b` (elementwise, `n` elements). */
  add(out: F32, a: F32, b: F32, n: number): void;
  /** `out += alpha * x` over `n` elements. */
  axpy(out: F32, x: F32, alpha: number, n: number): void;
  /** `out = x * y` elementwise. */
  mul(out: F32, x: F32, y: F32, n: number): void;
  /** RMSNorm over rows of width `d`: `out = x / rms(x) * weight`. Writes `1/rms` per row to `invRms` if given. */
  rmsnorm(out: F32, x: F32, weight: F32, rows: number, d: number, eps: number, invRms?: F32): void;
  /** Backward of rmsnorm: writes `dx`, accumulates `dweight`. */
  rmsnormBackward(
    dx: F32,
    dweight: F32,
    dy: F32,
    x: F32,
    weight: F32,
    rows: number,
    d: number,
    eps: number,
  ): void;
  /** Row-wise softmax over rows of width `n`, in place allowed. */
  softmax(out: F32, x: F32, rows: number, n: number): void;
  /** SiLU, `x * sigmoid(x)`. */
  silu(out: F32, x: F32, n: number): void;
  /** `dx = dy * silu'(x)`. */
  siluBackward(dx: F32, dy: F32, x: F32, n: number): void;
  /** GELU (tanh approximation). */
  gelu(out: F32, x: F32, n: number): void;
  /** `dx = dy * gelu'(x)`. */
  geluBackward(dx: F32, dy: F32, x: F32, n: number): void;
  /**
   * Rotary position embedding in place on `x[t, heads*headDim]`; position of row `i` is
   * `pos0 + i`. `inverse` rotates by the negative angle (which is also the backward pass).
   */
  rope(
    x: F32,
    t: number,
    heads: number,
    headDim: number,
    pos0: number,
    theta: number,
    inverse?: boolean,
  ): void;
  /** Gathers rows of `table[vocab, d]` for `ids` into `out[ids.length, d]`. */
  embedding(out: F32, table: F32, ids: I32, count: number, d: number): void;
  /** Scatter-adds rows of `dout` into `dtable` at `ids` (embedding backward). */
  embeddingBackward(dtable: F32, dout: F32, ids: I32, count: number, d: number): void;

  // ── attention ──────────────────────────────────────────────────────────────
  /**
   * Scaled dot-product attention with a prefix mask (see the interface doc). Writes `out[tq, H*Dh]`
   * and, if `probs` is given, the attention probabilities `[H, tq, tk]` (needed for backward).
   */
  attention(
    out: F32,
    q: F32,
    k: F32,
    v: F32,
    keyLimit: I32,
    shape: AttentionShape,
    probs?: F32,
  ): void;
  /** Backward of attention given the saved probabilities: writes `dq`, `dk`, `dv`. */
  attentionBackward(
    dq: F32,
    dk: F32,
    dv: F32,
    dout: F32,
    q: F32,
    k: F32,
    v: F32,
    probs: F32,
    shape: AttentionShape,
  ): void;

  // ── loss ───────────────────────────────────────────────────────────────────
  /**
   * Mean cross-entropy of `logits[rows, vocab]` against `targets` (a target < 0 is ignored).
   * Writes the gradient w.r.t. the logits into `dlogits` (already divided by the count) when
   * given, and returns the mean loss.
   */
  crossEntropy(logits: F32, targets: I32, rows: number, vocab: number, dlogits?: F32): number;

  // ── reversible coupling ────────────────────────────────────────────────────
  /**
   * f32 coupling: `out = x + f` (forward) or `out = x - f` (inverse). Inverts within rounding.
   */
  couple(out: F32, x: F32, f: F32, n: number, inverse: boolean): void;
  /**
   * Integer coupling on a fixed-point stream: `out = x ± round(f * 2^fracBits)` in int32, so
   * `inverse(forward(x))` is bit-exact whatever `f` is, as long as `f` is recomputed identically.
   */
  coupleFixed(out: I32, x: I32, f: F32, n: number, fracBits: number, inverse: boolean): void;
  /** Fixed-point stream to f32: `out = x / 2^fracBits`. */
  fromFixed(out: F32, x: I32, n: number, fracBits: number): void;
  /** f32 to fixed-point stream: `out = round(x * 2^fracBits)`. */
  toFixed(out: I32, x: F32, n: number, fracBits: number): void;

  // ── optimiser ──────────────────────────────────────────────────────────────
  /**
   * One AdamW step over `n` parameters (`m`, `v` are the moment buffers; `step` counts from 1).
   */
  adamw(
    param: F32,
    grad: F32,
    m: F32,
    v: F32,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
  ): void;
}
