import type { Membership, MembershipChange, NodeId } from "../raft/types.js";
import type { Prng } from "../shared/prng.js";
import { describeError } from "./describe.js";
import type { NodeHost } from "./nodeHost.js";

/** The counters admin actions add to (they are part of the cluster's stats). */
export interface AdminStats {
  membershipChanges: number;
  membershipChangesAccepted: number;
  transfers: number;
}

/** What an operator can reach: the current leader, and the shell that runs the Ready a request causes. */
export interface AdminPort {
  readonly nodeIds: readonly NodeId[];
  readonly stats: AdminStats;
  /** The live leader of the highest term, if any. */
  leader(): NodeHost | undefined;
  /** Lets the node's shell pick up what the request changed. */
  touch(host: NodeHost): void;
  trace(node: NodeId, text: string): void;
}

/**
 * Asks the leader for one random membership change of a single node (Raft dissertation §4.1: one server
 * at a time). A refusal (say, a change still in flight) is part of what is tested: traced, not retried.
 */
export function changeMembership(port: AdminPort, prng: Prng): void {
  const leader = port.leader();
  if (leader === undefined) return;
  const options = membershipChangeOptions(leader.raft.membership(), port.nodeIds);
  if (options.length === 0) return;
  const change = prng.pick(options);
  const result = leader.raft.proposeMembershipChange(change);
  port.stats.membershipChanges++;
  if (result.ok) port.stats.membershipChangesAccepted++;
  const outcome = result.ok ? `proposed at ${result.value.index}` : `refused: ${describeError(result.error)}`;
  port.trace(leader.id, `membership ${change.kind} n${change.nodeId} ${outcome}`);
  port.touch(leader);
}

/** Asks the leader to hand leadership to another voter (Raft dissertation §3.10). */
export function transferLeadership(port: AdminPort, prng: Prng): void {
  const leader = port.leader();
  if (leader === undefined) return;
  const others = leader.raft.membership().voters.filter((id) => id !== leader.id);
  if (others.length === 0) return;
  const target = prng.pick(others);
  const result = leader.raft.transferLeadership(target);
  port.stats.transfers++;
  port.trace(leader.id, `transfer leadership to n${target} ${result.ok ? "started" : `refused: ${describeError(result.error)}`}`);
  port.touch(leader);
}

/** The changes worth trying from this membership; the order matters, as one is picked by the seed. */
function membershipChangeOptions(membership: Membership, nodeIds: readonly NodeId[]): MembershipChange[] {
  const { voters, learners } = membership;
  const outsiders = nodeIds.filter((id) => !voters.includes(id) && !learners.includes(id));
  const options: MembershipChange[] = [];
  for (const id of outsiders) options.push({ kind: "addLearner", nodeId: id });
  for (const id of learners) options.push({ kind: "addVoter", nodeId: id }, { kind: "removeNode", nodeId: id });
  // Keep at least three voters so the cluster still tolerates a failure.
  if (voters.length > 3) for (const id of voters) options.push({ kind: "removeNode", nodeId: id }, { kind: "addLearner", nodeId: id });
  return options;
}
