import type { Entry } from "../raft/types.js";
import { assert } from "../shared/assert.js";
import { findValidFrame, frameBytesMin, readEntryFrame } from "./entryFrame.js";
import { segmentCorruption } from "./errors.js";

/** Segment files are named by their first index, zero-padded so that name order is index order. */
const segmentNamePattern = /^(\d{20})\.log$/;

export function segmentFileName(firstIndex: number): string {
  assert(Number.isSafeInteger(firstIndex) && firstIndex >= 1, `segment first index must be a positive integer, got ${firstIndex}`);
  return `${String(firstIndex).padStart(20, "0")}.log`;
}

/** The first index a segment file name stands for, or undefined when the name is not a segment's. */
export function parseSegmentFileName(name: string): number | undefined {
  const match = segmentNamePattern.exec(name);
  if (match?.[1] === undefined) return undefined;
  const firstIndex = Number(match[1]);
  return Number.isSafeInteger(firstIndex) && firstIndex >= 1 ? firstIndex : undefined;
}

export interface SegmentScan {
  /** Entries in order, `firstIndex` onwards, contiguous. */
  readonly entries: Entry[];
  /** Byte position of each entry's frame. */
  readonly positions: number[];
  /** Bytes of whole valid frames: where the next frame goes, and where a torn tail is cut. */
  readonly validBytes: number;
  /** Set when the last segment ends in a torn frame (nothing valid after it). */
  readonly tornTail: { readonly position: number; readonly reason: string } | undefined;
}

export interface SegmentScanOptions {
  /** Only the last segment may end in a torn frame: every earlier one was fsynced whole before the next existed. */
  readonly isLast: boolean;
  readonly entryDataBytesMax: number;
}

/**
 * Reads every frame of one segment. A bad frame at the end of the last segment is a torn tail (what a
 * crash during an unsynced append leaves); a bad frame anywhere else — in an earlier segment, or with a
 * valid frame after it — is corruption and throws `StorageCorruptionError` naming the file and byte.
 */
export function scanSegment(bytes: Buffer, fileName: string, firstIndex: number, options: SegmentScanOptions): SegmentScan {
  const entries: Entry[] = [];
  const positions: number[] = [];
  // Every frame is at least frameBytesMin bytes, so this bounds the loop by the file size.
  const framesCountMax = Math.floor(bytes.length / frameBytesMin) + 1;
  let position = 0;
  for (let framesCount = 0; position < bytes.length; framesCount++) {
    assert(framesCount < framesCountMax, `scan of ${fileName} read more frames than ${framesCountMax}`);
    const expectedIndex = firstIndex + entries.length;
    const frame = readEntryFrame(bytes, position, options.entryDataBytesMax);
    if (frame.kind === "bad") {
      if (!options.isLast) throw segmentCorruption(fileName, position, `${frame.reason} in a segment that is not the last`);
      // Entries after this one have indexes from expectedIndex up, one per frame at most.
      const indexMax = expectedIndex + Math.floor(bytes.length / frameBytesMin);
      const validAfter = findValidFrame(bytes, position + 1, { indexMin: expectedIndex, indexMax, dataBytesMax: options.entryDataBytesMax });
      if (validAfter !== undefined) {
        throw segmentCorruption(fileName, position, `${frame.reason}, followed by a valid entry ${validAfter.index} at byte ${validAfter.position}`);
      }
      return { entries, positions, validBytes: position, tornTail: { position, reason: frame.reason } };
    }
    if (frame.entry.index !== expectedIndex) {
      throw segmentCorruption(fileName, position, `entry ${frame.entry.index} where entry ${expectedIndex} was expected`);
    }
    entries.push(frame.entry);
    positions.push(position);
    position += frame.sizeBytes;
  }
  assert(position === bytes.length, `scan of ${fileName} ended at ${position} of ${bytes.length} bytes`);
  return { entries, positions, validBytes: position, tornTail: undefined };
}
