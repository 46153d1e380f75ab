import assert from "node:assert/strict";
import { test } from "node:test";
import type { RegisterOperation } from "./clients.js";
import { judgeHistory } from "./judge.js";

// Histories shaped as the clients record them: the registration (client 9) writes "1", clients 0 and 1
// write and read, and the final reads (clients 10 and 11) come last.
function write(clientId: number, key: string, value: string, invokeMs: number, completeMs?: number): RegisterOperation {
  const input = { kind: "write", key, value } as const;
  return completeMs === undefined ? { clientId, input, invokeMs, outcome: "unknown", note: "node 2: timeout" } : { clientId, input, invokeMs, outcome: "ok", output: {}, completeMs, note: "node 1: 200" };
}

function read(clientId: number, key: string, value: string | null, invokeMs: number, completeMs: number): RegisterOperation {
  return { clientId, input: { kind: "read", key }, invokeMs, outcome: "ok", output: { value }, completeMs, note: "node 3" };
}

const registered = [write(9, "b1", "1", 0, 1), write(9, "b2", "1", 1, 2)];

test("a clean history with an unknown write that took effect later is linearizable, nothing lost", () => {
  const history = [...registered, write(0, "b1", "2", 10, 20), write(1, "b1", "3", 15), read(0, "b1", "2", 21, 22), read(1, "b1", "3", 30, 31), write(0, "b2", "2", 10, 12), read(10, "b1", "3", 40, 41), read(11, "b2", "2", 40, 41)];
  const judgement = judgeHistory(history, new Map([["b1", "3"], ["b2", "2"]]));
  assert.deepEqual(judgement.problems, []);
  assert.equal(judgement.linearizable, "yes");
  assert.equal(judgement.lostCount, 0);
  assert.match(judgement.checked, /linearizability: \d+ operations in 2 keys/);
});

test("a stale read after an acknowledged write is not linearizable, and the summary names its key", () => {
  const history = [...registered, write(0, "b2", "2", 10, 20), read(1, "b2", "1", 25, 26), read(10, "b2", "2", 40, 41)];
  const judgement = judgeHistory(history, new Map([["b2", "2"]]));
  assert.equal(judgement.linearizable, "no");
  assert.equal(judgement.lostCount, 0);
  assert.equal(judgement.problems.length, 1);
  assert.match(judgement.problems[0] ?? "", /^not linearizable \(key b2\)/);
});

test("an acknowledged write that the final reads do not show is lost and not linearizable", () => {
  const history = [...registered, write(0, "b1", "2", 10, 20), write(1, "b1", "3", 30, 35), read(10, "b1", "2", 40, 41)];
  const judgement = judgeHistory(history, new Map([["b1", "2"]]));
  assert.equal(judgement.linearizable, "no");
  assert.equal(judgement.lostCount, 1);
  assert.ok(judgement.problems.some((p) => p.startsWith("lost: ") && p.includes('"value":"3"')), judgement.problems.join("\n"));
});
