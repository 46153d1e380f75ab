import assert from "node:assert/strict";
import { access, readdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { StorageCorruptionError } from "../storage/errors.js";
import { withTempDir } from "../storage/storageTesting.js";
import { PartitionLog, PartitionLogError, checkBatchFrames, decodeBatchFrames } from "./partitionLog.js";
import type { BatchToAppend, EncodedBatchToAppend, PartitionLogErrorCode, PartitionLogOptions, RecordBatch } from "./partitionLog.js";
import { encodeBatchFrame } from "./storage/recordBatch.js";
import { frameBodyFixedBytes, frameHeaderBytes } from "../storage/entryFrame.js";
import { indexFileName, segmentFileName } from "./storage/segmentFiles.js";

/**
 * Every test batch holds 3 records (null key, 4-byte key, null key; 10-byte values) and is a 100-byte
 * frame, so a 300-byte segment holds exactly 3 batches: segments start at offsets 0, 9, 18, 27, …
 */
const small: PartitionLogOptions = { segmentSizeBytesMax: 300, indexIntervalBytes: 150 };
const frameBytes = 100;

interface Producer {
  readonly producerId: number;
  readonly baseSequence: number;
}

/** A batch whose bytes derive from `seed`, so a read-back can be checked byte for byte. */
function testBatch(seed: number, leaderEpoch = 1, producer?: Producer): BatchToAppend {
  const records = [0, 1, 2].map((i) => ({
    key: i === 1 ? new Uint8Array([seed & 0xff, i, 7, 7]) : null,
    value: new Uint8Array(10).map((_, j) => (seed * 31 + i * 7 + j) & 0xff),
    timestampMs: 1_000 + seed * 10 + i,
  }));
  return { leaderEpoch, producerId: producer?.producerId ?? -1, baseSequence: producer?.baseSequence ?? -1, appendTimeMs: 5_000 + seed, records };
}

/** Batches 1..10: epochs 1,1,1,1,3,3,5,5,5,5 (epoch 3 starts inside segment 9); odd ones from producer 42, even ones from 43. */
function tenBatches(): BatchToAppend[] {
  const epochs = [1, 1, 1, 1, 3, 3, 5, 5, 5, 5];
  return epochs.map((epoch, i) => testBatch(i + 1, epoch, { producerId: 42 + (i % 2), baseSequence: 3 * Math.floor(i / 2) }));
}

/** What `appended` look like once stored from `baseOffset` on. */
function stored(appended: readonly BatchToAppend[], baseOffset = 0): RecordBatch[] {
  return appended.map((batch, i) => ({ ...batch, baseOffset: baseOffset + 3 * i }));
}

/** Batches with plain arrays for bytes, so that views into a read buffer compare equal to what was appended. */
function plain(batches: readonly RecordBatch[]): unknown {
  return batches.map(({ encodedRecords: _encoded, frame: _frame, ...b }) => ({ ...b, records: b.records.map((r) => ({ ...r, key: r.key === null ? null : [...r.key], value: [...r.value] })) }));
}

async function appendAll(log: PartitionLog, batches: readonly BatchToAppend[]): Promise<void> {
  for (const batch of batches) await log.append(batch);
}

async function readAll(log: PartitionLog): Promise<RecordBatch[]> {
  return (await log.read(log.logStartOffset, { maxBytes: 1024 * 1024 })).batches;
}

/** A log holding the first `count` of `tenBatches()`, synced. */
async function openWithBatches(dir: string, count = 10): Promise<PartitionLog> {
  const { log } = await PartitionLog.open(dir, small);
  await appendAll(log, tenBatches().slice(0, count));
  await log.sync();
  return log;
}

async function reopen(dir: string): Promise<{ log: PartitionLog; warnings: string[] }> {
  return PartitionLog.open(dir, small);
}

/** The warnings of an open, the log closed again. */
async function reopenWarnings(dir: string): Promise<string[]> {
  const { log, warnings } = await reopen(dir);
  await log.close();
  return warnings;
}

async function flipByte(path: string, position: number): Promise<void> {
  const bytes = await readFile(path);
  bytes[position] = (bytes[position] ?? 0) ^ 0xff;
  await writeFile(path, bytes);
}

function isLogError(code: PartitionLogErrorCode, details: object = {}): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof PartitionLogError, `expected PartitionLogError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.deepEqual({ ...error.details, ...details }, error.details, `details of ${error.message}`);
    return true;
  };
}

function isCorruption(file: string, position: number, reason: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof StorageCorruptionError, `expected StorageCorruptionError, got ${String(error)}`);
    assert.equal(error.file, file);
    assert.equal(error.position, position);
    assert.match(error.message, new RegExp(`segment ${file} is corrupt at byte ${position}`));
    assert.match(error.message, reason);
    return true;
  };
}

test("appends get consecutive offsets, roll over into segments named by base offset and read back from any offset", async () => {
  await withTempDir(async (dir) => {
    const log = await openWithBatches(dir);
    assert.equal(log.logStartOffset, 0);
    assert.equal(log.logEndOffset, 30);
    const sealed = [0, 9, 18].map(indexFileName);
    assert.deepEqual((await readdir(dir)).sort(), [...sealed, ...[0, 9, 18, 27].map(segmentFileName)].sort(), "the last segment has no index file yet");
    const all = stored(tenBatches());
    for (let offset = 0; offset < 30; offset++) {
      const { batches, bytes, nextOffset } = await log.read(offset, { maxBytes: 1024 * 1024 });
      const first = Math.floor(offset / 3);
      assert.deepEqual(plain(batches), plain(all.slice(first)), `read from ${offset}`);
      assert.equal(bytes.length, frameBytes * (10 - first));
      assert.equal(nextOffset, 30);
    }
    await log.close();
  });
});

test("read returns whole batches within maxBytes (at least one) and below upToOffset, across segments", async () => {
  await withTempDir(async (dir) => {
    const log = await openWithBatches(dir);
    const table: { from: number; maxBytes: number; upTo?: number; bases: number[]; next: number }[] = [
      { from: 0, maxBytes: 250, bases: [0, 3], next: 6 },
      { from: 1, maxBytes: 1, bases: [0], next: 3 },
      { from: 7, maxBytes: 350, bases: [6, 9, 12], next: 15 },
      { from: 4, maxBytes: 1000, upTo: 12, bases: [3, 6, 9], next: 12 },
      { from: 4, maxBytes: 1000, upTo: 13, bases: [3, 6, 9], next: 12 },
      { from: 13, maxBytes: 1000, upTo: 13, bases: [], next: 13 },
      { from: 12, maxBytes: 1, upTo: 12, bases: [], next: 12 },
      { from: 26, maxBytes: 10_000, bases: [24, 27], next: 30 },
      { from: 29, maxBytes: 1, upTo: 100, bases: [27], next: 30 },
      { from: 30, maxBytes: 10_000, bases: [], next: 30 },
    ];
    for (const { from, maxBytes, upTo, bases, next } of table) {
      const result = await log.read(from, upTo === undefined ? { maxBytes } : { maxBytes, upToOffset: upTo });
      const what = `from ${from} maxBytes ${maxBytes} upTo ${String(upTo)}`;
      assert.deepEqual(result.batches.map((b) => b.baseOffset), bases, what);
      assert.equal(result.nextOffset, next, what);
      assert.equal(result.bytes.length, frameBytes * bases.length, what);
    }
    await log.close();
  });
});

test("a read outside [logStartOffset, logEndOffset] is OFFSET_OUT_OF_RANGE with both bounds", async () => {
  await withTempDir(async (dir) => {
    const { log } = await PartitionLog.open(dir, small);
    assert.deepEqual((await log.read(0, { maxBytes: 100 })).batches, [], "an empty log reads nothing at 0");
    await appendAll(log, tenBatches().slice(0, 2));
    for (const offset of [7, 100, -1, 1.5]) {
      await assert.rejects(log.read(offset, { maxBytes: 100 }), isLogError("OFFSET_OUT_OF_RANGE", { logStartOffset: 0, logEndOffset: 6 }), `offset ${offset}`);
    }
    await assert.rejects(log.truncateTo(-1), isLogError("OFFSET_OUT_OF_RANGE"));
    await log.close();
  });
});

test("a reopened log recovers its offsets, epoch cache, producer state and batches", async () => {
  await withTempDir(async (dir) => {
    const log = await openWithBatches(dir);
    const epochs = [
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 12 },
      { epoch: 5, startOffset: 18 },
    ];
    assert.deepEqual(log.epochs(), epochs);
    const producer43 = log.producerState(43);
    await log.close();
    const { log: reopened, warnings } = await reopen(dir);
    assert.deepEqual(warnings, []);
    assert.equal(reopened.logEndOffset, 30);
    assert.equal(reopened.syncedEndOffset, 30);
    assert.equal(reopened.latestEpoch, 5);
    assert.deepEqual(reopened.epochs(), epochs);
    assert.deepEqual(reopened.producerState(43), producer43);
    // Producer 42 appended batches 1, 3, 5, 7, 9 (sequences 0..14) at offsets 0, 6, 12, 18, 24.
    assert.deepEqual(reopened.producerState(42)?.batches.map((b) => [b.baseSequence, b.lastSequence, b.baseOffset, b.lastOffset]), [
      [0, 2, 0, 2],
      [3, 5, 6, 8],
      [6, 8, 12, 14],
      [9, 11, 18, 20],
      [12, 14, 24, 26],
    ]);
    assert.deepEqual(reopened.checkSequence(42, 3, 3), { kind: "duplicate", baseOffset: 6, lastOffset: 8 });
    assert.deepEqual(reopened.checkSequence(42, 15, 1), { kind: "new" });
    const endOffsets = [1, 3, 5, 4, 0, 6].map((epoch) => reopened.endOffsetForEpoch(epoch));
    assert.deepEqual(endOffsets, [{ epoch: 1, endOffset: 12 }, { epoch: 3, endOffset: 18 }, { epoch: 5, endOffset: 30 }, { epoch: 3, endOffset: 18 }, { epoch: 0, endOffset: 0 }, undefined]);
    assert.deepEqual(plain(await readAll(reopened)), plain(stored(tenBatches())));
    await reopened.close();
  });
});

test("a leader's append checks the producer's sequence: a retry is answered with its offsets, a gap is refused", async () => {
  await withTempDir(async (dir) => {
    const log = await openWithBatches(dir);
    const retry = await log.append(testBatch(3, 5, { producerId: 42, baseSequence: 3 }));
    assert.deepEqual(retry, { baseOffset: 6, lastOffset: 8, duplicate: true });
    await assert.rejects(log.append(testBatch(11, 5, { producerId: 42, baseSequence: 16 })), isLogError("OUT_OF_ORDER_SEQUENCE", { expectedSequence: 15 }));
    await assert.rejects(log.append(testBatch(11, 5, { producerId: 7, baseSequence: 1 })), isLogError("OUT_OF_ORDER_SEQUENCE", { expectedSequence: 0 }));
    await assert.rejects(log.append(testBatch(11, 4)), isLogError("FENCED_LEADER_EPOCH", { latestEpoch: 5 }));
    await assert.rejects(log.append({ ...testBatch(11), records: [] }), isLogError("INVALID_BATCH"));
    assert.equal(log.logEndOffset, 30, "nothing refused was appended");
    assert.deepEqual(await log.append(testBatch(11, 6, { producerId: 42, baseSequence: 15 })), { baseOffset: 30, lastOffset: 32, duplicate: false });
    assert.deepEqual(log.epochs().at(-1), { epoch: 6, startOffset: 30 });
    await log.close();
  });
});

/** `batch` with its records only encoded, as a leader appends a binary produce request's. */
function encodedOnly(batch: BatchToAppend): EncodedBatchToAppend {
  const { records, encodedRecords: _encoded, ...fields } = batch;
  const frame = encodeBatchFrame({ ...batch, baseOffset: 0 });
  return { ...fields, recordsCount: records.length, encodedRecords: frame.subarray(frameHeaderBytes + frameBodyFixedBytes + 24) };
}

test("a leader's batch appended with its records only encoded is stored byte for byte as its decoded form, with the same checks", async () => {
  await withTempDir(async (dir) => {
    await withTempDir(async (encodedDir) => {
      const decoded = await openWithBatches(dir);
      const { log } = await PartitionLog.open(encodedDir, small);
      for (const batch of tenBatches()) await log.append(encodedOnly(batch));
      await log.sync();
      for (const name of (await readdir(dir)).sort()) assert.deepEqual(await readFile(join(encodedDir, name)), await readFile(join(dir, name)), name);
      assert.deepEqual(await log.append(encodedOnly(testBatch(3, 5, { producerId: 42, baseSequence: 3 }))), { baseOffset: 6, lastOffset: 8, duplicate: true });
      await assert.rejects(log.append(encodedOnly(testBatch(11, 5, { producerId: 42, baseSequence: 16 }))), isLogError("OUT_OF_ORDER_SEQUENCE", { expectedSequence: 15 }));
      await assert.rejects(log.append(encodedOnly(testBatch(11, 4))), isLogError("FENCED_LEADER_EPOCH", { latestEpoch: 5 }));
      await assert.rejects(log.append({ ...encodedOnly(testBatch(11)), recordsCount: 0 }), isLogError("INVALID_BATCH"));
      assert.equal(log.logEndOffset, 30, "nothing refused was appended");
      assert.deepEqual(await log.append(encodedOnly(testBatch(11, 6, { producerId: 42, baseSequence: 15 }))), { baseOffset: 30, lastOffset: 32, duplicate: false });
      assert.deepEqual(plain(await readAll(log)), plain([...stored(tenBatches()), ...stored([testBatch(11, 6, { producerId: 42, baseSequence: 15 })], 30)]));
      await Promise.all([log.close(), decoded.close()]);
    });
  });
});

test("a torn tail cut at any byte of the last batch is truncated with a warning, durably", async () => {
  await withTempDir(async (dir) => {
    const log = await openWithBatches(dir, 8);
    await log.append(tenBatches()[8] ?? assert.fail());
    await log.close();
    const segment = join(dir, segmentFileName(18));
    const written = await readFile(segment);
    assert.equal(written.length, 3 * frameBytes);
    for (let cut = 2 * frameBytes; cut <= written.length; cut++) {
      await writeFile(segment, written.subarray(0, cut));
      const whole = cut === 2 * frameBytes || cut === written.length;
      const { log: reopened, warnings } = await reopen(dir);
      assert.equal(reopened.logEndOffset, cut === written.length ? 27 : 24, `cut at ${cut}`);
      assert.deepEqual(warnings.length === 0 ? [] : [warnings[0]?.replace(/: .*/, "")], whole ? [] : [`Truncated torn tail of segment ${segmentFileName(18)} at byte ${2 * frameBytes}`], `cut at ${cut}`);
      await reopened.close();
      assert.deepEqual(await reopenWarnings(dir), [], `cut at ${cut}: a second open finds nothing to repair`);
    }
  });
});

test("a last segment torn down to nothing stays where the log ends, and appends continue into it", async () => {
  await withTempDir(async (dir) => {
    await (await openWithBatches(dir)).close();
    await writeFile(join(dir, segmentFileName(27)), (await readFile(join(dir, segmentFileName(27)))).subarray(0, 40));
    const { log, warnings } = await reopen(dir);
    assert.equal(warnings.length, 1);
    assert.equal(log.logEndOffset, 27);
    assert.deepEqual(await log.append(testBatch(11, 5)), { baseOffset: 27, lastOffset: 29, duplicate: false });
    await log.sync();
    await log.close();
    const { log: again } = await reopen(dir);
    assert.deepEqual(plain(await readAll(again)), plain(stored([...tenBatches().slice(0, 9), testBatch(11, 5)])));
    await again.close();
  });
});

test("a bad batch before valid ones is corruption naming the file and byte; the directory is left as found", async () => {
  await withTempDir(async (dir) => {
    // Nine batches: the last segment, 18, holds batches at offsets 18, 21 and 24.
    await (await openWithBatches(dir, 9)).close();
    const last = join(dir, segmentFileName(18));
    await flipByte(last, frameBytes + 50);
    const before = await readFile(last);
    await assert.rejects(reopen(dir), isCorruption(segmentFileName(18), frameBytes, /bad CRC, followed by a valid batch at offset 24 at byte 200/));
    assert.deepEqual(await readFile(last), before);
  });
});

test("a bad batch in a sealed segment is corruption when its index is rebuilt, and at read time otherwise", async () => {
  await withTempDir(async (dir) => {
    await (await openWithBatches(dir)).close();
    await flipByte(join(dir, segmentFileName(0)), frameBytes + 50);
    // The index file vouches for the segment: open trusts it; the CRC check of the read finds the damage.
    const { log } = await reopen(dir);
    await assert.rejects(log.read(0, { maxBytes: 1000 }), isCorruption(segmentFileName(0), frameBytes, /bad CRC/));
    await assert.rejects(log.read(27, { maxBytes: 1000 }), isLogError("STORAGE_FAILED"));
    await log.close();
    await unlink(join(dir, indexFileName(0)));
    await assert.rejects(reopen(dir), isCorruption(segmentFileName(0), frameBytes, /bad CRC in a segment that is not the last/));
  });
});

test("index files that are missing, damaged or of another segment are rebuilt byte for byte from their segment", async () => {
  await withTempDir(async (dir) => {
    await (await openWithBatches(dir)).close();
    const index = (offset: number): string => join(dir, indexFileName(offset));
    const originals = await Promise.all([0, 9, 18].map((offset) => readFile(index(offset))));
    await unlink(index(0));
    await flipByte(index(9), 30);
    await writeFile(index(18), originals[0] ?? assert.fail());
    const { log, warnings } = await reopen(dir);
    assert.deepEqual(warnings.map((w) => w.replace(/: .*/, "")), [0, 9, 18].map((o) => `Rebuilt index file ${indexFileName(o)} from its segment`));
    assert.match(warnings.join("\n"), /it is missing[\s\S]*bad CRC[\s\S]*it describes the segment at 0/);
    assert.deepEqual(await Promise.all([0, 9, 18].map((offset) => readFile(index(offset)))), originals);
    assert.deepEqual(plain((await log.read(13, { maxBytes: 1000 })).batches), plain(stored(tenBatches()).slice(4)));
    await log.close();
    assert.deepEqual(await reopenWarnings(dir), []);
  });
});

test("truncateTo drops whole batches across segments durably, trims epochs and producer state, and appends continue", async () => {
  await withTempDir(async (dir) => {
    const log = await openWithBatches(dir);
    await log.truncateTo(30);
    assert.equal(log.logEndOffset, 30, "truncating at the log end changes nothing");
    // 20 is inside batch 7 (offsets 18..20): the whole batch goes, and segment 18 is left empty.
    await log.truncateTo(20);
    assert.equal(log.logEndOffset, 18);
    assert.equal(log.syncedEndOffset, 18);
    assert.deepEqual((await readdir(dir)).sort(), [indexFileName(0), indexFileName(9), segmentFileName(0), segmentFileName(9), segmentFileName(18)].sort());
    assert.deepEqual(log.epochs(), [{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 12 }]);
    assert.deepEqual(log.producerState(42)?.batches.at(-1), { baseSequence: 6, lastSequence: 8, baseOffset: 12, lastOffset: 14 });
    await log.truncateTo(13);
    assert.equal(log.logEndOffset, 12);
    assert.deepEqual(log.epochs(), [{ epoch: 1, startOffset: 0 }]);
    assert.deepEqual(log.checkSequence(42, 6, 3), { kind: "new" }, "the truncated batch is no longer a duplicate");
    const appended = [testBatch(20, 7, { producerId: 42, baseSequence: 6 }), testBatch(21, 7), testBatch(22, 7)];
    await appendAll(log, appended);
    await log.sync();
    await log.close();
    const { log: reopened, warnings } = await reopen(dir);
    assert.deepEqual(warnings, []);
    const expected = [...stored(tenBatches().slice(0, 4)), ...stored(appended, 12)];
    assert.deepEqual(plain(await readAll(reopened)), plain(expected));
    assert.deepEqual(reopened.epochs(), [{ epoch: 1, startOffset: 0 }, { epoch: 7, startOffset: 12 }]);
    assert.deepEqual(reopened.checkSequence(42, 6, 3), { kind: "duplicate", baseOffset: 12, lastOffset: 14 });
    await reopened.truncateTo(0);
    assert.equal(reopened.logEndOffset, 0);
    assert.deepEqual(reopened.epochs(), []);
    assert.equal(reopened.producerState(42), undefined);
    await reopened.close();
  });
});

test("a follower copies the leader's frames verbatim; a gap or an epoch going back is refused", async () => {
  await withTempDir(async (dir) => {
    const leader = await openWithBatches(join(dir, "leader"));
    const { log: follower } = await PartitionLog.open(join(dir, "follower"), small);
    // Each round is one replica fetch: from the follower's log end, at most 250 bytes, below the high watermark.
    // Rounds alternate between batches decoded record by record and batches only checked, as a broker's
    // follower receives them: both must store the leader's bytes.
    for (let round = 0; follower.logEndOffset < leader.logEndOffset; round++) {
      assert.ok(round < 10, "replication makes progress");
      const { bytes } = await leader.read(follower.logEndOffset, { maxBytes: 250, upToOffset: leader.logEndOffset });
      await follower.appendReplicated(round % 2 === 0 ? decodeBatchFrames(bytes) : checkBatchFrames(bytes));
    }
    await follower.sync();
    for (const name of [0, 9, 18, 27].map(segmentFileName)) {
      assert.deepEqual(await readFile(join(dir, "follower", name)), await readFile(join(dir, "leader", name)), name);
    }
    assert.deepEqual(follower.epochs(), leader.epochs());
    assert.deepEqual(follower.producerState(42), leader.producerState(42));
    const next = { ...testBatch(11, 5), baseOffset: 31 };
    await assert.rejects(follower.appendReplicated([next]), isLogError("OFFSET_MISMATCH", { logEndOffset: 30 }));
    await assert.rejects(follower.appendReplicated([{ ...next, baseOffset: 30, leaderEpoch: 4 }]), isLogError("FENCED_LEADER_EPOCH", { latestEpoch: 5 }));
    await assert.rejects(follower.appendReplicated([{ ...next, baseOffset: 30 }, next]), isLogError("OFFSET_MISMATCH"));
    assert.equal(follower.logEndOffset, 30, "nothing refused was appended");
    await Promise.all([leader.close(), follower.close()]);
  });
});

test("syncedEndOffset moves only once sync() returns, and concurrent syncs share one fsync", async () => {
  await withTempDir(async (dir) => {
    const { log } = await PartitionLog.open(dir, small);
    await log.append(testBatch(1));
    assert.equal(log.logEndOffset, 3);
    assert.equal(log.syncedEndOffset, 0);
    await log.sync();
    assert.equal(log.syncedEndOffset, 3);
    assert.equal(log.syncRuns(), 1);
    // Not awaited one by one: every sync() queued behind the appends joins the one fsync round.
    const appends = [2, 3, 4, 5, 6].map((seed) => log.append(testBatch(seed)));
    const syncs = [log.sync(), log.sync(), log.sync()];
    await Promise.all([...appends, ...syncs]);
    assert.equal(log.syncedEndOffset, 18);
    assert.equal(log.syncRuns(), 2);
    await log.sync();
    assert.equal(log.syncRuns(), 2, "nothing new to make durable: no fsync");
    await log.close();
  });
});

test("delete() removes the partition directory and keeps its parent", async () => {
  await withTempDir(async (dir) => {
    const partitionDir = join(dir, "orders", "3");
    const { log } = await PartitionLog.open(partitionDir, small);
    await appendAll(log, tenBatches().slice(0, 4));
    await log.delete();
    await assert.rejects(access(partitionDir), /ENOENT/);
    assert.deepEqual(await readdir(join(dir, "orders")), []);
  });
});
