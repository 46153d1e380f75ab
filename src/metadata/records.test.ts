import assert from "node:assert/strict";
import { test } from "node:test";
import type { MetadataRecord } from "./records.js";
import { isClientRecord, isControllerRecord, metadataRecord, parseBrokerStatus } from "./records.js";

test("parseBrokerStatus() reads any case, with ALIVE and ACTIVE meaning UNFENCED", () => {
  assert.equal(parseBrokerStatus("alive"), "UNFENCED");
  assert.equal(parseBrokerStatus("ACTIVE"), "UNFENCED");
  assert.equal(parseBrokerStatus("Unfenced"), "UNFENCED");
  assert.equal(parseBrokerStatus("fenced"), "FENCED");
  assert.equal(parseBrokerStatus("INIT"), "INIT");
  assert.equal(parseBrokerStatus("closed"), "CLOSED");
  assert.equal(parseBrokerStatus("dead"), undefined);
});

test("metadataRecord() builds the delivered shape and isClientRecord() hides producer ids and controllers", () => {
  const at = { timestamp: 5, offset: 9 };
  const topic = metadataRecord("TopicRecord", { topicUUID: "u", name: "t" }, at);
  assert.deepEqual(topic, { type: "metadata", name: "TopicRecord", fields: { topicUUID: "u", name: "t" }, timestamp: 5, offset: 9 });
  const producer: MetadataRecord = metadataRecord("ProducerIdsRecord", { brokerId: 1, brokerEpoch: 2, producerId: 3 }, at);
  const controller = metadataRecord("UnregisterControllerRecord", { controllerId: 4 }, at);
  assert.equal(isClientRecord(topic), true);
  assert.equal(isClientRecord(producer), false);
  assert.equal(isClientRecord(controller), false);
  assert.equal(isControllerRecord(controller), true);
  assert.equal(isControllerRecord(topic), false);
});
