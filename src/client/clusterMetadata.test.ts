import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compactImage } from "../api/compactImage.js";
import type { Changes, CompactChanges, CreateTopicRequest, TopicWriteAnswerJson } from "../api/schemas.js";
import { AdminError } from "./adminError.js";
import { ClientError } from "./clientError.js";
import { applyChanges, ClusterMetadata, emptyMetadataView } from "./clusterMetadata.js";
import type { MetadataSource } from "./clusterMetadata.js";

const uuid = "11111111-1111-4111-8111-111111111111";

function record(name: string, fields: Record<string, unknown>, offset: number): NonNullable<Changes["records"]>[number] {
  return { type: "metadata", name, fields, timestamp: 0, offset };
}

function broker(brokerId: number, brokerStatus: "INIT" | "UNFENCED" | "FENCED" | "CLOSED" = "UNFENCED") {
  return { internalUUID: `u${brokerId}`, brokerId, brokerHost: "127.0.0.1", brokerPort: 9200 + brokerId, securityProtocol: "PLAINTEXT", rackId: null, brokerStatus, epoch: 1 };
}

function partition(partitionId: number, leader: number, partitionEpoch = 0) {
  return { partitionId, topicUUID: uuid, replicas: [1, 2], ISR: [1, 2], removingReplicas: [], addingReplicas: [], leader, partitionEpoch };
}

function snapshot(currentOffset: number, topics: { name: string; partitions: ReturnType<typeof partition>[] }[], brokers = [broker(1), broker(2)]): Changes {
  return { kind: "snapshot", currentOffset, snapshot: { brokers, topics: topics.map((t) => ({ name: t.name, topicUUID: uuid, partitions: t.partitions })) } };
}

/** A metadata source answering from a list of answers (the last one repeats), recording what it was asked. */
function source(answers: (Changes | CompactChanges)[], create?: (request: CreateTopicRequest) => TopicWriteAnswerJson): MetadataSource & { readonly asked: unknown[]; readonly created: CreateTopicRequest[] } {
  const asked: unknown[] = [];
  const created: CreateTopicRequest[] = [];
  return {
    asked,
    created,
    clientMetadata: async (options) => {
      asked.push(options);
      return answers[Math.min(asked.length, answers.length) - 1] as Changes | CompactChanges;
    },
    createTopic: async (request) => {
      created.push(request);
      if (create === undefined) throw new Error("unexpected createTopic");
      return create(request);
    },
  };
}

function manualTime(): { nowMs: () => number; sleep: (ms: number) => Promise<void>; sleeps: number[] } {
  let now = 1_000;
  const sleeps: number[] = [];
  return {
    nowMs: () => now,
    sleeps,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

describe("applyChanges", () => {
  test("builds the view from a delta of records: brokers, topics, partitions and their changes", () => {
    const view = applyChanges(emptyMetadataView, {
      kind: "delta",
      currentOffset: 9,
      records: [
        record("RegisterBrokerRecord", broker(1), 2),
        record("RegisterBrokerRecord", broker(2), 3),
        record("ProducerIdsRecord", { brokerId: 1, brokerEpoch: 1, producerId: 7 }, 4),
        record("TopicRecord", { name: "orders", topicUUID: uuid }, 5),
        record("PartitionRecord", partition(1, 2), 5),
        record("PartitionRecord", partition(0, 1), 5),
        record("PartitionChangeRecord", partition(0, 2, 1), 8),
        record("BrokerRegistrationChangeRecord", { ...broker(1, "FENCED"), epoch: 2 }, 8),
      ],
    });
    assert.equal(view.offset, 9);
    assert.deepEqual([...view.brokers.values()].map((b) => [b.brokerId, b.url, b.status]), [
      [1, "http://127.0.0.1:9201", "FENCED"],
      [2, "http://127.0.0.1:9202", "UNFENCED"],
    ]);
    assert.deepEqual(view.topics.get("orders")?.partitions.map((p) => [p.partition, p.leader, p.partitionEpoch]), [
      [0, 2, 1],
      [1, 2, 0],
    ]);
    const removed = applyChanges(view, { kind: "delta", currentOffset: 10, records: [record("RemoveTopicRecord", { name: "orders", topicUUID: uuid }, 10)] });
    assert.equal(removed.topics.size, 0);
  });

  test("a snapshot replaces the view; an answer from a controller behind it is ignored", () => {
    const first = applyChanges(emptyMetadataView, snapshot(5, [{ name: "a", partitions: [partition(0, 1)] }]));
    assert.deepEqual([...first.topics.keys()], ["a"]);
    const second = applyChanges(first, snapshot(7, [{ name: "b", partitions: [] }]));
    assert.deepEqual([...second.topics.keys()], ["b"]);
    assert.equal(applyChanges(second, snapshot(6, [])), second);
    assert.equal(applyChanges(second, { kind: "delta", currentOffset: 3, records: [] }), second);
  });
});

describe("ClusterMetadata", () => {
  test("asks for the changes since its offset, stale, and names partition leaders by URL", async () => {
    const time = manualTime();
    const admin = source([snapshot(5, [{ name: "t", partitions: [partition(0, 2), partition(1, -1)] }]), { kind: "delta", currentOffset: 6, records: [record("PartitionChangeRecord", partition(1, 1, 1), 6)] }]);
    const metadata = new ClusterMetadata({ admin, ...time });
    await metadata.refresh();
    assert.equal(metadata.leaderUrl("t", 0), "http://127.0.0.1:9202");
    assert.equal(metadata.leaderUrl("t", 1), undefined, "no leader");
    assert.equal(metadata.leaderUrl("t", 7), undefined, "no such partition");
    await metadata.refresh();
    assert.equal(metadata.leaderUrl("t", 1), "http://127.0.0.1:9201");
    assert.deepEqual(admin.asked, [
      { consistency: "stale", format: "compact" },
      { consistency: "stale", format: "compact", offset: 5 },
    ]);
  });

  test("reads a full image in the compact form it asks for; a malformed one fails the refresh with BAD_RESPONSE naming the member", async () => {
    const time = manualTime();
    const answer = snapshot(5, [{ name: "t", partitions: [partition(0, 2), partition(1, -1)] }]);
    const compact = JSON.parse(JSON.stringify({ kind: "snapshot", currentOffset: 5, format: "compact", snapshot: compactImage(answer.snapshot ?? { brokers: [], topics: [] }) })) as CompactChanges;
    const metadata = new ClusterMetadata({ admin: source([compact]), ...time });
    assert.deepEqual(await metadata.refresh(), applyChanges(emptyMetadataView, answer));
    assert.equal(metadata.leaderUrl("t", 0), "http://127.0.0.1:9202");
    const malformed = { ...compact, snapshot: { brokers: [], topics: [{ name: "t", topicUUID: uuid, partitions: [[0, 2, 0, [1, 2]]] }] } } as unknown as CompactChanges;
    const failing = new ClusterMetadata({ admin: source([malformed]), ...time });
    await assert.rejects(failing.refresh(), (error: unknown) => error instanceof ClientError && error.code === "BAD_RESPONSE" && error.field === "snapshot.topics[0].partitions[0]");
    assert.equal(failing.view(), emptyMetadataView, "the view is left as it was");
  });

  test("callers during a refresh share it, and refreshes are at least refreshIntervalMsMin apart", async () => {
    const time = manualTime();
    const admin = source([snapshot(1, [])]);
    const metadata = new ClusterMetadata({ admin, refreshIntervalMsMin: 200, ...time });
    await Promise.all([metadata.refresh(), metadata.refresh(), metadata.refresh()]);
    assert.equal(admin.asked.length, 1);
    assert.deepEqual(time.sleeps, []);
    await metadata.refresh();
    assert.equal(admin.asked.length, 2);
    assert.deepEqual(time.sleeps, [200]);
  });

  test("creates a missing topic with 3 partitions and a replication factor of min(3, live brokers)", async () => {
    const time = manualTime();
    const admin = source([snapshot(1, [], [broker(1), broker(2), broker(3, "FENCED")])], (request) => ({
      topic: { name: request.name, topicUUID: uuid, partitions: [partition(0, 1), partition(1, 2), partition(2, 1)] },
      offset: 2,
      replayed: false,
    }));
    const metadata = new ClusterMetadata({ admin, ...time });
    const topic = await metadata.topic("orders");
    assert.deepEqual(admin.created, [{ name: "orders", partitions: 3, replicationFactor: 2 }]);
    assert.deepEqual(topic.partitions.map((p) => p.partition), [0, 1, 2]);
    assert.equal(metadata.leaderUrl("orders", 1), "http://127.0.0.1:9202");
  });

  test("a topic someone else created first (TOPIC_EXISTS) is read from the metadata", async () => {
    const time = manualTime();
    const admin = source([snapshot(1, []), snapshot(2, [{ name: "orders", partitions: [partition(0, 1)] }])], () => {
      throw new AdminError("TOPIC_EXISTS", 409, "Cannot create topic orders as it exists");
    });
    const metadata = new ClusterMetadata({ admin, autoCreateTopics: { partitionsCount: 6, replicationFactor: 1 }, ...time });
    const topic = await metadata.topic("orders");
    assert.equal(topic.partitions.length, 1);
    assert.deepEqual(admin.created, [{ name: "orders", partitions: 6, replicationFactor: 1 }]);
  });

  test("without auto-creation a missing topic is UNKNOWN_TOPIC; a controller's error comes as a ClientError", async () => {
    const time = manualTime();
    const metadata = new ClusterMetadata({ admin: source([snapshot(1, [])]), autoCreateTopics: false, ...time });
    await assert.rejects(metadata.topic("nope"), (error) => error instanceof ClientError && error.code === "UNKNOWN_TOPIC");
    const failing: MetadataSource = {
      clientMetadata: async () => {
        throw new AdminError("UNREACHABLE", 0, "Cannot reach controller http://127.0.0.1:1 as it refused the connection");
      },
      createTopic: async () => assert.fail("not asked"),
    };
    await assert.rejects(new ClusterMetadata({ admin: failing, ...time }).refresh(), (error) => error instanceof ClientError && error.code === "UNREACHABLE");
  });

  test("anyBrokerUrl takes the live brokers in turn", async () => {
    const metadata = new ClusterMetadata({ admin: source([snapshot(1, [], [broker(1), broker(2, "FENCED"), broker(3)])]), ...manualTime() });
    await metadata.refresh();
    assert.deepEqual([0, 1, 2].map((turn) => metadata.anyBrokerUrl(turn)), ["http://127.0.0.1:9201", "http://127.0.0.1:9203", "http://127.0.0.1:9201"]);
  });
});
