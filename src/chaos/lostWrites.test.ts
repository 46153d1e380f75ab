import assert from "node:assert/strict";
import { test } from "node:test";
import type { RegisterOperation } from "./clients.js";
import { findLostWrites } from "./lostWrites.js";

function write(value: string, invokeMs: number, completeMs: number | undefined, key = "b1"): RegisterOperation {
  if (completeMs === undefined) return { clientId: 0, input: { kind: "write", key, value }, invokeMs, outcome: "unknown" };
  return { clientId: 0, input: { kind: "write", key, value }, invokeMs, outcome: "ok", output: {}, completeMs };
}

test("no write is lost when the final value is the last acknowledged one, or one concurrent with it", () => {
  const history = [write("1", 0, 1), write("2", 2, 3), write("3", 4, 6), write("4", 5, 7)];
  assert.deepEqual(findLostWrites(history, new Map([["b1", "4"]])), []);
  assert.deepEqual(findLostWrites(history, new Map([["b1", "3"]])), []);
});

test("an acknowledged write begun after the final value's write completed is lost", () => {
  const history = [write("1", 0, 1), write("2", 2, 3), write("3", 4, 6)];
  const lost = findLostWrites(history, new Map([["b1", "2"]]));
  assert.deepEqual(lost.map((l) => l.operation.input), [{ kind: "write", key: "b1", value: "3" }]);
});

test("a final value of unknown outcome proves nothing; a vanished key or a value nobody wrote loses every acknowledged write", () => {
  const history = [write("1", 0, 1), write("2", 2, undefined), write("3", 4, 6)];
  assert.deepEqual(findLostWrites(history, new Map([["b1", "2"]])), []);
  assert.equal(findLostWrites(history, new Map([["b1", null]])).length, 2);
  assert.equal(findLostWrites(history, new Map([["b1", "99"]])).length, 2);
});

test("keys are judged apart", () => {
  const history = [write("1", 0, 1, "b1"), write("5", 2, 3, "b2"), write("2", 4, 5, "b1")];
  assert.deepEqual(findLostWrites(history, new Map([["b1", "2"], ["b2", "5"]])), []);
});
