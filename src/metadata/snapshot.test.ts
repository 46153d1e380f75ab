import assert from "node:assert/strict";
import { test } from "node:test";
import type { MetadataCommand } from "./commands.js";
import type { Partition } from "./records.js";
import { decodeSnapshot, encodeSnapshot, snapshotEncoder } from "./snapshot.js";
import type { MetadataState } from "./state.js";
import { partitionsInOrder, sortedNumbers, sortedStrings, topicsInOrder } from "./state.js";
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

/** The snapshot as one JSON.stringify of the whole image, as it was written before it was encoded in steps. */
function encodedInOneCall(state: MetadataState): string {
  const tuple = (p: Partition) => (p.removingReplicas.length === 0 && p.addingReplicas.length === 0 ? [p.partitionId, p.leader, p.partitionEpoch, p.replicas, p.ISR] : [p.partitionId, p.leader, p.partitionEpoch, p.replicas, p.ISR, p.removingReplicas, p.addingReplicas]);
  return JSON.stringify({
    version: 3,
    offset: state.offset,
    recordTimestampMsMax: state.recordTimestampMsMax,
    nextProducerId: state.nextProducerId,
    brokers: sortedNumbers(state.brokers.keys()).map((id) => state.brokers.get(id)),
    topics: [...topicsInOrder(state)].map((topic) => ({ name: topic.name, topicUUID: topic.topicUUID, partitions: partitionsInOrder(topic).map(tuple) })),
    producers: sortedNumbers(state.producers.keys()).map((id) => state.producers.get(id)),
    clientSessions: sortedStrings(state.clientSessions.keys()).map((clientId) => ({ clientId, ...state.clientSessions.get(clientId) })),
    controllers: sortedNumbers(state.controllers.keys()).map((id) => state.controllers.get(id)),
  });
}

/** Runs an encoder to the end, counting its steps. */
function finish(encoder: ReturnType<typeof snapshotEncoder>): { bytes: Uint8Array; stepsCount: number } {
  let stepsCount = 1;
  while (!encoder.step()) stepsCount++;
  return { bytes: encoder.bytes(), stepsCount };
}

/** `populated()` plus an empty topic, a topic of 5 partitions, and a partition with replicas being added. */
function populatedMore(): Driver {
  const driver = populated();
  mustApply(driver, { type: "CreateTopic", name: "empty", topicUUID: uuid(3), partitions: [] });
  mustApply(driver, { type: "CreateTopic", name: "five", topicUUID: uuid(4), partitions: [0, 1, 2, 3, 4].map((partitionId) => ({ partitionId, replicas: [2] })) });
  return driver;
}

test("a snapshot encoded in steps is byte for byte the one JSON.stringify writes, whatever the step size", () => {
  const { state } = populatedMore();
  const expected = new TextEncoder().encode(encodedInOneCall(state));
  assert.deepEqual(encodeSnapshot(state), expected);
  for (const partitionsPerStep of [1, 2, 3, 7, 1000]) {
    for (const spareBytes of [0, 16, 1 << 20]) {
      const { bytes, stepsCount } = finish(snapshotEncoder(state, { partitionsPerStep, spareBytes }));
      assert.deepEqual(bytes, expected, `${partitionsPerStep} partitions a step, buffer grown from ${spareBytes} spare bytes`);
      assert.equal(bytes.buffer.byteLength <= 2 * bytes.length + spareBytes, true, "no more than half the buffer spare");
      if (partitionsPerStep === 1) assert.ok(stepsCount >= state.topics.size, `one step a topic at least: ${stepsCount}`);
    }
  }
  const withUnicode = populatedMore();
  mustApply(withUnicode, registerBroker(8, { rackId: "çà-日本-🙂", brokerHost: "hôte" }));
  assert.deepEqual(finish(snapshotEncoder(withUnicode.state, { partitionsPerStep: 1, spareBytes: 0 })).bytes, new TextEncoder().encode(encodedInOneCall(withUnicode.state)), "names beyond ASCII");
  const empty = createDriver().state;
  assert.deepEqual(finish(snapshotEncoder(empty, { partitionsPerStep: 1, spareBytes: 0 })).bytes, new TextEncoder().encode(encodedInOneCall(empty)), "no topics at all");
});

test("a snapshot encoded in steps holds the state as it was when the encoder was created, however the state changes between steps", () => {
  const driver = populatedMore();
  const before = encodedInOneCall(driver.state);
  const beforeState = decodeSnapshot(new TextEncoder().encode(before), driver.state.offset);
  const encoder = snapshotEncoder(driver.state, { partitionsPerStep: 1 });
  const changes: MetadataCommand[] = [
    { type: "ChangePartition", topicUUID: uuid(4), partitionId: 3, replicas: [2, 1] },
    { type: "DeleteTopic", name: "a" },
    { type: "CreateTopic", name: "c", topicUUID: uuid(5), partitions: [{ partitionId: 0, replicas: [2] }] },
    { type: "ChangePartition", topicUUID: uuid(2), partitionId: 0, isr: [2] },
    registerBroker(9),
    { type: "RegisterProducer", brokerId: 2, brokerEpoch: driver.state.brokers.get(2)?.epoch ?? 0 },
    registerController(6),
  ];
  // Two changes before each step (one topic a step here): all of them land while the encoder runs.
  let applied = 0;
  for (let done = false; !done; ) {
    for (const command of changes.slice(applied, applied + 2)) mustApply(driver, command, { clientSession: { clientId: "changer", sequence: ++applied } });
    done = encoder.step();
  }
  assert.equal(applied, changes.length, "every change landed before the last step");
  assert.notEqual(encodedInOneCall(driver.state), before, "the state did change");
  assert.equal(encoder.offset, beforeState.offset);
  assert.deepEqual(encoder.bytes(), new TextEncoder().encode(before));
  assert.deepEqual(withoutHistory(decodeSnapshot(encoder.bytes(), encoder.offset)), withoutHistory(beforeState));
});

test("the bytes of an encoder are asked for only once it is done", () => {
  const encoder = snapshotEncoder(populated().state, { partitionsPerStep: 1 });
  assert.throws(() => encoder.bytes(), /encoded to the end/);
  assert.throws(() => snapshotEncoder(populated().state, { partitionsPerStep: 0 }), /partitionsPerStep/);
});
