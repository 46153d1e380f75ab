import { mkdir, open, readdir } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Entry, HardState, InitialState, Snapshot, SnapshotMeta } from "../raft/types.js";
import { assert } from "../shared/assert.js";
import { limits } from "../shared/limits.js";
import { openFile, readFully, syncDirectory, tempFileSuffix, unlinkIfPresent, writeFileAtomic, writeFully } from "./atomicFile.js";
import type { OpenFile } from "./atomicFile.js";
import { encodeEntryFrame, frameBytesMin, frameSizeBytes, readEntryFrame } from "./entryFrame.js";
import { asStorageWriteError, writingTo } from "./errors.js";
import { encodeHardState, hardStateFileName } from "./hardStateFile.js";
import { recover } from "./recovery.js";
import type { SegmentState } from "./recovery.js";
import { segmentFileName } from "./segmentScan.js";
import { encodeSnapshot, parseSnapshotFileName, snapshotFileName } from "./snapshotFile.js";

export interface RaftStorageOptions {
  /** Roll over to a new segment before a frame would take the active one past this (one frame always fits). */
  readonly segmentSizeBytesMax?: number;
  /** Larger entries are refused; at most `limits.storage.entryDataBytesMax`. */
  readonly entryDataBytesMax?: number;
  /** How files to write are opened; tests pass one whose writes fail as a full disk's do. */
  readonly openFile?: OpenFile;
}

export interface OpenedStorage {
  readonly storage: RaftStorage;
  /** What the node starts from: only what was durable, repaired as `warnings` say. */
  readonly initialState: InitialState;
  /** Repairs made on open (torn tail truncated, leftovers removed), for the caller to log. */
  readonly warnings: string[];
}

/**
 * Segments are opened with O_DSYNC: an append is durable when its one write returns. A write and then an
 * fsync were two trips to the thread pool per Ready, each waking a worker and then the event loop, and
 * those wake-ups were a large part of each Ready's CPU on the leader and the followers alike.
 */
const durableWrites = { durableWrites: true } as const;

type QueuedOp =
  | { readonly kind: "write"; readonly run: () => Promise<void>; readonly resolve: () => void; readonly reject: (error: unknown) => void }
  | { readonly kind: "sync"; readonly waiters: { resolve: () => void; reject: (error: unknown) => void }[] };
type SyncOp = Extract<QueuedOp, { kind: "sync" }>;

/**
 * A node's durable Raft state in one directory (DESIGN §4): the log as segment files, the hard state
 * and snapshot files. Built for the controller's Ready loop (see `Ready` in raft/types.ts):
 *
 *   writeSnapshot(ready.snapshot); appendEntries(ready.entries); setHardState(ready.hardState);
 *   await sync();   // only now may the Ready's messages go out (unless sendBeforePersist)
 *
 * Written vs synced. Every write method queues its write and returns a promise that resolves once the
 * write has been handed to the operating system ("written"): reads through this handle see it, a crash
 * may lose it. `sync()` resolves once everything written before the call is durable ("synced"): it
 * fsyncs the directory (when a segment was created), then writes the hard state atomically — entries
 * before hard state, so a durable commitIndex never points past durable entries. Entry frames need no
 * fsync of their own: segments are open with O_DSYNC, so each append's data is durable when its write
 * returns (a segment created since the last sync is reachable only once sync() has fsynced the
 * directory). Writes run one at a time in call order (except `saveAppSnapshot`'s file, written beside
 * them); the caller need not await one before issuing the next. Exceptions to "only sync makes durable", each because it is rare and ordering makes it safe:
 * snapshot files, truncation of a conflicting suffix, roll-over and compaction are durable when their
 * own promise resolves.
 *
 * Failure: once any write fails (disk full, EIO) the handle is poisoned: the state on disk is unknown
 * and retrying an fsync can report success for data that was lost, so every later call rejects and
 * the process must restart and recover from the disk. A system call's failure rejects as a
 * `StorageWriteError` naming the file and the code (ENOSPC). What a failed write leaves — a torn frame
 * at the end of the last segment, an empty new segment, a temp file — is what a crash leaves, and
 * recovery repairs it; nothing synced before the failure is touched.
 *
 * One handle per directory; nothing here prevents a second process from opening the same one.
 */
export class RaftStorage {
  private readonly queue: QueuedOp[] = [];
  private draining = false;
  /** The sync op queued and not yet started, which a later `sync()` joins (group commit). */
  private queuedSync: SyncOp | undefined;
  /** The sync op running now, which a `sync()` joins when nothing was queued since it started. */
  private runningSync: SyncOp | undefined;
  private queuedSinceSyncStarted = false;
  private failure: Error | undefined;
  private closed = false;
  /** Handle of the last segment, the only one ever written; undefined when the log has no segment. */
  private activeHandle: FileHandle | undefined;
  /** A segment file was created since the directory's last fsync. */
  private directoryDirty = false;
  private hardStateWritten: HardState;
  private hardStateDurable: HardState;
  private syncRunsCount = 0;
  /** The application snapshot file `saveAppSnapshot` is writing beside the queue; `written` never rejects. */
  private appSnapshotWrite: { readonly name: string; readonly written: Promise<void> } | undefined;

  private constructor(
    private readonly dir: string,
    private readonly segmentSizeBytesMax: number,
    private readonly entryDataBytesMax: number,
    private readonly openFile: OpenFile,
    private readonly segments: SegmentState[],
    private snapshot: SnapshotMeta | undefined,
    hardState: HardState,
  ) {
    this.hardStateWritten = hardState;
    this.hardStateDurable = hardState;
  }

  /**
   * Opens (creating if needed) the storage in `dir` and recovers it. Throws `StorageCorruptionError`
   * when the disk holds what no crash can explain; the process must then refuse to start.
   */
  static async open(dir: string, options: RaftStorageOptions = {}): Promise<OpenedStorage> {
    const segmentSizeBytesMax = options.segmentSizeBytesMax ?? limits.storage.segmentSizeBytesMax;
    const entryDataBytesMax = options.entryDataBytesMax ?? limits.storage.entryDataBytesMax;
    assert(Number.isSafeInteger(segmentSizeBytesMax) && segmentSizeBytesMax >= frameBytesMin && segmentSizeBytesMax <= limits.storage.segmentSizeBytesMax, `segmentSizeBytesMax must be in [${frameBytesMin}, ${limits.storage.segmentSizeBytesMax}], got ${segmentSizeBytesMax}`);
    assert(Number.isSafeInteger(entryDataBytesMax) && entryDataBytesMax >= 0 && entryDataBytesMax <= limits.storage.entryDataBytesMax, `entryDataBytesMax must be in [0, ${limits.storage.entryDataBytesMax}], got ${entryDataBytesMax}`);
    const created = await mkdir(dir, { recursive: true });
    if (created !== undefined) await syncDirectory(dirname(dir));
    const recovered = await recover(dir, entryDataBytesMax);
    const storage = new RaftStorage(dir, segmentSizeBytesMax, entryDataBytesMax, options.openFile ?? openFile, recovered.segments, recovered.snapshot?.meta, recovered.hardState);
    const last = recovered.segments[recovered.segments.length - 1];
    if (last !== undefined) storage.activeHandle = await storage.openFile(join(dir, last.fileName), "r+", durableWrites);
    const initialState: InitialState = { hardState: recovered.hardState, snapshot: recovered.snapshot, entries: recovered.entries };
    assert(initialState.entries.every((e, i) => e.index === storage.firstIndex() + i), "recovered entries must follow the snapshot contiguously");
    assert(initialState.entries.length === 0 || storage.lastIndex() === storage.firstIndex() + initialState.entries.length - 1, "recovered entries must end at the last index");
    return { storage, initialState, warnings: recovered.warnings };
  }

  /**
   * Waits for every queued write, then closes the files. Does not sync: call `sync()` first for a
   * clean shutdown; whatever was only written may be lost by a crash after close.
   */
  async close(): Promise<void> {
    assert(!this.closed, "storage is already closed");
    await this.appSnapshotWrite?.written;
    await this.enqueue(async () => {}).catch(() => {});
    this.closed = true;
    await this.closeActive();
  }

  /**
   * Appends contiguous `entries`, first truncating any stored entry at or after the first one's index
   * (a conflicting suffix, possibly spanning segments; never committed entries). Written, not durable,
   * when the promise resolves (the truncation itself is durable by then).
   */
  appendEntries(entries: readonly Entry[]): Promise<void> {
    assert(entries.length <= limits.storage.appendEntriesCountMax, `cannot append ${entries.length} entries at once, more than ${limits.storage.appendEntriesCountMax}`);
    entries.forEach((entry, i) => {
      const first = entries[0];
      assert(first !== undefined && entry.index === first.index + i, `entries must be contiguous: entry ${i} has index ${entry.index}`);
      assert(entry.data.length <= this.entryDataBytesMax, `entry ${entry.index} of ${entry.data.length} bytes exceeds ${this.entryDataBytesMax}`);
    });
    return this.enqueue(() => this.writeEntries(entries));
  }

  /** Records the hard state to write at the next `sync()`, after the entries written before it. */
  setHardState(hardState: HardState): Promise<void> {
    return this.enqueue(async () => {
      assert(hardState.term >= this.hardStateWritten.term, `term must not go back from ${this.hardStateWritten.term} to ${hardState.term}`);
      assert(hardState.commitIndex >= this.hardStateWritten.commitIndex, `commitIndex must not go back from ${this.hardStateWritten.commitIndex} to ${hardState.commitIndex}`);
      assert(hardState.commitIndex <= this.lastIndex(), `commitIndex ${hardState.commitIndex} is beyond the last written entry ${this.lastIndex()}`);
      this.hardStateWritten = hardState;
    });
  }

  /**
   * Stores a snapshot received from a leader; it replaces the whole log (Raft §7). Durable when the
   * promise resolves: the snapshot file first, then every segment and older snapshot is deleted. A
   * crash in between leaves old segments that recovery drops or keeps by the term at the snapshot index.
   */
  writeSnapshot(snapshot: Snapshot): Promise<void> {
    return this.enqueue(async () => {
      await this.appSnapshotWrite?.written;
      const snapshotIndex = this.snapshotIndex();
      // A node that joined with no membership first receives the snapshot at index 0, which holds only
      // the cluster's initial membership; it must survive a restart like any other.
      const initialMembership = snapshot.meta.index === 0 && this.snapshot === undefined && this.lastIndex() === 0;
      assert(snapshot.meta.index > snapshotIndex || initialMembership, `snapshot at ${snapshot.meta.index} is not newer than the stored one at ${snapshotIndex}`);
      assert(snapshot.meta.index >= this.hardStateWritten.commitIndex || this.termAt(snapshot.meta.index) === snapshot.meta.term, "a snapshot must not replace committed entries it disagrees with");
      await this.writeFileAtomic(snapshotFileName(snapshot.meta), encodeSnapshot(snapshot));
      this.snapshot = snapshot.meta;
      await this.closeActive();
      // Newest first, so a crash part-way leaves a contiguous prefix of the old log.
      for (const segment of [...this.segments].reverse()) await unlinkIfPresent(join(this.dir, segment.fileName));
      this.segments.length = 0;
      await this.deleteOlderSnapshotFiles();
      await syncDirectory(this.dir);
    });
  }

  /**
   * Stores a snapshot the application took of its own state at `meta.index` (an entry this log holds
   * with that term). Durable when the promise resolves. The log is left as is; `compact` drops what it covers.
   *
   * The file is written beside the queue, not in it: appends, syncs and hard states queued meanwhile do
   * not wait for its fsyncs (it is a new file that no other write touches). Once it is durable it becomes
   * the stored snapshot, in queue order, unless a newer one (a leader's) was stored meanwhile; a leader's
   * snapshot queued meanwhile waits for the file. One at a time.
   */
  saveAppSnapshot(snapshot: Snapshot): Promise<void> {
    assert(!this.closed, "storage is closed");
    assert(this.appSnapshotWrite === undefined, "one application snapshot is written at a time");
    const { index, term } = snapshot.meta;
    assert(index > this.snapshotIndex(), `snapshot at ${index} is not newer than the stored one at ${this.snapshotIndex()}`);
    assert(this.termAt(index) === term, `snapshot at ${index} has term ${term}, the log there ${String(this.termAt(index))}`);
    if (this.failure !== undefined) return Promise.reject(this.poisoned());
    const name = snapshotFileName(snapshot.meta);
    const written = this.writeFileAtomic(name, encodeSnapshot(snapshot)).catch((error: unknown) => {
      this.failure ??= error instanceof Error ? error : new Error(String(error));
      throw error;
    });
    const write = { name, written: written.catch(() => {}) };
    this.appSnapshotWrite = write;
    const installed = written.then(() =>
      this.enqueue(async () => {
        if (index > this.snapshotIndex()) this.snapshot = snapshot.meta;
        else await unlinkIfPresent(join(this.dir, name)); // A leader's newer snapshot replaced the log meanwhile.
      }),
    );
    return installed.finally(() => {
      if (this.appSnapshotWrite === write) this.appSnapshotWrite = undefined;
    });
  }

  /**
   * Deletes every segment whose entries are all at or below `index`, oldest first, and every snapshot
   * file but the latest; `index` must be covered by the stored snapshot. The last segment is always
   * kept (it is where the next entry goes). Durable when the promise resolves.
   */
  compact(index: number): Promise<void> {
    return this.enqueue(async () => {
      assert(index <= this.snapshotIndex(), `cannot compact to ${index}: the latest snapshot is at ${this.snapshotIndex()}`);
      // Oldest first, so a crash part-way leaves a contiguous suffix, which recovery accepts.
      for (let first = this.segments[0]; first !== undefined && this.segments.length > 1 && segmentLastIndex(first) <= index; first = this.segments[0]) {
        await unlinkIfPresent(join(this.dir, first.fileName));
        this.segments.shift();
      }
      await this.deleteOlderSnapshotFiles();
      await syncDirectory(this.dir);
    });
  }

  /**
   * Makes everything written before the call durable. Concurrent calls coalesce: a call joins the
   * running sync when nothing was queued since it started, else the sync not yet started (moved behind
   * the caller's writes), so one fsync serves them all.
   */
  sync(): Promise<void> {
    assert(!this.closed, "storage is closed");
    return new Promise((resolve, reject) => {
      if (this.runningSync !== undefined && this.queuedSync === undefined && !this.queuedSinceSyncStarted) {
        this.runningSync.waiters.push({ resolve, reject });
        return;
      }
      let op = this.queuedSync;
      if (op === undefined) {
        op = { kind: "sync", waiters: [] };
        this.queuedSync = op;
        this.assertQueueHasRoom();
      } else {
        const at = this.queue.indexOf(op);
        assert(at >= 0, "a queued sync is in the queue");
        this.queue.splice(at, 1);
      }
      op.waiters.push({ resolve, reject });
      this.queue.push(op);
      this.drain();
    });
  }

  // Read helpers. They reflect writes whose promise has resolved.

  /** Index of the first entry after the snapshot (1 on an empty log). */
  firstIndex(): number {
    return this.snapshotIndex() + 1;
  }

  /** Index of the last written entry, or of the snapshot when no entry follows it. */
  lastIndex(): number {
    const last = this.segments[this.segments.length - 1];
    return Math.max(this.snapshotIndex(), last === undefined ? 0 : segmentLastIndex(last));
  }

  /** Term of the entry at `index` (or of the snapshot at its index); undefined when not held. */
  termAt(index: number): number | undefined {
    if (this.snapshot !== undefined && index === this.snapshot.index) return this.snapshot.term;
    if (index <= this.snapshotIndex()) return undefined;
    const segment = this.segmentHolding(index);
    return segment?.terms[index - segment.firstIndex];
  }

  snapshotMeta(): SnapshotMeta | undefined {
    return this.snapshot;
  }

  /** The hard state last set (written) and the one last made durable. */
  hardState(): { readonly written: HardState; readonly durable: HardState } {
    return { written: this.hardStateWritten, durable: this.hardStateDurable };
  }

  /** How many syncs ran (each an fsync of the log): lets tests see group commit. */
  syncRuns(): number {
    return this.syncRunsCount;
  }

  /** Reads entries [fromIndex, toIndex] back from disk, each checked by CRC, after the writes queued before. */
  readEntries(fromIndex: number, toIndex: number): Promise<Entry[]> {
    return new Promise((resolve, reject) => {
      this.enqueue(async () => resolve(await this.readEntriesNow(fromIndex, toIndex))).catch(reject);
    });
  }

  private snapshotIndex(): number {
    return this.snapshot?.index ?? 0;
  }

  private segmentHolding(index: number): SegmentState | undefined {
    // Newest first: reads and truncations are nearly always near the end of the log.
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const segment = this.segments[i];
      assert(segment !== undefined, "segment in range");
      if (segment.firstIndex <= index) return index <= segmentLastIndex(segment) ? segment : undefined;
    }
    return undefined;
  }

  private async writeEntries(entries: readonly Entry[]): Promise<void> {
    const first = entries[0];
    if (first === undefined) return;
    assert(first.index > this.snapshotIndex(), `cannot append entry ${first.index} at or below the snapshot at ${this.snapshotIndex()}`);
    assert(first.index <= this.lastIndex() + 1, `cannot append entry ${first.index} after a gap (last ${this.lastIndex()})`);
    if (first.index <= this.lastIndex()) {
      assert(first.index > this.hardStateWritten.commitIndex, `cannot truncate from ${first.index}: entries up to ${this.hardStateWritten.commitIndex} are committed`);
      await this.truncateFrom(first.index);
    }
    let batch: Entry[] = [];
    let batchBytes = 0;
    for (const entry of entries) {
      const active = this.segments[this.segments.length - 1];
      const activeBytes = (active?.sizeBytes ?? 0) + batchBytes;
      if (active === undefined || (activeBytes > 0 && activeBytes + frameSizeBytes(entry) > this.segmentSizeBytesMax)) {
        await this.writeBatch(batch, batchBytes);
        batch = [];
        batchBytes = 0;
        await this.rollOver(entry.index);
      }
      batch.push(entry);
      batchBytes += frameSizeBytes(entry);
    }
    await this.writeBatch(batch, batchBytes);
  }

  /** One write of consecutive frames to the end of the active segment. */
  private async writeBatch(batch: readonly Entry[], batchBytes: number): Promise<void> {
    const segment = this.segments[this.segments.length - 1];
    const first = batch[0];
    if (first === undefined) return;
    assert(segment !== undefined && this.activeHandle !== undefined, "a batch is written to an open active segment");
    assert(first.index === segmentLastIndex(segment) + 1, `entry ${first.index} must follow entry ${segmentLastIndex(segment)} of ${segment.fileName}`);
    const bytes = Buffer.alloc(batchBytes);
    let position = 0;
    const positions: number[] = [];
    for (const entry of batch) {
      positions.push(segment.sizeBytes + position);
      position = encodeEntryFrame(entry, bytes, position);
    }
    assert(position === batchBytes, `encoded ${position} bytes of a ${batchBytes}-byte batch`);
    const handle = this.activeHandle;
    // The segment is open with durable writes: these bytes are on disk when the write returns, so the
    // next sync() need not fsync the segment (only the directory after a roll-over, and the hard state).
    await writingTo(join(this.dir, segment.fileName), () => writeFully(handle, bytes, segment.sizeBytes));
    segment.sizeBytes += batchBytes;
    segment.positions.push(...positions);
    segment.terms.push(...batch.map((e) => e.term));
  }

  /**
   * Starts a new segment whose first entry is `firstIndex`. The full one is durable already (its writes
   * are), so only the last segment can ever end in a torn frame, which is what lets recovery call any
   * other bad frame corruption.
   */
  private async rollOver(firstIndex: number): Promise<void> {
    await this.closeActive();
    const fileName = segmentFileName(firstIndex);
    // "wx": a file already there would mean the bookkeeping has lost track of the directory.
    this.activeHandle = await writingTo(join(this.dir, fileName), () => this.openFile(join(this.dir, fileName), "wx", durableWrites));
    this.directoryDirty = true;
    this.segments.push({ firstIndex, fileName, sizeBytes: 0, positions: [], terms: [] });
  }

  /**
   * Removes entries from `index` on, durably, before anything new is written: later segments newest
   * first (a crash part-way leaves a contiguous prefix), then the holding segment is cut and fsynced so
   * stale bytes past the cut can never reappear between new frames after a crash.
   */
  private async truncateFrom(index: number): Promise<void> {
    const holder = this.segmentHolding(index);
    assert(holder !== undefined, `entry ${index} to truncate from must be held by a segment`);
    let unlinked = false;
    for (let last = this.segments[this.segments.length - 1]; last !== undefined && last !== holder; last = this.segments[this.segments.length - 1]) {
      await this.closeActive();
      await unlinkIfPresent(join(this.dir, last.fileName));
      this.segments.pop();
      unlinked = true;
    }
    if (unlinked) await syncDirectory(this.dir);
    const path = join(this.dir, holder.fileName);
    const handle = (this.activeHandle ??= await writingTo(path, () => this.openFile(path, "r+", durableWrites)));
    const keptCount = index - holder.firstIndex;
    const cut = holder.positions[keptCount];
    assert(cut !== undefined, `entry ${index} has a position in ${holder.fileName}`);
    await writingTo(path, async () => {
      await handle.truncate(cut);
      await handle.sync();
    });
    holder.sizeBytes = cut;
    holder.positions.length = keptCount;
    holder.terms.length = keptCount;
  }

  private async runSync(): Promise<void> {
    if (this.directoryDirty) {
      this.directoryDirty = false;
      await writingTo(this.dir, () => syncDirectory(this.dir));
    }
    const written = this.hardStateWritten;
    if (!sameHardState(written, this.hardStateDurable)) {
      assert(written.commitIndex <= this.lastIndex(), `durable commitIndex ${written.commitIndex} would pass the last entry ${this.lastIndex()}`);
      await this.writeFileAtomic(hardStateFileName, [encodeHardState(written)]);
      this.hardStateDurable = written;
    }
    this.syncRunsCount++;
  }

  private writeFileAtomic(name: string, chunks: readonly Uint8Array[]): Promise<void> {
    // A full disk fails the temp file's write; a failed rename or directory fsync names its own path.
    return writingTo(join(this.dir, name + tempFileSuffix), () => writeFileAtomic(this.dir, name, chunks, { openFile: this.openFile }));
  }

  private async readEntriesNow(fromIndex: number, toIndex: number): Promise<Entry[]> {
    assert(fromIndex > this.snapshotIndex() && toIndex <= this.lastIndex(), `entries [${fromIndex}, ${toIndex}] are outside the log (${this.snapshotIndex()}, ${this.lastIndex()}]`);
    const entries: Entry[] = [];
    for (let index = fromIndex; index <= toIndex; ) {
      const segment = this.segmentHolding(index);
      assert(segment !== undefined, `entry ${index} is held by a segment`);
      const upTo = Math.min(toIndex, segmentLastIndex(segment));
      const start = segment.positions[index - segment.firstIndex];
      const end = upTo === segmentLastIndex(segment) ? segment.sizeBytes : segment.positions[upTo + 1 - segment.firstIndex];
      assert(start !== undefined && end !== undefined, `entries [${index}, ${upTo}] have positions in ${segment.fileName}`);
      const handle = await open(join(this.dir, segment.fileName), "r");
      try {
        const bytes = await readFully(handle, end - start, start);
        for (let position = 0; index <= upTo; index++) {
          const frame = readEntryFrame(bytes, position, this.entryDataBytesMax);
          assert(frame.kind === "entry" && frame.entry.index === index, `entry ${index} of ${segment.fileName} at byte ${start + position} must read back as written`);
          entries.push(frame.entry);
          position += frame.sizeBytes;
        }
      } finally {
        await handle.close();
      }
    }
    return entries;
  }

  /** Deletes every snapshot file but the stored one and the one `saveAppSnapshot` is writing. */
  private async deleteOlderSnapshotFiles(): Promise<void> {
    const current = this.snapshot;
    assert(current !== undefined, "a snapshot is stored before older ones are deleted");
    const names = await readdir(this.dir);
    for (const name of names) {
      const parsed = parseSnapshotFileName(name);
      if (parsed === undefined || name === snapshotFileName(current) || name === this.appSnapshotWrite?.name) continue;
      await unlinkIfPresent(join(this.dir, name));
    }
  }

  private async closeActive(): Promise<void> {
    const handle = this.activeHandle;
    this.activeHandle = undefined;
    if (handle !== undefined) await handle.close();
  }

  private enqueue(run: () => Promise<void>): Promise<void> {
    assert(!this.closed, "storage is closed");
    this.assertQueueHasRoom();
    this.queuedSinceSyncStarted = true;
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: "write", run, resolve, reject });
      this.drain();
    });
  }

  private poisoned(): Error {
    const failure = this.failure;
    assert(failure !== undefined, "a write failed");
    return new Error(`Cannot use storage in ${this.dir} as an earlier write failed: ${failure.message}`, { cause: failure });
  }

  private assertQueueHasRoom(): void {
    assert(this.queue.length < limits.storage.queuedWritesCountMax, `more than ${limits.storage.queuedWritesCountMax} storage writes queued`);
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    void this.drainLoop();
  }

  /** Runs queued ops one at a time, in order. */
  private async drainLoop(): Promise<void> {
    for (let op = this.queue.shift(); op !== undefined; op = this.queue.shift()) {
      if (op === this.queuedSync) this.queuedSync = undefined;
      if (op.kind === "sync") {
        this.runningSync = op;
        this.queuedSinceSyncStarted = false;
      }
      try {
        if (this.failure !== undefined) throw this.poisoned();
        await (op.kind === "sync" ? this.runSync() : op.run());
        if (op.kind === "sync") for (const waiter of op.waiters) waiter.resolve();
        else op.resolve();
      } catch (error) {
        // A system call's failure outside the named writes (an unlink, a directory fsync) names the directory.
        const failure = asStorageWriteError(error, this.dir);
        this.failure ??= failure instanceof Error ? failure : new Error(String(failure));
        if (op.kind === "sync") for (const waiter of op.waiters) waiter.reject(failure);
        else op.reject(failure);
      }
      this.runningSync = undefined;
    }
    this.draining = false;
  }
}

function segmentLastIndex(segment: SegmentState): number {
  return segment.firstIndex + segment.positions.length - 1;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.votedFor === b.votedFor && a.commitIndex === b.commitIndex;
}
