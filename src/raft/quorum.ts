import type { NodeId } from "./types.js";

/** Votes needed to win among `voterCount` voters. */
export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The highest index held by a majority of voters (Raft §5.3–5.4): sort the voters' match indexes
 * descending and take the one at position majority-1. An empty voter set commits nothing.
 */
export function committedByQuorum(voters: readonly NodeId[], matchIndexOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchIndexOf).sort((a, b) => b - a);
  return matches[majority(voters.length) - 1] ?? 0;
}

export type VoteOutcome = "won" | "lost" | "pending";

/** Tallies granted and refused votes among voters; votes from non-voters do not count. */
export function voteOutcome(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteOutcome {
  let granted = 0;
  let refused = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    else if (vote === false) refused++;
  }
  const needed = majority(voters.length);
  if (granted >= needed) return "won";
  if (voters.length - refused < needed) return "lost";
  return "pending";
}

/** Whether `predicate` holds for a majority of voters. */
export function quorumHolds(voters: readonly NodeId[], predicate: (id: NodeId) => boolean): boolean {
  let count = 0;
  for (const id of voters) if (predicate(id)) count++;
  return voters.length > 0 && count >= majority(voters.length);
}
