import type { FileHandle } from "node:fs/promises";
import { readFully } from "../../storage/atomicFile.js";
import { findValidFrame, frameBytesMin, frameHeaderBytes, readFrame } from "../../storage/entryFrame.js";
import type { Frame } from "../../storage/entryFrame.js";
import { StorageCorruptionError, segmentCorruption } from "../../storage/errors.js";
import { assert } from "../../shared/assert.js";
import { decodeBatchHeader, headerLastOffset, recordBytesMin } from "./recordBatch.js";
import type { BatchHeader } from "./recordBatch.js";
import { addBatchToSummary, emptySummary } from "./segmentSummary.js";
import type { SegmentSummary, SummaryOptions } from "./segmentSummary.js";

/**
 * Files of a partition directory: segments `<baseOffset>.log` holding batch frames back to back, each
 * with its index file `<baseOffset>.index` (segmentSummary.ts), the base offset zero-padded to 20 digits
 * so that name order is offset order (as the controller's segments, but from offset 0).
 */
const segmentNamePattern = /^(\d{20})\.log$/;
const indexNamePattern = /^(\d{20})\.index$/;

export function segmentFileName(baseOffset: number): string {
  return `${padOffset(baseOffset)}.log`;
}

export function indexFileName(baseOffset: number): string {
  return `${padOffset(baseOffset)}.index`;
}

/** The base offset a segment file name stands for, or undefined for any other name. */
export function parseSegmentFileName(name: string): number | undefined {
  return parseOffset(segmentNamePattern.exec(name)?.[1]);
}

export function parseIndexFileName(name: string): number | undefined {
  return parseOffset(indexNamePattern.exec(name)?.[1]);
}

function padOffset(offset: number): string {
  assert(Number.isSafeInteger(offset) && offset >= 0, `a segment's base offset must be a non-negative safe integer, got ${offset}`);
  return String(offset).padStart(20, "0");
}

function parseOffset(digits: string | undefined): number | undefined {
  const offset = digits === undefined ? Number.NaN : Number(digits);
  return Number.isSafeInteger(offset) ? offset : undefined;
}

export interface BatchSegmentScan {
  readonly summary: SegmentSummary;
  /** Set when the segment ends in a torn frame (only ever the last segment). */
  readonly tornTail: { readonly position: number; readonly reason: string } | undefined;
}

export interface BatchScanOptions {
  /** Only the last segment may end in a torn frame: every earlier one was fsynced whole before the next existed. */
  readonly isLast: boolean;
  readonly batchBytesMax: number;
  readonly summary: SummaryOptions;
  /** Stop before the first batch holding this offset or a later one (a truncation's cut). */
  readonly stopAtOffset?: number;
}

/**
 * Reads every batch of one segment and summarises it. A bad frame at the end of the last segment is a
 * torn tail (what a crash during an unsynced append leaves); a bad frame anywhere else — in an earlier
 * segment, or with a valid frame after it — is corruption and throws `StorageCorruptionError` naming the
 * file and byte, as does a valid frame that is not the batch expected there.
 */
export function scanBatchSegment(bytes: Buffer, fileName: string, baseOffset: number, options: BatchScanOptions): BatchSegmentScan {
  const summary = emptySummary(baseOffset);
  // Every frame is at least frameBytesMin bytes, so this bounds the loop by the file size.
  const framesCountMax = Math.floor(bytes.length / frameBytesMin) + 1;
  for (let framesCount = 0, position = 0; position < bytes.length; framesCount++) {
    assert(framesCount < framesCountMax, `scan of ${fileName} read more frames than ${framesCountMax}`);
    const read = readFrame(bytes, position, options.batchBytesMax);
    if (read.kind === "bad") {
      if (!options.isLast) throw segmentCorruption(fileName, position, `${read.reason} in a segment that is not the last`);
      // Later batches start at nextOffset or after, one record in at least recordBytesMin bytes.
      const search = { indexMin: summary.nextOffset, indexMax: summary.nextOffset + Math.floor(bytes.length / recordBytesMin), dataBytesMax: options.batchBytesMax };
      const validAfter = findValidFrame(bytes, position + 1, search);
      if (validAfter !== undefined) {
        throw segmentCorruption(fileName, position, `${read.reason}, followed by a valid batch at offset ${validAfter.index} at byte ${validAfter.position}`);
      }
      return { summary, tornTail: { position, reason: read.reason } };
    }
    const header = expectBatch(read.frame, summary.nextOffset, fileName, position);
    if (options.stopAtOffset !== undefined && headerLastOffset(header) >= options.stopAtOffset) break;
    const latestEpoch = summary.epochs[summary.epochs.length - 1]?.epoch ?? 0;
    if (header.leaderEpoch < latestEpoch) throw segmentCorruption(fileName, position, `batch of leader epoch ${header.leaderEpoch} follows epoch ${latestEpoch}`);
    addBatchToSummary(summary, header, read.sizeBytes, options.summary);
    position += read.sizeBytes;
  }
  return { summary, tornTail: undefined };
}

/** The header of the frame at `position`, which must be the batch starting at `expectedOffset`. */
export function expectBatch(frame: Frame, expectedOffset: number, fileName: string, position: number): BatchHeader {
  const header = decodeBatchHeader(frame);
  if (typeof header === "string") throw segmentCorruption(fileName, position, header);
  if (header.baseOffset !== expectedOffset) throw segmentCorruption(fileName, position, `batch at offset ${header.baseOffset} where offset ${expectedOffset} was expected`);
  return header;
}

/**
 * Reads the frames of one segment file in order, from a position the caller knows is a frame's start,
 * a chunk at a time, checking each frame's CRC. A bad frame inside bytes that were written whole is
 * corruption, found at read time: `StorageCorruptionError`.
 */
export class FrameCursor {
  private buffer: Buffer = Buffer.alloc(0);
  private bufferStart = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly fileName: string,
    /** Position of the next frame. */
    public position: number,
    /** Bytes of whole frames in the file. */
    private readonly endPosition: number,
    private readonly options: { readonly chunkBytes: number; readonly batchBytesMax: number },
  ) {}

  /** The next frame and its bytes (views into the cursor's buffer), or undefined at the end. */
  async next(): Promise<{ frame: Frame; bytes: Buffer; position: number } | undefined> {
    const position = this.position;
    if (position >= this.endPosition) return undefined;
    await this.load(position, frameHeaderBytes);
    const sizeBytes = frameHeaderBytes + this.buffer.readUInt32BE(position - this.bufferStart);
    if (sizeBytes > frameBytesMin + this.options.batchBytesMax || position + sizeBytes > this.endPosition) {
      throw this.corruption(position, `bad length ${sizeBytes - frameHeaderBytes}`);
    }
    await this.load(position, sizeBytes);
    const bytes = this.buffer.subarray(position - this.bufferStart, position - this.bufferStart + sizeBytes);
    const read = readFrame(bytes, 0, this.options.batchBytesMax);
    if (read.kind === "bad") throw this.corruption(position, read.reason);
    this.position = position + sizeBytes;
    return { frame: read.frame, bytes, position };
  }

  /** Makes [position, position + sizeBytes) part of the buffer, reading a chunk from `position` if it is not. */
  private async load(position: number, sizeBytes: number): Promise<void> {
    if (position >= this.bufferStart && position + sizeBytes <= this.bufferStart + this.buffer.length) return;
    const length = Math.min(Math.max(sizeBytes, this.options.chunkBytes), this.endPosition - position);
    this.buffer = await readFully(this.handle, length, position);
    this.bufferStart = position;
    if (this.buffer.length < sizeBytes) throw this.corruption(position, `file ends ${this.buffer.length} bytes into a ${sizeBytes}-byte read`);
  }

  private corruption(position: number, reason: string): StorageCorruptionError {
    return new StorageCorruptionError(`Cannot read partition log as segment ${this.fileName} is corrupt at byte ${position}: ${reason}`, this.fileName, position);
  }
}
