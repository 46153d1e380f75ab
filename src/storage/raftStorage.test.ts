import assert from "node:assert/strict";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { FileHandle } from "node:fs/promises";
import { openFile } from "./atomicFile.js";
import type { OpenFile } from "./atomicFile.js";
import type { InitialState } from "../raft/types.js";
import { TestDisk } from "./diskTesting.js";
import { frameSizeBytes } from "./entryFrame.js";
import { hardStateFileBytes } from "./hardStateFile.js";
import { RaftStorage } from "./raftStorage.js";
import { segmentFileName } from "./segmentScan.js";
import { snapshotFileName } from "./snapshotFile.js";
import { testEntries, testSnapshot, withTempDir } from "./storageTesting.js";

/** 10-byte data entries are 35-byte frames: 4 fit in a 150-byte segment. */
const smallSegments = { segmentSizeBytesMax: 150 };

async function segmentNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith(".log")).sort();
}

test("open() on an empty directory starts from nothing", async () => {
  await withTempDir(async (dir) => {
    const { storage, initialState, warnings } = await RaftStorage.open(join(dir, "node-1"));
    assert.deepEqual(initialState, { hardState: { term: 0, votedFor: 0, commitIndex: 0 }, snapshot: undefined, entries: [] });
    assert.deepEqual(warnings, []);
    assert.equal(storage.firstIndex(), 1);
    assert.equal(storage.lastIndex(), 0);
    await storage.close();
  });
});

test("appended and synced entries and hard state survive a reopen", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir, smallSegments);
    await storage.appendEntries(testEntries(1, 10, 1));
    await storage.setHardState({ term: 1, votedFor: 2, commitIndex: 7 });
    await storage.sync();
    assert.deepEqual(storage.hardState().durable, { term: 1, votedFor: 2, commitIndex: 7 });
    await storage.close();
    const reopened = await RaftStorage.open(dir, smallSegments);
    assert.deepEqual(reopened.initialState.entries, testEntries(1, 10, 1));
    assert.deepEqual(reopened.initialState.hardState, { term: 1, votedFor: 2, commitIndex: 7 });
    assert.deepEqual(reopened.warnings, []);
    assert.equal(reopened.storage.termAt(10), 1);
    await reopened.storage.appendEntries(testEntries(11, 12, 2));
    await reopened.storage.sync();
    await reopened.storage.close();
    const again = await RaftStorage.open(dir, smallSegments);
    assert.deepEqual(again.initialState.entries, [...testEntries(1, 10, 1), ...testEntries(11, 12, 2)]);
    await again.storage.close();
  });
});

test("segments roll over before passing segmentSizeBytesMax and are named by their first index", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir, smallSegments);
    await storage.appendEntries(testEntries(1, 6, 1));
    await storage.appendEntries(testEntries(7, 10, 1));
    await storage.sync();
    await storage.close();
    assert.deepEqual(await segmentNames(dir), [1, 5, 9].map(segmentFileName));
    for (const name of await segmentNames(dir)) assert.ok((await stat(join(dir, name))).size <= smallSegments.segmentSizeBytesMax);
    // An entry larger than a whole segment still gets one of its own.
    const { storage: big } = await RaftStorage.open(dir, smallSegments);
    await big.appendEntries(testEntries(11, 11, 1, 400));
    await big.sync();
    await big.close();
    assert.equal((await stat(join(dir, segmentFileName(11)))).size, frameSizeBytes(testEntries(11, 11, 1, 400)[0] ?? assert.fail()));
  });
});

test("appendEntries truncates a conflicting suffix across a segment boundary", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir, smallSegments);
    await storage.appendEntries(testEntries(1, 14, 1));
    await storage.setHardState({ term: 1, votedFor: 1, commitIndex: 3 });
    await storage.sync();
    assert.deepEqual(await segmentNames(dir), [1, 5, 9, 13].map(segmentFileName));
    await storage.appendEntries(testEntries(6, 7, 2));
    assert.equal(storage.lastIndex(), 7);
    assert.deepEqual(await segmentNames(dir), [1, 5].map(segmentFileName));
    assert.deepEqual(await storage.readEntries(4, 7), [...testEntries(4, 5, 1), ...testEntries(6, 7, 2)]);
    await storage.sync();
    await storage.close();
    const reopened = await RaftStorage.open(dir, smallSegments);
    assert.deepEqual(reopened.initialState.entries, [...testEntries(1, 5, 1), ...testEntries(6, 7, 2)]);
    assert.deepEqual(reopened.warnings, []);
    await reopened.storage.close();
  });
});

test("a truncation at the first entry of a segment empties it and appends continue there", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir, smallSegments);
    await storage.appendEntries(testEntries(1, 10, 1));
    await storage.appendEntries(testEntries(5, 5, 3));
    await storage.sync();
    await storage.close();
    assert.deepEqual(await segmentNames(dir), [1, 5].map(segmentFileName));
    const reopened = await RaftStorage.open(dir, smallSegments);
    assert.deepEqual(reopened.initialState.entries, [...testEntries(1, 4, 1), ...testEntries(5, 5, 3)]);
    await reopened.storage.close();
  });
});

test("compact deletes only whole segments below the snapshot, and older snapshot files", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir, smallSegments);
    await storage.appendEntries(testEntries(1, 14, 1));
    await storage.setHardState({ term: 1, votedFor: 1, commitIndex: 14 });
    await storage.sync();
    await storage.saveAppSnapshot(testSnapshot(4, 1));
    await storage.compact(4);
    assert.deepEqual(await segmentNames(dir), [5, 9, 13].map(segmentFileName));
    await storage.saveAppSnapshot(testSnapshot(10, 1));
    await storage.compact(10);
    // Segment 9 holds 9..12: 11 and 12 are not covered, so the whole file stays.
    assert.deepEqual(await segmentNames(dir), [9, 13].map(segmentFileName));
    assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith(".snap")), [snapshotFileName({ index: 10, term: 1 })]);
    assert.equal(storage.firstIndex(), 11);
    await storage.close();
    const reopened = await RaftStorage.open(dir, smallSegments);
    assert.deepEqual(reopened.initialState.snapshot, testSnapshot(10, 1));
    assert.deepEqual(reopened.initialState.entries, testEntries(11, 14, 1));
    assert.deepEqual(reopened.warnings, []);
    await reopened.storage.close();
  });
});

/** What a reopen of `dir` recovers (the storage is closed again). */
async function stateOnDisk(dir: string): Promise<InitialState> {
  const { storage, initialState } = await RaftStorage.open(dir, smallSegments);
  await storage.close();
  return initialState;
}

/** Files whose name ends `.snap.tmp` are fsynced only once `release()` is called (a slow snapshot write). */
function heldSnapshotSyncs(): { readonly openFile: OpenFile; readonly release: () => void; held: () => number } {
  let released = false;
  const waiting: (() => void)[] = [];
  const hold = (handle: FileHandle): FileHandle =>
    new Proxy(handle, {
      get(target, property) {
        if (property === "sync") {
          return async () => {
            if (!released) await new Promise<void>((resolve) => waiting.push(resolve));
            await target.sync();
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  return {
    openFile: async (path, flags, options) => {
      const handle = await openFile(path, flags, options);
      return path.endsWith(".snap.tmp") ? hold(handle) : handle;
    },
    release: () => {
      released = true;
      for (const resolve of waiting.splice(0)) resolve();
    },
    held: () => waiting.length,
  };
}

test("the node's own snapshot is written beside the log: appends and syncs meanwhile do not wait for its fsync", async () => {
  await withTempDir(async (dir) => {
    const disk = heldSnapshotSyncs();
    const { storage } = await RaftStorage.open(dir, { ...smallSegments, openFile: disk.openFile });
    await storage.appendEntries(testEntries(1, 6, 1));
    await storage.sync();
    const saved = storage.saveAppSnapshot(testSnapshot(4, 1));
    await storage.appendEntries(testEntries(7, 8, 1));
    await storage.setHardState({ term: 1, votedFor: 1, commitIndex: 8 });
    await storage.sync();
    assert.equal(disk.held(), 1, "the snapshot's fsync is still held");
    assert.equal(storage.snapshotMeta(), undefined, "not the stored snapshot before it is durable");
    disk.release();
    await saved;
    assert.deepEqual(storage.snapshotMeta(), testSnapshot(4, 1).meta);
    await storage.compact(4);
    await storage.close();
    const reopened = await stateOnDisk(dir);
    assert.deepEqual(reopened.snapshot, testSnapshot(4, 1));
    assert.deepEqual(reopened.entries, testEntries(5, 8, 1));
    assert.deepEqual(reopened.hardState, { term: 1, votedFor: 1, commitIndex: 8 });
  });
});

test("a leader's snapshot that arrives while the node's own is written waits for it, then replaces it", async () => {
  await withTempDir(async (dir) => {
    const disk = heldSnapshotSyncs();
    const { storage } = await RaftStorage.open(dir, { ...smallSegments, openFile: disk.openFile });
    await storage.appendEntries(testEntries(1, 6, 1));
    await storage.sync();
    const saved = storage.saveAppSnapshot(testSnapshot(4, 1));
    const replaced = storage.writeSnapshot(testSnapshot(10, 2));
    disk.release();
    await Promise.all([saved, replaced]);
    assert.deepEqual(storage.snapshotMeta(), testSnapshot(10, 2).meta);
    assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith(".snap")), [snapshotFileName({ index: 10, term: 2 })]);
    await storage.close();
    const reopened = await stateOnDisk(dir);
    assert.deepEqual(reopened.snapshot, testSnapshot(10, 2));
    assert.deepEqual(reopened.entries, []);
  });
});

test("compacting to the last snapshot while the next is written keeps the file being written", async () => {
  await withTempDir(async (dir) => {
    const first = await RaftStorage.open(dir, smallSegments);
    await first.storage.appendEntries(testEntries(1, 14, 1));
    await first.storage.sync();
    await first.storage.saveAppSnapshot(testSnapshot(4, 1));
    await first.storage.close();
    const disk = heldSnapshotSyncs();
    const { storage } = await RaftStorage.open(dir, { ...smallSegments, openFile: disk.openFile });
    const next = storage.saveAppSnapshot(testSnapshot(10, 1));
    await storage.compact(4);
    disk.release();
    await next;
    await storage.compact(10);
    assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith(".snap")), [snapshotFileName({ index: 10, term: 1 })]);
    await storage.close();
    assert.deepEqual((await stateOnDisk(dir)).snapshot, testSnapshot(10, 1));
  });
});

test("a failed snapshot write poisons the storage: later writes reject", async () => {
  await withTempDir(async (dir) => {
    const disk = new TestDisk();
    const { storage } = await RaftStorage.open(dir, { ...smallSegments, openFile: disk.openFile });
    await storage.appendEntries(testEntries(1, 6, 1));
    await storage.sync();
    disk.bytesFree = 0;
    await assert.rejects(storage.saveAppSnapshot(testSnapshot(5, 1)), /disk is full/);
    disk.bytesFree = 1_000_000;
    await assert.rejects(storage.appendEntries(testEntries(7, 7, 1)), /earlier write failed/);
    await storage.close();
  });
});

test("compact keeps the last segment even when the snapshot covers all of it", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir, smallSegments);
    await storage.appendEntries(testEntries(1, 6, 1));
    await storage.sync();
    await storage.saveAppSnapshot(testSnapshot(6, 1));
    await storage.compact(6);
    assert.deepEqual(await segmentNames(dir), [segmentFileName(5)]);
    await storage.appendEntries(testEntries(7, 7, 1));
    await storage.sync();
    await storage.close();
    const reopened = await RaftStorage.open(dir, smallSegments);
    assert.deepEqual(reopened.initialState.entries, testEntries(7, 7, 1));
    await reopened.storage.close();
  });
});

test("writeSnapshot from a leader replaces the log and appends continue after it", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir, smallSegments);
    await storage.appendEntries(testEntries(1, 9, 1));
    await storage.sync();
    await storage.writeSnapshot(testSnapshot(20, 3));
    assert.deepEqual(await segmentNames(dir), []);
    assert.equal(storage.lastIndex(), 20);
    assert.equal(storage.termAt(20), 3);
    await storage.appendEntries(testEntries(21, 22, 3));
    await storage.setHardState({ term: 3, votedFor: 0, commitIndex: 20 });
    await storage.sync();
    await storage.close();
    assert.deepEqual(await segmentNames(dir), [segmentFileName(21)]);
    const reopened = await RaftStorage.open(dir, smallSegments);
    assert.deepEqual(reopened.initialState, { hardState: { term: 3, votedFor: 0, commitIndex: 20 }, snapshot: testSnapshot(20, 3), entries: testEntries(21, 22, 3) });
    await reopened.storage.close();
  });
});

test("a joining node's first snapshot, at index 0 with only the initial membership, is stored and survives a reopen", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir, smallSegments);
    // Empty data over a zero-length ArrayBuffer, as the core sends it (Node's crc32 once mishandled it).
    const initial = { meta: { index: 0, term: 0, membership: { voters: [1, 2, 3], learners: [] } }, data: new Uint8Array(new ArrayBuffer(0)) };
    await storage.writeSnapshot(initial);
    await storage.appendEntries(testEntries(1, 3, 1));
    await storage.setHardState({ term: 1, votedFor: 0, commitIndex: 2 });
    await storage.sync();
    await storage.close();
    const reopened = await RaftStorage.open(dir, smallSegments);
    assert.deepEqual(reopened.initialState, { hardState: { term: 1, votedFor: 0, commitIndex: 2 }, snapshot: initial, entries: testEntries(1, 3, 1) });
    assert.deepEqual(reopened.warnings, []);
    await assert.rejects(reopened.storage.writeSnapshot(initial), /snapshot at 0 is not newer than the stored one at 0/, "only a log holding nothing takes it");
    await reopened.storage.close().catch(() => {});
  });
});

test("the hard state is written only by sync, whole, with no temp file left", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir);
    await storage.appendEntries(testEntries(1, 3, 1));
    await storage.setHardState({ term: 1, votedFor: 1, commitIndex: 2 });
    assert.deepEqual(await readdir(dir), [segmentFileName(1)]);
    await storage.sync();
    const firstBytes = await readFile(join(dir, "hardstate"));
    assert.equal(firstBytes.length, hardStateFileBytes);
    await storage.setHardState({ term: 2, votedFor: 3, commitIndex: 3 });
    assert.deepEqual(await readFile(join(dir, "hardstate")), firstBytes, "unsynced hard state is not on disk");
    await storage.sync();
    assert.deepEqual((await readdir(dir)).sort(), [segmentFileName(1), "hardstate"]);
    await storage.close();
    const reopened = await RaftStorage.open(dir);
    assert.deepEqual(reopened.initialState.hardState, { term: 2, votedFor: 3, commitIndex: 3 });
    await reopened.storage.close();
  });
});

test("concurrent syncs coalesce into one fsync round (group commit)", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir);
    const writes: Promise<void>[] = [];
    const syncs: Promise<void>[] = [];
    for (let index = 1; index <= 5; index++) {
      writes.push(storage.appendEntries(testEntries(index, index, 1)));
      syncs.push(storage.sync());
    }
    await Promise.all([...writes, ...syncs]);
    // The first append started at once; each later sync() joined the queued one and moved it behind its append.
    assert.equal(storage.syncRuns(), 1);
    await Promise.all([storage.sync(), storage.sync(), storage.sync()]);
    assert.equal(storage.syncRuns(), 2);
    await storage.close();
    const reopened = await RaftStorage.open(dir);
    assert.deepEqual(reopened.initialState.entries, testEntries(1, 5, 1));
    await reopened.storage.close();
  });
});

test("written entries are readable before they are synced", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir, smallSegments);
    await storage.appendEntries(testEntries(1, 6, 2));
    assert.equal(storage.lastIndex(), 6);
    assert.equal(storage.hardState().durable.term, 0);
    assert.deepEqual(await storage.readEntries(2, 6), testEntries(2, 6, 2));
    await storage.close();
  });
});

test("a write that breaks the log's order is refused and poisons the handle", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir);
    await storage.appendEntries(testEntries(1, 2, 1));
    await assert.rejects(storage.appendEntries(testEntries(5, 5, 1)), /after a gap/);
    await assert.rejects(storage.sync(), /earlier write failed/);
    await storage.close();
  });
});
