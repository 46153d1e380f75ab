import { decodeCompactImage } from "../api/compactImage.js";
import type { Broker, Changes, CompactChanges, Image, MetadataRecordJson, TopicPartition } from "../api/schemas.js";

/**
 * A broker's local copy of the cluster metadata (SPEC §5): brokers and topic partitions as of
 * `offset`, kept up to date from the quorum's answers to its heartbeats — deltas (the records it
 * missed) or, when those are no longer kept, the whole image (asked for in the compact form, read in
 * either: src/api/compactImage.ts). Plain data; `applyChanges` returns a new
 * image and what changed, so the broker reconciles only the partitions a change touched.
 */
export interface MetadataImage {
  /** The metadata log offset this image reflects (0 before the first fetch). */
  readonly offset: number;
  readonly brokers: ReadonlyMap<number, Broker>;
  /** By topic name. */
  readonly topics: ReadonlyMap<string, TopicImage>;
}

export interface TopicImage {
  readonly name: string;
  readonly topicUUID: string;
  readonly partitions: ReadonlyMap<number, TopicPartition>;
}

export const emptyImage: MetadataImage = { offset: 0, brokers: new Map(), topics: new Map() };

/** Applies one heartbeat answer. A full image in the compact form that is not one throws CompactImageError. */
export function applyChanges(image: MetadataImage, changes: Changes | CompactChanges): MetadataImage {
  if (changes.kind === "snapshot") {
    if (changes.snapshot === undefined) return { ...image, offset: changes.currentOffset };
    return "format" in changes && changes.format === "compact" ? fromCompact(changes.snapshot, changes.currentOffset) : fromSnapshot((changes as Changes).snapshot as Image, changes.currentOffset);
  }
  const brokers = new Map(image.brokers);
  const topics = new Map(image.topics);
  for (const record of changes.records ?? []) applyRecord(brokers, topics, record);
  return { offset: Math.max(image.offset, changes.currentOffset), brokers, topics };
}

function fromSnapshot(snapshot: Image, offset: number): MetadataImage {
  const brokers = new Map(snapshot.brokers.map((b) => [b.brokerId, b]));
  const topics = new Map<string, TopicImage>();
  for (const topic of snapshot.topics) {
    const partitions = new Map(topic.partitions.map((p) => [p.partitionId, { ...p, topicName: topic.name }]));
    topics.set(topic.name, { name: topic.name, topicUUID: topic.topicUUID, partitions });
  }
  return { offset, brokers, topics };
}

function fromCompact(snapshot: unknown, offset: number): MetadataImage {
  const decoded = decodeCompactImage(snapshot, topicPartition);
  const brokers = new Map(decoded.brokers.map((b) => [b.brokerId, b]));
  const topics = new Map<string, TopicImage>();
  for (const topic of decoded.topics) {
    const partitions = new Map<number, TopicPartition>();
    for (const partition of topic.partitions) partitions.set(partition.partitionId, partition);
    topics.set(topic.name, { name: topic.name, topicUUID: topic.topicUUID, partitions });
  }
  return { offset, brokers, topics };
}

/** Fields in the order a PartitionRecord's `{ ...fields, topicName }` has them, so both kinds share one shape. */
function topicPartition(
  topic: { readonly name: string; readonly topicUUID: string },
  partitionId: number,
  leader: number,
  partitionEpoch: number,
  replicas: readonly number[],
  ISR: readonly number[],
  removingReplicas: readonly number[],
  addingReplicas: readonly number[],
): TopicPartition {
  return { partitionId, topicUUID: topic.topicUUID, replicas, ISR, removingReplicas, addingReplicas, leader, partitionEpoch, topicName: topic.name } as TopicPartition;
}

/** Records this image does not hold (producer ids, controller registrations) are skipped. */
function applyRecord(brokers: Map<number, Broker>, topics: Map<string, TopicImage>, record: MetadataRecordJson): void {
  const fields = record.fields as Record<string, unknown>;
  switch (record.name) {
    case "RegisterBrokerRecord":
      brokers.set(fields["brokerId"] as number, fields as unknown as Broker);
      return;
    case "BrokerRegistrationChangeRecord": {
      const brokerId = fields["brokerId"] as number;
      const known = brokers.get(brokerId);
      if (known !== undefined) brokers.set(brokerId, { ...known, ...(fields as Partial<Broker>) });
      return;
    }
    case "TopicRecord":
      topics.set(fields["name"] as string, { name: fields["name"] as string, topicUUID: fields["topicUUID"] as string, partitions: new Map() });
      return;
    case "RemoveTopicRecord":
      topics.delete(fields["name"] as string);
      return;
    case "PartitionRecord":
    case "PartitionChangeRecord": {
      const topicUUID = fields["topicUUID"] as string;
      const topic = [...topics.values()].find((t) => t.topicUUID === topicUUID);
      if (topic === undefined) return;
      const partition = { ...(fields as unknown as Omit<TopicPartition, "topicName">), topicName: topic.name };
      const partitions = new Map(topic.partitions);
      partitions.set(partition.partitionId, partition);
      topics.set(topic.name, { ...topic, partitions });
      return;
    }
    default:
      return;
  }
}

/** Every partition that has `brokerId` among its replicas. */
export function partitionsOf(image: MetadataImage, brokerId: number): TopicPartition[] {
  const found: TopicPartition[] = [];
  for (const topic of image.topics.values()) {
    for (const partition of topic.partitions.values()) if (partition.replicas.includes(brokerId)) found.push(partition);
  }
  return found;
}

export function partitionOf(image: MetadataImage, topic: string, partitionId: number): TopicPartition | undefined {
  return image.topics.get(topic)?.partitions.get(partitionId);
}

/** `http://host:port` of a registered broker. */
export function brokerUrl(image: MetadataImage, brokerId: number): string | undefined {
  const broker = image.brokers.get(brokerId);
  if (broker === undefined) return undefined;
  const host = broker.brokerHost.includes(":") ? `[${broker.brokerHost}]` : broker.brokerHost;
  return `http://${host}:${broker.brokerPort}`;
}
