import type { TopicPartition } from "../api/schemas.js";
import { assert } from "../shared/assert.js";
import { BrokerError } from "./brokerError.js";
import { Notifier } from "./notifier.js";
import type { Acks } from "./protocol.js";

/** One record as stored: key and value bytes, and the producer's (or the leader's) timestamp. */
export interface StoredRecord {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array;
  readonly timestampMs: number;
}

/** A batch as the leader appends it; the log assigns its offsets. */
export interface NewBatch {
  readonly leaderEpoch: number;
  /** -1 without an idempotent producer. */
  readonly producerId: number;
  readonly baseSequence: number;
  readonly appendTimeMs: number;
  readonly records: readonly StoredRecord[];
  /** `records` as a stored batch encodes them (storage/recordBatch.ts), when the request carried them so. */
  readonly encodedRecords?: Uint8Array | undefined;
}

/**
 * A batch as the leader appends it from a binary produce request: its records only as the stored batch
 * encodes them (storage/recordBatch.ts), checked whole by the request's decoder, and their count.
 */
export interface NewEncodedBatch extends Omit<NewBatch, "records" | "encodedRecords">, EncodedRecords {
  readonly records?: undefined;
}

/** Records as a binary produce request carries them: `recordsCount` records, encoded and checked. */
export interface EncodedRecords {
  readonly recordsCount: number;
  readonly encodedRecords: Uint8Array;
}

export interface ReadBatch extends NewBatch {
  readonly baseOffset: number;
}

export type SequenceCheck =
  | { readonly kind: "new" }
  | { readonly kind: "duplicate"; readonly baseOffset: number; readonly lastOffset: number }
  | { readonly kind: "outOfOrder"; readonly expectedSequence: number };

/**
 * What a replica needs from its partition log (partitionLog.ts). Offsets are record offsets; "end" is
 * the next offset to be written. `syncedEndOffset` ≤ `logEndOffset`: only what is below it is on disk.
 */
export interface ReplicaLog {
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly syncedEndOffset: number;
  /** Leader epoch of the last batch, -1 when the log is empty. */
  lastEpoch(): number;
  /** Checks an idempotent producer's sequence when the append runs: a retry gets the first offsets and `duplicate`. */
  append(batch: NewBatch | NewEncodedBatch): Promise<{ readonly baseOffset: number; readonly lastOffset: number; readonly duplicate: boolean }>;
  /** A follower's copy of the leader's bytes, starting exactly at `logEndOffset`. */
  appendEncoded(bytes: Uint8Array): Promise<void>;
  sync(): Promise<void>;
  readBatches(fromOffset: number, maxBytes: number, upToOffset: number): Promise<ReadBatch[]>;
  readEncoded(fromOffset: number, maxBytes: number, upToOffset: number): Promise<Uint8Array>;
  truncateTo(offset: number): Promise<void>;
  /** Kafka's OffsetsForLeaderEpoch: the largest epoch ≤ `epoch` this log holds, and where it ends. */
  endOffsetForEpoch(epoch: number): { readonly epoch: number; readonly endOffset: number };
  checkSequence(producerId: number, baseSequence: number, count: number): SequenceCheck;
}

export interface ReplicaDeps {
  readonly brokerId: number;
  /** Monotonic milliseconds: lag and timeouts. */
  readonly nowMs: () => number;
  /** Epoch milliseconds: the append time stamped on batches. */
  readonly wallClockMs: () => number;
  /** acks=all is refused while the ISR is smaller than this. */
  readonly minInsyncReplicas: number;
  /** A follower that has not caught up with the leader's log end for this long leaves the ISR. */
  readonly replicaLagMs: number;
  /** Proposes a new ISR to the quorum (compare-and-set on the partition epoch); the partition after it, or undefined if refused. */
  readonly alterIsr: (partition: TopicPartition, isr: readonly number[]) => Promise<TopicPartition | undefined>;
  readonly onError?: (error: unknown, what: string) => void;
}

interface FollowerState {
  fetchOffset: number;
  caughtUpAtMs: number;
  /** The leader's log end when this follower last fetched, and when: Kafka's lastCaughtUpTime rule. */
  leaderEndAtLastFetch: number;
  lastFetchAtMs: number;
}

type Role =
  | { readonly kind: "leader"; readonly leaderEpoch: number; readonly sinceMs: number; readonly epochStartOffset: number; readonly followers: Map<number, FollowerState> }
  | { readonly kind: "follower"; readonly leaderId: number };

/** A produce request's batch: its records decoded (the JSON form) or only encoded (the binary form). */
export type ProduceInput = ProduceSettings & ({ readonly records: readonly StoredRecord[] } | (EncodedRecords & { readonly records?: undefined }));

export interface ProduceSettings {
  readonly acks: Acks;
  readonly timeoutMs: number;
  readonly producerId: number;
  readonly baseSequence: number;
}

export interface ProduceOutcome {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly duplicate: boolean;
}

export interface ReplicaFetchInput {
  readonly replicaId: number;
  readonly partitionEpoch: number;
  readonly fetchOffset: number;
  readonly lastFetchedEpoch: number;
  readonly maxBytes: number;
  readonly maxWaitMs: number;
}

export type ReplicaFetchOutcome =
  | { readonly kind: "diverging"; readonly epoch: number; readonly endOffset: number; readonly highWatermark: number; readonly logStartOffset: number }
  | { readonly kind: "batches"; readonly bytes: Uint8Array; readonly highWatermark: number; readonly logStartOffset: number };

/**
 * One replica of one partition on this broker (DESIGN §8): the leader's side of produce, consumer
 * fetch and follower fetch, with the follower tracking, ISR changes and high watermark that go with
 * it; and the follower's side of applying what it fetched. The metadata decides the role
 * (`update`); nothing here talks to the network — the broker's fetcher and server call in.
 */
export class PartitionReplica {
  readonly topic: string;
  readonly partitionId: number;
  private partition: TopicPartition;
  private role: Role;
  private highWatermarkOffset = 0;
  /** Woken when the log end, the synced end or the high watermark moves, or the role changes. */
  private readonly changed = new Notifier();
  private appendChain: Promise<unknown> = Promise.resolve();
  private syncRunning = false;
  private syncWanted = false;
  private isrChangeInFlight = false;
  /**
   * Members of ISRs this leader has asked the quorum for, at partition epoch `epoch`, whose answer has not
   * settled them: pending, or failed with an unknown outcome (the change may still commit, since it names
   * that epoch). Until the partition moves past `epoch`, the high watermark counts them too (Kafka's
   * "maximal ISR", KIP-497): the quorum may commit such an ISR at any moment, and each of its members must
   * then already hold everything below the high watermark.
   */
  private uncertainIsr: { readonly epoch: number; readonly ids: Set<number> } | undefined;
  private stopped = false;

  constructor(
    partition: TopicPartition,
    readonly log: ReplicaLog,
    private readonly deps: ReplicaDeps,
  ) {
    this.topic = partition.topicName;
    this.partitionId = partition.partitionId;
    this.partition = partition;
    this.role = { kind: "follower", leaderId: -1 };
    this.update(partition, { continuous: false });
  }

  get highWatermark(): number {
    return this.highWatermarkOffset;
  }

  get metadata(): TopicPartition {
    return this.partition;
  }

  /**
   * Whether, as leader, its high watermark has reached the log end it had when it became leader: until
   * then entries its predecessors acknowledged may sit above the high watermark it knows (its followers
   * have not fetched from it yet). False on a follower.
   */
  caughtUpAsLeader(): boolean {
    return this.role.kind === "leader" && this.highWatermarkOffset >= this.role.epochStartOffset;
  }

  isLeader(): boolean {
    return this.role.kind === "leader";
  }

  leaderId(): number {
    return this.role.kind === "leader" ? this.deps.brokerId : this.role.leaderId;
  }

  /** The epoch this broker's fetches and appends carry: its leader epoch as leader. */
  leaderEpoch(): number {
    return this.role.kind === "leader" ? this.role.leaderEpoch : -1;
  }

  /**
   * New metadata for the partition. `continuous` says that no change was missed since the last call
   * (deltas applied in order, or an answer to this leader's own ISR change): a leader named again at
   * a higher partition epoch then keeps its leadership. Without it (a snapshot, the first call), a
   * changed epoch starts a new leadership, which is always safe: a new epoch only makes followers
   * check their logs against this one again.
   */
  update(partition: TopicPartition, options: { readonly continuous: boolean }): void {
    assert(partition.partitionId === this.partitionId, "a replica's metadata names its own partition");
    const previous = this.partition;
    this.partition = partition;
    const me = this.deps.brokerId;
    if (partition.leader !== me) {
      if (this.role.kind !== "follower" || this.role.leaderId !== partition.leader) this.becomeFollower(partition.leader);
      return;
    }
    const keepLeading = this.role.kind === "leader" && (options.continuous || previous.partitionEpoch === partition.partitionEpoch);
    if (!keepLeading) this.becomeLeader(partition.partitionEpoch);
    else this.maybeAdvanceHighWatermark();
  }

  stop(): void {
    this.stopped = true;
    this.changed.notify();
  }

  // ---------------------------------------------------------------- leader: produce

  async produce(input: ProduceInput): Promise<ProduceOutcome> {
    const role = this.leaderRole();
    const acksAll = input.acks === "all" || input.acks === -1;
    if (acksAll && this.partition.ISR.length < this.deps.minInsyncReplicas) {
      throw new BrokerError("NOT_ENOUGH_REPLICAS", `Cannot accept acks=all as the ISR has ${this.partition.ISR.length} replicas: minimum is ${this.deps.minInsyncReplicas}`, { isr: this.partition.ISR });
    }
    let outcome: ProduceOutcome;
    if (input.producerId >= 0) {
      const check = this.log.checkSequence(input.producerId, input.baseSequence, input.records === undefined ? input.recordsCount : input.records.length);
      if (check.kind === "outOfOrder") {
        throw new BrokerError("OUT_OF_ORDER_SEQUENCE", `Cannot append the batch as its sequence is ${input.baseSequence}: expected ${check.expectedSequence}`, { expectedSequence: check.expectedSequence });
      }
      outcome = check.kind === "duplicate" ? { baseOffset: check.baseOffset, lastOffset: check.lastOffset, duplicate: true } : await this.appendAsLeader(role, input);
    } else {
      outcome = await this.appendAsLeader(role, input);
    }
    if (input.acks === 0) return outcome;
    const target = outcome.lastOffset + 1;
    const reached = acksAll ? () => this.highWatermarkOffset >= target : () => this.log.syncedEndOffset >= target;
    const met = await this.waitUntil(reached, input.timeoutMs, () => this.role === role);
    if (met) return outcome;
    if (this.role !== role || this.stopped) {
      // Appended, perhaps replicated: the next leader may hold it, so the client must not take it as refused.
      throw new BrokerError("NOT_LEADER_FOR_PARTITION", `Cannot confirm the batch at ${outcome.baseOffset} as this broker stopped leading ${this.topic}-${this.partitionId}`, { ...this.leaderHint(), baseOffset: outcome.baseOffset, outcome: "unknown" });
    }
    throw new BrokerError("REQUEST_TIMED_OUT", `Cannot confirm the batch at ${outcome.baseOffset} as the in-sync replicas did not all have it within ${input.timeoutMs} ms`, { baseOffset: outcome.baseOffset });
  }

  private appendAsLeader(role: Extract<Role, { kind: "leader" }>, input: ProduceInput): Promise<ProduceOutcome> {
    // Appends are chained: offsets are assigned in call order, and a sequence check sees every earlier batch.
    const appended = this.appendChain.then(async () => {
      if (this.role !== role) throw new BrokerError("NOT_LEADER_FOR_PARTITION", `Cannot append to ${this.topic}-${this.partitionId} as this broker stopped leading it`, this.leaderHint());
      const fields = { leaderEpoch: role.leaderEpoch, producerId: input.producerId, baseSequence: input.baseSequence, appendTimeMs: this.deps.wallClockMs() };
      const batch: NewBatch | NewEncodedBatch =
        input.records === undefined ? { ...fields, recordsCount: input.recordsCount, encodedRecords: input.encodedRecords } : { ...fields, records: input.records };
      const appended = await this.log.append(batch);
      if (!appended.duplicate) {
        this.changed.notify();
        this.requestSync();
      }
      return appended;
    });
    this.appendChain = appended.catch(() => undefined);
    return appended;
  }

  /** Group commit: appends made while an fsync runs share the next one. */
  private requestSync(): void {
    this.syncWanted = true;
    if (this.syncRunning) return;
    this.syncRunning = true;
    void this.syncLoop();
  }

  private async syncLoop(): Promise<void> {
    try {
      while (this.syncWanted && !this.stopped) {
        this.syncWanted = false;
        await this.log.sync();
        this.maybeAdvanceHighWatermark();
        this.changed.notify();
      }
    } catch (error) {
      this.deps.onError?.(error, `syncing ${this.topic}-${this.partitionId}`);
    } finally {
      this.syncRunning = false;
    }
  }

  // ---------------------------------------------------------------- leader: follower fetch

  async replicaFetch(input: ReplicaFetchInput): Promise<ReplicaFetchOutcome> {
    const role = this.leaderRole();
    if (input.partitionEpoch > this.partition.partitionEpoch) {
      throw new BrokerError("FENCED_LEADER_EPOCH", `Cannot serve the fetch as the follower knows partition epoch ${input.partitionEpoch}: this leader knows ${this.partition.partitionEpoch}`, this.leaderHint());
    }
    if (!this.partition.replicas.includes(input.replicaId) || input.replicaId === this.deps.brokerId) {
      throw new BrokerError("UNKNOWN_TOPIC_OR_PARTITION", `Cannot serve broker ${input.replicaId} as it is not a replica of ${this.topic}-${this.partitionId}`);
    }
    const diverging = this.divergence(input);
    if (diverging !== undefined) return { kind: "diverging", ...diverging, highWatermark: this.highWatermarkOffset, logStartOffset: this.log.logStartOffset };
    this.recordFollowerFetch(role, input.replicaId, input.fetchOffset);
    let bytes = await this.log.readEncoded(input.fetchOffset, input.maxBytes, this.log.logEndOffset);
    if (bytes.length === 0 && input.maxWaitMs > 0) {
      await this.waitUntil(() => this.log.logEndOffset > input.fetchOffset, input.maxWaitMs, () => this.role === role);
      if (this.role === role) bytes = await this.log.readEncoded(input.fetchOffset, input.maxBytes, this.log.logEndOffset);
    }
    return { kind: "batches", bytes, highWatermark: this.highWatermarkOffset, logStartOffset: this.log.logStartOffset };
  }

  /** KIP-320: whether the follower's last epoch ends where it thinks in this log. */
  private divergence(input: ReplicaFetchInput): { epoch: number; endOffset: number } | undefined {
    if (input.fetchOffset === 0) return undefined;
    if (this.log.logEndOffset === 0) return { epoch: -1, endOffset: 0 };
    const found = this.log.endOffsetForEpoch(input.lastFetchedEpoch);
    if (found.epoch === input.lastFetchedEpoch && found.endOffset >= input.fetchOffset) return undefined;
    return found;
  }

  private recordFollowerFetch(role: Extract<Role, { kind: "leader" }>, replicaId: number, fetchOffset: number): void {
    const now = this.deps.nowMs();
    const leaderEnd = this.log.logEndOffset;
    const follower = role.followers.get(replicaId) ?? { fetchOffset: 0, caughtUpAtMs: role.sinceMs, leaderEndAtLastFetch: 0, lastFetchAtMs: now };
    if (fetchOffset >= leaderEnd) follower.caughtUpAtMs = now;
    else if (fetchOffset >= follower.leaderEndAtLastFetch) follower.caughtUpAtMs = Math.max(follower.caughtUpAtMs, follower.lastFetchAtMs);
    follower.fetchOffset = fetchOffset;
    follower.leaderEndAtLastFetch = leaderEnd;
    follower.lastFetchAtMs = now;
    role.followers.set(replicaId, follower);
    this.maybeAdvanceHighWatermark();
    const inIsr = this.partition.ISR.includes(replicaId);
    if (!inIsr && fetchOffset >= this.highWatermarkOffset && fetchOffset >= role.epochStartOffset) {
      this.proposeIsr(this.replicaOrder([...this.partition.ISR, replicaId]));
    }
  }

  /**
   * The high watermark: the lowest log end among the ISR the quorum holds and the one proposed to it,
   * this leader's own counted up to what it has synced. It never goes back while this broker leads.
   */
  private maybeAdvanceHighWatermark(): void {
    const role = this.role;
    if (role.kind !== "leader") return;
    let candidate = this.log.syncedEndOffset;
    const uncertain = this.uncertainIsr?.epoch === this.partition.partitionEpoch ? this.uncertainIsr.ids : [];
    for (const id of new Set([...this.partition.ISR, ...uncertain])) {
      if (id === this.deps.brokerId) continue;
      candidate = Math.min(candidate, role.followers.get(id)?.fetchOffset ?? 0);
    }
    if (candidate <= this.highWatermarkOffset) return;
    this.highWatermarkOffset = candidate;
    this.changed.notify();
  }

  /** Called on a timer: followers that stopped catching up leave the ISR (Kafka's replica.lag.time.max.ms). */
  checkIsr(): void {
    const role = this.role;
    if (role.kind !== "leader") return;
    const now = this.deps.nowMs();
    const lagging = this.partition.ISR.filter((id) => {
      if (id === this.deps.brokerId) return false;
      const caughtUpAtMs = role.followers.get(id)?.caughtUpAtMs ?? role.sinceMs;
      return now - caughtUpAtMs > this.deps.replicaLagMs;
    });
    if (lagging.length > 0) this.proposeIsr(this.partition.ISR.filter((id) => !lagging.includes(id)));
  }

  private proposeIsr(isr: readonly number[]): void {
    if (this.isrChangeInFlight || this.role.kind !== "leader") return;
    this.isrChangeInFlight = true;
    const asked = this.partition;
    const uncertain = this.uncertainIsr?.epoch === asked.partitionEpoch ? this.uncertainIsr.ids : new Set<number>();
    for (const id of isr) uncertain.add(id);
    this.uncertainIsr = { epoch: asked.partitionEpoch, ids: uncertain };
    this.deps
      .alterIsr(asked, isr)
      .then((changed) => {
        // Answered: either the change is in force at the next epoch, or the epoch had moved and it never will.
        if (this.uncertainIsr?.epoch === asked.partitionEpoch) this.uncertainIsr = undefined;
        // Our own change: leadership was continuous if the answer still names us at the next epoch.
        if (changed !== undefined && changed.partitionEpoch > this.partition.partitionEpoch) this.update(changed, { continuous: changed.leader === this.deps.brokerId && asked.partitionEpoch === this.partition.partitionEpoch });
      })
      // Not answered: the change may still commit, so its members stay counted until the epoch moves on.
      .catch((error: unknown) => this.deps.onError?.(error, `changing the ISR of ${this.topic}-${this.partitionId}`))
      .finally(() => {
        this.isrChangeInFlight = false;
      });
  }

  private replicaOrder(ids: readonly number[]): number[] {
    return this.partition.replicas.filter((id) => ids.includes(id));
  }

  // ---------------------------------------------------------------- consumers

  /**
   * Records from `offset` below the high watermark (leader or follower); waits up to `maxWaitMs` when
   * none are readable yet. An offset past the high watermark is out of range on the leader; on a
   * follower, which may lag, it waits.
   */
  async fetch(offset: number, maxBytes: number, maxWaitMs: number): Promise<ReadBatch[]> {
    if (!(await this.readableFrom(offset, maxWaitMs))) return [];
    return this.log.readBatches(offset, maxBytes, this.highWatermarkOffset);
  }

  /** As `fetch`, the batches as stored frames, back to back. */
  async fetchEncoded(offset: number, maxBytes: number, maxWaitMs: number): Promise<Uint8Array> {
    if (!(await this.readableFrom(offset, maxWaitMs))) return new Uint8Array(0);
    return this.log.readEncoded(offset, maxBytes, this.highWatermarkOffset);
  }

  /** Whether records from `offset` are readable, after waiting up to `maxWaitMs` for them; throws when they never can be here. */
  private async readableFrom(offset: number, maxWaitMs: number): Promise<boolean> {
    if (this.role.kind === "follower" && !this.partition.ISR.includes(this.deps.brokerId)) {
      throw new BrokerError("NOT_LEADER_FOR_PARTITION", `Cannot serve ${this.topic}-${this.partitionId} as this replica is not in sync`, this.leaderHint());
    }
    // Past the high watermark but not the log end is in range (Kafka's rule): a leader just elected may not
    // yet have heard its high watermark reach what its predecessor handed out, and the consumer waits
    // for it rather than being sent back to a lower offset.
    if (offset < this.log.logStartOffset || (this.role.kind === "leader" && offset > this.log.logEndOffset)) {
      throw new BrokerError("OFFSET_OUT_OF_RANGE", `Cannot fetch ${this.topic}-${this.partitionId} from ${offset}: offsets are ${this.log.logStartOffset} to ${this.log.logEndOffset}, readable up to the high watermark ${this.highWatermarkOffset}`, { logStartOffset: this.log.logStartOffset, highWatermark: this.highWatermarkOffset });
    }
    if (offset >= this.highWatermarkOffset && maxWaitMs > 0) await this.waitUntil(() => this.highWatermarkOffset > offset, maxWaitMs, () => true);
    return offset < this.highWatermarkOffset;
  }

  // ---------------------------------------------------------------- follower

  /** What the follower sends its leader next. */
  fetchRequestFields(): { partitionEpoch: number; fetchOffset: number; lastFetchedEpoch: number } {
    return { partitionEpoch: this.partition.partitionEpoch, fetchOffset: this.log.logEndOffset, lastFetchedEpoch: this.log.lastEpoch() };
  }

  /** Applies the leader's answer: appends (and syncs, so the next fetch offset is durable) or truncates. */
  async applyFetched(outcome: ReplicaFetchOutcome, leaderId: number): Promise<void> {
    if (this.role.kind !== "follower" || this.role.leaderId !== leaderId) return;
    if (outcome.kind === "diverging") {
      // The leader's epoch may differ from ours: cut at the end of the largest epoch both logs hold (Kafka's rule).
      // Where our log holds the leader's epoch, both agree up to the smaller end; where it does not, up
      // to the end of our largest epoch below it.
      const own = outcome.epoch < 0 ? { endOffset: 0 } : this.log.endOffsetForEpoch(outcome.epoch);
      await this.log.truncateTo(Math.min(outcome.endOffset, own.endOffset, this.log.logEndOffset));
      this.highWatermarkOffset = Math.min(this.highWatermarkOffset, this.log.logEndOffset);
    } else if (outcome.bytes.length > 0) {
      await this.log.appendEncoded(outcome.bytes);
      await this.log.sync();
    }
    const highWatermark = Math.min(outcome.highWatermark, this.log.logEndOffset);
    if (highWatermark > this.highWatermarkOffset) this.highWatermarkOffset = highWatermark;
    this.changed.notify();
  }

  // ---------------------------------------------------------------- roles

  private becomeLeader(partitionEpoch: number): void {
    const now = this.deps.nowMs();
    this.role = { kind: "leader", leaderEpoch: partitionEpoch, sinceMs: now, epochStartOffset: this.log.logEndOffset, followers: new Map() };
    this.highWatermarkOffset = Math.min(this.highWatermarkOffset, this.log.logEndOffset);
    this.maybeAdvanceHighWatermark();
    this.changed.notify();
  }

  private becomeFollower(leaderId: number): void {
    this.role = { kind: "follower", leaderId };
    this.changed.notify();
  }

  private leaderRole(): Extract<Role, { kind: "leader" }> {
    if (this.stopped) throw new BrokerError("NOT_LEADER_FOR_PARTITION", `Cannot serve ${this.topic}-${this.partitionId} as its replica here is stopping`);
    const role = this.role;
    if (role.kind === "leader") return role;
    if (role.leaderId < 0) throw new BrokerError("LEADER_NOT_AVAILABLE", `Cannot serve ${this.topic}-${this.partitionId} as it has no leader now`);
    throw new BrokerError("NOT_LEADER_FOR_PARTITION", `Cannot serve ${this.topic}-${this.partitionId} as this broker is not its leader: current leader is ${role.leaderId}`, this.leaderHint());
  }

  private leaderHint(): { leaderId?: number } {
    const leaderId = this.leaderId();
    return leaderId >= 0 ? { leaderId } : {};
  }

  /** Resolves true once `condition` holds, false after `timeoutMs` or once `stillValid` fails. */
  private async waitUntil(condition: () => boolean, timeoutMs: number, stillValid: () => boolean): Promise<boolean> {
    const deadlineMs = this.deps.nowMs() + timeoutMs;
    for (;;) {
      if (condition()) return true;
      if (this.stopped || !stillValid()) return false;
      const leftMs = deadlineMs - this.deps.nowMs();
      if (leftMs <= 0) return false;
      await this.changed.wait(leftMs);
    }
  }
}
