import { limits } from "../shared/limits.js";
import type { Prng } from "../shared/prng.js";
import type { Membership, NodeId } from "./types.js";

/** How one node behaves. Times are counted in ticks; the shell decides how long a tick is. */
export interface RaftConfig {
  readonly id: NodeId;
  /**
   * A follower that hears nothing from a leader for a random number of ticks in
   * [electionTimeoutTicks, 2·electionTimeoutTicks) campaigns; a leader that has not heard from a
   * majority for electionTimeoutTicks steps down (check-quorum).
   */
  readonly electionTimeoutTicks: number;
  /** A leader sends heartbeats every heartbeatIntervalTicks; must be well below the election timeout. */
  readonly heartbeatIntervalTicks: number;
  /** Draws the randomised election timeouts. */
  readonly prng: Prng;
  /** The membership of a brand-new cluster; ignored when storage holds a snapshot or entries. Omit to join a cluster. */
  readonly bootstrapMembership?: Membership;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly appendEntriesCountMax?: number;
  readonly appendEntriesBytesMax?: number;
  /** Bytes of one proposed entry; a larger proposal is refused (an AppendEntries always carries at least one entry). */
  readonly entryBytesMax?: number;
  readonly inflightMessagesMax?: number;
  readonly inflightBytesMax?: number;
  readonly uncommittedBytesMax?: number;
  readonly snapshotChunkBytesMax?: number;
  readonly readyCommittedBytesMax?: number;
  readonly pendingReadsCountMax?: number;
}

export type ResolvedConfig = Required<Omit<RaftConfig, "bootstrapMembership">> & Pick<RaftConfig, "bootstrapMembership">;

export function resolveConfig(config: RaftConfig): ResolvedConfig {
  const resolved: ResolvedConfig = {
    preVote: true,
    checkQuorum: true,
    appendEntriesCountMax: limits.raft.appendEntriesCountMax,
    appendEntriesBytesMax: limits.raft.appendEntriesBytesMax,
    entryBytesMax: limits.raft.entryBytesMax,
    inflightMessagesMax: limits.raft.inflightMessagesMax,
    inflightBytesMax: limits.raft.inflightBytesMax,
    uncommittedBytesMax: limits.raft.uncommittedBytesMax,
    snapshotChunkBytesMax: limits.raft.snapshotChunkBytesMax,
    readyCommittedBytesMax: limits.raft.readyCommittedBytesMax,
    pendingReadsCountMax: limits.raft.pendingReadsCountMax,
    ...config,
  };
  const positive: (keyof ResolvedConfig)[] = [
    "id",
    "electionTimeoutTicks",
    "heartbeatIntervalTicks",
    "appendEntriesCountMax",
    "appendEntriesBytesMax",
    "entryBytesMax",
    "inflightMessagesMax",
    "inflightBytesMax",
    "uncommittedBytesMax",
    "snapshotChunkBytesMax",
    "readyCommittedBytesMax",
    "pendingReadsCountMax",
  ];
  for (const key of positive) {
    const value = resolved[key];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`Cannot configure raft as ${key} must be a positive integer: current value is ${String(value)}`);
    }
  }
  if (resolved.heartbeatIntervalTicks >= resolved.electionTimeoutTicks) {
    throw new RangeError(
      `Cannot configure raft as heartbeatIntervalTicks must be below electionTimeoutTicks: current values are ${resolved.heartbeatIntervalTicks} and ${resolved.electionTimeoutTicks}`,
    );
  }
  return resolved;
}
