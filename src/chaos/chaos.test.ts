import assert from "node:assert/strict";
import { test } from "node:test";
import { brokerNemesisKinds, nemesisKinds } from "./nemesis.js";
import { runChaos } from "./run.js";

/** Long enough for a round of faults (one of each kind, unless restarts are slow), short enough for the suite. */
const durationS = 25;

// Every nemesis of the default set: disk too where a small disk can be mounted (root on Linux), else it is left out with a line.
test("a short chaos run with every nemesis against real controllers and brokers: linearizable, no acknowledged write or message lost, none duplicated, everything converged; the consumer group's commits skip nothing, never go backwards and survive", { timeout: 300_000 }, async () => {
  const lines: string[] = [];
  const args = { durationS, nemeses: [...nemesisKinds], nemesesDefaulted: true, brokerNemeses: [...brokerNemesisKinds], seed: 20_261_206, seedDrawn: false, clientsCount: 4, keysCount: 6, controllersCount: 3, producersCount: 2, groupConsumersCount: 2, keep: false };
  const report = await runChaos(args, { log: (line) => lines.push(line), signal: new AbortController().signal });
  const transcript = [...lines, ...report.summary].join("\n");
  console.log(transcript);
  assert.ok(report.clean, `the run is clean (history and logs kept in ${report.dir}):\n${transcript}`);
  assert.equal(report.linearizable, "yes");
  assert.equal(report.lostCount, 0);
  assert.equal(report.duplicatesCount, 0);
  const faultsCount = Object.values(report.faultsCount).reduce((a, b) => a + b, 0);
  assert.ok(faultsCount >= 3, `at least 3 faults were injected: ${JSON.stringify(report.faultsCount)}`);
  const brokerFaultsCount = brokerNemesisKinds.reduce((sum, kind) => sum + report.faultsCount[kind], 0);
  assert.ok(brokerFaultsCount >= 2, `broker faults were injected beside the controllers': ${JSON.stringify(report.faultsCount)}`);
  assert.ok(report.summary.some((line) => /^data plane: [1-9]\d* messages read back/.test(line)), "messages were sent, acknowledged and read back");
  assert.ok(report.summary.some((line) => /^group: [1-9]\d* records handed out/.test(line)), "the group's members were handed records, and its checks ran");
  assert.ok(report.operationsCount >= 100, `the clients made progress: ${report.operationsCount} operations`);
});
