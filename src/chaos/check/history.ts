/**
 * A client-side history: what chaos clients asked for, when, and what they saw. The linearizability
 * checker (`linearizability.ts`) judges such a history against a sequential model.
 */
import { assert, assertNever } from "../../shared/assert.js";

/** One client operation as a chaos client recorded it. Times are monotonic ms (performance.now()). */
export interface Operation<Input, Output> {
  readonly clientId: number;
  readonly input: Input;
  readonly invokeMs: number;
  /** "ok": completed with `output`; "fail": known NOT to have taken effect (dropped from the check); "unknown": may or may not have taken effect, at any time after invokeMs. */
  readonly outcome: "ok" | "fail" | "unknown";
  readonly output?: Output; // present when outcome is "ok"
  readonly completeMs?: number; // present when outcome is "ok" or "fail"
}

/**
 * Asserts that a recorded operation is well formed: finite times, an "ok" operation has an output and
 * completed no earlier than it was invoked, a "fail" operation has a completion time. A malformed
 * operation is a bug in the recorder, not a property of the system under test, so this throws.
 */
export function assertWellFormed<Input, Output>(operation: Operation<Input, Output>): void {
  const { clientId, invokeMs, outcome, completeMs } = operation;
  assert(Number.isFinite(invokeMs), `Cannot check an operation of client ${clientId}: invokeMs is ${invokeMs}`);
  switch (outcome) {
    case "ok":
      assert(
        operation.output !== undefined,
        `Cannot check an ok operation of client ${clientId} invoked at ${invokeMs} ms: it has no output`,
      );
      assertCompletedAfterInvoke(operation);
      return;
    case "fail":
      assertCompletedAfterInvoke(operation);
      return;
    case "unknown":
      assert(
        completeMs === undefined,
        `Cannot check an unknown operation of client ${clientId} invoked at ${invokeMs} ms: it has completeMs ${completeMs}`,
      );
      return;
    default:
      assertNever(outcome, "outcome");
  }
}

function assertCompletedAfterInvoke<Input, Output>(operation: Operation<Input, Output>): void {
  const { clientId, invokeMs, completeMs } = operation;
  assert(
    completeMs !== undefined && Number.isFinite(completeMs) && completeMs >= invokeMs,
    `Cannot check an operation of client ${clientId} invoked at ${invokeMs} ms: completeMs is ${completeMs}`,
  );
}
