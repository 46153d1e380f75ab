import assert from "node:assert/strict";
import { test } from "node:test";
import { storeClientSession } from "./clientSessions.js";
import { changesSince } from "./history.js";
import { listTopics } from "./queries.js";
import { reject } from "./results.js";
import { createMetadataState } from "./state.js";
import { createDriver, mustApply, registerBroker, run, uuid } from "./testing.js";

test("a repeated (clientId, sequence) is answered with the first result, marked replayed, and applied once", () => {
  const driver = createDriver();
  mustApply(driver, registerBroker(1));
  const command = { type: "CreateTopic", name: "t", topicUUID: uuid(1), partitions: [{ partitionId: 0, replicas: [1] }] } as const;
  const clientSession = { clientId: "admin-1", sequence: 7 };
  const first = run(driver, command, { clientSession });
  assert.equal(first.ok, true);
  const offsetAfterFirst = driver.state.offset;
  // The retry carries a new leader-chosen UUID, as a second proposal would: the stored answer wins.
  const retry = run(driver, { ...command, topicUUID: uuid(2) }, { clientSession });
  assert.deepEqual(retry, { ...first, records: [], replayed: true });
  assert.equal(listTopics(driver.state).length, 1);
  assert.deepEqual(changesSince(driver.state, offsetAfterFirst, driver.nowMs), { kind: "delta", records: [], currentOffset: offsetAfterFirst + 1 });
});

test("a stored rejection is replayed too: the first answer is the answer", () => {
  const driver = createDriver();
  const clientSession = { clientId: "c", sequence: 1 };
  const first = run(driver, { type: "UnregisterBroker", brokerId: 1 }, { clientSession });
  assert.equal(first.ok, false);
  mustApply(driver, registerBroker(1));
  const retry = run(driver, { type: "UnregisterBroker", brokerId: 1 }, { clientSession });
  assert.deepEqual(retry, { ...first, replayed: true });
  assert.equal(driver.state.brokers.get(1)?.brokerStatus, "INIT");
});

test("a lower sequence is refused with STALE_CLIENT_SEQUENCE; a higher one (gaps allowed) applies", () => {
  const driver = createDriver();
  mustApply(driver, registerBroker(1), { clientSession: { clientId: "c", sequence: 5 } });
  const stale = run(driver, registerBroker(2), { clientSession: { clientId: "c", sequence: 4 } });
  assert.equal(!stale.ok && stale.code, "STALE_CLIENT_SEQUENCE");
  assert.equal(driver.state.brokers.has(2), false);
  mustApply(driver, registerBroker(2), { clientSession: { clientId: "c", sequence: 9 } });
  mustApply(driver, registerBroker(3), { clientSession: { clientId: "other", sequence: 0 } });
  assert.equal(driver.state.clientSessions.get("c")?.sequence, 9);
});

test("a malformed client session is refused with INVALID_COMMAND and stores nothing", () => {
  const driver = createDriver();
  for (const clientSession of [{ clientId: "", sequence: 1 }, { clientId: "c", sequence: -1 }]) {
    const result = run(driver, registerBroker(1), { clientSession });
    assert.equal(!result.ok && result.code, "INVALID_COMMAND");
  }
  assert.equal(driver.state.clientSessions.size, 0);
  assert.equal(driver.state.brokers.size, 0);
});

test("storeClientSession() evicts the oldest timestamp first, then the lowest clientId, never the one just stored", () => {
  const state = createMetadataState();
  const result = reject("UNKNOWN_BROKER", "x");
  const store = (clientId: string, timestampMs: number): void => storeClientSession(state, { clientId, sequence: 1 }, { result, timestampMs }, 3);
  store("b", 10);
  store("a", 10);
  store("c", 5);
  store("d", 20);
  assert.deepEqual([...state.clientSessions.keys()].sort(), ["a", "b", "d"]);
  store("e", 20);
  assert.deepEqual([...state.clientSessions.keys()].sort(), ["b", "d", "e"]);
  // The newcomer stamped by a leader whose clock went back is still kept.
  store("f", 1);
  assert.deepEqual([...state.clientSessions.keys()].sort(), ["d", "e", "f"]);
});
