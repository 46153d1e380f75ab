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
 * every ISR, and moves the leadership it held to the first remaining in-sync replica. When it is the last
 * in-sync replica it stays in the ISR and the partition has no leader (KRaft's rule, KIP-631): the ISR
 * never becomes empty, so the replica holding every acknowledged message is still known, and it leads
 * again once it is back (`restoreLeadership`) — never an unclean election. One PartitionChangeRecord per
 * partition touched.
 */
export function removeBrokerFromPartitions(state: MetadataState, brokerId: number, at: RecordPosition): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  for (const topic of topicsInOrder(state)) {
    for (const partition of partitionsInOrder(topic)) {
      if (!partition.ISR.includes(brokerId)) continue; // The leader is always in the ISR, so nothing to move.
      const rest = partition.ISR.filter((id) => id !== brokerId);
      if (rest.length === 0 && partition.leader === noLeader) continue; // Already waiting for it.
      const ISR = rest.length === 0 ? [brokerId] : rest;
      const leader = rest.length === 0 ? noLeader : partition.leader === brokerId ? electLeader(partition.replicas, ISR) : partition.leader;
      records.push(changePartition(topic, { ...partition, ISR, leader }, at));
    }
  }
  return records;
}

/** A broker back in service leads every leaderless partition whose ISR it is (the last in-sync replica). */
export function restoreLeadership(state: MetadataState, brokerId: number, at: RecordPosition): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  for (const topic of topicsInOrder(state)) {
    for (const partition of partitionsInOrder(topic)) {
      if (partition.leader !== noLeader || !partition.ISR.includes(brokerId)) continue;
      records.push(changePartition(topic, { ...partition, leader: brokerId }, at));
    }
  }
  return records;
}
