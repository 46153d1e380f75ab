import type { Broker, ControllerRegistration, MetadataRecord, Partition, ProducerIds } from "./records.js";
import type { ApplyResult } from "./results.js";

/**
 * The metadata image one apply loop owns and mutates in place. Entries of the maps are immutable objects,
 * replaced on change, so values handed out (and stored for replays) never change under the holder.
 * Map iteration order is not part of the state: everything that emits records or encodes iterates in
 * sorted order, so a state restored from a snapshot behaves exactly like one built from the log.
 */
export interface MetadataState {
  /** Log index of the last entry applied (any entry, noops included). */
  offset: number;
  /** The highest timestamp of any record applied so far (0 before the first). */
  recordTimestampMsMax: number;
  /** The next producer id to hand out; only ever grows, so an id is never handed out twice. */
  nextProducerId: number;
  readonly brokers: Map<number, Broker>;
  readonly topics: Map<string, Topic>;
  readonly topicNamesByUUID: Map<string, string>;
  /** Producer ids by id; insertion order is id order, as ids only grow (the first key is the lowest). */
  readonly producers: Map<number, ProducerIds>;
  readonly clientSessions: Map<string, ClientSessionEntry>;
  /** Addresses of controllers registered at runtime, by controller id (see controllerCommands.ts). */
  readonly controllers: Map<number, ControllerRegistration>;
  /** Not replicated: starts afresh at the restore index on every node (see history.ts). */
  readonly history: MetadataHistory;
}

export interface Topic {
  readonly name: string;
  readonly topicUUID: string;
  readonly partitions: Map<number, Partition>;
}

/** The answer to a client's last write, replayed when the same (clientId, sequence) comes again. */
export interface ClientSessionEntry {
  readonly sequence: number;
  /** Timestamp of the envelope that wrote it; the oldest entry is evicted first. */
  readonly timestampMs: number;
  /** Stored with `records` emptied: a replay reports no new records. */
  readonly result: ApplyResult;
}

/**
 * Applied records with offset > `startOffset`, oldest first. Every record after `startOffset` is present,
 * and every record dropped had a timestamp ≤ `startTimestampMs`.
 */
export interface MetadataHistory {
  records: MetadataRecord[];
  /** Index in `records` of the oldest kept record (dropping from the front without copying each time). */
  head: number;
  startOffset: number;
  startTimestampMs: number;
}

/** Producer ids start at 1, so that 0 never looks like an id to a client testing for "not set". */
export const firstProducerId = 1;

export function createMetadataState(offset = 0): MetadataState {
  return {
    offset,
    recordTimestampMsMax: 0,
    nextProducerId: firstProducerId,
    brokers: new Map(),
    topics: new Map(),
    topicNamesByUUID: new Map(),
    producers: new Map(),
    clientSessions: new Map(),
    controllers: new Map(),
    history: { records: [], head: 0, startOffset: offset, startTimestampMs: 0 },
  };
}

export function partitionCount(state: MetadataState): number {
  let count = 0;
  for (const topic of state.topics.values()) count += topic.partitions.size;
  return count;
}

export function sortedNumbers(values: Iterable<number>): number[] {
  return [...values].sort((a, b) => a - b);
}

export function sortedStrings(values: Iterable<string>): string[] {
  return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Topics in name order, each with its partitions in id order: the one order everything iterates in. */
export function* topicsInOrder(state: MetadataState): Generator<Topic> {
  for (const name of sortedStrings(state.topics.keys())) {
    const topic = state.topics.get(name);
    if (topic !== undefined) yield topic;
  }
}

export function partitionsInOrder(topic: Topic): Partition[] {
  // Partitions are nearly always added in id order and changed in place (a Map keeps the first
  // insertion's position), so the values are usually sorted already: check in one pass, sort only if
  // not. Images, snapshots and fencings walk every partition; at a million this is most of their cost.
  const partitions = [...topic.partitions.values()];
  for (let i = 1; i < partitions.length; i++) {
    if ((partitions[i - 1]?.partitionId ?? 0) > (partitions[i]?.partitionId ?? 0)) return partitions.sort((a, b) => a.partitionId - b.partitionId);
  }
  return partitions;
}
