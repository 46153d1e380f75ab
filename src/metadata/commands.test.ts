import assert from "node:assert/strict";
import { test } from "node:test";
import { createPrng } from "../shared/prng.js";
import type { CommandEnvelope, MetadataCommand } from "./commands.js";
import { decodeEnvelope, encodeEnvelope } from "./commands.js";
import { registerBroker, startMs, uuid } from "./testing.js";

const everyCommand: readonly MetadataCommand[] = [
  registerBroker(1),
  registerBroker(2, { rackId: "rack-a" }),
  { type: "ChangeBrokerRegistration", brokerId: 1, brokerPort: 9999 },
  { type: "ChangeBrokerRegistration", brokerId: 1, brokerHost: "h", brokerPort: 1, securityProtocol: "SSL", rackId: "" },
  { type: "UnregisterBroker", brokerId: 1 },
  { type: "FenceBroker", brokerId: 1, brokerEpoch: 3 },
  { type: "UnfenceBroker", brokerId: 1, brokerEpoch: 4 },
  { type: "CreateTopic", name: "orders", topicUUID: uuid(1), partitions: [{ partitionId: 0, replicas: [1, 2], leader: 2 }, { partitionId: 1, replicas: [2] }] },
  { type: "CreateTopic", name: "empty", topicUUID: uuid(2), partitions: [] },
  { type: "DeleteTopic", name: "orders" },
  { type: "CreatePartition", topicName: "orders", replicas: [1] },
  { type: "CreatePartition", topicName: "orders", partitionId: 7, replicas: [1, 2], leader: 1 },
  { type: "ChangePartition", topicUUID: uuid(1), partitionId: 0, leader: -1, isr: [], replicas: [1], expectedPartitionEpoch: 2 },
  { type: "RegisterProducer", brokerId: 1, brokerEpoch: 2 },
  { type: "RegisterProducer", brokerId: 1, brokerEpoch: 2, producerId: 77 },
  { type: "RegisterController", controllerId: 4, raftHost: "127.0.0.1", raftPort: 9104, apiHost: "127.0.0.1", apiPort: 9004 },
  { type: "UnregisterController", controllerId: 4 },
];

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function decodeJson(value: unknown): ReturnType<typeof decodeEnvelope> {
  return decodeEnvelope(bytes(JSON.stringify(value)));
}

test("decodeEnvelope() round-trips every command shape, with and without a client session", () => {
  for (const command of everyCommand) {
    const plain: CommandEnvelope = { command, timestamp: startMs };
    assert.deepEqual(decodeEnvelope(encodeEnvelope(plain)), { ok: true, envelope: plain });
    const withClientSession: CommandEnvelope = { command, timestamp: startMs, clientSession: { clientId: "c-1", sequence: 5 } };
    assert.deepEqual(decodeEnvelope(encodeEnvelope(withClientSession)), { ok: true, envelope: withClientSession });
  }
});

test("decodeEnvelope() rejects bytes that are not UTF-8 JSON", () => {
  for (const data of [new Uint8Array([0xff, 0xfe, 0x00]), bytes(""), bytes("{"), bytes("not json")]) {
    const decoded = decodeEnvelope(data);
    assert.equal(decoded.ok, false);
    assert.equal(!decoded.ok && decoded.code, "INVALID_COMMAND");
  }
});

test("decodeEnvelope() names the field that is wrong", () => {
  const good = { command: { type: "UnregisterBroker", brokerId: 1 }, timestamp: startMs };
  const cases: readonly [unknown, string | undefined][] = [
    [null, undefined],
    [[good], undefined],
    [42, undefined],
    [{ ...good, timestamp: "now" }, "timestamp"],
    [{ ...good, timestamp: 1.5 }, "timestamp"],
    [{ command: good.command }, "timestamp"],
    [{ timestamp: startMs }, "command"],
    [{ ...good, command: "UnregisterBroker" }, "command"],
    [{ ...good, extra: 1 }, "extra"],
    [{ ...good, command: { type: "Nope", brokerId: 1 } }, "command.type"],
    [{ ...good, command: { brokerId: 1 } }, "command.type"],
    [{ ...good, command: { type: "UnregisterBroker" } }, "command.brokerId"],
    [{ ...good, command: { type: "UnregisterBroker", brokerId: "1" } }, "command.brokerId"],
    [{ ...good, command: { type: "UnregisterBroker", brokerId: 2 ** 60 } }, "command.brokerId"],
    [{ ...good, command: { type: "UnregisterBroker", brokerId: 1, more: true } }, "command.more"],
    [{ ...good, command: { ...registerBroker(1), rackId: null } }, "command.rackId"],
    [{ ...good, command: { type: "CreatePartition", topicName: "t", replicas: [1, "2"] } }, "command.replicas"],
    [{ ...good, command: { type: "CreatePartition", topicName: "t", replicas: {} } }, "command.replicas"],
    [{ ...good, command: { type: "CreateTopic", name: "t", topicUUID: uuid(1), partitions: [{ partitionId: 0 }] } }, "command.partitions[0].replicas"],
    [{ ...good, command: { type: "CreateTopic", name: "t", topicUUID: uuid(1), partitions: [7] } }, "command.partitions[0]"],
    [{ ...good, command: { type: "CreateTopic", name: "t", topicUUID: uuid(1), partitions: {} } }, "command.partitions"],
    [{ ...good, clientSession: { clientId: "c" } }, "clientSession.sequence"],
    [{ ...good, clientSession: "c" }, "clientSession"],
    [{ ...good, clientSession: { clientId: "c", sequence: 1, x: 1 } }, "clientSession.x"],
  ];
  for (const [value, field] of cases) {
    const decoded = decodeJson(value);
    assert.equal(decoded.ok, false, `${JSON.stringify(value)} must be rejected`);
    if (decoded.ok) continue;
    assert.equal(decoded.code, "INVALID_COMMAND");
    assert.equal(decoded.field, field, `${JSON.stringify(value)}: ${decoded.message}`);
    assert.match(decoded.message, /^Cannot decode/);
  }
});

test("decodeEnvelope() refuses an own __proto__ key instead of treating it as a field", () => {
  const decoded = decodeEnvelope(bytes(`{"command":{"type":"UnregisterBroker","brokerId":1},"timestamp":1,"__proto__":{"x":1}}`));
  assert.equal(decoded.ok, false);
  assert.equal(!decoded.ok && decoded.field, "__proto__");
});

test("decodeEnvelope() never throws on random bytes or on mutated envelopes", () => {
  const prng = createPrng(2024);
  const encoded = everyCommand.map((command) => encodeEnvelope({ command, timestamp: startMs }));
  for (let i = 0; i < 2000; i++) {
    const data = prng.chance(0.3) ? randomBytes(prng.int(64)) : mutate(prng.pick(encoded));
    const decoded = decodeEnvelope(data);
    assert.equal(typeof decoded.ok, "boolean");
    if (!decoded.ok) assert.equal(decoded.code, "INVALID_COMMAND");
  }

  function randomBytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => prng.int(256));
  }

  function mutate(data: Uint8Array): Uint8Array {
    const copy = data.slice();
    for (let n = prng.intBetween(1, 4); n > 0; n--) copy[prng.int(copy.length)] = prng.int(128);
    return copy;
  }
});
