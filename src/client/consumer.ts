import { fetchBytesMax as protocolFetchBytesMax, fetchWaitMsMax } from "../broker/protocol.js";
import { batchesContentType, decodeBatchesAnswer } from "../broker/binaryProtocol.js";
import { decodeBatchFrames } from "../broker/storage/recordBatch.js";
import type { RecordBatch } from "../broker/storage/recordBatch.js";
import { judgeBrokerAnswer, judgeBrokerFailure } from "./brokerPolicy.js";
import type { BrokerVerdict } from "./brokerPolicy.js";
import { AdminError } from "./adminError.js";
import { ClientError } from "./clientError.js";
import { sleepOn } from "./clock.js";
import { DataPlaneConnection, isRecord, positive, query, replyError } from "./dataPlane.js";
import type { DataPlaneOptions } from "./dataPlane.js";

export interface ConsumerRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string;
  readonly timestampMs: number;
}

export interface ConsumerOptions extends DataPlaneOptions {
  readonly topic: string;
  /** Joins this consumer group: consumes the partitions its coordinator assigns, and commits offsets. */
  readonly group?: string;
  /** Partitions without a committed offset start at the log start; else at the end (what is produced from now on). */
  readonly fromBeginning?: boolean;
  /** Without a group: only these partitions (default: all of the topic's). */
  readonly partitions?: readonly number[];
  /** Hands out at most this many records in all, then polls answer nothing. */
  readonly maxMessages?: number;
  /** A fetch waits up to this long at the broker for records when none are there (long-poll). */
  readonly maxWaitMs?: number;
  /** Bytes one fetch asks for at most. */
  readonly fetchBytesMax?: number;
  /** Fetched records held for `poll`; no partition fetches more while this many are held. */
  readonly bufferedRecordsMax?: number;
  /** Records one `poll` returns at most. */
  readonly pollRecordsMax?: number;
  /** With a group: commits what the application has processed this often; `false` only on `commit()` and `close()`. */
  readonly autoCommitIntervalMs?: number | false;
  /** With a group: default a third of the session timeout the coordinator answers with. */
  readonly heartbeatIntervalMs?: number;
  /** Failures in the background (heartbeats, auto-commits, the final commit on close), which are retried or harmless. */
  readonly onError?: (error: ClientError) => void;
  /** Called with the partitions consumed from now on: at the start, and with each generation of the group. */
  readonly onAssignment?: (partitions: readonly number[], membership: GroupMembership | undefined) => void;
  /** With a group: called as each commit request settles (explicit, automatic or on close); `error` is undefined when the coordinator took it. */
  readonly onCommit?: (commit: OffsetCommit) => void;
}

/** One commit request of a group member, as `onCommit` sees it settle. */
export interface OffsetCommit {
  readonly memberId: string;
  readonly generation: number;
  readonly offsets: readonly { readonly partition: number; readonly offset: number }[];
  /**
   * Undefined when committed; ILLEGAL_GENERATION or UNKNOWN_MEMBER when refused as the group moved on
   * (`details.outcome` is `unknown` when an earlier attempt of the same request got no answer and may
   * have been taken, else `not_applied`); else the request's last error (it may have been applied).
   */
  readonly error: ClientError | undefined;
}

export const consumerDefaults = {
  maxWaitMs: 500,
  fetchBytesMax: 1024 * 1024,
  bufferedRecordsMax: 10_000,
  /** Kafka's max.poll.records. */
  pollRecordsMax: 500,
  /** Kafka's auto.commit.interval.ms is 5 s; 1 s re-delivers less after a crash. */
  autoCommitIntervalMs: 1_000,
} as const;

/** Attempts of one group request (each a connection or an answer; NOT_COORDINATOR redirects count). */
const groupAttemptsMax = { join: Number.POSITIVE_INFINITY, heartbeat: 3, commit: 5, leave: 2, offsets: 10 } as const;
/** Redirects to a leader a broker named, in a row, before backing off and asking the controllers. */
const redirectsInRowMax = 1;
/** Joins in a row answered UNKNOWN_MEMBER before the consumer gives up on that coordinator's answer. */
const joinRetriesMax = 3;
/** Records handed out before a partition's buffer is compacted (once they are also half of it). */
const compactAfterRecordsCount = 1_024;

export interface GroupMembership {
  readonly memberId: string;
  readonly generation: number;
  readonly partitions: readonly number[];
  readonly sessionTimeoutMs: number;
}

interface PartitionFetch {
  readonly partition: number;
  /** The next offset to fetch; undefined until the start offset is known. */
  fetchOffset: number | undefined;
  /** After the last record handed out: what `commit()` and `close()` commit. */
  delivered: number | undefined;
  /** After the last record the application came back from: what auto-commit commits. */
  processed: number | undefined;
  committed: number | undefined;
  /** Fetched, not yet handed out, from `head` on. */
  records: ConsumerRecord[];
  head: number;
  readonly stop: AbortController;
  leaderHint: string | undefined;
}

/**
 * A group request's end: answered, or refused as the group moved on. `earlierMayHaveApplied`: an earlier
 * attempt of the same request got no answer after it may have been served (a commit of it may be in).
 */
type GroupOutcome =
  | { readonly kind: "ok"; readonly body: Readonly<Record<string, unknown>> }
  | { readonly kind: "rejoin"; readonly code: "ILLEGAL_GENERATION" | "UNKNOWN_MEMBER"; readonly earlierMayHaveApplied: boolean };

/**
 * Reads one topic (SPEC §5, docs/DATA_PLANE.md): from each of its partitions' leaders, concurrently,
 * one long-polling fetch per partition at a time, following leader changes as the producer does.
 *
 * Start: a partition starts at the group's committed offset, else at the log start (`fromBeginning`)
 * or at the high watermark when the consumer starts (`GET /v1/offsets?at=latest`).
 *
 * Groups: the consumer joins through any broker, following NOT_COORDINATOR to the coordinator;
 * heartbeats well within the session timeout; consumes the partitions of its assignment and adopts a
 * new one as heartbeats announce it; re-joins on ILLEGAL_GENERATION or UNKNOWN_MEMBER, giving up its
 * partitions as Kafka loses them (each assigned again restarts from the committed offset), and gives
 * them up too when a heartbeat announces a generation past the next one. It commits
 * (memberId + generation) what was handed out on `commit()` and `close()` (then leaves), and what the
 * application came back from every `autoCommitIntervalMs`: records from a `poll` count as processed
 * at the next `poll`, as in Kafka, so a crash re-delivers rather than skips.
 */
export class Consumer {
  readonly topic: string;
  readonly group: string | undefined;
  private readonly conn: DataPlaneConnection;
  private readonly fromBeginning: boolean;
  private readonly partitionsWanted: readonly number[] | undefined;
  private readonly maxMessages: number;
  private readonly maxWaitMs: number;
  private readonly fetchBytesMax: number;
  private readonly bufferedRecordsMax: number;
  private readonly pollRecordsMax: number;
  private readonly autoCommitIntervalMs: number | false;
  private readonly heartbeatIntervalMsOption: number | undefined;
  private readonly onError: ((error: ClientError) => void) | undefined;
  private readonly onAssignment: ((partitions: readonly number[], membership: GroupMembership | undefined) => void) | undefined;
  private readonly onCommit: ((commit: OffsetCommit) => void) | undefined;
  private readonly assigned = new Map<number, PartitionFetch>();
  private readonly running = new Set<Promise<void>>();
  private started: Promise<void> | undefined;
  private membership: GroupMembership | undefined;
  private rejoinReason: "ILLEGAL_GENERATION" | "UNKNOWN_MEMBER" | undefined;
  private coordinatorUrl: string | undefined;
  /** Aborted to wake the group loop early (a re-join is needed, or the consumer closes); then replaced. */
  private groupWake = new AbortController();
  private bufferedCount = 0;
  private deliveredCount = 0;
  private pollTurn = 0;
  private brokerTurn = 0;
  private failure: ClientError | undefined;
  /** Set first thing in `close()`, before any abort listener runs. */
  private isClosing = false;
  private closing: Promise<void> | undefined;
  private readonly recordWaiters = new Set<() => void>();
  private readonly roomWaiters = new Set<() => void>();
  /** For the commit and leave of `close()`, which go out after every other request was cut short. */
  private readonly finalSignal = new AbortController().signal;

  constructor(options: ConsumerOptions) {
    if (options.group !== undefined && options.partitions !== undefined) throw new RangeError("Cannot create a consumer as partitions are chosen by the group's coordinator: give a group or partitions, not both");
    this.conn = new DataPlaneConnection(options, "consumer");
    this.topic = options.topic;
    this.group = options.group;
    this.fromBeginning = options.fromBeginning ?? false;
    this.partitionsWanted = options.partitions;
    this.maxMessages = options.maxMessages === undefined ? Number.POSITIVE_INFINITY : positive(options.maxMessages, "maxMessages", "consumer");
    this.maxWaitMs = Math.min(positive(options.maxWaitMs ?? consumerDefaults.maxWaitMs, "maxWaitMs", "consumer"), fetchWaitMsMax);
    this.fetchBytesMax = Math.min(positive(options.fetchBytesMax ?? consumerDefaults.fetchBytesMax, "fetchBytesMax", "consumer"), protocolFetchBytesMax);
    this.bufferedRecordsMax = positive(options.bufferedRecordsMax ?? consumerDefaults.bufferedRecordsMax, "bufferedRecordsMax", "consumer");
    this.pollRecordsMax = positive(options.pollRecordsMax ?? consumerDefaults.pollRecordsMax, "pollRecordsMax", "consumer");
    const autoCommit = options.autoCommitIntervalMs ?? consumerDefaults.autoCommitIntervalMs;
    this.autoCommitIntervalMs = autoCommit === false ? false : positive(autoCommit, "autoCommitIntervalMs", "consumer");
    this.heartbeatIntervalMsOption = options.heartbeatIntervalMs === undefined ? undefined : positive(options.heartbeatIntervalMs, "heartbeatIntervalMs", "consumer");
    this.onError = options.onError;
    this.onAssignment = options.onAssignment;
    this.onCommit = options.onCommit;
  }

  /** The partitions consumed now, in order. */
  assignment(): number[] {
    return [...this.assigned.keys()].sort((a, b) => a - b);
  }

  /** The group membership, once joined. */
  member(): GroupMembership | undefined {
    return this.membership;
  }

  /**
   * The next records, up to `recordsCountMax` (default `pollRecordsMax`), each partition's in order;
   * waits up to `timeoutMs` (default `maxWaitMs`) when none are fetched yet, and answers [] then, after
   * `maxMessages`, and once closed. Starts the consumer on its first call; throws the error that
   * stopped it (a topic that does not exist, a final broker error).
   */
  async poll(options: { readonly timeoutMs?: number; readonly recordsCountMax?: number; readonly signal?: AbortSignal } = {}): Promise<ConsumerRecord[]> {
    this.markProcessed();
    await this.start();
    if (this.isClosing) return [];
    this.throwIfFailed();
    if (this.remainingCount() === 0) return [];
    const timeoutMs = options.timeoutMs ?? this.maxWaitMs;
    if (this.bufferedCount === 0 && timeoutMs > 0) await this.recordsOrTimeout(timeoutMs, options.signal);
    if (this.isClosing) return [];
    this.throwIfFailed();
    return this.take(Math.min(options.recordsCountMax ?? this.pollRecordsMax, this.remainingCount()));
  }

  /** The records one at a time until `maxMessages`, `close()` or `signal`. */
  async *records(signal?: AbortSignal): AsyncGenerator<ConsumerRecord, void, undefined> {
    while (!this.isClosing && signal?.aborted !== true && this.remainingCount() > 0) {
      const [record] = await this.poll({ recordsCountMax: 1, ...(signal === undefined ? {} : { signal }) });
      if (record !== undefined) yield record;
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<ConsumerRecord, void, undefined> {
    return this.records();
  }

  /** True once `maxMessages` records were handed out. */
  get done(): boolean {
    return this.remainingCount() === 0;
  }

  /**
   * Commits, for the group, the offset after the last record handed out of each assigned partition.
   * Fails with ILLEGAL_GENERATION or UNKNOWN_MEMBER when the group moved on (the consumer then joins
   * again). Without a group there is nothing to commit.
   */
  async commit(): Promise<void> {
    if (this.group === undefined || this.started === undefined) return;
    await this.started;
    await this.commitPositions("delivered");
  }

  /** Stops fetching; with a group, commits what was handed out and leaves it. Then closes the connections. */
  close(): Promise<void> {
    if (this.closing === undefined) {
      this.isClosing = true;
      this.closing = this.shutDown();
    }
    return this.closing;
  }

  // ------------------------------------------------------------ starting

  private start(): Promise<void> {
    this.started ??= this.begin().catch((error: unknown) => this.fail(error));
    return this.started;
  }

  private async begin(): Promise<void> {
    const topic = await this.conn.metadata.topic(this.topic);
    if (this.group === undefined) {
      const partitionIds = topic.partitions.map((p) => p.partition);
      if (partitionIds.length === 0) throw new ClientError("NO_PARTITIONS", 0, `Cannot consume topic ${this.topic} as it has no partitions`, { topic: this.topic });
      const unknown = (this.partitionsWanted ?? []).filter((p) => !partitionIds.includes(p));
      if (unknown.length > 0) throw new ClientError("UNKNOWN_PARTITION", 0, `Cannot consume partition ${unknown.join(",")} of topic ${this.topic} as it has partitions ${partitionIds.join(",")}`, { topic: this.topic });
      this.assign(this.partitionsWanted ?? partitionIds, new Map());
      return;
    }
    await this.joinGroup();
    this.track(this.runGroupLoop());
    if (this.autoCommitIntervalMs !== false) this.track(this.runAutoCommit(this.autoCommitIntervalMs));
  }

  /** Consumes exactly `partitions` from now on: stops the others, starts the new ones at `committed` (or their start). */
  private assign(partitions: readonly number[], committed: ReadonlyMap<number, number>): void {
    // An answer that lands after close() began starts nothing that close() would have to wait for.
    if (this.isClosing) return;
    const wanted = new Set(partitions);
    for (const [partition, state] of this.assigned) {
      if (wanted.has(partition)) continue;
      state.stop.abort();
      this.bufferedCount -= state.records.length - state.head;
      this.assigned.delete(partition);
    }
    for (const partition of [...wanted].sort((a, b) => a - b)) {
      if (this.assigned.has(partition)) continue;
      const offset = committed.get(partition);
      const state: PartitionFetch = { partition, fetchOffset: offset, delivered: offset, processed: offset, committed: offset, records: [], head: 0, stop: new AbortController(), leaderHint: undefined };
      this.assigned.set(partition, state);
      this.track(this.runPartition(state));
    }
    this.wake(this.roomWaiters);
    this.onAssignment?.(this.assignment(), this.membership);
  }

  // ------------------------------------------------------------ fetching

  /** Finds the partition's start offset if needed, then fetches until stopped; a final error stops the consumer. */
  private async runPartition(state: PartitionFetch): Promise<void> {
    let retriesCount = 0;
    let redirectsInRowCount = 0;
    const { signal } = state.stop;
    while (!signal.aborted) {
      if (this.bufferedCount >= this.bufferedRecordsMax) {
        await this.room(signal);
        continue;
      }
      const url = state.leaderHint ?? this.conn.metadata.leaderUrl(this.topic, state.partition);
      state.leaderHint = undefined;
      if (url === undefined) {
        await this.conn.refreshMetadata();
        await this.conn.backOff(++retriesCount, undefined, Number.POSITIVE_INFINITY, signal);
        continue;
      }
      const starting = state.fetchOffset === undefined;
      const reply = await this.conn.send({ method: "GET", url, path: this.partitionPath(state), timeoutMs: this.conn.requestTimeoutMs + (starting ? 0 : this.maxWaitMs), ...(starting ? {} : { accept: batchesContentType }) }, signal);
      if (signal.aborted) return;
      const verdict: BrokerVerdict = reply.kind === "answer" ? judgeBrokerAnswer(reply.status, reply.body, reply.retryAfterMs) : judgeBrokerFailure(reply.failure);
      const accepted = verdict.kind === "done" && reply.kind === "answer" && (Buffer.isBuffer(reply.body) ? this.acceptBatches(state, reply.body) : isRecord(reply.body) && this.accept(state, reply.body));
      if (accepted) {
        retriesCount = 0;
        redirectsInRowCount = 0;
        continue;
      }
      const error = replyError(reply, retriesCount + 1);
      if (error.code === "OFFSET_OUT_OF_RANGE" && this.resetOutOfRange(state, error)) {
        await this.conn.backOff(++retriesCount, undefined, Number.POSITIVE_INFINITY, signal);
        continue;
      }
      if (verdict.kind !== "retry") {
        this.fail(error);
        return;
      }
      if (verdict.leaderUrl !== undefined && verdict.leaderUrl !== url && redirectsInRowCount < redirectsInRowMax) {
        redirectsInRowCount++;
        state.leaderHint = verdict.leaderUrl;
        void this.conn.refreshMetadata();
        continue;
      }
      redirectsInRowCount = 0;
      if (verdict.refresh) await this.conn.refreshMetadata();
      await this.conn.backOff(++retriesCount, verdict.retryAfterMs, Number.POSITIVE_INFINITY, signal);
    }
  }

  private partitionPath(state: PartitionFetch): string {
    if (state.fetchOffset === undefined) return `/v1/offsets${query({ topic: this.topic, partition: state.partition, at: this.fromBeginning ? "earliest" : "latest" })}`;
    return `/v1/fetch${query({ topic: this.topic, partition: state.partition, offset: state.fetchOffset, maxBytes: this.fetchBytesMax, maxWaitMs: this.maxWaitMs })}`;
  }

  /** Takes an offsets or fetch answer; false when it is not the contract's shape. */
  private accept(state: PartitionFetch, body: Readonly<Record<string, unknown>>): boolean {
    if (state.fetchOffset === undefined) {
      const offset = body["offset"];
      if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) return false;
      state.fetchOffset = offset;
      state.delivered = offset;
      state.processed = offset;
      return true;
    }
    const records = body["records"];
    const nextOffset = body["nextOffset"];
    if (!Array.isArray(records) || typeof nextOffset !== "number") return false;
    let addedCount = 0;
    for (const record of records as unknown[]) {
      if (!isRecord(record) || typeof record["offset"] !== "number" || record["offset"] < state.fetchOffset || typeof record["value"] !== "string") continue;
      const key = typeof record["key"] === "string" ? record["key"] : null;
      const timestampMs = typeof record["timestampMs"] === "number" ? record["timestampMs"] : 0;
      state.records.push({ topic: this.topic, partition: state.partition, offset: record["offset"], key, value: record["value"], timestampMs });
      addedCount++;
    }
    const last = state.records[state.records.length - 1];
    state.fetchOffset = Math.max(state.fetchOffset, nextOffset, addedCount > 0 && last !== undefined ? last.offset + 1 : 0);
    this.bufferedCount += addedCount;
    if (addedCount > 0) this.wake(this.recordWaiters);
    return true;
  }

  /**
   * Takes a fetch answer in the binary form: the broker's stored frames, each checked by its CRC and
   * decoded; records before the fetch offset (the first batch may begin before it) are skipped. False when
   * the answer does not read.
   */
  private acceptBatches(state: PartitionFetch, body: Buffer): boolean {
    const fetchOffset = state.fetchOffset;
    if (fetchOffset === undefined) return false;
    const decoded = decodeBatchesAnswer(body);
    if (!decoded.ok) return false;
    let batches: RecordBatch[];
    try {
      batches = decodeBatchFrames(decoded.value.frames);
    } catch {
      return false;
    }
    let addedCount = 0;
    let nextOffset = fetchOffset;
    for (const batch of batches) {
      batch.records.forEach((record, i) => {
        const offset = batch.baseOffset + i;
        if (offset < fetchOffset) return;
        state.records.push({ topic: this.topic, partition: state.partition, offset, key: record.key === null ? null : utf8(record.key), value: utf8(record.value), timestampMs: record.timestampMs });
        addedCount++;
        nextOffset = offset + 1;
      });
    }
    state.fetchOffset = nextOffset;
    this.bufferedCount += addedCount;
    if (addedCount > 0) this.wake(this.recordWaiters);
    return true;
  }

  /** Below the log start (retention removed it): go to the log start; above the high watermark: to it. */
  private resetOutOfRange(state: PartitionFetch, error: ClientError): boolean {
    const { logStartOffset, highWatermark } = error.details;
    if (typeof logStartOffset !== "number" || typeof highWatermark !== "number" || state.fetchOffset === undefined) return false;
    const offset = state.fetchOffset < logStartOffset ? logStartOffset : highWatermark;
    state.fetchOffset = offset;
    state.delivered = offset;
    state.processed = offset;
    return true;
  }

  // ------------------------------------------------------------ handing out records

  private take(countMax: number): ConsumerRecord[] {
    const taken: ConsumerRecord[] = [];
    const states = [...this.assigned.values()];
    // Start at another partition each time, so that a busy one does not starve the others.
    for (let i = 0; i < states.length && taken.length < countMax; i++) {
      const state = states[(this.pollTurn + i) % states.length] as PartitionFetch;
      while (state.head < state.records.length && taken.length < countMax) {
        const record = state.records[state.head++] as ConsumerRecord;
        taken.push(record);
        state.delivered = record.offset + 1;
      }
      if (state.head === state.records.length || (state.head >= compactAfterRecordsCount && state.head * 2 >= state.records.length)) {
        state.records = state.records.slice(state.head);
        state.head = 0;
      }
    }
    this.pollTurn++;
    this.bufferedCount -= taken.length;
    this.deliveredCount += taken.length;
    if (taken.length > 0) this.wake(this.roomWaiters);
    return taken;
  }

  private markProcessed(): void {
    for (const state of this.assigned.values()) state.processed = state.delivered;
  }

  private remainingCount(): number {
    return this.maxMessages - this.deliveredCount;
  }

  private recordsOrTimeout(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        cancel();
        this.recordWaiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const cancel = this.conn.clock.setTimer(done, timeoutMs);
      this.recordWaiters.add(done);
      if (signal?.aborted === true) done();
      else signal?.addEventListener("abort", done, { once: true });
    });
  }

  private room(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.roomWaiters.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.roomWaiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  private wake(waiters: Set<() => void>): void {
    for (const waiter of [...waiters]) waiter();
  }

  // ------------------------------------------------------------ the group

  private async joinGroup(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const memberId = this.rejoinReason === "UNKNOWN_MEMBER" ? undefined : this.membership?.memberId;
      const outcome = await this.groupRequest("join", { topic: this.topic, ...(memberId === undefined ? {} : { memberId }) });
      if (outcome.kind === "rejoin") {
        if (attempt >= joinRetriesMax) throw new ClientError(outcome.code, 409, `Cannot join group ${this.group} as its coordinator keeps answering ${outcome.code}`);
        this.rejoinReason = "UNKNOWN_MEMBER";
        continue;
      }
      const member = memberOf(outcome.body);
      if (member === undefined) throw new ClientError("BAD_RESPONSE", 200, `Cannot join group ${this.group} as the coordinator's answer has no memberId, generation and partitions`, { body: outcome.body });
      this.rejoinReason = undefined;
      this.membership = member;
      await this.adopt(member);
      return;
    }
  }

  /** Consumes the member's partitions, the new ones from the group's committed offsets. */
  private async adopt(member: GroupMembership): Promise<void> {
    const added = member.partitions.filter((p) => !this.assigned.has(p));
    const committed = added.length === 0 ? new Map<number, number>() : await this.committedOffsets();
    if (this.membership !== member) return;
    this.assign(member.partitions, committed);
  }

  private async committedOffsets(): Promise<Map<number, number>> {
    const outcome = await this.groupRequest("offsets", undefined);
    const offsets = outcome.kind === "ok" ? outcome.body["offsets"] : undefined;
    const committed = new Map<number, number>();
    if (!Array.isArray(offsets)) return committed;
    for (const entry of offsets as unknown[]) {
      if (isRecord(entry) && typeof entry["partition"] === "number" && typeof entry["offset"] === "number") committed.set(entry["partition"], entry["offset"]);
    }
    return committed;
  }

  /** Heartbeats every interval; re-joins when told to. Ends on close. */
  private async runGroupLoop(): Promise<void> {
    let failuresCount = 0;
    while (!this.isClosing) {
      if (this.rejoinReason === undefined) await sleepOn(this.conn.clock, this.heartbeatIntervalMs(), this.groupWake.signal);
      else if (failuresCount > 0) await this.conn.backOff(failuresCount, undefined, Number.POSITIVE_INFINITY, this.groupWake.signal);
      // A wake is used up here; one that comes while the request below runs wakes the next wait.
      if (this.groupWake.signal.aborted) this.groupWake = new AbortController();
      if (this.isClosing) return;
      try {
        if (this.rejoinReason !== undefined) await this.joinGroup();
        else await this.heartbeat();
        failuresCount = 0;
      } catch (error) {
        if (this.isClosing) return;
        failuresCount++;
        this.report(error);
      }
    }
  }

  private async heartbeat(): Promise<void> {
    const membership = this.membership;
    if (membership === undefined) return;
    const outcome = await this.groupRequest("heartbeat", { memberId: membership.memberId, generation: membership.generation });
    if (outcome.kind === "rejoin") {
      this.rejoinReason = outcome.code;
      this.releaseAll();
      return;
    }
    // A heartbeat answers the member's current generation and partitions; a new one replaces the old.
    const member = memberOf(outcome.body);
    if (member === undefined || this.membership !== membership) return;
    if (member.generation === membership.generation && samePartitions(member.partitions, membership.partitions)) return;
    // Generations this member never saw may have given its partitions to others, who moved their committed offsets on.
    if (member.generation !== membership.generation + 1) this.releaseAll();
    this.membership = member;
    await this.adopt(member);
  }

  private heartbeatIntervalMs(): number {
    return this.heartbeatIntervalMsOption ?? Math.max(1, Math.floor((this.membership?.sessionTimeoutMs ?? 3_000) / 3));
  }

  private async runAutoCommit(intervalMs: number): Promise<void> {
    while (!this.isClosing) {
      await sleepOn(this.conn.clock, intervalMs, this.conn.signal);
      if (this.isClosing) return;
      await this.commitPositions("processed").catch((error: unknown) => this.report(error));
    }
  }

  private async commitPositions(which: "delivered" | "processed"): Promise<void> {
    const membership = this.membership;
    if (membership === undefined) return;
    const offsets: { partition: number; offset: number }[] = [];
    for (const state of this.assigned.values()) {
      const offset = state[which];
      if (offset !== undefined && offset !== state.committed) offsets.push({ partition: state.partition, offset });
    }
    if (offsets.length === 0) return;
    const settled = (error: ClientError | undefined): void => this.onCommit?.({ memberId: membership.memberId, generation: membership.generation, offsets, error });
    let outcome: GroupOutcome;
    try {
      outcome = await this.groupRequest("commit", { topic: this.topic, offsets, memberId: membership.memberId, generation: membership.generation });
    } catch (error) {
      if (error instanceof ClientError || error instanceof AdminError) settled(ClientError.of(error));
      throw error;
    }
    if (outcome.kind === "rejoin") {
      this.requestRejoin(outcome.code);
      // The coordinator checks the generation before it appends, so this attempt took nothing; an earlier
      // one that got no answer may have been taken.
      const applied = outcome.earlierMayHaveApplied ? "unknown" : "not_applied";
      const error = new ClientError(outcome.code, 409, `Cannot commit the offsets of group ${this.group} as the group moved on from generation ${membership.generation} (${outcome.code}): the consumer joins it again`, { generation: membership.generation, outcome: applied });
      settled(error);
      throw error;
    }
    settled(undefined);
    for (const { partition, offset } of offsets) {
      const state = this.assigned.get(partition);
      if (state !== undefined) state.committed = offset;
    }
  }

  private requestRejoin(code: "ILLEGAL_GENERATION" | "UNKNOWN_MEMBER"): void {
    this.rejoinReason ??= code;
    this.releaseAll();
    this.groupWake.abort();
  }

  /**
   * Gives up every partition, records buffered and positions with them, without telling `onAssignment`:
   * the group moved on without this member (Kafka's lost partitions), so another member may have consumed
   * and committed them since. A partition assigned again starts from the group's committed offset, so
   * the member neither commits an old position over a newer commit nor hands out records past it.
   */
  private releaseAll(): void {
    for (const state of this.assigned.values()) {
      state.stop.abort();
      this.bufferedCount -= state.records.length - state.head;
    }
    this.assigned.clear();
    this.wake(this.roomWaiters);
  }

  /**
   * One group request to the coordinator (the last broker that answered as one, else any broker, whose
   * NOT_COORDINATOR names it), retried within `groupAttemptsMax`. ILLEGAL_GENERATION and UNKNOWN_MEMBER
   * come back as `rejoin`; other final errors throw.
   */
  private async groupRequest(action: keyof typeof groupAttemptsMax, body: Readonly<Record<string, unknown>> | undefined): Promise<GroupOutcome> {
    const group = this.group as string;
    const route = action === "commit" || action === "offsets" ? "offsets" : action;
    const path = `/v1/groups/${encodeURIComponent(group)}/${route}${action === "offsets" ? query({ topic: this.topic }) : ""}`;
    const method = action === "offsets" ? "GET" : "POST";
    // A consumer that is closing still commits and leaves; it stops joining and heartbeating.
    const final = action === "commit" || action === "leave";
    const signal = final ? this.finalSignal : this.conn.signal;
    let lastError: ClientError | undefined;
    let retriesCount = 0;
    let mayHaveApplied = false;
    for (let attempt = 1; attempt <= groupAttemptsMax[action]; attempt++) {
      if (this.conn.stopped && !final) throw new ClientError("CLOSED", 0, `Cannot ${action} group ${group} as the consumer is closing`);
      const url = this.coordinatorUrl ?? this.conn.metadata.anyBrokerUrl(this.brokerTurn++);
      let verdict: BrokerVerdict;
      if (url === undefined) {
        verdict = { kind: "retry", refresh: true, outcome: "not_applied", leaderUrl: undefined, retryAfterMs: undefined };
        lastError = new ClientError("BROKER_NOT_READY", 0, `Cannot ${action} group ${group} as the metadata names no broker`);
      } else {
        const reply = await this.conn.send({ method, url, path, ...(body === undefined ? {} : { body }), timeoutMs: this.conn.requestTimeoutMs }, signal);
        verdict = reply.kind === "answer" ? judgeBrokerAnswer(reply.status, reply.body, reply.retryAfterMs) : judgeBrokerFailure(reply.failure);
        if (verdict.kind === "done" && reply.kind === "answer") {
          this.coordinatorUrl = url;
          return { kind: "ok", body: isRecord(reply.body) ? reply.body : {} };
        }
        lastError = replyError(reply, attempt);
      }
      if (verdict.kind === "rejoin") return { kind: "rejoin", code: verdict.code, earlierMayHaveApplied: mayHaveApplied };
      if (verdict.kind === "retry" && verdict.outcome === "unknown") mayHaveApplied = true;
      if (verdict.kind === "coordinator") {
        this.coordinatorUrl = verdict.coordinatorUrl;
        if (verdict.coordinatorUrl !== undefined && verdict.coordinatorUrl !== url) continue;
      } else if (verdict.kind === "retry") {
        // The coordinator may have moved or died: ask any broker again.
        this.coordinatorUrl = undefined;
        if (verdict.refresh) await this.conn.refreshMetadata();
      } else {
        throw lastError;
      }
      if (attempt < groupAttemptsMax[action]) await this.conn.backOff(++retriesCount, verdict.retryAfterMs, Number.POSITIVE_INFINITY, signal);
    }
    const last = lastError as ClientError;
    throw new ClientError(last.code, last.status, last.message, last.details, { count: retriesCount + 1, exhausted: true });
  }

  // ------------------------------------------------------------ stopping

  private async shutDown(): Promise<void> {
    this.conn.stop();
    this.groupWake.abort();
    for (const state of this.assigned.values()) state.stop.abort();
    this.wake(this.recordWaiters);
    this.wake(this.roomWaiters);
    await this.started;
    await Promise.allSettled([...this.running]);
    if (this.membership !== undefined) {
      await this.commitPositions("delivered").catch((error: unknown) => this.report(error));
      await this.groupRequest("leave", { memberId: this.membership.memberId }).catch((error: unknown) => this.report(error));
    }
    this.conn.close();
  }

  private track(task: Promise<void>): void {
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
  }

  /** Stops the consumer on a final error: the next `poll` throws it. */
  private fail(error: unknown): void {
    this.failure ??= error instanceof ClientError ? error : ClientError.of(error);
    this.wake(this.recordWaiters);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** A failure in the background goes to `onError`; anything but a client's coded error is a bug and is thrown. */
  private report(error: unknown): void {
    if (!(error instanceof ClientError || error instanceof AdminError)) throw error;
    this.onError?.(ClientError.of(error));
  }
}

function memberOf(body: Readonly<Record<string, unknown>>): GroupMembership | undefined {
  const { memberId, generation, partitions, sessionTimeoutMs } = body;
  if (typeof memberId !== "string" || typeof generation !== "number" || !Array.isArray(partitions)) return undefined;
  const ids = (partitions as unknown[]).filter((p): p is number => typeof p === "number" && Number.isSafeInteger(p) && p >= 0);
  return { memberId, generation, partitions: ids.sort((a, b) => a - b), sessionTimeoutMs: typeof sessionTimeoutMs === "number" && sessionTimeoutMs > 0 ? sessionTimeoutMs : 10_000 };
}

function samePartitions(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}

function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
}
