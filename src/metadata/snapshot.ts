import { assert } from "../shared/assert.js";
import { resetHistory } from "./history.js";
import type { Broker, ControllerRegistration, Partition, ProducerIds } from "./records.js";
import type { ApplyResult } from "./results.js";
import type { MetadataState } from "./state.js";
import { createMetadataState, partitionsInOrder, sortedNumbers, sortedStrings, topicsInOrder } from "./state.js";

/**
 * The replicated state as bytes: everything `apply` reads — brokers with their epochs, topics, partitions,
 * producer ids and the allocation mark, client sessions, registered controllers — in sorted order, so
 * equal states encode to equal bytes. The history is not in it: it restarts at the restore index. JSON for
 * now, behind these two functions so a binary form can replace it.
 *
 * Version 2 added the registered controllers; a version 1 snapshot (written before) decodes with none.
 */
const snapshotVersion = 2;
const snapshotVersionsRead: readonly number[] = [1, 2];

interface SnapshotImage {
  readonly version: number;
  readonly offset: number;
  readonly recordTimestampMsMax: number;
  readonly nextProducerId: number;
  readonly brokers: readonly Broker[];
  readonly topics: readonly { readonly name: string; readonly topicUUID: string; readonly partitions: readonly Partition[] }[];
  readonly producers: readonly ProducerIds[];
  readonly clientSessions: readonly { readonly clientId: string; readonly sequence: number; readonly timestampMs: number; readonly result: ApplyResult }[];
  /** Absent in version 1. */
  readonly controllers?: readonly ControllerRegistration[];
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
    topics: [...topicsInOrder(state)].map((topic) => ({ name: topic.name, topicUUID: topic.topicUUID, partitions: partitionsInOrder(topic) })),
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
    state.topics.set(name, { name, topicUUID, partitions: new Map(partitions.map((partition) => [partition.partitionId, partition])) });
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
