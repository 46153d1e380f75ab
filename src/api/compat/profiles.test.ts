import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { CompatProfileName } from "../../controller/config.js";
import { compatTestApp, envelope, send, stateRecord, uuidOf } from "./testing.js";
import type { CompatTestApp, Method } from "./testing.js";

/**
 * Each flavour's requests replayed in the order its clients sent them, against an app with that profile
 * at the root: register brokers, create a topic and a partition, register a producer, change and
 * unregister a broker, fetch changes with the flavour's offset encoding, and the gets.
 */

/** The fixture clock's start, 2023-11-14T22:13:20Z: records written before `later()` carry it. */
const startMs = 1_700_000_000_000;
const startSeconds = startMs / 1000;
/** Writes after this are stamped one second later, so that a time between the two splits the log. */
const laterMs = 1_000;

interface Replay {
  readonly app: CompatTestApp["app"];
  /** Sends a request and checks its status; answers the parsed body. */
  expect(method: Method, url: string, body: unknown, status: number): Promise<unknown>;
  later(): void;
}

function replay(profile: CompatProfileName): Replay {
  const { app, clock } = compatTestApp({ compatProfile: profile });
  return {
    app,
    async expect(method, url, body, status) {
      const response = await send(app, method, url, body);
      assert.equal(response.statusCode, status, `${method} ${url}: ${response.body}`);
      return response.json();
    },
    later: () => clock.advance(laterMs),
  };
}

/** The names and offsets of the records of a changes answer. */
function recordsOf(answer: unknown): string[] {
  const { records } = answer as { records: { name: string; offset?: number }[] };
  return records.map((record) => (record.offset === undefined ? record.name : `${record.offset} ${record.name}`));
}

const broker1 = { brokerId: 1, brokerHost: "10.0.0.1", brokerPort: "9092", securityProtocol: "PLAINTEXT", rackId: "r1" };
const broker2 = { brokerId: 2, brokerHost: "10.0.0.2", brokerPort: "9092", securityProtocol: "PLAINTEXT", rackId: "r2" };
/** The server-set fields as the course spec's example records hold them: placeholders, ignored. */
const brokerPlaceholders = { internalUUID: "", brokerStatus: "INIT", epoch: 0 };
const partitionPlaceholders = { ISR: [], removingReplicas: [], addingReplicas: [], partitionEpoch: 0 };

describe("compatibility profiles replay their flavour's requests", () => {
  test("flask-a: envelopes in, <float offset> as epoch seconds or an offset, records out", async () => {
    const { app, expect, later } = replay("flask-a");
    assert.deepEqual(await expect("POST", "/register_broker", envelope("RegisterBrokerRecord", { ...brokerPlaceholders, ...broker1 }), 200), { internalUUID: uuidOf(1), epoch: 1, offset: 1 });
    assert.deepEqual(await expect("POST", "/register_broker", { ...broker2, brokerId: "2" }, 200), { internalUUID: uuidOf(2), epoch: 1, offset: 2 });
    assert.deepEqual(await expect("POST", "/create_topic", envelope("TopicRecord", { topicUUID: "", name: "orders" }), 200), { topicUUID: uuidOf(3), offset: 3 });
    const partition = envelope("PartitionRecord", { ...partitionPlaceholders, partitionId: 0, topicUUID: uuidOf(3), replicas: [1, 2], leader: uuidOf(2) });
    assert.deepEqual(await expect("POST", "/create_partition", partition, 200), { topicUUID: uuidOf(3), partitionId: 0, offset: 4 });
    assert.deepEqual(await expect("POST", "/register_producer", envelope("ProducerIdsRecord", { brokerId: 1, brokerEpoch: 1, producerId: 0 }), 200), { producerId: 1, offset: 5 });
    later();
    assert.deepEqual(await expect("PUT", "/update_broker", envelope("RegistrationChangeBrokerRecord", { ...broker1, brokerHost: "10.0.0.11", brokerStatus: "INIT", epoch: 0 }), 200), { internalUUID: uuidOf(1), epoch: 2, offset: 6 });
    assert.deepEqual(await expect("POST", "/update_broker", { brokerId: 1, brokerPort: 9093 }, 200), { internalUUID: uuidOf(1), epoch: 3, offset: 7 });
    assert.deepEqual(await expect("DELETE", "/unregister_broker/2", undefined, 200), { internalUUID: uuidOf(2), epoch: 2, offset: 8 });
    await expect("PUT", "/unregister_broker/2", undefined, 409);

    assert.deepEqual(recordsOf(await expect("GET", "/broker_mgmt/6", undefined, 200)), ["7 BrokerRegistrationChangeRecord", "8 BrokerRegistrationChangeRecord", "8 PartitionChangeRecord"]);
    const sinceTime = await expect("GET", `/broker_mgmt/${startSeconds + 0.5}`, undefined, 200);
    assert.deepEqual(recordsOf(sinceTime), ["6 BrokerRegistrationChangeRecord", "7 BrokerRegistrationChangeRecord", "8 BrokerRegistrationChangeRecord", "8 PartitionChangeRecord"]);
    const first = (sinceTime as { records: unknown[] }).records[0];
    assert.deepEqual(first, { type: "metadata", name: "BrokerRegistrationChangeRecord", fields: { brokerId: 1, brokerHost: "10.0.0.11", brokerPort: 9092, securityProtocol: "PLAINTEXT", rackId: "r1", brokerStatus: "INIT", epoch: 2 }, timestamp: startMs + laterMs, offset: 6 });
    assert.deepEqual(recordsOf(await expect("GET", "/broker_mgmt/4", undefined, 200)).slice(0, 1), ["5 ProducerIdsRecord"], "the broker view has producers");
    assert.deepEqual(recordsOf(await expect("GET", "/client_mgmt/4", undefined, 200)).slice(0, 1), ["6 BrokerRegistrationChangeRecord"], "the client view has not");
    await expect("GET", "/client_mgmt/yesterday", undefined, 400);

    assert.deepEqual(await expect("GET", "/get_active_brokers", undefined, 200), [], "registered brokers are INIT until they heartbeat");
    await expect("POST", "/v1/broker-mgmt/metadata-fetch", { brokerId: 1, brokerEpoch: 3, offset: 8 }, 200);
    const active = (await expect("GET", "/get_active_brokers", undefined, 200)) as { fields: Record<string, unknown> }[];
    assert.deepEqual(active.map((b) => [b.fields["brokerId"], b.fields["brokerStatus"]]), [[1, "ALIVE"]]);
    assert.deepEqual(await expect("GET", "/get_topic_by_name/orders", undefined, 200), stateRecord("TopicRecord", { topicUUID: uuidOf(3), name: "orders" }));
    assert.equal(((await expect("GET", "/get_topic_by_name/nope", undefined, 404)) as { code: string }).code, "UNKNOWN_TOPIC");
    const partitions = (await app.inject({ url: "/v1/partitions" })).json().partitions;
    assert.deepEqual(partitions.map((p: Record<string, unknown>) => [p["replicas"], p["leader"]]), [[[1, 2], 1]], "leader given as broker 2's UUID, moved to 1 when 2 left");
  });

  test("flask-b: envelopes with ids in the path, YYYY-mm-dd_HH:MM:SS and epoch seconds as offsets", async () => {
    const { expect, later } = replay("flask-b");
    await expect("POST", "/register_broker", envelope("RegisterBrokerRecord", { ...brokerPlaceholders, ...broker1, brokerId: "1" }), 200);
    await expect("POST", "/register_broker", envelope("RegisterBrokerRecord", { ...brokerPlaceholders, ...broker2, brokerId: "2" }), 200);
    const all = (await expect("GET", "/get_all_brokers", undefined, 200)) as unknown[];
    assert.equal(all.length, 2);
    assert.deepEqual(await expect("GET", "/get_broker/1", undefined, 200), stateRecord("RegisterBrokerRecord", { internalUUID: uuidOf(1), ...broker1, brokerPort: 9092, brokerStatus: "INIT", epoch: 1 }));
    assert.deepEqual(await expect("POST", "/create_topic", envelope("TopicRecord", { name: "orders" }), 200), { topicUUID: uuidOf(3), offset: 3 });
    assert.deepEqual(await expect("GET", "/get_topic/orders", undefined, 200), stateRecord("TopicRecord", { topicUUID: uuidOf(3), name: "orders" }));
    await expect("POST", "/create_partition", envelope("PartitionRecord", { ...partitionPlaceholders, partitionId: "0", topicUUID: uuidOf(3), replicas: ["1", "2"], leader: "2" }), 200);
    assert.deepEqual(await expect("GET", "/get_partitions", undefined, 200), [
      stateRecord("PartitionRecord", { partitionId: 0, topicUUID: uuidOf(3), replicas: [1, 2], ISR: [1, 2], removingReplicas: [], addingReplicas: [], leader: 2, partitionEpoch: 0 }),
    ]);
    assert.deepEqual(await expect("POST", "/register_producer/1", envelope("ProducerIdsRecord", { producerId: 7 }), 200), { producerId: 7, offset: 5 }, "the broker's current epoch is used");
    assert.deepEqual(await expect("GET", "/get_producer_ids", undefined, 200), [stateRecord("ProducerIdsRecord", { brokerId: 1, brokerEpoch: 1, producerId: 7 })]);
    later();
    const change = envelope("RegistrationChangeBrokerRecord", { brokerId: "1", brokerHost: "10.0.0.11", brokerPort: "9093", securityProtocol: "SSL", brokerStatus: "ALIVE", timestamp: "2023-11-14_22:13:21" });
    assert.deepEqual(await expect("PUT", "/broker_registration_change", change, 200), { internalUUID: uuidOf(1), epoch: 2, offset: 6 });
    assert.deepEqual(await expect("PUT", "/delete_broker/2", undefined, 200), { internalUUID: uuidOf(2), epoch: 2, offset: 7 });
    const registered = (await expect("GET", "/get_all_brokers", undefined, 200)) as { fields: Record<string, unknown> }[];
    assert.deepEqual(registered.map((b) => b.fields["brokerId"]), [1], "CLOSED brokers are left out");

    const sinceStart = ["6 BrokerRegistrationChangeRecord", "7 BrokerRegistrationChangeRecord", "7 PartitionChangeRecord"];
    assert.deepEqual(recordsOf(await expect("GET", "/broker_mgmt/2023-11-14_22:13:20", undefined, 200)), sinceStart);
    assert.deepEqual(recordsOf(await expect("GET", `/client_mgmt/${startSeconds}`, undefined, 200)), sinceStart, "a whole number is epoch seconds here");
    assert.equal(recordsOf(await expect("GET", "/client_mgmt/2023-11-14_22:13:19", undefined, 200)).length, 7);
    await expect("GET", "/broker_mgmt/2023-02-30_00:00:00", undefined, 400);
    assert.deepEqual(recordsOf({ records: await expect("GET", "/get_metadata", undefined, 200) }), ["RegisterBrokerRecord", "RegisterBrokerRecord", "TopicRecord", "PartitionRecord", "ProducerIdsRecord"]);
  });

  test("syncobj: envelopes for records, flat bodies for the rest, an RFC 1123 offset in the broker fetch", async () => {
    const { expect, later } = replay("syncobj");
    await expect("POST", "/register-broker-record", envelope("RegisterBrokerRecord", { ...brokerPlaceholders, ...broker1 }), 200);
    await expect("POST", "/register-broker-record", envelope("RegisterBrokerRecord", { ...brokerPlaceholders, ...broker2 }), 200);
    assert.deepEqual(await expect("POST", "/register-topic-record", envelope("TopicRecord", { topicUUID: "", name: "orders" }), 200), { topicUUID: uuidOf(3), offset: 3 });
    assert.deepEqual(await expect("POST", "/partition-record", { topicUUID: uuidOf(3), partitionId: 0, replicas: [1, 2] }, 200), { topicUUID: uuidOf(3), partitionId: 0, offset: 4 });
    assert.deepEqual(await expect("POST", "/register-producer-record", { brokerId: 1 }, 200), { producerId: 1, offset: 5 });
    later();
    assert.deepEqual(await expect("POST", "/register-broker-change", envelope("RegistrationChangeBrokerRecord", { brokerId: 1, brokerPort: 9093 }), 200), { internalUUID: uuidOf(1), epoch: 2, offset: 6 });
    assert.deepEqual(await expect("POST", "/delete-broker-record", { brokerId: 2 }, 200), { internalUUID: uuidOf(2), epoch: 2, offset: 7 });

    const behind = (await expect("POST", "/metadata-fetch-broker", { brokerId: 1, offset: "Tue, 14 Nov 2023 22:13:20 GMT" }, 200)) as Record<string, unknown>;
    assert.deepEqual([behind["brokerStatus"], behind["brokerEpoch"], behind["kind"]], ["INIT", 2, "delta"]);
    assert.deepEqual(recordsOf(behind), ["6 BrokerRegistrationChangeRecord", "7 BrokerRegistrationChangeRecord", "7 PartitionChangeRecord"]);
    const caughtUp = (await expect("POST", "/metadata-fetch-broker", { brokerId: 1, offset: "Tue, 14 Nov 2023 22:13:21 GMT" }, 200)) as Record<string, unknown>;
    assert.deepEqual([caughtUp["brokerStatus"], caughtUp["brokerEpoch"]], ["ALIVE", 3], "the fetch is the heartbeat: caught up, the broker is unfenced");
    await expect("POST", "/metadata-fetch-broker", { brokerId: 1, offset: "Mon, 14 Nov 2023 22:13:20 GMT" }, 400);
    await expect("POST", "/metadata-fetch-broker", { brokerId: 9, offset: 0 }, 404);

    const client = recordsOf(await expect("GET", "/metadata-fetch-client", undefined, 200));
    assert.equal(client[0], "1 RegisterBrokerRecord");
    assert.ok(!client.some((name) => name.endsWith("ProducerIdsRecord")), "clients do not see producer ids");
    const sinceStart = recordsOf(await expect("GET", `/metadata-fetch-client?offset=${encodeURIComponent("Tue, 14 Nov 2023 22:13:20 GMT")}`, undefined, 200));
    assert.deepEqual(sinceStart, ["6 BrokerRegistrationChangeRecord", "7 BrokerRegistrationChangeRecord", "7 PartitionChangeRecord", "8 BrokerRegistrationChangeRecord"], "the last is the unfencing");
  });

  test("fastapi: flat bodies, trailing slashes, one or all by id", async () => {
    const { expect } = replay("fastapi");
    await expect("POST", "/register_broker/", broker1, 200);
    await expect("POST", "/register_broker/", broker2, 200);
    assert.equal(((await expect("GET", "/get_broker/", undefined, 200)) as unknown[]).length, 2);
    assert.equal(((await expect("GET", "/get_broker/2", undefined, 200)) as { fields: Record<string, unknown> }).fields["internalUUID"], uuidOf(2));
    await expect("GET", "/get_broker/9", undefined, 404);
    await expect("POST", "/register_topic/", { name: "orders" }, 200);
    await expect("POST", "/register_topic/", { name: "logs" }, 200);
    await expect("POST", "/register_topic/", { name: "logs" }, 409);
    assert.deepEqual(await expect("GET", "/get_topic/", undefined, 200), [stateRecord("TopicRecord", { topicUUID: uuidOf(4), name: "logs" }), stateRecord("TopicRecord", { topicUUID: uuidOf(3), name: "orders" })]);
    assert.deepEqual(await expect("GET", "/get_topic/orders", undefined, 200), stateRecord("TopicRecord", { topicUUID: uuidOf(3), name: "orders" }));
    await expect("POST", "/register_partition/", { topicName: "orders", partitionId: 0, replicas: [1, 2] }, 200);
    await expect("POST", "/register_partition/", { topicName: "logs", partitionId: 0, replicas: [2] }, 200);
    await expect("POST", "/register_partition/", { topicName: "logs", partitionId: 0, replicas: [2] }, 409);
    assert.equal(((await expect("GET", "/get_partition/", undefined, 200)) as unknown[]).length, 2);
    assert.equal(((await expect("GET", "/get_partition/0", undefined, 200)) as unknown[]).length, 2, "partition 0 of each topic");
    assert.deepEqual(await expect("GET", "/get_partition/0?topic=logs", undefined, 200), [stateRecord("PartitionRecord", { partitionId: 0, topicUUID: uuidOf(4), replicas: [2], ISR: [2], removingReplicas: [], addingReplicas: [], leader: 2, partitionEpoch: 0 })]);
    assert.equal(((await expect("GET", "/get_partition/5", undefined, 404)) as { code: string }).code, "UNKNOWN_PARTITION");
    assert.equal(((await expect("DELETE", "/delete_partition/0", undefined, 405)) as { code: string }).code, "METHOD_NOT_ALLOWED");
    assert.deepEqual(await expect("POST", "/register_broker_change/", { brokerId: 1, brokerHost: "10.0.0.11" }, 200), { internalUUID: uuidOf(1), epoch: 2, offset: 7 });
    assert.equal(((await expect("POST", "/register_producer/", { brokerId: 1, brokerEpoch: 1 }, 409)) as { code: string }).code, "STALE_BROKER_EPOCH");
    assert.deepEqual(await expect("POST", "/register_producer/", { brokerId: 1, brokerEpoch: 2 }, 200), { producerId: 1, offset: 8 });
    await expect("POST", "/register_producer/", { brokerId: 2 }, 200);
    assert.equal(((await expect("GET", "/get_producer/", undefined, 200)) as unknown[]).length, 2);
    assert.deepEqual(await expect("POST", "/get_producer/", { brokerId: 1 }, 200), [stateRecord("ProducerIdsRecord", { brokerId: 1, brokerEpoch: 2, producerId: 1 })]);

    const behind = (await expect("POST", "/metadata_fetch/", { brokerId: 1, brokerEpoch: 2, offset: 8 }, 200)) as Record<string, unknown>;
    assert.deepEqual([behind["brokerStatus"], behind["brokerEpoch"], recordsOf(behind)], ["INIT", 2, ["9 ProducerIdsRecord"]]);
    const caughtUp = (await expect("POST", "/metadata_fetch/", { brokerId: 1, brokerEpoch: 2, offset: 9 }, 200)) as Record<string, unknown>;
    assert.deepEqual([caughtUp["brokerStatus"], caughtUp["brokerEpoch"]], ["ALIVE", 3]);
    assert.deepEqual(recordsOf(await expect("GET", "/metadata_fetch_client/?offset=9", undefined, 200)), ["10 BrokerRegistrationChangeRecord"], "the unfencing");
    assert.deepEqual(await expect("DELETE", "/delete_topic/logs", undefined, 200), { topicUUID: uuidOf(4), offset: 11 });
    assert.deepEqual(await expect("DELETE", "/delete_broker/2", undefined, 200), { internalUUID: uuidOf(2), epoch: 2, offset: 12 });
  });

  test("go-rest: ids in the query, case-insensitive keys, prevLogicalTime as the offset", async () => {
    const { app, expect } = replay("go-rest");
    await expect("POST", "/brokers", { brokerID: 1, BrokerHost: "10.0.0.1", brokerPort: 9092, securityProtocol: "PLAINTEXT" }, 200);
    await expect("POST", "/brokers", { brokerid: 2, brokerhost: "10.0.0.2", brokerport: 9092 }, 200);
    assert.equal(((await expect("GET", "/brokers", undefined, 200)) as unknown[]).length, 2);
    assert.equal(((await expect("GET", "/brokers?brokerID=1", undefined, 200)) as { fields: Record<string, unknown> }).fields["brokerHost"], "10.0.0.1");
    assert.deepEqual(await expect("PUT", "/brokers", { brokerID: 1, brokerHost: "10.0.0.11", brokerPort: 9093, securityProtocol: "PLAINTEXT" }, 200), { internalUUID: uuidOf(1), epoch: 2, offset: 3 });
    assert.deepEqual(await expect("POST", "/topics", { name: "orders" }, 200), { topicUUID: uuidOf(3), offset: 4 });
    assert.equal(((await expect("GET", "/topics", undefined, 200)) as unknown[]).length, 1);
    assert.deepEqual(await expect("GET", "/topics?name=orders", undefined, 200), stateRecord("TopicRecord", { topicUUID: uuidOf(3), name: "orders" }));
    assert.deepEqual(await expect("POST", "/partitions", { topicName: "orders", partitionID: 0, replicas: [1, 2], leader: 2 }, 200), { topicUUID: uuidOf(3), partitionId: 0, offset: 5 });
    const bodiless = await app.inject({ method: "POST", url: "/producers?brokerID=1&producerID=5", headers: { "content-type": "application/json" } });
    assert.equal(bodiless.statusCode, 200, bodiless.body);
    assert.deepEqual(bodiless.json(), { producerId: 5, offset: 6 });
    assert.deepEqual(await expect("DELETE", "/brokers?brokerID=2", undefined, 200), { internalUUID: uuidOf(2), epoch: 2, offset: 7 });
    assert.deepEqual(await expect("GET", "/activeBrokers", undefined, 200), []);

    assert.deepEqual(recordsOf(await expect("GET", "/brokerMetadata?prevLogicalTime=5", undefined, 200)), ["6 ProducerIdsRecord", "7 BrokerRegistrationChangeRecord", "7 PartitionChangeRecord"]);
    assert.deepEqual(recordsOf(await expect("GET", "/clientMetadata?prevLogicalTime=5", undefined, 200)), ["7 BrokerRegistrationChangeRecord", "7 PartitionChangeRecord"]);
    const partitionRecord = (await expect("GET", "/clientMetadata?PREVLOGICALTIME=4", undefined, 200)) as { records: { fields: Record<string, unknown> }[] };
    assert.equal(partitionRecord.records[0]?.fields["leader"], 2);
    assert.equal(recordsOf(await expect("GET", "/clientMetadata", undefined, 200)).length, 7, "no prevLogicalTime: from the beginning");
    await expect("GET", "/brokerMetadata?prevLogicalTime=-1", undefined, 400);
  });
});
