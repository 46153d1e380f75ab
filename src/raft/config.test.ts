import assert from "node:assert/strict";
import { test } from "node:test";
import { limits } from "../shared/limits.js";
import { createPrng } from "../shared/prng.js";
import type { RaftConfig } from "./config.js";
import { resolveConfig } from "./config.js";

const valid: RaftConfig = { id: 1, electionTimeoutTicks: 10, heartbeatIntervalTicks: 1, prng: createPrng(1) };

test("resolveConfig() fills in pre-vote, check-quorum and the limits", () => {
  const resolved = resolveConfig(valid);
  assert.equal(resolved.preVote, true);
  assert.equal(resolved.checkQuorum, true);
  assert.equal(resolved.appendEntriesCountMax, limits.raft.appendEntriesCountMax);
  assert.equal(resolved.appendEntriesBytesMax, limits.raft.appendEntriesBytesMax);
  assert.equal(resolved.inflightMessagesMax, limits.raft.inflightMessagesMax);
  assert.equal(resolved.inflightBytesMax, limits.raft.inflightBytesMax);
  assert.equal(resolved.uncommittedBytesMax, limits.raft.uncommittedBytesMax);
  assert.equal(resolved.snapshotChunkBytesMax, limits.raft.snapshotChunkBytesMax);
  assert.equal(resolved.readyCommittedBytesMax, limits.raft.readyCommittedBytesMax);
  assert.equal(resolved.pendingReadsCountMax, limits.raft.pendingReadsCountMax);
  assert.equal(resolved.bootstrapMembership, undefined);
});

test("resolveConfig() keeps what the caller set", () => {
  const membership = { voters: [1, 2], learners: [3] };
  const resolved = resolveConfig({ ...valid, preVote: false, checkQuorum: false, inflightMessagesMax: 3, bootstrapMembership: membership });
  assert.equal(resolved.preVote, false);
  assert.equal(resolved.checkQuorum, false);
  assert.equal(resolved.inflightMessagesMax, 3);
  assert.deepEqual(resolved.bootstrapMembership, membership);
});

test("resolveConfig() refuses every count, size and time that is not a positive integer", () => {
  const keys = [
    "id",
    "electionTimeoutTicks",
    "heartbeatIntervalTicks",
    "appendEntriesCountMax",
    "appendEntriesBytesMax",
    "inflightMessagesMax",
    "inflightBytesMax",
    "uncommittedBytesMax",
    "snapshotChunkBytesMax",
    "readyCommittedBytesMax",
    "pendingReadsCountMax",
  ] as const;
  for (const key of keys) {
    for (const value of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      // Keep heartbeat < election so that only `key` is wrong.
      const config: RaftConfig = { ...valid, electionTimeoutTicks: 100, [key]: value };
      assert.throws(
        () => resolveConfig(config),
        { name: "RangeError", message: `Cannot configure raft as ${key} must be a positive integer: current value is ${String(value)}` },
        `${key} = ${value}`,
      );
    }
  }
});

test("resolveConfig() refuses a heartbeat interval that is not below the election timeout", () => {
  for (const heartbeatIntervalTicks of [10, 11]) {
    assert.throws(() => resolveConfig({ ...valid, heartbeatIntervalTicks }), {
      name: "RangeError",
      message: `Cannot configure raft as heartbeatIntervalTicks must be below electionTimeoutTicks: current values are ${heartbeatIntervalTicks} and 10`,
    });
  }
  assert.equal(resolveConfig({ ...valid, heartbeatIntervalTicks: 9 }).heartbeatIntervalTicks, 9);
});
