import assert from "node:assert/strict";
import { test } from "node:test";
import type { Entry } from "../raft/types.js";
import type { LogView } from "./checker.js";
import { Checker } from "./checker.js";

function entry(index: number, term: number, data: number[] = []): Entry {
  return { index, term, type: "normal", data: Uint8Array.from(data) };
}

function logOf(entries: readonly Entry[], snapshotIndex = 0, snapshotTerm = 0): LogView {
  return {
    snapshotIndex,
    snapshotTerm,
    termAt: (index) => (index === snapshotIndex ? snapshotTerm : entries.find((e) => e.index === index)?.term),
    entryAt: (index) => entries.find((e) => e.index === index),
  };
}

test("checker catches a second leader in the same term", () => {
  const checker = new Checker();
  checker.leaderElected(1, 3, logOf([]));
  checker.leaderElected(1, 3, logOf([])); // The same leader seen again is fine.
  assert.equal(checker.failed, false);
  checker.leaderElected(2, 3, logOf([]));
  assert.match(checker.violations[0] ?? "", /election safety: n2 became leader of term 3, which n1 already led/);
});

test("checker catches a committed entry that changed", () => {
  const checker = new Checker();
  checker.entryCommitted(1, 2, entry(1, 2, [7]));
  checker.entryCommitted(2, 2, entry(1, 2, [7]));
  assert.equal(checker.failed, false);
  checker.entryCommitted(3, 3, entry(1, 2, [8]));
  assert.match(checker.violations[0] ?? "", /committed entry changed/);
});

test("checker catches a committed entry replaced by one of another term", () => {
  const checker = new Checker();
  const log = [entry(1, 1), entry(2, 1)];
  checker.commitAdvanced(1, 1, 0, 2, logOf(log));
  checker.commitAdvanced(2, 2, 0, 2, logOf([entry(1, 1), entry(2, 2)]));
  assert.match(checker.violations[0] ?? "", /committed entry changed: n2 has entry 2 of term 2/);
});

test("checker catches a stale read", () => {
  const checker = new Checker();
  checker.readServed(1, 4, 3, 3);
  assert.equal(checker.failed, false);
  checker.readServed(2, 4, 2, 3);
  assert.match(checker.violations[0] ?? "", /stale read: n2 served key 4 at version 2, but version 3 was acknowledged/);
});

test("checker catches two logs holding different entries at the same index and term", () => {
  const checker = new Checker();
  checker.entriesAppended(1, [entry(1, 1, [1]), entry(2, 1, [2])], 0);
  checker.entriesAppended(2, [entry(1, 1, [1])], 0);
  assert.equal(checker.failed, false);
  checker.entriesAppended(3, [entry(2, 1, [9])], 1);
  assert.match(checker.violations[0] ?? "", /log matching: n3 holds a different entry at index 2 term 1/);
});

test("checker catches an entry whose predecessor differs between logs", () => {
  const checker = new Checker();
  checker.entriesAppended(1, [entry(3, 2)], 1);
  checker.entriesAppended(2, [entry(3, 2)], 2);
  assert.match(checker.violations[0] ?? "", /log matching: n2 holds entry 3 term 2 after term 2/);
});

test("checker catches a leader elected without a committed entry", () => {
  const checker = new Checker();
  checker.commitAdvanced(1, 2, 0, 2, logOf([entry(1, 1), entry(2, 2)]));
  // A leader of an older term need not hold it (it was committed in term 2 or later) ...
  checker.leaderElected(3, 2, logOf([entry(1, 1)]));
  assert.equal(checker.failed, false);
  // ... but every leader of a later term must.
  checker.leaderElected(2, 3, logOf([entry(1, 1), entry(2, 2)]));
  assert.equal(checker.failed, false);
  checker.leaderElected(3, 4, logOf([entry(1, 1)]));
  assert.match(checker.violations[0] ?? "", /leader completeness: n3 became leader of term 4 without committed entry 2/);
});

test("checker catches an applied sequence with a gap and states that diverge", () => {
  const gap = new Checker();
  gap.applied(1, 1, 0, entry(1, 1), 11);
  gap.applied(1, 1, 1, entry(3, 1), 13);
  assert.match(gap.violations[0] ?? "", /applied order: n1 applied entry 3 right after 1/);

  const divergent = new Checker();
  divergent.applied(1, 1, 0, entry(1, 1), 11);
  divergent.applied(2, 1, 0, entry(1, 1), 11);
  assert.equal(divergent.failed, false);
  divergent.snapshotRestored(3, 1, 1, 99);
  assert.match(divergent.violations[0] ?? "", /state machine divergence: n3 has state 99 after restoring a snapshot at 1/);
});

test("checker catches a commit index or a durable commit moving back", () => {
  const inMemory = new Checker();
  inMemory.commitAdvanced(1, 1, 5, 4, logOf([]));
  assert.match(inMemory.violations[0] ?? "", /commit monotonicity: n1 moved its commit index back from 5 to 4/);

  const durable = new Checker();
  durable.persistedCommit(1, 4, 4);
  assert.equal(durable.failed, false);
  durable.persistedCommit(1, 4, 3);
  assert.match(durable.violations[0] ?? "", /durable commit went back/);
});
