import { assert } from "../shared/assert.js";
import type { Entry, Snapshot } from "./types.js";

/**
 * The in-memory view of a node's log: the latest snapshot, the entries after it, and three marks —
 * `stableIndex` (durable on this node), `commitIndex` (known committed) and `appliedIndex` (handed to the
 * application). Invariants: appliedIndex ≤ commitIndex ≤ lastIndex, snapshot.index ≤ appliedIndex once
 * the snapshot is handed out, and entries are contiguous from snapshot.index + 1.
 */
export class RaftLog {
  private snapshotValue: Snapshot;
  private entriesValue: Entry[];
  /** Entries at or below this index are durable. */
  stableIndex: number;
  commitIndex: number;
  appliedIndex: number;
  /** A snapshot received from a leader that the shell has not yet persisted. */
  unstableSnapshot: Snapshot | undefined;

  constructor(snapshot: Snapshot, entries: readonly Entry[], commitIndex: number) {
    this.snapshotValue = snapshot;
    this.entriesValue = [...entries];
    entries.forEach((entry, i) => {
      assert(entry.index === snapshot.meta.index + 1 + i, `stored entries must follow the snapshot without gaps: entry ${i} has index ${entry.index}`);
    });
    this.stableIndex = this.lastIndex();
    this.commitIndex = Math.max(commitIndex, snapshot.meta.index);
    assert(this.commitIndex <= this.lastIndex(), `stored commit index ${commitIndex} is beyond the last stored entry ${this.lastIndex()}`);
    this.appliedIndex = snapshot.meta.index;
    this.unstableSnapshot = undefined;
  }

  get snapshot(): Snapshot {
    return this.snapshotValue;
  }

  firstIndex(): number {
    return this.snapshotValue.meta.index + 1;
  }

  lastIndex(): number {
    return this.snapshotValue.meta.index + this.entriesValue.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** The term of the entry at `index`, or undefined when it is compacted away or not yet appended. */
  term(index: number): number | undefined {
    const snapshotIndex = this.snapshotValue.meta.index;
    if (index === snapshotIndex) return this.snapshotValue.meta.term;
    if (index < snapshotIndex || index > this.lastIndex()) return undefined;
    return this.entriesValue[index - snapshotIndex - 1]?.term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  entry(index: number): Entry | undefined {
    return this.entriesValue[index - this.firstIndex()];
  }

  /** Raft §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Entries [lo, hi] limited to `bytesMax` of data and `countMax` entries (at least one entry when the
   * range is non-empty). Undefined when part of the range is compacted away.
   */
  slice(lo: number, hi: number, bytesMax: number, countMax: number): Entry[] | undefined {
    if (lo < this.firstIndex()) return undefined;
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = lo; index <= Math.min(hi, this.lastIndex()) && result.length < countMax; index++) {
      const entry = this.entry(index);
      assert(entry !== undefined, `entry ${index} must be in memory`);
      if (result.length > 0 && bytes + entry.data.length > bytesMax) break;
      bytes += entry.data.length;
      result.push(entry);
    }
    return result;
  }

  /** Appends after truncating every entry at or after the first new one. Committed entries are never truncated. */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    assert(first.index > this.commitIndex, `cannot overwrite committed entry ${first.index} (commit index ${this.commitIndex})`);
    assert(first.index <= this.lastIndex() + 1, `cannot append entry ${first.index} after a gap (last index ${this.lastIndex()})`);
    this.entriesValue.length = first.index - this.firstIndex();
    for (const entry of entries) this.entriesValue.push(entry);
    this.stableIndex = Math.min(this.stableIndex, first.index - 1);
  }

  /**
   * The index of the first entry of `entries` that is not already in the log with the same term, or 0
   * when all are. Only a real conflict truncates: a stale or duplicated AppendEntries never erases entries.
   */
  findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * The largest index ≤ `index` whose term is ≤ `term`, with its term: no entry above it can match a
   * leader's entry of term `term` or earlier, so the leader may skip straight past them.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = Math.min(index, this.lastIndex()); i >= this.snapshotValue.meta.index; i--) {
      const t = this.term(i);
      if (t !== undefined && t <= term) return { index: i, term: t };
    }
    return { index: this.snapshotValue.meta.index, term: 0 };
  }

  commitTo(index: number): boolean {
    if (index <= this.commitIndex) return false;
    assert(index <= this.lastIndex(), `commit index ${index} is beyond the last entry ${this.lastIndex()}`);
    this.commitIndex = index;
    return true;
  }

  unstableEntries(): Entry[] {
    return this.entriesValue.slice(this.stableIndex - this.snapshotValue.meta.index);
  }

  /** Marks entries durable up to `index`, unless that entry has since been replaced. */
  stableTo(index: number, term: number): void {
    if (this.matchTerm(index, term) && index > this.stableIndex) this.stableIndex = index;
  }

  /** Committed entries not yet handed to the application, limited to `bytesMax` (at least one). */
  nextCommittedEntries(bytesMax: number): Entry[] {
    const lo = Math.max(this.appliedIndex + 1, this.firstIndex());
    if (lo > this.commitIndex) return [];
    return this.slice(lo, this.commitIndex, bytesMax, Number.MAX_SAFE_INTEGER) ?? [];
  }

  appliedTo(index: number): void {
    assert(index <= this.commitIndex, `cannot apply ${index} beyond commit index ${this.commitIndex}`);
    if (index > this.appliedIndex) this.appliedIndex = index;
  }

  /** Replaces the whole log with a snapshot received from the leader (the shell persists it). */
  restore(snapshot: Snapshot): void {
    // A joining node with an empty log may take the snapshot at index 0, which only carries the initial membership.
    const initial = snapshot.meta.index === 0 && this.lastIndex() === 0;
    assert(initial || snapshot.meta.index > this.commitIndex, `a snapshot at ${snapshot.meta.index} must be ahead of commit index ${this.commitIndex}`);
    this.snapshotValue = snapshot;
    this.entriesValue = [];
    this.stableIndex = snapshot.meta.index;
    this.commitIndex = snapshot.meta.index;
    this.appliedIndex = snapshot.meta.index;
    this.unstableSnapshot = snapshot;
  }

  /** Drops entries up to `snapshot.meta.index`, which the application has applied and stored. */
  compact(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    assert(index > this.snapshotValue.meta.index && index <= this.appliedIndex && index <= this.stableIndex, `cannot compact to ${index}`);
    this.entriesValue = this.entriesValue.slice(index - this.snapshotValue.meta.index);
    this.snapshotValue = snapshot;
  }
}
