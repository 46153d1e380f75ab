// The verdict on one run's history, pure: the lost-write check and the linearizability check, with what a
// reader needs to find the problem (the key, the checker's explanation, the operations lost).
import { checkLinearizable } from "./check/linearizability.js";
import type { CheckResult } from "./check/linearizability.js";
import { registerModel } from "./check/models.js";
import type { RegisterOperation } from "./clients.js";
import { findLostWrites } from "./lostWrites.js";

export type Verdict = "yes" | "no" | "unknown";

export interface Judgement {
  readonly linearizable: Verdict;
  readonly lostCount: number;
  /** One line per problem found; empty when the history is clean. */
  readonly problems: readonly string[];
  /** What was checked, for the summary of a clean run. */
  readonly checked: string;
}

/** Lost writes listed at most (each is one line). */
const lostListedCountMax = 20;

/**
 * Judges `operations` (the whole history, final reads included) given the value every controller agreed
 * on for each key after healing. `stepsMax` bounds the search per key (the checker's default otherwise).
 */
export function judgeHistory(operations: readonly RegisterOperation[], finalValues: ReadonlyMap<string, string | null>, options: { readonly stepsMax?: number } = {}): Judgement {
  const problems: string[] = [];
  const lost = findLostWrites(operations, finalValues);
  for (const l of lost.slice(0, lostListedCountMax)) problems.push(`lost: ${JSON.stringify(l.operation)}: ${l.reason}`);
  const result = checkLinearizable(registerModel, operations, options.stepsMax === undefined ? {} : { stepsMax: options.stepsMax });
  let checked = "";
  switch (result.verdict) {
    case "linearizable":
      checked = `linearizability: ${result.operationsCount} operations in ${result.partitionsCount} keys, ${result.stepsCount} search steps`;
      break;
    case "not-linearizable":
      problems.push(`not linearizable (key ${keyOfPartition(operations, result.partitionIndex)}): ${result.explanation}`);
      break;
    case "unknown":
      problems.push(`linearizability unknown (key ${keyOfPartition(operations, result.partitionIndex)}): ${result.reason}`);
      break;
  }
  return { linearizable: verdictOf(result), lostCount: lost.length, problems, checked };
}

function verdictOf(result: CheckResult): Verdict {
  switch (result.verdict) {
    case "linearizable":
      return "yes";
    case "not-linearizable":
      return "no";
    case "unknown":
      return "unknown";
  }
}

/**
 * The key of the checker's partition `index`: the register model splits by key in key order, leaving
 * out failed operations and unknown reads (so a key with nothing else is no partition).
 */
function keyOfPartition(operations: readonly RegisterOperation[], index: number): string {
  const keys = new Set(operations.filter((op) => op.outcome !== "fail" && !(op.outcome === "unknown" && op.input.kind === "read")).map((op) => op.input.key));
  return [...keys].sort()[index] ?? `#${index}`;
}
