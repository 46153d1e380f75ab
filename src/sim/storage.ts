import type { Entry, HardState, InitialState, Snapshot } from "../raft/types.js";
import { emptyHardState } from "../raft/types.js";
import { assert, assertNever } from "../shared/assert.js";
import type { Prng } from "../shared/prng.js";

/** One write the shell issued and the disk has not yet made durable. */
export type StorageWrite =
  | { readonly kind: "snapshot"; readonly snapshot: Snapshot }
  | { readonly kind: "entries"; readonly firstIndex: number; readonly entries: readonly Entry[] }
  | { readonly kind: "hardState"; readonly hardState: HardState };

/** What survived a crash, for the trace. */
export interface CrashOutcome {
  readonly pendingCount: number;
  readonly survivedCount: number;
  /** Entries kept of the last surviving write when it was a torn append, else undefined. */
  readonly tornEntriesKept: number | undefined;
}

/**
 * An in-memory twin of a node's disk that separates "written" from "synced" (DESIGN §4): writes queue
 * up until `sync()` makes them durable. `crash()` loses every unsynced write except a random prefix of
 * them, the last of which may be torn (an append cut to a prefix of its entries) — what a real disk can
 * leave behind when power goes during a write.
 */
export class MemoryStorage {
  private hardState: HardState = emptyHardState;
  private snapshot: Snapshot | undefined = undefined;
  /** Durable entries after the snapshot, contiguous. */
  private entries: Entry[] = [];
  private pending: StorageWrite[] = [];

  /** Appends entries, truncating any stored entry at or after the first one's index (once synced). */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    this.pending.push({ kind: "entries", firstIndex: first.index, entries: [...entries] });
  }

  setHardState(hardState: HardState): void {
    this.pending.push({ kind: "hardState", hardState });
  }

  /** Stores a snapshot received from a leader: it replaces the whole log (once synced). */
  saveSnapshot(snapshot: Snapshot): void {
    this.pending.push({ kind: "snapshot", snapshot });
  }

  /**
   * Stores a snapshot the application took of its own state and drops the entries it covers. Written
   * and synced at once (a real store writes a temp file, fsyncs and renames it); only allowed while no
   * other write is outstanding so the order of writes stays simple.
   */
  compact(snapshot: Snapshot): void {
    assert(this.pending.length === 0, "compaction must not overtake unsynced writes");
    const index = snapshot.meta.index;
    const base = this.snapshotIndex();
    assert(index > base && index <= base + this.entries.length, `cannot compact to ${index}: stored entries are (${base}, ${base + this.entries.length}]`);
    const covered = this.entries[index - base - 1];
    assert(covered !== undefined && covered.term === snapshot.meta.term, `snapshot term at ${index} must match the stored entry`);
    this.entries = this.entries.slice(index - base);
    this.snapshot = snapshot;
  }

  hasUnsynced(): boolean {
    return this.pending.length > 0;
  }

  /** Makes every outstanding write durable, in the order it was issued. */
  sync(): void {
    for (const write of this.pending) this.applyWrite(write);
    this.pending = [];
  }

  /** Loses the unsynced writes except a random prefix, the last of which may be torn. */
  crash(prng: Prng): CrashOutcome {
    const pendingCount = this.pending.length;
    const survivedCount = prng.int(pendingCount + 1);
    let tornEntriesKept: number | undefined;
    for (let i = 0; i < survivedCount; i++) {
      const write = this.pending[i];
      assert(write !== undefined, "surviving write must exist");
      if (i === survivedCount - 1 && write.kind === "entries" && prng.chance(0.5)) {
        tornEntriesKept = prng.int(write.entries.length + 1);
        this.applyWrite({ kind: "entries", firstIndex: write.firstIndex, entries: write.entries.slice(0, tornEntriesKept) });
      } else {
        this.applyWrite(write);
      }
    }
    this.pending = [];
    return { pendingCount, survivedCount, tornEntriesKept };
  }

  /** What a node restarting from this disk starts with: only durable state. */
  load(): InitialState {
    assert(this.pending.length === 0, "load() after crash() or sync() only");
    return { hardState: this.hardState, snapshot: this.snapshot, entries: [...this.entries] };
  }

  /** The durable hard state (for checkers). */
  durableHardState(): HardState {
    return this.hardState;
  }

  durableSnapshot(): Snapshot | undefined {
    return this.snapshot;
  }

  durableLastIndex(): number {
    return this.snapshotIndex() + this.entries.length;
  }

  private snapshotIndex(): number {
    return this.snapshot?.meta.index ?? 0;
  }

  private applyWrite(write: StorageWrite): void {
    switch (write.kind) {
      case "snapshot":
        this.snapshot = write.snapshot;
        this.entries = [];
        return;
      case "entries": {
        const base = this.snapshotIndex();
        assert(write.firstIndex > base, `cannot append entry ${write.firstIndex} at or below the snapshot at ${base}`);
        assert(write.firstIndex <= base + this.entries.length + 1, `cannot append entry ${write.firstIndex} after a gap (last ${base + this.entries.length})`);
        this.entries.length = write.firstIndex - base - 1;
        for (const entry of write.entries) this.entries.push(entry);
        return;
      }
      case "hardState":
        this.hardState = write.hardState;
        return;
      default:
        assertNever(write, "storage write");
    }
  }
}
