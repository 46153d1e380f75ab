import assert from "node:assert/strict";
import { readdir, readFile, stat, truncate, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { Entry } from "../raft/types.js";
import { StorageCorruptionError } from "./errors.js";
import { encodeHardState } from "./hardStateFile.js";
import { RaftStorage } from "./raftStorage.js";
import type { RaftStorageOptions } from "./raftStorage.js";
import { segmentFileName } from "./segmentScan.js";
import { encodeSnapshot, snapshotFileName } from "./snapshotFile.js";
import { testEntries, testSnapshot, withTempDir } from "./storageTesting.js";

/**
 * Crash injection. A crash keeps what was synced and may keep any prefix of what was only written
 * (the kernel writes back pages in any order, but a cut at every byte covers every prefix). Each test
 * builds a log, then shapes the files as a crash could leave them, reopens and checks what came back.
 */

const smallSegments: RaftStorageOptions = { segmentSizeBytesMax: 150 };

async function sizeOf(path: string): Promise<number> {
  return (await stat(path)).size;
}

async function flipByte(path: string, position: number): Promise<void> {
  const bytes = await readFile(path);
  bytes[position] = (bytes[position] ?? 0) ^ 0xff;
  await writeFile(path, bytes);
}

async function reopen(dir: string, options: RaftStorageOptions = smallSegments): Promise<{ entries: readonly Entry[]; warnings: string[] }> {
  const { storage, initialState, warnings } = await RaftStorage.open(dir, options);
  await storage.close();
  return { entries: initialState.entries, warnings };
}

/** Asserts `entries` are `expected`'s first entries, at least `syncedCount` of them. */
function assertValidPrefix(entries: readonly Entry[], expected: readonly Entry[], syncedCount: number, what: string): void {
  assert.ok(entries.length >= syncedCount, `${what}: lost synced entries (${entries.length} < ${syncedCount})`);
  assert.deepEqual(entries, expected.slice(0, entries.length), `${what}: not a prefix of what was written`);
}

/**
 * Cuts `path` (which holds `written`) to every length from `fromBytes` up, reopening after each cut, and
 * asserts that recovery returns a valid prefix of `expected` holding at least its first `syncedCount`.
 */
async function assertEveryCutRecovers(
  dir: string,
  path: string,
  written: Uint8Array,
  fromBytes: number,
  expected: readonly Entry[],
  syncedCount: number,
): Promise<void> {
  for (let cut = fromBytes; cut <= written.length; cut++) {
    await writeFile(path, written.subarray(0, cut));
    assertValidPrefix((await reopen(dir)).entries, expected, syncedCount, `cut at ${cut}`);
  }
}

async function assertCorruption(dir: string, file: string, position: number, reason: RegExp): Promise<void> {
  await assert.rejects(RaftStorage.open(dir, smallSegments), (error: unknown) => {
    assert.ok(error instanceof StorageCorruptionError, `expected StorageCorruptionError, got ${String(error)}`);
    assert.equal(error.file, file);
    assert.equal(error.position, position);
    assert.match(error.message, new RegExp(`${file}.*at byte ${position}`));
    assert.match(error.message, reason);
    return true;
  });
}

test("a crash cut at every byte of the unsynced tail recovers the synced entries and a valid prefix of the rest", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir);
    await storage.appendEntries(testEntries(1, 4, 1));
    await storage.setHardState({ term: 1, votedFor: 1, commitIndex: 4 });
    await storage.sync();
    const segment = join(dir, segmentFileName(1));
    const syncedBytes = await sizeOf(segment);
    await storage.appendEntries(testEntries(5, 8, 1, 13));
    await storage.setHardState({ term: 1, votedFor: 1, commitIndex: 8 });
    await storage.close();
    const written = await readFile(segment);
    const expected = [...testEntries(1, 4, 1), ...testEntries(5, 8, 1, 13)];
    for (let cut = syncedBytes; cut <= written.length; cut++) {
      await writeFile(segment, written.subarray(0, cut));
      const { entries, warnings } = await reopen(dir);
      assertValidPrefix(entries, expected, 4, `cut at ${cut}`);
      const atFrameBoundary = cut === syncedBytes || cut === written.length || (cut - syncedBytes) % 38 === 0;
      assert.equal(warnings.length, atFrameBoundary ? 0 : 1, `cut at ${cut}: ${warnings.join("; ")}`);
      if (!atFrameBoundary) assert.match(warnings[0] ?? "", new RegExp(`Truncated torn tail of segment ${segmentFileName(1)} at byte`));
      // The repair is durable: a second open finds nothing to repair.
      assert.deepEqual((await reopen(dir)).warnings, [], `cut at ${cut}: second open`);
    }
  });
});

test("a crash while an append rolls over recovers a prefix whether the new segment was cut or never created", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir, smallSegments);
    await storage.appendEntries(testEntries(1, 2, 1));
    await storage.sync();
    // 3..4 fill segment 1 (fsynced at roll-over); 5..7 go to segment 5, never synced.
    await storage.appendEntries(testEntries(3, 7, 1));
    await storage.close();
    const last = join(dir, segmentFileName(5));
    const written = await readFile(last);
    const expected = testEntries(1, 7, 1);
    await assertEveryCutRecovers(dir, last, written, 0, expected, 4);
    await unlink(join(dir, segmentFileName(5))).catch(() => {});
    assert.deepEqual((await reopen(dir)).entries, testEntries(1, 4, 1));
  });
});

test("a crash after a conflicting append recovers the durable truncation and a prefix of the new entries", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir);
    await storage.appendEntries(testEntries(1, 10, 1));
    await storage.sync();
    // Entries 3.. are cut durably before 3..5 of term 2 (with other sizes, so old frames never line up) are written.
    await storage.appendEntries(testEntries(3, 5, 2, 17));
    await storage.close();
    const segment = join(dir, segmentFileName(1));
    const written = await readFile(segment);
    const expected = [...testEntries(1, 2, 1), ...testEntries(3, 5, 2, 17)];
    await assertEveryCutRecovers(dir, segment, written, 2 * 35, expected, 2);
  });
});

test("a crash after a conflicting append across segments recovers a prefix", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir, smallSegments);
    await storage.appendEntries(testEntries(1, 10, 1));
    await storage.sync();
    // Truncates from 3: segments 5 and 9 go, segment 1 is cut; 3..4 refill it, 5..6 roll over to a new segment 5.
    await storage.appendEntries(testEntries(3, 6, 2));
    await storage.close();
    const last = join(dir, segmentFileName(5));
    const written = await readFile(last);
    const expected = [...testEntries(1, 2, 1), ...testEntries(3, 6, 2)];
    await assertEveryCutRecovers(dir, last, written, 0, expected, 4);
  });
});

test("a flipped byte with valid frames after it is corruption naming the file and byte", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir);
    await storage.appendEntries(testEntries(1, 6, 1));
    await storage.sync();
    await storage.close();
    // Frames are 35 bytes: entry 3 starts at byte 70; flip a data byte, then its length field.
    const segment = join(dir, segmentFileName(1));
    await flipByte(segment, 70 + 30);
    await assertCorruption(dir, segmentFileName(1), 70, /bad CRC, followed by a valid entry 4 at byte 105/);
    await flipByte(segment, 70 + 30);
    await flipByte(segment, 70);
    await assertCorruption(dir, segmentFileName(1), 70, /bad length \d+, followed by a valid entry 4 at byte 105/);
    // Refusing changed nothing on disk.
    assert.equal(await sizeOf(segment), 6 * 35);
  });
});

test("a flipped byte in the last frame is a torn tail, truncated with a warning", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir);
    await storage.appendEntries(testEntries(1, 6, 1));
    await storage.close();
    await flipByte(join(dir, segmentFileName(1)), 5 * 35 + 20);
    const { entries, warnings } = await reopen(dir);
    assert.deepEqual(entries, testEntries(1, 5, 1));
    assert.deepEqual(warnings, [`Truncated torn tail of segment ${segmentFileName(1)} at byte 175: bad CRC`]);
  });
});

test("a bad frame in a segment that is not the last is corruption", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir, smallSegments);
    await storage.appendEntries(testEntries(1, 10, 1));
    await storage.sync();
    await storage.close();
    await truncate(join(dir, segmentFileName(5)), 3 * 35 + 10);
    await assertCorruption(dir, segmentFileName(5), 105, /short frame .* not the last/);
  });
});

test("a missing middle segment is a gap, reported as corruption", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir, smallSegments);
    await storage.appendEntries(testEntries(1, 10, 1));
    await storage.sync();
    await storage.close();
    await unlink(join(dir, segmentFileName(5)));
    await assertCorruption(dir, segmentFileName(9), 0, /first entry 9 does not follow entry 4/);
  });
});

test("temp files a crash left behind are ignored and removed", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir);
    await storage.appendEntries(testEntries(1, 2, 1));
    await storage.setHardState({ term: 1, votedFor: 1, commitIndex: 1 });
    await storage.sync();
    await storage.close();
    await writeFile(join(dir, "hardstate.tmp"), encodeHardState({ term: 9, votedFor: 9, commitIndex: 2 }).subarray(0, 20));
    await writeFile(join(dir, `${snapshotFileName({ index: 2, term: 1 })}.tmp`), "partial");
    const { storage: reopened, initialState, warnings } = await RaftStorage.open(dir);
    await reopened.close();
    assert.deepEqual(initialState.hardState, { term: 1, votedFor: 1, commitIndex: 1 });
    assert.equal(initialState.snapshot, undefined);
    assert.equal(warnings.length, 2);
    assert.deepEqual((await readdir(dir)).sort(), [segmentFileName(1), "hardstate"]);
  });
});

test("a corrupt hard state file refuses to start", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir);
    await storage.appendEntries(testEntries(1, 2, 1));
    await storage.setHardState({ term: 1, votedFor: 1, commitIndex: 1 });
    await storage.sync();
    await storage.close();
    await flipByte(join(dir, "hardstate"), 12);
    await assert.rejects(RaftStorage.open(dir), /Cannot open storage as hard state file hardstate is corrupt at byte 0: bad CRC/);
  });
});

test("a commitIndex beyond the recovered log is corruption, never clamped", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir);
    await storage.appendEntries(testEntries(1, 6, 1));
    await storage.setHardState({ term: 1, votedFor: 1, commitIndex: 6 });
    await storage.sync();
    await storage.close();
    // Synced, committed entries lost: the disk did not keep what fsync promised.
    await truncate(join(dir, segmentFileName(1)), 4 * 35 + 3);
    await assert.rejects(RaftStorage.open(dir), /commitIndex 6 is beyond the last entry 4/);
  });
});

test("a bad latest snapshot falls back to an older valid one with a warning; none valid refuses", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir, smallSegments);
    await storage.appendEntries(testEntries(1, 10, 1));
    await storage.sync();
    await storage.saveAppSnapshot(testSnapshot(3, 1));
    await storage.saveAppSnapshot(testSnapshot(6, 1));
    await storage.close();
    const newest = snapshotFileName({ index: 6, term: 1 });
    await flipByte(join(dir, newest), 40);
    const { storage: reopened, initialState, warnings } = await RaftStorage.open(dir, smallSegments);
    await reopened.close();
    assert.deepEqual(initialState.snapshot, testSnapshot(3, 1));
    assert.deepEqual(initialState.entries, testEntries(4, 10, 1));
    assert.match(warnings.join("\n"), new RegExp(`Ignored snapshot ${newest}: bad CRC; using the older`));
    await flipByte(join(dir, snapshotFileName({ index: 3, term: 1 })), 20);
    await assert.rejects(RaftStorage.open(dir, smallSegments), /Cannot open storage as no snapshot file is valid/);
  });
});

test("segments left by a cut-short snapshot install are dropped when their term at the snapshot index disagrees", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir, smallSegments);
    await storage.appendEntries(testEntries(1, 10, 1));
    await storage.sync();
    await storage.close();
    // The snapshot file became durable, the crash came before the old segments were deleted.
    await writeFile(join(dir, snapshotFileName({ index: 8, term: 2 })), encodeSnapshot(testSnapshot(8, 2)));
    const { storage: reopened, initialState, warnings } = await RaftStorage.open(dir, smallSegments);
    assert.deepEqual(initialState.entries, []);
    assert.equal(reopened.lastIndex(), 8);
    assert.match(warnings.join("\n"), /entry 8 has term 1, the snapshot there term 2/);
    await reopened.appendEntries(testEntries(9, 9, 2));
    await reopened.sync();
    await reopened.close();
    assert.deepEqual((await reopen(dir)).entries, testEntries(9, 9, 2));
  });
});

test("segments a cut-short compaction left below the snapshot are removed", async () => {
  await withTempDir(async (dir) => {
    const { storage } = await RaftStorage.open(dir, smallSegments);
    await storage.appendEntries(testEntries(1, 14, 1));
    await storage.sync();
    await storage.saveAppSnapshot(testSnapshot(10, 1));
    await storage.close();
    const { entries, warnings } = await reopen(dir);
    assert.deepEqual(entries, testEntries(11, 14, 1));
    assert.equal(warnings.length, 2);
    assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith(".log")).sort(), [9, 13].map(segmentFileName));
  });
});
