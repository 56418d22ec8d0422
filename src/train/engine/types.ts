/**
 * The engine's public data types: its options, the stage-2 samples, losses and loss weights, and
 * the optimizer's hyper-parameters. Re-exported by `../engine.ts`.
 *
 * @module
 */

/** Options of `TrainEngine`. */
export interface EngineOptions {
  /** LoRA rank of the adapters. */
  rank: number;
  /** Most rows one run may have (sequence length plus memory slots). */
  maxRows: number;
  /**
   * Keep every block's input streams during the forward pass and use them in the backward pass
   * instead of the inverse coupling. Only for testing the reversible recomputation.
   */
  storeActivations?: boolean;
  /**
   * Recompute each block's internals in the backward pass from streams rebuilt by the inverse
   * coupling (memory independent of depth), instead of keeping them from the forward pass
   * (default false: keeping them saves a forward pass of every block, about a fifth of a
   * step, for a few megabytes per run at this model's sizes).
   */
  recompute?: boolean;
  /**
   * Round the memory to int8 per slot row before decoding from it, as the runtime stores it
   * (default true; the gradient passes straight through). Off for finite-difference checks.
   */
  quantizeMemory?: boolean;
  /**
   * Treat the cycle loss's target memory as a constant (default true), so the cycle term pulls
   * the compression of the soft reconstruction toward the memory, not the memory toward it (which
   * would reward memories that ignore their text). False gives the exact gradient of the loss,
   * for finite-difference checks.
   */
  cycleStopGradient?: boolean;
}

/** Weights of the stage-2 losses. */
export interface LossWeights {
  /** Reconstruction of the span from its own memory. */
  rec: number;
  /** Prediction of the text that follows the span from the span's memory. */
  fwd: number;
  /** Cycle consistency: compressing the soft reconstruction gives back the memory. */
  cyc: number;
  /**
   * Retrieval: a query view of each span must find that span's memory among the other spans'
   * memories of the same slice (InfoNCE on the search key; see `TrainEngine.retrievalLoss`).
   * 0 or absent: off.
   */
  ret?: number;
}

/** One stage-2 training example. */
export interface MemorySample {
  /** The span compressed into memory (1 or more segments); reconstructed from that memory. */
  span: Int32Array;
  /** Tokens that follow the span (may be empty), predicted from the span's memory. */
  next: Int32Array;
  /**
   * A search query for the span (a sentence of it with tokens dropped), for the retrieval loss.
   */
  query?: Int32Array;
}

/** Per-sample losses of stage 2 (NaN where a term did not apply). */
export interface MemoryLosses {
  /** Mean cross-entropy of the reconstruction. */
  rec: number;
  /** Mean cross-entropy of the continuation. */
  fwd: number;
  /** Mean squared error of the cycle. */
  cyc: number;
  /** Retrieval cross-entropy of the span's query (set by the pool when the term is on). */
  ret?: number;
}

/** AdamW hyper-parameters (learning rate is per call). */
export interface AdamHyper {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}
