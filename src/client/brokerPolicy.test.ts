import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { judgeBrokerAnswer, judgeBrokerFailure } from "./brokerPolicy.js";

describe("judgeBrokerAnswer", () => {
  test("a 2xx is done, a duplicate too", () => {
    assert.deepEqual(judgeBrokerAnswer(200, { baseOffset: 3, lastOffset: 4, duplicate: true }, undefined), { kind: "done" });
  });

  test("NOT_LEADER_FOR_PARTITION retries after a refresh, at the leader the broker names", () => {
    assert.deepEqual(judgeBrokerAnswer(421, { code: "NOT_LEADER_FOR_PARTITION", leaderId: 2, leaderUrl: "http://127.0.0.1:9202/" }, undefined), {
      kind: "retry",
      refresh: true,
      outcome: "not_applied",
      leaderUrl: "http://127.0.0.1:9202",
      retryAfterMs: undefined,
    });
    const unnamed = judgeBrokerAnswer(421, { code: "NOT_LEADER_FOR_PARTITION" }, undefined);
    assert(unnamed.kind === "retry" && unnamed.leaderUrl === undefined && unnamed.refresh);
  });

  test("an outcome the broker states wins over the code's rule: NOT_LEADER_FOR_PARTITION after the append is unknown", () => {
    const afterAppend = judgeBrokerAnswer(421, { code: "NOT_LEADER_FOR_PARTITION", leaderId: 2, outcome: "unknown" }, undefined);
    assert(afterAppend.kind === "retry" && afterAppend.outcome === "unknown" && afterAppend.refresh);
    const stated = judgeBrokerAnswer(504, { code: "REQUEST_TIMED_OUT", outcome: "not_applied" }, undefined);
    assert(stated.kind === "retry" && stated.outcome === "not_applied");
  });

  test("REQUEST_TIMED_OUT and STORAGE_FAILED may have been appended; NOT_ENOUGH_REPLICAS was not", () => {
    const timedOut = judgeBrokerAnswer(504, { code: "REQUEST_TIMED_OUT" }, 1000);
    assert(timedOut.kind === "retry" && timedOut.outcome === "unknown" && !timedOut.refresh && timedOut.retryAfterMs === 1000);
    const storage = judgeBrokerAnswer(503, { code: "STORAGE_FAILED" }, undefined);
    assert(storage.kind === "retry" && storage.outcome === "unknown" && storage.refresh);
    const replicas = judgeBrokerAnswer(503, { code: "NOT_ENOUGH_REPLICAS" }, undefined);
    assert(replicas.kind === "retry" && replicas.outcome === "not_applied" && !replicas.refresh);
  });

  test("group answers: NOT_COORDINATOR points elsewhere, ILLEGAL_GENERATION and UNKNOWN_MEMBER re-join", () => {
    assert.deepEqual(judgeBrokerAnswer(421, { code: "NOT_COORDINATOR", coordinatorId: 3, coordinatorUrl: "http://127.0.0.1:9203" }, undefined), { kind: "coordinator", coordinatorUrl: "http://127.0.0.1:9203", retryAfterMs: undefined });
    assert.deepEqual(judgeBrokerAnswer(409, { code: "ILLEGAL_GENERATION" }, undefined), { kind: "rejoin", code: "ILLEGAL_GENERATION" });
    assert.deepEqual(judgeBrokerAnswer(409, { code: "UNKNOWN_MEMBER" }, undefined), { kind: "rejoin", code: "UNKNOWN_MEMBER" });
  });

  test("final errors fail at once", () => {
    for (const [status, code] of [[409, "OUT_OF_ORDER_SEQUENCE"], [400, "BAD_REQUEST"], [413, "BODY_TOO_LARGE"], [416, "OFFSET_OUT_OF_RANGE"], [500, "INTERNAL"]] as const) {
      assert.deepEqual(judgeBrokerAnswer(status, { code }, undefined), { kind: "fail" }, code);
    }
    assert.deepEqual(judgeBrokerAnswer(500, "oops", undefined), { kind: "fail" });
  });

  test("statuses without a coded body: 503 refreshes, 502/504/429 only wait, others fail", () => {
    const unavailable = judgeBrokerAnswer(503, "", undefined);
    assert(unavailable.kind === "retry" && unavailable.refresh && unavailable.outcome === "unknown");
    const gateway = judgeBrokerAnswer(502, undefined, undefined);
    assert(gateway.kind === "retry" && !gateway.refresh);
    assert.equal(judgeBrokerAnswer(404, "not found", undefined).kind, "fail");
  });
});

describe("judgeBrokerFailure", () => {
  test("a refused connection was not applied; a broken one may have been; both refresh", () => {
    const refused = judgeBrokerFailure("refused");
    assert(refused.kind === "retry" && refused.outcome === "not_applied" && refused.refresh);
    const broken = judgeBrokerFailure("broken");
    assert(broken.kind === "retry" && broken.outcome === "unknown" && broken.refresh);
  });
});
