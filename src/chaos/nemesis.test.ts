import assert from "node:assert/strict";
import { test } from "node:test";
import { createPrng } from "../shared/prng.js";
import { brokerHoldMs, brokerNemesisKinds, describeBrokerFault, describeFault, emptyFaultsCount, linksToCut, linksToSlow, minorityCount, nemesisBounds, nemesisKinds, planBrokerFaults, planFaults } from "./nemesis.js";
import type { BrokerNemesisKind, Fault, NemesisKind, PlannedBrokerFault, PlannedFault, Target } from "./nemesis.js";

function take(seed: number, count: number, nodeIds: readonly number[] = [1, 2, 3], kinds: readonly NemesisKind[] = nemesisKinds): PlannedFault[] {
  const plan = planFaults(createPrng(seed), { nodeIds, kinds });
  return Array.from({ length: count }, () => plan.next().value);
}

function targetsOf(fault: Fault): readonly Target[] {
  switch (fault.kind) {
    case "kill":
    case "pause":
      return fault.targets;
    case "partition":
      return fault.shape.kind === "split" ? [] : [fault.shape.node];
    case "slow":
      return fault.scope.kind === "all" ? [] : [fault.scope.node];
    case "terminate":
      return fault.targets;
    case "transfer":
      return fault.targetId === undefined ? [] : [{ kind: "node", id: fault.targetId }];
    case "disk":
      return [fault.target];
  }
}

test("the same seed plans the same faults; another seed plans others", () => {
  assert.deepEqual(take(42, 50), take(42, 50));
  assert.notDeepEqual(take(42, 50), take(43, 50));
});

test("every enabled kind shows up within the first round, and no other kind ever does", () => {
  for (let seed = 1; seed <= 50; seed++) {
    const first = take(seed, nemesisKinds.length).map((p) => p.fault.kind);
    assert.deepEqual([...first].sort(), [...nemesisKinds].sort(), `seed ${seed}`);
    const some: NemesisKind[] = ["pause", "slow"];
    for (const planned of take(seed, 30, [1, 2, 3], some)) assert.ok(some.includes(planned.fault.kind));
  }
});

test("kills and pauses take at most a minority, split partitions cut off at most a minority, all within the cluster", () => {
  for (const nodeIds of [[1, 2, 3], [1, 2, 3, 4, 5], [3, 5, 7, 9, 11, 13, 15]]) {
    for (let seed = 1; seed <= 30; seed++) {
      for (const { quietMs, fault } of take(seed, 40, nodeIds)) {
        assert.ok(quietMs >= nemesisBounds.quietMsMin && quietMs <= nemesisBounds.quietMsMax);
        for (const target of targetsOf(fault)) assert.ok(nodeIds.includes(target.kind === "node" ? target.id : target.fallbackId));
        if (fault.kind === "kill" || fault.kind === "pause" || fault.kind === "terminate") {
          assert.ok(fault.targets.length >= 1 && fault.targets.length <= minorityCount(nodeIds.length));
          const ids = fault.targets.map((t) => (t.kind === "node" ? t.id : t.fallbackId));
          assert.equal(new Set(ids).size, ids.length, "distinct targets");
        }
        if (fault.kind === "partition" && fault.shape.kind === "split") {
          assert.ok(fault.shape.minority.length >= 1 && fault.shape.minority.length <= minorityCount(nodeIds.length));
        }
        if (fault.kind === "slow") assert.ok(fault.latencyMs >= nemesisBounds.latencyMsMin && fault.latencyMs <= nemesisBounds.latencyMsMax);
      }
    }
  }
});

test("over many faults every shape, mode and target kind is drawn", () => {
  const seen = new Set<string>();
  for (const { fault } of take(7, 400)) {
    if (fault.kind === "partition") seen.add(`${fault.shape.kind}/${fault.mode}`);
    for (const target of targetsOf(fault)) seen.add(`target:${target.kind}`);
  }
  for (const expected of ["split/blackhole", "split/reject", "one-way/blackhole", "isolate/blackhole", "target:leader", "target:node"]) assert.ok(seen.has(expected), expected);
});

test("a disk fault fills one node's disk, the leader's about half the time, for a hold within the bounds", () => {
  const nodeIds = [1, 2, 3, 4, 5];
  const disks = take(11, 300, nodeIds, ["disk", "kill"]).flatMap(({ fault }) => (fault.kind === "disk" ? [fault] : []));
  assert.ok(disks.length >= 100, `about half of 300 faults are disk faults: ${disks.length}`);
  for (const fault of disks) {
    assert.ok(fault.fullMs >= nemesisBounds.holdMsMin && fault.fullMs <= nemesisBounds.holdMsMax, `fullMs ${fault.fullMs}`);
    assert.ok(nodeIds.includes(fault.target.kind === "node" ? fault.target.id : fault.target.fallbackId));
  }
  const leaderCount = disks.filter((f) => f.target.kind === "leader").length;
  assert.ok(leaderCount > disks.length / 4 && leaderCount < (disks.length * 3) / 4, `the leader ${leaderCount} times of ${disks.length}`);
  assert.deepEqual(new Set(disks.map((f) => (f.target.kind === "node" ? f.target.id : f.target.fallbackId))), new Set(nodeIds), "every node's disk is filled some time");
});

test("a disk fault reads as a line naming the node and the time until the disk is freed", () => {
  assert.equal(describeFault({ kind: "disk", target: { kind: "node", id: 2 }, fullMs: 1500 }), "fill the disk of node 2, free it after 1.5 s");
  assert.equal(describeFault({ kind: "disk", target: { kind: "leader", fallbackId: 3 }, fullMs: 800 }), "fill the disk of the leader (else node 3), free it after 0.8 s");
});

test("emptyFaultsCount counts every kind from zero", () => {
  assert.deepEqual(Object.keys(emptyFaultsCount()).sort(), [...nemesisKinds].sort());
  assert.ok(Object.values(emptyFaultsCount()).every((count) => count === 0));
});

test("linksToCut: a split cuts both ways across, a one-way cut only one direction, isolation every link of the node", () => {
  const ids = [1, 2, 3];
  const leader = (): number => 2;
  const sorted = (links: readonly { from: number; to: number }[]): string[] => links.map((l) => `${l.from}>${l.to}`).sort();
  assert.deepEqual(sorted(linksToCut({ kind: "split", minority: [3] }, ids, leader)), ["1>3", "2>3", "3>1", "3>2"]);
  assert.deepEqual(sorted(linksToCut({ kind: "one-way", node: { kind: "leader", fallbackId: 1 }, direction: "outbound" }, ids, leader)), ["2>1", "2>3"]);
  assert.deepEqual(sorted(linksToCut({ kind: "one-way", node: { kind: "node", id: 1 }, direction: "inbound" }, ids, () => 1)), ["2>1", "3>1"]);
  assert.deepEqual(sorted(linksToCut({ kind: "isolate", node: { kind: "leader", fallbackId: 1 } }, ids, leader)), ["1>2", "2>1", "2>3", "3>2"]);
  assert.deepEqual(sorted(linksToCut({ kind: "split", minority: [1, 2] }, [1, 2, 3, 4, 5], leader)).length, 12);
});

test("linksToSlow: every link, or every link touching the node", () => {
  assert.equal(linksToSlow({ kind: "all" }, [1, 2, 3], () => 1).length, 6);
  assert.deepEqual(linksToSlow({ kind: "node", node: { kind: "node", id: 3 } }, [1, 2, 3], () => 3).map((l) => `${l.from}>${l.to}`).sort(), ["1>3", "2>3", "3>1", "3>2"]);
});

function takeBroker(seed: number, count: number, kinds: readonly BrokerNemesisKind[] = brokerNemesisKinds): PlannedBrokerFault[] {
  const plan = planBrokerFaults(createPrng(seed), { brokerIds: [101, 102, 103], kinds });
  return Array.from({ length: count }, () => plan.next().value);
}

test("broker faults: the same seed plans the same ones, each kind within the first round, one known broker each, within the bounds", () => {
  assert.deepEqual(takeBroker(5, 40), takeBroker(5, 40));
  assert.notDeepEqual(takeBroker(5, 40), takeBroker(6, 40));
  const modes = new Set<string>();
  for (let seed = 1; seed <= 40; seed++) {
    const planned = takeBroker(seed, 30);
    assert.deepEqual(planned.slice(0, brokerNemesisKinds.length).map((p) => p.fault.kind).sort(), [...brokerNemesisKinds].sort(), `seed ${seed}`);
    for (const { quietMs, fault } of planned) {
      assert.ok([101, 102, 103].includes(fault.brokerId));
      assert.ok(quietMs >= nemesisBounds.quietMsMin && quietMs <= nemesisBounds.quietMsMax);
      assert.ok(brokerHoldMs(fault) >= nemesisBounds.holdMsMin && brokerHoldMs(fault) <= nemesisBounds.holdMsMax);
      if (fault.kind === "broker-partition") modes.add(fault.mode);
    }
    for (const { fault } of takeBroker(seed, 10, ["broker-pause"])) assert.equal(fault.kind, "broker-pause");
  }
  assert.deepEqual([...modes].sort(), ["blackhole", "reject"]);
});

test("describeBrokerFault names the broker and the hold", () => {
  assert.equal(describeBrokerFault({ kind: "broker-kill", brokerId: 102, downMs: 1_450 }), "kill -9 broker 102, restart after 1.4 s");
  assert.match(describeBrokerFault({ kind: "broker-partition", brokerId: 101, mode: "reject", durationMs: 2_000 }), /^cut every link of broker 101 .*reject\) for 2\.0 s$/);
});
