import assert from "node:assert/strict";
import { test } from "node:test";
import { fromRaftError } from "./errors.js";

test("fromRaftError() gives the membership refusals their codes: LEADER_NOT_READY and MEMBERSHIP_CHANGE_PENDING retriable, INVALID_MEMBERSHIP_CHANGE not", () => {
  const notReady = fromRaftError({ code: "LeaderNotReady" });
  assert.deepEqual([notReady.code, notReady.retriable, notReady.details.outcome], ["LEADER_NOT_READY", true, "not_applied"]);
  const pending = fromRaftError({ code: "MembershipChangePending", pendingIndex: 17 });
  assert.deepEqual([pending.code, pending.retriable, pending.message], ["MEMBERSHIP_CHANGE_PENDING", true, "Cannot change the membership as the change at index 17 has not committed yet"]);
  const invalid = fromRaftError({ code: "InvalidMembershipChange", reason: "node 1 is the last voter" });
  assert.deepEqual([invalid.code, invalid.retriable, invalid.message], ["INVALID_MEMBERSHIP_CHANGE", false, "Cannot change the membership as node 1 is the last voter"]);
});

test("fromRaftError() still treats a transfer or compaction refusal as a bug of the caller", () => {
  assert.throws(() => fromRaftError({ code: "InvalidTransferTarget", target: 9 }), /InvalidTransferTarget/);
  assert.throws(() => fromRaftError({ code: "InvalidCompaction", reason: "x" }), /InvalidCompaction/);
});
