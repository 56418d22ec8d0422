/**
 * The `refine` option of `R3Mem.compress`: what a caller may ask for and its validation. Apart
 * from the refiner (`./refiner.ts`) so that checking an option does not load the trainer.
 *
 * @module
 */
import { InputError } from "./errors.ts";

/** A refinement budget: whichever of `steps` and `ms` runs out first ends it. */
export interface RefineBudget {
  /** Adam steps per memory (default {@link DEFAULT_REFINE_STEPS}). */
  steps?: number;
  /** Wall-clock milliseconds for the whole call (default: no limit besides `steps`). */
  ms?: number;
  /**
   * Peak learning rate on the slot values (default {@link DEFAULT_REFINE_LR}; cosine decay to a
   * tenth).
   */
  lr?: number;
}

/** Default Adam steps per memory. */
export const DEFAULT_REFINE_STEPS = 200;
/**
 * Default peak learning rate. Measured on 32-token validation spans of the session-3 model
 * (`deno task eval --metrics refine` measures the default): after 100 steps,
 * lr 0.1 / 0.3 / 1 / 2 / 4 gave greedy accuracy 0.25 / 0.55 / 0.81 / 0.81 / 0.38, and lr 1 reached
 * 1.00 at 200 steps; the capacity tool's 0.1 needs ~600.
 */
export const DEFAULT_REFINE_LR = 1;
/** The most steps one memory may take (a bound on the work one call can ask for). */
export const MAX_REFINE_STEPS = 5000;

/**
 * Checks a `refine` option: `true` (the default budget), a number of steps, or a
 * {@link RefineBudget}; `undefined`, `false` and `0` mean no refinement (null).
 *
 * @param value The option as given.
 * @returns The budget with its defaults filled in, or null.
 * @throws {InputError} When the option is malformed.
 *
 * @example
 * ```ts
 * import { parseRefine } from "./refine_budget.ts";
 * console.log(parseRefine(true), parseRefine(50), parseRefine(undefined));
 * // { steps: 200, lr: 1 } { steps: 50, lr: 1 } null
 * ```
 */
export function parseRefine(value: unknown): (RefineBudget & { steps: number; lr: number }) | null {
  if (value === undefined || value === false || value === 0) return null;
  if (value === true) return { steps: DEFAULT_REFINE_STEPS, lr: DEFAULT_REFINE_LR };
  if (typeof value === "number") return parseRefine({ steps: value });
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InputError(`refine must be a boolean, a number of steps or {steps, ms, lr}`);
  }
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v)) {
    if (!["steps", "ms", "lr"].includes(k)) {
      throw new InputError(`refine has an unknown field "${k}" (steps, ms, lr)`);
    }
  }
  const steps = v.steps ?? DEFAULT_REFINE_STEPS;
  if (!Number.isInteger(steps) || (steps as number) < 0 || (steps as number) > MAX_REFINE_STEPS) {
    throw new InputError(`refine.steps must be an integer from 0 to ${MAX_REFINE_STEPS}`);
  }
  const lr = v.lr ?? DEFAULT_REFINE_LR;
  if (typeof lr !== "number" || !(lr > 0 && lr <= 10)) {
    throw new InputError(`refine.lr must be a number in (0, 10]`);
  }
  if (v.ms !== undefined && (typeof v.ms !== "number" || !(v.ms > 0))) {
    throw new InputError(`refine.ms must be a positive number of milliseconds`);
  }
  if (steps === 0) return null;
  return { steps: steps as number, lr, ...(v.ms !== undefined ? { ms: v.ms as number } : {}) };
}
