import { assert, assertNever } from "../shared/assert.js";
import type { Result } from "../shared/result.js";
import { err, ok } from "../shared/result.js";
import type { RaftConfig, ResolvedConfig } from "./config.js";
import { resolveConfig } from "./config.js";
import type { RaftError } from "./errors.js";
import { RaftLog } from "./log.js";
import {
  applyMembershipChange,
  decodeMembershipChange,
  emptyMembership,
  encodeMembershipChange,
  isMember,
  isVoter,
  members,
} from "./membership.js";
import type { Progress } from "./progress.js";
import {
  becomeProbe,
  becomeReplicate,
  becomeSnapshot,
  freeInflightUpTo,
  isPaused,
  maybeDecrease,
  maybeUpdate,
  newProgress,
  sentEntries,
} from "./progress.js";
import { committedByQuorum, quorumHolds, voteOutcome } from "./quorum.js";
import type {
  AppendEntries,
  AppendEntriesResponse,
  Entry,
  EntryType,
  HardState,
  Heartbeat,
  HeartbeatResponse,
  InitialState,
  InstallSnapshot,
  InstallSnapshotResponse,
  Membership,
  MembershipChange,
  Message,
  NodeId,
  PreVote,
  ReadIndexRequest,
  ReadState,
  Ready,
  RequestVote,
  RoleKind,
  Snapshot,
  SnapshotMeta,
  SoftState,
} from "./types.js";
import { noNode } from "./types.js";

/** A ReadIndex request waiting for a quorum to confirm this leader (dissertation §6.4). */
interface PendingRead {
  readonly requestId: number;
  readonly from: NodeId;
  readonly readIndex: number;
  readonly round: number;
}

interface LeaderRole {
  readonly kind: "leader";
  /** One entry per other member (voters and learners). */
  readonly progress: Map<NodeId, Progress>;
  transfer: { readonly target: NodeId; elapsedTicks: number } | undefined;
  /** Index of the last membership entry appended by this leader; a new change waits until it commits. */
  pendingMembershipIndex: number;
  /** Data bytes of entries proposed in this term and not yet committed. */
  uncommittedBytes: number;
  /** Ticks since this node became leader; followers' last contact is measured against it. */
  elapsedTicks: number;
  /** The current ReadIndex confirmation round; heartbeats carry it, responses acknowledge it. */
  readRound: number;
  /** The heartbeats of a round opened by a read are still in the outbox, so a new read can join that round. */
  readRoundInOutbox: boolean;
  readonly pendingReads: PendingRead[];
  /** Reads that arrived before this leader committed an entry of its term (§6.4 step 1). */
  readonly readsAwaitingTermCommit: { readonly requestId: number; readonly from: NodeId }[];
  /** New entries to send to followers at the next Ready. */
  appendPending: boolean;
  /** A commit index to announce to followers at the next Ready. */
  commitPending: boolean;
}

type Role =
  | { readonly kind: "follower" }
  | { readonly kind: "preCandidate"; readonly votes: Map<NodeId, boolean> }
  | { readonly kind: "candidate"; readonly votes: Map<NodeId, boolean> }
  | LeaderRole;

interface IncomingSnapshot {
  readonly meta: SnapshotMeta;
  readonly totalBytes: number;
  readonly chunks: Uint8Array[];
  receivedBytes: number;
}

/** What the shell is doing with the Ready it took last; `advance()` settles it. */
interface ReadyInFlight {
  readonly lastEntry: { readonly index: number; readonly term: number } | undefined;
  readonly lastCommittedIndex: number | undefined;
  readonly snapshot: Snapshot | undefined;
  readonly hardState: HardState | undefined;
}

export interface ProgressStatus {
  readonly id: NodeId;
  readonly voter: boolean;
  readonly state: Progress["state"];
  readonly matchIndex: number;
  readonly nextIndex: number;
  readonly recentActive: boolean;
  /** Leader ticks since this follower last answered (0 for a follower that has not answered since the leader took office). */
  readonly ticksSinceContact: number;
}

export interface NodeStatus {
  readonly id: NodeId;
  readonly role: RoleKind;
  readonly term: number;
  readonly votedFor: NodeId;
  readonly leaderId: NodeId;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly membership: Membership;
  /** Followers' progress, on a leader only. */
  readonly progress: readonly ProgressStatus[];
  readonly transferTarget: NodeId;
}

const emptyBytes = new Uint8Array(0);

/**
 * One Raft node as a pure state machine, in the shape of etcd's RawNode: inputs are `step`, `tick`,
 * `propose`, `proposeMembershipChange`, `readIndex`, `transferLeadership` and `compact`; all output is
 * collected in a `Ready` that the shell executes before calling `advance()` (see `Ready` for the order).
 * The node never does IO, never reads a clock and draws randomness only from the configured PRNG.
 */
export class RaftNode {
  readonly id: NodeId;
  private readonly config: ResolvedConfig;
  private term: number;
  private votedFor: NodeId;
  private leaderId: NodeId = noNode;
  private role: Role = { kind: "follower" };
  private readonly log: RaftLog;
  /** Membership changes committed since the snapshot, oldest first; the last one is in force. */
  private membershipHistory: { readonly index: number; readonly membership: Membership }[] = [];
  private electionElapsedTicks = 0;
  private heartbeatElapsedTicks = 0;
  private randomizedElectionTimeoutTicks = 0;
  /** Ticks during which campaigns use the short delay a lost leader connection allows (see peerUnreachable). */
  private fastCampaignTicksLeft = 0;
  private outbox: Message[] = [];
  private readStates: ReadState[] = [];
  private persistedHardState: HardState;
  private readyInFlight: ReadyInFlight | undefined;
  private incomingSnapshot: IncomingSnapshot | undefined;

  constructor(config: RaftConfig, initial: InitialState) {
    this.config = resolveConfig(config);
    this.id = this.config.id;
    const snapshot: Snapshot = initial.snapshot ?? {
      meta: { index: 0, term: 0, membership: this.config.bootstrapMembership ?? emptyMembership },
      data: emptyBytes,
    };
    this.log = new RaftLog(snapshot, initial.entries, snapshot.meta.index);
    this.term = initial.hardState.term;
    this.votedFor = initial.hardState.votedFor;
    this.persistedHardState = initial.hardState;
    assert(
      initial.hardState.commitIndex <= this.log.lastIndex(),
      `stored commit index ${initial.hardState.commitIndex} is beyond the last stored entry ${this.log.lastIndex()}`,
    );
    this.advanceCommit(initial.hardState.commitIndex);
    this.resetTimers();
  }

  // ---------------------------------------------------------------- inputs

  /** Moves time forward by one tick: followers may campaign, leaders send heartbeats and check their quorum. */
  tick(): void {
    if (this.fastCampaignTicksLeft > 0) this.fastCampaignTicksLeft--;
    if (this.role.kind === "leader") {
      this.tickLeader(this.role);
      return;
    }
    this.electionElapsedTicks++;
    if (this.promotable() && this.electionElapsedTicks >= this.randomizedElectionTimeoutTicks) {
      this.electionElapsedTicks = 0;
      this.campaign(this.config.preVote ? "preCandidate" : "candidate", false);
    }
  }

  private tickLeader(role: LeaderRole): void {
    role.elapsedTicks++;
    this.heartbeatElapsedTicks++;
    this.electionElapsedTicks++;
    if (role.transfer !== undefined && ++role.transfer.elapsedTicks >= this.config.electionTimeoutTicks) {
      role.transfer = undefined; // The target did not take over within an election timeout: abort.
    }
    if (this.electionElapsedTicks >= this.config.electionTimeoutTicks) {
      this.electionElapsedTicks = 0;
      if (this.config.checkQuorum && !this.quorumRecentlyActive(role)) {
        this.becomeFollower(this.term, noNode);
        return;
      }
    }
    if (this.heartbeatElapsedTicks >= this.config.heartbeatIntervalTicks) {
      this.heartbeatElapsedTicks = 0;
      this.broadcastHeartbeat(role);
    }
  }

  /** Starts an election now (as if the election timeout had passed), unless this node cannot vote. */
  campaignNow(): void {
    if (this.role.kind === "leader" || !this.promotable()) return;
    this.campaign(this.config.preVote ? "preCandidate" : "candidate", false);
  }

  /**
   * A hint from the transport that the connection to `peer` broke. A follower that loses its leader
   * leaves the leader's lease and campaigns after a short random delay instead of a whole election
   * timeout: when the leader process died, every follower sees its connection close within
   * milliseconds. This is safe whatever the cause — pre-vote fails while a majority still hears from a
   * live leader. A leader stops pipelining to a peer whose connection broke (messages in flight may be
   * lost) and probes it again.
   */
  peerUnreachable(peer: NodeId): void {
    const role = this.role;
    if (role.kind === "leader") {
      const pr = role.progress.get(peer);
      if (pr !== undefined && pr.state === "replicate") becomeProbe(pr);
      return;
    }
    if (role.kind !== "follower" || peer !== this.leaderId || peer === noNode) return;
    this.leaderId = noNode;
    this.electionElapsedTicks = 0;
    // Campaigns stay fast for a while: two followers that campaign in the same tick split the vote,
    // and the retry should not cost a whole election timeout. The window is bounded, so a node cut
    // off from a live leader falls back to the normal pace.
    this.fastCampaignTicksLeft = 2 * this.config.electionTimeoutTicks;
    this.randomizedElectionTimeoutTicks = this.fastCampaignTimeoutTicks();
  }

  /** Spread over half an election timeout, so that followers rarely campaign in the same tick. */
  private fastCampaignTimeoutTicks(): number {
    return 1 + this.config.prng.int(Math.max(1, Math.floor(this.config.electionTimeoutTicks / 2)));
  }

  /** Handles one message from a peer. Messages not addressed to this node are ignored. */
  step(m: Message): void {
    if (m.to !== this.id) return;
    if (m.term > this.term) {
      if (m.type === "RequestVote" || m.type === "PreVote") {
        const forced = m.type === "RequestVote" && m.transfer;
        if (!forced && this.inLeaderLease()) {
          // Dissertation §4.2.3: while we hear from a live leader, refuse to help unseat it.
          this.send({ type: m.type === "PreVote" ? "PreVoteResponse" : "RequestVoteResponse", to: m.from, term: this.term, granted: false });
          return;
        }
      }
      if (m.type === "PreVote" || (m.type === "PreVoteResponse" && m.granted)) {
        // A pre-vote names the term the sender would campaign in; nobody adopts it (dissertation §9.6).
      } else {
        const fromLeader = m.type === "AppendEntries" || m.type === "Heartbeat" || m.type === "InstallSnapshot";
        this.becomeFollower(m.term, fromLeader ? m.from : noNode);
      }
    } else if (m.term < this.term) {
      this.answerStaleTerm(m);
      return;
    }

    if (m.type === "RequestVote" || m.type === "PreVote") {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role.kind) {
      case "leader":
        this.stepLeader(this.role, m);
        return;
      case "candidate":
      case "preCandidate":
        this.stepCandidate(m);
        return;
      case "follower":
        this.stepFollower(m);
        return;
      default:
        assertNever(this.role, "role");
    }
  }

  /**
   * Appends `data` as a new entry; batched with every other proposal of the same Ready into one
   * AppendEntries per follower. The entry is committed once `committedEntries` hands out an entry with
   * this index and term; an entry with another term at that index means the proposal was lost.
   */
  propose(data: Uint8Array): Result<{ index: number; term: number }, RaftError> {
    return this.proposeEntry("normal", data);
  }

  /**
   * Proposes a single-server membership change. Allowed only once the leader has committed an entry of
   * its own term (which fixes the single-server change bug described by Ongaro in 2015) and while no
   * other change is uncommitted. The change takes effect on each node when the entry commits.
   */
  proposeMembershipChange(change: MembershipChange): Result<{ index: number; term: number }, RaftError> {
    if (this.role.kind !== "leader") return err({ code: "NotLeader", leaderId: this.leaderId });
    if (this.log.term(this.log.commitIndex) !== this.term) return err({ code: "LeaderNotReady" });
    if (this.role.pendingMembershipIndex > this.log.commitIndex) {
      return err({ code: "MembershipChangePending", pendingIndex: this.role.pendingMembershipIndex });
    }
    const next = applyMembershipChange(this.membership(), change);
    if (!next.ok) return err({ code: "InvalidMembershipChange", reason: next.error });
    const result = this.proposeEntry("membership", encodeMembershipChange(change));
    if (result.ok) this.role.pendingMembershipIndex = result.value.index;
    return result;
  }

  private proposeEntry(type: EntryType, data: Uint8Array): Result<{ index: number; term: number }, RaftError> {
    const role = this.role;
    if (role.kind !== "leader") return err({ code: "NotLeader", leaderId: this.leaderId });
    if (role.transfer !== undefined) return err({ code: "LeadershipTransferInProgress", leaderId: this.id });
    if (data.length > this.config.entryBytesMax) {
      return err({ code: "EntryTooLarge", sizeBytes: data.length, limitBytes: this.config.entryBytesMax });
    }
    // Like etcd, an empty pipeline always admits one entry, so no entry is too large to ever pass.
    if (role.uncommittedBytes > 0 && role.uncommittedBytes + data.length > this.config.uncommittedBytesMax) {
      return err({ code: "UncommittedBytesExceeded", uncommittedBytes: role.uncommittedBytes, limitBytes: this.config.uncommittedBytesMax });
    }
    const index = this.appendAsLeader(role, type, data);
    return ok({ index, term: this.term });
  }

  /**
   * Asks for a linearizable read point (dissertation §6.4). The answer arrives as a `ReadState` in a
   * later Ready: once the application has applied `readIndex`, its state reflects every write
   * acknowledged before this call. On a follower the request is forwarded to the leader.
   */
  readIndex(requestId: number): Result<void, RaftError> {
    const role = this.role;
    if (role.kind === "leader") return this.leaderReadIndex(role, requestId, this.id);
    if (this.leaderId === noNode) return err({ code: "NotLeader", leaderId: noNode });
    this.send({ type: "ReadIndexRequest", to: this.leaderId, term: this.term, requestId });
    return ok(undefined);
  }

  /**
   * Hands leadership to `target` (dissertation §3.10): stop accepting proposals, bring the target up to
   * date, then tell it to campaign at once. Aborted if it has not happened within an election timeout.
   */
  transferLeadership(target: NodeId): Result<void, RaftError> {
    const role = this.role;
    if (role.kind !== "leader") return err({ code: "NotLeader", leaderId: this.leaderId });
    if (target === this.id) return ok(undefined);
    const pr = role.progress.get(target);
    if (pr === undefined || !isVoter(this.membership(), target)) {
      return err({ code: "InvalidTransferTarget", target });
    }
    if (role.transfer?.target === target) return ok(undefined);
    role.transfer = { target, elapsedTicks: 0 };
    if (pr.matchIndex === this.log.lastIndex()) {
      this.send({ type: "TimeoutNow", to: target, term: this.term });
    } else {
      this.sendAppends(target, pr, true);
    }
    return ok(undefined);
  }

  /**
   * Records that the application has stored a snapshot of its state at `index` (which it has applied)
   * and drops the log up to it. Followers that need the dropped entries will be sent this snapshot.
   */
  compact(index: number, data: Uint8Array): Result<void, RaftError> {
    if (index <= this.log.snapshot.meta.index) {
      return err({ code: "InvalidCompaction", reason: `index ${index} is not after the current snapshot at ${this.log.snapshot.meta.index}` });
    }
    if (index > this.log.appliedIndex || index > this.log.stableIndex) {
      return err({ code: "InvalidCompaction", reason: `index ${index} is not yet applied and durable (applied ${this.log.appliedIndex})` });
    }
    const term = this.log.term(index);
    assert(term !== undefined, `entry ${index} must be in the log`);
    const membership = this.membershipAt(index);
    this.log.compact({ meta: { index, term, membership }, data });
    this.membershipHistory = this.membershipHistory.filter((h) => h.index > index);
    return ok(undefined);
  }

  // ---------------------------------------------------------------- Ready / advance

  /** Whether `ready()` has anything for the shell to do. */
  hasReady(): boolean {
    this.flush();
    return (
      this.outbox.length > 0 ||
      this.readStates.length > 0 ||
      this.log.unstableSnapshot !== undefined ||
      this.log.stableIndex < this.log.lastIndex() ||
      this.log.appliedIndex < this.log.commitIndex ||
      !sameHardState(this.hardState(), this.persistedHardState)
    );
  }

  /** Collects everything the shell must persist, send and apply. Call `advance()` when done. */
  ready(): Ready {
    assert(this.readyInFlight === undefined, "ready() called again before advance()");
    this.flush();
    const hardState = this.hardState();
    const changedHardState = sameHardState(hardState, this.persistedHardState) ? undefined : hardState;
    const entries = this.log.unstableEntries();
    const committedEntries = this.log.nextCommittedEntries(this.config.readyCommittedBytesMax);
    const snapshot = this.log.unstableSnapshot;
    const lastEntry = entries[entries.length - 1];
    const lastCommitted = committedEntries[committedEntries.length - 1];
    const termOrVoteChanged =
      changedHardState !== undefined &&
      (changedHardState.term !== this.persistedHardState.term || changedHardState.votedFor !== this.persistedHardState.votedFor);
    const ready: Ready = {
      softState: this.softState(),
      hardState: changedHardState,
      snapshot,
      entries,
      committedEntries,
      durableCommittedCount: snapshot === undefined ? countUpTo(committedEntries, this.log.stableIndex) : 0,
      messages: this.outbox,
      readStates: this.readStates,
      sendBeforePersist: this.role.kind === "leader" && !termOrVoteChanged && snapshot === undefined,
    };
    this.readyInFlight = {
      lastEntry: lastEntry === undefined ? undefined : { index: lastEntry.index, term: lastEntry.term },
      lastCommittedIndex: lastCommitted?.index,
      snapshot,
      hardState: changedHardState,
    };
    this.outbox = [];
    this.readStates = [];
    if (this.role.kind === "leader") this.role.readRoundInOutbox = false;
    return ready;
  }

  /** Tells the node the last Ready was persisted (durably), sent and applied. */
  advance(): void {
    const done = this.readyInFlight;
    assert(done !== undefined, "advance() called without a Ready in flight");
    this.readyInFlight = undefined;
    if (done.snapshot !== undefined && this.log.unstableSnapshot === done.snapshot) this.log.unstableSnapshot = undefined;
    if (done.lastEntry !== undefined) this.log.stableTo(done.lastEntry.index, done.lastEntry.term);
    if (done.hardState !== undefined) this.persistedHardState = done.hardState;
    if (done.lastCommittedIndex !== undefined) this.log.appliedTo(done.lastCommittedIndex);
    // A leader counts its own log toward the quorum only once it is durable.
    if (this.role.kind === "leader") this.maybeCommit(this.role);
  }

  // ---------------------------------------------------------------- observation

  status(): NodeStatus {
    const role = this.role;
    const membership = this.membership();
    const progress: ProgressStatus[] = [];
    if (role.kind === "leader") {
      for (const [id, pr] of role.progress) {
        progress.push({
          id,
          voter: isVoter(membership, id),
          state: pr.state,
          matchIndex: pr.matchIndex,
          nextIndex: pr.nextIndex,
          recentActive: pr.recentActive,
          ticksSinceContact: role.elapsedTicks - pr.lastContactTick,
        });
      }
      progress.sort((a, b) => a.id - b.id);
    }
    return {
      id: this.id,
      role: role.kind,
      term: this.term,
      votedFor: this.votedFor,
      leaderId: this.leaderId,
      commitIndex: this.log.commitIndex,
      appliedIndex: this.log.appliedIndex,
      lastIndex: this.log.lastIndex(),
      snapshotIndex: this.log.snapshot.meta.index,
      membership,
      progress,
      transferTarget: role.kind === "leader" ? (role.transfer?.target ?? noNode) : noNode,
    };
  }

  /** Whether this node leads now: what `status().role === "leader"` says, without building the status. */
  isLeader(): boolean {
    return this.role.kind === "leader";
  }

  /** The leader this node knows of in its term (itself when leading), or `noNode`: `status().leaderId`, cheaply. */
  knownLeader(): NodeId {
    return this.leaderId;
  }

  /** The entry at `index` if it is still in memory (for checkers and tools). */
  entryAt(index: number): Entry | undefined {
    return this.log.entry(index);
  }

  termAt(index: number): number | undefined {
    return this.log.term(index);
  }

  membership(): Membership {
    return this.membershipHistory[this.membershipHistory.length - 1]?.membership ?? this.log.snapshot.meta.membership;
  }

  /** The latest snapshot (the one a lagging follower would be sent). */
  snapshot(): Snapshot {
    return this.log.snapshot;
  }

  // ---------------------------------------------------------------- roles

  private becomeFollower(term: number, leaderId: NodeId): void {
    if (term > this.term) {
      this.term = term;
      this.votedFor = noNode;
    }
    this.role = { kind: "follower" };
    this.leaderId = leaderId;
    this.resetTimers();
  }

  private campaign(kind: "preCandidate" | "candidate", transfer: boolean): void {
    const votes = new Map<NodeId, boolean>();
    if (kind === "preCandidate") {
      this.role = { kind: "preCandidate", votes };
      this.leaderId = noNode;
      this.resetTimers();
    } else {
      this.term++;
      this.votedFor = this.id;
      this.role = { kind: "candidate", votes };
      this.leaderId = noNode;
      this.resetTimers();
    }
    votes.set(this.id, true);
    if (this.tallyVotes(votes) !== "pending") return;
    const voteTerm = kind === "preCandidate" ? this.term + 1 : this.term;
    const lastLogIndex = this.log.lastIndex();
    const lastLogTerm = this.log.lastTerm();
    for (const to of this.membership().voters) {
      if (to === this.id) continue;
      if (kind === "preCandidate") {
        this.send({ type: "PreVote", to, term: voteTerm, lastLogIndex, lastLogTerm });
      } else {
        this.send({ type: "RequestVote", to, term: voteTerm, lastLogIndex, lastLogTerm, transfer });
      }
    }
  }

  /** Counts votes and acts on the outcome: a won pre-vote starts the real election; a won election leads. */
  private tallyVotes(votes: Map<NodeId, boolean>): "won" | "lost" | "pending" {
    const outcome = voteOutcome(this.membership().voters, votes);
    if (outcome === "won") {
      if (this.role.kind === "preCandidate") this.campaign("candidate", false);
      else this.becomeLeader();
    } else if (outcome === "lost") {
      this.becomeFollower(this.term, noNode);
    }
    return outcome;
  }

  private becomeLeader(): void {
    const lastIndex = this.log.lastIndex();
    const progress = new Map<NodeId, Progress>();
    for (const id of members(this.membership())) {
      if (id === this.id) continue;
      const pr = newProgress(lastIndex + 1);
      pr.recentActive = true; // Give every follower a full election timeout before check-quorum counts it.
      progress.set(id, pr);
    }
    const role: LeaderRole = {
      kind: "leader",
      progress,
      transfer: undefined,
      pendingMembershipIndex: 0,
      uncommittedBytes: 0,
      elapsedTicks: 0,
      readRound: 0,
      readRoundInOutbox: false,
      pendingReads: [],
      readsAwaitingTermCommit: [],
      appendPending: false,
      commitPending: false,
    };
    this.role = role;
    this.leaderId = this.id;
    this.fastCampaignTicksLeft = 0;
    this.resetTimers();
    // Raft §8: a leader commits a no-op of its own term, which also commits every earlier entry (§5.4.2).
    this.appendAsLeader(role, "noop", emptyBytes);
  }

  private resetTimers(): void {
    this.electionElapsedTicks = 0;
    this.heartbeatElapsedTicks = 0;
    if (this.fastCampaignTicksLeft > 0 && this.leaderId === noNode) {
      this.randomizedElectionTimeoutTicks = this.fastCampaignTimeoutTicks();
      return;
    }
    const timeout = this.config.electionTimeoutTicks;
    this.randomizedElectionTimeoutTicks = timeout + this.config.prng.int(timeout);
  }

  private promotable(): boolean {
    return isVoter(this.membership(), this.id);
  }

  /** Whether this node heard from a leader within the last election timeout (and check-quorum is on). */
  private inLeaderLease(): boolean {
    return this.config.checkQuorum && this.leaderId !== noNode && this.electionElapsedTicks < this.config.electionTimeoutTicks;
  }

  // ---------------------------------------------------------------- step by role

  private answerStaleTerm(m: Message): void {
    if ((this.config.checkQuorum || this.config.preVote) && (m.type === "AppendEntries" || m.type === "Heartbeat" || m.type === "InstallSnapshot")) {
      // A leader of an older term (cut off, say, by a partition) learns our term and steps down.
      this.send({ type: "AppendEntriesResponse", to: m.from, term: this.term, success: false, matchIndex: 0, rejectedIndex: 0, hintIndex: 0, hintTerm: 0 });
    } else if (m.type === "PreVote") {
      this.send({ type: "PreVoteResponse", to: m.from, term: this.term, granted: false });
    }
  }

  private handleVoteRequest(m: RequestVote | PreVote): void {
    const pre = m.type === "PreVote";
    const canVote =
      this.votedFor === m.from || (this.votedFor === noNode && this.leaderId === noNode) || (pre && m.term > this.term);
    const responseType = pre ? "PreVoteResponse" : "RequestVoteResponse";
    if (canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {
      // A granted vote answers in the term asked for, so the candidate counts it.
      this.send({ type: responseType, to: m.from, term: m.term, granted: true });
      if (!pre) {
        this.electionElapsedTicks = 0;
        this.votedFor = m.from;
      }
    } else {
      this.send({ type: responseType, to: m.from, term: this.term, granted: false });
    }
  }

  private stepLeader(role: LeaderRole, m: Message): void {
    switch (m.type) {
      case "AppendEntriesResponse":
      case "HeartbeatResponse":
      case "InstallSnapshotResponse": {
        const pr = role.progress.get(m.from);
        if (pr === undefined) return; // Not (or no longer) a member.
        pr.recentActive = true;
        pr.lastContactTick = role.elapsedTicks;
        if (m.type === "AppendEntriesResponse") this.handleAppendResponse(role, m, pr);
        else if (m.type === "HeartbeatResponse") this.handleHeartbeatResponse(role, m, pr);
        else this.handleSnapshotResponse(role, m, pr);
        return;
      }
      case "ReadIndexRequest":
        this.handleForwardedRead(role, m);
        return;
      case "AppendEntries":
      case "Heartbeat":
      case "InstallSnapshot":
        assert(false, `two leaders in term ${m.term}: ${this.id} and ${m.from}`);
        return;
      case "RequestVote":
      case "PreVote":
      case "RequestVoteResponse":
      case "PreVoteResponse":
      case "TimeoutNow":
      case "ReadIndexResponse":
        return;
      default:
        assertNever(m, "message");
    }
  }

  private stepCandidate(m: Message): void {
    const role = this.role;
    assert(role.kind === "candidate" || role.kind === "preCandidate", "stepCandidate needs a candidate");
    switch (m.type) {
      case "AppendEntries":
      case "Heartbeat":
      case "InstallSnapshot":
        // A leader of our term exists (Raft §5.2): follow it.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case "RequestVoteResponse":
        if (role.kind === "candidate") {
          role.votes.set(m.from, m.granted);
          this.tallyVotes(role.votes);
        }
        return;
      case "PreVoteResponse":
        if (role.kind === "preCandidate") {
          role.votes.set(m.from, m.granted);
          this.tallyVotes(role.votes);
        }
        return;
      case "AppendEntriesResponse":
      case "HeartbeatResponse":
      case "InstallSnapshotResponse":
      case "RequestVote":
      case "PreVote":
      case "TimeoutNow":
      case "ReadIndexRequest":
      case "ReadIndexResponse":
        return;
      default:
        assertNever(m, "message");
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "AppendEntries":
        this.heardFromLeader(m.from);
        this.handleAppendEntries(m);
        return;
      case "Heartbeat":
        this.heardFromLeader(m.from);
        this.handleHeartbeat(m);
        return;
      case "InstallSnapshot":
        this.heardFromLeader(m.from);
        this.handleInstallSnapshot(m);
        return;
      case "TimeoutNow":
        if (this.promotable()) this.campaign("candidate", true);
        return;
      case "ReadIndexResponse":
        this.readStates.push({ requestId: m.requestId, readIndex: m.readIndex });
        return;
      case "AppendEntriesResponse":
      case "HeartbeatResponse":
      case "InstallSnapshotResponse":
      case "RequestVote":
      case "PreVote":
      case "RequestVoteResponse":
      case "PreVoteResponse":
      case "ReadIndexRequest":
        return;
      default:
        assertNever(m, "message");
    }
  }

  private heardFromLeader(leaderId: NodeId): void {
    this.electionElapsedTicks = 0;
    this.leaderId = leaderId;
    this.fastCampaignTicksLeft = 0;
    // After a false alarm from peerUnreachable() the leader is back: wait a full timeout again.
    if (this.randomizedElectionTimeoutTicks < this.config.electionTimeoutTicks) this.resetTimers();
  }

  // ---------------------------------------------------------------- follower side of replication

  private handleAppendEntries(m: AppendEntries): void {
    const reply = (fields: Pick<AppendEntriesResponse, "success" | "matchIndex" | "rejectedIndex" | "hintIndex" | "hintTerm">): void =>
      this.send({ type: "AppendEntriesResponse", to: m.from, term: this.term, ...fields });
    const noHint = { rejectedIndex: 0, hintIndex: 0, hintTerm: 0 };
    if (m.prevLogIndex === 0 && !this.knowsInitialMembership()) {
      // A node that joined without a bootstrap membership cannot vouch for the state at index 0: the
      // cluster's initial membership lives there, not in any entry, and replaying membership changes
      // from an empty one gives a wrong voter set (a promoted joiner would think it is the only voter).
      // Refusing index 0 makes the leader send its snapshot at index 0, which carries that membership.
      reply({ success: false, matchIndex: 0, ...noHint });
      return;
    }
    if (m.prevLogIndex < this.log.commitIndex) {
      // Everything up to our commit index already matches the leader; say so and let it send the rest.
      reply({ success: true, matchIndex: this.log.commitIndex, ...noHint });
      return;
    }
    if (!this.log.matchTerm(m.prevLogIndex, m.prevLogTerm)) {
      const hint = this.log.findConflictByTerm(Math.min(m.prevLogIndex, this.log.lastIndex()), m.prevLogTerm);
      reply({ success: false, matchIndex: 0, rejectedIndex: m.prevLogIndex, hintIndex: hint.index, hintTerm: hint.term });
      return;
    }
    const lastNewIndex = m.prevLogIndex + m.entries.length;
    const conflictIndex = this.log.findConflict(m.entries);
    if (conflictIndex !== 0) {
      assert(conflictIndex > this.log.commitIndex, `entry ${conflictIndex} conflicts with a committed entry`);
      this.log.append(m.entries.slice(conflictIndex - m.prevLogIndex - 1));
    }
    // Only entries up to lastNewIndex are known to match the leader; beyond it our log may still differ.
    this.advanceCommit(Math.min(m.leaderCommit, lastNewIndex));
    reply({ success: true, matchIndex: lastNewIndex, ...noHint });
  }

  private handleHeartbeat(m: Heartbeat): void {
    // The leader sends min(our match index, its commit index), so this never commits an unmatched entry.
    this.advanceCommit(Math.min(m.leaderCommit, this.log.lastIndex()));
    this.send({ type: "HeartbeatResponse", to: m.from, term: this.term, readRound: m.readRound });
  }

  private handleInstallSnapshot(m: InstallSnapshot): void {
    const meta = m.meta;
    const reply = (bytesReceived: number, installed: boolean): void =>
      this.send({ type: "InstallSnapshotResponse", to: m.from, term: this.term, snapshotIndex: meta.index, bytesReceived, installed });
    if (meta.index === 0 && !this.knowsInitialMembership() && this.log.lastIndex() === 0) {
      // The initial membership for a joining node (see handleAppendEntries); index 0 covers no entry,
      // so there is no application state to receive.
      this.restoreSnapshot({ meta, data: emptyBytes });
      reply(m.totalBytes, true);
      return;
    }
    if (meta.index <= this.log.commitIndex) {
      reply(m.totalBytes, true); // We already hold everything the snapshot covers.
      return;
    }
    if (this.log.matchTerm(meta.index, meta.term)) {
      // Our log already holds the snapshot's last entry, so the prefix matches the leader (log matching).
      this.advanceCommit(meta.index);
      reply(m.totalBytes, true);
      return;
    }
    let incoming = this.incomingSnapshot;
    if (incoming === undefined || incoming.meta.index !== meta.index || incoming.meta.term !== meta.term || incoming.totalBytes !== m.totalBytes) {
      if (m.offset !== 0) {
        reply(0, false); // We hold no part of this snapshot: start over.
        return;
      }
      incoming = { meta, totalBytes: m.totalBytes, chunks: [], receivedBytes: 0 };
      this.incomingSnapshot = incoming;
    }
    if (m.offset !== incoming.receivedBytes || incoming.receivedBytes + m.chunk.length > incoming.totalBytes) {
      reply(incoming.receivedBytes, false); // A lost or duplicated chunk: resume where we are.
      return;
    }
    incoming.chunks.push(m.chunk.slice());
    incoming.receivedBytes += m.chunk.length;
    if (!m.done) {
      reply(incoming.receivedBytes, false);
      return;
    }
    if (incoming.receivedBytes !== incoming.totalBytes) {
      reply(incoming.receivedBytes, false);
      return;
    }
    this.incomingSnapshot = undefined;
    this.restoreSnapshot({ meta, data: concatBytes(incoming.chunks, incoming.totalBytes) });
    // Sent with this Ready, so only after the snapshot is durable.
    reply(incoming.totalBytes, true);
  }

  /** Whether this node knows the membership in force at its snapshot (false only for a node that joined empty). */
  private knowsInitialMembership(): boolean {
    return this.log.snapshot.meta.index > 0 || members(this.log.snapshot.meta.membership).length > 0;
  }

  private restoreSnapshot(snapshot: Snapshot): void {
    this.log.restore(snapshot);
    this.membershipHistory = [];
  }

  // ---------------------------------------------------------------- leader side of replication

  private appendAsLeader(role: LeaderRole, type: EntryType, data: Uint8Array): number {
    const index = this.log.lastIndex() + 1;
    this.log.append([{ index, term: this.term, type, data }]);
    role.uncommittedBytes += data.length;
    role.appendPending = true;
    // A single-voter cluster commits as soon as its own write is durable (see advance()).
    return index;
  }

  /** Sends what the Ready's inputs made necessary: new entries and the new commit index, once per follower. */
  private flush(): void {
    const role = this.role;
    if (role.kind !== "leader" || (!role.appendPending && !role.commitPending)) return;
    const commitPending = role.commitPending;
    role.appendPending = false;
    role.commitPending = false;
    for (const [id, pr] of role.progress) {
      // A follower already sent the current commit index (say, with the entries that followed the
      // acknowledgement that committed them) needs no empty AppendEntries to learn it.
      this.sendAppends(id, pr, commitPending && pr.commitIndexSent < this.log.commitIndex);
    }
  }

  /** Sends as many AppendEntries (or one snapshot chunk) as the follower's flow control allows. */
  private sendAppends(to: NodeId, pr: Progress, sendIfEmpty: boolean): void {
    let first = true;
    // Bounded: every send either fills an inflight slot, pauses a probe, or advances nextIndex past lastIndex.
    while (this.maybeSendAppend(to, pr, first && sendIfEmpty)) first = false;
  }

  private maybeSendAppend(to: NodeId, pr: Progress, sendIfEmpty: boolean): boolean {
    if (pr.state === "snapshot") return this.sendSnapshotChunk(to, pr);
    if (isPaused(pr, this.config.inflightMessagesMax, this.config.inflightBytesMax)) return false;
    const prevLogIndex = pr.nextIndex - 1;
    const prevLogTerm = this.log.term(prevLogIndex);
    const entries =
      prevLogTerm === undefined
        ? undefined
        : this.log.slice(pr.nextIndex, this.log.lastIndex(), this.config.appendEntriesBytesMax, this.config.appendEntriesCountMax);
    if (prevLogTerm === undefined || entries === undefined) {
      // The entries this follower needs are compacted away: send the snapshot instead.
      becomeSnapshot(pr, this.log.snapshot.meta.index);
      return this.sendSnapshotChunk(to, pr);
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: "AppendEntries", to, term: this.term, prevLogIndex, prevLogTerm, entries, leaderCommit: this.log.commitIndex });
    pr.commitIndexSent = this.log.commitIndex;
    const last = entries[entries.length - 1];
    if (last !== undefined) {
      let bytes = 0;
      for (const e of entries) bytes += e.data.length;
      sentEntries(pr, last.index, bytes);
    } else if (pr.state === "probe") {
      pr.probeSent = true;
    }
    return entries.length > 0 && pr.state === "replicate";
  }

  private sendSnapshotChunk(to: NodeId, pr: Progress): boolean {
    const snapshot = this.log.snapshot;
    if (pr.snapshotIndex !== snapshot.meta.index) becomeSnapshot(pr, snapshot.meta.index);
    if (pr.snapshotChunkSent) return false;
    const offset = pr.snapshotBytesAcked;
    const end = Math.min(offset + this.config.snapshotChunkBytesMax, snapshot.data.length);
    this.send({
      type: "InstallSnapshot",
      to,
      term: this.term,
      meta: snapshot.meta,
      totalBytes: snapshot.data.length,
      offset,
      chunk: snapshot.data.subarray(offset, end),
      done: end === snapshot.data.length,
    });
    pr.snapshotChunkSent = true;
    return false;
  }

  private handleAppendResponse(role: LeaderRole, m: AppendEntriesResponse, pr: Progress): void {
    if (!m.success) {
      if (m.rejectedIndex === 0) {
        // Only a node that joined without the initial membership refuses index 0: it needs the snapshot.
        becomeSnapshot(pr, this.log.snapshot.meta.index);
        this.sendSnapshotChunk(m.from, pr);
        return;
      }
      // Fast back-off (etcd): skip every entry of a term the follower cannot match.
      const probeIndex = m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index : m.hintIndex;
      if (maybeDecrease(pr, m.rejectedIndex, probeIndex)) {
        if (pr.state === "replicate") becomeProbe(pr);
        this.sendAppends(m.from, pr, true);
      }
      return;
    }
    // A probe answered with the match we already knew still tells us where the logs meet.
    const probeAcked = pr.state === "probe" && pr.matchIndex === m.matchIndex;
    if (!maybeUpdate(pr, m.matchIndex) && !probeAcked) return;
    if (pr.state === "probe") becomeReplicate(pr);
    else if (pr.state === "snapshot" && pr.matchIndex >= pr.snapshotIndex) becomeReplicate(pr);
    else if (pr.state === "replicate") freeInflightUpTo(pr, m.matchIndex);
    this.maybeCommit(role);
    if (this.role !== role) return; // Committing removed this leader.
    this.sendAppends(m.from, pr, false);
    if (role.transfer?.target === m.from && pr.matchIndex === this.log.lastIndex()) {
      this.send({ type: "TimeoutNow", to: m.from, term: this.term });
    }
  }

  private handleHeartbeatResponse(role: LeaderRole, m: HeartbeatResponse, pr: Progress): void {
    pr.probeSent = false;
    if (pr.state === "snapshot") {
      pr.snapshotChunkSent = false; // The chunk or its answer may be lost: send it again.
    } else if (pr.state === "replicate" && pr.inflight.length >= this.config.inflightMessagesMax) {
      // A full window may mean lost messages; free one so replication probes on (etcd does the same).
      freeInflightUpTo(pr, pr.inflight[0]?.lastIndex ?? 0);
    }
    // A probe goes out even when empty: it is how the leader finds where the logs meet. So does an empty
    // append in replicate when the follower lags with everything already in flight: if an AppendEntries
    // (or its answer) was lost and nothing new is proposed, only this reveals the gap (the follower
    // rejects, or acknowledges its match); etcd sends it too. Without it the entry never commits.
    if (pr.matchIndex < this.log.lastIndex() || pr.state !== "replicate") this.sendAppends(m.from, pr, true);
    if (m.readRound > pr.readRoundAcked) {
      pr.readRoundAcked = m.readRound;
      this.releaseReads(role);
    }
  }

  private handleSnapshotResponse(role: LeaderRole, m: InstallSnapshotResponse, pr: Progress): void {
    if (m.installed) {
      maybeUpdate(pr, m.snapshotIndex);
      if (pr.state === "snapshot") becomeProbe(pr);
      this.maybeCommit(role);
      if (this.role !== role) return;
      this.sendAppends(m.from, pr, true);
      return;
    }
    if (pr.state !== "snapshot" || m.snapshotIndex !== pr.snapshotIndex) return; // About an older snapshot.
    pr.snapshotBytesAcked = m.bytesReceived;
    pr.snapshotChunkSent = false;
    this.sendSnapshotChunk(m.from, pr);
  }

  /** Raft §5.3–5.4.2: commit the highest index a majority holds, if it is of the current term. */
  private maybeCommit(role: LeaderRole): void {
    // Loops because a committed membership change may change the quorum (bounded: commit only grows).
    for (;;) {
      const index = committedByQuorum(this.membership().voters, (id) =>
        id === this.id ? this.log.stableIndex : (role.progress.get(id)?.matchIndex ?? 0),
      );
      if (index <= this.log.commitIndex || this.log.term(index) !== this.term) return;
      this.advanceCommit(index);
      if (this.role !== role) return;
      role.commitPending = true;
    }
  }

  private advanceCommit(index: number): void {
    const previous = this.log.commitIndex;
    if (!this.log.commitTo(index)) return;
    for (let i = previous + 1; i <= index; i++) {
      const entry = this.log.entry(i);
      assert(entry !== undefined, `committed entry ${i} must be in memory`);
      if (this.role.kind === "leader" && entry.term === this.term) {
        this.role.uncommittedBytes = Math.max(0, this.role.uncommittedBytes - entry.data.length);
      }
      if (entry.type === "membership") this.applyMembership(entry);
    }
    const role = this.role;
    if (role.kind === "leader" && this.log.term(this.log.commitIndex) === this.term && role.readsAwaitingTermCommit.length > 0) {
      const waiting = role.readsAwaitingTermCommit.splice(0);
      for (const read of waiting) this.addPendingRead(role, read.requestId, read.from);
    }
  }

  private applyMembership(entry: Entry): void {
    const change = decodeMembershipChange(entry.data);
    const next = applyMembershipChange(this.membership(), change);
    // The leader validated the change against the same membership, so this cannot fail.
    assert(next.ok, `committed membership change at ${entry.index} is invalid: ${next.ok ? "" : next.error}`);
    this.membershipHistory.push({ index: entry.index, membership: next.value });
    const role = this.role;
    if (role.kind !== "leader") return;
    if (!isVoter(next.value, this.id)) {
      this.handOverOnRemoval(role, next.value);
      this.becomeFollower(this.term, noNode); // A removed leader steps down (dissertation §4.2.2).
      return;
    }
    for (const id of members(next.value)) {
      if (id === this.id || role.progress.has(id)) continue;
      const pr = newProgress(this.log.lastIndex() + 1);
      pr.recentActive = true;
      pr.lastContactTick = role.elapsedTicks;
      role.progress.set(id, pr);
      role.appendPending = true;
    }
    for (const id of [...role.progress.keys()]) {
      if (!isMember(next.value, id)) role.progress.delete(id);
    }
    if (role.transfer !== undefined && !isVoter(next.value, role.transfer.target)) role.transfer = undefined;
    this.releaseReads(role);
  }

  /**
   * Before a removed leader steps down: tell every follower the commit index (so they learn the removal),
   * and ask the most up-to-date remaining voter to campaign at once if it holds the whole log, instead of
   * leaving the cluster leaderless for an election timeout.
   */
  private handOverOnRemoval(role: LeaderRole, next: Membership): void {
    for (const [id, pr] of role.progress) this.sendAppends(id, pr, true);
    let successor: NodeId = noNode;
    let successorMatch = -1;
    for (const id of next.voters) {
      const match = role.progress.get(id)?.matchIndex ?? -1;
      if (match > successorMatch) {
        successor = id;
        successorMatch = match;
      }
    }
    if (successor !== noNode && successorMatch === this.log.lastIndex()) {
      this.send({ type: "TimeoutNow", to: successor, term: this.term });
    }
  }

  private membershipAt(index: number): Membership {
    let membership = this.log.snapshot.meta.membership;
    for (const h of this.membershipHistory) if (h.index <= index) membership = h.membership;
    return membership;
  }

  private quorumRecentlyActive(role: LeaderRole): boolean {
    const active = quorumHolds(this.membership().voters, (id) => id === this.id || role.progress.get(id)?.recentActive === true);
    for (const pr of role.progress.values()) pr.recentActive = false;
    return active;
  }

  private broadcastHeartbeat(role: LeaderRole): void {
    for (const [to, pr] of role.progress) {
      this.send({
        type: "Heartbeat",
        to,
        term: this.term,
        leaderCommit: Math.min(pr.matchIndex, this.log.commitIndex),
        readRound: role.readRound,
      });
    }
  }

  // ---------------------------------------------------------------- ReadIndex

  private leaderReadIndex(role: LeaderRole, requestId: number, from: NodeId): Result<void, RaftError> {
    if (role.pendingReads.length + role.readsAwaitingTermCommit.length >= this.config.pendingReadsCountMax) {
      return err({ code: "TooManyPendingReads", limitCount: this.config.pendingReadsCountMax });
    }
    if (this.log.term(this.log.commitIndex) !== this.term) {
      // Until it commits an entry of its term, a new leader does not know the latest commit index.
      role.readsAwaitingTermCommit.push({ requestId, from });
    } else {
      this.addPendingRead(role, requestId, from);
    }
    return ok(undefined);
  }

  private handleForwardedRead(role: LeaderRole, m: ReadIndexRequest): void {
    // A refused forwarded read is simply not answered; the follower's client times out and retries.
    this.leaderReadIndex(role, m.requestId, m.from);
  }

  private addPendingRead(role: LeaderRole, requestId: number, from: NodeId): void {
    if (from !== this.id && quorumHolds(this.membership().voters, (id) => id === this.id || id === from)) {
      // The follower's request, sent in our term after its read began, is its acknowledgement of this
      // leader at a moment after the read began; with ours that is a majority (as in any 3-voter
      // cluster), so no other leader can have been elected before then: answer without a round.
      this.send({ type: "ReadIndexResponse", to: from, term: this.term, requestId, readIndex: this.log.commitIndex });
      return;
    }
    if (!role.readRoundInOutbox) {
      // Start a new round: its heartbeats leave after this read arrived, so their answers prove we are
      // still the leader at a moment after the read began. A periodic heartbeat never opens a round: it
      // may carry a round a majority already confirmed before this read arrived.
      role.readRound++;
      this.broadcastHeartbeat(role);
      role.readRoundInOutbox = true;
    }
    role.pendingReads.push({ requestId, from, readIndex: this.log.commitIndex, round: role.readRound });
    this.releaseReads(role);
  }

  /** Answers, in order, every pending read whose round a majority of voters has confirmed. */
  private releaseReads(role: LeaderRole): void {
    const voters = this.membership().voters;
    let released = 0;
    for (const read of role.pendingReads) {
      // A forwarding follower's request counts as its acknowledgement (see addPendingRead).
      const confirmed = quorumHolds(voters, (id) => id === this.id || id === read.from || (role.progress.get(id)?.readRoundAcked ?? 0) >= read.round);
      if (!confirmed) break;
      released++;
      if (read.from === this.id) this.readStates.push({ requestId: read.requestId, readIndex: read.readIndex });
      else this.send({ type: "ReadIndexResponse", to: read.from, term: this.term, requestId: read.requestId, readIndex: read.readIndex });
    }
    if (released > 0) role.pendingReads.splice(0, released);
  }

  // ---------------------------------------------------------------- helpers

  private send(message: DistributiveOmit<Message, "from">): void {
    this.outbox.push({ ...message, from: this.id } as Message);
  }

  private hardState(): HardState {
    return { term: this.term, votedFor: this.votedFor, commitIndex: this.log.commitIndex };
  }

  private softState(): SoftState {
    return { leaderId: this.leaderId, role: this.role.kind };
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.votedFor === b.votedFor && a.commitIndex === b.commitIndex;
}

function concatBytes(chunks: readonly Uint8Array[], totalBytes: number): Uint8Array {
  const out = new Uint8Array(totalBytes);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** How many leading entries of `entries` (ascending indexes) have an index at or below `index`. */
function countUpTo(entries: readonly Entry[], index: number): number {
  let count = 0;
  while (count < entries.length && (entries[count] as Entry).index <= index) count++;
  return count;
}
