import assert from "node:assert/strict";
import { test } from "node:test";
import { EventQueue } from "./eventQueue.js";
import { KvStore, encodeCommand } from "./kv.js";
import { Network } from "./network.js";
import { runSeed } from "./run.js";
import { createPrng } from "../shared/prng.js";

const seedsCount = 300;

test(`${seedsCount} simulated seeds keep every safety property and recover after healing`, () => {
  const failures: string[] = [];
  let committed = 0;
  for (let seed = 1; seed <= seedsCount; seed++) {
    const result = runSeed(seed);
    committed += result.stats.committedIndex;
    const reason = result.violations[0] ?? result.livenessFailure;
    if (reason !== undefined) failures.push(`seed ${seed}: ${reason}`);
  }
  assert.deepEqual(failures, []);
  assert.ok(committed > seedsCount * 10, `the workload must commit entries: ${committed} in ${seedsCount} seeds`);
});

test("a seed replays byte for byte", () => {
  for (const seed of [7, 42]) {
    const first = runSeed(seed, { trace: true, traceMessages: true });
    const second = runSeed(seed, { trace: true, traceMessages: true });
    assert.ok(first.trace.length > 100, "the trace must record the run");
    assert.equal(first.trace.join("\n"), second.trace.join("\n"));
    assert.deepEqual(first.stats, second.stats);
    assert.ok(first.trace.some((line) => line.includes("became LEADER")));
  }
  // Tracing only observes: the run is the same with it off.
  assert.deepEqual(runSeed(7).stats, runSeed(7, { trace: true }).stats);
});

test("different seeds make different runs", () => {
  assert.notDeepEqual(runSeed(1).stats, runSeed(5).stats);
});

test("event queue orders by time, then by insertion", () => {
  const queue = new EventQueue<string>();
  queue.push(5, "c");
  queue.push(1, "a");
  queue.push(5, "d");
  queue.push(1, "b");
  queue.push(3, "x");
  const out: string[] = [];
  for (let e = queue.pop(); e !== undefined; e = queue.pop()) out.push(e.value);
  assert.deepEqual(out, ["a", "b", "x", "c", "d"]);
});

test("kv store: versions count writes per key; a snapshot restores the same state", () => {
  const kv = new KvStore();
  const put = (index: number, key: number, value: number): number | undefined =>
    kv.apply({ index, term: 1, type: "normal", data: encodeCommand({ clientId: 1, requestId: index, key, value }) })?.version;
  assert.equal(put(1, 3, 10), 1);
  assert.equal(put(2, 3, 11), 2);
  assert.equal(put(3, 4, 12), 1);
  kv.apply({ index: 4, term: 1, type: "noop", data: new Uint8Array(0) });
  assert.equal(kv.appliedIndex, 4);
  const restored = KvStore.decode(kv.encode(), 4);
  assert.equal(restored.stateHash, kv.stateHash);
  assert.equal(restored.version(3), 2);
  assert.equal(restored.value(4), 12);
  put(5, 4, 13);
  assert.notEqual(restored.stateHash, kv.stateHash);
});

test("network: partitions block links until healed; drops and duplicates follow the rates", () => {
  const net = new Network(createPrng(1), { dropRate: 0, duplicateRate: 0, delayUnitsMin: 1, delayUnitsMax: 5 });
  const id = net.partition([{ from: 1, to: 2 }]);
  assert.equal(net.isBlocked(1, 2), true);
  assert.equal(net.isBlocked(2, 1), false);
  net.heal(id);
  assert.equal(net.isBlocked(1, 2), false);
  assert.equal(net.route().length, 1);
  net.setFaults({ dropRate: 1, duplicateRate: 0, delayUnitsMin: 1, delayUnitsMax: 5 });
  assert.equal(net.route().length, 0);
  net.setFaults({ dropRate: 0, duplicateRate: 1, delayUnitsMin: 1, delayUnitsMax: 5 });
  assert.equal(net.route().length, 2);
});
