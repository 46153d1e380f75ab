/**
 * The data the Raft core takes in and hands out. Everything here is plain data:
 * the shell serialises it, stores it and sends it; the core never does IO.
 */

/** A member of the cluster. Ids are positive integers; 0 means "none". */
export type NodeId = number;
export const noNode: NodeId = 0;

/** What an entry carries. `noop` is appended by every new leader (Raft §8), `membership` changes the cluster. */
export type EntryType = "normal" | "noop" | "membership";

/** One entry of the replicated log. `index` and `term` start at 1; `data` is opaque to the core. */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** The part of a node's state that must be durable before it speaks (Raft Figure 2, "persistent state"). */
export interface HardState {
  readonly term: number;
  readonly votedFor: NodeId;
  readonly commitIndex: number;
}

/** Voters decide elections and commitment; learners only receive the log. The two sets are disjoint. */
export interface Membership {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** One single-server membership change (Raft dissertation §4.1). */
export type MembershipChange =
  | { readonly kind: "addVoter"; readonly nodeId: NodeId }
  | { readonly kind: "addLearner"; readonly nodeId: NodeId }
  | { readonly kind: "removeNode"; readonly nodeId: NodeId };

/** Where a snapshot sits in the log and which membership was in force there. */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly membership: Membership;
}

/** The application's state at `meta.index`, as bytes the core never interprets. */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** Replicates entries and carries the leader's commit index (Raft §5.3). */
export interface AppendEntries extends Envelope {
  readonly type: "AppendEntries";
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly Entry[];
  readonly leaderCommit: number;
}

/**
 * Success: the follower's log matches the leader's up to `matchIndex`.
 * Rejection: the follower's log does not hold `prevLogTerm` at `rejectedIndex`; the hint names the
 * last index at or below it whose term is ≤ the leader's `prevLogTerm`, so the leader skips whole terms.
 */
export interface AppendEntriesResponse extends Envelope {
  readonly type: "AppendEntriesResponse";
  readonly success: boolean;
  readonly matchIndex: number;
  readonly rejectedIndex: number;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

/** Keeps followers from campaigning, tells them the commit index, and confirms ReadIndex rounds. */
export interface Heartbeat extends Envelope {
  readonly type: "Heartbeat";
  readonly leaderCommit: number;
  readonly readRound: number;
}

export interface HeartbeatResponse extends Envelope {
  readonly type: "HeartbeatResponse";
  readonly readRound: number;
}

/** A real vote (Raft §5.2); `transfer` marks a campaign started by TimeoutNow, which may break a leader lease. */
export interface RequestVote extends Envelope {
  readonly type: "RequestVote";
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  readonly transfer: boolean;
}

export interface RequestVoteResponse extends Envelope {
  readonly type: "RequestVoteResponse";
  readonly granted: boolean;
}

/** A trial vote for `term` (dissertation §9.6): nobody changes term or vote, so a partitioned node cannot disrupt. */
export interface PreVote extends Envelope {
  readonly type: "PreVote";
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
}

export interface PreVoteResponse extends Envelope {
  readonly type: "PreVoteResponse";
  readonly granted: boolean;
}

/** One chunk of the leader's snapshot, starting at byte `offset`; `done` marks the last chunk. */
export interface InstallSnapshot extends Envelope {
  readonly type: "InstallSnapshot";
  readonly meta: SnapshotMeta;
  readonly totalBytes: number;
  readonly offset: number;
  readonly chunk: Uint8Array;
  readonly done: boolean;
}

/** `bytesReceived` is where the leader should continue; `installed` says the whole snapshot is durable. */
export interface InstallSnapshotResponse extends Envelope {
  readonly type: "InstallSnapshotResponse";
  readonly snapshotIndex: number;
  readonly bytesReceived: number;
  readonly installed: boolean;
}

/** Tells a caught-up follower to campaign at once (leadership transfer, dissertation §3.10). */
export interface TimeoutNow extends Envelope {
  readonly type: "TimeoutNow";
}

/** A follower asks the leader for a read index on behalf of its client. */
export interface ReadIndexRequest extends Envelope {
  readonly type: "ReadIndexRequest";
  readonly requestId: number;
}

export interface ReadIndexResponse extends Envelope {
  readonly type: "ReadIndexResponse";
  readonly requestId: number;
  readonly readIndex: number;
}

export type Message =
  | AppendEntries
  | AppendEntriesResponse
  | Heartbeat
  | HeartbeatResponse
  | RequestVote
  | RequestVoteResponse
  | PreVote
  | PreVoteResponse
  | InstallSnapshot
  | InstallSnapshotResponse
  | TimeoutNow
  | ReadIndexRequest
  | ReadIndexResponse;

export type MessageType = Message["type"];

/** A confirmed read: once the node has applied `readIndex`, the read `requestId` may be served from local state. */
export interface ReadState {
  readonly requestId: number;
  readonly readIndex: number;
}

export type RoleKind = "follower" | "preCandidate" | "candidate" | "leader";

/** Volatile state the shell may want to observe; not persisted. */
export interface SoftState {
  readonly leaderId: NodeId;
  readonly role: RoleKind;
}

/**
 * Everything the shell must do after a batch of inputs, in this order:
 * 1. persist `snapshot` (if any), then `entries` (truncating any stored entries at or after the first
 *    one's index), then `hardState` — and make them durable (fsync);
 * 2. send `messages` (when `sendBeforePersist` is true they may go out while step 1 is still running:
 *    the node is a leader whose term and vote are already durable, and it counts its own log toward a
 *    quorum only once `advance()` says the write is durable);
 * 3. apply `committedEntries` to the state machine, serve `readStates` once applied. The first
 *    `durableCommittedCount` of them were durable on this node before this Ready: they may be applied as
 *    soon as the Ready is taken, while step 1 runs (as etcd applies while its WAL writes), so a commit
 *    never waits for the fsync of entries that arrived after it; the rest only after step 1;
 * 4. call `advance()`.
 * Inputs (`step`, `tick`, `propose`, …) may arrive between `ready()` and `advance()`; the next `ready()`
 * may only be taken after `advance()`.
 */
export interface Ready {
  readonly softState: SoftState;
  readonly hardState: HardState | undefined;
  readonly snapshot: Snapshot | undefined;
  readonly entries: readonly Entry[];
  readonly committedEntries: readonly Entry[];
  /** How many leading `committedEntries` are already durable here (0 when the Ready holds a snapshot); see step 3. */
  readonly durableCommittedCount: number;
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  readonly sendBeforePersist: boolean;
}

/** What a node starts from: whatever its storage held (empty on first boot). */
export interface InitialState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | undefined;
  /** Durable entries after the snapshot, contiguous. */
  readonly entries: readonly Entry[];
}

export const emptyHardState: HardState = { term: 0, votedFor: noNode, commitIndex: 0 };
