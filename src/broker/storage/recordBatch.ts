import { crc32 } from "node:zlib";
import { frameBodyFixedBytes, frameBytesMin, frameHeaderBytes, readFrame } from "../../storage/entryFrame.js";
import type { Frame } from "../../storage/entryFrame.js";
import { assert } from "../../shared/assert.js";
import { limits } from "../../shared/limits.js";
import { invalidBatch } from "./partitionLogError.js";

/**
 * A record batch: the unit a partition leader appends, a follower copies verbatim and a consumer reads.
 * One batch is one frame of the controller's log format (storage/entryFrame.ts), big-endian:
 *
 *   [length u32][crc32 u32][baseOffset u64 = index][leaderEpoch u64 = term][format u8 = 0x10][data]
 *
 *   data = [recordsCount u32][producerId i64][baseSequence i32][appendTimeMs u64][baseTimestampMs u64]
 *          then per record, in offset order:
 *          [timestampDelta uvarint][keyLength uvarint][key][valueLength uvarint][value]
 *
 * The batch covers offsets [baseOffset, baseOffset + recordsCount). `producerId` and `baseSequence` are -1
 * for a producer without idempotence. `baseTimestampMs` is the smallest record timestamp, so every
 * `timestampDelta` (timestampMs - baseTimestampMs) is non-negative. `keyLength` is 0 for a null key and
 * n + 1 for a key of n bytes. A uvarint is unsigned LEB128 (7 bits a byte, low bits first, high bit set
 * on all but the last byte), minimal, at most a safe integer. The CRC covers every field after it, so a
 * batch read back is exactly the batch written; the encoding is canonical, so decoding and re-encoding a
 * batch gives back the same bytes (what lets a follower store what the leader stored).
 */
export const batchFrameType = 0x10;
/** Bytes of `data` before the first record. */
export const batchDataFixedBytes = 32;
/** The smallest encoded record: three one-byte varints (timestamp delta, null key, empty value). */
export const recordBytesMin = 3;
export const noProducerId = -1;
export const noSequence = -1;
/** Sequences are Kafka's int32 and wrap to 0 after this. */
export const sequenceMax = 2_147_483_647;

export interface LogRecord {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array;
  readonly timestampMs: number;
}

/** What a partition leader appends; the log assigns `baseOffset`. */
export interface BatchToAppend {
  /** The partition epoch at which the appending broker became leader. */
  readonly leaderEpoch: number;
  /** -1 (`noProducerId`) for a producer without idempotence. */
  readonly producerId: number;
  /** Sequence of the first record; -1 (`noSequence`) exactly when `producerId` is -1. */
  readonly baseSequence: number;
  /** The leader's clock when it appended the batch. */
  readonly appendTimeMs: number;
  readonly records: readonly LogRecord[];
  /**
   * `records` already encoded: the batch data from `baseTimestampMs` on (its byte 24), canonical, as a
   * binary produce request or a replicated frame carries it. When given, the frame copies it instead of
   * encoding the records again; whoever sets it has checked that it decodes to `records`.
   */
  readonly encodedRecords?: Uint8Array | undefined;
}

/**
 * A batch a leader appends with its records only as bytes, as a binary produce request carried them
 * (binaryProtocol.ts): `encodedRecords` is the batch data from `baseTimestampMs` on, and whoever builds
 * this has checked that it holds `recordsCount` whole records in the canonical form with safe timestamps
 * (`decodeProduceRequest`). No record is ever decoded on the way to the frame.
 */
export interface EncodedBatchToAppend extends Omit<BatchToAppend, "records" | "encodedRecords"> {
  readonly records?: undefined;
  readonly recordsCount: number;
  readonly encodedRecords: Uint8Array;
}

/** An `EncodedBatchToAppend` at its offset. */
export interface EncodedRecordBatch extends EncodedBatchToAppend {
  readonly baseOffset: number;
}

/** How many records a batch to append holds, decoded or not. */
export function recordsCountOf(batch: BatchToAppend | EncodedBatchToAppend): number {
  return batch.records === undefined ? batch.recordsCount : batch.records.length;
}

export interface RecordBatch extends BatchToAppend {
  readonly baseOffset: number;
  /**
   * The batch's whole frame as received and CRC-checked (`decodeBatchFrames`): a follower writes the
   * leader's bytes as they are instead of framing the batch again.
   */
  readonly frame?: Uint8Array | undefined;
}

/** The fields of a batch that live before its records: all the log needs to index and recover it. */
export interface BatchHeader {
  readonly baseOffset: number;
  readonly leaderEpoch: number;
  readonly producerId: number;
  readonly baseSequence: number;
  readonly appendTimeMs: number;
  readonly recordsCount: number;
}

export function lastOffsetOf(batch: RecordBatch | EncodedRecordBatch): number {
  return batch.baseOffset + recordsCountOf(batch) - 1;
}

export function headerLastOffset(header: BatchHeader): number {
  return header.baseOffset + header.recordsCount - 1;
}

/**
 * Why `batch` cannot be stored, or undefined when it can. Checks the bounds of `limits.broker`. The
 * timestamps of an `EncodedRecordBatch` were checked with its records, when its bytes were.
 */
export function batchProblem(batch: RecordBatch | EncodedRecordBatch): string | undefined {
  const count = recordsCountOf(batch);
  if (count === 0) return "it holds no record";
  if (count > limits.broker.batchRecordsCountMax) return `it holds ${count} records, more than ${limits.broker.batchRecordsCountMax}`;
  if (!isNonNegativeSafe(batch.baseOffset) || !Number.isSafeInteger(batch.baseOffset + count)) return `baseOffset ${batch.baseOffset} is not a non-negative safe integer`;
  if (!isNonNegativeSafe(batch.leaderEpoch)) return `leaderEpoch ${batch.leaderEpoch} is not a non-negative safe integer`;
  if (!isNonNegativeSafe(batch.appendTimeMs)) return `appendTimeMs ${batch.appendTimeMs} is not a non-negative safe integer`;
  if (batch.producerId === noProducerId) {
    if (batch.baseSequence !== noSequence) return `baseSequence is ${batch.baseSequence} without a producerId`;
  } else {
    if (!isNonNegativeSafe(batch.producerId)) return `producerId ${batch.producerId} is neither -1 nor a non-negative safe integer`;
    if (!Number.isInteger(batch.baseSequence) || batch.baseSequence < 0 || batch.baseSequence > sequenceMax) return `baseSequence ${batch.baseSequence} is outside [0, ${sequenceMax}]`;
  }
  const bad = batch.records?.findIndex((r) => !isNonNegativeSafe(r.timestampMs)) ?? -1;
  if (bad >= 0) return `record ${bad} has timestampMs ${String(batch.records?.[bad]?.timestampMs)}, not a non-negative safe integer`;
  const dataBytes = batchDataSizeBytes(batch);
  if (dataBytes > limits.broker.batchBytesMax) return `it encodes to ${dataBytes} bytes, more than ${limits.broker.batchBytesMax}`;
  return undefined;
}

/** Bytes of the batch's frame on disk. */
export function batchFrameSizeBytes(batch: RecordBatch | EncodedRecordBatch): number {
  return frameBytesMin + batchDataSizeBytes(batch);
}

/** Bytes of a batch's data before `encodedRecords`: recordsCount, producerId, baseSequence, appendTimeMs. */
const encodedRecordsOffset = 24;

/** The batch's frame; `batch` must pass `batchProblem`. Written straight into the frame, then sealed by its CRC. */
export function encodeBatchFrame(batch: RecordBatch | EncodedRecordBatch): Buffer {
  if (batch.records !== undefined && batch.frame !== undefined) return Buffer.from(batch.frame.buffer, batch.frame.byteOffset, batch.frame.byteLength);
  const dataBytes = batchDataSizeBytes(batch);
  const frame = Buffer.allocUnsafe(frameBytesMin + dataBytes);
  const dataStart = frameBytesMin;
  let position = frame.writeUInt32BE(recordsCountOf(batch), dataStart);
  position = frame.writeBigInt64BE(BigInt(batch.producerId), position);
  position = frame.writeInt32BE(batch.baseSequence, position);
  position = frame.writeBigUInt64BE(BigInt(batch.appendTimeMs), position);
  if (batch.encodedRecords !== undefined) {
    frame.set(batch.encodedRecords, position);
    position += batch.encodedRecords.length;
  } else if (batch.records !== undefined) {
    const baseTimestampMs = minTimestampMs(batch.records);
    position = frame.writeBigUInt64BE(BigInt(baseTimestampMs), position);
    for (const record of batch.records) {
      position = writeUvarint(frame, position, record.timestampMs - baseTimestampMs);
      position = writeUvarint(frame, position, record.key === null ? 0 : record.key.length + 1);
      if (record.key !== null) position += copyInto(frame, record.key, position);
      position = writeUvarint(frame, position, record.value.length);
      position += copyInto(frame, record.value, position);
    }
  }
  assert(position === frame.length, `encoded ${position - dataStart} bytes of a ${dataBytes}-byte batch`);
  // The frame's fields (storage/entryFrame.ts): length, CRC of everything after it, index, term, type.
  assert(isNonNegativeSafe(batch.baseOffset) && isNonNegativeSafe(batch.leaderEpoch), "a batch's offset and epoch are non-negative safe integers");
  frame.writeUInt32BE(frameBodyFixedBytes + dataBytes, 0);
  frame.writeBigUInt64BE(BigInt(batch.baseOffset), frameHeaderBytes);
  frame.writeBigUInt64BE(BigInt(batch.leaderEpoch), frameHeaderBytes + 8);
  frame.writeUInt8(batchFrameType, frameHeaderBytes + 16);
  frame.writeUInt32BE(crc32(frame.subarray(frameHeaderBytes)), 4);
  return frame;
}

/** The frames of `batches`, back to back: what a leader ships to a follower. */
export function encodeBatchFrames(batches: readonly RecordBatch[]): Buffer {
  return joinBytes(batches.map(encodeBatchFrame));
}

/**
 * `parts` back to back: a view when they already lie back to back in one buffer (frames read or received
 * together), else a copy.
 */
export function joinBytes(parts: readonly Uint8Array[]): Buffer {
  const first = parts[0];
  if (first === undefined) return Buffer.alloc(0);
  let end = first.byteOffset + first.byteLength;
  let sizeBytes = first.byteLength;
  let adjacent = true;
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i] as Uint8Array;
    adjacent &&= part.buffer === first.buffer && part.byteOffset === end;
    end = part.byteOffset + part.byteLength;
    sizeBytes += part.byteLength;
  }
  if (adjacent) return Buffer.from(first.buffer, first.byteOffset, sizeBytes);
  return Buffer.concat(parts, sizeBytes);
}

/** The header of a frame whose CRC checked out, or why it is not a batch. Reads no record. */
export function decodeBatchHeader(frame: Frame): BatchHeader | string {
  if (frame.typeCode !== batchFrameType) return `frame type ${frame.typeCode} is not a record batch`;
  if (frame.data.length < batchDataFixedBytes) return `batch data of ${frame.data.length} bytes is shorter than its header`;
  const data = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
  const recordsCount = data.readUInt32BE(0);
  const producerId = Number(data.readBigInt64BE(4));
  const baseSequence = data.readInt32BE(12);
  const appendTimeMs = Number(data.readBigUInt64BE(16));
  if (recordsCount === 0 || recordsCount > limits.broker.batchRecordsCountMax) return `bad record count ${recordsCount}`;
  if (recordsCount > (data.length - batchDataFixedBytes) / recordBytesMin) return `record count ${recordsCount} does not fit ${data.length} bytes`;
  if (producerId !== noProducerId && !isNonNegativeSafe(producerId)) return `bad producerId ${producerId}`;
  if ((producerId === noProducerId) !== (baseSequence === noSequence) || baseSequence < noSequence) return `bad baseSequence ${baseSequence} for producerId ${producerId}`;
  if (!isNonNegativeSafe(appendTimeMs)) return `bad appendTimeMs ${appendTimeMs}`;
  if (!Number.isSafeInteger(frame.index + recordsCount)) return `baseOffset ${frame.index} has no room for ${recordsCount} records`;
  return { baseOffset: frame.index, leaderEpoch: frame.term, producerId, baseSequence, appendTimeMs, recordsCount };
}

/**
 * The whole batch of a frame whose CRC checked out, or why it is not one. Keys and values are views into
 * `frame.data`, not copies.
 */
export function decodeBatch(frame: Frame): RecordBatch | string {
  const header = decodeBatchHeader(frame);
  if (typeof header === "string") return header;
  const records: LogRecord[] = [];
  const problem = walkRecords(frame.data, encodedRecordsOffset, header.recordsCount, records);
  if (problem !== undefined) return problem;
  const { recordsCount: _count, ...fields } = header;
  return { ...fields, records, encodedRecords: frame.data.subarray(encodedRecordsOffset) };
}

/**
 * The records of an `EncodedBatchToAppend` (its `recordsCount` and `encodedRecords`), decoded, keys and
 * values as views into `encodedRecords`, for whoever needs them as records; throws if they are not
 * whole, which its builder has checked.
 */
export function decodeEncodedRecords(recordsCount: number, encodedRecords: Uint8Array): LogRecord[] {
  const records: LogRecord[] = [];
  const problem = walkRecords(encodedRecords, 0, recordsCount, records);
  assert(problem === undefined, `encoded records must be whole: ${String(problem)}`);
  return records;
}

/** A batch as a follower receives it: its header, read and checked, and its whole frame, stored as it is. */
export interface FramedBatch extends BatchHeader {
  readonly frame: Uint8Array;
}

/**
 * The header of a frame whose CRC checked out, or why it is not a batch: refuses exactly what `decodeBatch`
 * then `batchProblem` refuse, without building a record. Walks the records allocating nothing, so that a
 * follower can check a batch it only stores.
 */
export function checkBatch(frame: Frame): BatchHeader | string {
  const header = decodeBatchHeader(frame);
  if (typeof header === "string") return header;
  return walkRecords(frame.data, encodedRecordsOffset, header.recordsCount, undefined) ?? header;
}

/**
 * Walks the `recordsCount` records of a batch's data, checking every length against the bytes and every
 * timestamp; why they are not whole, or undefined. Each record goes to `records` when it is given (keys
 * and values as views into `data`); without it the walk allocates nothing.
 */
function walkRecords(data: Uint8Array, start: number, recordsCount: number, records: LogRecord[] | undefined): string | undefined {
  const baseTimestampMs = Number(Buffer.from(data.buffer, data.byteOffset, data.byteLength).readBigUInt64BE(start));
  if (!isNonNegativeSafe(baseTimestampMs)) return `bad baseTimestampMs ${baseTimestampMs}`;
  let position = start + 8;
  for (let i = 0; i < recordsCount; i++) {
    const deltaEnd = scanUvarint(data, position);
    const timestampMs = baseTimestampMs + scannedValue;
    if (deltaEnd < 0 || !Number.isSafeInteger(timestampMs)) return `record ${i}: bad timestamp delta`;
    const keyLengthEnd = scanUvarint(data, deltaEnd);
    const keyBytesPlusOne = scannedValue;
    const keyEnd = keyLengthEnd + Math.max(0, keyBytesPlusOne - 1);
    if (keyLengthEnd < 0 || keyEnd > data.length) return `record ${i}: bad key length`;
    const valueLengthEnd = scanUvarint(data, keyEnd);
    if (valueLengthEnd < 0 || valueLengthEnd + scannedValue > data.length) return `record ${i}: bad value length`;
    position = valueLengthEnd + scannedValue;
    records?.push({ key: keyBytesPlusOne === 0 ? null : data.subarray(keyLengthEnd, keyEnd), value: data.subarray(valueLengthEnd, position), timestampMs });
  }
  if (position !== data.length) return `${data.length - position} bytes after the last record`;
  return undefined;
}

/**
 * The batches of back-to-back frames received from a leader, each checked by CRC and by `checkBatch`,
 * with their frames as views into `bytes`; throws `PartitionLogError` INVALID_BATCH naming the first bad
 * frame. Refuses exactly what `decodeBatchFrames` then `batchProblem` refuse, without decoding a record.
 */
export function checkBatchFrames(bytes: Uint8Array): FramedBatch[] {
  return framesOf(bytes, checkBatch);
}

/**
 * The batches of back-to-back frames received from a leader, each checked by CRC and decoded; throws
 * `PartitionLogError` INVALID_BATCH naming the first bad frame.
 */
export function decodeBatchFrames(bytes: Uint8Array): RecordBatch[] {
  return framesOf(bytes, decodeBatch);
}

/** Reads back-to-back frames, each by CRC and then by `read`, keeping each one's frame as a view into `bytes`. */
function framesOf<T extends object>(bytes: Uint8Array, read: (frame: Frame) => T | string): (T & { readonly frame: Uint8Array })[] {
  const batches: (T & { readonly frame: Uint8Array })[] = [];
  // Every frame is at least frameBytesMin bytes, so this bounds the loop by the input size.
  for (let position = 0; position < bytes.length; ) {
    const framed = readFrame(bytes, position, limits.broker.batchBytesMax);
    const batch = framed.kind === "bad" ? framed.reason : read(framed.frame);
    if (typeof batch === "string") throw invalidBatch(`frame at byte ${position} of ${bytes.length}: ${batch}`);
    assert(framed.kind === "frame", "a batch read comes from a good frame");
    batches.push({ ...batch, frame: bytes.subarray(position, position + framed.sizeBytes) });
    position += framed.sizeBytes;
  }
  return batches;
}

function batchDataSizeBytes(batch: BatchToAppend | EncodedBatchToAppend): number {
  if (batch.records === undefined) return encodedRecordsOffset + batch.encodedRecords.length;
  if (batch.encodedRecords !== undefined) return encodedRecordsOffset + batch.encodedRecords.length;
  const baseTimestampMs = minTimestampMs(batch.records);
  let sizeBytes = batchDataFixedBytes;
  for (const record of batch.records) {
    const keyBytes = record.key === null ? 0 : record.key.length;
    sizeBytes += uvarintSizeBytes(record.timestampMs - baseTimestampMs);
    sizeBytes += uvarintSizeBytes(record.key === null ? 0 : keyBytes + 1) + keyBytes;
    sizeBytes += uvarintSizeBytes(record.value.length) + record.value.length;
  }
  return sizeBytes;
}

function minTimestampMs(records: readonly LogRecord[]): number {
  let min = Number.MAX_SAFE_INTEGER;
  for (const record of records) min = Math.min(min, record.timestampMs);
  return records.length === 0 ? 0 : min;
}

function isNonNegativeSafe(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function copyInto(target: Buffer, source: Uint8Array, position: number): number {
  target.set(source, position);
  return source.length;
}

// Unsigned LEB128 on safe integers, with arithmetic rather than bit operators (which stop at 32 bits).

/** A safe integer needs at most 8 bytes of 7 bits. */
const uvarintBytesMax = 8;

export function uvarintSizeBytes(value: number): number {
  let sizeBytes = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) sizeBytes++;
  return sizeBytes;
}

export function writeUvarint(target: Buffer, position: number, value: number): number {
  assert(isNonNegativeSafe(value), `uvarint ${value} must be a non-negative safe integer`);
  let at = position;
  let rest = value;
  for (; rest >= 0x80; rest = Math.floor(rest / 0x80)) target[at++] = (rest % 0x80) + 0x80;
  target[at++] = rest;
  return at;
}

/** The value the last `scanUvarint` read: kept here so that scanning allocates nothing. */
let scannedValue = 0;

/** The value the last `scanUvarint` that did not give -1 read. */
export function scannedUvarint(): number {
  return scannedValue;
}

/**
 * `readUvarint` without an allocation: the position after the value at `position`, which it leaves in
 * `scannedValue` (`scannedUvarint()`), or -1 where `readUvarint` gives undefined.
 */
export function scanUvarint(bytes: Uint8Array, position: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < uvarintBytesMax && position + i < bytes.length; i++) {
    const byte = bytes[position + i] ?? 0;
    value += (byte % 0x80) * scale;
    if (byte < 0x80) {
      if ((i > 0 && byte === 0) || !Number.isSafeInteger(value)) return -1;
      scannedValue = value;
      return position + i + 1;
    }
    scale *= 0x80;
  }
  return -1;
}

/** The value at `position` and the position after it; undefined if cut short, not minimal or not safe. */
export function readUvarint(bytes: Uint8Array, position: number): { value: number; position: number } | undefined {
  const end = scanUvarint(bytes, position);
  return end < 0 ? undefined : { value: scannedValue, position: end };
}
