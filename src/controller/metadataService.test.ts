import assert from "node:assert/strict";
import { test } from "node:test";
import { controllerStatus, FakeController, ManualClock } from "./testing.js";
import type { MetadataCommand } from "../metadata/commands.js";
import { ControllerError } from "./errors.js";
import { MetadataError, MetadataService } from "./metadataService.js";

// The service over a controller twin that applies proposals at once; time moves only by hand.

function setUp(sessionTimeoutMs = 9_000) {
  const controller = new FakeController();
  const clock = new ManualClock();
  let uuids = 0;
  const service = new MetadataService({
    controller,
    stateMachine: controller.stateMachine,
    nowMs: () => clock.nowMs,
    newUUID: () => `uuid-${++uuids}`,
    liveness: { heartbeatIntervalMs: 1_000, sessionTimeoutMs },
  });
  return { controller, clock, service };
}

const register = (brokerId: number): MetadataCommand => ({ type: "RegisterBroker", brokerId, brokerHost: "127.0.0.1", brokerPort: 9092, securityProtocol: "PLAINTEXT", internalUUID: `broker-${brokerId}` });

async function rejection(promise: Promise<unknown>): Promise<MetadataError | ControllerError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MetadataError || error instanceof ControllerError) return error;
    throw error;
  }
  assert.fail("expected a refusal");
}

test("write() proposes the command with the leader's timestamp and answers with the applied value and offset", async () => {
  const { service, controller, clock } = setUp();
  const written = await service.write(() => register(1));
  assert.equal(written.offset, 1);
  assert.equal(written.value.kind, "broker");
  assert.equal(written.records[0]?.timestamp, clock.nowMs, "the record carries the leader's time");
  assert.equal(controller.proposals, 1);
});

test("write() refuses on a follower before looking at its state, and refuses an invalid command without proposing", async () => {
  const { service, controller } = setUp();
  controller.current = controllerStatus({ role: "follower", leaderId: 2 });
  const notLeader = await rejection(service.write(() => register(1)));
  assert.equal(notLeader.code, "NOT_LEADER");
  controller.current = controllerStatus();
  const invalid = await rejection(service.write(() => ({ type: "DeleteTopic", name: "nope" })));
  assert.equal(invalid.code, "UNKNOWN_TOPIC");
  assert.equal(controller.proposals, 0, "nothing was proposed");
});

test("a write retried with the same client session is answered from the stored result, not applied again; an older one is refused", async () => {
  const { service, controller } = setUp();
  const session = { clientId: "c/admin", sequence: 4 };
  const first = await service.write(() => ({ type: "CreateTopic", name: "orders", topicUUID: "t-1", partitions: [] }), session);
  const again = await service.write(() => ({ type: "CreateTopic", name: "orders", topicUUID: "t-2", partitions: [] }), session);
  assert.equal(again.replayed, true);
  assert.deepEqual(again.value, first.value, "the first answer, with its topicUUID");
  assert.equal(controller.proposals, 1);
  const stale = await rejection(service.write(() => register(1), { clientId: "c/admin", sequence: 3 }));
  assert.equal(stale.code, "STALE_CLIENT_SEQUENCE");
});

test("a heartbeat unfences a broker once it reports the offset the leader had at its first heartbeat", async () => {
  const { service } = setUp();
  await service.write(() => register(1));
  const first = await service.heartbeat({ brokerId: 1, brokerEpoch: 1, since: { kind: "offset", offset: 0 } });
  assert.equal(first.broker.brokerStatus, "INIT", "not caught up yet");
  assert.equal(first.changes.currentOffset, 1);
  const second = await service.heartbeat({ brokerId: 1, brokerEpoch: 1, since: { kind: "offset", offset: first.changes.currentOffset } });
  assert.equal(second.broker.brokerStatus, "UNFENCED");
  assert.equal(second.broker.epoch, 2, "the answer carries the new epoch");
});

test("heartbeats from unknown, CLOSED or future-epoch brokers are refused; an older epoch of a live broker is accepted", async () => {
  const { service } = setUp();
  await service.write(() => register(1));
  await service.write(() => register(2));
  assert.equal((await rejection(service.heartbeat({ brokerId: 9, brokerEpoch: 1, since: { kind: "offset", offset: 0 } }))).code, "UNKNOWN_BROKER");
  assert.equal((await rejection(service.heartbeat({ brokerId: 1, brokerEpoch: 5, since: { kind: "offset", offset: 0 } }))).code, "STALE_BROKER_EPOCH");
  await service.write(() => ({ type: "ChangeBrokerRegistration", brokerId: 1, brokerPort: 9093 }));
  const older = await service.heartbeat({ brokerId: 1, brokerEpoch: 1, since: { kind: "offset", offset: 0 } });
  assert.equal(older.broker.epoch, 2, "the broker learns its epoch moved on");
  await service.write(() => ({ type: "UnregisterBroker", brokerId: 2 }));
  assert.equal((await rejection(service.heartbeat({ brokerId: 2, brokerEpoch: 2, since: { kind: "offset", offset: 0 } }))).code, "INVALID_BROKER_STATUS");
});

test("a broker silent for the session timeout is fenced by the leader; one that keeps heartbeating is not", async () => {
  const { service, clock } = setUp(3_000);
  for (const id of [1, 2]) await service.write(() => register(id));
  service.checkLiveness();
  for (let step = 0; step < 4; step++) {
    clock.advance(1_000);
    await service.heartbeat({ brokerId: 1, brokerEpoch: 1, since: { kind: "offset", offset: service.stateMachine.appliedIndex } });
    service.checkLiveness();
    await Promise.resolve();
  }
  const status = (id: number) => service.stateMachine.broker(id)?.brokerStatus;
  assert.equal(status(1), "UNFENCED");
  assert.equal(status(2), "FENCED");
});

test("a new leader gives every broker a fresh session: a leader change does not fence brokers", async () => {
  const { service, controller, clock } = setUp(3_000);
  await service.write(() => register(1));
  service.checkLiveness();
  controller.current = controllerStatus({ role: "follower", leaderId: 2, term: 4 });
  clock.advance(10_000);
  service.checkLiveness();
  assert.equal(service.stateMachine.broker(1)?.brokerStatus, "INIT", "a follower fences nobody");
  controller.current = controllerStatus({ term: 5 });
  service.checkLiveness();
  await Promise.resolve();
  assert.equal(service.stateMachine.broker(1)?.brokerStatus, "INIT", "the new leader's session starts now");
  clock.advance(3_000);
  service.checkLiveness();
  await Promise.resolve();
  assert.equal(service.stateMachine.broker(1)?.brokerStatus, "FENCED");
});

test("changes() answers a delta from an offset or a time, and the full image for an offset before the history", async () => {
  const { service, clock } = setUp();
  await service.write(() => register(1));
  const afterFirst = clock.nowMs;
  clock.advance(5_000);
  await service.write(() => ({ type: "CreateTopic", name: "orders", topicUUID: "t-1", partitions: [] }));
  const delta = service.changes({ kind: "offset", offset: 1 }, "client");
  assert.equal(delta.kind, "delta");
  assert.deepEqual(delta.kind === "delta" ? delta.records.map((r) => r.name) : [], ["TopicRecord"]);
  const byTime = service.changes({ kind: "time", epochMs: afterFirst }, "broker");
  assert.deepEqual(byTime.kind === "delta" ? byTime.records.map((r) => r.offset) : [], [2]);
  service.stateMachine.restore(service.stateMachine.snapshot(), 2);
  const image = service.changes({ kind: "offset", offset: 0 }, "client");
  assert.equal(image.kind, "snapshot");
  assert.equal(image.currentOffset, 2);
});
