import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { applyChanges as applyToBrokerImage, emptyImage } from "../broker/metadataImage.js";
import { applyChanges as applyToClientView, emptyMetadataView } from "../client/clusterMetadata.js";
import { jsonRequest, testApp } from "./testing.js";

// Every canonical /v1 metadata route through app.inject(), over the real MetadataService and state machine.

async function post(app: FastifyInstance, url: string, body: unknown, headers: Record<string, string> = {}) {
  return app.inject(jsonRequest("POST", url, body, headers));
}

/** Registers brokers and heartbeats them until UNFENCED, so topics can be placed on them. */
async function liveBrokers(app: FastifyInstance, ids: readonly number[], racks: readonly string[] = []): Promise<void> {
  for (const [i, brokerId] of ids.entries()) {
    const registered = await post(app, "/v1/brokers", { brokerId, brokerHost: "127.0.0.1", brokerPort: 9090 + brokerId, ...(racks[i] === undefined ? {} : { rackId: racks[i] }) });
    assert.equal(registered.statusCode, 201, registered.body);
  }
  for (const brokerId of ids) {
    const first = (await post(app, "/v1/broker-mgmt/metadata-fetch", { brokerId, brokerEpoch: 1, offset: 0 })).json();
    const second = (await post(app, "/v1/broker-mgmt/metadata-fetch", { brokerId, brokerEpoch: first.brokerEpoch, offset: first.currentOffset })).json();
    assert.equal(second.brokerStatus, "UNFENCED");
  }
}

describe("metadata routes", () => {
  test("brokers: register (201, INIT, epoch 1), re-register (epoch + 1), get, list with ?status, change (epoch + 1), unregister (CLOSED)", async () => {
    const { app } = testApp();
    const registered = await post(app, "/v1/brokers", { brokerId: 1, brokerHost: "10.0.0.1", brokerPort: 9092 });
    assert.equal(registered.statusCode, 201);
    assert.deepEqual(registered.json(), {
      broker: { internalUUID: "00000000-0000-4000-8000-000000000001", brokerId: 1, brokerHost: "10.0.0.1", brokerPort: 9092, securityProtocol: "PLAINTEXT", rackId: null, brokerStatus: "INIT", epoch: 1 },
      offset: 1,
      replayed: false,
    });
    const again = (await post(app, "/v1/brokers", { brokerId: 1, brokerHost: "10.0.0.1", brokerPort: 9093, rackId: "a" })).json();
    assert.equal(again.broker.epoch, 2);
    assert.equal(again.broker.internalUUID, registered.json().broker.internalUUID, "a returning broker keeps its id");
    assert.equal((await app.inject({ url: "/v1/brokers/1" })).json().broker.brokerPort, 9093);
    await post(app, "/v1/brokers", { brokerId: 2, brokerHost: "10.0.0.2", brokerPort: 9092 });
    assert.deepEqual((await app.inject({ url: "/v1/brokers" })).json().brokers.map((b: { brokerId: number }) => b.brokerId), [1, 2]);
    assert.deepEqual((await app.inject({ url: "/v1/brokers?status=active" })).json().brokers, [], "none UNFENCED yet");
    assert.equal((await app.inject({ url: "/v1/brokers?status=init,alive" })).json().brokers.length, 2);
    const changed = await app.inject(jsonRequest("PATCH", "/v1/brokers/2", { brokerHost: "10.0.0.22" }));
    assert.deepEqual([changed.statusCode, changed.json().broker.brokerHost, changed.json().broker.epoch], [200, "10.0.0.22", 2]);
    const closed = await app.inject({ method: "DELETE", url: "/v1/brokers/2" });
    assert.deepEqual([closed.statusCode, closed.json().broker.brokerStatus, closed.json().broker.internalUUID], [200, "CLOSED", "00000000-0000-4000-8000-000000000003"]);
    assert.equal((await app.inject({ url: "/v1/brokers?status=CLOSED" })).json().brokers.length, 1, "CLOSED brokers stay visible");
  });

  test("broker errors: unknown id 404, CLOSED change 409, bad status filter 400, out-of-range id 400", async () => {
    const { app } = testApp();
    const unknown = await app.inject({ url: "/v1/brokers/7" });
    assert.deepEqual([unknown.statusCode, unknown.json().code, unknown.json().field], [404, "UNKNOWN_BROKER", "brokerId"]);
    assert.equal((await app.inject({ method: "DELETE", url: "/v1/brokers/7" })).json().code, "UNKNOWN_BROKER");
    await post(app, "/v1/brokers", { brokerId: 1, brokerHost: "h", brokerPort: 1 });
    await app.inject({ method: "DELETE", url: "/v1/brokers/1" });
    const closed = await app.inject(jsonRequest("PATCH", "/v1/brokers/1", { brokerPort: 2 }));
    assert.deepEqual([closed.statusCode, closed.json().code], [409, "INVALID_BROKER_STATUS"]);
    const badStatus = await app.inject({ url: "/v1/brokers?status=sleepy" });
    assert.deepEqual([badStatus.statusCode, badStatus.json().field], [400, "querystring.status"]);
    assert.equal((await app.inject({ url: "/v1/brokers/-3" })).statusCode, 400);
    const emptyChange = await app.inject(jsonRequest("PATCH", "/v1/brokers/1", {}));
    assert.equal(emptyChange.statusCode, 400);
  });

  test("topics: create with partitions placed rack-aware on live brokers, get, list, partitions, delete; duplicate name 409", async () => {
    const { app } = testApp();
    await liveBrokers(app, [1, 2, 3, 4], ["a", "a", "b", "b"]);
    const created = await post(app, "/v1/topics", { name: "orders", partitions: 4, replicationFactor: 2 });
    assert.equal(created.statusCode, 201, created.body);
    const topic = created.json().topic;
    assert.equal(topic.partitions.length, 4);
    const rackOf = (id: number) => (id <= 2 ? "a" : "b");
    for (const partition of topic.partitions) {
      assert.equal(new Set(partition.replicas.map(rackOf)).size, 2, "each partition spans both racks");
      assert.equal(partition.leader, partition.replicas[0]);
      assert.deepEqual(partition.ISR, partition.replicas);
    }
    assert.equal(new Set(topic.partitions.map((p: { leader: number }) => p.leader)).size, 4, "leaders spread over the brokers");
    const duplicate = await post(app, "/v1/topics", { name: "orders" });
    assert.deepEqual([duplicate.statusCode, duplicate.json().code, duplicate.json().field], [409, "TOPIC_EXISTS", "name"]);
    assert.deepEqual((await app.inject({ url: "/v1/topics/orders" })).json().topic, topic);
    assert.deepEqual((await app.inject({ url: "/v1/topics" })).json().topics.map((t: { name: string }) => t.name), ["orders"]);
    const partitions = (await app.inject({ url: "/v1/topics/orders/partitions" })).json().partitions;
    assert.deepEqual(partitions.map((p: { topicName: string; partitionId: number }) => `${p.topicName}/${p.partitionId}`), ["orders/0", "orders/1", "orders/2", "orders/3"]);
    const deleted = await app.inject({ method: "DELETE", url: "/v1/topics/orders" });
    assert.deepEqual([deleted.statusCode, deleted.json().topic.topicUUID], [200, topic.topicUUID]);
    assert.equal((await app.inject({ url: "/v1/topics/orders" })).json().code, "UNKNOWN_TOPIC");
    assert.equal((await app.inject({ url: "/v1/topics/orders/partitions" })).statusCode, 404);
  });

  test("topics: the replication factor defaults to min(3, live brokers); more replicas than live brokers is 422 naming the field", async () => {
    const { app } = testApp();
    await liveBrokers(app, [1, 2]);
    const created = (await post(app, "/v1/topics", { name: "a", partitions: 2 })).json();
    assert.deepEqual(created.topic.partitions.map((p: { replicas: number[] }) => p.replicas.length), [2, 2]);
    const tooMany = await post(app, "/v1/topics", { name: "b", partitions: 1, replicationFactor: 3 });
    assert.deepEqual([tooMany.statusCode, tooMany.json().code, tooMany.json().field], [422, "INVALID_REPLICAS", "replicationFactor"]);
    const bare = (await post(app, "/v1/topics", { name: "c" })).json();
    assert.deepEqual(bare.topic.partitions, [], "a topic without partitions, as the earlier flavours create them");
    const badName = await post(app, "/v1/topics", { name: "a/b" });
    assert.deepEqual([badName.statusCode, badName.json().code], [400, "INVALID_COMMAND"]);
  });

  test("a topic with the longest name allowed (249 characters) can be read, listed by partition and deleted by name", async () => {
    const { app } = testApp();
    const name = "n".repeat(249);
    assert.equal((await post(app, "/v1/topics", { name })).statusCode, 201);
    for (const url of [`/v1/topics/${name}`, `/v1/topics/${name}/partitions`]) {
      const answer = await app.inject({ method: "GET", url });
      assert.equal(answer.statusCode, 200, `${url.slice(0, 30)}…: ${answer.body.slice(0, 200)}`);
    }
    assert.equal((await app.inject({ method: "DELETE", url: `/v1/topics/${name}` })).statusCode, 200);
  });

  test("partitions: create with replicas or placed, list by topic, change leader/ISR with partitionEpoch + 1; stale epoch 409", async () => {
    const { app } = testApp();
    await liveBrokers(app, [1, 2, 3]);
    await post(app, "/v1/topics", { name: "t" });
    const given = await post(app, "/v1/partitions", { topicName: "t", replicas: [2, 3], leader: 3 });
    assert.equal(given.statusCode, 201, given.body);
    assert.deepEqual([given.json().partition.partitionId, given.json().partition.leader, given.json().partition.topicName], [0, 3, "t"]);
    const placed = (await post(app, "/v1/partitions", { topicName: "t", replicationFactor: 3 })).json().partition;
    assert.deepEqual([placed.partitionId, placed.replicas.length], [1, 3]);
    assert.equal((await app.inject({ url: "/v1/partitions?topic=t" })).json().partitions.length, 2);
    assert.equal((await app.inject({ url: "/v1/partitions" })).json().partitions.length, 2);
    const moved = await app.inject(jsonRequest("PATCH", "/v1/topics/t/partitions/0", { leader: 2, expectedPartitionEpoch: 0 }));
    assert.deepEqual([moved.statusCode, moved.json().partition.leader, moved.json().partition.partitionEpoch], [200, 2, 1]);
    const stale = await app.inject(jsonRequest("PATCH", "/v1/topics/t/partitions/0", { isr: [2], expectedPartitionEpoch: 0 }));
    assert.deepEqual([stale.statusCode, stale.json().code], [409, "STALE_PARTITION_EPOCH"]);
    const unknownTopic = await post(app, "/v1/partitions", { topicName: "nope", replicas: [1] });
    assert.deepEqual([unknownTopic.statusCode, unknownTopic.json().code], [404, "UNKNOWN_TOPIC"]);
    const taken = await post(app, "/v1/partitions", { topicName: "t", partitionId: 0, replicas: [1] });
    assert.deepEqual([taken.statusCode, taken.json().code], [409, "PARTITION_EXISTS"]);
    const unregistered = await post(app, "/v1/partitions", { topicName: "t", replicas: [9] });
    assert.deepEqual([unregistered.statusCode, unregistered.json().code], [422, "INVALID_REPLICAS"]);
    const unknownPartition = await app.inject(jsonRequest("PATCH", "/v1/topics/t/partitions/9", { leader: 1 }));
    assert.deepEqual([unknownPartition.statusCode, unknownPartition.json().code], [404, "UNKNOWN_PARTITION"]);
  });

  test("producers: ids allocated from 1 and never reused, a requested id, the broker epoch checked (409 stale)", async () => {
    const { app } = testApp();
    await post(app, "/v1/brokers", { brokerId: 1, brokerHost: "h", brokerPort: 1 });
    const first = await post(app, "/v1/producers", { brokerId: 1, brokerEpoch: 1 });
    assert.deepEqual([first.statusCode, first.json().producer], [201, { brokerId: 1, brokerEpoch: 1, producerId: 1 }]);
    assert.equal((await post(app, "/v1/producers", { brokerId: 1, brokerEpoch: 1, producerId: 10 })).json().producer.producerId, 10);
    assert.equal((await post(app, "/v1/producers", { brokerId: 1, brokerEpoch: 1 })).json().producer.producerId, 11);
    const taken = await post(app, "/v1/producers", { brokerId: 1, brokerEpoch: 1, producerId: 10 });
    assert.deepEqual([taken.statusCode, taken.json().code], [409, "PRODUCER_ID_TAKEN"]);
    const stale = await post(app, "/v1/producers", { brokerId: 1, brokerEpoch: 0 });
    assert.deepEqual([stale.statusCode, stale.json().code, stale.json().field], [409, "STALE_BROKER_EPOCH", "brokerEpoch"]);
    assert.deepEqual((await app.inject({ url: "/v1/producers" })).json().producers.map((p: { producerId: number }) => p.producerId), [1, 10, 11]);
  });

  test("broker metadata fetch: delta since an offset, the full image (with producers) from before the history, times in every encoding", async () => {
    const { app, controller, clock } = testApp();
    await post(app, "/v1/brokers", { brokerId: 1, brokerHost: "h", brokerPort: 1 });
    clock.advance(60_000);
    await post(app, "/v1/topics", { name: "t" });
    const delta = (await post(app, "/v1/broker-mgmt/metadata-fetch", { brokerId: 1, brokerEpoch: 1, offset: 1 })).json();
    assert.deepEqual([delta.kind, delta.currentOffset, delta.records.map((r: { name: string }) => r.name)], ["delta", 2, ["TopicRecord"]]);
    assert.deepEqual([delta.heartbeatIntervalMs, delta.sessionTimeoutMs, delta.brokerStatus], [2_000, 9_000, "INIT"]);
    const registeredAt = (clock.nowMs - 60_000) / 1000;
    for (const offset of [registeredAt, String(registeredAt), "2023-11-14_22:13:20", "Tue, 14 Nov 2023 22:13:20 GMT"]) {
      const byTime = (await post(app, "/v1/broker-mgmt/metadata-fetch", { brokerId: 1, brokerEpoch: 1, offset })).json();
      assert.deepEqual(byTime.records?.map((r: { name: string }) => r.name), ["TopicRecord"], `offset ${JSON.stringify(offset)}`);
    }
    controller.stateMachine.restore(controller.stateMachine.snapshot(), 2);
    const image = (await post(app, "/v1/broker-mgmt/metadata-fetch", { brokerId: 1, brokerEpoch: 1, offset: 0 })).json();
    assert.deepEqual([image.kind, image.currentOffset, image.snapshot.topics.length, Array.isArray(image.snapshot.producers)], ["snapshot", 2, 1, true]);
    const bad = await post(app, "/v1/broker-mgmt/metadata-fetch", { brokerId: 1, brokerEpoch: 1, offset: "yesterday" });
    assert.deepEqual([bad.statusCode, bad.json().field], [400, "offset"]);
  });

  test("client metadata: topics, partitions and brokers only; a delta or the full image", async () => {
    const { app } = testApp();
    await post(app, "/v1/brokers", { brokerId: 1, brokerHost: "h", brokerPort: 1 });
    await post(app, "/v1/producers", { brokerId: 1, brokerEpoch: 1 });
    await post(app, "/v1/topics", { name: "t" });
    const delta = (await app.inject({ url: "/v1/client-mgmt/metadata?offset=1" })).json();
    assert.deepEqual(delta.records.map((r: { name: string }) => r.name), ["TopicRecord"], "no ProducerIdsRecord for clients");
    const all = (await app.inject({ url: "/v1/client-mgmt/metadata" })).json();
    assert.deepEqual(all.records.map((r: { name: string }) => r.name), ["RegisterBrokerRecord", "TopicRecord"]);
    assert.equal((await app.inject({ url: "/v1/client-mgmt/metadata?offset=-1" })).statusCode, 400);
  });

  test("?format=compact: a full image with partitions as tuples, read by the broker and the client into what the SPEC form gives; deltas and the default unchanged", async () => {
    const { app, controller } = testApp();
    await liveBrokers(app, [1, 2, 3, 4]);
    await post(app, "/v1/topics", { name: "orders", partitions: 3, replicationFactor: 3 });
    await post(app, "/v1/topics", { name: "empty" });
    await post(app, "/v1/topics", { name: "gone", partitions: 2 });
    await post(app, "/v1/topics", { name: "logs", partitions: 2, replicationFactor: 1 });
    assert.equal((await app.inject({ method: "DELETE", url: "/v1/topics/gone" })).statusCode, 200);
    assert.equal((await app.inject(jsonRequest("PATCH", "/v1/topics/orders/partitions/1", { isr: [] }))).json().partition.leader, -1);
    await post(app, "/v1/brokers", { brokerId: 5, brokerHost: "h5", brokerPort: 5 });
    assert.equal((await app.inject({ method: "DELETE", url: "/v1/brokers/5" })).statusCode, 200);
    const deltaSpec = await post(app, "/v1/broker-mgmt/metadata-fetch", { brokerId: 1, brokerEpoch: 2, offset: 1 });
    const deltaCompact = await post(app, "/v1/broker-mgmt/metadata-fetch?format=compact", { brokerId: 1, brokerEpoch: 2, offset: 1 });
    assert.deepEqual(deltaCompact.json(), { ...deltaSpec.json(), format: "compact" }, "a delta is the same records");
    const offset = controller.stateMachine.appliedIndex;
    controller.stateMachine.restore(controller.stateMachine.snapshot(), offset);

    const brokerSpec = await post(app, "/v1/broker-mgmt/metadata-fetch", { brokerId: 1, brokerEpoch: 2, offset: 0 });
    const brokerSpecAgain = await post(app, "/v1/broker-mgmt/metadata-fetch?format=spec", { brokerId: 1, brokerEpoch: 2, offset: 0 });
    const brokerCompact = await post(app, "/v1/broker-mgmt/metadata-fetch?format=compact", { brokerId: 1, brokerEpoch: 2, offset: 0 });
    assert.equal(brokerSpecAgain.body, brokerSpec.body, "format=spec is the default");
    assert.equal("format" in brokerSpec.json(), false);
    const compact = brokerCompact.json();
    assert.deepEqual([compact.kind, compact.format, compact.currentOffset, compact.brokerId, compact.brokerStatus], ["snapshot", "compact", offset, 1, "UNFENCED"]);
    assert.deepEqual(compact.snapshot.brokers, brokerSpec.json().snapshot.brokers);
    assert.deepEqual(compact.snapshot.producers, brokerSpec.json().snapshot.producers);
    assert.deepEqual(compact.snapshot.topics.map((t: { name: string }) => t.name), ["empty", "logs", "orders"], "the deleted topic is not in the image");
    const orders = compact.snapshot.topics[2];
    assert.deepEqual(Object.keys(orders), ["name", "topicUUID", "partitions"]);
    assert.deepEqual(orders.partitions.map((p: unknown[]) => [p.length, p[0], p[1]]), [[5, 0, orders.partitions[0][3][0]], [5, 1, -1], [5, 2, orders.partitions[2][3][0]]]);
    assert.ok(brokerCompact.body.length < brokerSpec.body.length, `compact ${brokerCompact.body.length} B, SPEC ${brokerSpec.body.length} B`);
    assert.deepEqual(applyToBrokerImage(emptyImage, compact), applyToBrokerImage(emptyImage, brokerSpec.json()), "the broker's image is the same either way");
    assert.equal(applyToBrokerImage(emptyImage, compact).topics.get("orders")?.partitions.get(1)?.leader, -1);

    const clientSpec = await app.inject({ url: "/v1/client-mgmt/metadata?offset=0" });
    const clientCompact = await app.inject({ url: "/v1/client-mgmt/metadata?offset=0&format=compact&consistency=stale" });
    assert.deepEqual([clientCompact.statusCode, clientCompact.json().format, "producers" in clientCompact.json().snapshot], [200, "compact", false]);
    const clientView = applyToClientView(emptyMetadataView, clientCompact.json());
    assert.deepEqual(clientView, applyToClientView(emptyMetadataView, clientSpec.json()), "the client's view is the same either way");
    assert.deepEqual([...clientView.topics.keys()], ["empty", "logs", "orders"]);
    assert.deepEqual([...clientView.brokers.keys()], [1, 2, 3, 4, 5]);

    for (const url of ["/v1/client-mgmt/metadata?format=tuples", "/v1/client-mgmt/metadata?format="]) {
      const bad = await app.inject({ url });
      assert.deepEqual([bad.statusCode, bad.json().code], [400, "BAD_REQUEST"], url);
    }
    const badBroker = await post(app, "/v1/broker-mgmt/metadata-fetch?format=COMPACT", { brokerId: 1, brokerEpoch: 2, offset: 0 });
    assert.deepEqual([badBroker.statusCode, badBroker.json().code], [400, "BAD_REQUEST"]);
  });

  test("the log pages by whole offsets from fromOffset; an offset no longer kept is 410 OFFSET_COMPACTED", async () => {
    const { app, controller } = testApp();
    await liveBrokers(app, [1, 2]);
    await post(app, "/v1/topics", { name: "t", partitions: 2 });
    const page = (await app.inject({ url: "/v1/log?fromOffset=1&limit=1" })).json();
    assert.deepEqual([page.records.length, page.records[0].offset, page.nextOffset], [1, 1, 2]);
    const topicPage = (await app.inject({ url: `/v1/log?fromOffset=${controller.stateMachine.appliedIndex}&limit=1` })).json();
    assert.deepEqual(topicPage.records.map((r: { name: string }) => r.name), ["TopicRecord", "PartitionRecord", "PartitionRecord"], "one command's records stay together");
    assert.equal(topicPage.nextOffset, controller.stateMachine.appliedIndex + 1);
    controller.stateMachine.restore(controller.stateMachine.snapshot(), controller.stateMachine.appliedIndex);
    const gone = await app.inject({ url: "/v1/log?fromOffset=1" });
    assert.deepEqual([gone.statusCode, gone.json().code, gone.json().startOffset], [410, "OFFSET_COMPACTED", controller.stateMachine.appliedIndex]);
  });

  test("snapshots: none at first, POST takes one, GET lists it and fetches its image; an unknown id is 404", async () => {
    const { app } = testApp();
    assert.deepEqual((await app.inject({ url: "/v1/snapshots" })).json(), { snapshots: [] });
    await post(app, "/v1/topics", { name: "t" });
    const taken = await app.inject({ method: "POST", url: "/v1/snapshots" });
    assert.equal(taken.statusCode, 201);
    const { id } = taken.json().snapshot;
    assert.equal(id, "1-3");
    assert.deepEqual((await app.inject({ url: "/v1/snapshots" })).json().snapshots.map((s: { id: string }) => s.id), [id]);
    const content = (await app.inject({ url: `/v1/snapshots/${id}` })).json();
    assert.deepEqual(content.metadata.topics.map((t: { name: string }) => t.name), ["t"]);
    const unknown = await app.inject({ url: "/v1/snapshots/9-9" });
    assert.deepEqual([unknown.statusCode, unknown.json().code], [404, "UNKNOWN_SNAPSHOT"]);
  });

  test("Idempotency-Key: a retried write is applied once and answered with the first result; a lower sequence is 409; a bad key 400", async () => {
    const { app, controller } = testApp();
    const first = await post(app, "/v1/topics", { name: "t" }, { "idempotency-key": "admin-7:3" });
    const retry = await post(app, "/v1/topics", { name: "t" }, { "idempotency-key": "admin-7:3" });
    assert.deepEqual([retry.statusCode, retry.json().replayed, retry.json().topic.topicUUID], [201, true, first.json().topic.topicUUID]);
    assert.equal(controller.proposals, 1);
    const older = await post(app, "/v1/topics", { name: "u" }, { "idempotency-key": "admin-7:2" });
    assert.deepEqual([older.statusCode, older.json().code], [409, "STALE_CLIENT_SEQUENCE"]);
    const opaque = await post(app, "/v1/topics", { name: "v" }, { "idempotency-key": "3f1c0d8e-retry-me" });
    const opaqueAgain = await post(app, "/v1/topics", { name: "v" }, { "idempotency-key": "3f1c0d8e-retry-me" });
    assert.equal(opaqueAgain.json().replayed, true);
    assert.equal(opaque.json().topic.topicUUID, opaqueAgain.json().topic.topicUUID);
    const refused = await post(app, "/v1/topics", { name: "t" }, { "idempotency-key": "admin-8:1" });
    const refusedAgain = await post(app, "/v1/topics", { name: "t" }, { "idempotency-key": "admin-8:1" });
    assert.deepEqual([refused.json().code, refusedAgain.json().code], ["TOPIC_EXISTS", "TOPIC_EXISTS"], "a refusal is replayed too");
    const tooLong = await post(app, "/v1/topics", { name: "w" }, { "idempotency-key": "k".repeat(300) });
    assert.deepEqual([tooLong.statusCode, tooLong.json().field], [400, "headers.idempotency-key"]);
  });
});
