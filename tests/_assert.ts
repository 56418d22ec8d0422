/** Minimal assertions (Deno's std is not reachable here). */

/** Throws when `actual !== expected` (or when arrays/objects differ structurally). */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (!Object.is(actual, expected) && a !== e) {
    throw new Error(`${msg ?? "Values differ"}\n  expected: ${e}\n  actual:   ${a}`);
  }
}

/** Throws when `cond` is falsy. */
export function assert(cond: unknown, msg = "Assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

/** Expects `fn` to throw an instance of `cls` (optionally with `includes` in the message). */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  cls: new (...args: never[]) => E,
  includes?: string,
): E {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof cls)) throw new Error(`Expected ${cls.name}, got ${e}`);
    if (includes && !e.message.includes(includes)) {
      throw new Error(`Expected message to include "${includes}", got "${e.message}"`);
    }
    return e;
  }
  throw new Error(`Expected ${cls.name} to be thrown`);
}

/** Expects `fn` to throw an `Error` whose message includes `includes`. */
export function assertThrowsMessage(fn: () => unknown, includes: string): Error {
  return assertThrows(fn, Error, includes);
}

/** Async variant of {@link assertThrows}. */
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  cls: new (...args: never[]) => E,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof cls)) throw new Error(`Expected ${cls.name}, got ${e}`);
    if (includes && !e.message.includes(includes)) {
      throw new Error(`Expected message to include "${includes}", got "${e.message}"`);
    }
    return e;
  }
  throw new Error(`Expected ${cls.name} to be thrown`);
}

/**
 * Compares two float arrays elementwise within `tol` (absolute + relative to |expected|);
 * on failure reports index, expected, got and the shape label.
 */
export function assertClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: number,
  label: string,
): void {
  if (got.length !== want.length) {
    throw new Error(`${label}: length ${got.length}, expected ${want.length}`);
  }
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= tol * (1 + Math.abs(want[i])))) {
      throw new Error(
        `${label}: index ${i}: expected ${want[i]}, got ${got[i]} (|err| ${err}, tol ${tol})`,
      );
    }
  }
}
