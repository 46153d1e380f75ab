import { mkdir, open, rename, rm } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { syncDirectory, unlinkIfPresent, writeFileAtomic, writeFully } from "../storage/atomicFile.js";
import { frameBytesMin, readFrame } from "../storage/entryFrame.js";
import { assert } from "../shared/assert.js";
import { limits } from "../shared/limits.js";
import { appendEpoch, endOffsetForEpoch, truncateEpochs } from "./storage/epochCache.js";
import type { EpochEndOffset, EpochStart } from "./storage/epochCache.js";
import { PartitionLogError, invalidBatch } from "./storage/partitionLogError.js";
import { deriveEpochsAndProducers, readSegment, recoverPartition } from "./storage/partitionRecovery.js";
import type { LogConfig, SegmentState } from "./storage/partitionRecovery.js";
import { checkSequence, recordProducerBatch, sequenceAfter } from "./storage/producerState.js";
import type { ProducerState, ProducerStates, SequenceCheck } from "./storage/producerState.js";
import { batchProblem, decodeBatch, encodeBatchFrame, headerLastOffset, joinBytes, lastOffsetOf, noProducerId, recordsCountOf } from "./storage/recordBatch.js";
import type { BatchToAppend, EncodedBatchToAppend, EncodedRecordBatch, FramedBatch, RecordBatch } from "./storage/recordBatch.js";
import { FrameCursor, expectBatch, indexFileName, scanBatchSegment, segmentFileName } from "./storage/segmentFiles.js";
import { addBatchToSummary, emptySummary, encodeIndexFile, indexEntryFor } from "./storage/segmentSummary.js";

export type { BatchToAppend, EncodedBatchToAppend, FramedBatch, LogRecord, RecordBatch } from "./storage/recordBatch.js";
export type { EpochEndOffset, EpochStart } from "./storage/epochCache.js";
export type { ProducerBatch, ProducerState, SequenceCheck } from "./storage/producerState.js";
export { checkBatchFrames, decodeBatchFrames, encodeBatchFrames, noProducerId, noSequence } from "./storage/recordBatch.js";
export { PartitionLogError } from "./storage/partitionLogError.js";
export type { PartitionLogErrorCode } from "./storage/partitionLogError.js";

export interface PartitionLogOptions {
  /**
   * Roll over to a new segment before a batch would take the active one past this (a batch larger than
   * a whole segment gets one of its own). At most, and by default, `limits.broker.segmentSizeBytesMax`.
   */
  readonly segmentSizeBytesMax?: number;
  /** Bytes between two entries of a segment's sparse offset index; `limits.broker.indexIntervalBytes` by default. */
  readonly indexIntervalBytes?: number;
}

export interface OpenedPartitionLog {
  readonly log: PartitionLog;
  /** Repairs made on open (torn tail truncated, index files rebuilt, leftovers removed), for the caller to log. */
  readonly warnings: string[];
}

/** Where a leader's batch went: its offsets, or those of the batch it retries (`duplicate`). */
export interface AppendResult {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly duplicate: boolean;
}

export interface ReadOptions {
  /** Bytes of batches to return at most, unless the first batch alone is larger (it is returned whole). */
  readonly maxBytes: number;
  /** Return only batches that end below this offset (the high watermark); the log end when absent. */
  readonly upToOffset?: number;
  /** False: `batches` comes back empty, for a reader that wants the frames only (a leader serving a fetch). */
  readonly decode?: boolean;
}

export interface ReadResult {
  /** Whole batches, the first one holding the offset asked for (it may start before it). */
  readonly batches: RecordBatch[];
  /**
   * The same batches as stored frames, back to back: what a leader sends a follower as is
   * (`decodeBatchFrames` reads them back). `batches`' keys and values are views into these bytes.
   */
  readonly bytes: Buffer;
  /** The offset after the last batch returned; the offset asked for when none was. */
  readonly nextOffset: number;
}

interface SyncWaiter {
  /** Resolved once the log is durable up to here… */
  readonly target: number;
  /** …or once a truncation since the call made everything left durable. */
  readonly truncations: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The durable log of one partition replica on a broker (DESIGN §8): `<dataDir>/<topic>/<partition>/`
 * holds segment files of record batches (recordBatch.ts, in the controller log's frame format) named by
 * base offset, each with an index file (segmentSummary.ts). The leader epoch cache and the producer
 * states are not stored on their own: they are derived from the batches, which carry epoch, producer id
 * and sequence. Opening reads each sealed segment's index file (its summary) and scans only the last
 * segment, so it costs one segment's read however long the log; an index file that is missing or does
 * not match its segment costs a scan of that segment. A bad batch in a sealed segment is therefore found
 * when it is read (every frame read is CRC-checked), not at open.
 *
 * Written vs synced (DESIGN §4). `append` and `appendReplicated` resolve once their batches are handed to
 * the operating system (`logEndOffset` moves): reads see them, a crash may lose them. `sync()` resolves
 * once everything appended before the call is durable (`syncedEndOffset` moves); calls made while an
 * fsync runs share the next one (group commit), and appends go on while it runs. A caller that must
 * count only durable data (a follower's fetch offset, acks=1, the leader's own share of the high
 * watermark) uses `syncedEndOffset`. Roll-over fsyncs the full segment before the next one exists, and
 * `truncateTo` is durable when it resolves: so only the last segment can ever end in a torn frame.
 *
 * Appends, reads and truncations run one at a time in call order (a read waits for the appends queued
 * before it, never for an fsync), so a truncation can never cut a file under a read.
 *
 * Failure: once a write or fsync fails the log is poisoned, as the controller's storage is: what is on
 * disk is unknown and a retried fsync can report success for lost data, so every later call rejects
 * with STORAGE_FAILED and the log must be reopened (recovered from the disk).
 */
export class PartitionLog {
  private epochCache: EpochStart[];
  private producers: ProducerStates;
  /** Handle of the last segment, the only one ever written; undefined when the log has no segment. */
  private activeHandle: FileHandle | undefined;
  /** Bytes were written to the active segment since the last fsync started. */
  private activeDirty = false;
  /** A segment file was created since the directory's last fsync. */
  private directoryDirty = false;
  private syncedEnd: number;
  /** Counts truncations started: a round that overlaps one must not move `syncedEnd` (its target may be gone). */
  private truncationsCount = 0;
  /** A truncation is under way: the active handle is closed and the log end about to move, so no round starts. */
  private truncating = false;
  private syncWaiters: SyncWaiter[] = [];
  private syncRound: Promise<void> | undefined;
  private syncRunsCount = 0;
  /** The last queued operation; each runs after the one before it settles. */
  private tail: Promise<void> = Promise.resolve();
  private queuedCount = 0;
  private failure: Error | undefined;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly config: LogConfig,
    private readonly segments: SegmentState[],
  ) {
    const derived = deriveEpochsAndProducers(segments, config.summary);
    this.epochCache = derived.epochs;
    this.producers = derived.producers;
    // Recovery only returns what the disk holds: all of it is durable.
    this.syncedEnd = this.logEndOffset;
  }

  /**
   * Opens (creating if needed) the partition log in `dir` and recovers it. Throws `StorageCorruptionError`
   * naming the file and byte when the disk holds what no crash can explain; the replica must not start.
   */
  static async open(dir: string, options: PartitionLogOptions = {}): Promise<OpenedPartitionLog> {
    const segmentSizeBytesMax = options.segmentSizeBytesMax ?? limits.broker.segmentSizeBytesMax;
    const indexIntervalBytes = options.indexIntervalBytes ?? limits.broker.indexIntervalBytes;
    assert(Number.isSafeInteger(segmentSizeBytesMax) && segmentSizeBytesMax >= frameBytesMin && segmentSizeBytesMax <= limits.broker.segmentSizeBytesMax, `segmentSizeBytesMax must be in [${frameBytesMin}, ${limits.broker.segmentSizeBytesMax}], got ${segmentSizeBytesMax}`);
    assert(Number.isSafeInteger(indexIntervalBytes) && indexIntervalBytes >= 1, `indexIntervalBytes must be a positive integer, got ${indexIntervalBytes}`);
    const config: LogConfig = {
      segmentSizeBytesMax,
      batchBytesMax: limits.broker.batchBytesMax,
      summary: { indexIntervalBytes, producersCountMax: limits.broker.producersCountMax, producerBatchesCountMax: limits.broker.producerBatchesCountMax },
    };
    await createDirectory(dir);
    const { segments, warnings } = await recoverPartition(dir, config);
    const log = new PartitionLog(dir, config, segments);
    const last = segments[segments.length - 1];
    if (last !== undefined) log.activeHandle = await open(join(dir, last.fileName), "r+");
    return { log, warnings };
  }

  /** The first offset held: the base offset of the first segment (0 for a log that never had one). */
  get logStartOffset(): number {
    return this.segments[0]?.summary.baseOffset ?? 0;
  }

  /** The offset the next batch gets: one after the last written record. */
  get logEndOffset(): number {
    return this.segments[this.segments.length - 1]?.summary.nextOffset ?? this.logStartOffset;
  }

  /** Everything below this offset is durable; at most `logEndOffset`. */
  get syncedEndOffset(): number {
    return this.syncedEnd;
  }

  /** The leader epoch of the last batch (what a follower sends as `lastFetchedEpoch`); undefined when empty. */
  get latestEpoch(): number | undefined {
    return this.epochCache[this.epochCache.length - 1]?.epoch;
  }

  /** The leader epoch cache: each epoch that appended and the offset of its first batch, in order. */
  epochs(): EpochStart[] {
    return [...this.epochCache];
  }

  /** Kafka's OffsetsForLeaderEpoch for `epoch` (see epochCache.ts); undefined when `epoch` is above every known one. */
  endOffsetForEpoch(epoch: number): EpochEndOffset | undefined {
    return endOffsetForEpoch(this.epochCache, epoch, this.logEndOffset);
  }

  /** The last batches of `producerId` in this log (written ones included); undefined when none is kept. */
  producerState(producerId: number): ProducerState | undefined {
    return this.producers.get(producerId);
  }

  /** What a batch of `count` records from `baseSequence` would be for `producerId` now (producerState.ts). */
  checkSequence(producerId: number, baseSequence: number, count: number): SequenceCheck {
    assert(producerId !== noProducerId, "only an idempotent producer's batch has a sequence to check");
    return checkSequence(this.producers.get(producerId), baseSequence, count);
  }

  /** How many fsync rounds ran: lets tests see group commit. */
  syncRuns(): number {
    return this.syncRunsCount;
  }

  /**
   * Appends a leader's batch at the log end. The sequence is checked when the append runs, after every
   * append queued before it: a retry of one of the producer's recent batches is answered with that
   * batch's offsets (`duplicate`) and appends nothing. Written, not durable, when the promise resolves.
   * Rejects with `PartitionLogError` INVALID_BATCH, FENCED_LEADER_EPOCH (an epoch below the log's latest)
   * or OUT_OF_ORDER_SEQUENCE, appending nothing.
   */
  append(batch: BatchToAppend | EncodedBatchToAppend): Promise<AppendResult> {
    return this.enqueue(async () => {
      const stamped: RecordBatch | EncodedRecordBatch = { ...batch, baseOffset: this.logEndOffset };
      this.validate(stamped, this.latestEpoch);
      if (batch.producerId !== noProducerId) {
        const check = this.checkSequence(batch.producerId, batch.baseSequence, recordsCountOf(batch));
        switch (check.kind) {
          case "new":
            break;
          case "duplicate":
            return { baseOffset: check.baseOffset, lastOffset: check.lastOffset, duplicate: true };
          case "outOfOrder":
            throw new PartitionLogError("OUT_OF_ORDER_SEQUENCE", `Cannot append batch from sequence ${batch.baseSequence} of producer ${batch.producerId} as it is out of order: expected sequence ${check.expected}`, { expectedSequence: check.expected });
        }
      }
      await this.writeBatches([framed(stamped)]);
      return { baseOffset: stamped.baseOffset, lastOffset: lastOffsetOf(stamped), duplicate: false };
    });
  }

  /**
   * Appends batches copied from the leader, as they are (offsets, epochs, producer sequences). They must
   * start at the log end and follow one another (OFFSET_MISMATCH otherwise: a fetch answer that raced a
   * truncation), with epochs that never go back (FENCED_LEADER_EPOCH). All or nothing is appended when
   * the checks fail; written, not durable, when the promise resolves. A `FramedBatch` comes from
   * `checkBatchFrames`, which already refused what `batchProblem` refuses; a `RecordBatch` is checked here.
   */
  appendReplicated(batches: readonly (RecordBatch | FramedBatch)[]): Promise<void> {
    return this.enqueue(async () => {
      let expectedOffset = this.logEndOffset;
      let latestEpoch = this.latestEpoch;
      let totalBytes = 0;
      const checked: FramedBatch[] = [];
      for (const [i, batch] of batches.entries()) {
        if (batch.baseOffset !== expectedOffset) {
          const where = i === 0 ? `the log ends at ${expectedOffset}` : `batch ${i - 1} ends at ${expectedOffset - 1}`;
          throw new PartitionLogError("OFFSET_MISMATCH", `Cannot append replicated batch at offset ${batch.baseOffset} as ${where}`, { logEndOffset: this.logEndOffset });
        }
        const problem = "records" in batch ? batchProblem(batch) : undefined;
        if (problem !== undefined) throw invalidBatch(problem);
        this.checkEpoch(batch.leaderEpoch, latestEpoch);
        const framedBatch = "records" in batch ? framed(batch) : batch;
        totalBytes += framedBatch.frame.length;
        if (totalBytes > limits.broker.replicatedAppendBytesMax) throw invalidBatch(`replicated batches hold more than ${limits.broker.replicatedAppendBytesMax} bytes`);
        checked.push(framedBatch);
        expectedOffset = headerLastOffset(framedBatch) + 1;
        latestEpoch = batch.leaderEpoch;
      }
      await this.writeBatches(checked);
    });
  }

  /**
   * Resolves once everything appended before the call is durable (or was truncated away, a truncation
   * being durable itself). One fsync serves every call made while it is pending or running.
   */
  async sync(): Promise<void> {
    const mark = await this.enqueue(async () => ({ target: this.logEndOffset, truncations: this.truncationsCount }));
    await new Promise<void>((resolve, reject) => {
      this.syncWaiters.push({ ...mark, resolve, reject });
      this.startSyncRound();
    });
  }

  /**
   * Whole batches from the one holding `fromOffset`, in offset order, up to `maxBytes` of frames (at least
   * one batch when any is readable), each ending below `upToOffset` when given. Found through the segment's
   * sparse index, so at most one index interval and one batch are read before the first batch. Rejects with
   * OFFSET_OUT_OF_RANGE when `fromOffset` is outside [logStartOffset, logEndOffset].
   */
  read(fromOffset: number, options: ReadOptions): Promise<ReadResult> {
    assert(Number.isSafeInteger(options.maxBytes) && options.maxBytes >= 1 && options.maxBytes <= limits.broker.readBytesMax, `maxBytes must be in [1, ${limits.broker.readBytesMax}], got ${options.maxBytes}`);
    return this.enqueue(async () => {
      this.checkInRange("read from", fromOffset);
      const limit = Math.min(options.upToOffset ?? this.logEndOffset, this.logEndOffset);
      const frames: Buffer[] = [];
      let sizeBytes = 0;
      let nextOffset = fromOffset;
      for (let i = this.segmentIndexHolding(fromOffset); i < this.segments.length && nextOffset < limit; i++) {
        const segment = this.segments[i];
        assert(segment !== undefined, "segment in range");
        const start = segment.summary.baseOffset <= fromOffset ? indexEntryFor(segment.summary, fromOffset) : { offset: segment.summary.baseOffset, position: 0 };
        const taken = await this.collectFrames(segment, start, { fromOffset, limit, bytesLeft: options.maxBytes - sizeBytes, takeFirst: frames.length === 0 });
        frames.push(...taken.frames);
        sizeBytes += taken.sizeBytes;
        nextOffset = taken.nextOffset ?? nextOffset;
        if (!taken.reachedEnd) break;
      }
      const bytes = joinBytes(frames);
      return { batches: options.decode === false ? [] : decodeFrames(bytes), bytes, nextOffset };
    });
  }

  /**
   * Removes every batch that holds `offset` or a later one (a follower's divergent tail, KIP-101), so the
   * log then ends at `offset`, or before it when `offset` falls inside a batch. Durable when the promise
   * resolves: later segments are deleted newest first and the directory fsynced, then the segment holding
   * the cut is cut and fsynced. The epoch cache and producer states are rebuilt from what is left.
   * `offset` at or after the log end changes nothing; below the log start is OFFSET_OUT_OF_RANGE.
   */
  truncateTo(offset: number): Promise<void> {
    return this.enqueue(async () => {
      this.checkInRange("truncate to", Math.min(offset, this.logEndOffset));
      if (offset >= this.logEndOffset) return;
      await this.truncateNow(offset);
    });
  }

  /**
   * Waits for every queued operation and fsync round, then closes the files. Does not sync: call `sync()`
   * first for a clean shutdown; whatever was only written may be lost by a crash after close.
   */
  async close(): Promise<void> {
    assert(!this.closed, "partition log is already closed");
    const drained = this.enqueue(async () => {}).catch(() => {});
    this.closed = true;
    await drained;
    while (this.syncRound !== undefined) await this.syncRound;
    await this.closeActive();
  }

  /**
   * Removes the whole partition directory (topic deletion), closing the log first if needed. The
   * directory is first renamed to `<partition>.deleted` in one atomic step, so a crash part-way never
   * leaves a partition directory missing some of its segments; a leftover `*.deleted` directory is
   * garbage for whoever sweeps the data directory at start-up.
   */
  async delete(): Promise<void> {
    if (!this.closed) await this.close();
    const parent = dirname(this.dir);
    const doomed = join(parent, `${basename(this.dir)}.deleted`);
    await rm(doomed, { recursive: true, force: true });
    await rename(this.dir, doomed);
    await syncDirectory(parent);
    await rm(doomed, { recursive: true, force: true });
    await syncDirectory(parent);
  }

  // ---------------------------------------------------------------- writes

  /** Refuses a batch that breaks the format's rules or the epoch order; `latestEpoch` is the log's before it. */
  private validate(batch: RecordBatch | EncodedRecordBatch, latestEpoch: number | undefined): void {
    const problem = batchProblem(batch);
    if (problem !== undefined) throw invalidBatch(problem);
    this.checkEpoch(batch.leaderEpoch, latestEpoch);
  }

  private checkEpoch(leaderEpoch: number, latestEpoch: number | undefined): void {
    if (latestEpoch !== undefined && leaderEpoch < latestEpoch) {
      throw new PartitionLogError("FENCED_LEADER_EPOCH", `Cannot append batch of leader epoch ${leaderEpoch} as the log holds epoch ${latestEpoch}`, { latestEpoch });
    }
  }

  /** Writes validated, consecutive batches from the log end: one write per segment they land in. */
  private async writeBatches(batches: readonly FramedBatch[]): Promise<void> {
    let pending: FramedBatch[] = [];
    let pendingBytes = 0;
    for (const batch of batches) {
      const active = this.segments[this.segments.length - 1];
      const activeBytes = (active?.summary.sizeBytes ?? 0) + pendingBytes;
      if (active === undefined || (activeBytes > 0 && activeBytes + batch.frame.length > this.config.segmentSizeBytesMax)) {
        await this.writePending(pending);
        pending = [];
        pendingBytes = 0;
        await this.rollOver(batch.baseOffset);
      }
      pending.push(batch);
      pendingBytes += batch.frame.length;
    }
    await this.writePending(pending);
  }

  private async writePending(pending: readonly FramedBatch[]): Promise<void> {
    if (pending.length === 0) return;
    const segment = this.segments[this.segments.length - 1];
    assert(segment !== undefined && this.activeHandle !== undefined, "batches are written to an open active segment");
    const bytes = joinBytes(pending.map((p) => p.frame));
    await writeFully(this.activeHandle, bytes, segment.summary.sizeBytes);
    // Only once the write is done: an fsync round that started during it does not cover it.
    this.activeDirty = true;
    for (const batch of pending) {
      const { baseOffset, leaderEpoch, producerId, baseSequence, appendTimeMs, recordsCount } = batch;
      addBatchToSummary(segment.summary, { baseOffset, leaderEpoch, producerId, baseSequence, appendTimeMs, recordsCount }, batch.frame.length, this.config.summary);
      appendEpoch(this.epochCache, leaderEpoch, baseOffset);
      if (producerId !== noProducerId) {
        const lastSequence = sequenceAfter(baseSequence, recordsCount - 1);
        recordProducerBatch(this.producers, producerId, { baseSequence, lastSequence, baseOffset, lastOffset: headerLastOffset(batch) }, this.config.summary);
      }
    }
  }

  /**
   * Starts a new segment at `baseOffset`. The full one is fsynced and its index file written first, so
   * every segment but the last is whole on disk and has an index file that describes it.
   */
  private async rollOver(baseOffset: number): Promise<void> {
    const sealed = this.segments[this.segments.length - 1];
    if (sealed !== undefined) {
      assert(this.activeHandle !== undefined, "the last segment is open");
      await this.activeHandle.sync();
      this.activeDirty = false;
      // writeFileAtomic fsyncs the directory, which also makes the sealed segment's own entry durable.
      await writeFileAtomic(this.dir, indexFileName(sealed.summary.baseOffset), [encodeIndexFile(sealed.summary)]);
      await this.closeActive();
    }
    assert(this.segments.length < limits.broker.segmentsCountMax, `partition log ${this.dir} has ${limits.broker.segmentsCountMax} segments`);
    const fileName = segmentFileName(baseOffset);
    // "wx+" (read-write, exclusive): a file already there would mean the bookkeeping has lost track of the directory.
    this.activeHandle = await open(join(this.dir, fileName), "wx+");
    this.directoryDirty = true;
    this.segments.push({ fileName, summary: emptySummary(baseOffset) });
  }

  private async truncateNow(offset: number): Promise<void> {
    this.truncationsCount++;
    this.truncating = true;
    try {
      await this.cutTail(offset);
    } finally {
      this.truncating = false;
    }
    // Every segment left was fsynced whole (roll-over) or just now (the holder).
    this.syncedEnd = this.logEndOffset;
    this.startSyncRound();
  }

  private async cutTail(offset: number): Promise<void> {
    const holderAt = this.segmentIndexHolding(offset);
    const holder = this.segments[holderAt];
    assert(holder !== undefined, `offset ${offset} below the log end is held by a segment`);
    await this.closeActive();
    // Newest first, index before segment: a crash part-way leaves a contiguous prefix of whole segments,
    // and never an index file without its segment that a later segment of the same name could pick up.
    for (let last = this.segments[this.segments.length - 1]; last !== holder && last !== undefined; last = this.segments[this.segments.length - 1]) {
      await unlinkIfPresent(join(this.dir, indexFileName(last.summary.baseOffset)));
      await unlinkIfPresent(join(this.dir, last.fileName));
      this.segments.pop();
    }
    // The holder becomes the last segment, whose index file recovery never trusts; remove the stale one.
    await unlinkIfPresent(join(this.dir, indexFileName(holder.summary.baseOffset)));
    await syncDirectory(this.dir);
    this.directoryDirty = false;
    const bytes = (await readSegment(this.dir, holder.fileName)).subarray(0, holder.summary.sizeBytes);
    const scan = scanBatchSegment(bytes, holder.fileName, holder.summary.baseOffset, { isLast: false, batchBytesMax: this.config.batchBytesMax, summary: this.config.summary, stopAtOffset: offset });
    this.activeHandle = await open(join(this.dir, holder.fileName), "r+");
    await this.activeHandle.truncate(scan.summary.sizeBytes);
    await this.activeHandle.sync();
    this.activeDirty = false;
    holder.summary = scan.summary;
    assert(this.segments.length === holderAt + 1, "the holder is the last segment");
    this.epochCache = truncateEpochs(this.epochCache, this.logEndOffset);
    this.producers = deriveEpochsAndProducers(this.segments, this.config.summary).producers;
  }

  // ---------------------------------------------------------------- sync (group commit)

  /** Starts an fsync round when callers wait for one and none runs; the round's end starts the next. */
  private startSyncRound(): void {
    if (this.syncRound !== undefined || this.truncating) return;
    this.settleSyncWaiters();
    if (this.syncWaiters.length === 0) return;
    this.syncRound = this.runSyncRound().finally(() => {
      this.syncRound = undefined;
      this.startSyncRound();
    });
  }

  /**
   * One fsync of the active segment (and of the directory when a segment was created), covering every
   * append written when it starts. Appends may run meanwhile; a roll-over that closes the handle waits
   * for the fsync, which was issued first.
   */
  private async runSyncRound(): Promise<void> {
    const target = this.logEndOffset;
    const truncations = this.truncationsCount;
    const handle = this.activeDirty ? this.activeHandle : undefined;
    const directoryDirty = this.directoryDirty;
    this.activeDirty = false;
    this.directoryDirty = false;
    try {
      if (this.failure !== undefined) throw this.failure;
      if (handle !== undefined) await handle.sync();
      if (directoryDirty) await syncDirectory(this.dir);
      this.syncRunsCount++;
      // A truncation during the round makes what is left durable itself; the round's target may be gone.
      if (truncations === this.truncationsCount) this.syncedEnd = Math.max(this.syncedEnd, target);
    } catch (error) {
      this.fail(error);
    }
  }

  private settleSyncWaiters(): void {
    this.syncWaiters = this.syncWaiters.filter((waiter) => {
      const settled = waiter.target <= this.syncedEnd || waiter.truncations !== this.truncationsCount;
      if (settled) waiter.resolve();
      return !settled;
    });
  }

  private fail(error: unknown): void {
    this.failure ??= error instanceof Error ? error : new Error(String(error));
    for (const waiter of this.syncWaiters.splice(0)) waiter.reject(this.storageFailed());
  }

  private storageFailed(): PartitionLogError {
    const cause = this.failure;
    assert(cause !== undefined, "a failure was recorded");
    return new PartitionLogError("STORAGE_FAILED", `Cannot use partition log ${this.dir} as an earlier write failed: ${cause.message}`);
  }

  // ---------------------------------------------------------------- reads

  /**
   * Frames of `segment` from `start` (a batch at or before the one holding `fromOffset`): skips
   * batches that end before `fromOffset`, takes batches while they end below `limit` and fit `bytesLeft`
   * (the first one regardless when `takeFirst`). `reachedEnd` says the segment ran out first.
   */
  private async collectFrames(
    segment: SegmentState,
    start: { readonly offset: number; readonly position: number },
    want: { readonly fromOffset: number; readonly limit: number; readonly bytesLeft: number; readonly takeFirst: boolean },
  ): Promise<{ frames: Buffer[]; sizeBytes: number; nextOffset: number | undefined; reachedEnd: boolean }> {
    const isActive = segment === this.segments[this.segments.length - 1];
    const handle = isActive ? this.activeHandle : await open(join(this.dir, segment.fileName), "r");
    assert(handle !== undefined, "the last segment is open");
    const frames: Buffer[] = [];
    let sizeBytes = 0;
    let nextOffset: number | undefined;
    try {
      const chunkBytes = Math.max(limits.broker.readChunkBytes, Math.min(want.bytesLeft, limits.broker.readBytesMax));
      const cursor = new FrameCursor(handle, segment.fileName, start.position, segment.summary.sizeBytes, { chunkBytes, batchBytesMax: this.config.batchBytesMax });
      // Each round moves the cursor past one frame of the segment, so this ends within its size.
      for (let expected = start.offset; ; ) {
        const at = cursor.position;
        const next = await cursor.next();
        if (next === undefined) return { frames, sizeBytes, nextOffset, reachedEnd: true };
        const header = expectBatch(next.frame, expected, segment.fileName, at);
        const lastOffset = headerLastOffset(header);
        expected = lastOffset + 1;
        if (lastOffset < want.fromOffset) continue;
        const fits = sizeBytes + next.bytes.length <= want.bytesLeft || (want.takeFirst && frames.length === 0);
        if (lastOffset >= want.limit || !fits) return { frames, sizeBytes, nextOffset, reachedEnd: false };
        // A view: the cursor reads each chunk into a new buffer, so it stays valid until `read` concatenates.
        frames.push(next.bytes);
        sizeBytes += next.bytes.length;
        nextOffset = lastOffset + 1;
      }
    } finally {
      if (!isActive) await handle.close();
    }
  }

  /** Position in `this.segments` of the segment holding `offset`, which must be in [logStartOffset, logEndOffset]. */
  private segmentIndexHolding(offset: number): number {
    let low = 0;
    let high = this.segments.length;
    // Binary search for the first segment starting above `offset`; the one before it holds it.
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.segments[middle]?.summary.baseOffset ?? 0) <= offset) low = middle + 1;
      else high = middle;
    }
    return Math.max(0, low - 1);
  }

  private checkInRange(what: string, offset: number): void {
    const { logStartOffset, logEndOffset } = this;
    if (Number.isSafeInteger(offset) && offset >= logStartOffset && offset <= logEndOffset) return;
    throw new PartitionLogError("OFFSET_OUT_OF_RANGE", `Cannot ${what} offset ${offset} as it is outside the log: logStartOffset is ${logStartOffset}, logEndOffset is ${logEndOffset}`, { logStartOffset, logEndOffset });
  }

  // ---------------------------------------------------------------- queue

  /**
   * Runs `run` after every operation queued before it; refuses with OVERLOADED beyond
   * `limits.broker.queuedOpsCountMax` waiting. A `PartitionLogError` is a refusal that changed nothing;
   * any other error poisons the log (see the class comment).
   */
  private enqueue<T>(run: () => Promise<T>): Promise<T> {
    assert(!this.closed, `partition log ${this.dir} is closed`);
    if (this.queuedCount >= limits.broker.queuedOpsCountMax) {
      return Promise.reject(new PartitionLogError("OVERLOADED", `Cannot queue another operation on partition log ${this.dir} as ${this.queuedCount} are waiting for the disk`));
    }
    this.queuedCount++;
    const result = this.tail.then(async () => {
      if (this.failure !== undefined) throw this.storageFailed();
      try {
        return await run();
      } catch (error) {
        if (!(error instanceof PartitionLogError)) this.fail(error);
        throw error;
      }
    });
    const settled = (): void => {
      this.queuedCount--;
    };
    this.tail = result.then(settled, settled);
    return result;
  }

  private async closeActive(): Promise<void> {
    const handle = this.activeHandle;
    this.activeHandle = undefined;
    if (handle !== undefined) await handle.close();
  }
}

/** `batch`, which passes `batchProblem`, as its header and its frame. */
function framed(batch: RecordBatch | EncodedRecordBatch): FramedBatch {
  const { baseOffset, leaderEpoch, producerId, baseSequence, appendTimeMs } = batch;
  return { baseOffset, leaderEpoch, producerId, baseSequence, appendTimeMs, recordsCount: recordsCountOf(batch), frame: encodeBatchFrame(batch) };
}

/** Decodes frames this log has just read and checked: one that does not decode is a bug of this module. */
function decodeFrames(bytes: Buffer): RecordBatch[] {
  const batches: RecordBatch[] = [];
  // Each round moves past one frame of at least frameBytesMin bytes.
  for (let position = 0; position < bytes.length; ) {
    const read = readFrame(bytes, position, limits.broker.batchBytesMax);
    const batch = read.kind === "frame" ? decodeBatch(read.frame) : read.reason;
    assert(read.kind === "frame" && typeof batch !== "string", `a checked frame at byte ${position} must decode: ${String(batch)}`);
    batches.push(batch);
    position += read.sizeBytes;
  }
  return batches;
}

/** Creates `dir` and its missing parents, fsyncing each parent whose entries changed. */
async function createDirectory(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true });
  if (created === undefined) return;
  // From `dir` up to the first directory mkdir created: each new entry lives in its parent.
  for (let path = dir; ; path = dirname(path)) {
    await syncDirectory(dirname(path));
    if (path === created || dirname(path) === path) return;
  }
}
