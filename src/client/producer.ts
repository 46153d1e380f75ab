import type { Acks } from "../broker/protocol.js";
import { encodeProduceRequest, produceBatchContentType, textRecordSizeBytes } from "../broker/binaryProtocol.js";
import type { TextRecord } from "../broker/binaryProtocol.js";
import { produceBodyBytesMax, produceRecordsCountMax, produceTimeoutMsMax } from "../broker/protocol.js";
import { assert } from "../shared/assert.js";
import type { BrokerVerdict } from "./brokerPolicy.js";
import { judgeBrokerAnswer, judgeBrokerFailure } from "./brokerPolicy.js";
import type { BrokerReply } from "./brokerHttp.js";
import { ClientError } from "./clientError.js";
import type { TopicInfo } from "./clusterMetadata.js";
import { DataPlaneConnection, isRecord, positive, replyError } from "./dataPlane.js";
import type { DataPlaneOptions } from "./dataPlane.js";
import { Partitioner } from "./partitioner.js";

export interface ProducerRecord {
  readonly topic: string;
  readonly key?: string | null;
  readonly value: string;
  /** The partition to send to; the partitioner's choice when absent (partitioner.ts). */
  readonly partition?: number;
  /** When the record was made; the producer's clock when absent. */
  readonly timestampMs?: number;
}

/** Where an acknowledged record is: its partition and offset. */
export interface RecordAck {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/**
 * A record the producer has taken: `acknowledged` settles once the brokers acknowledged it (per acks)
 * or it failed. (A wrapper, so that awaiting the enqueue does not also await the acknowledgement.)
 */
export interface Delivery {
  readonly acknowledged: Promise<RecordAck>;
}

export interface ProducerOptions extends DataPlaneOptions {
  /** `all` (-1): every in-sync replica has the batch; 1: the leader has it on disk; 0: the leader took it. */
  readonly acks?: Acks;
  /** A producer id and per-partition sequences, so that a retry is never appended twice. */
  readonly idempotent?: boolean;
  /** How long a batch waits for more records after its first, unless it fills up sooner. */
  readonly lingerMs?: number;
  readonly batchRecordsMax?: number;
  /** Bytes of one batch's records as encoded (UTF-8 keys and values, lengths, timestamps); one record larger than this is refused (RECORD_TOO_LARGE). */
  readonly batchBytesMax?: number;
  /** Records taken but not yet acknowledged; `enqueue` and `send` wait while this many are. */
  readonly bufferedRecordsMax?: number;
  /** A record not acknowledged within this long after it was taken fails with DELIVERY_TIMEOUT. */
  readonly deliveryTimeoutMs?: number;
}

export const producerDefaults = {
  acks: "all",
  idempotent: true,
  lingerMs: 5,
  batchRecordsMax: 1_000,
  batchBytesMax: 1024 * 1024,
  bufferedRecordsMax: 100_000,
  /** Kafka's delivery.timeout.ms. */
  deliveryTimeoutMs: 120_000,
} as const;

/** Bytes of a produce body besides its records (topic, partition, acks, ids). */
const produceEnvelopeBytesMax = 1024;
/** Bytes a record's timestamp delta takes at most (a uvarint of a safe integer). */
const timestampDeltaBytesMax = 8;
/** The broker answers REQUEST_TIMED_OUT after `timeoutMs`; our own timeout comes this much later so that it can. */
const answerMarginMs = 5_000;
/** The largest baseSequence + count - 1 (a Kafka int32); past it the producer takes a new producer id. */
const sequenceMax = 2_147_483_647;
/** Redirects to a leader a broker named, in a row, before the producer backs off and asks the controllers. */
const redirectsInRowMax = 1;

/** How a batch's acknowledgement is settled: with its base offset, or its failure. */
interface BatchSettle {
  readonly resolve: (baseOffset: number) => void;
  readonly reject: (error: unknown) => void;
}

interface RecordSize {
  /** UTF-8 bytes of the key, null for a null key. */
  readonly keyBytes: number | null;
  readonly valueBytes: number;
}

/** A record being taken: checked and measured. */
interface Taken {
  readonly record: ProducerRecord;
  readonly size: RecordSize;
  readonly sizeBytes: number;
  readonly takenMs: number;
}

/** A record waiting for room or for its topic's metadata. */
interface Admission extends Taken {
  readonly resolve: (delivery: Delivery) => void;
  readonly reject: (error: unknown) => void;
}

interface Batch {
  readonly records: TextRecord[];
  /** Each record's key and value lengths, so that encoding measures no string twice. */
  readonly sizes: RecordSize[];
  /**
   * Settles once, with the base offset or the failure; each record's acknowledgement derives from it,
   * so that a record costs one promise of its own rather than one with its own resolving functions.
   */
  readonly acknowledged: Promise<number>;
  readonly settle: BatchSettle;
  sizeBytes: number;
  /** Its first record's time taken + deliveryTimeoutMs. */
  readonly deadlineMs: number;
  /** True once the batch may go: it lingered long enough (or lingerMs is 0). */
  lingered: boolean;
  cancelLinger: (() => void) | undefined;
  /** Set at the first attempt and kept for every retry, so that the leader recognises a retry. */
  sequence: { readonly producerId: number; readonly baseSequence: number } | undefined;
  /** Whether an attempt may have been appended (no answer, REQUEST_TIMED_OUT, a 5xx): its failure's `outcome`. */
  maybeAppended: boolean;
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** Taking records. */
  open: Batch | undefined;
  /** Full, waiting for the one in flight. */
  readonly full: Batch[];
  /** At most one batch in flight per partition: keeps order, and a retry is always of the last batch. */
  inFlight: Batch | undefined;
  /** The leader a broker named in its NOT_LEADER answer: the next attempt goes there. */
  leaderHint: string | undefined;
  /** The producer id this partition's sequences belong to, and the next sequence. */
  sequence: { readonly producerId: number; next: number } | undefined;
}

/**
 * Sends records to topic partitions in batches, each to the partition's leader, and retries them until
 * acknowledged (SPEC §5, docs/DATA_PLANE.md).
 *
 * - Partition: the record's own, else by key hash, else round-robin (partitioner.ts).
 * - Batching: per partition, a batch goes when `batchRecordsMax` or `batchBytesMax` is reached or
 *   `lingerMs` after its first record, whichever is first, or at once while `bufferedRecordsMax` records
 *   are held and more wait (lingering cannot add to it then); one batch per partition is in flight.
 * - Idempotence (default): a producer id from `POST /v1/producer-ids`, and per partition sequences from
 *   0; a retry resends the same batch with the same `baseSequence`, and a `duplicate: true` answer
 *   acknowledges it with the original offsets. After a batch failed (it may or may not have been
 *   appended) the producer takes a new producer id, so that its next batches cannot be mistaken for it.
 * - Retries: after NOT_LEADER_FOR_PARTITION, LEADER_NOT_AVAILABLE, connection failures, REQUEST_TIMED_OUT
 *   and 503s, with back-off and metadata refreshes, until acknowledged or `deliveryTimeoutMs` has passed.
 *   Without idempotence, only attempts surely not appended are retried. Other errors fail the batch.
 * - Memory: at most `bufferedRecordsMax` records are held; `enqueue` waits for room.
 */
export class Producer {
  private readonly conn: DataPlaneConnection;
  private readonly partitioner: Partitioner;
  private readonly acks: Acks;
  private readonly idempotent: boolean;
  private readonly lingerMs: number;
  private readonly batchRecordsMax: number;
  private readonly batchBytesMax: number;
  private readonly bufferedRecordsMax: number;
  private readonly deliveryTimeoutMs: number;
  private readonly partitions = new Map<string, Map<number, PartitionState>>();
  /** Each topic's partition ids, built once per metadata version of the topic rather than once per record. */
  private readonly partitionIdsByTopic = new WeakMap<TopicInfo, readonly number[]>();
  /** Records waiting for room or for their topic's metadata, in the order they were given. */
  private readonly admissions: Admission[] = [];
  /** Records in batches, not yet acknowledged or failed. */
  private bufferedCount = 0;
  private loadingTopic = false;
  private flushingCount = 0;
  private closing = false;
  private readonly idleWaiters: (() => void)[] = [];
  private producerId: number | undefined;
  private allocating: Promise<number> | undefined;
  private brokerTurn = 0;

  constructor(options: ProducerOptions) {
    this.conn = new DataPlaneConnection(options, "producer");
    this.partitioner = new Partitioner(this.conn.random);
    this.acks = options.acks ?? producerDefaults.acks;
    this.idempotent = options.idempotent ?? producerDefaults.idempotent;
    this.lingerMs = nonNegative(options.lingerMs ?? producerDefaults.lingerMs, "lingerMs");
    this.batchRecordsMax = atMost(positive(options.batchRecordsMax ?? producerDefaults.batchRecordsMax, "batchRecordsMax", "producer"), produceRecordsCountMax, "batchRecordsMax");
    this.batchBytesMax = atMost(positive(options.batchBytesMax ?? producerDefaults.batchBytesMax, "batchBytesMax", "producer"), produceBodyBytesMax - produceEnvelopeBytesMax, "batchBytesMax");
    this.bufferedRecordsMax = positive(options.bufferedRecordsMax ?? producerDefaults.bufferedRecordsMax, "bufferedRecordsMax", "producer");
    this.deliveryTimeoutMs = positive(options.deliveryTimeoutMs ?? producerDefaults.deliveryTimeoutMs, "deliveryTimeoutMs", "producer");
  }

  /** Sends one record; resolves with its partition and offset once acknowledged. */
  async send(record: ProducerRecord): Promise<RecordAck> {
    const delivery = await this.enqueue(record);
    return delivery.acknowledged;
  }

  /**
   * Takes one record, waiting while `bufferedRecordsMax` records are held; resolves once it is in a
   * batch, with the promise of its acknowledgement. Records are taken in the order given. The caller
   * must handle `acknowledged`'s rejection.
   */
  enqueue(record: ProducerRecord): Promise<Delivery> {
    if (this.closing) return Promise.reject(new ClientError("CLOSED", 0, `Cannot send to topic ${record.topic} as the producer is closed`));
    if (record.partition !== undefined && (!Number.isSafeInteger(record.partition) || record.partition < 0)) {
      return Promise.reject(new ClientError("BAD_REQUEST", 0, `Cannot send to topic ${record.topic} as partition must be a non-negative integer: current value is ${record.partition}`, { field: "partition" }));
    }
    if (record.timestampMs !== undefined && (!Number.isSafeInteger(record.timestampMs) || record.timestampMs < 0)) {
      return Promise.reject(new ClientError("BAD_REQUEST", 0, `Cannot send to topic ${record.topic} as timestampMs must be a non-negative integer: current value is ${record.timestampMs}`, { field: "timestampMs" }));
    }
    const size: RecordSize = { keyBytes: record.key === undefined || record.key === null ? null : Buffer.byteLength(record.key), valueBytes: Buffer.byteLength(record.value) };
    const sizeBytes = timestampDeltaBytesMax + textRecordSizeBytes(size.keyBytes, size.valueBytes);
    if (sizeBytes > this.batchBytesMax) {
      return Promise.reject(new ClientError("RECORD_TOO_LARGE", 0, `Cannot send to topic ${record.topic} as the record takes ${sizeBytes} bytes, more than batchBytesMax: current value is ${this.batchBytesMax}`, { sizeBytes }));
    }
    const takenMs = this.conn.clock.nowMs();
    // Room, its topic known and no record before it waiting: taken at once, as `admit` would take it.
    if (this.admissions.length === 0 && this.bufferedCount < this.bufferedRecordsMax) {
      const topic = this.conn.metadata.view().topics.get(record.topic);
      if (topic !== undefined) {
        const placed = this.place({ record, size, sizeBytes, takenMs }, topic);
        this.afterTaking();
        return placed instanceof Error ? Promise.reject(placed) : Promise.resolve(placed);
      }
    }
    return new Promise((resolve, reject) => {
      this.admissions.push({ record, size, sizeBytes, takenMs, resolve, reject });
      this.admit();
    });
  }

  /** Sends every batch now, and resolves once every record taken so far (and meanwhile) is acknowledged or failed. */
  async flush(): Promise<void> {
    this.flushingCount++;
    try {
      for (const state of this.allPartitions()) this.drain(state);
      await this.idle();
    } finally {
      this.flushingCount--;
    }
  }

  /** Refuses new records, flushes the ones taken, then closes the connections. */
  async close(): Promise<void> {
    this.closing = true;
    await this.flush();
    this.conn.close();
  }

  // ------------------------------------------------------------ taking records

  /** Places waiting records into batches while there is room and their topic is known. */
  private admit(): void {
    while (this.admissions.length > 0 && this.bufferedCount < this.bufferedRecordsMax) {
      const admission = this.admissions[0] as Admission;
      const topic = this.conn.metadata.view().topics.get(admission.record.topic);
      if (topic === undefined) {
        this.loadTopic(admission.record.topic);
        return;
      }
      this.admissions.shift();
      const placed = this.place(admission, topic);
      if (placed instanceof Error) admission.reject(placed);
      else admission.resolve(placed);
    }
    this.afterTaking();
  }

  private afterTaking(): void {
    // Full: no record can join a lingering batch before some are acknowledged, so lingering only delays.
    if (this.exhausted()) for (const state of this.allPartitions()) this.drain(state);
    this.checkIdle();
  }

  /** Records wait for room: every batch may go at once (Kafka's accumulator does the same when its memory is exhausted). */
  private exhausted(): boolean {
    return this.admissions.length > 0 && this.bufferedCount >= this.bufferedRecordsMax;
  }

  /** Finds (or creates) the head record's topic; when that fails, the records at the head for it fail. */
  private loadTopic(name: string): void {
    if (this.loadingTopic) return;
    this.loadingTopic = true;
    this.conn.metadata
      .topic(name)
      .then(
        () => undefined,
        (error: unknown) => {
          while (this.admissions[0]?.record.topic === name) this.admissions.shift()?.reject(error);
        },
      )
      .finally(() => {
        this.loadingTopic = false;
        this.admit();
      });
  }

  /** Puts a taken record into its partition's batch: its delivery, or why it cannot go. */
  private place(taken: Taken, topic: TopicInfo): Delivery | ClientError {
    const { record } = taken;
    const partitionIds = this.partitionIdsOf(topic);
    if (partitionIds.length === 0) {
      return new ClientError("NO_PARTITIONS", 0, `Cannot send to topic ${topic.name} as it has no partitions: add some with POST /v1/partitions`, { topic: topic.name });
    }
    if (record.partition !== undefined && !partitionIds.includes(record.partition)) {
      return new ClientError("UNKNOWN_PARTITION", 0, `Cannot send to partition ${record.partition} of topic ${topic.name} as it has partitions ${partitionIds.join(",")}`, { topic: topic.name, partition: record.partition });
    }
    const partition = record.partition ?? this.partitioner.choose(topic.name, record.key, partitionIds);
    const state = this.partitionState(topic.name, partition);
    if (state.open !== undefined && state.open.sizeBytes + taken.sizeBytes > this.batchBytesMax) this.closeOpen(state);
    const batch = state.open ?? this.openBatch(state, taken.takenMs);
    const index = batch.records.length;
    const acknowledged = batch.acknowledged.then((baseOffset): RecordAck => ({ topic: state.topic, partition: state.partition, offset: baseOffset + index }));
    batch.records.push({ key: record.key ?? null, value: record.value, timestampMs: record.timestampMs ?? this.conn.clock.nowMs() });
    batch.sizes.push(taken.size);
    batch.sizeBytes += taken.sizeBytes;
    this.bufferedCount++;
    if (batch.records.length >= this.batchRecordsMax) this.closeOpen(state);
    this.drain(state);
    return { acknowledged };
  }

  private partitionIdsOf(topic: TopicInfo): readonly number[] {
    const known = this.partitionIdsByTopic.get(topic);
    if (known !== undefined) return known;
    const partitionIds = topic.partitions.map((p) => p.partition);
    this.partitionIdsByTopic.set(topic, partitionIds);
    return partitionIds;
  }

  private openBatch(state: PartitionState, firstTakenMs: number): Batch {
    let settle: BatchSettle = { resolve: () => undefined, reject: () => undefined };
    const acknowledged = new Promise<number>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const batch: Batch = { records: [], sizes: [], acknowledged, settle, sizeBytes: 0, deadlineMs: firstTakenMs + this.deliveryTimeoutMs, lingered: this.lingerMs === 0, cancelLinger: undefined, sequence: undefined, maybeAppended: false };
    if (!batch.lingered) {
      batch.cancelLinger = this.conn.clock.setTimer(() => {
        batch.lingered = true;
        batch.cancelLinger = undefined;
        this.drain(state);
      }, this.lingerMs);
    }
    state.open = batch;
    return batch;
  }

  private closeOpen(state: PartitionState): void {
    const batch = state.open;
    if (batch === undefined) return;
    batch.cancelLinger?.();
    batch.cancelLinger = undefined;
    state.full.push(batch);
    state.open = undefined;
  }

  /** Sends the partition's next batch if none is in flight and one may go. */
  private drain(state: PartitionState): void {
    if (state.inFlight !== undefined) return;
    if (state.full.length === 0 && state.open !== undefined && (state.open.lingered || this.flushingCount > 0 || this.exhausted())) this.closeOpen(state);
    const batch = state.full.shift();
    if (batch === undefined) return;
    state.inFlight = batch;
    void this.deliver(state, batch);
  }

  // ------------------------------------------------------------ sending batches

  private async deliver(state: PartitionState, batch: Batch): Promise<void> {
    try {
      const baseOffset = await this.sendUntilAcknowledged(state, batch);
      batch.settle.resolve(baseOffset);
    } catch (error) {
      // The batch may have been appended: later batches must not be numbered as if it had, nor as if it had not.
      if (batch.sequence !== undefined && this.producerId === batch.sequence.producerId) this.producerId = undefined;
      const failure = error instanceof ClientError ? withOutcome(error, batch.maybeAppended ? "unknown" : "not_applied") : error;
      batch.settle.reject(failure);
    } finally {
      this.bufferedCount -= batch.records.length;
      state.inFlight = undefined;
      this.drain(state);
      this.admit();
    }
  }

  /** Attempts until acknowledged (the batch's base offset), a final error, or the batch's deadline. */
  private async sendUntilAcknowledged(state: PartitionState, batch: Batch): Promise<number> {
    let retriesCount = 0;
    let redirectsInRowCount = 0;
    let lastError: ClientError | undefined;
    for (let attempt = 1; ; attempt++) {
      if (this.conn.clock.nowMs() >= batch.deadlineMs) throw this.deliveryTimeout(state, batch, lastError, attempt - 1);
      if (this.idempotent && batch.sequence === undefined) await this.assignSequence(state, batch);
      const url = state.leaderHint ?? this.conn.metadata.leaderUrl(state.topic, state.partition);
      state.leaderHint = undefined;
      let verdict: BrokerVerdict;
      if (url === undefined) {
        verdict = { kind: "retry", refresh: true, outcome: "not_applied", leaderUrl: undefined, retryAfterMs: undefined };
        lastError = new ClientError("LEADER_NOT_AVAILABLE", 0, `Cannot send to partition ${state.topic}/${state.partition} as the metadata names no leader for it`, { topic: state.topic, partition: state.partition });
      } else {
        const reply = await this.conn.send({ method: "POST", url, path: "/v1/produce", body: this.produceBody(state, batch), contentType: produceBatchContentType, timeoutMs: this.produceTimeoutMs() + answerMarginMs });
        verdict = reply.kind === "answer" ? judgeBrokerAnswer(reply.status, reply.body, reply.retryAfterMs) : judgeBrokerFailure(reply.failure);
        if (verdict.kind === "done") return baseOffsetOf(reply, batch, attempt);
        if (mayHaveAppended(reply, verdict)) batch.maybeAppended = true;
        lastError = replyError(reply, attempt);
      }
      if (verdict.kind !== "retry") throw lastError;
      if (verdict.outcome === "unknown" && !this.idempotent) throw lastError;
      if (this.conn.stopped) throw new ClientError("CLOSED", 0, `Cannot deliver to partition ${state.topic}/${state.partition} as the producer was closed`, { lastError: lastError.message });
      if (verdict.leaderUrl !== undefined && verdict.leaderUrl !== url && redirectsInRowCount < redirectsInRowMax) {
        redirectsInRowCount++;
        state.leaderHint = verdict.leaderUrl;
        void this.conn.refreshMetadata();
        continue;
      }
      redirectsInRowCount = 0;
      if (verdict.refresh) await this.conn.refreshMetadata();
      await this.conn.backOff(++retriesCount, verdict.retryAfterMs, batch.deadlineMs);
    }
  }

  /** The binary produce body (broker/binaryProtocol.ts): the records go as the leader will store them. */
  private produceBody(state: PartitionState, batch: Batch): Buffer {
    const fields = {
      topic: state.topic,
      partition: state.partition,
      acks: this.acks === "all" ? -1 : this.acks,
      timeoutMs: this.produceTimeoutMs(),
      ...(batch.sequence === undefined ? {} : { producerId: batch.sequence.producerId, baseSequence: batch.sequence.baseSequence }),
    };
    return encodeProduceRequest(fields, batch.records, batch.sizes);
  }

  private produceTimeoutMs(): number {
    return Math.min(this.conn.requestTimeoutMs, produceTimeoutMsMax);
  }

  private deliveryTimeout(state: PartitionState, batch: Batch, lastError: ClientError | undefined, attemptsCount: number): ClientError {
    const last = lastError === undefined ? "" : `: the last attempt failed with ${lastError.code}: ${lastError.message}`;
    return new ClientError(
      "DELIVERY_TIMEOUT",
      lastError?.status ?? 0,
      `Cannot deliver ${batch.records.length} records to partition ${state.topic}/${state.partition} as they were not acknowledged within ${this.deliveryTimeoutMs} ms${last}`,
      { topic: state.topic, partition: state.partition, ...(lastError === undefined ? {} : { lastCode: lastError.code, lastDetails: lastError.details }) },
      { count: attemptsCount, exhausted: true },
    );
  }

  // ------------------------------------------------------------ idempotence

  /** Numbers the batch from its partition's next sequence, under the current producer id. */
  private async assignSequence(state: PartitionState, batch: Batch): Promise<void> {
    const count = batch.records.length;
    for (;;) {
      const producerId = await this.producerIdFor(state, batch);
      if (state.sequence?.producerId !== producerId) state.sequence = { producerId, next: 0 };
      if (state.sequence.next + count - 1 <= sequenceMax) {
        batch.sequence = { producerId, baseSequence: state.sequence.next };
        state.sequence.next += count;
        return;
      }
      // Sequences would pass int32: start over from 0 under a new producer id.
      if (this.producerId === producerId) this.producerId = undefined;
    }
  }

  private producerIdFor(state: PartitionState, batch: Batch): Promise<number> {
    if (this.producerId !== undefined) return Promise.resolve(this.producerId);
    const allocating = this.allocating ?? this.allocateProducerId(state, batch);
    this.allocating = allocating;
    return allocating.finally(() => {
      if (this.allocating === allocating) this.allocating = undefined;
    });
  }

  /** Asks the live brokers in turn for a producer id until one answers or the batch's deadline passes. */
  private async allocateProducerId(state: PartitionState, batch: Batch): Promise<number> {
    let lastError: ClientError | undefined;
    for (let attempt = 1; ; attempt++) {
      if (this.conn.clock.nowMs() >= batch.deadlineMs) throw this.deliveryTimeout(state, batch, lastError, attempt - 1);
      if (this.conn.stopped) throw new ClientError("CLOSED", 0, "Cannot get a producer id as the producer was closed");
      const url = this.conn.metadata.anyBrokerUrl(this.brokerTurn++);
      let verdict: BrokerVerdict;
      if (url === undefined) {
        verdict = { kind: "retry", refresh: true, outcome: "not_applied", leaderUrl: undefined, retryAfterMs: undefined };
        lastError = new ClientError("BROKER_NOT_READY", 0, "Cannot get a producer id as the metadata names no broker");
      } else {
        const reply = await this.conn.send({ method: "POST", url, path: "/v1/producer-ids", body: {}, timeoutMs: this.conn.requestTimeoutMs });
        verdict = reply.kind === "answer" ? judgeBrokerAnswer(reply.status, reply.body, reply.retryAfterMs) : judgeBrokerFailure(reply.failure);
        const producerId = verdict.kind === "done" && reply.kind === "answer" && isRecord(reply.body) ? reply.body["producerId"] : undefined;
        if (typeof producerId === "number" && Number.isSafeInteger(producerId) && producerId >= 0) {
          this.producerId = producerId;
          return producerId;
        }
        lastError = replyError(reply, attempt);
      }
      // Asking for an id again is harmless: an unused one is only skipped.
      if (verdict.kind !== "retry") throw lastError;
      if (verdict.refresh) await this.conn.refreshMetadata();
      await this.conn.backOff(attempt, verdict.retryAfterMs, batch.deadlineMs);
    }
  }

  // ------------------------------------------------------------ bookkeeping

  private partitionState(topic: string, partition: number): PartitionState {
    let byPartition = this.partitions.get(topic);
    if (byPartition === undefined) {
      byPartition = new Map();
      this.partitions.set(topic, byPartition);
    }
    let state = byPartition.get(partition);
    if (state === undefined) {
      state = { topic, partition, open: undefined, full: [], inFlight: undefined, leaderHint: undefined, sequence: undefined };
      byPartition.set(partition, state);
    }
    return state;
  }

  private *allPartitions(): Generator<PartitionState> {
    for (const byPartition of this.partitions.values()) yield* byPartition.values();
  }

  private idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return this.bufferedCount === 0 && this.admissions.length === 0;
  }

  private checkIdle(): void {
    if (!this.isIdle()) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

/**
 * Whether a produce attempt that was not acknowledged may still have appended its batch: no answer
 * (other than a refused connection), a retriable answer whose outcome is unknown (REQUEST_TIMED_OUT:
 * appended, not yet confirmed), or a final 5xx. A final 4xx (BAD_REQUEST, OUT_OF_ORDER_SEQUENCE) is a
 * refusal before the append.
 */
function mayHaveAppended(reply: BrokerReply, verdict: BrokerVerdict): boolean {
  if (verdict.kind === "retry") return verdict.outcome === "unknown";
  return reply.kind === "failure" || reply.status >= 500;
}

/**
 * A failed delivery's error with `details.outcome`, as the controllers' API says it: `not_applied` when
 * no attempt can have appended the records, `unknown` when one may have (they may be in the log, now or
 * once a leader's log is replicated).
 */
function withOutcome(error: ClientError, outcome: "not_applied" | "unknown"): ClientError {
  return new ClientError(error.code, error.status, error.message, { ...error.details, outcome }, error.attempts);
}

/** The acknowledged batch's base offset; an answer that does not cover exactly the batch is BAD_RESPONSE. */
function baseOffsetOf(reply: BrokerReply, batch: Batch, attempt: number): number {
  const body = reply.kind === "answer" && isRecord(reply.body) ? reply.body : {};
  const { baseOffset, lastOffset } = body;
  if (typeof baseOffset !== "number" || typeof lastOffset !== "number" || lastOffset - baseOffset + 1 !== batch.records.length) {
    throw new ClientError("BAD_RESPONSE", reply.kind === "answer" ? reply.status : 0, `Cannot read the produce answer as it does not give the offsets of ${batch.records.length} records`, { body }, { count: attempt, exhausted: false });
  }
  return baseOffset;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`Cannot create a producer as ${name} must be a non-negative integer: current value is ${value}`);
  return value;
}

function atMost(value: number, max: number, name: string): number {
  assert(max > 0, `the bound of ${name} must be positive`);
  if (value > max) throw new RangeError(`Cannot create a producer as ${name} must be at most ${max}: current value is ${value}`);
  return value;
}
