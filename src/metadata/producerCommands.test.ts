import assert from "node:assert/strict";
import { test } from "node:test";
import { limits } from "../shared/limits.js";
import type { RegisterProducer } from "./commands.js";
import { listProducers } from "./queries.js";
import { decodeSnapshot, encodeSnapshot } from "./snapshot.js";
import { brokerOf, createDriver, liveBrokers, mustApply, mustReject, producerOf } from "./testing.js";

function producer(brokerId: number, brokerEpoch: number, producerId?: number): RegisterProducer {
  return { type: "RegisterProducer", brokerId, brokerEpoch, ...(producerId === undefined ? {} : { producerId }) };
}

test("RegisterProducer hands out ids from 1 upwards, recorded in ProducerIdsRecords", () => {
  const driver = createDriver();
  const epoch = liveBrokers(driver, [1]).get(1) ?? 0;
  const first = mustApply(driver, producer(1, epoch));
  assert.deepEqual(producerOf(first), { brokerId: 1, brokerEpoch: epoch, producerId: 1 });
  assert.deepEqual(first.records.map((r) => [r.name, r.fields]), [["ProducerIdsRecord", { brokerId: 1, brokerEpoch: epoch, producerId: 1 }]]);
  assert.equal(producerOf(mustApply(driver, producer(1, epoch))).producerId, 2);
  assert.deepEqual(listProducers(driver.state).map((p) => p.producerId), [1, 2]);
});

test("RegisterProducer accepts a requested id at or above the mark and moves the mark past it", () => {
  const driver = createDriver();
  const epoch = liveBrokers(driver, [1]).get(1) ?? 0;
  assert.equal(producerOf(mustApply(driver, producer(1, epoch, 50))).producerId, 50);
  assert.equal(producerOf(mustApply(driver, producer(1, epoch))).producerId, 51);
  assert.equal(mustReject(driver, producer(1, epoch, 50), "PRODUCER_ID_TAKEN").field, "producerId");
  assert.equal(mustReject(driver, producer(1, epoch, 10), "PRODUCER_ID_TAKEN").field, "producerId");
  assert.equal(mustReject(driver, producer(1, epoch, -1), "INVALID_COMMAND").field, "producerId");
});

test("RegisterProducer with a stale broker epoch is refused with STALE_BROKER_EPOCH (409)", () => {
  const driver = createDriver();
  const epoch = liveBrokers(driver, [1]).get(1) ?? 0;
  assert.equal(mustReject(driver, producer(1, epoch - 1), "STALE_BROKER_EPOCH").field, "brokerEpoch");
  // A registration change moves the epoch on: the broker's old epoch is stale from then on.
  const changed = brokerOf(mustApply(driver, { type: "ChangeBrokerRegistration", brokerId: 1, brokerPort: 1234 }));
  mustReject(driver, producer(1, epoch), "STALE_BROKER_EPOCH");
  assert.equal(producerOf(mustApply(driver, producer(1, changed.epoch))).brokerEpoch, changed.epoch);
});

test("RegisterProducer refuses an unknown broker and one that is FENCED or CLOSED", () => {
  const driver = createDriver();
  const epochs = liveBrokers(driver, [1, 2]);
  mustReject(driver, producer(3, 1), "UNKNOWN_BROKER");
  const fenced = brokerOf(mustApply(driver, { type: "FenceBroker", brokerId: 1, brokerEpoch: epochs.get(1) ?? 0 }));
  mustReject(driver, producer(1, fenced.epoch), "INVALID_BROKER_STATUS");
  const closed = brokerOf(mustApply(driver, { type: "UnregisterBroker", brokerId: 2 }));
  mustReject(driver, producer(2, closed.epoch), "INVALID_BROKER_STATUS");
});

test("producer ids are never reused: not after rejections, not across snapshot and restore", () => {
  const driver = createDriver();
  const epoch = liveBrokers(driver, [1]).get(1) ?? 0;
  const seen = new Set<number>();
  for (let i = 0; i < 20; i++) {
    if (i % 3 === 0) mustReject(driver, producer(1, epoch + 1), "STALE_BROKER_EPOCH");
    const id = producerOf(mustApply(driver, producer(1, epoch))).producerId;
    assert.equal(seen.has(id), false, `producer id ${id} handed out twice`);
    seen.add(id);
  }
  driver.state = decodeSnapshot(encodeSnapshot(driver.state), driver.state.offset);
  const next = producerOf(mustApply(driver, producer(1, epoch))).producerId;
  assert.equal(seen.has(next), false);
  assert.equal(next, Math.max(...seen) + 1);
});

test("beyond producersCountMax the oldest ids leave the list but are never handed out again", () => {
  const driver = createDriver();
  const epoch = liveBrokers(driver, [1]).get(1) ?? 0;
  const countMax = limits.metadata.producersCountMax;
  for (let i = 0; i < countMax + 2; i++) mustApply(driver, producer(1, epoch));
  const listed = listProducers(driver.state);
  assert.equal(listed.length, countMax);
  assert.equal(listed[0]?.producerId, 3);
  mustReject(driver, producer(1, epoch, 1), "PRODUCER_ID_TAKEN");
  assert.equal(producerOf(mustApply(driver, producer(1, epoch))).producerId, countMax + 3);
});
