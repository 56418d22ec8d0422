/**
 * The worker pool's waiting jobs in two lanes, so that large documents cannot hold every
 * worker: small jobs go first, in arrival order, and large ones start only while fewer than
 * their share of the workers run large jobs. A 1 MB document then delays a small request by at
 * most the small jobs ahead of it, not by every large one queued.
 *
 * @module
 */

/**
 * Texts of at least this many characters are "large" jobs to compress.
 *
 * @example
 * ```ts
 * import { LARGE_JOB_CHARS } from "./job_queue.ts";
 * console.log(LARGE_JOB_CHARS); // 65536
 * ```
 */
export const LARGE_JOB_CHARS = 64 * 1024;
/**
 * `.r3m` bytes from which reading or indexing a memory is a large job.
 *
 * @example
 * ```ts
 * import { LARGE_JOB_BYTES } from "./job_queue.ts";
 * console.log(LARGE_JOB_BYTES); // 16384
 * ```
 */
export const LARGE_JOB_BYTES = 16 * 1024;

/** What the queue needs to know of a job. */
export interface Queued {
  /** Whether the job is large. */
  large: boolean;
}

/**
 * Two FIFO lanes, small before large.
 *
 * @example
 * ```ts
 * import { JobQueue } from "./job_queue.ts";
 * const q = new JobQueue<{ large: boolean; name: string }>();
 * q.push({ large: true, name: "1 MB" });
 * q.push({ large: false, name: "hello" });
 * console.log(q.take(false)?.name, q.take(false)?.name, q.take(true)?.name); // hello undefined 1 MB
 * ```
 */
export class JobQueue<T extends Queued> {
  readonly #small: T[] = [];
  readonly #large: T[] = [];

  /** Jobs waiting. */
  get length(): number {
    return this.#small.length + this.#large.length;
  }

  /** Adds a job at the end of its lane. */
  push(job: T): void {
    (job.large ? this.#large : this.#small).push(job);
  }

  /**
   * The next job to run: the oldest small one, else (when `largeAllowed`) the oldest large one.
   *
   * @param largeAllowed Whether a large job may start now.
   */
  take(largeAllowed: boolean): T | undefined {
    if (this.#small.length) return this.#small.shift();
    return largeAllowed ? this.#large.shift() : undefined;
  }

  /** Removes a job; whether it was waiting. */
  remove(job: T): boolean {
    for (const lane of [this.#small, this.#large]) {
      const at = lane.indexOf(job);
      if (at >= 0) {
        lane.splice(at, 1);
        return true;
      }
    }
    return false;
  }

  /** Removes and returns every job. */
  drain(): T[] {
    return [...this.#small.splice(0), ...this.#large.splice(0)];
  }
}
