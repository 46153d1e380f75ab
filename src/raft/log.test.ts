import assert from "node:assert/strict";
import { test } from "node:test";
import { AssertionError } from "../shared/assert.js";
import { RaftLog } from "./log.js";
import { bytes, entriesOfTerms, entry, indexTerms } from "./testing.js";
import type { Entry, Snapshot } from "./types.js";

const membership = { voters: [1, 2, 3], learners: [] };

function snapshotAt(index: number, term: number, data: Uint8Array = new Uint8Array(0)): Snapshot {
  return { meta: { index, term, membership }, data };
}

/** A log holding `terms` from index 1, all durable, with commit index `commitIndex`. */
function logOfTerms(terms: readonly number[], commitIndex = 0): RaftLog {
  return new RaftLog(snapshotAt(0, 0), entriesOfTerms(terms), commitIndex);
}

test("term() answers for the snapshot and the entries after it, and nothing else", () => {
  const log = new RaftLog(snapshotAt(3, 2), [entry(4, 2), entry(5, 3)], 3);
  assert.equal(log.firstIndex(), 4);
  assert.equal(log.lastIndex(), 5);
  assert.equal(log.lastTerm(), 3);
  assert.deepEqual(
    [2, 3, 4, 5, 6].map((i) => log.term(i)),
    [undefined, 2, 2, 3, undefined],
  );
  assert.equal(log.entry(3), undefined);
  assert.deepEqual(log.entry(4), entry(4, 2));
});

test("the constructor marks stored entries durable and never starts below the snapshot's commit", () => {
  const log = new RaftLog(snapshotAt(3, 2), [entry(4, 2)], 0);
  assert.equal(log.stableIndex, 4);
  assert.equal(log.commitIndex, 3);
  assert.equal(log.appliedIndex, 3);
  assert.deepEqual(log.unstableEntries(), []);
});

test("the constructor rejects stored entries with a gap after the snapshot", () => {
  assert.throws(() => new RaftLog(snapshotAt(3, 2), [entry(5, 2)], 3), AssertionError);
  assert.throws(() => logOfTerms([1, 1], 3), AssertionError);
});

test("slice() honours the byte and count limits but always returns at least one entry", () => {
  const log = new RaftLog(
    snapshotAt(0, 0),
    [entry(1, 1, new Uint8Array(4)), entry(2, 1, new Uint8Array(4)), entry(3, 1, new Uint8Array(4)), entry(4, 1, new Uint8Array(4))],
    0,
  );
  const cases: { lo: number; hi: number; bytesMax: number; countMax: number; want: number[] | undefined }[] = [
    { lo: 1, hi: 4, bytesMax: 100, countMax: 100, want: [1, 2, 3, 4] },
    { lo: 1, hi: 4, bytesMax: 8, countMax: 100, want: [1, 2] },
    { lo: 1, hi: 4, bytesMax: 9, countMax: 100, want: [1, 2] },
    { lo: 2, hi: 4, bytesMax: 1, countMax: 100, want: [2] },
    { lo: 1, hi: 4, bytesMax: 100, countMax: 3, want: [1, 2, 3] },
    { lo: 3, hi: 10, bytesMax: 100, countMax: 100, want: [3, 4] },
    { lo: 5, hi: 10, bytesMax: 100, countMax: 100, want: [] },
    { lo: 0, hi: 2, bytesMax: 100, countMax: 100, want: undefined },
  ];
  for (const c of cases) {
    const got = log.slice(c.lo, c.hi, c.bytesMax, c.countMax)?.map((e) => e.index);
    assert.deepEqual(got, c.want, `slice(${c.lo}, ${c.hi}, ${c.bytesMax}, ${c.countMax})`);
  }
});

test("slice() is undefined for a range that starts in the compacted prefix", () => {
  const log = new RaftLog(snapshotAt(3, 1), entriesOfTerms([1, 1], 4), 3);
  assert.equal(log.slice(3, 5, 100, 100), undefined);
  assert.deepEqual(log.slice(4, 5, 100, 100)?.map((e) => e.index), [4, 5]);
});

test("append() truncates every entry at or after the first new one and lowers the stable mark", () => {
  const log = logOfTerms([1, 1, 1]);
  log.append([entry(2, 2)]);
  assert.deepEqual(
    [1, 2, 3].map((i) => log.term(i)),
    [1, 2, undefined],
  );
  assert.equal(log.lastIndex(), 2);
  assert.equal(log.stableIndex, 1);
  assert.deepEqual(indexTerms(log.unstableEntries()), [[2, 2]]);
});

test("append() of nothing changes nothing", () => {
  const log = logOfTerms([1, 1]);
  log.append([]);
  assert.equal(log.lastIndex(), 2);
  assert.equal(log.stableIndex, 2);
});

test("append() refuses to overwrite a committed entry or to leave a gap", () => {
  const log = logOfTerms([1, 1, 1], 2);
  assert.throws(() => log.append([entry(2, 2)]), AssertionError);
  assert.throws(() => log.append([entry(5, 1)]), AssertionError);
  assert.equal(log.lastIndex(), 3);
  assert.equal(log.term(2), 1);
});

test("findConflict() names the first entry that is missing or of another term (etcd table)", () => {
  const log = logOfTerms([1, 2, 3]);
  const cases: { entries: Entry[]; want: number }[] = [
    { entries: [], want: 0 },
    // No conflict: all present.
    { entries: entriesOfTerms([1, 2, 3]), want: 0 },
    { entries: entriesOfTerms([2, 3], 2), want: 0 },
    { entries: entriesOfTerms([3], 3), want: 0 },
    // No conflict, but new entries.
    { entries: entriesOfTerms([1, 2, 3, 4, 4]), want: 4 },
    { entries: entriesOfTerms([2, 3, 4, 4], 2), want: 4 },
    { entries: entriesOfTerms([4, 4], 4), want: 4 },
    // Conflicts with existing entries.
    { entries: entriesOfTerms([4, 4]), want: 1 },
    { entries: entriesOfTerms([1, 4, 4], 2), want: 2 },
    { entries: entriesOfTerms([1, 2, 4, 4], 3), want: 3 },
  ];
  for (const c of cases) {
    assert.equal(log.findConflict(c.entries), c.want, `entries ${JSON.stringify(indexTerms(c.entries))}`);
  }
});

test("findConflictByTerm() returns the last index at or below `index` whose term is at most `term` (etcd table)", () => {
  const cases: { terms: number[]; snapshotIndex: number; index: number; term: number; want: { index: number; term: number } }[] = [
    // Log terms 2 2 5 5 5 at indexes 1..5 (after an empty snapshot).
    { terms: [2, 2, 5, 5, 5], snapshotIndex: 0, index: 6, term: 2, want: { index: 2, term: 2 } },
    { terms: [2, 2, 5, 5, 5], snapshotIndex: 0, index: 5, term: 6, want: { index: 5, term: 5 } },
    { terms: [2, 2, 5, 5, 5], snapshotIndex: 0, index: 5, term: 5, want: { index: 5, term: 5 } },
    { terms: [2, 2, 5, 5, 5], snapshotIndex: 0, index: 5, term: 4, want: { index: 2, term: 2 } },
    { terms: [2, 2, 5, 5, 5], snapshotIndex: 0, index: 5, term: 2, want: { index: 2, term: 2 } },
    { terms: [2, 2, 5, 5, 5], snapshotIndex: 0, index: 5, term: 1, want: { index: 0, term: 0 } },
    { terms: [2, 2, 5, 5, 5], snapshotIndex: 0, index: 1, term: 2, want: { index: 1, term: 2 } },
    { terms: [2, 2, 5, 5, 5], snapshotIndex: 0, index: 1, term: 1, want: { index: 0, term: 0 } },
    { terms: [2, 2, 5, 5, 5], snapshotIndex: 0, index: 0, term: 0, want: { index: 0, term: 0 } },
    // Snapshot at index 10 with term 3, then terms 3 4 4 5 5 at 11..15.
    { terms: [3, 4, 4, 5, 5], snapshotIndex: 10, index: 15, term: 4, want: { index: 13, term: 4 } },
    { terms: [3, 4, 4, 5, 5], snapshotIndex: 10, index: 15, term: 3, want: { index: 11, term: 3 } },
    { terms: [3, 4, 4, 5, 5], snapshotIndex: 10, index: 11, term: 3, want: { index: 11, term: 3 } },
    { terms: [3, 4, 4, 5, 5], snapshotIndex: 10, index: 12, term: 3, want: { index: 11, term: 3 } },
    { terms: [3, 4, 4, 5, 5], snapshotIndex: 10, index: 12, term: 2, want: { index: 10, term: 0 } },
  ];
  for (const c of cases) {
    const snapshotTerm = c.snapshotIndex === 0 ? 0 : 3;
    const log = new RaftLog(snapshotAt(c.snapshotIndex, snapshotTerm), entriesOfTerms(c.terms, c.snapshotIndex + 1), c.snapshotIndex);
    assert.deepEqual(log.findConflictByTerm(c.index, c.term), c.want, `terms ${c.terms.join(",")} index ${c.index} term ${c.term}`);
  }
});

test("stableTo() ignores an entry that has since been replaced by one of another term", () => {
  const log = logOfTerms([]);
  log.append(entriesOfTerms([1, 1]));
  // The shell persists entries 1..2 of term 1; meanwhile a new leader replaces entry 2.
  log.append([entry(2, 2)]);
  log.stableTo(2, 1);
  assert.equal(log.stableIndex, 0);
  log.stableTo(1, 1);
  assert.equal(log.stableIndex, 1);
  assert.deepEqual(indexTerms(log.unstableEntries()), [[2, 2]]);
  log.stableTo(2, 2);
  assert.equal(log.stableIndex, 2);
  assert.deepEqual(log.unstableEntries(), []);
});

test("stableTo() never moves the stable mark backwards", () => {
  const log = logOfTerms([1, 1, 1]);
  log.stableTo(1, 1);
  assert.equal(log.stableIndex, 3);
});

test("isUpToDate() compares last terms first, then last indexes (Raft §5.4.1)", () => {
  const log = logOfTerms([1, 2, 2]);
  const cases: { lastIndex: number; lastTerm: number; want: boolean }[] = [
    { lastIndex: 1, lastTerm: 3, want: true },
    { lastIndex: 3, lastTerm: 2, want: true },
    { lastIndex: 4, lastTerm: 2, want: true },
    { lastIndex: 2, lastTerm: 2, want: false },
    { lastIndex: 9, lastTerm: 1, want: false },
    { lastIndex: 0, lastTerm: 0, want: false },
  ];
  for (const c of cases) assert.equal(log.isUpToDate(c.lastIndex, c.lastTerm), c.want, `(${c.lastIndex}, ${c.lastTerm})`);
});

test("commitTo() only moves forward and refuses to pass the last index", () => {
  const log = logOfTerms([1, 1, 1], 1);
  assert.equal(log.commitTo(1), false);
  assert.equal(log.commitTo(0), false);
  assert.equal(log.commitTo(3), true);
  assert.equal(log.commitIndex, 3);
  assert.throws(() => log.commitTo(4), AssertionError);
});

test("nextCommittedEntries() hands out committed entries after the applied mark within the byte limit", () => {
  const log = new RaftLog(snapshotAt(0, 0), [entry(1, 1, bytes(1, 2)), entry(2, 1, bytes(3, 4)), entry(3, 1, bytes(5))], 0);
  assert.deepEqual(log.nextCommittedEntries(100), []);
  log.commitTo(3);
  assert.deepEqual(log.nextCommittedEntries(3).map((e) => e.index), [1]);
  assert.deepEqual(log.nextCommittedEntries(1).map((e) => e.index), [1]);
  assert.deepEqual(log.nextCommittedEntries(100).map((e) => e.index), [1, 2, 3]);
  log.appliedTo(2);
  assert.deepEqual(log.nextCommittedEntries(100).map((e) => e.index), [3]);
  assert.throws(() => log.appliedTo(4), AssertionError);
});

test("compact() drops entries up to the snapshot and keeps the rest", () => {
  const log = logOfTerms([1, 1, 2, 2, 3], 5);
  log.appliedTo(4);
  log.compact(snapshotAt(3, 2, bytes(9)));
  assert.equal(log.firstIndex(), 4);
  assert.equal(log.lastIndex(), 5);
  assert.equal(log.term(3), 2);
  assert.equal(log.term(2), undefined);
  assert.equal(log.entry(3), undefined);
  assert.deepEqual(indexTerms([log.entry(4), log.entry(5)].filter((e): e is Entry => e !== undefined)), [
    [4, 2],
    [5, 3],
  ]);
  assert.deepEqual(log.snapshot.data, bytes(9));
});

test("compact() refuses an index that is not applied, not durable, or not after the snapshot", () => {
  const log = logOfTerms([1, 1, 1], 3);
  log.appliedTo(2);
  assert.throws(() => log.compact(snapshotAt(3, 1)), AssertionError); // not applied
  log.append([entry(4, 1)]);
  log.commitTo(4);
  log.appliedTo(4);
  assert.throws(() => log.compact(snapshotAt(4, 1)), AssertionError); // not durable
  log.compact(snapshotAt(2, 1));
  assert.throws(() => log.compact(snapshotAt(2, 1)), AssertionError); // not after the snapshot
  assert.equal(log.firstIndex(), 3);
});

test("restore() replaces the whole log with the snapshot and keeps it as unstable until persisted", () => {
  const log = logOfTerms([1, 1, 2, 2], 1);
  const snapshot = snapshotAt(6, 3, bytes(1, 2, 3));
  log.restore(snapshot);
  assert.equal(log.firstIndex(), 7);
  assert.equal(log.lastIndex(), 6);
  assert.equal(log.lastTerm(), 3);
  assert.equal(log.term(2), undefined);
  assert.equal(log.commitIndex, 6);
  assert.equal(log.appliedIndex, 6);
  assert.equal(log.stableIndex, 6);
  assert.equal(log.unstableSnapshot, snapshot);
  assert.deepEqual(log.unstableEntries(), []);
});

test("restore() refuses a snapshot that is not ahead of the commit index", () => {
  const log = logOfTerms([1, 1, 2, 2], 3);
  assert.throws(() => log.restore(snapshotAt(3, 2)), AssertionError);
  assert.equal(log.lastIndex(), 4);
});
