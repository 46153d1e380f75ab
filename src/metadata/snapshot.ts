import { assert } from "../shared/assert.js";
import { resetHistory } from "./history.js";
import type { Broker, ControllerRegistration, Partition, ProducerIds } from "./records.js";
import { noReplicas } from "./records.js";
import type { ApplyResult } from "./results.js";
import type { MetadataState } from "./state.js";
import { createMetadataState, partitionsInOrder, sortedNumbers, sortedStrings, topicsInOrder } from "./state.js";

/**
 * The replicated state as bytes: everything `apply` reads — brokers with their epochs, topics, partitions,
 * producer ids and the allocation mark, client sessions, registered controllers — in sorted order, so
 * equal states encode to equal bytes. The history is not in it: it restarts at the restore index. JSON,
 * behind these two functions so a binary form can replace it.
 *
 * Version 3 writes each partition as a tuple `[partitionId, leader, partitionEpoch, replicas, ISR]` (plus
 * `removingReplicas, addingReplicas` when either is non-empty) under its topic, instead of an object that
 * repeats every field name and the topic's UUID: a million partitions take ~25 MB instead of ~170 MB and
 * decode several times faster, which is what bounds a controller's start and a snapshot install at scale.
 * Version 2 added the registered controllers; versions 1 and 2 (written before) still decode.
 */
const snapshotVersion = 3;
const snapshotVersionsRead: readonly number[] = [1, 2, 3];

/** A partition in version 3: the topic's UUID is its topic's; the last two are left out when both are empty. */
type PartitionTuple =
  | readonly [partitionId: number, leader: number, partitionEpoch: number, replicas: readonly number[], isr: readonly number[]]
  | readonly [partitionId: number, leader: number, partitionEpoch: number, replicas: readonly number[], isr: readonly number[], removing: readonly number[], adding: readonly number[]];

interface SnapshotImage {
  readonly version: number;
  readonly offset: number;
  readonly recordTimestampMsMax: number;
  readonly nextProducerId: number;
  readonly brokers: readonly Broker[];
  /** Partitions are `Partition` objects up to version 2, `PartitionTuple`s from version 3. */
  readonly topics: readonly { readonly name: string; readonly topicUUID: string; readonly partitions: readonly (Partition | PartitionTuple)[] }[];
  readonly producers: readonly ProducerIds[];
  readonly clientSessions: readonly { readonly clientId: string; readonly sequence: number; readonly timestampMs: number; readonly result: ApplyResult }[];
  /** Absent in version 1. */
  readonly controllers?: readonly ControllerRegistration[];
}

function partitionTuple(partition: Partition): PartitionTuple {
  const { partitionId, leader, partitionEpoch, replicas, ISR, removingReplicas, addingReplicas } = partition;
  if (removingReplicas.length === 0 && addingReplicas.length === 0) return [partitionId, leader, partitionEpoch, replicas, ISR];
  return [partitionId, leader, partitionEpoch, replicas, ISR, removingReplicas, addingReplicas];
}

function partitionOf(encoded: Partition | PartitionTuple, topicUUID: string, version: number): Partition {
  if (version < 3) return encoded as Partition;
  const [partitionId, leader, partitionEpoch, replicas, ISR, removing, adding] = encoded as PartitionTuple;
  return { partitionId, topicUUID, replicas, ISR, removingReplicas: nonEmpty(removing), addingReplicas: nonEmpty(adding), leader, partitionEpoch };
}

function nonEmpty(replicas: readonly number[] | undefined): readonly number[] {
  return replicas === undefined || replicas.length === 0 ? noReplicas : replicas;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

export function encodeSnapshot(state: MetadataState): Uint8Array {
  const image: SnapshotImage = {
    version: snapshotVersion,
    offset: state.offset,
    recordTimestampMsMax: state.recordTimestampMsMax,
    nextProducerId: state.nextProducerId,
    brokers: sortedNumbers(state.brokers.keys()).map((id) => mustGet(state.brokers, id)),
    topics: [...topicsInOrder(state)].map((topic) => ({ name: topic.name, topicUUID: topic.topicUUID, partitions: partitionsInOrder(topic).map(partitionTuple) })),
    producers: sortedNumbers(state.producers.keys()).map((id) => mustGet(state.producers, id)),
    clientSessions: sortedStrings(state.clientSessions.keys()).map((clientId) => ({ clientId, ...mustGet(state.clientSessions, clientId) })),
    controllers: sortedNumbers(state.controllers.keys()).map((id) => mustGet(state.controllers, id)),
  };
  return textEncoder.encode(JSON.stringify(image));
}

/**
 * The state a snapshot holds, at log index `offset` (which wins over the one inside: the caller's index
 * is where the log says the snapshot sits). Empty data is the empty state. Snapshot bytes come from
 * `encodeSnapshot` through checksummed storage, so malformed data is a bug and throws.
 */
export function decodeSnapshot(data: Uint8Array, offset: number): MetadataState {
  const state = createMetadataState(offset);
  if (data.length === 0) return state;
  const image = JSON.parse(textDecoder.decode(data)) as SnapshotImage;
  assert(snapshotVersionsRead.includes(image.version), `snapshot version must be one of ${snapshotVersionsRead.join(", ")}: current value is ${image.version}`);
  assert(image.offset <= offset, `snapshot taken at ${image.offset} cannot sit at index ${offset}`);
  state.recordTimestampMsMax = image.recordTimestampMsMax;
  state.nextProducerId = image.nextProducerId;
  for (const broker of image.brokers) state.brokers.set(broker.brokerId, broker);
  for (const { name, topicUUID, partitions } of image.topics) {
    const byId = new Map<number, Partition>();
    for (const encoded of partitions) {
      const partition = partitionOf(encoded, topicUUID, image.version);
      byId.set(partition.partitionId, partition);
    }
    state.topics.set(name, { name, topicUUID, partitions: byId });
    state.topicNamesByUUID.set(topicUUID, name);
  }
  for (const producer of image.producers) state.producers.set(producer.producerId, producer);
  for (const { clientId, ...entry } of image.clientSessions) state.clientSessions.set(clientId, entry);
  for (const controller of image.controllers ?? []) state.controllers.set(controller.controllerId, controller);
  resetHistory(state, offset);
  return state;
}

function mustGet<K, V>(map: ReadonlyMap<K, V>, key: K): V {
  const value = map.get(key);
  assert(value !== undefined, `key ${String(key)} must be present`);
  return value;
}
