import assert from "node:assert/strict";
import { test } from "node:test";
import type { MetadataCommand } from "./commands.js";
import { decodeSnapshot, encodeSnapshot } from "./snapshot.js";
import type { MetadataState } from "./state.js";
import type { Driver } from "./testing.js";
import { brokerOf, createDriver, liveBrokers, mustApply, mustReject, producerOf, registerBroker, registerController, run, uuid } from "./testing.js";

/** Brokers, topics, a fenced broker, producer ids, client sessions and controllers: every part of the state. */
function populated(): Driver {
  const driver = createDriver();
  const epochs = liveBrokers(driver, [1, 2, 3]);
  mustApply(driver, { type: "CreateTopic", name: "b", topicUUID: uuid(2), partitions: [{ partitionId: 1, replicas: [3, 1] }, { partitionId: 0, replicas: [1, 2] }] });
  mustApply(driver, { type: "CreateTopic", name: "a", topicUUID: uuid(1), partitions: [{ partitionId: 0, replicas: [2] }] });
  mustApply(driver, { type: "FenceBroker", brokerId: 1, brokerEpoch: epochs.get(1) ?? 0 });
  mustApply(driver, { type: "RegisterProducer", brokerId: 2, brokerEpoch: epochs.get(2) ?? 0, producerId: 40 }, { clientSession: { clientId: "p", sequence: 3 } });
  mustApply(driver, { type: "UnregisterBroker", brokerId: 3 }, { clientSession: { clientId: "admin", sequence: 1 } });
  mustApply(driver, registerController(5));
  mustApply(driver, registerController(4));
  return driver;
}

function withoutHistory(state: MetadataState): Omit<MetadataState, "history"> {
  const { history: _history, ...rest } = state;
  return rest;
}

test("a snapshot round-trip is exact: same state (history aside) and same bytes", () => {
  const { state } = populated();
  const bytes = encodeSnapshot(state);
  const restored = decodeSnapshot(bytes, state.offset);
  assert.deepEqual(withoutHistory(restored), withoutHistory(state));
  assert.deepEqual(encodeSnapshot(restored), bytes);
  assert.equal(restored.history.startOffset, state.offset);
  assert.deepEqual(restored.history.records, []);
});

test("a restored state keeps client sessions, the producer id mark and broker epochs", () => {
  const driver = populated();
  const epochBefore = driver.state.brokers.get(2)?.epoch ?? 0;
  driver.state = decodeSnapshot(encodeSnapshot(driver.state), driver.state.offset);
  const replay = run(driver, { type: "UnregisterBroker", brokerId: 3 }, { clientSession: { clientId: "admin", sequence: 1 } });
  assert.equal(replay.ok && replay.replayed, true);
  mustReject(driver, { type: "RegisterProducer", brokerId: 2, brokerEpoch: epochBefore }, "STALE_CLIENT_SEQUENCE", { clientSession: { clientId: "p", sequence: 2 } });
  assert.equal(producerOf(mustApply(driver, { type: "RegisterProducer", brokerId: 2, brokerEpoch: epochBefore })).producerId, 41);
  assert.equal(brokerOf(mustApply(driver, registerBroker(2))).epoch, epochBefore + 1);
});

test("equal states encode to equal bytes whatever order they were built in", () => {
  const commands: MetadataCommand[] = [
    registerBroker(2),
    registerBroker(1),
    { type: "CreateTopic", name: "x", topicUUID: uuid(1), partitions: [{ partitionId: 0, replicas: [1] }] },
    { type: "CreateTopic", name: "y", topicUUID: uuid(2), partitions: [{ partitionId: 0, replicas: [2] }] },
  ];
  const forward = createDriver();
  const backward = createDriver({ stepMs: 0 });
  for (const command of commands) mustApply(forward, command, { timestamp: forward.nowMs });
  const reordered = [1, 0, 3, 2].map((i) => commands[i]).filter((command) => command !== undefined);
  for (const command of reordered) mustApply(backward, command, { timestamp: forward.nowMs - 1000 });
  assert.deepEqual(encodeSnapshot(forward.state), encodeSnapshot(backward.state));
});

test("decodeSnapshot() of empty data is the empty state at that index", () => {
  const state = decodeSnapshot(new Uint8Array(), 12);
  assert.equal(state.offset, 12);
  assert.equal(state.brokers.size, 0);
  assert.equal(state.history.startOffset, 12);
});

test("decodeSnapshot() refuses a snapshot of another format version", () => {
  const bytes = new TextEncoder().encode(JSON.stringify({ version: 99 }));
  assert.throws(() => decodeSnapshot(bytes, 1), /snapshot version must be one of 1, 2, 3: current value is 99/);
});

/** A version 2 snapshot as the earlier code wrote it: every partition an object with every field. */
function versionTwoBytes(state: MetadataState): Uint8Array {
  const image = JSON.parse(new TextDecoder().decode(encodeSnapshot(state))) as { version: number; topics: { topicUUID: string; partitions: unknown[] }[] };
  image.version = 2;
  for (const topic of image.topics) {
    topic.partitions = topic.partitions.map((tuple) => {
      const [partitionId, leader, partitionEpoch, replicas, ISR] = tuple as [number, number, number, number[], number[]];
      return { partitionId, topicUUID: topic.topicUUID, replicas, ISR, removingReplicas: [], addingReplicas: [], leader, partitionEpoch };
    });
  }
  return new TextEncoder().encode(JSON.stringify(image));
}

test("a version 2 snapshot (partitions as objects) decodes to the same state, and is written back as version 3", () => {
  const { state } = populated();
  const restored = decodeSnapshot(versionTwoBytes(state), state.offset);
  assert.deepEqual(withoutHistory(restored), withoutHistory(state));
  assert.deepEqual(encodeSnapshot(restored), encodeSnapshot(state));
});

test("version 3 writes each partition as a tuple under its topic, several times smaller than objects", () => {
  const driver = createDriver();
  liveBrokers(driver, [1, 2, 3]);
  const partitions = Array.from({ length: 500 }, (_, partitionId) => ({ partitionId, replicas: [1 + (partitionId % 3), 1 + ((partitionId + 1) % 3), 1 + ((partitionId + 2) % 3)] }));
  mustApply(driver, { type: "CreateTopic", name: "wide", topicUUID: uuid(7), partitions });
  const bytes = encodeSnapshot(driver.state);
  const image = JSON.parse(new TextDecoder().decode(bytes)) as { version: number; topics: { partitions: unknown[] }[] };
  assert.equal(image.version, 3);
  assert.deepEqual(image.topics[0]?.partitions[1], [1, 2, 0, [2, 3, 1], [2, 3, 1]]);
  assert.ok(versionTwoBytes(driver.state).length > 4 * bytes.length, `${versionTwoBytes(driver.state).length} vs ${bytes.length} bytes`);
  assert.deepEqual(withoutHistory(decodeSnapshot(bytes, driver.state.offset)), withoutHistory(driver.state));
});

test("rebuilding from a snapshot plus the log tail gives what replaying the whole log gives", () => {
  const tail: MetadataCommand[] = [
    { type: "UnfenceBroker", brokerId: 1, brokerEpoch: 0 },
    { type: "ChangePartition", topicUUID: uuid(2), partitionId: 0, isr: [1, 2], leader: 1 },
    { type: "RegisterProducer", brokerId: 2, brokerEpoch: 0 },
    { type: "DeleteTopic", name: "a" },
  ];
  const full = populated();
  const rebuilt = populated();
  rebuilt.state = decodeSnapshot(encodeSnapshot(rebuilt.state), rebuilt.state.offset);
  for (const command of tail) {
    const fixed = fixEpoch(full.state, command);
    assert.deepEqual(run(rebuilt, fixed), run(full, fixed));
  }
  assert.deepEqual(encodeSnapshot(rebuilt.state), encodeSnapshot(full.state));
});

/** Fills in the broker's current epoch, as the leader would when proposing. */
function fixEpoch(state: MetadataState, command: MetadataCommand): MetadataCommand {
  if (command.type !== "UnfenceBroker" && command.type !== "RegisterProducer") return command;
  return { ...command, brokerEpoch: state.brokers.get(command.brokerId)?.epoch ?? 0 };
}
