import { setTimeout as sleepMs } from "node:timers/promises";
import { CompactImageError, decodeCompactImage } from "../api/compactImage.js";
import type { Changes, CompactChanges, CreateTopicRequest, MetadataFormat, Topic, TopicWriteAnswerJson } from "../api/schemas.js";
import { AdminError } from "./adminError.js";
import { ClientError } from "./clientError.js";

/**
 * The client's view of the data plane: brokers and topic partitions as the controllers know them
 * (`GET /v1/client-mgmt/metadata?format=compact`, stale reads are fine: a broker that is not the leader
 * says so and the view is refreshed). A full image comes in the compact form (partitions as tuples, a
 * fraction of the SPEC form's size); an answer in the SPEC form is read as well. The view is plain data, folded from the controllers' answers by
 * `applyChanges`; `ClusterMetadata` keeps one up to date for a producer or consumer.
 */

export interface BrokerInfo {
  readonly brokerId: number;
  /** `http://brokerHost:brokerPort`. */
  readonly url: string;
  readonly status: string;
}

export interface PartitionInfo {
  readonly partition: number;
  /** The leader broker, -1 when the partition has none. */
  readonly leader: number;
  readonly partitionEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

export interface TopicInfo {
  readonly name: string;
  readonly topicUUID: string;
  /** In partition id order. */
  readonly partitions: readonly PartitionInfo[];
}

export interface MetadataView {
  /** The metadata offset the view is at: the `offset` of the next delta asked for (0 for none yet). */
  readonly offset: number;
  readonly brokers: ReadonlyMap<number, BrokerInfo>;
  readonly topics: ReadonlyMap<string, TopicInfo>;
}

export const emptyMetadataView: MetadataView = { offset: 0, brokers: new Map(), topics: new Map() };

/** What the client needs of the controllers: `AdminClient` is one. */
export interface MetadataSource {
  clientMetadata(options: { readonly consistency?: "linearizable" | "stale"; readonly offset?: number | string; readonly format: MetadataFormat }): Promise<Changes | CompactChanges>;
  createTopic(request: CreateTopicRequest): Promise<TopicWriteAnswerJson>;
}

/** A missing topic a producer or consumer names is created with these (SPEC §5). */
export interface AutoCreateTopics {
  readonly partitionsCount: number;
  /** min(3, live brokers) when absent: the controllers' own default. */
  readonly replicationFactor?: number;
}

export interface ClusterMetadataOptions {
  readonly admin: MetadataSource;
  /** The least time between two asks to the controllers, however many callers want a refresh. */
  readonly refreshIntervalMsMin?: number;
  /** `false`: a missing topic is an error (UNKNOWN_TOPIC). */
  readonly autoCreateTopics?: AutoCreateTopics | false;
  readonly nowMs?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Ends a wait between refreshes (then the refresh fails with CLOSED). */
  readonly signal?: AbortSignal;
}

export const clusterMetadataDefaults = {
  /** Kafka's retry.backoff.ms is 100 ms; twice that spares the controllers when many partitions move at once. */
  refreshIntervalMsMin: 200,
  autoCreateTopics: { partitionsCount: 3 } satisfies AutoCreateTopics,
} as const;

/** The replication factor the controllers default to (SPEC §5: three brokers by default). */
const replicationFactorDefaultMax = 3;

/** Keeps a `MetadataView` fresh on demand, at most one ask at a time and one per `refreshIntervalMsMin`. */
export class ClusterMetadata {
  private current: MetadataView = emptyMetadataView;
  private refreshing: Promise<MetadataView> | undefined;
  private lastRefreshMs: number | undefined;
  private readonly creating = new Map<string, Promise<TopicInfo>>();
  private readonly admin: MetadataSource;
  private readonly refreshIntervalMsMin: number;
  private readonly autoCreate: AutoCreateTopics | false;
  private readonly nowMs: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly signal: AbortSignal | undefined;

  constructor(options: ClusterMetadataOptions) {
    this.admin = options.admin;
    this.refreshIntervalMsMin = options.refreshIntervalMsMin ?? clusterMetadataDefaults.refreshIntervalMsMin;
    this.autoCreate = options.autoCreateTopics ?? clusterMetadataDefaults.autoCreateTopics;
    this.nowMs = options.nowMs ?? Date.now;
    this.sleep = options.sleep ?? ((ms, signal) => sleepMs(ms, undefined, signal === undefined ? {} : { signal }));
    this.signal = options.signal;
  }

  view(): MetadataView {
    return this.current;
  }

  /**
   * Asks the controllers for the changes since the view's offset. Callers while one is under way share
   * it; one that comes sooner than `refreshIntervalMsMin` after the last waits out the rest first.
   * Fails with the admin client's error (as a ClientError) when no controller answers.
   */
  refresh(): Promise<MetadataView> {
    if (this.refreshing !== undefined) return this.refreshing;
    const refreshing = this.refreshAfterInterval().finally(() => {
      this.refreshing = undefined;
    });
    this.refreshing = refreshing;
    return refreshing;
  }

  /** The topic, after a refresh when it is not in the view, created first when missing and allowed. */
  async topic(name: string): Promise<TopicInfo> {
    const known = this.current.topics.get(name) ?? (await this.refresh()).topics.get(name);
    if (known !== undefined) return known;
    if (this.autoCreate === false) throw new ClientError("UNKNOWN_TOPIC", 0, `Cannot use topic ${name} as it does not exist and creating topics is off`, { topic: name });
    const pending = this.creating.get(name) ?? this.createTopic(name, this.autoCreate);
    this.creating.set(name, pending);
    return pending.finally(() => this.creating.delete(name));
  }

  /** The leader's URL, or undefined when the partition has no leader or the view does not know it. */
  leaderUrl(topic: string, partition: number): string | undefined {
    const leader = this.current.topics.get(topic)?.partitions.find((p) => p.partition === partition)?.leader;
    return leader === undefined || leader < 0 ? undefined : this.current.brokers.get(leader)?.url;
  }

  /** A broker to ask what any broker answers (producer ids, a group's coordinator): the live ones in turn. */
  anyBrokerUrl(turn: number): string | undefined {
    const brokers = [...this.current.brokers.values()];
    const live = brokers.filter((b) => b.status === "UNFENCED");
    const candidates = live.length > 0 ? live : brokers.filter((b) => b.status !== "CLOSED");
    return candidates.length === 0 ? undefined : candidates[turn % candidates.length]?.url;
  }

  private async refreshAfterInterval(): Promise<MetadataView> {
    if (this.lastRefreshMs !== undefined) {
      const waitMs = this.lastRefreshMs + this.refreshIntervalMsMin - this.nowMs();
      if (waitMs > 0) await this.sleep(waitMs, this.signal).catch(() => undefined);
      if (this.signal?.aborted === true) throw new ClientError("CLOSED", 0, "Cannot refresh the cluster metadata as the client is closed");
    }
    this.lastRefreshMs = this.nowMs();
    try {
      const changes = await this.admin.clientMetadata({ consistency: "stale", format: "compact", ...(this.current.offset > 0 ? { offset: this.current.offset } : {}) });
      this.current = applyChanges(this.current, changes);
      return this.current;
    } catch (error) {
      if (error instanceof AdminError) throw ClientError.fromAdmin(error);
      if (error instanceof CompactImageError) throw new ClientError("BAD_RESPONSE", 200, error.message, { field: error.path });
      throw error;
    }
  }

  private async createTopic(name: string, autoCreate: AutoCreateTopics): Promise<TopicInfo> {
    const liveCount = [...this.current.brokers.values()].filter((b) => b.status === "UNFENCED").length;
    const replicationFactor = autoCreate.replicationFactor ?? Math.min(replicationFactorDefaultMax, liveCount);
    try {
      const answer = await this.admin.createTopic({ name, partitions: autoCreate.partitionsCount, ...(replicationFactor > 0 ? { replicationFactor } : {}) });
      const created = topicInfo(answer.topic);
      this.current = { ...this.current, topics: new Map(this.current.topics).set(name, created) };
      return created;
    } catch (error) {
      if (!(error instanceof AdminError)) throw error;
      if (error.code !== "TOPIC_EXISTS") throw ClientError.fromAdmin(error);
    }
    // Another client created it first; the controller that refused knows it, our stale view may not yet.
    const found = (await this.refresh()).topics.get(name);
    if (found === undefined) throw new ClientError("UNKNOWN_TOPIC_OR_PARTITION", 0, `Cannot find topic ${name} in the metadata although the controllers say it exists: retry shortly`, { topic: name });
    return found;
  }
}

// ---------------------------------------------------------------- folding the controllers' answers

/**
 * The view after `changes`: a snapshot replaces it, a delta's records are applied in order. An answer
 * from a controller that is behind this view (its `currentOffset` is lower) is ignored. Pure. A full
 * image in the compact form that is not one throws CompactImageError.
 */
export function applyChanges(view: MetadataView, changes: Changes | CompactChanges): MetadataView {
  if (changes.currentOffset < view.offset) return view;
  if (changes.kind === "snapshot" && "format" in changes && changes.format === "compact") {
    if (changes.snapshot === undefined) return { offset: changes.currentOffset, brokers: new Map(), topics: new Map() };
    const image = decodeCompactImage(changes.snapshot, compactPartitionInfo);
    return {
      offset: changes.currentOffset,
      brokers: new Map(image.brokers.map((b) => [b.brokerId, brokerInfo(b.brokerId, b.brokerHost, b.brokerPort, b.brokerStatus)])),
      topics: new Map(image.topics.map((t) => [t.name, { name: t.name, topicUUID: t.topicUUID, partitions: inIdOrder(t.partitions) }])),
    };
  }
  if (changes.kind === "snapshot") {
    const image = (changes as Changes).snapshot ?? { brokers: [], topics: [] };
    return {
      offset: changes.currentOffset,
      brokers: new Map(image.brokers.map((b) => [b.brokerId, brokerInfo(b.brokerId, b.brokerHost, b.brokerPort, b.brokerStatus)])),
      topics: new Map(image.topics.map((t) => [t.name, topicInfo(t)])),
    };
  }
  const brokers = new Map(view.brokers);
  const topics = new Map(view.topics);
  for (const record of changes.records ?? []) {
    if (record.offset <= view.offset) continue;
    applyRecord(brokers, topics, record.name, record.fields as Readonly<Record<string, unknown>>);
  }
  return { offset: changes.currentOffset, brokers, topics };
}

/** One client record (SPEC §3); fields that do not have the record's shape leave the view as it was. */
function applyRecord(brokers: Map<number, BrokerInfo>, topics: Map<string, TopicInfo>, name: string, fields: Readonly<Record<string, unknown>>): void {
  switch (name) {
    case "RegisterBrokerRecord":
    case "BrokerRegistrationChangeRecord": {
      const { brokerId, brokerHost, brokerPort, brokerStatus } = fields;
      if (typeof brokerId !== "number" || typeof brokerHost !== "string" || typeof brokerPort !== "number" || typeof brokerStatus !== "string") return;
      brokers.set(brokerId, brokerInfo(brokerId, brokerHost, brokerPort, brokerStatus));
      return;
    }
    case "TopicRecord": {
      if (typeof fields["name"] !== "string" || typeof fields["topicUUID"] !== "string") return;
      topics.set(fields["name"], { name: fields["name"], topicUUID: fields["topicUUID"], partitions: [] });
      return;
    }
    case "RemoveTopicRecord": {
      if (typeof fields["name"] === "string") topics.delete(fields["name"]);
      return;
    }
    case "PartitionRecord":
    case "PartitionChangeRecord": {
      const partition = partitionInfo(fields);
      const topic = [...topics.values()].find((t) => t.topicUUID === fields["topicUUID"]);
      if (partition === undefined || topic === undefined) return;
      const others = topic.partitions.filter((p) => p.partition !== partition.partition);
      topics.set(topic.name, { ...topic, partitions: [...others, partition].sort((a, b) => a.partition - b.partition) });
      return;
    }
    default:
      // Records clients do not see (producer ids) or do not know yet: nothing of the view changes.
      return;
  }
}

function brokerInfo(brokerId: number, host: string, port: number, status: string): BrokerInfo {
  // An IPv6 literal needs brackets in a URL.
  const hostPart = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return { brokerId, url: `http://${hostPart}:${port}`, status };
}

function compactPartitionInfo(_topic: unknown, partition: number, leader: number, partitionEpoch: number, replicas: readonly number[], isr: readonly number[]): PartitionInfo {
  return { partition, leader, partitionEpoch, replicas, isr };
}

/** The answer's partitions are in id order already; a copy is sorted only if they are not. */
function inIdOrder(partitions: readonly PartitionInfo[]): readonly PartitionInfo[] {
  for (let i = 1; i < partitions.length; i++) {
    if ((partitions[i - 1] as PartitionInfo).partition > (partitions[i] as PartitionInfo).partition) return [...partitions].sort((a, b) => a.partition - b.partition);
  }
  return partitions;
}

function topicInfo(topic: Topic): TopicInfo {
  const partitions = topic.partitions.map((p) => ({ partition: p.partitionId, leader: p.leader, partitionEpoch: p.partitionEpoch, replicas: p.replicas, isr: p.ISR }));
  return { name: topic.name, topicUUID: topic.topicUUID, partitions: partitions.sort((a, b) => a.partition - b.partition) };
}

function partitionInfo(fields: Readonly<Record<string, unknown>>): PartitionInfo | undefined {
  const { partitionId, leader, partitionEpoch, replicas, ISR } = fields;
  if (typeof partitionId !== "number" || typeof leader !== "number" || typeof partitionEpoch !== "number") return undefined;
  return { partition: partitionId, leader, partitionEpoch, replicas: numbers(replicas), isr: numbers(ISR) };
}

function numbers(value: unknown): number[] {
  return Array.isArray(value) ? value.filter((n): n is number => typeof n === "number") : [];
}
