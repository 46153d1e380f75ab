import { assert } from "../shared/assert.js";
import { limits } from "../shared/limits.js";
import { checkCount, checkId, checkText, checkTopicName } from "./checks.js";
import type { ChangePartition, CreatePartition, CreateTopic, DeleteTopic, PartitionPlacement } from "./commands.js";
import { changePartition, electLeader, inReplicaOrder } from "./leadership.js";
import type { MetadataRecord, Partition, RecordPosition } from "./records.js";
import { metadataRecord, noLeader, noReplicas } from "./records.js";
import type { Applied, Rejection, TopicView } from "./results.js";
import { reject } from "./results.js";
import type { MetadataState, Topic } from "./state.js";
import { partitionCount, partitionsInOrder, sortedNumbers } from "./state.js";

/**
 * Topics and partitions. A new partition's ISR is its replicas minus FENCED ones (an empty partition is
 * trivially in sync on every live replica, INIT ones included); its leader is the one given, which must
 * be in that ISR, or else the first in-sync replica. A partition whose replicas are all FENCED is refused:
 * it could not be led. partitionEpoch starts at 0.
 */

export function checkCreateTopic(state: MetadataState, command: CreateTopic): Rejection | undefined {
  return (
    checkTopicName(command.name, "name") ??
    checkText(command.topicUUID, "topicUUID") ??
    checkTopicIsNew(state, command) ??
    checkRoom(state, 1, command.partitions.length) ??
    checkPlacements(state, command.partitions)
  );
}

export function applyCreateTopic(state: MetadataState, command: CreateTopic, at: RecordPosition): Applied {
  const topic: Topic = { name: command.name, topicUUID: command.topicUUID, partitions: new Map() };
  state.topics.set(topic.name, topic);
  state.topicNamesByUUID.set(topic.topicUUID, topic.name);
  const records = [metadataRecord("TopicRecord", { topicUUID: topic.topicUUID, name: topic.name }, at)];
  const placements = [...command.partitions].sort((a, b) => a.partitionId - b.partitionId);
  for (const placement of placements) records.push(addPartition(state, topic, placement, at));
  return { ok: true, records, value: { kind: "topic", topic: topicView(topic) } };
}

export function checkDeleteTopic(state: MetadataState, command: DeleteTopic): Rejection | undefined {
  return state.topics.has(command.name) ? undefined : unknownTopic("delete topic", command.name, "name");
}

/** The topic's partitions go with it: RemoveTopicRecord implies them, as in KRaft. */
export function applyDeleteTopic(state: MetadataState, command: DeleteTopic, at: RecordPosition): Applied {
  const topic = state.topics.get(command.name);
  assert(topic !== undefined, `topic ${command.name} must exist once validated`);
  state.topics.delete(topic.name);
  state.topicNamesByUUID.delete(topic.topicUUID);
  const records = [metadataRecord("RemoveTopicRecord", { topicUUID: topic.topicUUID, name: topic.name }, at)];
  return { ok: true, records, value: { kind: "topic", topic: topicView(topic) } };
}

export function checkCreatePartition(state: MetadataState, command: CreatePartition): Rejection | undefined {
  const topic = state.topics.get(command.topicName);
  if (topic === undefined) return unknownTopic("create partition", command.topicName, "topicName");
  const partitionId = command.partitionId ?? nextPartitionId(topic);
  return (
    checkId(partitionId, "partitionId") ??
    (topic.partitions.has(partitionId)
      ? reject("PARTITION_EXISTS", `Cannot create partition ${partitionId} of topic ${topic.name} as it exists`, "partitionId")
      : undefined) ??
    checkRoom(state, 0, 1) ??
    checkPlacement(state, { partitionId, replicas: command.replicas, ...leaderOf(command) }, "")
  );
}

export function applyCreatePartition(state: MetadataState, command: CreatePartition, at: RecordPosition): Applied {
  const topic = state.topics.get(command.topicName);
  assert(topic !== undefined, `topic ${command.topicName} must exist once validated`);
  const partitionId = command.partitionId ?? nextPartitionId(topic);
  const record = addPartition(state, topic, { partitionId, replicas: command.replicas, ...leaderOf(command) }, at);
  return { ok: true, records: [record], value: partitionValue(topic, partitionId) };
}

export function checkChangePartition(state: MetadataState, command: ChangePartition): Rejection | undefined {
  const problem =
    checkId(command.partitionId, "partitionId") ??
    (command.expectedPartitionEpoch === undefined ? undefined : checkCount(command.expectedPartitionEpoch, "expectedPartitionEpoch")) ??
    checkSomethingToChange(command);
  if (problem !== undefined) return problem;
  const found = findPartition(state, command);
  if (!found.ok) return found;
  const { partitionEpoch } = found.partition;
  if (command.expectedPartitionEpoch !== undefined && command.expectedPartitionEpoch !== partitionEpoch) {
    const message = `Cannot change partition ${command.partitionId} as its partitionEpoch has moved on: current value is ${partitionEpoch}, expected ${command.expectedPartitionEpoch}`;
    return reject("STALE_PARTITION_EPOCH", message, "expectedPartitionEpoch");
  }
  const planned = planChange(state, found.partition, command);
  return planned.ok ? undefined : planned;
}

/** Writes the change with partitionEpoch + 1, or nothing when it would change nothing. */
export function applyChangePartition(state: MetadataState, command: ChangePartition, at: RecordPosition): Applied {
  const found = findPartition(state, command);
  assert(found.ok, `partition ${command.partitionId} of ${command.topicUUID} must exist once validated`);
  const planned = planChange(state, found.partition, command);
  assert(planned.ok, `the change of partition ${command.partitionId} must be valid once validated`);
  const { topic, partition } = found;
  const { replicas, ISR, leader } = planned.next;
  const unchanged = sameIds(replicas, partition.replicas) && sameIds(ISR, partition.ISR) && leader === partition.leader;
  const records: MetadataRecord[] = unchanged ? [] : [changePartition(topic, { ...partition, replicas, ISR, leader }, at)];
  return { ok: true, records, value: partitionValue(topic, partition.partitionId) };
}

export function topicView(topic: Topic): TopicView {
  return { name: topic.name, topicUUID: topic.topicUUID, partitions: partitionsInOrder(topic) };
}

interface PlannedChange {
  readonly ok: true;
  readonly next: Pick<Partition, "replicas" | "ISR" | "leader">;
}

/**
 * The partition after a change. Absent replicas keep theirs; absent isr keeps the in-sync replicas that
 * are still replicas; absent leader keeps the leader while it stays in sync, else the first in-sync replica.
 */
function planChange(state: MetadataState, current: Partition, command: ChangePartition): PlannedChange | Rejection {
  const replicas = command.replicas ?? current.replicas;
  const problem =
    (command.replicas === undefined ? undefined : checkReplicaList(state, replicas, "replicas")) ??
    (command.isr === undefined ? undefined : checkIsr(state, replicas, command.isr)) ??
    (command.leader === undefined ? undefined : checkLeaderId(command.leader));
  if (problem !== undefined) return problem;
  const ISR = inReplicaOrder(replicas, command.isr ?? current.ISR);
  // A FENCED or CLOSED last in-sync replica stays in the ISR without leading (leadership.ts).
  const servingIsr = ISR.filter((id) => isServing(state, id));
  const keptLeader = servingIsr.includes(current.leader) ? current.leader : electLeader(replicas, servingIsr);
  const leader = command.leader ?? keptLeader;
  if (leader !== noLeader && !servingIsr.includes(leader)) {
    const why = ISR.includes(leader) ? `its status is ${state.brokers.get(leader)?.brokerStatus}` : `it is not in the ISR: current value is [${ISR.join(", ")}]`;
    return reject("INVALID_REPLICAS", `Cannot make broker ${leader} the leader as ${why}`, "leader");
  }
  return { ok: true, next: { replicas, ISR, leader } };
}

function isServing(state: MetadataState, brokerId: number): boolean {
  const status = state.brokers.get(brokerId)?.brokerStatus;
  return status === "INIT" || status === "UNFENCED";
}

function checkSomethingToChange(command: ChangePartition): Rejection | undefined {
  if (command.leader !== undefined || command.isr !== undefined || command.replicas !== undefined) return undefined;
  return reject("INVALID_COMMAND", "Cannot change partition as no field to change is given: expected leader, isr or replicas");
}

function checkLeaderId(leader: number): Rejection | undefined {
  return leader === noLeader ? undefined : checkId(leader, "leader");
}

function checkIsr(state: MetadataState, replicas: readonly number[], isr: readonly number[]): Rejection | undefined {
  if (new Set(isr).size !== isr.length) return reject("INVALID_REPLICAS", `Cannot accept isr as it names a broker twice: current value is [${isr.join(", ")}]`, "isr");
  for (const brokerId of isr) {
    if (!replicas.includes(brokerId)) return reject("INVALID_REPLICAS", `Cannot put broker ${brokerId} in the ISR as it is not a replica`, "isr");
    const status = state.brokers.get(brokerId)?.brokerStatus;
    if (status === "FENCED" || status === "CLOSED") {
      return reject("INVALID_REPLICAS", `Cannot put broker ${brokerId} in the ISR as its status is ${status}`, "isr");
    }
  }
  return undefined;
}

function checkTopicIsNew(state: MetadataState, command: CreateTopic): Rejection | undefined {
  if (state.topics.has(command.name)) return reject("TOPIC_EXISTS", `Cannot create topic ${command.name} as the name is taken`, "name");
  if (!state.topicNamesByUUID.has(command.topicUUID)) return undefined;
  return reject("TOPIC_EXISTS", `Cannot create topic ${command.name} as topicUUID ${command.topicUUID} is taken`, "topicUUID");
}

function checkRoom(state: MetadataState, topicsAdded: number, partitionsAdded: number): Rejection | undefined {
  const { topicsCountMax, partitionsCountMax } = limits.metadata;
  if (state.topics.size + topicsAdded > topicsCountMax) {
    return reject("LIMIT_EXCEEDED", `Cannot create topic as the cluster holds the most topics allowed: current value is ${state.topics.size}`);
  }
  const partitions = partitionCount(state);
  if (partitions + partitionsAdded <= partitionsCountMax) return undefined;
  return reject("LIMIT_EXCEEDED", `Cannot add ${partitionsAdded} partitions as the cluster would hold more than ${partitionsCountMax}: current value is ${partitions}`);
}

function checkPlacements(state: MetadataState, placements: readonly PartitionPlacement[]): Rejection | undefined {
  const seen = new Set<number>();
  for (const [i, placement] of placements.entries()) {
    const field = `partitions[${i}].`;
    if (seen.has(placement.partitionId)) {
      return reject("INVALID_COMMAND", `Cannot create topic as partition ${placement.partitionId} is given twice`, `${field}partitionId`);
    }
    seen.add(placement.partitionId);
    const problem = checkId(placement.partitionId, `${field}partitionId`) ?? checkPlacement(state, placement, field);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function checkPlacement(state: MetadataState, placement: PartitionPlacement, field: string): Rejection | undefined {
  const problem = checkReplicaList(state, placement.replicas, `${field}replicas`);
  if (problem !== undefined) return problem;
  const isr = initialIsr(state, placement.replicas);
  if (isr.length === 0) {
    return reject("INVALID_REPLICAS", `Cannot create partition ${placement.partitionId} as every replica is FENCED: current value is [${placement.replicas.join(", ")}]`, `${field}replicas`);
  }
  const { leader } = placement;
  if (leader === undefined || isr.includes(leader)) return undefined;
  const why = placement.replicas.includes(leader) ? "it is FENCED" : "it is not a replica";
  return reject("INVALID_REPLICAS", `Cannot make broker ${leader} the leader of partition ${placement.partitionId} as ${why}`, `${field}leader`);
}

/** Replicas must be distinct brokers that are registered and not CLOSED. FENCED ones may hold a replica. */
function checkReplicaList(state: MetadataState, replicas: readonly number[], field: string): Rejection | undefined {
  const countMax = limits.metadata.replicasCountMax;
  if (replicas.length === 0 || replicas.length > countMax) {
    return reject("INVALID_REPLICAS", `Cannot accept ${field} as its length is not in [1, ${countMax}]: current length is ${replicas.length}`, field);
  }
  if (new Set(replicas).size !== replicas.length) {
    return reject("INVALID_REPLICAS", `Cannot accept ${field} as it names a broker twice: current value is [${replicas.join(", ")}]`, field);
  }
  for (const brokerId of replicas) {
    const status = state.brokers.get(brokerId)?.brokerStatus;
    if (status === undefined || status === "CLOSED") {
      const why = status === undefined ? "it is not registered" : "it is CLOSED";
      return reject("INVALID_REPLICAS", `Cannot place a replica on broker ${brokerId} as ${why}`, field);
    }
  }
  return undefined;
}

function initialIsr(state: MetadataState, replicas: readonly number[]): number[] {
  return replicas.filter((id) => state.brokers.get(id)?.brokerStatus !== "FENCED");
}

function addPartition(state: MetadataState, topic: Topic, placement: PartitionPlacement, at: RecordPosition): MetadataRecord {
  const replicas = [...placement.replicas];
  const ISR = initialIsr(state, replicas);
  const partition: Partition = {
    partitionId: placement.partitionId,
    topicUUID: topic.topicUUID,
    replicas,
    ISR,
    removingReplicas: noReplicas,
    addingReplicas: noReplicas,
    leader: placement.leader ?? electLeader(replicas, ISR),
    partitionEpoch: 0,
  };
  topic.partitions.set(partition.partitionId, partition);
  return metadataRecord("PartitionRecord", partition, at);
}

type FoundPartition = { readonly ok: true; readonly topic: Topic; readonly partition: Partition } | Rejection;

function findPartition(state: MetadataState, command: ChangePartition): FoundPartition {
  const name = state.topicNamesByUUID.get(command.topicUUID);
  const topic = name === undefined ? undefined : state.topics.get(name);
  if (topic === undefined) {
    return reject("UNKNOWN_TOPIC", `Cannot change partition ${command.partitionId} as topicUUID ${command.topicUUID} names no topic`, "topicUUID");
  }
  const partition = topic.partitions.get(command.partitionId);
  if (partition === undefined) {
    return reject("UNKNOWN_PARTITION", `Cannot change partition ${command.partitionId} as topic ${topic.name} has no such partition`, "partitionId");
  }
  return { ok: true, topic, partition };
}

function nextPartitionId(topic: Topic): number {
  return (sortedNumbers(topic.partitions.keys()).at(-1) ?? -1) + 1;
}

function leaderOf(command: CreatePartition): { leader?: number } {
  return command.leader === undefined ? {} : { leader: command.leader };
}

function partitionValue(topic: Topic, partitionId: number): Applied["value"] {
  const partition = topic.partitions.get(partitionId);
  assert(partition !== undefined, `partition ${partitionId} of ${topic.name} must exist after the change`);
  return { kind: "partition", topicName: topic.name, partition };
}

function unknownTopic(action: string, name: string, field: string): Rejection {
  return reject("UNKNOWN_TOPIC", `Cannot ${action} as topic ${name} does not exist`, field);
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
