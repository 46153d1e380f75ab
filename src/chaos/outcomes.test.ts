import assert from "node:assert/strict";
import { test } from "node:test";
import type { HttpResult } from "../e2e/http.js";
import { classifyRead, classifyWrite, combineAttempts } from "./outcomes.js";

function answer(status: number, body: unknown): HttpResult {
  return { kind: "response", status, body, headers: new Headers(), elapsedMs: 1 };
}

function failure(kind: "refused" | "timeout" | "broken"): HttpResult {
  return { kind: "failure", failure: kind, message: kind, elapsedMs: 1 };
}

test("classifyWrite: a 2xx is ok, a refused connection fails, a timeout or a broken connection is unknown", () => {
  assert.equal(classifyWrite(answer(200, { broker: {} })), "ok");
  assert.equal(classifyWrite(answer(201, { broker: {} })), "ok");
  assert.equal(classifyWrite(failure("refused")), "fail");
  assert.equal(classifyWrite(failure("timeout")), "unknown");
  assert.equal(classifyWrite(failure("broken")), "unknown");
});

test("classifyWrite believes the body's outcome", () => {
  assert.equal(classifyWrite(answer(503, { code: "LEADERSHIP_LOST", outcome: "unknown" })), "unknown");
  assert.equal(classifyWrite(answer(503, { code: "LEADERSHIP_LOST", outcome: "not_applied" })), "fail");
  assert.equal(classifyWrite(answer(503, { code: "NO_LEADER", outcome: "not_applied" })), "fail");
  assert.equal(classifyWrite(answer(503, { code: "FORWARD_FAILED", outcome: "unknown" })), "unknown");
  assert.equal(classifyWrite(answer(503, { code: "STOPPING", outcome: "unknown" })), "unknown");
});

test("classifyWrite without an outcome: refusals before proposal and other 4xx fail, other 5xx are unknown", () => {
  assert.equal(classifyWrite(answer(421, { code: "NOT_LEADER", leaderId: 2 })), "fail");
  assert.equal(classifyWrite(answer(429, { code: "OVERLOADED" })), "fail");
  assert.equal(classifyWrite(answer(400, { code: "INVALID_COMMAND" })), "fail");
  assert.equal(classifyWrite(answer(404, { code: "UNKNOWN_BROKER" })), "fail");
  assert.equal(classifyWrite(answer(503, { code: "FORWARD_FAILED" })), "unknown");
  assert.equal(classifyWrite(answer(500, { code: "INTERNAL" })), "unknown");
  assert.equal(classifyWrite(answer(502, "Bad Gateway")), "unknown");
});

test("combineAttempts: ok if any attempt was, else unknown if any may have been applied, else fail", () => {
  assert.equal(combineAttempts(["unknown", "fail", "ok"]), "ok");
  assert.equal(combineAttempts(["fail", "unknown", "fail"]), "unknown");
  assert.equal(combineAttempts(["fail", "fail"]), "fail");
});

test("classifyRead: the broker's port, null for an unknown broker, fail otherwise", () => {
  assert.deepEqual(classifyRead(answer(200, { broker: { brokerId: 1, brokerPort: 4242 } })), { outcome: "ok", value: "4242" });
  assert.deepEqual(classifyRead(answer(404, { code: "UNKNOWN_BROKER" })), { outcome: "ok", value: null });
  assert.equal(classifyRead(answer(503, { code: "READ_TIMEOUT" })).outcome, "fail");
  assert.equal(classifyRead(answer(404, { code: "ROUTE_NOT_FOUND" })).outcome, "fail");
  assert.equal(classifyRead(answer(200, { broker: { brokerPort: "x" } })).outcome, "fail");
  assert.equal(classifyRead(failure("timeout")).outcome, "fail");
});
