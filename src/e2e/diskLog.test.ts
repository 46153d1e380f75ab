import assert from "node:assert/strict";
import { test } from "node:test";
import type { Entry } from "../raft/types.js";
import { compareDiskLogs } from "./diskLog.js";
import type { DiskLog } from "./diskLog.js";

function diskLog(dataDir: string, snapshotIndex: number, terms: readonly number[], hardStateTerm = Math.max(0, ...terms)): DiskLog {
  const entries = terms.map((term, i): Entry => ({ index: snapshotIndex + 1 + i, term, type: "normal", data: new Uint8Array([snapshotIndex + 1 + i]) }));
  return { dataDir, hardState: { term: hardStateTerm, votedFor: 0, commitIndex: 0 }, snapshotIndex, entries, lastIndex: snapshotIndex + terms.length };
}

test("compareDiskLogs() compares only the range every log holds", () => {
  const comparison = compareDiskLogs([diskLog("a", 0, [1, 1, 2, 2, 3]), diskLog("b", 2, [2, 2]), diskLog("c", 1, [1, 2, 2, 3, 3])]);
  assert.deepEqual(comparison, { fromIndex: 3, toIndex: 4, problems: [] });
});

test("compareDiskLogs() reports an entry of another term at the same index", () => {
  const comparison = compareDiskLogs([diskLog("a", 0, [1, 1, 2]), diskLog("b", 0, [1, 1, 3])]);
  assert.deepEqual(comparison.problems, ["index 3: a and b differ in term (2 vs 3)"]);
});

test("compareDiskLogs() reports different data and an entry newer than the hard state's term", () => {
  const a = diskLog("a", 0, [1, 2]);
  const b = diskLog("b", 0, [1, 2], 1);
  const changed: DiskLog = { ...b, entries: b.entries.map((e) => (e.index === 1 ? { ...e, data: new Uint8Array([9, 9]) } : e)) };
  assert.deepEqual(compareDiskLogs([a, changed]).problems, ["b: an entry has term 2, after the hard state's term 1", "index 1: a and b differ in data (1 vs 2 bytes)"]);
});
