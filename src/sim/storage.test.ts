import assert from "node:assert/strict";
import { test } from "node:test";
import type { Entry, Snapshot } from "../raft/types.js";
import { createPrng } from "../shared/prng.js";
import type { Prng } from "../shared/prng.js";
import { MemoryStorage } from "./storage.js";

function entry(index: number, term: number): Entry {
  return { index, term, type: "normal", data: Uint8Array.of(index) };
}

/** A PRNG whose every integer draw is `value` (clamped below the bound) and every chance is `chance`. */
function fixedPrng(value: number, chance: boolean): Prng {
  const real = createPrng(1);
  return { ...real, int: (max) => Math.min(value, max - 1), chance: () => chance };
}

const snapshotAt = (index: number, term: number): Snapshot => ({ meta: { index, term, membership: { voters: [1], learners: [] } }, data: Uint8Array.of(9) });

test("storage twin keeps synced writes and loses unsynced ones on a crash", () => {
  const storage = new MemoryStorage();
  storage.append([entry(1, 1), entry(2, 1)]);
  storage.setHardState({ term: 1, votedFor: 1, commitIndex: 1 });
  storage.sync();
  storage.append([entry(3, 1)]);
  storage.setHardState({ term: 2, votedFor: 0, commitIndex: 2 });
  const outcome = storage.crash(fixedPrng(0, false));
  assert.deepEqual(outcome, { pendingCount: 2, survivedCount: 0, tornEntriesKept: undefined });
  const loaded = storage.load();
  assert.deepEqual(loaded.entries.map((e) => e.index), [1, 2]);
  assert.deepEqual(loaded.hardState, { term: 1, votedFor: 1, commitIndex: 1 });
});

test("storage twin may keep a prefix of the unsynced writes, the last one torn", () => {
  const storage = new MemoryStorage();
  storage.append([entry(1, 1), entry(2, 1)]);
  storage.sync();
  // A conflicting append truncates from index 2, then hard state: the crash keeps only the append, torn to one entry.
  storage.append([entry(2, 2), entry(3, 2), entry(4, 2)]);
  storage.setHardState({ term: 2, votedFor: 2, commitIndex: 1 });
  const outcome = storage.crash(fixedPrng(1, true));
  assert.deepEqual(outcome, { pendingCount: 2, survivedCount: 1, tornEntriesKept: 1 });
  const loaded = storage.load();
  assert.deepEqual(loaded.entries.map((e) => [e.index, e.term]), [[1, 1], [2, 2]]);
  assert.deepEqual(loaded.hardState, { term: 0, votedFor: 0, commitIndex: 0 });
});

test("storage twin: a received snapshot replaces the whole log; compaction drops covered entries", () => {
  const storage = new MemoryStorage();
  storage.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
  storage.sync();
  storage.compact(snapshotAt(2, 1));
  let loaded = storage.load();
  assert.equal(loaded.snapshot?.meta.index, 2);
  assert.deepEqual(loaded.entries.map((e) => e.index), [3]);
  storage.saveSnapshot(snapshotAt(10, 4));
  storage.sync();
  loaded = storage.load();
  assert.equal(loaded.snapshot?.meta.index, 10);
  assert.deepEqual(loaded.entries, []);
  assert.throws(() => storage.compact(snapshotAt(12, 4)), /cannot compact to 12/);
});
