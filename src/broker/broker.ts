import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BrokerMetadataAnswerJson, BrokerMetadataCompactAnswerJson, BrokerWriteAnswerJson, ChangePartitionRequest, MetadataRecordJson, PartitionWriteAnswerJson, ProducerWriteAnswerJson, TopicPartition, TopicWriteAnswerJson, CreateTopicRequest } from "../api/schemas.js";
import type { RegisterBrokerRequest, RegisterProducerRequest, BrokerMetadataFetchRequest } from "../api/schemas.js";
import { BrokerError } from "./brokerError.js";
import { GroupCoordinator, groupPartition, offsetRecord, offsetsTopicName } from "./groupCoordinator.js";
import { applyChanges, brokerUrl, emptyImage, partitionOf, partitionsOf } from "./metadataImage.js";
import type { MetadataImage } from "./metadataImage.js";
import { Notifier } from "./notifier.js";
import { PartitionReplica } from "./partitionReplica.js";
import type { ReadBatch, ReplicaLog, ReplicaFetchOutcome } from "./partitionReplica.js";
import type { BrokerStatusAnswerJson, CommitOffsetsRequest, ConsumedRecord, FetchRequest, GroupMemberAnswerJson, ProduceAnswerJson, ProduceRequest, ReplicaFetchAnswerJson, ReplicaFetchRequest } from "./protocol.js";
import { batchesAnswerParts } from "./binaryProtocol.js";
import type { BatchesAnswerParts } from "./binaryProtocol.js";
import type { DecodedProduce } from "./binaryProtocol.js";

/** What the broker asks of the quorum (an `AdminClient`: leader discovery and retries included). */
export interface QuorumApi {
  registerBroker(request: RegisterBrokerRequest): Promise<BrokerWriteAnswerJson>;
  /** Asked for in the compact form (src/api/compactImage.ts); an answer in the SPEC form is read as well. */
  brokerMetadataFetch(request: BrokerMetadataFetchRequest, options: { readonly format: "compact" }): Promise<BrokerMetadataAnswerJson | BrokerMetadataCompactAnswerJson>;
  changePartition(topicName: string, partitionId: number, request: ChangePartitionRequest): Promise<PartitionWriteAnswerJson>;
  registerProducer(request: RegisterProducerRequest): Promise<ProducerWriteAnswerJson>;
  createTopic(request: CreateTopicRequest): Promise<TopicWriteAnswerJson>;
}

/** A partition log the broker owns: the replica's view plus its lifecycle. */
export interface BrokerLog extends ReplicaLog {
  close(): Promise<void>;
  /** Closes the log and removes its directory (the topic was deleted, or the replica moved away). */
  delete(): Promise<void>;
}

export interface BrokerLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface BrokerSettings {
  readonly brokerId: number;
  readonly dataDir: string;
  /** What the broker registers: where clients and other brokers reach it. */
  readonly advertisedHost: string;
  readonly advertisedPort: number;
  readonly rackId?: string;
  readonly minInsyncReplicas: number;
  readonly replicaLagMs: number;
  /** Partitions of `__consumer_offsets` when this broker is the one to create it. */
  readonly offsetsTopicPartitions: number;
  readonly groupSessionMs: number;
  /** Bytes a follower asks for in one fetch, and how long the leader may hold it. */
  readonly replicaFetchBytesMax: number;
  readonly replicaFetchWaitMs: number;
  /**
   * Base URLs this broker's followers fetch from, by leader id, instead of the address each leader
   * registered (`--replica-peers`). Chaos runs put a fault proxy per directed pair of brokers there, the
   * way controllers take a `--peers` list: one registered address cannot differ per dialling broker.
   */
  readonly replicaPeerUrls?: ReadonlyMap<number, string>;
}

export const defaultBrokerSettings = {
  minInsyncReplicas: 1,
  replicaLagMs: 10_000,
  offsetsTopicPartitions: 3,
  groupSessionMs: 10_000,
  replicaFetchBytesMax: 1024 * 1024,
  replicaFetchWaitMs: 500,
} as const;

export interface BrokerDeps {
  readonly quorum: QuorumApi;
  readonly openLog: (dir: string) => Promise<BrokerLog>;
  /** A follower's fetch from `leaderUrl`; throws a BrokerError for coded answers. */
  readonly fetchFromLeader: (leaderUrl: string, request: ReplicaFetchRequest, signal: AbortSignal) => Promise<ReplicaFetchOutcome>;
  /** Monotonic milliseconds: sessions, lag and timeouts. */
  readonly nowMs: () => number;
  /** Epoch milliseconds: append times and record timestamps. */
  readonly wallClockMs: () => number;
  readonly newMemberId: () => string;
  readonly log: BrokerLogger;
}

/** Heartbeat interval until the quorum says otherwise. */
const heartbeatIntervalMsDefault = 2_000;
/** A refresh asked for by a failing fetch or request waits at least this long after the last heartbeat. */
const refreshGapMsMin = 100;
const retryDelayMsMin = 50;
const retryDelayMsMax = 1_000;
/** acks=all commits of group offsets wait this long for the in-sync replicas. */
const offsetCommitTimeoutMs = 10_000;
/** Bytes read from an offsets partition per step while folding it. */
const offsetsFoldBytesMax = 1024 * 1024;

/** In each topic directory: the UUID of the topic whose logs it holds. */
const topicUUIDFileName = "topic-uuid";

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/**
 * A broker (SPEC §5, DESIGN §8): registers with the quorum, heartbeats through broker MetadataFetch,
 * keeps a local metadata image from the answers and acts on it — opens a replica for each partition it
 * holds, leads or follows as the metadata says (fetching from the leader when following), and deletes
 * the logs of partitions it no longer holds. The HTTP server (server.ts) calls the request methods.
 */
export class Broker {
  readonly brokerId: number;
  private image: MetadataImage = emptyImage;
  private brokerEpoch = -1;
  private brokerStatus = "UNREGISTERED";
  private readonly replicas = new Map<string, PartitionReplica>();
  private readonly logs = new Map<string, BrokerLog>();
  private readonly fetchers = new Map<string, { readonly leaderId: number; readonly abort: AbortController; readonly done: Promise<void> }>();
  private readonly coordinator: GroupCoordinator;
  private readonly wake = new Notifier();
  private heartbeatIntervalMs = heartbeatIntervalMsDefault;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private isrTimer: NodeJS.Timeout | undefined;
  private creatingOffsetsTopic = false;

  constructor(
    private readonly settings: BrokerSettings,
    private readonly deps: BrokerDeps,
  ) {
    this.brokerId = settings.brokerId;
    this.coordinator = new GroupCoordinator({ nowMs: deps.nowMs, sessionTimeoutMs: settings.groupSessionMs, newMemberId: deps.newMemberId });
  }

  /** Starts registering and heartbeating in the background; `ready()` tells when the first metadata arrived. */
  start(): void {
    this.loop = this.run();
    this.isrTimer = setInterval(() => this.checkReplicas(), Math.max(50, Math.floor(this.settings.replicaLagMs / 4)));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.isrTimer);
    this.wake.notify();
    for (const fetcher of this.fetchers.values()) fetcher.abort.abort();
    for (const replica of this.replicas.values()) replica.stop();
    await this.loop;
    await Promise.allSettled([...this.fetchers.values()].map((f) => f.done));
    await Promise.allSettled([...this.logs.values()].map((log) => log.close()));
  }

  /** Asks for a metadata fetch soon (a request found the image stale). */
  refreshMetadata(): void {
    this.wake.notify();
  }

  get metadataOffset(): number {
    return this.image.offset;
  }

  // ---------------------------------------------------------------- registration and heartbeats

  private async run(): Promise<void> {
    let delayMs = retryDelayMsMin;
    let lastHeartbeatMs = -Infinity;
    while (!this.stopping) {
      try {
        if (this.brokerEpoch < 0) await this.register();
        const sinceMs = this.deps.nowMs() - lastHeartbeatMs;
        if (sinceMs < refreshGapMsMin) await this.wake.wait(refreshGapMsMin - sinceMs);
        lastHeartbeatMs = this.deps.nowMs();
        await this.heartbeat();
        delayMs = retryDelayMsMin;
        await this.wake.wait(this.heartbeatIntervalMs);
      } catch (error) {
        if (this.stopping) return;
        const code = (error as { code?: unknown }).code;
        if (code === "STALE_BROKER_EPOCH" || code === "UNKNOWN_BROKER" || code === "INVALID_BROKER_STATUS") this.brokerEpoch = -1;
        this.deps.log.warn({ err: error, code }, "metadata fetch failed");
        await this.wake.wait(delayMs);
        delayMs = Math.min(delayMs * 2, retryDelayMsMax);
      }
    }
  }

  private async register(): Promise<void> {
    const answer = await this.deps.quorum.registerBroker({
      brokerId: this.brokerId,
      brokerHost: this.settings.advertisedHost,
      brokerPort: this.settings.advertisedPort,
      ...(this.settings.rackId === undefined ? {} : { rackId: this.settings.rackId }),
    });
    this.brokerEpoch = answer.broker.epoch;
    this.brokerStatus = answer.broker.brokerStatus;
    this.deps.log.info({ brokerEpoch: this.brokerEpoch }, "registered with the quorum");
  }

  private async heartbeat(): Promise<void> {
    const answer = await this.deps.quorum.brokerMetadataFetch({ brokerId: this.brokerId, brokerEpoch: this.brokerEpoch, offset: this.image.offset }, { format: "compact" });
    if (answer.brokerStatus !== this.brokerStatus) this.deps.log.info({ from: this.brokerStatus, to: answer.brokerStatus, brokerEpoch: answer.brokerEpoch }, "broker status changed");
    this.brokerEpoch = answer.brokerEpoch;
    this.brokerStatus = answer.brokerStatus;
    this.heartbeatIntervalMs = answer.heartbeatIntervalMs;
    await this.applyMetadata(answer);
  }

  /**
   * Deltas are applied record by record, so a replica sees every change of leader in order (a leader
   * named again after someone else led starts a new epoch); a full image is applied at once.
   */
  private async applyMetadata(answer: BrokerMetadataAnswerJson | BrokerMetadataCompactAnswerJson): Promise<void> {
    if (answer.kind === "snapshot") {
      const first = this.image.offset === 0;
      this.image = applyChanges(this.image, answer);
      this.deps.log.info({ offset: this.image.offset, format: "format" in answer ? answer.format : "spec", topicsCount: this.image.topics.size }, "full metadata image applied");
      await this.reconcileAll();
      // A topic missing from a full image was deleted meanwhile: its directory goes with its replicas.
      await (first ? this.metadataLoaded() : this.sweepTopicDirs());
      return;
    }
    const first = this.image.offset === 0;
    for (const record of answer.records ?? []) {
      this.image = applyChanges(this.image, { kind: "delta", currentOffset: record.offset, records: [record] });
      await this.reconcileRecord(record);
    }
    this.image = { ...this.image, offset: Math.max(this.image.offset, answer.currentOffset) };
    if (first && this.image.offset > 0) await this.metadataLoaded();
  }

  private async metadataLoaded(): Promise<void> {
    await this.sweepTopicDirs();
    this.deps.log.info({ offset: this.image.offset, replicas: this.replicas.size }, "metadata loaded");
  }

  private async reconcileRecord(record: MetadataRecordJson): Promise<void> {
    const fields = record.fields as Record<string, unknown>;
    if (record.name === "PartitionRecord" || record.name === "PartitionChangeRecord") {
      const topic = [...this.image.topics.values()].find((t) => t.topicUUID === fields["topicUUID"]);
      const partition = topic?.partitions.get(fields["partitionId"] as number);
      if (partition !== undefined) await this.reconcilePartition(partition, true);
    } else if (record.name === "RemoveTopicRecord") {
      for (const [key, replica] of this.replicas) if (replica.topic === fields["name"]) await this.removeReplica(key);
      // The replicas took their partition folders; the topic's folder (and its UUID marker) goes too.
      await this.sweepTopicDirs();
    } else if (record.name === "RegisterBrokerRecord" || record.name === "BrokerRegistrationChangeRecord") {
      // A leader's address may have changed: fetchers read it from the image on every request.
    }
  }

  private async reconcileAll(): Promise<void> {
    const held = new Set<string>();
    for (const partition of partitionsOf(this.image, this.brokerId)) {
      held.add(replicaKey(partition.topicName, partition.partitionId));
      await this.reconcilePartition(partition, false);
    }
    for (const key of [...this.replicas.keys()]) if (!held.has(key)) await this.removeReplica(key);
  }

  private async reconcilePartition(partition: TopicPartition, continuous: boolean): Promise<void> {
    const key = replicaKey(partition.topicName, partition.partitionId);
    if (!partition.replicas.includes(this.brokerId)) {
      if (this.replicas.has(key)) await this.removeReplica(key);
      return;
    }
    let replica = this.replicas.get(key);
    if (replica === undefined) {
      await this.claimTopicDir(partition.topicName, partition.topicUUID);
      const log = await this.deps.openLog(this.partitionDir(partition.topicName, partition.partitionId));
      this.logs.set(key, log);
      replica = new PartitionReplica(partition, log, {
        brokerId: this.brokerId,
        nowMs: this.deps.nowMs,
        wallClockMs: this.deps.wallClockMs,
        minInsyncReplicas: this.settings.minInsyncReplicas,
        replicaLagMs: this.settings.replicaLagMs,
        alterIsr: (p, isr) => this.alterIsr(p, isr),
        onError: (error, what) => this.deps.log.error({ err: error }, `failed ${what}`),
      });
      this.replicas.set(key, replica);
      this.deps.log.info({ topic: partition.topicName, partition: partition.partitionId, leader: partition.leader, partitionEpoch: partition.partitionEpoch }, "replica opened");
    } else {
      replica.update(partition, { continuous });
    }
    if (partition.topicName === offsetsTopicName && !replica.isLeader()) this.coordinator.forget(partition.partitionId);
    this.syncFetcher(key, replica);
  }

  private async removeReplica(key: string): Promise<void> {
    const replica = this.replicas.get(key);
    this.replicas.delete(key);
    replica?.stop();
    const fetcher = this.fetchers.get(key);
    if (fetcher !== undefined) {
      fetcher.abort.abort();
      this.fetchers.delete(key);
      await fetcher.done;
    }
    const log = this.logs.get(key);
    this.logs.delete(key);
    if (log !== undefined) await log.delete();
    if (replica !== undefined) {
      if (replica.topic === offsetsTopicName) this.coordinator.forget(replica.partitionId);
      this.deps.log.info({ topic: replica.topic, partition: replica.partitionId }, "replica removed");
    }
  }

  /**
   * A topic's directory holds the topic's UUID: a directory left by an earlier topic of the same name
   * (deleted while this broker was down) is removed before the new topic's logs are opened in it.
   */
  private async claimTopicDir(topic: string, topicUUID: string): Promise<void> {
    const dir = join(this.settings.dataDir, topic);
    const marker = join(dir, topicUUIDFileName);
    const held = await readFile(marker, "utf8").catch(() => undefined);
    if (held === topicUUID) return;
    if (held !== undefined && [...this.replicas.values()].some((r) => r.topic === topic)) return;
    if (held !== undefined) this.deps.log.warn({ topic, held, topicUUID }, "removing the logs of an earlier topic of the same name");
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await writeFile(marker, topicUUID);
  }

  /** Removes directories of topics the metadata image no longer has (deleted now, or while this broker was down). */
  private async sweepTopicDirs(): Promise<void> {
    const names = await readdir(this.settings.dataDir, { withFileTypes: true }).catch(() => []);
    for (const entry of names) {
      if (!entry.isDirectory()) continue;
      const marker = await readFile(join(this.settings.dataDir, entry.name, topicUUIDFileName), "utf8").catch(() => undefined);
      if (marker === undefined) continue;
      if (this.image.topics.get(entry.name)?.topicUUID === marker) continue;
      this.deps.log.info({ topic: entry.name }, "removing the logs of a deleted topic");
      await rm(join(this.settings.dataDir, entry.name), { recursive: true, force: true });
    }
  }

  private partitionDir(topic: string, partitionId: number): string {
    return join(this.settings.dataDir, topic, String(partitionId));
  }

  private async alterIsr(partition: TopicPartition, isr: readonly number[]): Promise<TopicPartition | undefined> {
    this.deps.log.info({ topic: partition.topicName, partition: partition.partitionId, from: partition.ISR, to: isr }, "proposing an ISR change");
    try {
      const answer = await this.deps.quorum.changePartition(partition.topicName, partition.partitionId, { isr: [...isr], expectedPartitionEpoch: partition.partitionEpoch });
      return answer.partition;
    } catch (error) {
      if ((error as { code?: unknown }).code === "STALE_PARTITION_EPOCH") {
        this.refreshMetadata();
        return undefined;
      }
      throw error;
    }
  }

  private checkReplicas(): void {
    for (const replica of this.replicas.values()) replica.checkIsr();
    this.coordinator.expire();
  }

  // ---------------------------------------------------------------- followers

  private syncFetcher(key: string, replica: PartitionReplica): void {
    const leaderId = replica.isLeader() ? -1 : replica.leaderId();
    const current = this.fetchers.get(key);
    if (current !== undefined && current.leaderId === leaderId) return;
    if (current !== undefined) {
      current.abort.abort();
      this.fetchers.delete(key);
    }
    if (leaderId < 0 || this.stopping) return;
    const abort = new AbortController();
    const done = this.runFetcher(replica, leaderId, abort.signal);
    this.fetchers.set(key, { leaderId, abort, done });
  }

  private async runFetcher(replica: PartitionReplica, leaderId: number, signal: AbortSignal): Promise<void> {
    let delayMs = retryDelayMsMin;
    while (!signal.aborted) {
      const url = this.settings.replicaPeerUrls?.get(leaderId) ?? brokerUrl(this.image, leaderId);
      try {
        if (url === undefined) throw new BrokerError("LEADER_NOT_AVAILABLE", `Cannot fetch as broker ${leaderId} is not in the metadata`);
        const answer = await this.deps.fetchFromLeader(url, { topic: replica.topic, partition: replica.partitionId, replicaId: this.brokerId, ...replica.fetchRequestFields(), maxBytes: this.settings.replicaFetchBytesMax, maxWaitMs: this.settings.replicaFetchWaitMs }, signal);
        if (signal.aborted) return;
        await replica.applyFetched(answer, leaderId);
        delayMs = retryDelayMsMin;
      } catch (error) {
        if (signal.aborted) return;
        const code = (error as { code?: unknown }).code;
        if (code === "NOT_LEADER_FOR_PARTITION" || code === "FENCED_LEADER_EPOCH" || code === "UNKNOWN_TOPIC_OR_PARTITION" || code === "LEADER_NOT_AVAILABLE") this.refreshMetadata();
        await abortableWait(delayMs, signal);
        delayMs = Math.min(delayMs * 2, retryDelayMsMax);
      }
    }
  }

  // ---------------------------------------------------------------- requests (server.ts)

  /** A produce request in its JSON form (strings) or its binary form (bytes, already encoded as the batch stores them). */
  async produce(request: ProduceRequest | DecodedProduce): Promise<ProduceAnswerJson> {
    const replica = this.replicaFor(request.topic, request.partition);
    if ("encodedRecords" in request) {
      const outcome = await replica.produce({
        acks: request.acks,
        timeoutMs: request.timeoutMs ?? 30_000,
        producerId: request.producerId ?? -1,
        baseSequence: request.producerId === undefined ? -1 : (request.baseSequence ?? 0),
        recordsCount: request.recordsCount,
        encodedRecords: request.encodedRecords,
      });
      return { topic: request.topic, partition: request.partition, ...outcome };
    }
    const now = this.deps.wallClockMs();
    const outcome = await replica.produce({
      acks: request.acks ?? "all",
      timeoutMs: request.timeoutMs ?? 30_000,
      producerId: request.producerId ?? -1,
      baseSequence: request.producerId === undefined ? -1 : (request.baseSequence ?? 0),
      records: request.records.map((r) => ({ key: r.key === undefined || r.key === null ? null : textEncoder.encode(r.key), value: textEncoder.encode(r.value), timestampMs: r.timestampMs ?? now })),
    });
    return { topic: request.topic, partition: request.partition, ...outcome };
  }

  async fetch(request: FetchRequest): Promise<{ records: ConsumedRecord[]; highWatermark: number; logStartOffset: number; nextOffset: number }> {
    const replica = this.replicaFor(request.topic, request.partition);
    const batches = await replica.fetch(request.offset, request.maxBytes ?? 1024 * 1024, request.maxWaitMs ?? 0);
    const records = consumedRecords(batches, request.offset);
    const last = records[records.length - 1];
    return { records, highWatermark: replica.highWatermark, logStartOffset: replica.log.logStartOffset, nextOffset: last === undefined ? request.offset : last.offset + 1 };
  }

  /** A fetch answered in the binary form: the stored frames from the batch holding `offset`, below the high watermark. */
  async fetchEncoded(request: FetchRequest): Promise<BatchesAnswerParts> {
    const replica = this.replicaFor(request.topic, request.partition);
    const bytes = await replica.fetchEncoded(request.offset, request.maxBytes ?? 1024 * 1024, request.maxWaitMs ?? 0);
    return batchesAnswerParts({ highWatermark: replica.highWatermark, logStartOffset: replica.log.logStartOffset }, bytes);
  }

  listOffset(topic: string, partitionId: number, at: "earliest" | "latest"): number {
    const replica = this.replicaFor(topic, partitionId);
    return at === "earliest" ? replica.log.logStartOffset : replica.highWatermark;
  }

  async replicaFetch(request: ReplicaFetchRequest): Promise<ReplicaFetchAnswerJson> {
    const outcome = await this.replicaFetchOutcome(request);
    if (outcome.kind === "diverging") {
      return { highWatermark: outcome.highWatermark, logStartOffset: outcome.logStartOffset, divergingEpoch: { epoch: outcome.epoch, endOffset: outcome.endOffset }, batches: "" };
    }
    return { highWatermark: outcome.highWatermark, logStartOffset: outcome.logStartOffset, batches: Buffer.from(outcome.bytes.buffer, outcome.bytes.byteOffset, outcome.bytes.byteLength).toString("base64") };
  }

  /** A follower's fetch answered in the binary form: the leader's stored frames as they are. */
  async replicaFetchEncoded(request: ReplicaFetchRequest): Promise<BatchesAnswerParts> {
    const outcome = await this.replicaFetchOutcome(request);
    const fields = { highWatermark: outcome.highWatermark, logStartOffset: outcome.logStartOffset };
    if (outcome.kind === "diverging") return batchesAnswerParts({ ...fields, divergingEpoch: { epoch: outcome.epoch, endOffset: outcome.endOffset } }, new Uint8Array(0));
    return batchesAnswerParts(fields, outcome.bytes);
  }

  private async replicaFetchOutcome(request: ReplicaFetchRequest): Promise<ReplicaFetchOutcome> {
    const replica = this.replicaFor(request.topic, request.partition);
    return replica.replicaFetch({
      replicaId: request.replicaId,
      partitionEpoch: request.partitionEpoch,
      fetchOffset: request.fetchOffset,
      lastFetchedEpoch: request.lastFetchedEpoch,
      maxBytes: request.maxBytes ?? this.settings.replicaFetchBytesMax,
      maxWaitMs: request.maxWaitMs ?? 0,
    });
  }

  async newProducerId(): Promise<number> {
    if (this.brokerEpoch < 0) throw new BrokerError("BROKER_NOT_READY", "Cannot allocate a producer id as this broker has not registered yet");
    const answer = await this.deps.quorum.registerProducer({ brokerId: this.brokerId, brokerEpoch: this.brokerEpoch });
    return answer.producer.producerId;
  }

  // ---------------------------------------------------------------- consumer groups

  async joinGroup(group: string, topic: string, memberId: string | undefined): Promise<GroupMemberAnswerJson> {
    await this.coordinatorReplica(group);
    return this.coordinator.join(group, topic, this.partitionsCount(topic), memberId);
  }

  async heartbeatGroup(group: string, memberId: string): Promise<GroupMemberAnswerJson> {
    await this.coordinatorReplica(group);
    return this.coordinator.heartbeat(group, memberId, (topic) => this.partitionsCount(topic));
  }

  async leaveGroup(group: string, memberId: string): Promise<void> {
    await this.coordinatorReplica(group);
    this.coordinator.leave(group, memberId);
  }

  async commitOffsets(group: string, request: CommitOffsetsRequest): Promise<{ partition: number; offset: number }[]> {
    const { replica } = await this.coordinatorReplica(group);
    if (request.memberId !== undefined) this.coordinator.checkGeneration(group, request.memberId, request.generation ?? -1);
    const now = this.deps.wallClockMs();
    const records = request.offsets.map((o) => ({ ...offsetRecord(group, request.topic, o.partition, o.offset), timestampMs: now }));
    await this.coordinator.appending(group, replica.produce({ acks: "all", timeoutMs: offsetCommitTimeoutMs, producerId: -1, baseSequence: -1, records }));
    return this.groupOffsets(group, request.topic);
  }

  async groupOffsets(group: string, topic: string): Promise<{ partition: number; offset: number }[]> {
    const { partition, replica } = await this.coordinatorReplica(group);
    // A coordinator just elected may not have heard its high watermark reach the last commits its predecessor took.
    if (!replica.caughtUpAsLeader()) throw new BrokerError("LEADER_NOT_AVAILABLE", `Cannot answer the offsets of group ${group} yet as its coordinator, just elected, has not yet seen its predecessors' commits committed (high watermark ${replica.highWatermark})`);
    await this.coordinator.commitsSettled(group);
    await this.foldOffsets(partition, replica);
    return this.coordinator.committedOffsets(partition, group, topic);
  }

  /** The offsets partition of `group` if this broker leads it; otherwise NOT_COORDINATOR naming who does. */
  private async coordinatorReplica(group: string): Promise<{ partition: number; replica: PartitionReplica }> {
    const topic = this.image.topics.get(offsetsTopicName);
    if (topic === undefined || topic.partitions.size === 0) {
      await this.createOffsetsTopic();
      throw new BrokerError("LEADER_NOT_AVAILABLE", `Cannot serve group ${group} yet as the ${offsetsTopicName} topic is being created`);
    }
    const partition = groupPartition(group, topic.partitions.size);
    const replica = this.replicas.get(replicaKey(offsetsTopicName, partition));
    if (replica === undefined || !replica.isLeader()) {
      const coordinatorId = topic.partitions.get(partition)?.leader ?? -1;
      if (coordinatorId < 0) throw new BrokerError("LEADER_NOT_AVAILABLE", `Cannot serve group ${group} as its coordinator partition has no leader now`);
      const url = brokerUrl(this.image, coordinatorId);
      throw new BrokerError("NOT_COORDINATOR", `Cannot serve group ${group} as its coordinator is broker ${coordinatorId}`, { coordinatorId, ...(url === undefined ? {} : { coordinatorUrl: url }) });
    }
    return { partition, replica };
  }

  private async foldOffsets(partition: number, replica: PartitionReplica): Promise<void> {
    for (;;) {
      const from = this.coordinator.loadedUpTo(partition);
      if (from >= replica.highWatermark) return;
      const batches = await replica.log.readBatches(from, offsetsFoldBytesMax, replica.highWatermark);
      if (batches.length === 0) return;
      this.coordinator.fold(partition, batches);
    }
  }

  private async createOffsetsTopic(): Promise<void> {
    if (this.creatingOffsetsTopic) return;
    this.creatingOffsetsTopic = true;
    try {
      await this.deps.quorum.createTopic({ name: offsetsTopicName, partitions: this.settings.offsetsTopicPartitions });
      this.refreshMetadata();
    } catch (error) {
      if ((error as { code?: unknown }).code !== "TOPIC_EXISTS") this.deps.log.warn({ err: error }, `cannot create ${offsetsTopicName}`);
    } finally {
      this.creatingOffsetsTopic = false;
    }
  }

  private partitionsCount(topic: string): number {
    const found = this.image.topics.get(topic);
    if (found === undefined) throw new BrokerError("UNKNOWN_TOPIC_OR_PARTITION", `Cannot find topic ${topic}`);
    return found.partitions.size;
  }

  // ---------------------------------------------------------------- status

  status(): BrokerStatusAnswerJson {
    const partitions = [...this.replicas.values()].map((replica) => ({
      topic: replica.topic,
      partition: replica.partitionId,
      role: replica.isLeader() ? ("leader" as const) : ("follower" as const),
      leader: replica.leaderId(),
      partitionEpoch: replica.metadata.partitionEpoch,
      isr: [...replica.metadata.ISR],
      logStartOffset: replica.log.logStartOffset,
      logEndOffset: replica.log.logEndOffset,
      highWatermark: replica.highWatermark,
    }));
    partitions.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    return { brokerId: this.brokerId, brokerEpoch: this.brokerEpoch, brokerStatus: this.brokerStatus, metadataOffset: this.image.offset, partitions };
  }

  /** `http://host:port` of a broker, for leader hints in errors. */
  urlOf(brokerId: number): string | undefined {
    return brokerUrl(this.image, brokerId);
  }

  private replicaFor(topic: string, partitionId: number): PartitionReplica {
    if (this.stopping) throw new BrokerError("STOPPING", "Cannot serve as the broker is stopping");
    const replica = this.replicas.get(replicaKey(topic, partitionId));
    if (replica !== undefined) return replica;
    const partition = partitionOf(this.image, topic, partitionId);
    if (partition === undefined) {
      this.refreshMetadata();
      throw new BrokerError("UNKNOWN_TOPIC_OR_PARTITION", `Cannot find ${topic}-${partitionId} in this broker's metadata (offset ${this.image.offset})`);
    }
    if (partition.leader < 0) throw new BrokerError("LEADER_NOT_AVAILABLE", `Cannot serve ${topic}-${partitionId} as it has no leader now`);
    throw new BrokerError("NOT_LEADER_FOR_PARTITION", `Cannot serve ${topic}-${partitionId} as this broker holds no replica of it: its leader is ${partition.leader}`, { leaderId: partition.leader });
  }
}

function replicaKey(topic: string, partitionId: number): string {
  return `${topic}/${partitionId}`;
}

/** The records of `batches` from `fromOffset` on (a batch may begin before it). */
function consumedRecords(batches: readonly ReadBatch[], fromOffset: number): ConsumedRecord[] {
  const records: ConsumedRecord[] = [];
  for (const batch of batches) {
    batch.records.forEach((record, i) => {
      const offset = batch.baseOffset + i;
      if (offset < fromOffset) return;
      records.push({ offset, key: record.key === null ? null : textDecoder.decode(record.key), value: textDecoder.decode(record.value), timestampMs: record.timestampMs });
    });
  }
  return records;
}

function abortableWait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
