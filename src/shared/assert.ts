/**
 * Assertions for programmer errors: a failed assertion means the code is wrong,
 * never that the input was bad, so it throws and the process should stop.
 * Operating conditions (bad input, not leader, disk full) are returned as coded
 * errors instead (see `result.ts`).
 */
export class AssertionError extends Error {
  override readonly name = "AssertionError";
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Marks the unreachable end of an exhaustive `switch` over a discriminated union. */
export function assertNever(value: never, what = "value"): never {
  throw new AssertionError(`Unexpected ${what}: ${JSON.stringify(value)}`);
}
