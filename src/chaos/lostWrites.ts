// The "no acknowledged write lost" check, made explicit: pure, over the history and the value every
// controller agreed on for each key after healing. The linearizability check (with the final reads in
// the history) implies it; this one names the lost writes in plain words and does not depend on a search.
import type { RegisterOperation } from "./clients.js";

export interface LostWrite {
  readonly operation: RegisterOperation;
  readonly reason: string;
}

/**
 * Acknowledged writes that the final values prove lost. For key k with final value v, written by W:
 * - an acknowledged write A of k is lost when W completed before A was invoked (A came strictly after W
 *   in real time, so a final value of W means A was undone), or when v is null (the register vanished);
 * - when no write of k ever carried v, every acknowledged write of k is reported (a value from nowhere).
 * A write W of unknown outcome has no completion, so it proves nothing against A. Keys with no final value
 * are skipped. Only certain losses are reported; subtler anomalies are the linearizability check's.
 */
export function findLostWrites(operations: readonly RegisterOperation[], finalValues: ReadonlyMap<string, string | null>): LostWrite[] {
  const lost: LostWrite[] = [];
  for (const [key, value] of finalValues) {
    const writes = operations.filter((op) => op.input.kind === "write" && op.input.key === key);
    const acknowledged = writes.filter((op) => op.outcome === "ok");
    if (value === null) {
      for (const op of acknowledged) lost.push({ operation: op, reason: `key ${key} no longer exists after healing` });
      continue;
    }
    const writer = writes.find((op) => op.input.kind === "write" && op.input.value === value);
    if (writer === undefined) {
      for (const op of acknowledged) lost.push({ operation: op, reason: `key ${key} ended with ${value}, which no client wrote` });
      continue;
    }
    const writerCompleteMs = writer.outcome === "ok" ? writer.completeMs : undefined;
    if (writerCompleteMs === undefined) continue;
    for (const op of acknowledged) {
      if (op !== writer && op.invokeMs > writerCompleteMs) {
        lost.push({ operation: op, reason: `key ${key} ended with ${value}, written before this write began (completed at ${writerCompleteMs.toFixed(1)} ms)` });
      }
    }
  }
  return lost;
}
