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
  const encoder = snapshotEncoder(state, { partitionsPerStep: Number.POSITIVE_INFINITY });
  while (!encoder.step());
  return encoder.bytes();
}

/**
 * Encodes a snapshot a step at a time, so a caller can give its event loop a turn between steps: at a
 * million partitions the whole encoding takes several hundred milliseconds.
 *
 * The encoder captures the state when it is created — the entries of every map, each topic's partitions
 * in order — and encodes that copy, so the state may go on changing between steps: the bytes are those
 * `encodeSnapshot` gave at creation, at `offset`. The capture is cheap (references: brokers, partitions,
 * producers and sessions are immutable values that a change replaces, never edits) and the expensive
 * part, turning partitions into tuples and tuples into text, is what the steps share.
 */
export interface SnapshotEncoder {
  /** The state's offset at capture: the log index the snapshot sits at. */
  readonly offset: number;
  /** Encodes the next part; true once everything is encoded. */
  step(): boolean;
  /** The whole snapshot, once `step()` has returned true. */
  bytes(): Uint8Array;
}

/** Partitions per step by default: well under a tick's worth of encoding. */
export const snapshotStepPartitionsDefault = 50_000;

export interface SnapshotEncoderOptions {
  /** Partitions turned into text per step (a topic is never split). */
  readonly partitionsPerStep?: number;
  /** The buffer's first size beyond the partitions' estimate (tests make it small to see it grow). */
  readonly spareBytes?: number;
}

export function snapshotEncoder(state: MetadataState, options: SnapshotEncoderOptions = {}): SnapshotEncoder {
  const partitionsPerStep = options.partitionsPerStep ?? snapshotStepPartitionsDefault;
  const spareBytes = options.spareBytes ?? spareBytesDefault;
  assert(partitionsPerStep >= 1, `partitionsPerStep must be at least 1: current value is ${partitionsPerStep}`);
  // The capture: everything below is a copy of the state's containers, holding its immutable values.
  const offset = state.offset;
  const head = {
    version: snapshotVersion,
    offset,
    recordTimestampMsMax: state.recordTimestampMsMax,
    nextProducerId: state.nextProducerId,
    brokers: sortedNumbers(state.brokers.keys()).map((id) => mustGet(state.brokers, id)),
  };
  const topics = [...topicsInOrder(state)].map((topic) => ({ name: topic.name, topicUUID: topic.topicUUID, partitions: partitionsInOrder(topic) }));
  const tail = {
    producers: sortedNumbers(state.producers.keys()).map((id) => mustGet(state.producers, id)),
    clientSessions: sortedStrings(state.clientSessions.keys()).map((clientId) => ({ clientId, ...mustGet(state.clientSessions, clientId) })),
    controllers: sortedNumbers(state.controllers.keys()).map((id) => mustGet(state.controllers, id)),
  };

  // The text is JSON.stringify of a SnapshotImage, in its key order, written a part at a time into one
  // buffer sized for the partitions (grown if it falls short), so no step copies the whole snapshot.
  let partitionsCount = 0;
  for (const topic of topics) partitionsCount += topic.partitions.length;
  let buffer = new Uint8Array(spareBytes + partitionBytesEstimate * partitionsCount);
  let used = 0;
  const write = (text: string): void => {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (buffer.length - used < text.length * 3) {
      const grown = new Uint8Array(Math.max(buffer.length * 2, used + text.length * 3));
      grown.set(buffer.subarray(0, used));
      buffer = grown;
    }
    const { read, written } = textEncoder.encodeInto(text, buffer.subarray(used));
    assert(read === text.length, `a snapshot part must be encoded whole: ${read} of ${text.length} units`);
    used += written;
  };
  let nextTopic = 0;
  let done = false;
  let result: Uint8Array | undefined;
  const headText = JSON.stringify(head);
  write(`${headText.slice(0, -1)},"topics":[`);
  return {
    offset,
    step(): boolean {
      if (done) return true;
      let stepPartitionsCount = 0;
      while (nextTopic < topics.length && stepPartitionsCount < partitionsPerStep) {
        // A topic at a time: its text is short-lived (a large one would be allocated in old space and
        // hasten the collections of a heap that holds a million partitions).
        const topic = topics[nextTopic] as (typeof topics)[number];
        write(`${nextTopic === 0 ? "" : ","}${JSON.stringify({ name: topic.name, topicUUID: topic.topicUUID, partitions: topic.partitions.map(partitionTuple) })}`);
        stepPartitionsCount += topic.partitions.length + 1;
        nextTopic++;
      }
      if (nextTopic === topics.length) {
        write(`],${JSON.stringify(tail).slice(1)}`);
        done = true;
      }
      return done;
    },
    bytes(): Uint8Array {
      assert(done, "the snapshot must be encoded to the end first");
      // A buffer much larger than its content is copied once, so the spare room is not kept with it.
      result ??= buffer.length - used > used / 2 + spareBytes ? buffer.slice(0, used) : buffer.subarray(0, used);
      return result;
    },
  };
}

/** Room for the head, the tail and the topics' names and UUIDs, beyond the partitions. */
const spareBytesDefault = 1024 * 1024;
/** A partition tuple with three replicas, all in sync (`[123456,1,0,[1,2,3],[1,2,3]],`), is 26 to 28 bytes. */
const partitionBytesEstimate = 27;

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
