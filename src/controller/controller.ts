import type { RaftConfig } from "../raft/config.js";
import { RaftNode } from "../raft/node.js";
import type { NodeStatus } from "../raft/node.js";
import type { Entry, HardState, InitialState, MembershipChange, Message, NodeId, Ready, ReadState, RoleKind, Snapshot } from "../raft/types.js";
import { assert } from "../shared/assert.js";
import { createPrng } from "../shared/prng.js";
import type { ElectionSettings, SnapshotSettings } from "./config.js";
import { ControllerError, fromRaftError, notLeaderError } from "./errors.js";
import type { StateMachine } from "./stateMachine.js";

/** The part of RaftStorage the Ready loop uses (see RaftStorage for each call's contract). */
export interface ControllerStorage {
  appendEntries(entries: readonly Entry[]): Promise<void>;
  setHardState(hardState: HardState): Promise<void>;
  writeSnapshot(snapshot: Snapshot): Promise<void>;
  saveAppSnapshot(snapshot: Snapshot): Promise<void>;
  compact(index: number): Promise<void>;
  sync(): Promise<void>;
}

/** Calls `onTick` every `intervalMs` until stopped; tests drive ticks by hand instead. */
export interface Ticker {
  start(onTick: () => void, intervalMs: number): void;
  stop(): void;
}

export const intervalTicker = (): Ticker => {
  let timer: NodeJS.Timeout | undefined;
  return {
    start(onTick, intervalMs) {
      assert(timer === undefined, "ticker already started");
      timer = setInterval(onTick, intervalMs);
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
};

/** A pino-compatible logger. */
export interface ControllerLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export const silentControllerLog: ControllerLog = { info: () => {}, warn: () => {}, error: () => {} };

export interface ControllerOptions<Result> {
  readonly id: NodeId;
  /**
   * Voters of a brand-new cluster; ignored once storage holds anything. Empty for a node that joins an
   * existing cluster: it never campaigns, and learns the membership from the leader that adds it.
   */
  readonly voters: readonly NodeId[];
  readonly election: ElectionSettings;
  readonly snapshot: SnapshotSettings;
  readonly storage: ControllerStorage;
  /** What `RaftStorage.open` recovered. */
  readonly initialState: InitialState;
  readonly stateMachine: StateMachine<Result>;
  /** Hands a message to the transport; never throws, never blocks. */
  readonly send: (m: Message) => void;
  readonly ticker?: Ticker;
  /** Seeds the election-timeout randomness. */
  readonly seed?: number;
  readonly log?: ControllerLog;
  /** The disk failed: the process must stop and recover from its disk on restart. */
  readonly onFatal?: (error: Error) => void;
  /** Core limits (tests shrink them). */
  readonly raft?: Partial<Omit<RaftConfig, "id" | "prng" | "bootstrapMembership" | "electionTimeoutTicks" | "heartbeatIntervalTicks">>;
}

/** A committed and applied proposal. */
export interface Applied<Result> {
  readonly index: number;
  readonly term: number;
  readonly result: Result;
}

interface PendingProposal<Result> {
  readonly term: number;
  readonly resolve: (applied: Applied<Result>) => void;
  readonly reject: (error: ControllerError) => void;
}

/** A caller waiting until a follower's match index reaches `index` on this leader. */
interface MatchWaiter {
  readonly nodeId: NodeId;
  readonly index: number;
  readonly timeoutMs: number;
  readonly deadlineTick: number;
  readonly resolve: () => void;
  readonly reject: (error: ControllerError) => void;
}

interface PendingRead {
  readonly startedTick: number;
  /** Set once the leader confirmed it; the read is served once the state machine reaches it. */
  readIndex: number | undefined;
  readonly resolve: (index: number) => void;
  readonly reject: (error: ControllerError) => void;
}

export interface ControllerStatus extends NodeStatus {
  readonly tickIntervalMs: number;
  readonly electionTimeoutTicks: number;
  readonly heartbeatIntervalTicks: number;
}

/** A read not confirmed after this many election timeouts fails (its request or answer was lost). */
const readTimeoutElections = 2;

/**
 * The IO shell around one RaftNode (DESIGN §3): real timers drive `tick`, every Ready is persisted
 * (fsync) before its messages go out — except a leader's own appends, which it writes while they
 * replicate (`sendBeforePersist`) — committed entries are applied to the state machine, proposals
 * resolve once applied, and linearizable reads wait for the ReadIndex protocol.
 *
 * One Ready is in flight at a time; inputs arriving meanwhile accumulate in the core and go out
 * together in the next one, which is what batches proposals and groups fsyncs under load.
 */
export class Controller<Result> {
  readonly id: NodeId;
  private readonly raft: RaftNode;
  private readonly election: ElectionSettings;
  private readonly snapshotSettings: SnapshotSettings;
  private readonly storage: ControllerStorage;
  private readonly stateMachine: StateMachine<Result>;
  private readonly sendMessage: (m: Message) => void;
  private readonly ticker: Ticker;
  private readonly log: ControllerLog;
  private readonly onFatal: (error: Error) => void;

  private readonly proposals = new Map<number, PendingProposal<Result>>();
  private readonly reads = new Map<number, PendingRead>();
  private nextReadId = 1;
  /** Callers of `transferLeadership` waiting until this node is no longer leader, or until a tick. */
  private readonly handOverWaiters: { readonly deadlineTick: number; readonly resolve: () => void }[] = [];
  private readonly matchWaiters: MatchWaiter[] = [];
  private tickCount = 0;
  private readyRunning = false;
  private pumpScheduled = false;
  private started = false;
  private stopping = false;
  private failure: Error | undefined;
  private readyLoopDone: Promise<void> = Promise.resolve();
  /** Hard state on disk: commit-only changes are not written (see `hardStateToWrite`). */
  private durableHardState: HardState;
  private role: RoleKind = "follower";
  private appliedSinceSnapshotCount = 0;
  private appliedSinceSnapshotBytes = 0;
  private snapshotRequested = false;
  private readonly snapshotWaiters: { readonly resolve: (snapshot: Snapshot) => void; readonly reject: (error: ControllerError) => void }[] = [];
  /**
   * A snapshot being encoded a step at a time beside the Ready loop (`encodeInSteps`), and how many of
   * `snapshotWaiters` (the first ones) it answers; at most one at a time.
   */
  private encoding: { readonly offset: number; readonly waitersCount: number } | undefined;
  /** The snapshot being saved to disk beside the Ready loop (`takeSnapshot`); at most one at a time. */
  private saving: Promise<void> | undefined;
  /** An encoded snapshot waiting for the Ready loop to compact the log with it. */
  private encoded: { readonly offset: number; readonly data: Uint8Array; readonly waitersCount: number } | undefined;

  constructor(options: ControllerOptions<Result>) {
    this.id = options.id;
    this.election = options.election;
    this.snapshotSettings = options.snapshot;
    this.storage = options.storage;
    this.stateMachine = options.stateMachine;
    this.sendMessage = options.send;
    this.ticker = options.ticker ?? intervalTicker();
    this.log = options.log ?? silentControllerLog;
    this.onFatal = options.onFatal ?? (() => {});
    const initial = options.initialState;
    this.durableHardState = initial.hardState;
    this.raft = new RaftNode(
      {
        ...options.raft,
        id: options.id,
        electionTimeoutTicks: options.election.electionTimeoutTicks,
        heartbeatIntervalTicks: options.election.heartbeatIntervalTicks,
        prng: createPrng(options.seed ?? options.id),
        bootstrapMembership: { voters: [...options.voters].sort((a, b) => a - b), learners: [] },
      },
      initial,
    );
    const snapshot = this.raft.snapshot();
    this.stateMachine.restore(snapshot.data, snapshot.meta.index);
  }

  /** Starts the ticks; the node campaigns once its election timeout passes without a leader. */
  start(): void {
    assert(!this.started, "controller already started");
    this.started = true;
    this.ticker.start(() => this.tick(), this.election.tickIntervalMs);
    this.schedulePump();
  }

  // ---------------------------------------------------------------- inputs from the transport

  /** A message from a peer. */
  receive(m: Message): void {
    if (this.stopped()) return;
    this.raft.step(m);
    // An answer that only moves a follower's match index may leave the core nothing for a Ready.
    this.settleMatchWaiters();
    this.schedulePump();
  }

  /** The transport lost its last connection to `peer` (a hint that it may have died; see DESIGN §5). */
  peerDisconnected(peer: NodeId): void {
    if (this.stopped()) return;
    this.raft.peerUnreachable(peer);
    this.schedulePump();
  }

  /** One tick of the election and heartbeat clocks. Public so that tests can drive time by hand. */
  tick(): void {
    if (this.stopped()) return;
    this.tickCount++;
    this.raft.tick();
    this.expireReads();
    this.settleHandOverWaiters();
    this.settleMatchWaiters();
    this.schedulePump();
  }

  /** Starts an election now (tests; operators use leadership transfer). */
  campaign(): void {
    this.raft.campaignNow();
    this.schedulePump();
  }

  // ---------------------------------------------------------------- requests

  /**
   * Replicates `data` and resolves once it is committed and applied, with what the state machine
   * returned. Rejects at once on a node that is not the leader (NOT_LEADER or NO_LEADER, never
   * waiting for an election), and with LEADERSHIP_LOST if the leader steps down before the entry
   * commits (its outcome is then unknown).
   */
  propose(data: Uint8Array): Promise<Applied<Result>> {
    const refusal = this.refusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    const accepted = this.raft.propose(data);
    if (!accepted.ok) return Promise.reject(fromRaftError(accepted.error));
    return this.awaitApplied(accepted.value.index, accepted.value.term);
  }

  /**
   * Proposes a single-server membership change (dissertation §4.1) and resolves once it has committed —
   * a change is in force on each node from its commit. Rejects at once on a node that is not the leader
   * (NOT_LEADER, NO_LEADER), on a leader that has not yet committed an entry of its term
   * (LEADER_NOT_READY), while another change is uncommitted (MEMBERSHIP_CHANGE_PENDING) and for a change
   * that does not fit the membership (INVALID_MEMBERSHIP_CHANGE); later like `propose`. A leader that
   * removes itself resolves too: the removal commits, then it steps down (the core hands over first).
   */
  changeMembership(change: MembershipChange): Promise<Applied<Result>> {
    const refusal = this.refusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    const accepted = this.raft.proposeMembershipChange(change);
    if (!accepted.ok) return Promise.reject(fromRaftError(accepted.error));
    this.log.info({ change: change.kind, nodeId: change.nodeId, index: accepted.value.index }, "proposed a membership change");
    return this.awaitApplied(accepted.value.index, accepted.value.term);
  }

  /**
   * Resolves once member `nodeId`'s match index on this leader reaches `index` (a new member has caught
   * up). Rejects with LEARNER_NOT_CAUGHT_UP when it has not after `timeoutMs` (counted in ticks, so tests
   * drive it by hand), with NOT_LEADER or NO_LEADER on a node that is not the leader, with
   * LEADERSHIP_LOST once this node stops leading, and with STOPPING when it stops.
   */
  awaitMatch(nodeId: NodeId, index: number, timeoutMs: number): Promise<void> {
    assert(Number.isSafeInteger(timeoutMs) && timeoutMs >= 0, `timeoutMs must be a non-negative integer: current value is ${timeoutMs}`);
    const refusal = this.refusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    const deadlineTick = this.tickCount + Math.ceil(timeoutMs / this.election.tickIntervalMs);
    return new Promise((resolve, reject) => {
      this.matchWaiters.push({ nodeId, index, timeoutMs, deadlineTick, resolve, reject });
      this.settleMatchWaiters();
    });
  }

  /** Resolves once the entry this leader accepted at (index, term) is applied; see `propose`. */
  private awaitApplied(index: number, term: number): Promise<Applied<Result>> {
    // A proposal of an earlier term still waiting at this index lost it: our log was overwritten there.
    this.proposals.get(index)?.reject(new ControllerError("LEADERSHIP_LOST", `Cannot complete the write as another leader's entry took index ${index}`, { outcome: "not_applied" }));
    return new Promise((resolve, reject) => {
      this.proposals.set(index, { term, resolve, reject });
      this.schedulePump();
    });
  }

  /**
   * Resolves with a read index once the state machine has applied at least everything committed
   * when the read began (Raft §6.4, ReadIndex): reading the state machine then is linearizable.
   * Works on followers too (the leader confirms the index). Rejects at once with NO_LEADER when no
   * leader is known.
   */
  readBarrier(): Promise<number> {
    const refusal = this.refusal("read");
    if (refusal !== undefined && refusal.code !== "NOT_LEADER") return Promise.reject(refusal);
    const requestId = this.nextReadId++;
    const accepted = this.raft.readIndex(requestId);
    if (!accepted.ok) return Promise.reject(fromRaftError(accepted.error));
    return new Promise((resolve, reject) => {
      this.reads.set(requestId, { startedTick: this.tickCount, readIndex: undefined, resolve, reject });
      this.schedulePump();
    });
  }

  /**
   * Hands leadership to the most up-to-date other voter (or `target`) and resolves once this node is
   * no longer leader, or after one election timeout (the transfer was then aborted by the core).
   */
  async transferLeadership(target?: NodeId): Promise<boolean> {
    if (this.role !== "leader") return false;
    const to = target ?? this.bestTransferTarget();
    if (to === undefined) return false;
    const started = this.raft.transferLeadership(to);
    if (!started.ok) {
      this.log.warn({ target: to, code: started.error.code }, "leadership transfer refused");
      return false;
    }
    this.log.info({ target: to }, "transferring leadership");
    this.schedulePump();
    const deadlineTick = this.tickCount + this.election.electionTimeoutTicks + 1;
    await new Promise<void>((resolve) => this.handOverWaiters.push({ deadlineTick, resolve }));
    return this.role !== "leader";
  }

  /**
   * Takes a snapshot of everything applied so far and compacts the log (an operator's request; they are
   * otherwise taken by count and size). Resolves with the latest snapshot, which is the one it took
   * unless nothing was applied since the last.
   */
  snapshotNow(): Promise<Snapshot> {
    const refusal = this.refusal();
    if (refusal !== undefined && refusal.code !== "NOT_LEADER" && refusal.code !== "NO_LEADER") return Promise.reject(refusal);
    this.snapshotRequested = true;
    return new Promise((resolve, reject) => {
      this.snapshotWaiters.push({ resolve, reject });
      this.snapshotWhenIdle();
    });
  }

  /** With no Ready in flight, runs the snapshot step here, in the same order a Ready loop would. */
  private snapshotWhenIdle(): void {
    if (this.readyRunning || this.stopped()) return;
    this.readyRunning = true;
    try {
      this.maybeSnapshot();
    } catch (error) {
      this.fail(error);
    } finally {
      this.readyRunning = false;
    }
    this.schedulePump();
  }

  /** The latest snapshot this node holds (its index is 0 before the first). */
  latestSnapshot(): Snapshot {
    return this.raft.snapshot();
  }

  /** Whether this node leads now (the role `status()` gives), cheap enough for every request. */
  isLeader(): boolean {
    return this.raft.isLeader();
  }

  /** The leader this node knows of (`status().leaderId`, 0 for none), cheap enough for every request. */
  knownLeaderId(): NodeId {
    return this.raft.knownLeader();
  }

  status(): ControllerStatus {
    return {
      ...this.raft.status(),
      tickIntervalMs: this.election.tickIntervalMs,
      electionTimeoutTicks: this.election.electionTimeoutTicks,
      heartbeatIntervalTicks: this.election.heartbeatIntervalTicks,
    };
  }

  /**
   * Stops: a leader first hands over (so the cluster does not wait an election timeout), then ticks
   * stop, waiting requests fail with STOPPING, and the Ready in flight finishes. The caller closes the
   * transport and the storage afterwards.
   */
  async stop(options: { readonly handOver?: boolean } = {}): Promise<void> {
    if (this.stopping) return;
    if (options.handOver === true && this.failure === undefined) await this.transferLeadership();
    this.stopping = true;
    this.ticker.stop();
    this.failAll(new ControllerError("STOPPING", "Cannot complete the request as the node is stopping", { outcome: "unknown" }));
    this.settleHandOverWaiters();
    await this.readyLoopDone;
    await this.saving;
  }

  // ---------------------------------------------------------------- the Ready loop

  private stopped(): boolean {
    return this.stopping || this.failure !== undefined;
  }

  /** Inputs of one event-loop turn (a socket read, a tick, many HTTP requests) share one Ready. */
  private schedulePump(): void {
    if (this.pumpScheduled || this.readyRunning || !this.started) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.readyRunning || this.stopped() || !this.raft.hasReady()) return;
    this.readyRunning = true;
    this.readyLoopDone = this.readyLoop().catch((error: unknown) => this.fail(error));
  }

  private async readyLoop(): Promise<void> {
    try {
      while (!this.stopped() && this.raft.hasReady()) await this.handleReady(this.raft.ready());
    } finally {
      this.readyRunning = false;
    }
    // A snapshot encoded, or asked for, after the last Ready's snapshot step is dealt with now rather
    // than at the next Ready (which an idle node may not have for a while).
    if (this.encoded !== undefined || (this.snapshotRequested && this.encoding === undefined)) this.snapshotWhenIdle();
  }

  /** Executes one Ready in the order its contract gives (see `Ready` in raft/types.ts). */
  private async handleReady(ready: Ready): Promise<void> {
    this.observeRole(ready.softState.role);
    const writes: Promise<void>[] = [];
    if (ready.snapshot !== undefined) writes.push(this.storage.writeSnapshot(ready.snapshot));
    if (ready.entries.length > 0) writes.push(this.storage.appendEntries(ready.entries));
    const hardState = this.hardStateToWrite(ready.hardState);
    if (hardState !== undefined) writes.push(this.storage.setHardState(hardState));
    if (ready.sendBeforePersist) this.send(ready.messages);
    // Entries committed and durable before this Ready are applied (and their writers answered) while its
    // own writes are in flight: under load every Ready carries new entries, and waiting for their fsync
    // would add a whole fsync to each commit's latency.
    const committed = ready.committedEntries;
    for (let i = 0; i < ready.durableCommittedCount; i++) this.apply(committed[i] as Entry);
    if (writes.length > 0) {
      writes.push(this.storage.sync());
      await Promise.all(writes);
      if (hardState !== undefined) this.durableHardState = hardState;
    }
    if (!ready.sendBeforePersist) this.send(ready.messages);
    if (ready.snapshot !== undefined) this.restoreSnapshot(ready.snapshot);
    for (let i = ready.durableCommittedCount; i < committed.length; i++) this.apply(committed[i] as Entry);
    this.confirmReads(ready.readStates);
    this.raft.advance();
    this.serveReads();
    this.settleMatchWaiters();
    this.maybeSnapshot();
  }

  /**
   * Term and vote must be durable before any message that depends on them leaves (Raft Figure 2). The
   * commit index need not be: after a restart it is learnt again from the leader, and writing it on
   * every commit would cost an atomic file write (two fsyncs) per Ready. So a hard state whose term
   * and vote are unchanged is not written; the latest commit index rides along with the next change
   * and is written on a clean stop.
   */
  private hardStateToWrite(hardState: HardState | undefined): HardState | undefined {
    if (hardState === undefined) return undefined;
    const durable = this.durableHardState;
    return hardState.term !== durable.term || hardState.votedFor !== durable.votedFor ? hardState : undefined;
  }

  /**
   * Writes the commit index too, after `stop()`, so that a restart applies everything at once. The
   * applied index stands in for it: every applied entry is committed and was written before it was applied.
   */
  async flushHardState(): Promise<void> {
    assert(!this.readyRunning, "flushHardState() runs after stop()");
    const durable = this.durableHardState;
    const commitIndex = Math.max(this.stateMachine.appliedIndex, durable.commitIndex);
    if (commitIndex === durable.commitIndex) return;
    const hardState: HardState = { ...durable, commitIndex };
    await this.storage.setHardState(hardState);
    await this.storage.sync();
    this.durableHardState = hardState;
  }

  private send(messages: readonly Message[]): void {
    for (const m of messages) this.sendMessage(m);
  }

  private apply(entry: Entry): void {
    const result = this.stateMachine.apply(entry);
    this.appliedSinceSnapshotCount++;
    this.appliedSinceSnapshotBytes += entry.data.length;
    const pending = this.proposals.get(entry.index);
    if (pending === undefined) return;
    this.proposals.delete(entry.index);
    if (entry.term === pending.term) {
      // Same index and term as the accepted proposal: by the Log Matching property, the same entry.
      pending.resolve({ index: entry.index, term: entry.term, result });
    } else {
      pending.reject(new ControllerError("LEADERSHIP_LOST", `Cannot complete the write as another leader's entry took index ${entry.index}`, { outcome: "not_applied" }));
    }
  }

  private restoreSnapshot(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    this.stateMachine.restore(snapshot.data, index);
    this.appliedSinceSnapshotCount = 0;
    this.appliedSinceSnapshotBytes = 0;
    this.log.info({ index, term: snapshot.meta.term }, "installed snapshot from leader");
    for (const [at, pending] of this.proposals) {
      if (at > index) continue;
      // The entry went into the snapshot: whether it was ours is not known.
      this.proposals.delete(at);
      pending.reject(new ControllerError("LEADERSHIP_LOST", `Cannot tell whether the write at ${at} committed: a snapshot replaced it`, { outcome: "unknown" }));
    }
  }

  /**
   * Snapshots the state machine and compacts the log once enough was applied since the last one. A state
   * machine that encodes in steps is encoded beside the Ready loop (`encodeInSteps`): Readies go on being
   * handled meanwhile, and the log is compacted here, in the loop's order, once the bytes are ready.
   */
  private maybeSnapshot(): void {
    // One snapshot saved at a time; what becomes due meanwhile is taken once it is saved.
    if (this.saving !== undefined) return;
    const encoded = this.encoded;
    if (encoded !== undefined) {
      this.encoded = undefined;
      this.takeSnapshot(encoded.offset, encoded.data, encoded.waitersCount);
      return;
    }
    // One encoding at a time: a request that comes meanwhile is served by the next (it keeps `snapshotRequested`).
    if (this.encoding !== undefined) return;
    const settings = this.snapshotSettings;
    const due = this.snapshotRequested || this.appliedSinceSnapshotCount >= settings.snapshotEntriesCount || this.appliedSinceSnapshotBytes >= settings.snapshotBytes;
    this.snapshotRequested = false;
    if (!due || this.stateMachine.appliedIndex <= this.raft.snapshot().meta.index) {
      this.settleSnapshotWaiters();
      return;
    }
    const steps = this.stateMachine.snapshotInSteps?.();
    if (steps === undefined) {
      this.takeSnapshot(this.stateMachine.appliedIndex, this.stateMachine.snapshot(), this.snapshotWaiters.length);
      return;
    }
    assert(steps.offset === this.stateMachine.appliedIndex, `a snapshot in steps must start at the applied index ${this.stateMachine.appliedIndex}: current value is ${steps.offset}`);
    this.appliedSinceSnapshotCount = 0;
    this.appliedSinceSnapshotBytes = 0;
    this.encoding = { offset: steps.offset, waitersCount: this.snapshotWaiters.length };
    void this.encodeInSteps(steps);
  }

  /** Encodes a step per event-loop turn; the next `maybeSnapshot` compacts the log with the result. */
  private async encodeInSteps(steps: { readonly offset: number; step(): boolean; bytes(): Uint8Array }): Promise<void> {
    const encoding = this.encoding;
    assert(encoding !== undefined, "an encoding in progress");
    try {
      while (!steps.step()) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.stopped()) return;
      }
      this.encoded = { offset: encoding.offset, data: steps.bytes(), waitersCount: encoding.waitersCount };
    } catch (error) {
      this.fail(error);
      return;
    } finally {
      this.encoding = undefined;
    }
    this.snapshotWhenIdle();
  }

  /**
   * Compacts the core's log at `index` now, then saves the snapshot and compacts the disk's log beside
   * the Ready loop: the snapshot file's fsyncs do not hold up Readies (a leader's heartbeats among
   * them), and appends go on meanwhile. The first `waitersCount` snapshot waiters are answered once it
   * is durable. Until then the disk still holds every entry it covers, so a crash loses nothing.
   */
  private takeSnapshot(index: number, data: Uint8Array, waitersCount: number): void {
    const compacted = this.raft.compact(index, data);
    if (!compacted.ok) {
      this.log.warn({ index, code: compacted.error.code }, "snapshot refused");
      this.settleSnapshotWaiters(waitersCount);
      return;
    }
    if (index === this.stateMachine.appliedIndex) {
      this.appliedSinceSnapshotCount = 0;
      this.appliedSinceSnapshotBytes = 0;
    }
    const snapshot = this.raft.snapshot();
    const startedMs = performance.now();
    this.saving = this.storage
      .saveAppSnapshot(snapshot)
      .then(() => this.storage.compact(index))
      .then(
        () => {
          this.stateMachine.compacted?.(index);
          const savedMs = Math.round(performance.now() - startedMs);
          this.log.info({ index, term: snapshot.meta.term, bytes: snapshot.data.length, savedMs }, "snapshot taken, log compacted");
          this.settleSnapshotWaiters(waitersCount);
        },
        (error: unknown) => this.fail(error),
      )
      .finally(() => {
        this.saving = undefined;
        // What became due while this was saved is taken now rather than at the next Ready.
        this.snapshotWhenIdle();
      });
  }

  // ---------------------------------------------------------------- roles, reads and failures

  private observeRole(role: RoleKind): void {
    if (role === this.role) return;
    const wasLeader = this.role === "leader";
    this.role = role;
    if (role === "leader") this.log.info({ term: this.raft.status().term }, "became leader");
    if (wasLeader) this.leadershipLost();
    this.settleHandOverWaiters();
  }

  /**
   * A leader that steps down fails what it cannot finish: writes not yet known committed (a new
   * leader may still commit them, so the outcome is unknown) and reads it had not confirmed.
   * Writes already committed stay: they are applied in this or the next Ready.
   */
  private leadershipLost(): void {
    const commitIndex = this.raft.status().commitIndex;
    for (const [index, pending] of this.proposals) {
      if (index <= commitIndex) continue;
      this.proposals.delete(index);
      pending.reject(new ControllerError("LEADERSHIP_LOST", `Cannot complete the write at ${index} as this node stopped being leader`, { outcome: "unknown" }));
    }
    for (const [requestId, read] of this.reads) {
      if (read.readIndex !== undefined) continue;
      this.reads.delete(requestId);
      read.reject(new ControllerError("LEADERSHIP_LOST", "Cannot confirm the read as this node stopped being leader"));
    }
    for (const waiter of this.matchWaiters.splice(0)) {
      waiter.reject(new ControllerError("LEADERSHIP_LOST", `Cannot follow controller ${waiter.nodeId}'s progress as this node stopped being leader`));
    }
  }

  /** Settles match waiters whose member caught up or whose deadline passed; called on each message, Ready and tick. */
  private settleMatchWaiters(): void {
    if (this.matchWaiters.length === 0) return;
    const progress = this.raft.status().progress;
    for (const waiter of this.matchWaiters.splice(0)) {
      const matchIndex = progress.find((p) => p.id === waiter.nodeId)?.matchIndex ?? 0;
      if (matchIndex >= waiter.index) {
        waiter.resolve();
      } else if (this.tickCount >= waiter.deadlineTick) {
        waiter.reject(
          new ControllerError("LEARNER_NOT_CAUGHT_UP", `Cannot confirm that controller ${waiter.nodeId} caught up as its match index is ${matchIndex}, below ${waiter.index}, after ${waiter.timeoutMs} ms`),
        );
      } else {
        this.matchWaiters.push(waiter);
      }
    }
  }

  private confirmReads(readStates: readonly ReadState[]): void {
    for (const { requestId, readIndex } of readStates) {
      const read = this.reads.get(requestId);
      if (read !== undefined) read.readIndex = readIndex;
    }
  }

  private serveReads(): void {
    const applied = this.stateMachine.appliedIndex;
    for (const [requestId, read] of this.reads) {
      if (read.readIndex === undefined || read.readIndex > applied) continue;
      this.reads.delete(requestId);
      read.resolve(read.readIndex);
    }
  }

  private expireReads(): void {
    const timeoutTicks = readTimeoutElections * this.election.electionTimeoutTicks;
    for (const [requestId, read] of this.reads) {
      if (read.readIndex !== undefined || this.tickCount - read.startedTick < timeoutTicks) continue;
      this.reads.delete(requestId);
      read.reject(new ControllerError("READ_TIMEOUT", `Cannot confirm the read as no leader answered within ${timeoutTicks * this.election.tickIntervalMs} ms`));
    }
  }

  /** Why a request cannot start here now, if it cannot. */
  private refusal(action: "write" | "read" = "write"): ControllerError | undefined {
    if (this.failure !== undefined) return new ControllerError("STORAGE_FAILED", `Cannot serve as the disk failed: ${this.failure.message}`);
    if (this.stopping || !this.started) return new ControllerError("STOPPING", "Cannot serve as the node is not running");
    if (this.role === "leader") return undefined;
    return notLeaderError(this.raft.status().leaderId, action);
  }

  private bestTransferTarget(): NodeId | undefined {
    const status = this.raft.status();
    const candidates = status.progress.filter((p) => p.voter && p.id !== this.id && p.recentActive);
    candidates.sort((a, b) => b.matchIndex - a.matchIndex || a.id - b.id);
    return candidates[0]?.id;
  }

  /** Wakes hand-over waiters once this node is no longer leader, their deadline passed, or it stopped. */
  private settleHandOverWaiters(): void {
    const done = this.role !== "leader" || this.stopped();
    for (const waiter of this.handOverWaiters.splice(0)) {
      if (done || this.tickCount >= waiter.deadlineTick) waiter.resolve();
      else this.handOverWaiters.push(waiter);
    }
  }

  /** Answers the first `count` waiters (all by default) with the latest snapshot. */
  private settleSnapshotWaiters(count = this.snapshotWaiters.length): void {
    const snapshot = this.raft.snapshot();
    for (const waiter of this.snapshotWaiters.splice(0, count)) waiter.resolve(snapshot);
  }

  private failAll(error: ControllerError): void {
    for (const waiter of this.snapshotWaiters.splice(0)) waiter.reject(error);
    for (const waiter of this.matchWaiters.splice(0)) waiter.reject(error);
    for (const pending of this.proposals.values()) pending.reject(error);
    this.proposals.clear();
    for (const read of this.reads.values()) read.reject(error);
    this.reads.clear();
  }

  private fail(error: unknown): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    if (this.failure !== undefined) return;
    this.failure = failure;
    this.ticker.stop();
    this.log.error({ err: failure }, "the Ready loop failed; the node must restart");
    this.failAll(new ControllerError("STORAGE_FAILED", `Cannot complete the request as the disk failed: ${failure.message}`, { outcome: "unknown" }));
    this.settleHandOverWaiters();
    this.onFatal(failure);
  }
}
