import assert from "node:assert/strict";
import { test } from "node:test";
import type { Partition } from "./records.js";
import { noReplicas } from "./records.js";
import { partitionsInOrder } from "./state.js";

function partition(partitionId: number): Partition {
  return { partitionId, topicUUID: "u", replicas: [1], ISR: [1], removingReplicas: noReplicas, addingReplicas: noReplicas, leader: 1, partitionEpoch: 0 };
}

test("partitionsInOrder() lists a topic's partitions in id order, whatever order they were added in", () => {
  for (const ids of [[], [0], [0, 1, 2, 3], [2, 0, 1], [0, 1, 3, 2], [5, 4, 3, 2, 1, 0]]) {
    const topic = { name: "t", topicUUID: "u", partitions: new Map(ids.map((id) => [id, partition(id)])) };
    assert.deepEqual(partitionsInOrder(topic).map((p) => p.partitionId), [...ids].sort((a, b) => a - b), JSON.stringify(ids));
  }
});
