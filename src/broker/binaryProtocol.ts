import { recordBytesMin, scannedUvarint, scanUvarint, uvarintSizeBytes, writeUvarint } from "./storage/recordBatch.js";
import { produceRecordsCountMax, produceTimeoutMsMax, topicNameLengthMax } from "./protocol.js";

/**
 * The binary forms of the data plane's two hot exchanges (docs/DATA_PLANE.md, "Binary forms"), beside
 * their JSON forms, chosen by the request's `Content-Type` and `Accept` headers:
 *
 * - a produce request body (`Content-Type: application/x-yakt-batch`): a fixed header, then the records
 *   exactly as a stored batch holds them (storage/recordBatch.ts), so the leader validates them and copies
 *   them into its frame without re-encoding;
 * - a fetch or replica-fetch answer (`Accept: application/x-yakt-batches`): a fixed header, then the
 *   leader's stored frames as they are on its disk, each with its CRC.
 *
 * All integers are big-endian. Keys and values are bytes (UTF-8 when they came from JSON).
 */

export const produceBatchContentType = "application/x-yakt-batch";
export const batchesContentType = "application/x-yakt-batches";

/** "YKTP": a produce request. */
export const produceMagic = 0x594b5450;
/** "YKTB": a batches answer. */
export const batchesMagic = 0x594b5442;
export const binaryVersion = 1;

/**
 * Produce request header, before the topic name:
 *   [magic u32][version u8][acks i8][topicLength u16] then [topic: topicLength bytes of ASCII]
 * and after it:
 *   [partition u32][timeoutMs u32, 0 = the default][producerId i64, -1 = none][baseSequence i32, -1 = none]
 *   [recordsCount u32][baseTimestampMs u64]
 * then `recordsCount` records: [timestampDelta uvarint][keyLength uvarint, 0 = null, n + 1][key][valueLength uvarint][value]
 */
const produceHeadBytes = 8;
const produceTailBytes = 32;

/** Batches answer header: [magic u32][version u8][flags u8, bit 0 = diverging][reserved u16 = 0]
 *  [highWatermark i64][logStartOffset i64][divergingEpoch i64][divergingEndOffset i64], then frames. */
export const batchesHeaderBytes = 40;
const divergingFlag = 0x01;

export interface ProduceFields {
  readonly topic: string;
  readonly partition: number;
  readonly acks: -1 | 0 | 1;
  /** Absent: the broker's default. */
  readonly timeoutMs?: number | undefined;
  /** With `baseSequence`, or neither. */
  readonly producerId?: number | undefined;
  readonly baseSequence?: number | undefined;
}

/** A record as a producer holds it: strings, encoded as UTF-8. */
export interface TextRecord {
  readonly key: string | null;
  readonly value: string;
  readonly timestampMs: number;
}

export interface DecodedProduce extends ProduceFields {
  readonly recordsCount: number;
  /**
   * `baseTimestampMs` and the records, exactly as a stored batch's data holds them from its byte 24 on
   * (whole and canonical: the decoder walked them), so the leader copies them into its frame as they are.
   * A view into the body, not a copy; no record is decoded.
   */
  readonly encodedRecords: Uint8Array;
}

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** The bytes a record takes in a batch besides its timestamp delta (at most 8 bytes more). */
export function textRecordSizeBytes(keyBytes: number | null, valueBytes: number): number {
  return (keyBytes === null ? 1 : uvarintSizeBytes(keyBytes + 1) + keyBytes) + uvarintSizeBytes(valueBytes) + valueBytes;
}

/**
 * A produce request body. `sizes` may give each record's key and value lengths in UTF-8 bytes when the
 * caller knows them already (null for a null key).
 */
export function encodeProduceRequest(fields: ProduceFields, records: readonly TextRecord[], sizes?: readonly { readonly keyBytes: number | null; readonly valueBytes: number }[]): Buffer {
  const topicBytes = Buffer.byteLength(fields.topic, "latin1");
  let baseTimestampMs = Number.MAX_SAFE_INTEGER;
  for (const record of records) if (record.timestampMs < baseTimestampMs) baseTimestampMs = record.timestampMs;
  if (records.length === 0) baseTimestampMs = 0;
  const keyLengths: (number | null)[] = [];
  const valueLengths: number[] = [];
  let sizeBytes = produceHeadBytes + topicBytes + produceTailBytes;
  records.forEach((record, i) => {
    const given = sizes?.[i];
    const keyBytes = given !== undefined ? given.keyBytes : record.key === null ? null : Buffer.byteLength(record.key);
    const valueBytes = given !== undefined ? given.valueBytes : Buffer.byteLength(record.value);
    keyLengths.push(keyBytes);
    valueLengths.push(valueBytes);
    sizeBytes += uvarintSizeBytes(record.timestampMs - baseTimestampMs) + textRecordSizeBytes(keyBytes, valueBytes);
  });
  const body = Buffer.allocUnsafe(sizeBytes);
  let position = body.writeUInt32BE(produceMagic, 0);
  position = body.writeUInt8(binaryVersion, position);
  position = body.writeInt8(fields.acks, position);
  position = body.writeUInt16BE(topicBytes, position);
  position += body.write(fields.topic, position, "latin1");
  position = body.writeUInt32BE(fields.partition, position);
  position = body.writeUInt32BE(fields.timeoutMs ?? 0, position);
  position = body.writeBigInt64BE(BigInt(fields.producerId ?? -1), position);
  position = body.writeInt32BE(fields.baseSequence ?? -1, position);
  position = body.writeUInt32BE(records.length, position);
  position = body.writeBigUInt64BE(BigInt(baseTimestampMs), position);
  records.forEach((record, i) => {
    position = writeUvarint(body, position, record.timestampMs - baseTimestampMs);
    const keyBytes = keyLengths[i] ?? null;
    position = writeUvarint(body, position, keyBytes === null ? 0 : keyBytes + 1);
    if (record.key !== null && keyBytes !== null) position += body.write(record.key, position, keyBytes, "utf8");
    const valueBytes = valueLengths[i] ?? 0;
    position = writeUvarint(body, position, valueBytes);
    position += body.write(record.value, position, valueBytes, "utf8");
  });
  if (position !== body.length) throw new RangeError(`Cannot encode the produce request as it took ${position} of ${body.length} bytes`);
  return body;
}

/**
 * A produce request body, checked as strictly as its JSON form is by its schema: every field in range,
 * every record whole, nothing after the last one, and the records in the canonical form a stored batch
 * uses (minimal varints, `baseTimestampMs` the smallest timestamp), so that they can be stored as sent.
 * The records are walked, not decoded: the walk allocates nothing per record.
 */
export function decodeProduceRequest(bytes: Uint8Array): Decoded<DecodedProduce> {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.length < produceHeadBytes) return bad(`it is ${view.length} bytes, shorter than the ${produceHeadBytes}-byte header`);
  const magic = view.readUInt32BE(0);
  if (magic !== produceMagic) return bad(`it starts with 0x${magic.toString(16).padStart(8, "0")}, not the magic 0x${produceMagic.toString(16)}`);
  const version = view.readUInt8(4);
  if (version !== binaryVersion) return bad(`its version is ${version}: this broker reads version ${binaryVersion}`);
  const acks = view.readInt8(5);
  if (acks !== -1 && acks !== 0 && acks !== 1) return bad(`acks is ${acks}, not -1, 0 or 1`);
  const topicBytes = view.readUInt16BE(6);
  if (topicBytes < 1 || topicBytes > topicNameLengthMax) return bad(`its topic name is ${topicBytes} bytes, not 1 to ${topicNameLengthMax}`);
  const fixedEnd = produceHeadBytes + topicBytes + produceTailBytes;
  if (view.length < fixedEnd) return bad(`it is ${view.length} bytes, shorter than its ${fixedEnd}-byte header`);
  const topic = view.toString("latin1", produceHeadBytes, produceHeadBytes + topicBytes);
  if (!/^[A-Za-z0-9._-]+$/.test(topic)) return bad("its topic name has characters other than A-Z, a-z, 0-9, '.', '_' and '-'");
  let position = produceHeadBytes + topicBytes;
  const partition = view.readUInt32BE(position);
  const timeoutMs = view.readUInt32BE(position + 4);
  const producerId = Number(view.readBigInt64BE(position + 8));
  const baseSequence = view.readInt32BE(position + 16);
  const recordsCount = view.readUInt32BE(position + 20);
  const baseTimestampMs = Number(view.readBigUInt64BE(position + 24));
  position = fixedEnd;
  if (partition > 1_000_000) return bad(`partition ${partition} is above 1000000`);
  if (timeoutMs > produceTimeoutMsMax) return bad(`timeoutMs ${timeoutMs} is above ${produceTimeoutMsMax}`);
  if (producerId < -1 || !Number.isSafeInteger(producerId)) return bad(`producerId ${producerId} is neither -1 nor a non-negative safe integer`);
  if (baseSequence < -1) return bad(`baseSequence ${baseSequence} is neither -1 nor non-negative`);
  if ((producerId === -1) !== (baseSequence === -1)) return bad("producerId and baseSequence must be given together (or both -1)");
  if (recordsCount < 1 || recordsCount > produceRecordsCountMax) return bad(`it holds ${recordsCount} records, not 1 to ${produceRecordsCountMax}`);
  if (recordsCount > (view.length - position) / recordBytesMin) return bad(`${recordsCount} records cannot fit its ${view.length - position} bytes of records`);
  if (!Number.isSafeInteger(baseTimestampMs)) return bad(`baseTimestampMs ${baseTimestampMs} is not a safe integer`);
  const recordsStart = position;
  let smallestDelta = Number.MAX_SAFE_INTEGER;
  for (let i = 0; i < recordsCount; i++) {
    const deltaEnd = scanUvarint(view, position);
    const delta = scannedUvarint();
    if (deltaEnd < 0 || !Number.isSafeInteger(baseTimestampMs + delta)) return bad(`record ${i} has a bad or cut-off timestamp delta`);
    const keyLengthEnd = scanUvarint(view, deltaEnd);
    if (keyLengthEnd < 0) return bad(`record ${i} has a bad or cut-off key length`);
    const keyEnd = keyLengthEnd + Math.max(0, scannedUvarint() - 1);
    if (keyEnd > view.length) return bad(`record ${i}'s key runs past the end of the body`);
    const valueLengthEnd = scanUvarint(view, keyEnd);
    if (valueLengthEnd < 0) return bad(`record ${i} has a bad or cut-off value length`);
    const valueEnd = valueLengthEnd + scannedUvarint();
    if (valueEnd > view.length) return bad(`record ${i}'s value runs past the end of the body`);
    if (delta < smallestDelta) smallestDelta = delta;
    position = valueEnd;
  }
  if (position !== view.length) return bad(`${view.length - position} bytes follow its last record`);
  if (smallestDelta !== 0) return bad("baseTimestampMs is not the smallest record timestamp");
  return {
    ok: true,
    value: {
      topic,
      partition,
      acks: acks as -1 | 0 | 1,
      ...(timeoutMs === 0 ? {} : { timeoutMs }),
      ...(producerId === -1 ? {} : { producerId, baseSequence }),
      recordsCount,
      encodedRecords: view.subarray(recordsStart - 8),
    },
  };
}

/** What a fetch or replica-fetch answer says besides its frames. */
export interface BatchesAnswerFields {
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** A replica fetch whose follower's log diverges (KIP-320): no frames follow. */
  readonly divergingEpoch?: { readonly epoch: number; readonly endOffset: number } | undefined;
}

export interface DecodedBatchesAnswer extends BatchesAnswerFields {
  /** Stored frames, back to back: a view into the answer. */
  readonly frames: Uint8Array;
}

/** A batches answer in two parts, sent one after the other, so that the frames are never copied behind the header. */
export interface BatchesAnswerParts {
  readonly header: Buffer;
  readonly frames: Uint8Array;
}

/** A batches answer: the header, then `frames` as they are. */
export function encodeBatchesAnswer(fields: BatchesAnswerFields, frames: Uint8Array): Buffer {
  return Buffer.concat([encodeBatchesHeader(fields), frames]);
}

/** A batches answer's header alone: `frames` follow it, as they are. */
export function batchesAnswerParts(fields: BatchesAnswerFields, frames: Uint8Array): BatchesAnswerParts {
  return { header: encodeBatchesHeader(fields), frames };
}

function encodeBatchesHeader(fields: BatchesAnswerFields): Buffer {
  const header = Buffer.allocUnsafe(batchesHeaderBytes);
  header.writeUInt32BE(batchesMagic, 0);
  header.writeUInt8(binaryVersion, 4);
  header.writeUInt8(fields.divergingEpoch === undefined ? 0 : divergingFlag, 5);
  header.writeUInt16BE(0, 6);
  header.writeBigInt64BE(BigInt(fields.highWatermark), 8);
  header.writeBigInt64BE(BigInt(fields.logStartOffset), 16);
  header.writeBigInt64BE(BigInt(fields.divergingEpoch?.epoch ?? -1), 24);
  header.writeBigInt64BE(BigInt(fields.divergingEpoch?.endOffset ?? -1), 32);
  return header;
}

/** A batches answer's header and a view of its frames (which the caller checks frame by frame, CRC first). */
export function decodeBatchesAnswer(bytes: Uint8Array): Decoded<DecodedBatchesAnswer> {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.length < batchesHeaderBytes) return bad(`it is ${view.length} bytes, shorter than the ${batchesHeaderBytes}-byte header`);
  const magic = view.readUInt32BE(0);
  if (magic !== batchesMagic) return bad(`it starts with 0x${magic.toString(16).padStart(8, "0")}, not the magic 0x${batchesMagic.toString(16)}`);
  const version = view.readUInt8(4);
  if (version !== binaryVersion) return bad(`its version is ${version}: this reader reads version ${binaryVersion}`);
  const flags = view.readUInt8(5);
  if ((flags & ~divergingFlag) !== 0 || view.readUInt16BE(6) !== 0) return bad(`its flags 0x${flags.toString(16)} or reserved bytes are not known`);
  const highWatermark = Number(view.readBigInt64BE(8));
  const logStartOffset = Number(view.readBigInt64BE(16));
  const epoch = Number(view.readBigInt64BE(24));
  const endOffset = Number(view.readBigInt64BE(32));
  if (!isOffset(highWatermark) || !isOffset(logStartOffset)) return bad(`its highWatermark ${highWatermark} or logStartOffset ${logStartOffset} is not a non-negative safe integer`);
  const frames = view.subarray(batchesHeaderBytes);
  if ((flags & divergingFlag) === 0) return { ok: true, value: { highWatermark, logStartOffset, frames } };
  if (!Number.isSafeInteger(epoch) || epoch < -1 || !isOffset(endOffset)) return bad(`its diverging epoch ${epoch} or end offset ${endOffset} is out of range`);
  if (frames.length > 0) return bad("it says the log diverges and still carries frames");
  return { ok: true, value: { highWatermark, logStartOffset, divergingEpoch: { epoch, endOffset }, frames } };
}

/** Whether an `Accept` header asks for the batches form. */
export function acceptsBatches(accept: string | string[] | undefined): boolean {
  const value = Array.isArray(accept) ? accept.join(",") : accept;
  return value !== undefined && value.split(",").some((part) => part.split(";")[0]?.trim().toLowerCase() === batchesContentType);
}

function isOffset(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function bad(reason: string): { readonly ok: false; readonly reason: string } {
  return { ok: false, reason };
}
