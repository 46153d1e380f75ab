import assert from "node:assert/strict";
import { test } from "node:test";
import { limits } from "../shared/limits.js";
import type { ChangePartition, MetadataCommand } from "./commands.js";
import { getTopic, getTopicByUUID, listPartitions, listTopics } from "./queries.js";
import type { Driver } from "./testing.js";
import { createDriver, liveBrokers, mustApply, mustReject, partitionOf, registerBroker, topicOf, uuid } from "./testing.js";

/** Brokers 1–3 UNFENCED, 4 FENCED, 5 INIT, 6 CLOSED. */
function clusterDriver(): Driver {
  const driver = createDriver();
  liveBrokers(driver, [1, 2, 3, 4]);
  mustApply(driver, { type: "FenceBroker", brokerId: 4, brokerEpoch: driver.state.brokers.get(4)?.epoch ?? 0 });
  mustApply(driver, registerBroker(5));
  mustApply(driver, registerBroker(6));
  mustApply(driver, { type: "UnregisterBroker", brokerId: 6 });
  return driver;
}

function createTopic(name: string, n: number, partitions: ReadonlyArray<{ partitionId: number; replicas: number[]; leader?: number }>): MetadataCommand {
  return { type: "CreateTopic", name, topicUUID: uuid(n), partitions };
}

test("CreateTopic records the topic and its partitions: ISR = replicas, leader as placed, partitionEpoch 0", () => {
  const driver = clusterDriver();
  const offset = driver.nextOffset;
  const applied = mustApply(driver, createTopic("orders", 1, [{ partitionId: 1, replicas: [2, 3], leader: 3 }, { partitionId: 0, replicas: [1, 2], leader: 1 }]));
  const p0 = { partitionId: 0, topicUUID: uuid(1), replicas: [1, 2], ISR: [1, 2], removingReplicas: [], addingReplicas: [], leader: 1, partitionEpoch: 0 };
  const p1 = { partitionId: 1, topicUUID: uuid(1), replicas: [2, 3], ISR: [2, 3], removingReplicas: [], addingReplicas: [], leader: 3, partitionEpoch: 0 };
  assert.deepEqual(topicOf(applied), { name: "orders", topicUUID: uuid(1), partitions: [p0, p1] });
  const at = { timestamp: applied.records[0]?.timestamp ?? 0, offset };
  assert.deepEqual(applied.records, [
    { type: "metadata", name: "TopicRecord", fields: { topicUUID: uuid(1), name: "orders" }, ...at },
    { type: "metadata", name: "PartitionRecord", fields: p0, ...at },
    { type: "metadata", name: "PartitionRecord", fields: p1, ...at },
  ]);
  assert.deepEqual(getTopic(driver.state, "orders"), topicOf(applied));
  assert.deepEqual(getTopicByUUID(driver.state, uuid(1)), topicOf(applied));
});

test("CreateTopic leaves FENCED replicas out of the ISR and picks the first in-sync replica when no leader is given", () => {
  const driver = clusterDriver();
  const topic = topicOf(mustApply(driver, createTopic("t", 1, [{ partitionId: 0, replicas: [4, 5, 1] }])));
  assert.deepEqual(topic.partitions[0]?.ISR, [5, 1]);
  assert.equal(topic.partitions[0]?.leader, 5);
});

test("CreateTopic accepts a topic with no partitions", () => {
  const driver = clusterDriver();
  assert.deepEqual(topicOf(mustApply(driver, createTopic("empty", 1, []))).partitions, []);
});

test("CreateTopic refuses a taken name or topicUUID with TOPIC_EXISTS", () => {
  const driver = clusterDriver();
  mustApply(driver, createTopic("t", 1, []));
  assert.equal(mustReject(driver, createTopic("t", 2, []), "TOPIC_EXISTS").field, "name");
  assert.equal(mustReject(driver, createTopic("u", 1, []), "TOPIC_EXISTS").field, "topicUUID");
});

test("CreateTopic refuses bad names and partition ids with INVALID_COMMAND naming the field", () => {
  const driver = clusterDriver();
  const cases: readonly [MetadataCommand, string][] = [
    [createTopic("", 1, []), "name"],
    [createTopic("a/b", 1, []), "name"],
    [createTopic("..", 1, []), "name"],
    [createTopic("x".repeat(limits.metadata.topicNameLengthMax + 1), 1, []), "name"],
    [{ type: "CreateTopic", name: "t", topicUUID: "", partitions: [] }, "topicUUID"],
    [createTopic("t", 1, [{ partitionId: -1, replicas: [1] }]), "partitions[0].partitionId"],
    [createTopic("t", 1, [{ partitionId: 0, replicas: [1] }, { partitionId: 0, replicas: [2] }]), "partitions[1].partitionId"],
  ];
  for (const [command, field] of cases) assert.equal(mustReject(driver, command, "INVALID_COMMAND").field, field);
  assert.deepEqual(listTopics(driver.state), []);
});

test("replicas must be distinct, registered, not CLOSED, not all FENCED, and the leader an in-sync replica (INVALID_REPLICAS)", () => {
  const driver = clusterDriver();
  const tooMany = Array.from({ length: limits.metadata.replicasCountMax + 1 }, (_, i) => i);
  const cases: readonly [{ partitionId: number; replicas: number[]; leader?: number }, string][] = [
    [{ partitionId: 0, replicas: [] }, "partitions[0].replicas"],
    [{ partitionId: 0, replicas: tooMany }, "partitions[0].replicas"],
    [{ partitionId: 0, replicas: [1, 1] }, "partitions[0].replicas"],
    [{ partitionId: 0, replicas: [1, 9] }, "partitions[0].replicas"],
    [{ partitionId: 0, replicas: [1, 6] }, "partitions[0].replicas"],
    [{ partitionId: 0, replicas: [4] }, "partitions[0].replicas"],
    [{ partitionId: 0, replicas: [1, 2], leader: 3 }, "partitions[0].leader"],
    [{ partitionId: 0, replicas: [1, 4], leader: 4 }, "partitions[0].leader"],
    [{ partitionId: 0, replicas: [1, 2], leader: -1 }, "partitions[0].leader"],
  ];
  for (const [placement, field] of cases) {
    const rejection = mustReject(driver, createTopic("t", 1, [placement]), "INVALID_REPLICAS");
    assert.equal(rejection.field, field, rejection.message);
  }
  assert.deepEqual(listTopics(driver.state), []);
});

test("DeleteTopic removes the topic and its partitions with one RemoveTopicRecord", () => {
  const driver = clusterDriver();
  mustApply(driver, createTopic("t", 1, [{ partitionId: 0, replicas: [1] }]));
  const applied = mustApply(driver, { type: "DeleteTopic", name: "t" });
  assert.deepEqual(applied.records.map((r) => [r.name, r.fields]), [["RemoveTopicRecord", { topicUUID: uuid(1), name: "t" }]]);
  assert.equal(topicOf(applied).partitions.length, 1);
  assert.equal(getTopic(driver.state, "t"), undefined);
  assert.equal(getTopicByUUID(driver.state, uuid(1)), undefined);
  assert.deepEqual(listPartitions(driver.state), []);
  assert.equal(mustReject(driver, { type: "DeleteTopic", name: "t" }, "UNKNOWN_TOPIC").field, "name");
  mustApply(driver, createTopic("t", 2, []));
});

test("CreatePartition adds the next partition id by default, or the given one", () => {
  const driver = clusterDriver();
  mustApply(driver, createTopic("t", 1, []));
  const first = mustApply(driver, { type: "CreatePartition", topicName: "t", replicas: [2, 1] });
  assert.deepEqual(partitionOf(first), { partitionId: 0, topicUUID: uuid(1), replicas: [2, 1], ISR: [2, 1], removingReplicas: [], addingReplicas: [], leader: 2, partitionEpoch: 0 });
  assert.equal(first.value.kind === "partition" && first.value.topicName, "t");
  assert.deepEqual(first.records.map((r) => r.name), ["PartitionRecord"]);
  assert.equal(partitionOf(mustApply(driver, { type: "CreatePartition", topicName: "t", partitionId: 5, replicas: [3], leader: 3 })).partitionId, 5);
  assert.equal(partitionOf(mustApply(driver, { type: "CreatePartition", topicName: "t", replicas: [3] })).partitionId, 6);
  assert.deepEqual(listPartitions(driver.state, "t").map((tp) => tp.partition.partitionId), [0, 5, 6]);
});

test("CreatePartition refuses an unknown topic, a taken id, a bad id and bad replicas", () => {
  const driver = clusterDriver();
  mustApply(driver, createTopic("t", 1, [{ partitionId: 0, replicas: [1] }]));
  assert.equal(mustReject(driver, { type: "CreatePartition", topicName: "nope", replicas: [1] }, "UNKNOWN_TOPIC").field, "topicName");
  assert.equal(mustReject(driver, { type: "CreatePartition", topicName: "t", partitionId: 0, replicas: [1] }, "PARTITION_EXISTS").field, "partitionId");
  assert.equal(mustReject(driver, { type: "CreatePartition", topicName: "t", partitionId: -2, replicas: [1] }, "INVALID_COMMAND").field, "partitionId");
  assert.equal(mustReject(driver, { type: "CreatePartition", topicName: "t", replicas: [9] }, "INVALID_REPLICAS").field, "replicas");
  assert.equal(mustReject(driver, { type: "CreatePartition", topicName: "t", replicas: [1], leader: 2 }, "INVALID_REPLICAS").field, "leader");
});

test("creating partitions beyond partitionsCountMax is refused with LIMIT_EXCEEDED", () => {
  const driver = clusterDriver();
  const perTopic = 100_000;
  const topics = limits.metadata.partitionsCountMax / perTopic;
  for (let t = 0; t < topics; t++) {
    mustApply(driver, createTopic(`t${t}`, t, Array.from({ length: perTopic }, (_, partitionId) => ({ partitionId, replicas: [1] }))));
  }
  mustReject(driver, { type: "CreatePartition", topicName: "t0", replicas: [1] }, "LIMIT_EXCEEDED");
  mustReject(driver, createTopic("more", 99, [{ partitionId: 0, replicas: [1] }]), "LIMIT_EXCEEDED");
  mustApply(driver, createTopic("still-fine", 98, []));
});

function changePartitionDriver(): Driver {
  const driver = clusterDriver();
  mustApply(driver, createTopic("t", 1, [{ partitionId: 0, replicas: [1, 2, 3], leader: 1 }]));
  return driver;
}

function change(fields: Omit<ChangePartition, "type" | "topicUUID" | "partitionId">): ChangePartition {
  return { type: "ChangePartition", topicUUID: uuid(1), partitionId: 0, ...fields };
}

test("ChangePartition moves the leader within the ISR with partitionEpoch + 1 and a PartitionChangeRecord", () => {
  const driver = changePartitionDriver();
  const applied = mustApply(driver, change({ leader: 2, expectedPartitionEpoch: 0 }));
  const expected = { partitionId: 0, topicUUID: uuid(1), replicas: [1, 2, 3], ISR: [1, 2, 3], removingReplicas: [], addingReplicas: [], leader: 2, partitionEpoch: 1 };
  assert.deepEqual(partitionOf(applied), expected);
  assert.deepEqual(applied.records.map((r) => [r.name, r.fields]), [["PartitionChangeRecord", expected]]);
});

test("ChangePartition shrinking the ISR keeps the leader while in sync, else elects the first in-sync replica", () => {
  const driver = changePartitionDriver();
  assert.equal(partitionOf(mustApply(driver, change({ isr: [3, 1] }))).leader, 1);
  const moved = partitionOf(mustApply(driver, change({ isr: [3, 2] })));
  assert.deepEqual(moved.ISR, [2, 3]);
  assert.equal(moved.leader, 2);
  assert.equal(moved.partitionEpoch, 2);
  const empty = partitionOf(mustApply(driver, change({ isr: [] })));
  assert.equal(empty.leader, -1);
});

test("ChangePartition replacing replicas keeps the in-sync survivors in the ISR", () => {
  const driver = changePartitionDriver();
  const changed = partitionOf(mustApply(driver, change({ replicas: [3, 5] })));
  assert.deepEqual(changed.replicas, [3, 5]);
  assert.deepEqual(changed.ISR, [3]);
  assert.equal(changed.leader, 3);
  const grown = partitionOf(mustApply(driver, change({ isr: [5, 3] })));
  assert.deepEqual(grown.ISR, [3, 5]);
});

test("ChangePartition that changes nothing writes no record and keeps partitionEpoch", () => {
  const driver = changePartitionDriver();
  const applied = mustApply(driver, change({ leader: 1, isr: [1, 2, 3] }));
  assert.deepEqual(applied.records, []);
  assert.equal(partitionOf(applied).partitionEpoch, 0);
});

test("ChangePartition refuses a stale expected epoch, unknown ids, an empty change and invalid ISR or leader", () => {
  const driver = changePartitionDriver();
  mustApply(driver, change({ leader: 2 }));
  assert.equal(mustReject(driver, change({ leader: 3, expectedPartitionEpoch: 0 }), "STALE_PARTITION_EPOCH").field, "expectedPartitionEpoch");
  assert.equal(mustReject(driver, { ...change({ leader: 1 }), topicUUID: uuid(9) }, "UNKNOWN_TOPIC").field, "topicUUID");
  assert.equal(mustReject(driver, { ...change({ leader: 1 }), partitionId: 4 }, "UNKNOWN_PARTITION").field, "partitionId");
  mustReject(driver, change({}), "INVALID_COMMAND");
  const invalid: readonly [ChangePartition, string][] = [
    [change({ isr: [1, 1] }), "isr"],
    [change({ isr: [1, 5] }), "isr"],
    [change({ replicas: [1, 4], isr: [1, 4] }), "isr"],
    [change({ leader: 5 }), "leader"],
    [change({ isr: [1], leader: 2 }), "leader"],
    [change({ replicas: [1, 6] }), "replicas"],
    [change({ replicas: [] }), "replicas"],
  ];
  for (const [command, field] of invalid) assert.equal(mustReject(driver, command, "INVALID_REPLICAS").field, field);
  assert.equal(mustReject(driver, change({ leader: -2 }), "INVALID_COMMAND").field, "leader");
  assert.equal(getTopic(driver.state, "t")?.partitions[0]?.partitionEpoch, 1);
});

test("a command valid when proposed but invalid by the time it applies is a deterministic rejection", () => {
  const driver = clusterDriver();
  const proposed: MetadataCommand = createTopic("t", 1, [{ partitionId: 0, replicas: [1, 2], leader: 2 }]);
  // Between proposal and apply, broker 2 is fenced by an earlier entry of the log.
  mustApply(driver, { type: "FenceBroker", brokerId: 2, brokerEpoch: driver.state.brokers.get(2)?.epoch ?? 0 });
  assert.equal(mustReject(driver, proposed, "INVALID_REPLICAS").field, "partitions[0].leader");
  assert.equal(getTopic(driver.state, "t"), undefined);
});

test("ChangePartition never hands leadership to a FENCED last in-sync replica, by default or by request", () => {
  const driver = createDriver();
  const epochs = liveBrokers(driver, [1, 2]);
  mustApply(driver, { type: "CreateTopic", name: "t", topicUUID: uuid(1), partitions: [{ partitionId: 0, replicas: [1], leader: 1 }] });
  mustApply(driver, { type: "FenceBroker", brokerId: 1, brokerEpoch: epochs.get(1) ?? 0 });
  const widened = partitionOf(mustApply(driver, { type: "ChangePartition", topicUUID: uuid(1), partitionId: 0, replicas: [1, 2] }));
  assert.deepEqual([widened.ISR, widened.leader], [[1], -1], "the fenced replica keeps its place but does not lead");
  const refused = mustReject(driver, { type: "ChangePartition", topicUUID: uuid(1), partitionId: 0, leader: 1 }, "INVALID_REPLICAS");
  assert.match(refused.message, /its status is FENCED/);
  const unclean = partitionOf(mustApply(driver, { type: "ChangePartition", topicUUID: uuid(1), partitionId: 0, isr: [2] }));
  assert.deepEqual([unclean.ISR, unclean.leader], [[2], 2], "an operator may still choose another replica explicitly");
});
