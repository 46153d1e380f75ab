import { assert } from "../shared/assert.js";
import type { MetadataRecord, Partition, RecordPosition } from "./records.js";
import { metadataRecord, noLeader } from "./records.js";
import type { MetadataState, Topic } from "./state.js";
import { partitionsInOrder, topicsInOrder } from "./state.js";

/** The members of `members` that are replicas, in replica order (the order ISRs are kept in). */
export function inReplicaOrder(replicas: readonly number[], members: readonly number[]): number[] {
  return replicas.filter((id) => members.includes(id));
}

/** Kafka's preferred-leader rule: the first replica, in replica order, that is in sync; else no leader. */
export function electLeader(replicas: readonly number[], isr: readonly number[]): number {
  return replicas.find((id) => isr.includes(id)) ?? noLeader;
}

/** Replaces a partition with its changed form (partitionEpoch + 1) and returns the record saying so. */
export function changePartition(topic: Topic, next: Omit<Partition, "partitionEpoch">, at: RecordPosition): MetadataRecord {
  const current = topic.partitions.get(next.partitionId);
  assert(current !== undefined, `partition ${next.partitionId} of ${topic.name} must exist to change`);
  const changed: Partition = { ...next, partitionEpoch: current.partitionEpoch + 1 };
  topic.partitions.set(changed.partitionId, changed);
  return metadataRecord("PartitionChangeRecord", changed, at);
}

/**
 * Takes a broker that can no longer serve (fenced, unregistered, or restarted and not caught up) out of
 * every ISR, and moves the leadership it held to the first remaining in-sync replica. When it was the last
 * in-sync replica the ISR becomes empty and the partition has no leader until a ChangePartition names one
 * (an unclean choice, made by whoever proposes it). One PartitionChangeRecord per partition touched.
 */
export function removeBrokerFromPartitions(state: MetadataState, brokerId: number, at: RecordPosition): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  for (const topic of topicsInOrder(state)) {
    for (const partition of partitionsInOrder(topic)) {
      if (!partition.ISR.includes(brokerId)) continue; // The leader is always in the ISR, so nothing to move.
      const ISR = partition.ISR.filter((id) => id !== brokerId);
      const leader = partition.leader === brokerId ? electLeader(partition.replicas, ISR) : partition.leader;
      records.push(changePartition(topic, { ...partition, ISR, leader }, at));
    }
  }
  return records;
}
