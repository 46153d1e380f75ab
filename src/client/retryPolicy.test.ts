import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelayMs, judgeAnswer, judgeFailure, parseRetryAfterMs } from "./retryPolicy.js";

const bounds = { backoffMsMin: 100, backoffMsMax: 3_000 };

test("judgeAnswer() takes a 2xx as done and a 421 naming the leader as a redirect to it", () => {
  assert.deepEqual(judgeAnswer(201, { topic: {} }, undefined), { kind: "done" });
  assert.deepEqual(judgeAnswer(421, { code: "NOT_LEADER", leaderId: 2, leaderUrl: "http://h:2" }, undefined), { kind: "redirect", leaderUrl: "http://h:2" });
});

test("judgeAnswer() retries a 421 without a leader on another node", () => {
  assert.deepEqual(judgeAnswer(421, { code: "NOT_LEADER", leaderId: 7 }, undefined), { kind: "retry", outcome: "not_applied", otherNode: true, retryAfterMs: undefined });
});

test("judgeAnswer() retries the Retry-After codes on the same node, keeping the server's wait", () => {
  for (const code of ["NO_LEADER", "TRANSFER_IN_PROGRESS", "READ_TIMEOUT"]) {
    assert.deepEqual(judgeAnswer(503, { code }, 1_000), { kind: "retry", outcome: "not_applied", otherNode: false, retryAfterMs: 1_000 }, code);
  }
  assert.deepEqual(judgeAnswer(429, { code: "OVERLOADED" }, 1_000), { kind: "retry", outcome: "not_applied", otherNode: false, retryAfterMs: 1_000 });
});

test("judgeAnswer() marks LEADERSHIP_LOST and FORWARD_FAILED as unknown outcomes unless the body says not_applied", () => {
  assert.deepEqual(judgeAnswer(503, { code: "LEADERSHIP_LOST", outcome: "unknown" }, 1_000), { kind: "retry", outcome: "unknown", otherNode: false, retryAfterMs: 1_000 });
  assert.deepEqual(judgeAnswer(503, { code: "FORWARD_FAILED" }, undefined), { kind: "retry", outcome: "unknown", otherNode: false, retryAfterMs: undefined });
  assert.deepEqual(judgeAnswer(503, { code: "LEADERSHIP_LOST", outcome: "not_applied" }, undefined), { kind: "retry", outcome: "not_applied", otherNode: false, retryAfterMs: undefined });
});

test("judgeAnswer() moves on from a node that is stopping or whose disk failed, or that answers 503 without a code", () => {
  assert.deepEqual(judgeAnswer(503, { code: "STOPPING" }, 1_000), { kind: "retry", outcome: "unknown", otherNode: true, retryAfterMs: 1_000 });
  assert.deepEqual(judgeAnswer(503, { code: "STORAGE_FAILED" }, undefined), { kind: "retry", outcome: "unknown", otherNode: true, retryAfterMs: undefined });
  assert.deepEqual(judgeAnswer(503, "Service Unavailable", undefined), { kind: "retry", outcome: "unknown", otherNode: true, retryAfterMs: undefined });
  assert.deepEqual(judgeAnswer(502, "Bad Gateway", undefined), { kind: "retry", outcome: "unknown", otherNode: false, retryAfterMs: undefined });
});

test("judgeAnswer() fails at once on validation, conflicts, unknown ids and server bugs", () => {
  assert.deepEqual(judgeAnswer(400, { code: "BAD_REQUEST", field: "body.name" }, undefined), { kind: "fail" });
  assert.deepEqual(judgeAnswer(409, { code: "TOPIC_EXISTS" }, undefined), { kind: "fail" });
  assert.deepEqual(judgeAnswer(404, { code: "UNKNOWN_TOPIC" }, undefined), { kind: "fail" });
  assert.deepEqual(judgeAnswer(500, { code: "INTERNAL" }, undefined), { kind: "fail" });
  assert.deepEqual(judgeAnswer(404, "Not Found", undefined), { kind: "fail" });
});

test("judgeFailure() moves on after any failed connection; only a refused one is known not applied", () => {
  assert.deepEqual(judgeFailure("refused"), { kind: "retry", outcome: "not_applied", otherNode: true, retryAfterMs: undefined });
  assert.deepEqual(judgeFailure("timeout"), { kind: "retry", outcome: "unknown", otherNode: true, retryAfterMs: undefined });
  assert.deepEqual(judgeFailure("broken"), { kind: "retry", outcome: "unknown", otherNode: true, retryAfterMs: undefined });
});

test("backoffDelayMs() doubles its ceiling per retry and draws the upper half of it", () => {
  assert.deepEqual([1, 2, 3, 4].map((n) => backoffDelayMs(n, bounds, () => 0)), [50, 100, 200, 400]);
  assert.deepEqual([1, 2, 3, 4].map((n) => backoffDelayMs(n, bounds, () => 0.999_999)), [100, 200, 400, 800]);
});

test("backoffDelayMs() never exceeds backoffMsMax, even after many retries", () => {
  assert.equal(backoffDelayMs(10, bounds, () => 0.999_999), 3_000);
  assert.equal(backoffDelayMs(1_000, bounds, () => 0.999_999), 3_000);
  assert.equal(backoffDelayMs(1_000, bounds, () => 0), 1_500);
});

test("backoffDelayMs() waits at least Retry-After, bounded by backoffMsMax", () => {
  assert.equal(backoffDelayMs(1, bounds, () => 0.5, 1_000), 1_000);
  assert.equal(backoffDelayMs(6, bounds, () => 0.999_999, 1_000), 3_000);
  assert.equal(backoffDelayMs(1, { backoffMsMin: 10, backoffMsMax: 500 }, () => 0.5, 60_000), 500);
});

test("parseRetryAfterMs() reads delta-seconds and ignores dates and junk", () => {
  assert.equal(parseRetryAfterMs("1"), 1_000);
  assert.equal(parseRetryAfterMs(" 30 "), 30_000);
  assert.equal(parseRetryAfterMs(null), undefined);
  assert.equal(parseRetryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT"), undefined);
  assert.equal(parseRetryAfterMs("-1"), undefined);
});
