import { open, readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Entry, HardState, Snapshot } from "../raft/types.js";
import { assert } from "../shared/assert.js";
import { limits } from "../shared/limits.js";
import { readFileBounded, syncDirectory, tempFileSuffix } from "./atomicFile.js";
import { frameBytesMin } from "./entryFrame.js";
import { StorageCorruptionError, segmentCorruption } from "./errors.js";
import { decodeHardState, hardStateFileBytes, hardStateFileName } from "./hardStateFile.js";
import { parseSegmentFileName, scanSegment } from "./segmentScan.js";
import type { SegmentScan } from "./segmentScan.js";
import { decodeSnapshot, parseSnapshotFileName } from "./snapshotFile.js";

/** What is known about one segment file kept after recovery. */
export interface SegmentState {
  readonly firstIndex: number;
  readonly fileName: string;
  sizeBytes: number;
  /** Byte position of the frame of entry `firstIndex + i`. */
  readonly positions: number[];
  /** Term of entry `firstIndex + i`. */
  readonly terms: number[];
}

export interface Recovered {
  readonly snapshot: Snapshot | undefined;
  readonly hardState: HardState;
  /** Kept segments in index order; every one but the last is whole. */
  readonly segments: SegmentState[];
  /** Entries after the snapshot, contiguous. */
  readonly entries: Entry[];
  readonly warnings: string[];
}

/** A segment file is never larger than this: it rolls over before a frame would overrun the maximum. */
const segmentFileBytesMax = limits.storage.segmentSizeBytesMax + frameBytesMin + limits.storage.entryDataBytesMax;
const directoryNamesCountMax = limits.storage.segmentsCountMax + limits.storage.snapshotFilesCountMax + 16;

interface ScannedSegment {
  readonly firstIndex: number;
  readonly fileName: string;
  readonly scan: SegmentScan;
}

/**
 * Reads back what the directory durably holds and repairs what a crash can leave behind: temp files
 * (never renamed into place), a torn tail at the end of the last segment, segments a compaction or a
 * snapshot install had not finished deleting. Anything a crash cannot explain throws
 * `StorageCorruptionError` before any file is changed by the repair of the log.
 */
export async function recover(dir: string, entryDataBytesMax: number): Promise<Recovered> {
  const warnings: string[] = [];
  const names = await readdir(dir);
  assert(names.length <= directoryNamesCountMax, `storage directory ${dir} holds ${names.length} files, more than ${directoryNamesCountMax}`);
  let directoryChanged = false;
  for (const name of names.filter((n) => n.endsWith(tempFileSuffix))) {
    await unlink(join(dir, name));
    directoryChanged = true;
    warnings.push(`Removed ${name}: a write a crash interrupted before it was renamed into place`);
  }
  const snapshot = await loadLatestSnapshot(dir, names, warnings);
  const snapshotIndex = snapshot?.meta.index ?? 0;
  const hardState = await loadHardState(dir, names);

  const segmentNames = names
    .map((fileName) => ({ fileName, firstIndex: parseSegmentFileName(fileName) }))
    .filter((s): s is { fileName: string; firstIndex: number } => s.firstIndex !== undefined)
    .sort((a, b) => a.firstIndex - b.firstIndex);
  assert(segmentNames.length <= limits.storage.segmentsCountMax, `${segmentNames.length} segments exceed ${limits.storage.segmentsCountMax}`);

  // A segment followed by one starting at or below snapshotIndex ends below the snapshot: a compaction was
  // cut short, and it need not be read at all. The one holding the snapshot's index is always read, to
  // check its term there.
  const covered = segmentNames.filter((_segment, i) => {
    const next = segmentNames[i + 1];
    return next !== undefined && next.firstIndex <= snapshotIndex;
  });
  const live = segmentNames.slice(covered.length);
  const scanned: ScannedSegment[] = [];
  for (const [i, { fileName, firstIndex }] of live.entries()) {
    const bytes = await readFileBounded(join(dir, fileName), segmentFileBytesMax);
    if (bytes === undefined) throw segmentCorruption(fileName, segmentFileBytesMax, `larger than ${segmentFileBytesMax} bytes`);
    const scan = scanSegment(bytes, fileName, firstIndex, { isLast: i === live.length - 1, entryDataBytesMax });
    const previous = scanned[scanned.length - 1];
    if (previous !== undefined) {
      const previousLast = previous.firstIndex + previous.scan.entries.length - 1;
      if (firstIndex !== previousLast + 1) throw segmentCorruption(fileName, 0, `first entry ${firstIndex} does not follow entry ${previousLast} of ${previous.fileName}`);
    }
    scanned.push({ firstIndex, fileName, scan });
  }

  const stale = staleLogReason(scanned, snapshot);
  const kept = stale === undefined ? scanned : [];
  const first = kept[0];
  if (first !== undefined && first.firstIndex > snapshotIndex + 1) {
    throw segmentCorruption(first.fileName, 0, `first entry ${first.firstIndex} leaves a gap after ${snapshot === undefined ? "the start of the log" : `the snapshot at ${snapshotIndex}`}`);
  }
  const lastKept = kept[kept.length - 1];
  const lastIndex = Math.max(snapshotIndex, lastKept === undefined ? 0 : lastKept.firstIndex + lastKept.scan.entries.length - 1);
  if (hardState.commitIndex > lastIndex) {
    throw new StorageCorruptionError(
      `Cannot open storage as hard state file ${hardStateFileName} is inconsistent with the log: commitIndex ${hardState.commitIndex} is beyond the last entry ${lastIndex}`,
      hardStateFileName,
      0,
    );
  }

  // Everything checked: only now change files, so a refusal leaves the directory as it was found.
  for (const { fileName } of covered) {
    await unlink(join(dir, fileName));
    directoryChanged = true;
    warnings.push(`Removed segment ${fileName}: the snapshot at ${snapshotIndex} covers it (a compaction was cut short)`);
  }
  if (stale !== undefined) {
    for (const { fileName } of [...scanned].reverse()) await unlink(join(dir, fileName));
    directoryChanged = true;
    warnings.push(`Removed ${scanned.length} segment(s): ${stale} (a snapshot install was cut short)`);
  }
  const segments: SegmentState[] = [];
  for (const segment of kept) {
    const { scan } = segment;
    if (scan.tornTail !== undefined) {
      await truncateFile(join(dir, segment.fileName), scan.validBytes);
      warnings.push(`Truncated torn tail of segment ${segment.fileName} at byte ${scan.tornTail.position}: ${scan.tornTail.reason}`);
    }
    segments.push({ firstIndex: segment.firstIndex, fileName: segment.fileName, sizeBytes: scan.validBytes, positions: scan.positions, terms: scan.entries.map((e) => e.term) });
  }
  // An empty last segment (a crash right after roll-over, or a torn tail of its only frame) holds nothing.
  const lastSegment = segments[segments.length - 1];
  if (lastSegment !== undefined && lastSegment.positions.length === 0) {
    await unlink(join(dir, lastSegment.fileName));
    segments.pop();
    directoryChanged = true;
  }
  if (directoryChanged) await syncDirectory(dir);

  const entries = kept.flatMap((s) => s.scan.entries).filter((e) => e.index > snapshotIndex);
  return { snapshot, hardState, segments, entries, warnings };
}

/**
 * The log left from before a snapshot install that replaced it (Raft §7): its entry at the snapshot's
 * index has another term, or it ends before the snapshot. A log whose entry there matches is kept, as
 * Log Matching makes it a prefix-consistent continuation.
 */
function staleLogReason(scanned: readonly ScannedSegment[], snapshot: Snapshot | undefined): string | undefined {
  if (snapshot === undefined || scanned.length === 0) return undefined;
  const { index, term } = snapshot.meta;
  const last = scanned[scanned.length - 1];
  assert(last !== undefined, "scanned is not empty");
  const lastIndex = last.firstIndex + last.scan.entries.length - 1;
  if (lastIndex < index) return `the log ends at ${lastIndex}, before the snapshot at ${index}`;
  const holder = scanned.find((s) => s.firstIndex <= index && index < s.firstIndex + s.scan.entries.length);
  const entry = holder?.scan.entries[index - holder.firstIndex];
  if (entry !== undefined && entry.term !== term) return `entry ${index} has term ${entry.term}, the snapshot there term ${term}`;
  return undefined;
}

/** The newest snapshot whose checksum verifies; a bad newer one is reported, none valid at all refuses. */
async function loadLatestSnapshot(dir: string, names: readonly string[], warnings: string[]): Promise<Snapshot | undefined> {
  const files = names
    .map((fileName) => ({ fileName, parsed: parseSnapshotFileName(fileName) }))
    .filter((f): f is { fileName: string; parsed: { index: number; term: number } } => f.parsed !== undefined)
    .sort((a, b) => b.parsed.index - a.parsed.index || b.parsed.term - a.parsed.term);
  assert(files.length <= limits.storage.snapshotFilesCountMax, `${files.length} snapshot files exceed ${limits.storage.snapshotFilesCountMax}`);
  const problems: string[] = [];
  for (const { fileName, parsed } of files) {
    const bytes = await readFileBounded(join(dir, fileName), limits.storage.snapshotBytesMax);
    const decoded = bytes === undefined ? undefined : decodeSnapshot(bytes);
    let problem: string;
    if (decoded === undefined) problem = `larger than ${limits.storage.snapshotBytesMax} bytes`;
    else if (!decoded.ok) problem = decoded.error;
    else if (decoded.value.meta.index !== parsed.index || decoded.value.meta.term !== parsed.term) problem = `holds index ${decoded.value.meta.index} term ${decoded.value.meta.term}, not what its name says`;
    else {
      for (const p of problems) warnings.push(`Ignored snapshot ${p}; using the older ${fileName}`);
      return decoded.value;
    }
    problems.push(`${fileName}: ${problem}`);
  }
  const newest = files[0];
  if (newest !== undefined) {
    throw new StorageCorruptionError(`Cannot open storage as no snapshot file is valid: ${problems.join("; ")}`, newest.fileName, 0);
  }
  return undefined;
}

async function loadHardState(dir: string, names: readonly string[]): Promise<HardState> {
  if (!names.includes(hardStateFileName)) return { term: 0, votedFor: 0, commitIndex: 0 };
  const bytes = await readFileBounded(join(dir, hardStateFileName), hardStateFileBytes);
  const decoded = bytes === undefined ? undefined : decodeHardState(bytes);
  if (decoded === undefined || !decoded.ok) {
    const reason = decoded === undefined ? `larger than ${hardStateFileBytes} bytes` : decoded.error;
    throw new StorageCorruptionError(`Cannot open storage as hard state file ${hardStateFileName} is corrupt at byte 0: ${reason}`, hardStateFileName, 0);
  }
  return decoded.value;
}

/** Cuts a file to `sizeBytes` durably: the cut must hold before anything is appended after it. */
async function truncateFile(path: string, sizeBytes: number): Promise<void> {
  const handle = await open(path, "r+");
  try {
    await handle.truncate(sizeBytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
