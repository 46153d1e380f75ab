import type { Broker, BrokerStatus, Partition, ProducerIds, TopicFields } from "../../metadata/records.js";
import type { BrokerMetadataAnswerJson, Changes, MetadataRecordJson } from "../schemas.js";

/**
 * What the compatibility routes answer, the same in every profile (docs/COMPAT.md): the course spec's
 * shapes rather than the canonical API's wrappers.
 *
 * - A record is the spec envelope `{ type: "metadata", name, fields, timestamp }`. Records read from the
 *   log carry the leader's `timestamp` (epoch ms) and their `offset`; records built from the current
 *   state (a broker, a topic, a list) have `timestamp: null`, as the state keeps no time per entity.
 * - Lists are JSON arrays of records.
 * - A write answers the unique id of the entity it wrote (SPEC §4 "returning unique ID of the entity")
 *   and the log `offset` it was applied at; broker writes add the broker's new `epoch`.
 * - Changes since an offset are `{ kind, currentOffset, records }`: the log records missed, or, when the
 *   answer is the whole image (`kind: "snapshot"`), one record per broker, topic, partition and producer.
 * - UNFENCED shows as ALIVE, the word the earlier implementations used for it (SPEC §3).
 */

export interface RecordEnvelope {
  readonly type: "metadata";
  readonly name: string;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly timestamp: number | null;
  readonly offset?: number;
}

/** The metadata image, as the state machine and the canonical answers both hold it. */
export interface ImageLike {
  readonly brokers: readonly Broker[];
  readonly topics: readonly (TopicFields & { readonly partitions: readonly Partition[] })[];
  readonly producers?: readonly ProducerIds[];
}

export interface ChangesAnswer {
  readonly kind: "delta" | "snapshot";
  readonly currentOffset: number;
  readonly records: readonly RecordEnvelope[];
}

/** The broker status as the earlier implementations spelt it. */
export function shownStatus(status: BrokerStatus): string {
  return status === "UNFENCED" ? "ALIVE" : status;
}

export function brokerRecord(broker: Broker): RecordEnvelope {
  const { internalUUID, brokerId, brokerHost, brokerPort, securityProtocol, brokerStatus, rackId, epoch } = broker;
  return stateRecord("RegisterBrokerRecord", { internalUUID, brokerId, brokerHost, brokerPort, securityProtocol, brokerStatus: shownStatus(brokerStatus), rackId, epoch });
}

export function topicRecord(topic: TopicFields): RecordEnvelope {
  return stateRecord("TopicRecord", { topicUUID: topic.topicUUID, name: topic.name });
}

/** SPEC §3's PartitionRecord fields only: a `topicName` beside them is dropped (`topicUUID` names the topic). */
export function partitionRecord(partition: Partition): RecordEnvelope {
  const { partitionId, topicUUID, replicas, ISR, removingReplicas, addingReplicas, leader, partitionEpoch } = partition;
  return stateRecord("PartitionRecord", { partitionId, topicUUID, replicas, ISR, removingReplicas, addingReplicas, leader, partitionEpoch });
}

export function producerRecord(producer: ProducerIds): RecordEnvelope {
  return stateRecord("ProducerIdsRecord", { brokerId: producer.brokerId, brokerEpoch: producer.brokerEpoch, producerId: producer.producerId });
}

/** A record of the log as it was committed, with the broker status shown the old way. */
export function logRecord(record: MetadataRecordJson): RecordEnvelope {
  const fields = record.fields as Readonly<Record<string, unknown>>;
  const status = fields["brokerStatus"];
  return { ...record, fields: status === "UNFENCED" ? { ...fields, brokerStatus: shownStatus(status) } : fields };
}

/** The whole metadata image as records: brokers, then each topic followed by its partitions, then producers. */
export function imageRecords(image: ImageLike): RecordEnvelope[] {
  return [
    ...image.brokers.map(brokerRecord),
    ...image.topics.flatMap((topic) => [topicRecord(topic), ...topic.partitions.map(partitionRecord)]),
    ...(image.producers ?? []).map(producerRecord),
  ];
}

export function changesAnswer(changes: Changes): ChangesAnswer {
  const records = changes.kind === "delta" ? (changes.records ?? []).map(logRecord) : imageRecords(changes.snapshot ?? { brokers: [], topics: [] });
  return { kind: changes.kind, currentOffset: changes.currentOffset, records };
}

export function heartbeatAnswer(answer: BrokerMetadataAnswerJson) {
  const { brokerId, brokerEpoch, brokerStatus, heartbeatIntervalMs, sessionTimeoutMs, ...changes } = answer;
  return { brokerId, brokerEpoch, brokerStatus: shownStatus(brokerStatus), heartbeatIntervalMs, sessionTimeoutMs, ...changesAnswer(changes) };
}

function stateRecord(name: string, fields: Readonly<Record<string, unknown>>): RecordEnvelope {
  return { type: "metadata", name, fields, timestamp: null };
}
