import assert from "node:assert/strict";
import { test } from "node:test";
import { comparePoints } from "./compare.js";
import { payloadSizeBytes, readNameLength, readRecordName, uniqueRecordName } from "./systems.js";

test("uniqueRecordName() is 200 bytes and differs for every point, worker and sequence", () => {
  const names = new Set<string>();
  for (const point of [1, 12]) for (const worker of [0, 1, 127]) for (const sequence of [0, 1, 10, 99_999]) names.add(uniqueRecordName("w", point, worker, sequence));
  assert.equal(names.size, 2 * 3 * 4);
  for (const name of names) assert.equal(name.length, payloadSizeBytes);
  assert.match(uniqueRecordName("w", 1, 2, 3), /^w1-2-3-x+$/);
});

test("readRecordName() stays within Fastify's path parameter limit and is a legal topic name", () => {
  assert.equal(readRecordName(99).length, readNameLength);
  assert(readNameLength <= 100);
  assert.match(readRecordName(7), /^[a-zA-Z0-9._-]+$/);
});

test("comparePoints() runs writes on the leader at each concurrency, then through a follower", () => {
  const points = comparePoints({ scenario: "writes", concurrencies: [1, 8, 32, 128], followerConcurrency: 32 });
  assert.deepEqual(
    points.map((p) => [p.label, p.via, p.concurrency, p.consistency]),
    [
      ["leader", "leader", 1, undefined],
      ["leader", "leader", 8, undefined],
      ["leader", "leader", 32, undefined],
      ["leader", "leader", 128, undefined],
      ["follower", "follower", 32, undefined],
    ],
  );
});

test("comparePoints() runs linearizable then stale reads, each on the leader then a follower", () => {
  const points = comparePoints({ scenario: "reads", concurrencies: [32], followerConcurrency: 32 });
  assert.deepEqual(
    points.map((p) => p.label),
    ["linearizable, leader", "linearizable, follower", "stale, leader", "stale, follower"],
  );
  assert.equal(comparePoints({ scenario: "reads", concurrencies: [32], followerConcurrency: 0 }).length, 2);
});
