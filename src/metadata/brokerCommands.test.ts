import assert from "node:assert/strict";
import { test } from "node:test";
import { limits } from "../shared/limits.js";
import type { MetadataCommand } from "./commands.js";
import { getBroker, getTopic, listBrokers } from "./queries.js";
import { brokerOf, createDriver, liveBrokers, mustApply, mustReject, registerBroker, startMs, uuid } from "./testing.js";

test("RegisterBroker registers a new broker at epoch 1, status INIT, and says so in a RegisterBrokerRecord", () => {
  const driver = createDriver();
  const applied = mustApply(driver, registerBroker(1, { rackId: "rack-a" }));
  const expected = {
    internalUUID: uuid(1001),
    brokerId: 1,
    brokerHost: "broker-1.local",
    brokerPort: 9093,
    securityProtocol: "PLAINTEXT",
    rackId: "rack-a",
    brokerStatus: "INIT",
    epoch: 1,
  };
  assert.deepEqual(brokerOf(applied), expected);
  assert.deepEqual(applied.records, [{ type: "metadata", name: "RegisterBrokerRecord", fields: expected, timestamp: startMs, offset: 1 }]);
  assert.deepEqual(getBroker(driver.state, 1), expected);
});

test("RegisterBroker stores an absent or empty rackId as null", () => {
  const driver = createDriver();
  assert.equal(brokerOf(mustApply(driver, registerBroker(1))).rackId, null);
  assert.equal(brokerOf(mustApply(driver, registerBroker(2, { rackId: "" }))).rackId, null);
});

test("a restarted broker re-registers with a higher epoch, keeps its internalUUID, takes its new endpoint and returns to INIT", () => {
  const driver = createDriver();
  const epochs = liveBrokers(driver, [1]);
  const again = brokerOf(mustApply(driver, registerBroker(1, { brokerHost: "new-host", internalUUID: uuid(99) })));
  assert.equal(again.internalUUID, uuid(1001));
  assert.equal(again.brokerHost, "new-host");
  assert.equal(again.brokerStatus, "INIT");
  assert.equal(again.epoch, (epochs.get(1) ?? 0) + 1);
});

test("a re-registering broker is not caught up, so it leaves every ISR and hands over what it led", () => {
  const driver = createDriver();
  liveBrokers(driver, [1, 2]);
  mustApply(driver, { type: "CreateTopic", name: "t", topicUUID: uuid(1), partitions: [{ partitionId: 0, replicas: [1, 2], leader: 1 }] });
  const applied = mustApply(driver, registerBroker(1));
  assert.deepEqual(
    applied.records.map((record) => record.name),
    ["RegisterBrokerRecord", "PartitionChangeRecord"],
  );
  const partition = getTopic(driver.state, "t")?.partitions[0];
  assert.deepEqual(partition?.ISR, [2]);
  assert.equal(partition?.leader, 2);
  assert.equal(partition?.partitionEpoch, 1);
});

test("registering a CLOSED broker id again is a new registration: new internalUUID, epoch still higher", () => {
  const driver = createDriver();
  mustApply(driver, registerBroker(1));
  const closed = brokerOf(mustApply(driver, { type: "UnregisterBroker", brokerId: 1 }));
  const reborn = brokerOf(mustApply(driver, registerBroker(1, { internalUUID: uuid(5) })));
  assert.equal(reborn.internalUUID, uuid(5));
  assert.equal(reborn.brokerStatus, "INIT");
  assert.equal(reborn.epoch, closed.epoch + 1);
});

test("RegisterBroker rejects out-of-range fields with INVALID_COMMAND naming the field", () => {
  const long = "x".repeat(limits.metadata.stringLengthMax + 1);
  const cases: readonly [MetadataCommand, string][] = [
    [registerBroker(-1), "brokerId"],
    [registerBroker(limits.metadata.idMax + 1), "brokerId"],
    [registerBroker(1, { brokerHost: "" }), "brokerHost"],
    [registerBroker(1, { brokerHost: long }), "brokerHost"],
    [registerBroker(1, { brokerPort: 0 }), "brokerPort"],
    [registerBroker(1, { brokerPort: 65_536 }), "brokerPort"],
    [registerBroker(1, { securityProtocol: long }), "securityProtocol"],
    [registerBroker(1, { rackId: long }), "rackId"],
    [registerBroker(1, { internalUUID: "" }), "internalUUID"],
  ];
  const driver = createDriver();
  for (const [command, field] of cases) {
    assert.equal(mustReject(driver, command, "INVALID_COMMAND").field, field);
  }
  assert.equal(driver.state.brokers.size, 0);
});

test("RegisterBroker refuses a new broker id beyond brokersCountMax but still re-registers known ones", () => {
  const driver = createDriver();
  for (let id = 0; id < limits.metadata.brokersCountMax; id++) mustApply(driver, registerBroker(id));
  mustReject(driver, registerBroker(limits.metadata.brokersCountMax), "LIMIT_EXCEEDED");
  assert.equal(brokerOf(mustApply(driver, registerBroker(0))).epoch, 2);
});

test("ChangeBrokerRegistration bumps the epoch and records the broker's fields after the change", () => {
  const driver = createDriver();
  mustApply(driver, registerBroker(1, { rackId: "r1" }));
  const applied = mustApply(driver, { type: "ChangeBrokerRegistration", brokerId: 1, brokerPort: 7000 });
  const broker = brokerOf(applied);
  assert.equal(broker.epoch, 2);
  assert.equal(broker.brokerPort, 7000);
  assert.equal(broker.brokerHost, "broker-1.local");
  assert.equal(broker.rackId, "r1");
  assert.deepEqual(applied.records, [
    {
      type: "metadata",
      name: "BrokerRegistrationChangeRecord",
      fields: { brokerId: 1, brokerHost: "broker-1.local", brokerPort: 7000, securityProtocol: "PLAINTEXT", rackId: "r1", brokerStatus: "INIT", epoch: 2 },
      timestamp: startMs + 1000,
      offset: 2,
    },
  ]);
  assert.equal(brokerOf(mustApply(driver, { type: "ChangeBrokerRegistration", brokerId: 1, rackId: "" })).rackId, null);
});

test("ChangeBrokerRegistration keeps the status of a FENCED broker", () => {
  const driver = createDriver();
  const { epoch } = brokerOf(mustApply(driver, registerBroker(1)));
  mustApply(driver, { type: "FenceBroker", brokerId: 1, brokerEpoch: epoch });
  assert.equal(brokerOf(mustApply(driver, { type: "ChangeBrokerRegistration", brokerId: 1, brokerHost: "h" })).brokerStatus, "FENCED");
});

test("ChangeBrokerRegistration rejects an empty change, an unknown broker, a CLOSED broker and bad fields", () => {
  const driver = createDriver();
  mustApply(driver, registerBroker(1));
  mustApply(driver, registerBroker(2));
  mustApply(driver, { type: "UnregisterBroker", brokerId: 2 });
  assert.equal(mustReject(driver, { type: "ChangeBrokerRegistration", brokerId: 1 }, "INVALID_COMMAND").field, undefined);
  assert.equal(mustReject(driver, { type: "ChangeBrokerRegistration", brokerId: 9, brokerPort: 1 }, "UNKNOWN_BROKER").field, "brokerId");
  mustReject(driver, { type: "ChangeBrokerRegistration", brokerId: 2, brokerPort: 1 }, "INVALID_BROKER_STATUS");
  assert.equal(mustReject(driver, { type: "ChangeBrokerRegistration", brokerId: 1, brokerPort: 0 }, "INVALID_COMMAND").field, "brokerPort");
  assert.equal(mustReject(driver, { type: "ChangeBrokerRegistration", brokerId: 1, brokerHost: "" }, "INVALID_COMMAND").field, "brokerHost");
  assert.equal(getBroker(driver.state, 1)?.epoch, 1);
});

test("UnregisterBroker closes the broker, bumps its epoch, answers its internalUUID and keeps it listed", () => {
  const driver = createDriver();
  mustApply(driver, registerBroker(1));
  const applied = mustApply(driver, { type: "UnregisterBroker", brokerId: 1 });
  const broker = brokerOf(applied);
  assert.equal(broker.internalUUID, uuid(1001));
  assert.equal(broker.brokerStatus, "CLOSED");
  assert.equal(broker.epoch, 2);
  assert.equal(applied.records[0]?.name, "BrokerRegistrationChangeRecord");
  assert.deepEqual(listBrokers(driver.state, { statuses: ["CLOSED"] }).map((b) => b.brokerId), [1]);
  mustReject(driver, { type: "UnregisterBroker", brokerId: 1 }, "INVALID_BROKER_STATUS");
  mustReject(driver, { type: "UnregisterBroker", brokerId: 2 }, "UNKNOWN_BROKER");
});

test("UnregisterBroker takes the broker out of every ISR like a fence", () => {
  const driver = createDriver();
  liveBrokers(driver, [1, 2]);
  mustApply(driver, { type: "CreateTopic", name: "t", topicUUID: uuid(1), partitions: [{ partitionId: 0, replicas: [1, 2], leader: 1 }] });
  mustApply(driver, { type: "UnregisterBroker", brokerId: 1 });
  const partition = getTopic(driver.state, "t")?.partitions[0];
  assert.deepEqual(partition?.replicas, [1, 2]);
  assert.deepEqual(partition?.ISR, [2]);
  assert.equal(partition?.leader, 2);
});

test("FenceBroker fences at the current epoch and bumps it; a stale, FENCED, CLOSED or unknown broker is refused", () => {
  const driver = createDriver();
  const epochs = liveBrokers(driver, [1, 2]);
  const epoch = epochs.get(1) ?? 0;
  assert.equal(mustReject(driver, { type: "FenceBroker", brokerId: 1, brokerEpoch: epoch - 1 }, "STALE_BROKER_EPOCH").field, "brokerEpoch");
  const fenced = brokerOf(mustApply(driver, { type: "FenceBroker", brokerId: 1, brokerEpoch: epoch }));
  assert.equal(fenced.brokerStatus, "FENCED");
  assert.equal(fenced.epoch, epoch + 1);
  mustReject(driver, { type: "FenceBroker", brokerId: 1, brokerEpoch: fenced.epoch }, "INVALID_BROKER_STATUS");
  mustReject(driver, { type: "FenceBroker", brokerId: 3, brokerEpoch: 1 }, "UNKNOWN_BROKER");
  mustApply(driver, { type: "UnregisterBroker", brokerId: 2 });
  mustReject(driver, { type: "FenceBroker", brokerId: 2, brokerEpoch: getBroker(driver.state, 2)?.epoch ?? 0 }, "INVALID_BROKER_STATUS");
  assert.equal(mustReject(driver, { type: "FenceBroker", brokerId: 1, brokerEpoch: -1 }, "INVALID_COMMAND").field, "brokerEpoch");
});

test("a fence decided against a broker's earlier incarnation does not fence it after it re-registered", () => {
  const driver = createDriver();
  const epoch = liveBrokers(driver, [1]).get(1) ?? 0;
  mustApply(driver, registerBroker(1));
  mustReject(driver, { type: "FenceBroker", brokerId: 1, brokerEpoch: epoch }, "STALE_BROKER_EPOCH");
  assert.equal(getBroker(driver.state, 1)?.brokerStatus, "INIT");
});

test("fencing removes the broker from every ISR and moves its leaderships to the first in-sync replica, partitionEpoch + 1; the last in-sync replica stays, leaderless", () => {
  const driver = createDriver();
  const epochs = liveBrokers(driver, [1, 2, 3]);
  mustApply(driver, {
    type: "CreateTopic",
    name: "t",
    topicUUID: uuid(1),
    partitions: [
      { partitionId: 0, replicas: [1, 3, 2], leader: 1 },
      { partitionId: 1, replicas: [2, 1], leader: 2 },
      { partitionId: 2, replicas: [3], leader: 3 },
      { partitionId: 3, replicas: [2, 3], leader: 2 },
    ],
  });
  const fenced = mustApply(driver, { type: "FenceBroker", brokerId: 1, brokerEpoch: epochs.get(1) ?? 0 });
  assert.deepEqual(
    fenced.records.map((record) => [record.name, record.offset]),
    [["BrokerRegistrationChangeRecord", 8], ["PartitionChangeRecord", 8], ["PartitionChangeRecord", 8]],
  );
  const afterOne = getTopic(driver.state, "t")?.partitions.map((p) => [p.partitionId, p.ISR, p.leader, p.partitionEpoch]);
  assert.deepEqual(afterOne, [[0, [3, 2], 3, 1], [1, [2], 2, 1], [2, [3], 3, 0], [3, [2, 3], 2, 0]]);

  mustApply(driver, { type: "FenceBroker", brokerId: 3, brokerEpoch: epochs.get(3) ?? 0 });
  const afterTwo = getTopic(driver.state, "t")?.partitions.map((p) => [p.partitionId, p.ISR, p.leader, p.partitionEpoch]);
  // Partition 2's only in-sync replica stays in its ISR, without leading (-1): no unclean election later.
  assert.deepEqual(afterTwo, [[0, [2], 2, 2], [1, [2], 2, 1], [2, [3], -1, 1], [3, [2], 2, 1]]);
});

test("an unfenced broker leads again the leaderless partitions it was the last in-sync replica of", () => {
  const driver = createDriver();
  const epochs = liveBrokers(driver, [1, 2]);
  mustApply(driver, { type: "CreateTopic", name: "t", topicUUID: uuid(1), partitions: [{ partitionId: 0, replicas: [1], leader: 1 }, { partitionId: 1, replicas: [2, 1], leader: 2 }] });
  const fenced = brokerOf(mustApply(driver, { type: "FenceBroker", brokerId: 1, brokerEpoch: epochs.get(1) ?? 0 }));
  const fencedAgain = mustApply(driver, registerBroker(1));
  assert.deepEqual(fencedAgain.records.map((record) => record.name), ["RegisterBrokerRecord"], "already leaderless: no second change");
  const restarted = brokerOf(fencedAgain);
  assert.ok(restarted.epoch > fenced.epoch);
  const unfenced = mustApply(driver, { type: "UnfenceBroker", brokerId: 1, brokerEpoch: restarted.epoch });
  assert.deepEqual(unfenced.records.map((record) => record.name), ["BrokerRegistrationChangeRecord", "PartitionChangeRecord"]);
  const partitions = getTopic(driver.state, "t")?.partitions.map((p) => [p.partitionId, p.ISR, p.leader, p.partitionEpoch]);
  assert.deepEqual(partitions, [[0, [1], 1, 2], [1, [2], 2, 1]]);
});

test("UnfenceBroker makes a FENCED or INIT broker UNFENCED with epoch + 1 and leaves partitions alone", () => {
  const driver = createDriver();
  const epochs = liveBrokers(driver, [1, 2]);
  mustApply(driver, { type: "CreateTopic", name: "t", topicUUID: uuid(1), partitions: [{ partitionId: 0, replicas: [1, 2], leader: 1 }] });
  const fenced = brokerOf(mustApply(driver, { type: "FenceBroker", brokerId: 1, brokerEpoch: epochs.get(1) ?? 0 }));
  mustReject(driver, { type: "UnfenceBroker", brokerId: 1, brokerEpoch: fenced.epoch - 1 }, "STALE_BROKER_EPOCH");
  const applied = mustApply(driver, { type: "UnfenceBroker", brokerId: 1, brokerEpoch: fenced.epoch });
  assert.equal(brokerOf(applied).brokerStatus, "UNFENCED");
  assert.equal(brokerOf(applied).epoch, fenced.epoch + 1);
  assert.deepEqual(applied.records.map((record) => record.name), ["BrokerRegistrationChangeRecord"]);
  assert.deepEqual(getTopic(driver.state, "t")?.partitions[0]?.ISR, [2]);
  mustReject(driver, { type: "UnfenceBroker", brokerId: 1, brokerEpoch: fenced.epoch + 1 }, "INVALID_BROKER_STATUS");
  mustReject(driver, { type: "UnfenceBroker", brokerId: 7, brokerEpoch: 1 }, "UNKNOWN_BROKER");
});

test("listBrokers() filters by status, in id order", () => {
  const driver = createDriver();
  liveBrokers(driver, [3, 1]);
  mustApply(driver, registerBroker(2));
  assert.deepEqual(listBrokers(driver.state).map((b) => b.brokerId), [1, 2, 3]);
  assert.deepEqual(listBrokers(driver.state, { statuses: ["UNFENCED"] }).map((b) => b.brokerId), [1, 3]);
  assert.deepEqual(listBrokers(driver.state, { statuses: ["INIT", "FENCED"] }).map((b) => b.brokerId), [2]);
});

test("fencing a broker that is in the ISR of 300,000 partitions applies (one record per partition), and unfencing gives the leaderless ones back", () => {
  const driver = createDriver();
  const epochs = liveBrokers(driver, [1, 2]);
  const perTopic = 100_000;
  for (let t = 0; t < 3; t++) {
    const partitions = Array.from({ length: perTopic }, (_, partitionId) => ({ partitionId, replicas: partitionId % 2 === 0 ? [1, 2] : [1], leader: 1 }));
    mustApply(driver, { type: "CreateTopic", name: `wide-${t}`, topicUUID: uuid(10 + t), partitions });
  }
  const fenced = mustApply(driver, { type: "FenceBroker", brokerId: 1, brokerEpoch: epochs.get(1) ?? 0 });
  assert.equal(fenced.records.length, 1 + 3 * perTopic);
  const partitions = getTopic(driver.state, "wide-2")?.partitions ?? [];
  assert.deepEqual([partitions[0]?.leader, partitions[1]?.leader, partitions[1]?.ISR], [2, -1, [1]]);
  const unfenced = mustApply(driver, { type: "UnfenceBroker", brokerId: 1, brokerEpoch: (epochs.get(1) ?? 0) + 1 });
  assert.equal(unfenced.records.length, 1 + (3 * perTopic) / 2);
});
