import { open, readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { isNotFound, readFileBounded, syncDirectory, tempFileSuffix, writeFileAtomic } from "../../storage/atomicFile.js";
import { frameBytesMin } from "../../storage/entryFrame.js";
import { segmentCorruption } from "../../storage/errors.js";
import { assert } from "../../shared/assert.js";
import { limits } from "../../shared/limits.js";
import { appendEpoch } from "./epochCache.js";
import type { EpochStart } from "./epochCache.js";
import { mergeProducerStates } from "./producerState.js";
import type { ProducerBounds, ProducerStates } from "./producerState.js";
import { indexFileName, parseIndexFileName, parseSegmentFileName, scanBatchSegment, segmentFileName } from "./segmentFiles.js";
import { decodeIndexFile, encodeIndexFile } from "./segmentSummary.js";
import type { SegmentSummary, SummaryOptions } from "./segmentSummary.js";

export interface SegmentState {
  readonly fileName: string;
  summary: SegmentSummary;
}

export interface LogConfig {
  readonly segmentSizeBytesMax: number;
  readonly batchBytesMax: number;
  readonly summary: SummaryOptions;
}

/**
 * A segment file is never larger than this, whatever size the log was configured with when it was
 * written: roll-over happens before a batch would pass the largest allowed segment size.
 */
export const segmentFileBytesMax = limits.broker.segmentSizeBytesMax + frameBytesMin + limits.broker.batchBytesMax;
/** Each batch (at least 60 bytes on disk) adds at most 61 bytes to a summary: an index, epoch and producer entry. */
const indexFileBytesMax = 2 * segmentFileBytesMax;
const directoryNamesCountMax = 2 * limits.broker.segmentsCountMax + 16;

/**
 * Reads back what a partition directory holds and repairs what a crash can leave behind: temp files of
 * index writes, index files whose segment a truncation already deleted, index files missing or stale
 * (rebuilt from their segment), and a torn tail at the end of the last segment. Sealed segments are
 * known from their index files; only the last segment is read batch by batch. Anything a crash cannot
 * explain throws `StorageCorruptionError` before the torn tail is cut.
 */
export async function recoverPartition(dir: string, config: LogConfig): Promise<{ segments: SegmentState[]; warnings: string[] }> {
  const warnings: string[] = [];
  const names = await readdir(dir);
  assert(names.length <= directoryNamesCountMax, `partition directory ${dir} holds ${names.length} files, more than ${directoryNamesCountMax}`);
  let directoryChanged = false;
  const bases = names.flatMap((name) => parseSegmentFileName(name) ?? []).sort((a, b) => a - b);
  assert(bases.length <= limits.broker.segmentsCountMax, `${bases.length} segments exceed ${limits.broker.segmentsCountMax}`);
  const baseSet = new Set(bases);
  for (const name of names) {
    const indexBase = parseIndexFileName(name);
    const stray = name.endsWith(tempFileSuffix) || (indexBase !== undefined && !baseSet.has(indexBase));
    if (!stray) continue;
    await unlink(join(dir, name));
    directoryChanged = true;
    warnings.push(`Removed ${name}: ${name.endsWith(tempFileSuffix) ? "an index write a crash interrupted" : "its segment was deleted by a truncation a crash interrupted"}`);
  }

  const segments: SegmentState[] = [];
  let tornTail: { fileName: string; position: number; reason: string } | undefined;
  for (const [i, baseOffset] of bases.entries()) {
    const fileName = segmentFileName(baseOffset);
    let summary: SegmentSummary;
    if (i < bases.length - 1) {
      summary = await loadSealedSummary(dir, baseOffset, config, warnings);
    } else {
      const scan = scanBatchSegment(await readSegment(dir, fileName), fileName, baseOffset, { isLast: true, batchBytesMax: config.batchBytesMax, summary: config.summary });
      summary = scan.summary;
      if (scan.tornTail !== undefined) tornTail = { fileName, ...scan.tornTail };
    }
    const previous = segments[segments.length - 1];
    if (previous !== undefined && baseOffset !== previous.summary.nextOffset) {
      throw segmentCorruption(fileName, 0, `it starts at offset ${baseOffset}, but ${previous.fileName} ends at ${previous.summary.nextOffset}`);
    }
    segments.push({ fileName, summary });
  }
  deriveEpochsAndProducers(segments, config.summary);

  // Everything checked: only now cut the torn tail, so a refusal leaves the segments as they were found.
  if (tornTail !== undefined) {
    await truncateFile(join(dir, tornTail.fileName), tornTail.position);
    warnings.push(`Truncated torn tail of segment ${tornTail.fileName} at byte ${tornTail.position}: ${tornTail.reason}`);
  }
  if (directoryChanged) await syncDirectory(dir);
  return { segments, warnings };
}

/**
 * The leader epoch cache and producer states of a log made of `segments`: their summaries, in order.
 * Throws `StorageCorruptionError` when epochs go back from one segment to the next.
 */
export function deriveEpochsAndProducers(segments: readonly SegmentState[], bounds: ProducerBounds): { epochs: EpochStart[]; producers: ProducerStates } {
  const epochs: EpochStart[] = [];
  const producers: ProducerStates = new Map();
  for (const { fileName, summary } of segments) {
    for (const { epoch, startOffset } of summary.epochs) {
      const latest = epochs[epochs.length - 1];
      if (latest !== undefined && epoch < latest.epoch) {
        throw segmentCorruption(fileName, 0, `its batches of leader epoch ${epoch} from offset ${startOffset} follow epoch ${latest.epoch}`);
      }
      appendEpoch(epochs, epoch, startOffset);
    }
    mergeProducerStates(producers, summary.producers, bounds);
  }
  return { epochs, producers };
}

export async function readSegment(dir: string, fileName: string): Promise<Buffer> {
  const bytes = await readFileBounded(join(dir, fileName), segmentFileBytesMax);
  if (bytes === undefined) throw segmentCorruption(fileName, segmentFileBytesMax, `larger than ${segmentFileBytesMax} bytes`);
  return bytes;
}

/**
 * The summary of a sealed segment from its index file, or, when that is missing or does not match the
 * segment, rebuilt from the segment (every batch read and checked) and written back.
 */
async function loadSealedSummary(dir: string, baseOffset: number, config: LogConfig, warnings: string[]): Promise<SegmentSummary> {
  const fileName = segmentFileName(baseOffset);
  const indexName = indexFileName(baseOffset);
  const problem = await readIndexFile(dir, baseOffset, config);
  if (typeof problem !== "string") return problem;
  const scan = scanBatchSegment(await readSegment(dir, fileName), fileName, baseOffset, { isLast: false, batchBytesMax: config.batchBytesMax, summary: config.summary });
  await writeFileAtomic(dir, indexName, [encodeIndexFile(scan.summary)]);
  warnings.push(`Rebuilt index file ${indexName} from its segment: ${problem}`);
  return scan.summary;
}

/** The summary in the segment's index file, or why it cannot be used. */
async function readIndexFile(dir: string, baseOffset: number, config: LogConfig): Promise<SegmentSummary | string> {
  let bytes: Buffer | undefined;
  try {
    bytes = await readFileBounded(join(dir, indexFileName(baseOffset)), indexFileBytesMax);
  } catch (error) {
    if (isNotFound(error)) return "it is missing";
    throw error;
  }
  if (bytes === undefined) return `it is larger than ${indexFileBytesMax} bytes`;
  const decoded = decodeIndexFile(bytes, baseOffset, config.summary);
  if (typeof decoded === "string") return decoded;
  const { size } = await stat(join(dir, segmentFileName(baseOffset)));
  if (decoded.sizeBytes !== size) return `it describes ${decoded.sizeBytes} bytes of a ${size}-byte segment`;
  return decoded;
}

/** Cuts a file to `sizeBytes` durably: the cut must hold before anything is appended after it. */
export async function truncateFile(path: string, sizeBytes: number): Promise<void> {
  const handle = await open(path, "r+");
  try {
    await handle.truncate(sizeBytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
