import assert from "node:assert/strict";
import { test } from "node:test";
import { limits } from "../shared/limits.js";
import type { MetadataChanges } from "./history.js";
import { changesSince, changesSinceTime, metadataImage, trimHistory } from "./history.js";
import { decodeSnapshot, encodeSnapshot } from "./snapshot.js";
import type { Driver } from "./testing.js";
import { createDriver, liveBrokers, mustApply, registerBroker, startMs, uuid } from "./testing.js";

/** Two live brokers, a topic on both, one producer id: offsets 1–6. */
function busyDriver(driver: Driver = createDriver()): Driver {
  const epochs = liveBrokers(driver, [1, 2]);
  mustApply(driver, { type: "CreateTopic", name: "t", topicUUID: uuid(1), partitions: [{ partitionId: 0, replicas: [1, 2], leader: 1 }] });
  mustApply(driver, { type: "RegisterProducer", brokerId: 1, brokerEpoch: epochs.get(1) ?? 0 });
  return driver;
}

function names(changes: MetadataChanges): string[] {
  assert.equal(changes.kind, "delta");
  return changes.kind === "delta" ? changes.records.map((r) => `${r.offset}:${r.name}`) : [];
}

test("changesSince() returns every record after the offset, in order, with the current offset", () => {
  const driver = busyDriver();
  const changes = changesSince(driver.state, 3, driver.nowMs);
  assert.deepEqual(names(changes), ["4:BrokerRegistrationChangeRecord", "5:TopicRecord", "5:PartitionRecord", "6:ProducerIdsRecord"]);
  assert.equal(changes.currentOffset, 6);
  assert.deepEqual(names(changesSince(driver.state, 6, driver.nowMs)), []);
  assert.equal(names(changesSince(driver.state, 0, driver.nowMs)).length, 7);
});

test("the client view leaves out producer ids; the broker view holds everything", () => {
  const driver = busyDriver();
  assert.deepEqual(names(changesSince(driver.state, 4, driver.nowMs, { view: "client" })), ["5:TopicRecord", "5:PartitionRecord"]);
  assert.deepEqual(names(changesSince(driver.state, 4, driver.nowMs, { view: "broker" })), ["5:TopicRecord", "5:PartitionRecord", "6:ProducerIdsRecord"]);
});

test("an offset ahead of this node gets an empty delta and the node's lower current offset", () => {
  const driver = busyDriver();
  const changes = changesSince(driver.state, 50, driver.nowMs);
  assert.deepEqual(names(changes), []);
  assert.equal(changes.currentOffset, 6);
});

test("an offset compacted away (before the restore point) gets the full image instead", () => {
  const driver = busyDriver();
  driver.state = decodeSnapshot(encodeSnapshot(driver.state), driver.state.offset);
  mustApply(driver, registerBroker(3));
  const changes = changesSince(driver.state, 5, driver.nowMs);
  assert.equal(changes.kind, "snapshot");
  assert.equal(changes.currentOffset, 7);
  assert.deepEqual(changes.kind === "snapshot" && changes.snapshot, metadataImage(driver.state, "broker"));
  assert.deepEqual(names(changesSince(driver.state, 6, driver.nowMs)), ["7:RegisterBrokerRecord"]);
});

test("the full image lists brokers, topics with partitions, and producer ids for brokers only", () => {
  const driver = busyDriver();
  const broker = metadataImage(driver.state, "broker");
  assert.deepEqual(broker.brokers.map((b) => b.brokerId), [1, 2]);
  assert.deepEqual(broker.topics.map((t) => [t.name, t.partitions.length]), [["t", 1]]);
  assert.deepEqual(broker.producers?.map((p) => p.producerId), [1]);
  const client = metadataImage(driver.state, "client");
  assert.equal("producers" in client, false);
  assert.deepEqual(client.brokers, broker.brokers);
});

test("a caller whose oldest missed change is older than the delta age (10 minutes by default) gets the full image", () => {
  const driver = busyDriver();
  const justInTime = startMs + limits.metadata.deltaAgeMsDefault; // Offset 1 was stamped startMs.
  assert.equal(changesSince(driver.state, 0, justInTime).kind, "delta");
  assert.equal(changesSince(driver.state, 0, justInTime + 1).kind, "snapshot");
  assert.equal(changesSince(driver.state, 0, justInTime + 1, { deltaAgeMs: 20 * 60_000 }).kind, "delta");
  assert.equal(changesSince(driver.state, 4, startMs + 5000, { deltaAgeMs: 999 }).kind, "snapshot");
  assert.equal(changesSince(driver.state, 4, startMs + 5000, { deltaAgeMs: 1000 }).kind, "delta");
});

test("a caller that is up to date on an idle cluster gets an empty delta however old its offset", () => {
  const driver = busyDriver();
  const anHourLater = driver.nowMs + 60 * 60_000;
  assert.deepEqual(names(changesSince(driver.state, 6, anHourLater)), []);
  assert.deepEqual(names(changesSinceTime(driver.state, startMs + 5000, anHourLater)), []);
});

test("changesSinceTime() returns records stamped after the time, with the same fallbacks", () => {
  const driver = busyDriver(); // Offset n is stamped startMs + (n - 1) seconds.
  assert.deepEqual(names(changesSinceTime(driver.state, startMs + 3500, driver.nowMs)), ["5:TopicRecord", "5:PartitionRecord", "6:ProducerIdsRecord"]);
  assert.deepEqual(names(changesSinceTime(driver.state, startMs + 4000, driver.nowMs, { view: "client" })), []);
  assert.equal(changesSinceTime(driver.state, startMs - 1, startMs + limits.metadata.deltaAgeMsDefault + 1).kind, "snapshot");
  driver.state = decodeSnapshot(encodeSnapshot(driver.state), driver.state.offset);
  assert.equal(changesSinceTime(driver.state, startMs + 4999, driver.nowMs).kind, "snapshot");
  mustApply(driver, registerBroker(3));
  assert.deepEqual(names(changesSinceTime(driver.state, startMs + 5000, driver.nowMs)), ["7:RegisterBrokerRecord"]);
});

test("the history keeps at most countMax records, dropping whole offsets from the front", () => {
  const driver = busyDriver(createDriver({ apply: { historyBounds: { countMax: 4, ageMsMax: 1e12 } } }));
  // Offsets 4, 5 (two records) and 6 fit; 1–3 were dropped, so offset 2 is compacted away but 3 is not.
  assert.equal(driver.state.history.startOffset, 3);
  assert.equal(changesSince(driver.state, 2, driver.nowMs).kind, "snapshot");
  assert.deepEqual(names(changesSince(driver.state, 3, driver.nowMs)), ["4:BrokerRegistrationChangeRecord", "5:TopicRecord", "5:PartitionRecord", "6:ProducerIdsRecord"]);
  // Fencing broker 2 writes two records at offset 7: offsets 4 and 5 (both of its records) go.
  mustApply(driver, { type: "FenceBroker", brokerId: 2, brokerEpoch: driver.state.brokers.get(2)?.epoch ?? 0 });
  assert.equal(driver.state.history.startOffset, 5);
  assert.deepEqual(names(changesSince(driver.state, 5, driver.nowMs)), ["6:ProducerIdsRecord", "7:BrokerRegistrationChangeRecord", "7:PartitionChangeRecord"]);
});

test("the history drops records older than ageMsMax before the newest record's timestamp", () => {
  const driver = busyDriver(createDriver({ apply: { historyBounds: { countMax: 1000, ageMsMax: 2500 } } }));
  // Newest record is stamped startMs + 5 s, so records before startMs + 2.5 s (offsets 1–3) are gone.
  assert.equal(driver.state.history.startOffset, 3);
  assert.equal(driver.state.history.startTimestampMs, startMs + 2000);
  assert.equal(changesSinceTime(driver.state, startMs + 1999, driver.nowMs).kind, "snapshot");
  assert.deepEqual(names(changesSinceTime(driver.state, startMs + 2000, driver.nowMs)).length, 4);
});

test("the default history bound holds historyRecordsCountMax records", () => {
  const driver = createDriver({ stepMs: 0 });
  const epoch = liveBrokers(driver, [1]).get(1) ?? 0;
  const countMax = limits.metadata.historyRecordsCountMax;
  for (let i = 0; i < countMax; i++) mustApply(driver, { type: "RegisterProducer", brokerId: 1, brokerEpoch: epoch });
  const { history } = driver.state;
  assert.equal(history.records.length - history.head, countMax);
  assert.equal(history.startOffset, 2);
});

test("an offset at or below this node's own compaction point gets the full image, as on a node restored there", () => {
  const driver = busyDriver();
  trimHistory(driver.state, 4);
  assert.equal(changesSince(driver.state, 3, driver.nowMs).kind, "snapshot", "offset 3 was compacted away");
  assert.deepEqual(names(changesSince(driver.state, 4, driver.nowMs)), ["5:TopicRecord", "5:PartitionRecord", "6:ProducerIdsRecord"]);
  assert.equal(changesSinceTime(driver.state, 0, driver.nowMs).kind, "snapshot", "times before the dropped records too");
  trimHistory(driver.state, 6);
  assert.equal(changesSince(driver.state, 0, driver.nowMs).kind, "snapshot");
  assert.deepEqual(names(changesSince(driver.state, 6, driver.nowMs)), []);
});
