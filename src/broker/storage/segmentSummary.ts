import { encodeFrame, frameBytesMin, readFrame } from "../../storage/entryFrame.js";
import { assert } from "../../shared/assert.js";
import { appendEpoch } from "./epochCache.js";
import type { EpochStart } from "./epochCache.js";
import { recordProducerBatch, sequenceAfter } from "./producerState.js";
import type { ProducerBounds, ProducerStates } from "./producerState.js";
import { headerLastOffset, noProducerId, sequenceMax } from "./recordBatch.js";
import type { BatchHeader } from "./recordBatch.js";

/**
 * What a partition log keeps about one segment file, derived from its batches alone: its size and next
 * offset, a sparse offset index (the position of one batch every `indexIntervalBytes`, so a read scans
 * at most that much plus one batch to find its start), the leader epochs that start in it, and the last
 * batches of each producer that appended to it. With these for every sealed segment, opening a log reads
 * only the last segment's batches.
 *
 * A sealed segment's summary is stored beside it as its index file `<baseOffset>.index`, one frame of
 * the log's own format (storage/entryFrame.ts), big-endian:
 *
 *   [length u32][crc32 u32][baseOffset u64][format u64 = 1][type u8 = 0x11][data]
 *   data = [sizeBytes u32][nextOffset u64]
 *          [indexCount u32] then per entry [offset u64][position u32]
 *          [epochsCount u32] then per epoch [epoch u64][startOffset u64]
 *          [producersCount u32] then per producer, least recently appended first,
 *            [producerId u64][batchesCount u8] then per batch, oldest first,
 *            [baseSequence u32][lastSequence u32][baseOffset u64][lastOffset u64]
 *
 * The index file is a cache: the segment is the truth, and an index file that is missing, fails its CRC
 * or describes a file of another size is rebuilt from the segment.
 */
export interface SegmentSummary {
  readonly baseOffset: number;
  /** Bytes of whole batches in the segment file. */
  sizeBytes: number;
  /** The offset after the segment's last batch; `baseOffset` while it is empty. */
  nextOffset: number;
  /** Sparse index: `indexOffsets[i]` is the base offset of the batch at byte `indexPositions[i]`; both increase. */
  readonly indexOffsets: number[];
  readonly indexPositions: number[];
  /** Epochs whose first batch in this segment starts where they say (the segment's first batch included). */
  readonly epochs: EpochStart[];
  readonly producers: ProducerStates;
}

export interface SummaryOptions extends ProducerBounds {
  readonly indexIntervalBytes: number;
}

const indexFileType = 0x11;
const indexFileFormat = 1;
const indexEntryBytes = 12;
const epochEntryBytes = 16;
const producerBatchBytes = 24;

export function emptySummary(baseOffset: number): SegmentSummary {
  return { baseOffset, sizeBytes: 0, nextOffset: baseOffset, indexOffsets: [], indexPositions: [], epochs: [], producers: new Map() };
}

/** Adds the batch of `header`, a frame of `frameBytes` written at the end of the segment. */
export function addBatchToSummary(summary: SegmentSummary, header: BatchHeader, frameBytes: number, options: SummaryOptions): void {
  assert(header.baseOffset === summary.nextOffset, `batch at ${header.baseOffset} does not follow ${summary.nextOffset} in segment ${summary.baseOffset}`);
  const position = summary.sizeBytes;
  const lastIndexed = summary.indexPositions[summary.indexPositions.length - 1] ?? 0;
  if (position - lastIndexed >= options.indexIntervalBytes) {
    summary.indexOffsets.push(header.baseOffset);
    summary.indexPositions.push(position);
  }
  appendEpoch(summary.epochs, header.leaderEpoch, header.baseOffset);
  if (header.producerId !== noProducerId) {
    const lastSequence = sequenceAfter(header.baseSequence, header.recordsCount - 1);
    const batch = { baseSequence: header.baseSequence, lastSequence, baseOffset: header.baseOffset, lastOffset: headerLastOffset(header) };
    recordProducerBatch(summary.producers, header.producerId, batch, options);
  }
  summary.sizeBytes += frameBytes;
  summary.nextOffset = headerLastOffset(header) + 1;
}

/** Where to start reading for the batch holding `offset`: the last indexed batch at or before it, or the first. */
export function indexEntryFor(summary: SegmentSummary, offset: number): { readonly offset: number; readonly position: number } {
  let low = 0;
  let high = summary.indexOffsets.length;
  // Binary search for the first entry above `offset`; the one before it is the answer.
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((summary.indexOffsets[middle] ?? 0) <= offset) low = middle + 1;
    else high = middle;
  }
  if (low === 0) return { offset: summary.baseOffset, position: 0 };
  const entryOffset = summary.indexOffsets[low - 1];
  const position = summary.indexPositions[low - 1];
  assert(entryOffset !== undefined && position !== undefined, "index entry in range");
  return { offset: entryOffset, position };
}

export function encodeIndexFile(summary: SegmentSummary): Buffer {
  let producerBytes = 0;
  for (const state of summary.producers.values()) producerBytes += 9 + producerBatchBytes * state.batches.length;
  const data = Buffer.alloc(12 + 4 + indexEntryBytes * summary.indexOffsets.length + 4 + epochEntryBytes * summary.epochs.length + 4 + producerBytes);
  let at = data.writeUInt32BE(summary.sizeBytes, 0);
  at = data.writeBigUInt64BE(BigInt(summary.nextOffset), at);
  at = data.writeUInt32BE(summary.indexOffsets.length, at);
  summary.indexOffsets.forEach((offset, i) => {
    at = data.writeBigUInt64BE(BigInt(offset), at);
    at = data.writeUInt32BE(summary.indexPositions[i] ?? 0, at);
  });
  at = data.writeUInt32BE(summary.epochs.length, at);
  for (const { epoch, startOffset } of summary.epochs) {
    at = data.writeBigUInt64BE(BigInt(epoch), at);
    at = data.writeBigUInt64BE(BigInt(startOffset), at);
  }
  at = data.writeUInt32BE(summary.producers.size, at);
  for (const state of summary.producers.values()) {
    at = data.writeBigUInt64BE(BigInt(state.producerId), at);
    at = data.writeUInt8(state.batches.length, at);
    for (const batch of state.batches) {
      at = data.writeUInt32BE(batch.baseSequence, at);
      at = data.writeUInt32BE(batch.lastSequence, at);
      at = data.writeBigUInt64BE(BigInt(batch.baseOffset), at);
      at = data.writeBigUInt64BE(BigInt(batch.lastOffset), at);
    }
  }
  assert(at === data.length, `encoded ${at} bytes of a ${data.length}-byte index`);
  const file = Buffer.alloc(frameBytesMin + data.length);
  encodeFrame({ index: summary.baseOffset, term: indexFileFormat, typeCode: indexFileType, data }, file, 0);
  return file;
}

/**
 * The summary in an index file for the segment at `baseOffset`, or why it cannot be used. Checks the
 * CRC and that every field is consistent, so a summary returned is one `encodeIndexFile` wrote.
 */
export function decodeIndexFile(bytes: Buffer, baseOffset: number, options: SummaryOptions): SegmentSummary | string {
  const read = readFrame(bytes, 0, bytes.length);
  if (read.kind === "bad") return read.reason;
  const { index, term, typeCode, data } = read.frame;
  if (read.sizeBytes !== bytes.length) return `${bytes.length - read.sizeBytes} bytes after the index frame`;
  if (typeCode !== indexFileType || term !== indexFileFormat) return `type ${typeCode} format ${term} is not an index file's`;
  if (index !== baseOffset) return `it describes the segment at ${index}`;
  const reader = new FieldReader(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  try {
    const summary = emptySummary(baseOffset);
    summary.sizeBytes = reader.u32();
    summary.nextOffset = reader.u64();
    for (let i = reader.count(indexEntryBytes); i > 0; i--) {
      summary.indexOffsets.push(reader.u64());
      summary.indexPositions.push(reader.u32());
    }
    for (let i = reader.count(epochEntryBytes); i > 0; i--) summary.epochs.push({ epoch: reader.u64(), startOffset: reader.u64() });
    for (let i = reader.count(9); i > 0; i--) {
      const producerId = reader.u64();
      const batchesCount = reader.u8();
      reader.require(batchesCount >= 1 && batchesCount <= options.producerBatchesCountMax, `producer ${producerId} has ${batchesCount} batches`);
      const batches = [];
      for (let b = 0; b < batchesCount; b++) batches.push({ baseSequence: reader.u32(), lastSequence: reader.u32(), baseOffset: reader.u64(), lastOffset: reader.u64() });
      summary.producers.set(producerId, { producerId, batches });
    }
    reader.require(reader.done(), "bytes after the last producer");
    return summaryProblem(summary, options) ?? summary;
  } catch (error) {
    if (error instanceof FieldError) return error.message;
    throw error;
  }
}

/** What makes a decoded summary inconsistent with itself, or undefined. */
function summaryProblem(s: SegmentSummary, options: SummaryOptions): string | undefined {
  if (s.nextOffset < s.baseOffset) return `nextOffset ${s.nextOffset} is below the base offset`;
  if ((s.nextOffset === s.baseOffset) !== (s.sizeBytes === 0)) return `${s.sizeBytes} bytes for offsets [${s.baseOffset}, ${s.nextOffset})`;
  const inSegment = (offset: number): boolean => offset >= s.baseOffset && offset < s.nextOffset;
  for (let i = 0; i < s.indexOffsets.length; i++) {
    const offset = s.indexOffsets[i] ?? -1;
    const position = s.indexPositions[i] ?? -1;
    if (!inSegment(offset) || position <= 0 || position >= s.sizeBytes) return `index entry ${i} is outside the segment`;
    if (i > 0 && (offset <= (s.indexOffsets[i - 1] ?? 0) || position <= (s.indexPositions[i - 1] ?? 0))) return `index entry ${i} does not increase`;
  }
  const first = s.epochs[0];
  if (s.sizeBytes > 0 && first?.startOffset !== s.baseOffset) return "the first batch has no epoch";
  for (let i = 0; i < s.epochs.length; i++) {
    const e = s.epochs[i];
    const previous = s.epochs[i - 1];
    if (e === undefined || !inSegment(e.startOffset)) return `epoch entry ${i} is outside the segment`;
    if (previous !== undefined && (e.epoch <= previous.epoch || e.startOffset <= previous.startOffset)) return `epoch entry ${i} does not increase`;
  }
  if (s.producers.size > options.producersCountMax) return `${s.producers.size} producers, more than ${options.producersCountMax}`;
  for (const state of s.producers.values()) {
    for (const b of state.batches) {
      if (!inSegment(b.baseOffset) || !inSegment(b.lastOffset) || b.lastOffset < b.baseOffset) return `producer ${state.producerId} has a batch outside the segment`;
      if (b.baseSequence > sequenceMax || b.lastSequence > sequenceMax) return `producer ${state.producerId} has a sequence above ${sequenceMax}`;
    }
  }
  return undefined;
}

class FieldError extends Error {}

/** Big-endian fields with a bounds check on each; a shortfall is a `FieldError` naming the byte. */
class FieldReader {
  private at = 0;

  constructor(private readonly bytes: Buffer) {}

  u8(): number {
    this.need(1);
    return this.bytes.readUInt8(this.at++);
  }

  u32(): number {
    this.need(4);
    const value = this.bytes.readUInt32BE(this.at);
    this.at += 4;
    return value;
  }

  u64(): number {
    this.need(8);
    const value = Number(this.bytes.readBigUInt64BE(this.at));
    this.require(Number.isSafeInteger(value), `value at byte ${this.at} is above 2^53 - 1`);
    this.at += 8;
    return value;
  }

  /** A count of items of at least `itemBytes` each, refused if they cannot fit in what is left. */
  count(itemBytes: number): number {
    const count = this.u32();
    this.require(count * itemBytes <= this.bytes.length - this.at, `count ${count} at byte ${this.at - 4} does not fit`);
    return count;
  }

  done(): boolean {
    return this.at === this.bytes.length;
  }

  require(condition: boolean, reason: string): void {
    if (!condition) throw new FieldError(reason);
  }

  private need(sizeBytes: number): void {
    this.require(this.at + sizeBytes <= this.bytes.length, `field at byte ${this.at} runs past the end`);
  }
}
