import assert from "node:assert/strict";
import { test } from "node:test";
import { AssertionError } from "../shared/assert.js";
import type { Progress } from "./progress.js";
import {
  becomeProbe,
  becomeReplicate,
  becomeSnapshot,
  freeInflightUpTo,
  isPaused,
  maybeDecrease,
  maybeUpdate,
  newProgress,
  sentEntries,
} from "./progress.js";

function progress(fields: Partial<Progress>): Progress {
  return { ...newProgress(1), ...fields };
}

test("newProgress() starts probing at the given next index with nothing matched", () => {
  const pr = newProgress(7);
  assert.equal(pr.state, "probe");
  assert.equal(pr.nextIndex, 7);
  assert.equal(pr.matchIndex, 0);
  assert.equal(pr.probeSent, false);
  assert.deepEqual(pr.inflight, []);
});

test("becomeReplicate() resumes right after the match and clears the probe and inflight state", () => {
  const pr = progress({ state: "probe", matchIndex: 4, nextIndex: 9, probeSent: true });
  becomeReplicate(pr);
  assert.equal(pr.state, "replicate");
  assert.equal(pr.nextIndex, 5);
  assert.equal(pr.probeSent, false);
});

test("becomeProbe() from replicate resumes right after the match and empties the window", () => {
  const pr = progress({ state: "replicate", matchIndex: 4, nextIndex: 9, inflight: [{ lastIndex: 8, bytes: 10 }], inflightBytes: 10 });
  becomeProbe(pr);
  assert.equal(pr.state, "probe");
  assert.equal(pr.nextIndex, 5);
  assert.deepEqual(pr.inflight, []);
  assert.equal(pr.inflightBytes, 0);
});

test("becomeProbe() from snapshot resumes after the snapshot when it is ahead of the match", () => {
  const behind = progress({ matchIndex: 2 });
  becomeSnapshot(behind, 10);
  assert.equal(behind.state, "snapshot");
  assert.equal(behind.snapshotIndex, 10);
  becomeProbe(behind);
  assert.equal(behind.nextIndex, 11);
  assert.equal(behind.snapshotIndex, 0);

  const ahead = progress({ matchIndex: 12 });
  becomeSnapshot(ahead, 10);
  becomeProbe(ahead);
  assert.equal(ahead.nextIndex, 13);
});

test("isPaused() holds in probe only while a probe is out", () => {
  const pr = progress({ state: "probe" });
  assert.equal(isPaused(pr, 2, 100), false);
  sentEntries(pr, 3, 10);
  assert.equal(pr.probeSent, true);
  assert.equal(pr.nextIndex, 1, "a probe does not move nextIndex");
  assert.equal(isPaused(pr, 2, 100), true);
});

test("isPaused() holds in replicate once the window is full by count or by bytes", () => {
  const pr = progress({ state: "replicate", matchIndex: 0, nextIndex: 1 });
  sentEntries(pr, 2, 40);
  assert.equal(isPaused(pr, 2, 100), false);
  sentEntries(pr, 4, 40);
  assert.equal(pr.nextIndex, 5);
  assert.deepEqual(pr.inflight, [
    { lastIndex: 2, bytes: 40 },
    { lastIndex: 4, bytes: 40 },
  ]);
  assert.equal(isPaused(pr, 2, 100), true, "two messages fill a window of two");
  assert.equal(isPaused(pr, 3, 100), false);
  assert.equal(isPaused(pr, 3, 80), true, "80 bytes fill a window of 80 bytes");
});

test("isPaused() always holds in snapshot", () => {
  const pr = progress({});
  becomeSnapshot(pr, 5);
  assert.equal(isPaused(pr, 100, 100), true);
});

test("sentEntries() in replicate refuses to move nextIndex backwards", () => {
  const pr = progress({ state: "replicate", nextIndex: 5 });
  assert.throws(() => sentEntries(pr, 3, 1), AssertionError);
});

test("freeInflightUpTo() frees every message acknowledged up to the index, oldest first", () => {
  const pr = progress({ state: "replicate", nextIndex: 1 });
  sentEntries(pr, 2, 10);
  sentEntries(pr, 4, 20);
  sentEntries(pr, 7, 30);
  freeInflightUpTo(pr, 3);
  assert.deepEqual(pr.inflight, [
    { lastIndex: 4, bytes: 20 },
    { lastIndex: 7, bytes: 30 },
  ]);
  assert.equal(pr.inflightBytes, 50);
  freeInflightUpTo(pr, 7);
  assert.deepEqual(pr.inflight, []);
  assert.equal(pr.inflightBytes, 0);
});

test("maybeUpdate() raises the match and unpauses a probe only when the index is new", () => {
  const pr = progress({ matchIndex: 3, nextIndex: 4, probeSent: true });
  assert.equal(maybeUpdate(pr, 2), false);
  assert.equal(pr.matchIndex, 3);
  assert.equal(pr.probeSent, true);
  assert.equal(maybeUpdate(pr, 6), true);
  assert.equal(pr.matchIndex, 6);
  assert.equal(pr.nextIndex, 7);
  assert.equal(pr.probeSent, false);
});

test("maybeUpdate() never lowers nextIndex", () => {
  const pr = progress({ state: "replicate", matchIndex: 3, nextIndex: 10 });
  assert.equal(maybeUpdate(pr, 5), true);
  assert.equal(pr.nextIndex, 10);
});

test("maybeDecrease() in replicate ignores a stale rejection at or below the match", () => {
  const pr = progress({ state: "replicate", matchIndex: 5, nextIndex: 9 });
  assert.equal(maybeDecrease(pr, 5, 0), false);
  assert.equal(maybeDecrease(pr, 3, 0), false);
  assert.equal(pr.nextIndex, 9);
  assert.equal(maybeDecrease(pr, 7, 0), true);
  assert.equal(pr.nextIndex, 6);
});

test("maybeDecrease() in probe only counts the rejection of the last probe", () => {
  const cases: {
    name: string;
    matchIndex: number;
    nextIndex: number;
    rejectedIndex: number;
    probeIndex: number;
    want: boolean;
    wantNext: number;
  }[] = [
    { name: "rejection of an older probe", matchIndex: 0, nextIndex: 8, rejectedIndex: 9, probeIndex: 3, want: false, wantNext: 8 },
    { name: "rejection of an older probe below", matchIndex: 0, nextIndex: 8, rejectedIndex: 5, probeIndex: 3, want: false, wantNext: 8 },
    { name: "hint below the rejection", matchIndex: 0, nextIndex: 8, rejectedIndex: 7, probeIndex: 3, want: true, wantNext: 4 },
    { name: "hint at the rejection", matchIndex: 0, nextIndex: 8, rejectedIndex: 7, probeIndex: 7, want: true, wantNext: 7 },
    { name: "hint above the rejection", matchIndex: 0, nextIndex: 8, rejectedIndex: 7, probeIndex: 20, want: true, wantNext: 7 },
    { name: "never below the match", matchIndex: 5, nextIndex: 8, rejectedIndex: 7, probeIndex: 1, want: true, wantNext: 6 },
    { name: "hint of zero", matchIndex: 0, nextIndex: 3, rejectedIndex: 2, probeIndex: 0, want: true, wantNext: 1 },
  ];
  for (const c of cases) {
    const pr = progress({ state: "probe", matchIndex: c.matchIndex, nextIndex: c.nextIndex, probeSent: true });
    assert.equal(maybeDecrease(pr, c.rejectedIndex, c.probeIndex), c.want, c.name);
    assert.equal(pr.nextIndex, c.wantNext, c.name);
    assert.equal(pr.probeSent, !c.want, `${c.name}: an accepted rejection unpauses the probe`);
  }
});
