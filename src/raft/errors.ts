import type { NodeId } from "./types.js";

/**
 * Why the core refused a request. These are operating conditions, not bugs: the shell maps each
 * code to a client-facing error (and a retry hint) in one place.
 */
export type RaftError =
  /** Only the leader accepts this; `leaderId` is the leader this node knows of (0 when none). */
  | { readonly code: "NotLeader"; readonly leaderId: NodeId }
  /** A leadership transfer is under way; retry once it ends (at most one election timeout). */
  | { readonly code: "LeadershipTransferInProgress"; readonly leaderId: NodeId }
  /** Too many proposed bytes are not yet committed; retry once replication catches up. */
  | { readonly code: "UncommittedBytesExceeded"; readonly uncommittedBytes: number; readonly limitBytes: number }
  /** One proposed entry is larger than the entry size limit. */
  | { readonly code: "EntryTooLarge"; readonly sizeBytes: number; readonly limitBytes: number }
  /** A membership change must wait until the leader has committed an entry of its own term. */
  | { readonly code: "LeaderNotReady" }
  /** Only one membership change may be uncommitted at a time. */
  | { readonly code: "MembershipChangePending"; readonly pendingIndex: number }
  /** The change does not make sense for the current membership. */
  | { readonly code: "InvalidMembershipChange"; readonly reason: string }
  /** Leadership can only go to another voter. */
  | { readonly code: "InvalidTransferTarget"; readonly target: NodeId }
  /** Too many ReadIndex requests are waiting. */
  | { readonly code: "TooManyPendingReads"; readonly limitCount: number }
  /** A snapshot or compaction request names an index the node cannot use. */
  | { readonly code: "InvalidCompaction"; readonly reason: string };

export type RaftErrorCode = RaftError["code"];
