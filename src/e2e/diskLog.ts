// Reads the Raft logs of stopped nodes from their data dirs and compares them.
import type { Entry, HardState } from "../raft/types.js";
import { RaftStorage } from "../storage/raftStorage.js";

export interface DiskLog {
  readonly dataDir: string;
  readonly hardState: HardState;
  readonly snapshotIndex: number;
  /** Entries after the snapshot, contiguous. */
  readonly entries: readonly Entry[];
  /** Index of the last entry (the snapshot's when no entry follows it). */
  readonly lastIndex: number;
}

/** Opens a stopped node's storage, reads what it recovered, and closes it again. */
export async function readDiskLog(dataDir: string): Promise<DiskLog> {
  const { storage, initialState } = await RaftStorage.open(dataDir);
  try {
    return {
      dataDir,
      hardState: initialState.hardState,
      snapshotIndex: initialState.snapshot?.meta.index ?? 0,
      entries: initialState.entries,
      lastIndex: storage.lastIndex(),
    };
  } finally {
    await storage.close();
  }
}

export interface LogComparison {
  /** The index range every log holds an entry for; empty when `fromIndex > toIndex`. */
  readonly fromIndex: number;
  readonly toIndex: number;
  /** Differences, at most `problemsCountMax`. */
  readonly problems: readonly string[];
}

/**
 * Compares logs entry by entry (index, term, type, data bytes) over the range they all hold, and checks
 * each node's hard state term is at least every entry's term (a node never holds an entry from a term
 * it has not seen).
 */
export function compareDiskLogs(logs: readonly DiskLog[], problemsCountMax = 20): LogComparison {
  const problems: string[] = [];
  for (const log of logs) {
    const newest = log.entries.reduce((term, e) => Math.max(term, e.term), 0);
    if (newest > log.hardState.term) problems.push(`${log.dataDir}: an entry has term ${newest}, after the hard state's term ${log.hardState.term}`);
  }
  const fromIndex = Math.max(...logs.map((log) => log.snapshotIndex + 1));
  const toIndex = Math.min(...logs.map((log) => log.lastIndex));
  const [first, ...others] = logs;
  for (let index = fromIndex; first !== undefined && index <= toIndex && problems.length < problemsCountMax; index++) {
    const expected = entryAt(first, index);
    for (const other of others) {
      const actual = entryAt(other, index);
      const difference = describeDifference(expected, actual);
      if (difference !== undefined) problems.push(`index ${index}: ${first.dataDir} and ${other.dataDir} differ in ${difference}`);
    }
  }
  return { fromIndex, toIndex, problems: problems.slice(0, problemsCountMax) };
}

function entryAt(log: DiskLog, index: number): Entry | undefined {
  return log.entries[index - log.snapshotIndex - 1];
}

function describeDifference(a: Entry | undefined, b: Entry | undefined): string | undefined {
  if (a === undefined || b === undefined) return a === b ? undefined : "presence";
  if (a.index !== b.index) return `index (${a.index} vs ${b.index})`;
  if (a.term !== b.term) return `term (${a.term} vs ${b.term})`;
  if (a.type !== b.type) return `type (${a.type} vs ${b.type})`;
  if (!Buffer.from(a.data).equals(b.data)) return `data (${a.data.length} vs ${b.data.length} bytes)`;
  return undefined;
}
