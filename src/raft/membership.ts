import { assert, assertNever } from "../shared/assert.js";
import { limits } from "../shared/limits.js";
import type { Result } from "../shared/result.js";
import { err, ok } from "../shared/result.js";
import type { Membership, MembershipChange, NodeId } from "./types.js";

export const emptyMembership: Membership = { voters: [], learners: [] };

export function isVoter(membership: Membership, id: NodeId): boolean {
  return membership.voters.includes(id);
}

export function isLearner(membership: Membership, id: NodeId): boolean {
  return membership.learners.includes(id);
}

export function isMember(membership: Membership, id: NodeId): boolean {
  return isVoter(membership, id) || isLearner(membership, id);
}

export function members(membership: Membership): NodeId[] {
  return [...membership.voters, ...membership.learners];
}

/**
 * The membership after one change, or why the change is not allowed. Only one voter is added or removed
 * at a time, so any majority of the old voters overlaps any majority of the new ones (dissertation §4.1).
 */
export function applyMembershipChange(membership: Membership, change: MembershipChange): Result<Membership, string> {
  const { nodeId } = change;
  if (!Number.isSafeInteger(nodeId) || nodeId <= 0) return err(`node id must be a positive integer: current value is ${nodeId}`);
  const voters = membership.voters.filter((id) => id !== nodeId);
  const learners = membership.learners.filter((id) => id !== nodeId);
  switch (change.kind) {
    case "addVoter":
      if (isVoter(membership, nodeId)) return err(`node ${nodeId} is already a voter`);
      if (!isLearner(membership, nodeId) && members(membership).length >= limits.raft.membersCountMax) {
        return err(`the cluster already has ${limits.raft.membersCountMax} members`);
      }
      return ok(normalise({ voters: [...voters, nodeId], learners }));
    case "addLearner":
      if (isLearner(membership, nodeId)) return err(`node ${nodeId} is already a learner`);
      if (isVoter(membership, nodeId)) {
        if (voters.length === 0) return err(`node ${nodeId} is the last voter`);
      } else if (members(membership).length >= limits.raft.membersCountMax) {
        return err(`the cluster already has ${limits.raft.membersCountMax} members`);
      }
      return ok(normalise({ voters, learners: [...learners, nodeId] }));
    case "removeNode":
      if (!isMember(membership, nodeId)) return err(`node ${nodeId} is not a member`);
      if (isVoter(membership, nodeId) && voters.length === 0) return err(`node ${nodeId} is the last voter`);
      return ok(normalise({ voters, learners }));
    default:
      return assertNever(change, "membership change");
  }
}

function normalise(membership: Membership): Membership {
  return {
    voters: [...membership.voters].sort((a, b) => a - b),
    learners: [...membership.learners].sort((a, b) => a - b),
  };
}

const changeKindCodes = { addVoter: 1, addLearner: 2, removeNode: 3 } as const;

/** A membership entry's data: [kind u8][nodeId u32 big-endian]. */
export function encodeMembershipChange(change: MembershipChange): Uint8Array {
  const bytes = new Uint8Array(5);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, changeKindCodes[change.kind]);
  view.setUint32(1, change.nodeId);
  return bytes;
}

export function decodeMembershipChange(data: Uint8Array): MembershipChange {
  assert(data.length === 5, `membership entry must be 5 bytes: current length is ${data.length}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const code = view.getUint8(0);
  const nodeId = view.getUint32(1);
  switch (code) {
    case 1:
      return { kind: "addVoter", nodeId };
    case 2:
      return { kind: "addLearner", nodeId };
    case 3:
      return { kind: "removeNode", nodeId };
    default:
      throw new Error(`Cannot decode membership entry as its kind is unknown: current value is ${code}`);
  }
}

export function describeMembership(membership: Membership): string {
  const learners = membership.learners.length > 0 ? ` learners=(${membership.learners.join(",")})` : "";
  return `voters=(${membership.voters.join(",")})${learners}`;
}
