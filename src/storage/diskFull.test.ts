import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { Entry } from "../raft/types.js";
import { frameSizeBytes } from "./entryFrame.js";
import { StorageWriteError } from "./errors.js";
import { TestDisk } from "./diskTesting.js";
import { hardStateFileName } from "./hardStateFile.js";
import { RaftStorage } from "./raftStorage.js";
import { segmentFileName } from "./segmentScan.js";
import { snapshotFileName } from "./snapshotFile.js";
import { testEntries, testSnapshot, withTempDir } from "./storageTesting.js";

/**
 * A full disk. Every write the storage makes goes through a `TestDisk` whose budget runs out; the
 * storage must reject (naming ENOSPC and the file), refuse everything after, and leave the directory in
 * a state that a reopen on a disk with room again repairs, keeping everything synced before the failure.
 */

/** 10-byte data entries are 35-byte frames: 4 fit in a 150-byte segment. */
const smallSegments = { segmentSizeBytesMax: 150 };

function isDiskFull(path: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof StorageWriteError, `expected StorageWriteError, got ${String(error)}`);
    assert.equal(error.code, "STORAGE_WRITE_FAILED");
    assert.equal(error.errno, "ENOSPC");
    assert.equal(error.path, path);
    assert.match(error.message, /disk is full \(ENOSPC on (write|fsync)\)/);
    assert.ok(error.message.includes(path), `the message names ${path}: ${error.message}`);
    return true;
  };
}

/** Opens `dir` on a disk with room, returns what came back, and proves the log takes appends again. */
async function reopenAndAppend(dir: string): Promise<{ entries: readonly Entry[]; warnings: string[]; hardState: { term: number } }> {
  const { storage, initialState, warnings } = await RaftStorage.open(dir, smallSegments);
  const next = storage.lastIndex() + 1;
  await storage.appendEntries(testEntries(next, next + 1, 9));
  await storage.sync();
  await storage.close();
  const again = await RaftStorage.open(dir, smallSegments);
  assert.deepEqual(again.initialState.entries.slice(initialState.entries.length), testEntries(next, next + 1, 9), "appends after the repair survive a reopen");
  await again.storage.close();
  return { entries: initialState.entries, warnings, hardState: initialState.hardState };
}

test("an append that meets a full disk at any byte rejects naming ENOSPC and the segment, and a reopen keeps every synced entry", async () => {
  const synced = testEntries(1, 2, 1);
  const batch = testEntries(3, 4, 1);
  const batchBytes = batch.reduce((sum, e) => sum + frameSizeBytes(e), 0);
  for (let bytesFree = 0; bytesFree < batchBytes; bytesFree++) {
    await withTempDir(async (dir) => {
      const disk = new TestDisk();
      const { storage } = await RaftStorage.open(dir, { ...smallSegments, openFile: disk.openFile });
      await storage.appendEntries(synced);
      await storage.setHardState({ term: 1, votedFor: 1, commitIndex: 2 });
      await storage.sync();
      disk.bytesFree = bytesFree;
      await assert.rejects(storage.appendEntries(batch), isDiskFull(join(dir, segmentFileName(1))));
      // Poisoned: nothing after a failed write may claim success, even with room again.
      disk.bytesFree = Number.MAX_SAFE_INTEGER;
      await assert.rejects(storage.sync(), /as an earlier write failed: Cannot write .* as the disk is full \(ENOSPC on write\)/);
      await assert.rejects(storage.appendEntries(testEntries(3, 3, 1)), /as an earlier write failed/);
      await storage.close();

      const { entries, warnings } = await reopenAndAppend(dir);
      const wholeFramesCount = bytesFree >= frameSizeBytes(batch[0] as Entry) ? 1 : 0;
      assert.deepEqual(entries, [...synced, ...batch.slice(0, wholeFramesCount)], `${bytesFree} bytes free: the synced entries and the whole frames written`);
      const torn = bytesFree > 0 && bytesFree !== frameSizeBytes(batch[0] as Entry);
      assert.equal(warnings.some((w) => w.startsWith(`Truncated torn tail of segment ${segmentFileName(1)}`)), torn, `${bytesFree} bytes free: ${warnings.join("; ")}`);
    });
  }
});

test("an append whose roll-over meets a full disk leaves an empty segment that a reopen removes", async () => {
  await withTempDir(async (dir) => {
    const disk = new TestDisk();
    const { storage } = await RaftStorage.open(dir, { ...smallSegments, openFile: disk.openFile });
    await storage.appendEntries(testEntries(1, 4, 1));
    await storage.sync();
    disk.bytesFree = 0;
    await assert.rejects(storage.appendEntries(testEntries(5, 5, 1)), isDiskFull(join(dir, segmentFileName(5))));
    await storage.close();
    assert.ok((await readdir(dir)).includes(segmentFileName(5)), "the new segment was created, empty");
    const { entries } = await reopenAndAppend(dir);
    assert.deepEqual(entries, testEntries(1, 4, 1));
  });
});

test("a log write whose flush fails with ENOSPC (segments are written with O_DSYNC) rejects the append and poisons the handle", async () => {
  await withTempDir(async (dir) => {
    const disk = new TestDisk();
    const { storage } = await RaftStorage.open(dir, { ...smallSegments, openFile: disk.openFile });
    await storage.appendEntries(testEntries(1, 2, 1));
    await storage.sync();
    disk.syncFails = true;
    await assert.rejects(storage.appendEntries(testEntries(3, 3, 1)), isDiskFull(join(dir, segmentFileName(1))));
    disk.syncFails = false;
    await assert.rejects(storage.sync(), /as an earlier write failed/);
    await storage.close();
    const { entries } = await reopenAndAppend(dir);
    assert.deepEqual(entries.slice(0, 2), testEntries(1, 2, 1), "the synced entries are kept");
  });
});

test("segments are opened with durable writes, so a sync after appends (roll-overs included) fsyncs no segment", async () => {
  await withTempDir(async (dir) => {
    const disk = new TestDisk();
    const { storage } = await RaftStorage.open(dir, { ...smallSegments, openFile: disk.openFile });
    // 10-byte entries, 4 to a segment: 10 entries make three segments.
    for (let index = 1; index <= 10; index += 2) {
      await storage.appendEntries(testEntries(index, index + 1, 1));
      await storage.sync();
    }
    assert.equal(disk.fsyncCount, 0, "no fsync of a segment");
    assert.equal(disk.durableOpenCount, 3, "each segment was opened with durable writes");
    assert.equal(storage.syncRuns(), 5);
    await storage.close();
    const reopened = await RaftStorage.open(dir, { ...smallSegments, openFile: disk.openFile });
    assert.deepEqual(reopened.initialState.entries, testEntries(1, 10, 1));
    assert.equal(disk.durableOpenCount, 4, "the last segment is reopened with durable writes");
    await reopened.storage.close();
  });
});

test("a hard-state write that meets a full disk rejects and a reopen finds the hard state synced before it", async () => {
  await withTempDir(async (dir) => {
    const disk = new TestDisk();
    const { storage } = await RaftStorage.open(dir, { ...smallSegments, openFile: disk.openFile });
    await storage.appendEntries(testEntries(1, 3, 1));
    await storage.setHardState({ term: 1, votedFor: 1, commitIndex: 2 });
    await storage.sync();
    disk.bytesFree = 10;
    await storage.setHardState({ term: 2, votedFor: 3, commitIndex: 3 });
    await assert.rejects(storage.sync(), isDiskFull(join(dir, `${hardStateFileName}.tmp`)));
    await storage.close();
    const { entries, warnings, hardState } = await reopenAndAppend(dir);
    assert.deepEqual(hardState, { term: 1, votedFor: 1, commitIndex: 2 });
    assert.deepEqual(entries, testEntries(1, 3, 1));
    assert.ok(warnings.some((w) => w.startsWith(`Removed ${hardStateFileName}.tmp`)), warnings.join("; "));
  });
});

test("a snapshot the node takes that meets a full disk rejects and a reopen keeps the log and the older snapshot", async () => {
  await withTempDir(async (dir) => {
    const disk = new TestDisk();
    const { storage } = await RaftStorage.open(dir, { ...smallSegments, openFile: disk.openFile });
    await storage.appendEntries(testEntries(1, 6, 1));
    await storage.sync();
    await storage.saveAppSnapshot(testSnapshot(2, 1));
    disk.bytesFree = 20;
    await assert.rejects(storage.saveAppSnapshot(testSnapshot(5, 1)), isDiskFull(join(dir, `${snapshotFileName(testSnapshot(5, 1).meta)}.tmp`)));
    await storage.close();
    const reopened = await RaftStorage.open(dir, smallSegments);
    assert.deepEqual(reopened.initialState.snapshot, testSnapshot(2, 1));
    assert.deepEqual(reopened.initialState.entries, testEntries(3, 6, 1));
    await reopened.storage.close();
    assert.deepEqual((await reopenAndAppend(dir)).entries, testEntries(3, 6, 1));
  });
});

test("a snapshot from the leader that meets a full disk rejects and a reopen keeps the log it was to replace", async () => {
  await withTempDir(async (dir) => {
    const disk = new TestDisk();
    const { storage } = await RaftStorage.open(dir, { ...smallSegments, openFile: disk.openFile });
    await storage.appendEntries(testEntries(1, 3, 1));
    await storage.sync();
    disk.bytesFree = 0;
    await assert.rejects(storage.writeSnapshot(testSnapshot(10, 2)), isDiskFull(join(dir, `${snapshotFileName(testSnapshot(10, 2).meta)}.tmp`)));
    await storage.close();
    const reopened = await RaftStorage.open(dir, smallSegments);
    assert.equal(reopened.initialState.snapshot, undefined);
    assert.deepEqual(reopened.initialState.entries, testEntries(1, 3, 1));
    await reopened.storage.close();
  });
});
