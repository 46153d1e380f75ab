import assert from "node:assert/strict";
import { test } from "node:test";
import type { Prng } from "../shared/prng.js";
import { createPrng } from "../shared/prng.js";
import type { ClientSession, MetadataCommand } from "./commands.js";
import { decodeEnvelope, encodeEnvelope } from "./commands.js";
import type { LogEntry } from "./metadataStateMachine.js";
import { controllerRegistrationsIn, MetadataStateMachine } from "./metadataStateMachine.js";
import type { ControllerRegistration } from "./records.js";
import type { BrokerStatus } from "./records.js";
import { noLeader } from "./records.js";
import type { ApplyResult, Rejection } from "./results.js";
import { registerBroker, registerController, startMs, uuid } from "./testing.js";

function normal(index: number, command: MetadataCommand, timestamp = startMs + index * 1000, clientSession?: ClientSession): LogEntry {
  const envelope = { command, timestamp, ...(clientSession === undefined ? {} : { clientSession }) };
  return { index, term: 1, type: "normal", data: encodeEnvelope(envelope) };
}

test("noop and membership entries only advance appliedIndex", () => {
  const machine = new MetadataStateMachine();
  const before = machine.snapshot();
  assert.equal(machine.apply({ index: 1, term: 1, type: "noop", data: new Uint8Array() }), undefined);
  assert.equal(machine.apply({ index: 2, term: 1, type: "membership", data: new Uint8Array([1, 2, 3]) }), undefined);
  assert.equal(machine.appliedIndex, 2);
  const empty = new MetadataStateMachine();
  empty.restore(before, 2);
  assert.deepEqual(machine.snapshot(), empty.snapshot());
});

test("a normal entry is applied at offset = its log index", () => {
  const machine = new MetadataStateMachine();
  machine.apply({ index: 1, term: 1, type: "noop", data: new Uint8Array() });
  const result = machine.apply(normal(2, registerBroker(1)));
  assert.equal(result?.ok && result.records[0]?.offset, 2);
  assert.equal(machine.broker(1)?.epoch, 1);
  assert.equal(machine.appliedIndex, 2);
});

test("apply() refuses to skip or repeat an index: that is a bug in the caller", () => {
  const machine = new MetadataStateMachine();
  machine.apply(normal(1, registerBroker(1)));
  assert.throws(() => machine.apply(normal(3, registerBroker(2))), /entry 3 applied after 1/);
  assert.throws(() => machine.apply(normal(1, registerBroker(2))), /entry 1 applied after 1/);
});

test("garbage entry data is a deterministic INVALID_COMMAND rejection that still advances appliedIndex", () => {
  const garbage: readonly Uint8Array[] = [new Uint8Array(), new Uint8Array([0xc3, 0x28]), new TextEncoder().encode('{"command":{"type":"RegisterBroker"},"timestamp":1}')];
  const a = new MetadataStateMachine();
  const b = new MetadataStateMachine();
  for (const [i, data] of garbage.entries()) {
    const entry: LogEntry = { index: i + 1, term: 1, type: "normal", data };
    const result = a.apply(entry);
    assert.equal(result?.ok, false);
    assert.equal(result?.ok === false && result.code, "INVALID_COMMAND");
    assert.deepEqual(b.apply(entry), result);
  }
  assert.equal(a.appliedIndex, 3);
  assert.deepEqual(a.snapshot(), b.snapshot());
});

test("a negative envelope timestamp is refused, not written into records", () => {
  const machine = new MetadataStateMachine();
  const result = machine.apply(normal(1, registerBroker(1), -5));
  assert.equal(result?.ok === false && result.field, "timestamp");
  assert.equal(machine.brokers().length, 0);
});

test("validate() makes apply's checks without changing anything", () => {
  const machine = new MetadataStateMachine();
  machine.apply(normal(1, registerBroker(1)));
  const before = machine.snapshot();
  assert.equal(machine.validate(registerBroker(2)), undefined);
  assert.equal(machine.validate({ type: "CreateTopic", name: "t", topicUUID: uuid(1), partitions: [{ partitionId: 0, replicas: [1] }] }), undefined);
  assert.equal(machine.validate({ type: "FenceBroker", brokerId: 1, brokerEpoch: 9 })?.code, "STALE_BROKER_EPOCH");
  assert.equal(machine.validate({ type: "DeleteTopic", name: "t" })?.code, "UNKNOWN_TOPIC");
  assert.deepEqual(machine.snapshot(), before);
  assert.equal(machine.brokers().length, 1);
});

test("the read accessors serve what was applied", () => {
  const machine = new MetadataStateMachine();
  machine.apply(normal(1, registerBroker(1)));
  machine.apply(normal(2, registerBroker(2)));
  machine.apply(normal(3, { type: "UnfenceBroker", brokerId: 2, brokerEpoch: 1 }));
  machine.apply(normal(4, { type: "CreateTopic", name: "t", topicUUID: uuid(1), partitions: [{ partitionId: 0, replicas: [2, 1] }] }));
  machine.apply(normal(5, { type: "RegisterProducer", brokerId: 2, brokerEpoch: 2 }));
  assert.deepEqual(machine.brokers({ statuses: ["UNFENCED"] }).map((b) => b.brokerId), [2]);
  assert.equal(machine.topic("t")?.partitions[0]?.leader, 2);
  assert.equal(machine.topicByUUID(uuid(1))?.name, "t");
  assert.deepEqual(machine.partitions("t").map((p) => p.topicName), ["t"]);
  assert.deepEqual(machine.producers().map((p) => p.producerId), [1]);
  assert.equal(machine.nextProducerId, 2);
  assert.equal(machine.changesSince(3, startMs + 6000).kind, "delta");
  assert.equal(machine.changesSinceTime(startMs, startMs + 6000, { view: "client" }).kind, "delta");
  assert.equal(machine.image("client").topics.length, 1);
  assert.deepEqual(machine.checkClientSession({ clientId: "c", sequence: 1 }), { kind: "new" });
});

test("restore() with empty data is the empty state at that index, history starting there", () => {
  const machine = new MetadataStateMachine();
  machine.apply(normal(1, registerBroker(1)));
  machine.restore(new Uint8Array(), 10);
  assert.equal(machine.appliedIndex, 10);
  assert.equal(machine.historyStartOffset, 10);
  assert.deepEqual(machine.brokers(), []);
  assert.equal(machine.apply(normal(11, registerBroker(1)))?.ok, true);
});

/**
 * A generator of plausible (and often invalid) log entries, choosing ids from what `view` holds so that
 * most commands touch real brokers, topics and partitions.
 */
class EntryGenerator {
  private timestamp = startMs;
  private uuidCount = 0;
  private readonly sequences = new Map<string, number>();

  constructor(
    private readonly prng: Prng,
    private readonly view: MetadataStateMachine,
  ) {}

  next(index: number): LogEntry {
    const { prng } = this;
    if (prng.chance(0.03)) return { index, term: 1, type: "noop", data: new Uint8Array() };
    if (prng.chance(0.02)) return { index, term: 1, type: "normal", data: Uint8Array.from({ length: prng.int(20) }, () => prng.int(256)) };
    // The leader's clock mostly moves on, sometimes stalls, and a new leader's may be behind.
    this.timestamp += prng.chance(0.05) ? -prng.int(5000) : prng.int(3000);
    const clientSession = prng.chance(0.3) ? this.clientSession() : undefined;
    const envelope = { command: this.command(), timestamp: this.timestamp, ...(clientSession === undefined ? {} : { clientSession }) };
    return { index, term: 1, type: "normal", data: encodeEnvelope(envelope) };
  }

  private clientSession(): ClientSession {
    const clientId = this.prng.pick(["a", "b", "c", "d"]);
    const last = this.sequences.get(clientId) ?? 0;
    const sequence = Math.max(0, last + this.prng.pick([-1, 0, 1, 1, 1, 2]));
    this.sequences.set(clientId, Math.max(last, sequence));
    return { clientId, sequence };
  }

  private command(): MetadataCommand {
    const { prng } = this;
    const brokerId = prng.int(8);
    const epoch = (this.view.broker(brokerId)?.epoch ?? 1) - (prng.chance(0.15) ? 1 : 0);
    switch (prng.int(11)) {
      case 0:
      case 1:
        return registerBroker(brokerId, { internalUUID: this.uuid(), ...(prng.chance(0.5) ? { rackId: prng.pick(["r1", "r2", ""]) } : {}) });
      case 2:
        return { type: "ChangeBrokerRegistration", brokerId, ...(prng.chance(0.7) ? { brokerPort: prng.intBetween(0, 9999) } : {}) };
      case 3:
        return prng.chance(0.3) ? { type: "UnregisterBroker", brokerId } : { type: "UnfenceBroker", brokerId, brokerEpoch: epoch };
      case 4:
        return { type: "FenceBroker", brokerId, brokerEpoch: epoch };
      case 5:
        return { type: "CreateTopic", name: this.topicName(), topicUUID: this.uuid(), partitions: this.placements() };
      case 6:
        return prng.chance(0.3) ? { type: "DeleteTopic", name: this.topicName() } : { type: "CreatePartition", topicName: this.topicName(), replicas: this.replicas() };
      case 7:
      case 8:
        return this.changePartition();
      default:
        return { type: "RegisterProducer", brokerId, brokerEpoch: epoch, ...(prng.chance(0.1) ? { producerId: prng.int(200) } : {}) };
    }
  }

  private changePartition(): MetadataCommand {
    const { prng } = this;
    const partitions = this.view.partitions();
    if (partitions.length === 0) return { type: "ChangePartition", topicUUID: this.uuid(), partitionId: 0, leader: 1 };
    const { partition } = prng.pick(partitions);
    const replicas = prng.chance(0.3) ? this.replicas() : [...partition.replicas];
    const isr = replicas.filter(() => prng.chance(0.7));
    return {
      type: "ChangePartition",
      topicUUID: partition.topicUUID,
      partitionId: partition.partitionId,
      ...(prng.chance(0.5) ? { isr } : {}),
      ...(prng.chance(0.3) ? { replicas } : {}),
      ...(prng.chance(0.4) ? { leader: isr.length > 0 ? prng.pick(isr) : noLeader } : {}),
      ...(prng.chance(0.5) ? { expectedPartitionEpoch: partition.partitionEpoch - (prng.chance(0.2) ? 1 : 0) } : {}),
    };
  }

  private placements(): { partitionId: number; replicas: number[] }[] {
    return Array.from({ length: this.prng.int(4) }, (_, partitionId) => ({ partitionId, replicas: this.replicas() }));
  }

  private replicas(): number[] {
    const count = this.prng.intBetween(1, 3);
    return [...new Set(Array.from({ length: count }, () => this.prng.int(8)))];
  }

  private topicName(): string {
    return this.prng.pick(["orders", "payments", "logs", "clicks", "audit"]);
  }

  private uuid(): string {
    return uuid(++this.uuidCount);
  }
}

/** The state invariants every apply must keep. */
function checkInvariants(machine: MetadataStateMachine, epochsSeen: Map<number, number>): void {
  const statusOf = new Map<number, BrokerStatus>(machine.brokers().map((b) => [b.brokerId, b.brokerStatus]));
  for (const broker of machine.brokers()) {
    assert.ok(broker.epoch >= (epochsSeen.get(broker.brokerId) ?? 0), `broker ${broker.brokerId}'s epoch went back`);
    epochsSeen.set(broker.brokerId, broker.epoch);
  }
  for (const { topicName, partition } of machine.partitions()) {
    const where = `${topicName}/${partition.partitionId}`;
    assert.equal(new Set(partition.replicas).size, partition.replicas.length, `${where}: replicas distinct`);
    assert.ok(partition.ISR.every((id) => partition.replicas.includes(id)), `${where}: ISR ⊆ replicas`);
    const serving = (id: number): boolean => statusOf.get(id) === "INIT" || statusOf.get(id) === "UNFENCED";
    const waitingForLast = partition.ISR.length === 1 && partition.leader === noLeader;
    assert.ok(partition.ISR.every(serving) || waitingForLast, `${where}: ISR members serve, or the last waits leaderless: ${JSON.stringify(partition)} ${JSON.stringify([...statusOf])}`);
    assert.ok(partition.leader === noLeader || serving(partition.leader), `${where}: the leader serves`);
    assert.ok(partition.leader === noLeader || partition.ISR.includes(partition.leader), `${where}: leader in ISR`);
  }
  for (const producer of machine.producers()) assert.ok(producer.producerId < machine.nextProducerId, "producer id below the mark");
}

/** What the leader's check says of an entry's command, or "skip" when apply would not simply run it. */
function validateFirst(machine: MetadataStateMachine, entry: LogEntry): Rejection | undefined | "skip" {
  if (entry.type !== "normal") return "skip";
  const decoded = decodeEnvelope(entry.data);
  if (!decoded.ok || decoded.envelope.clientSession !== undefined) return "skip";
  return machine.validate(decoded.envelope.command);
}

function generateLog(seed: number, length: number): { entries: LogEntry[]; results: (ApplyResult | undefined)[]; machine: MetadataStateMachine } {
  const machine = new MetadataStateMachine();
  const generator = new EntryGenerator(createPrng(seed), machine);
  const entries: LogEntry[] = [];
  const results: (ApplyResult | undefined)[] = [];
  const epochsSeen = new Map<number, number>();
  for (let index = 1; index <= length; index++) {
    const entry = generator.next(index);
    entries.push(entry);
    const checked = validateFirst(machine, entry);
    const result = machine.apply(entry);
    if (checked !== "skip") assert.deepEqual(checked ?? { ok: true }, result?.ok === true ? { ok: true } : result, `validate() and apply() disagree at ${index}`);
    results.push(result);
    checkInvariants(machine, epochsSeen);
  }
  return { entries, results, machine };
}

test("a long generated log keeps every invariant and exercises both applies and rejections", () => {
  const { results } = generateLog(7, 3000);
  const applied = results.filter((r) => r?.ok === true && r.replayed !== true).length;
  const rejected = new Set<string>(results.flatMap((r) => (r?.ok === false ? [r.code] : [])));
  const replayed = results.filter((r) => r?.replayed === true).length;
  assert.ok(applied > 500, `only ${applied} commands applied`);
  assert.ok(replayed > 10, `only ${replayed} replays`);
  for (const code of ["INVALID_COMMAND", "UNKNOWN_BROKER", "TOPIC_EXISTS", "STALE_BROKER_EPOCH", "STALE_PARTITION_EPOCH", "STALE_CLIENT_SEQUENCE", "INVALID_REPLICAS"]) {
    assert.ok(rejected.has(code), `no ${code} rejection in the generated log`);
  }
});

for (const seed of [1, 2, 3, 42, 1234]) {
  test(`seed ${seed}: a node that snapshots and restores midway ends identical to one that replays the whole log`, () => {
    const { entries, results, machine: full } = generateLog(seed, 1500);
    const cut = 1 + createPrng(seed * 31).int(entries.length - 1);
    const early = new MetadataStateMachine();
    for (const entry of entries.slice(0, cut)) early.apply(entry);
    const rebuilt = new MetadataStateMachine();
    rebuilt.restore(early.snapshot(), early.appliedIndex);
    assert.deepEqual(rebuilt.snapshot(), early.snapshot(), "snapshot round-trip is exact");
    for (const [i, entry] of entries.slice(cut).entries()) {
      assert.deepEqual(rebuilt.apply(entry), results[cut + i], `entry ${entry.index} answered differently after restore at ${cut}`);
    }
    assert.equal(rebuilt.appliedIndex, full.appliedIndex);
    assert.deepEqual(rebuilt.snapshot(), full.snapshot());
    assert.deepEqual(rebuilt.image("broker"), full.image("broker"));
  });
}

test("onControllersChanged hears every change of the registry with all controllers, and every restore", () => {
  const heard: number[][] = [];
  const ids = (controllers: readonly ControllerRegistration[]): number[] => controllers.map((c) => c.controllerId);
  const machine = new MetadataStateMachine({ onControllersChanged: (controllers) => heard.push(ids(controllers)) });
  machine.apply(normal(1, registerController(5)));
  machine.apply(normal(2, registerBroker(1)));
  machine.apply(normal(3, registerController(4)));
  machine.apply(normal(4, { type: "UnregisterController", controllerId: 9 }));
  machine.apply(normal(5, { type: "UnregisterController", controllerId: 5 }));
  assert.deepEqual(heard, [[5], [4, 5], [4]], "a broker and a refused unregistration change nothing");
  assert.deepEqual(ids(machine.controllers()), [4]);
  assert.equal(machine.controller(4)?.apiPort, 9004);

  const restored: number[][] = [];
  const other = new MetadataStateMachine({ onControllersChanged: (controllers) => restored.push(ids(controllers)) });
  other.restore(machine.snapshot(), machine.appliedIndex);
  assert.deepEqual(restored, [[4]]);
});

test("controllerRegistrationsIn() reads the registrations stored entries propose, committed or not, the last per id", () => {
  const entries: LogEntry[] = [
    { index: 1, term: 1, type: "noop", data: new Uint8Array() },
    normal(2, registerController(6)),
    normal(3, registerBroker(1)),
    { index: 4, term: 1, type: "normal", data: new Uint8Array([0xff]) },
    normal(5, registerController(4)),
    normal(6, registerController(6, { raftPort: 7006 })),
    normal(7, { type: "UnregisterController", controllerId: 4 }),
  ];
  assert.deepEqual(
    controllerRegistrationsIn(entries).map((c) => [c.controllerId, c.raftPort]),
    [
      [4, 9104],
      [6, 7006],
    ],
  );
});
