import assert from "node:assert/strict";
import { test } from "node:test";
import {
  acceptsBatches,
  batchesHeaderBytes,
  binaryVersion,
  batchesMagic,
  decodeBatchesAnswer,
  decodeProduceRequest,
  encodeBatchesAnswer,
  encodeProduceRequest,
  produceMagic,
} from "./binaryProtocol.js";
import type { Decoded, DecodedProduce, ProduceFields, TextRecord } from "./binaryProtocol.js";
import { decodeBatchFrames, decodeEncodedRecords, encodeBatchFrame, encodeBatchFrames, readUvarint, recordBytesMin } from "./storage/recordBatch.js";
import type { LogRecord, RecordBatch } from "./storage/recordBatch.js";
import { produceRecordsCountMax, produceTimeoutMsMax, topicNameLengthMax } from "./protocol.js";

const fields: ProduceFields = { topic: "orders.eu_1-x", partition: 7, acks: -1, timeoutMs: 1500, producerId: 42, baseSequence: 1000 };
const records: TextRecord[] = [
  { key: "k1", value: "first value", timestampMs: 1_700_000_000_123 },
  { key: null, value: "", timestampMs: 1_700_000_000_100 },
  { key: "ключ", value: "значение ✓ ".repeat(40), timestampMs: 1_700_000_000_999 },
  { key: "", value: "x", timestampMs: 1_700_000_000_100 },
];

const text = (bytes: Uint8Array | null): string | null => (bytes === null ? null : Buffer.from(bytes).toString("utf8"));

function decodedOk(bytes: Uint8Array) {
  const decoded = decodeProduceRequest(bytes);
  assert.ok(decoded.ok, decoded.ok ? "" : decoded.reason);
  return decoded.value;
}

test("a produce request decodes to its fields and records, with or without the sizes given", () => {
  const sizes = records.map((r) => ({ keyBytes: r.key === null ? null : Buffer.byteLength(r.key), valueBytes: Buffer.byteLength(r.value) }));
  const body = encodeProduceRequest(fields, records, sizes);
  assert.deepEqual(encodeProduceRequest(fields, records), body, "sizes only save measuring the strings again");
  const decoded = decodedOk(body);
  assert.deepEqual({ topic: decoded.topic, partition: decoded.partition, acks: decoded.acks, timeoutMs: decoded.timeoutMs, producerId: decoded.producerId, baseSequence: decoded.baseSequence }, fields);
  assert.deepEqual(
    decodeEncodedRecords(decoded.recordsCount, decoded.encodedRecords).map((r) => ({ key: text(r.key), value: text(r.value), timestampMs: r.timestampMs })),
    records,
  );
  for (const acks of [0, 1] as const) assert.equal(decodedOk(encodeProduceRequest({ ...fields, acks }, records)).acks, acks);
});

test("a produce request without timeout or producer id leaves them out, as the JSON form does", () => {
  const decoded = decodedOk(encodeProduceRequest({ topic: "t", partition: 0, acks: 1 }, [{ key: null, value: "v", timestampMs: 5 }]));
  assert.equal("timeoutMs" in decoded, false);
  assert.equal("producerId" in decoded, false);
  assert.equal("baseSequence" in decoded, false);
});

test("a produce request's records become the same frame as records encoded by the log", () => {
  const decoded = decodedOk(encodeProduceRequest(fields, records));
  const batch: RecordBatch = { baseOffset: 300, leaderEpoch: 4, producerId: 42, baseSequence: 1000, appendTimeMs: 1_700_000_001_000, records: decodeEncodedRecords(decoded.recordsCount, decoded.encodedRecords) };
  const copied = encodeBatchFrame({ baseOffset: 300, leaderEpoch: 4, producerId: 42, baseSequence: 1000, appendTimeMs: 1_700_000_001_000, recordsCount: decoded.recordsCount, encodedRecords: decoded.encodedRecords });
  assert.deepEqual(copied, encodeBatchFrame(batch));
  const [back] = decodeBatchFrames(copied);
  assert.deepEqual(back?.records.map((r) => text(r.value)), records.map((r) => r.value));
});

test("a produce request cut at any byte is refused, never read", () => {
  const body = encodeProduceRequest(fields, records);
  for (let length = 0; length < body.length; length++) {
    const decoded = decodeProduceRequest(body.subarray(0, length));
    assert.equal(decoded.ok, false, `cut to ${length} of ${body.length} bytes`);
  }
  const longer = Buffer.concat([body, Buffer.from([0])]);
  assert.match(reasonOf(longer), /1 bytes follow its last record/);
});

function reasonOf(bytes: Uint8Array): string {
  const decoded = decodeProduceRequest(bytes);
  assert.equal(decoded.ok, false);
  return decoded.ok ? "" : decoded.reason;
}

test("a produce request with a wrong magic, version or field is refused with the reason", () => {
  const body = (): Buffer => encodeProduceRequest({ topic: "t", partition: 0, acks: -1, producerId: 1, baseSequence: 0 }, [{ key: null, value: "v", timestampMs: 5 }]);
  // Offsets of the fixed fields for a 1-byte topic: header 8, topic 1, then partition at 9.
  const changed = (at: number, write: (b: Buffer) => void): Buffer => {
    const bytes = body();
    write(bytes.subarray(at));
    return bytes;
  };
  assert.match(reasonOf(changed(0, (b) => b.writeUInt32BE(0x7b22746f))), /not the magic/);
  assert.match(reasonOf(changed(4, (b) => b.writeUInt8(2))), /version is 2/);
  assert.match(reasonOf(changed(5, (b) => b.writeInt8(2))), /acks is 2/);
  assert.match(reasonOf(changed(6, (b) => b.writeUInt16BE(0))), /topic name is 0 bytes/);
  assert.match(reasonOf(changed(6, (b) => b.writeUInt16BE(250))), /topic name is 250 bytes/);
  assert.match(reasonOf(changed(8, (b) => b.write("/"))), /topic name has characters/);
  assert.match(reasonOf(changed(9, (b) => b.writeUInt32BE(2_000_000))), /partition 2000000/);
  assert.match(reasonOf(changed(13, (b) => b.writeUInt32BE(200_000))), /timeoutMs 200000/);
  assert.match(reasonOf(changed(17, (b) => b.writeBigInt64BE(-2n))), /producerId -2/);
  assert.match(reasonOf(changed(17, (b) => b.writeBigInt64BE(2n ** 60n))), /producerId/);
  assert.match(reasonOf(changed(25, (b) => b.writeInt32BE(-1))), /given together/);
  assert.match(reasonOf(changed(25, (b) => b.writeInt32BE(-5))), /baseSequence -5/);
  assert.match(reasonOf(changed(29, (b) => b.writeUInt32BE(0))), /0 records/);
  assert.match(reasonOf(changed(29, (b) => b.writeUInt32BE(produceRecordsCountMax + 1))), /10001 records/);
  assert.match(reasonOf(changed(29, (b) => b.writeUInt32BE(2))), /2 records cannot fit/);
  assert.match(reasonOf(changed(33, (b) => b.writeBigUInt64BE(2n ** 63n))), /baseTimestampMs/);
  assert.match(reasonOf(changed(41, (b) => b.writeUInt8(1))), /not the smallest record timestamp/);
  // The one record: [delta 0][key length 0][value length 1]['v']; a non-minimal varint is refused.
  assert.match(reasonOf(Buffer.concat([body().subarray(0, 41), Buffer.from([0x80, 0x00, 0x00, 0x01, 0x76])])), /2 records cannot fit|timestamp delta/);
  assert.match(reasonOf(changed(43, (b) => b.writeUInt8(5))), /value runs past the end/);
  assert.match(reasonOf(changed(42, (b) => b.writeUInt8(9))), /key runs past the end/);
});

test("a produce request claiming more records than its bytes could hold is refused before any is read", () => {
  const bytes = encodeProduceRequest({ topic: "t", partition: 0, acks: 1 }, [{ key: null, value: "v", timestampMs: 5 }]);
  bytes.writeUInt32BE(0xffffffff, 29);
  assert.match(reasonOf(bytes), /4294967295 records/);
});

const produceHeadBytes = 8;
const produceTailBytes = 32;

/**
 * The produce request decoder as it was before it walked the records instead of decoding them: one
 * object and two views per record. The reference the walking decoder must agree with, refusal for
 * refusal.
 */
function decodeProduceRequestRecordByRecord(bytes: Uint8Array): Decoded<DecodedProduce & { records: LogRecord[] }> {
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
  const records: LogRecord[] = [];
  let smallestDelta = Number.MAX_SAFE_INTEGER;
  for (let i = 0; i < recordsCount; i++) {
    const delta = readUvarint(view, position);
    if (delta === undefined || !Number.isSafeInteger(baseTimestampMs + delta.value)) return bad(`record ${i} has a bad or cut-off timestamp delta`);
    const keyLength = readUvarint(view, delta.position);
    if (keyLength === undefined) return bad(`record ${i} has a bad or cut-off key length`);
    const keyEnd = keyLength.position + Math.max(0, keyLength.value - 1);
    if (keyEnd > view.length) return bad(`record ${i}'s key runs past the end of the body`);
    const valueLength = readUvarint(view, keyEnd);
    if (valueLength === undefined) return bad(`record ${i} has a bad or cut-off value length`);
    const valueEnd = valueLength.position + valueLength.value;
    if (valueEnd > view.length) return bad(`record ${i}'s value runs past the end of the body`);
    smallestDelta = Math.min(smallestDelta, delta.value);
    records.push({
      key: keyLength.value === 0 ? null : view.subarray(keyLength.position, keyEnd),
      value: view.subarray(valueLength.position, valueEnd),
      timestampMs: baseTimestampMs + delta.value,
    });
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
      records,
      recordsCount,
      encodedRecords: view.subarray(recordsStart - 8),
    },
  };
}

function bad(reason: string): { readonly ok: false; readonly reason: string } {
  return { ok: false, reason };
}

/** What a decoder makes of `bytes`: its reason, or its fields with the records as plain values. */
function outcome(decoded: Decoded<DecodedProduce>, records: (value: DecodedProduce) => readonly LogRecord[]): unknown {
  if (!decoded.ok) return decoded.reason;
  const { encodedRecords, ...fields } = decoded.value;
  const plain = records(decoded.value).map((r) => ({ key: r.key === null ? null : [...r.key], value: [...r.value], timestampMs: r.timestampMs }));
  return { ...fields, records: plain, encodedRecords: [...encodedRecords] };
}

test("the walking decoder refuses exactly what decoding every record refused, with the same reason, and keeps the same bytes", () => {
  const long = "v".repeat(200);
  const body = encodeProduceRequest({ topic: "t.1", partition: 3, acks: -1, timeoutMs: 900, producerId: 12, baseSequence: 40 }, [
    { key: "k", value: "ab", timestampMs: 1_000_300 },
    { key: null, value: "", timestampMs: 1_000_000 },
    { key: "", value: long, timestampMs: 1_000_000 },
    { key: "key", value: "c", timestampMs: 1_000_001 },
  ]);
  let accepted = 0;
  let refused = 0;
  const agree = (input: Uint8Array, what: string): void => {
    const reference = decodeProduceRequestRecordByRecord(input);
    const expected = outcome(reference, (value) => (value as DecodedProduce & { records: LogRecord[] }).records);
    assert.deepEqual(outcome(decodeProduceRequest(input), (value) => decodeEncodedRecords(value.recordsCount, value.encodedRecords)), expected, what);
    if (reference.ok) accepted++;
    else refused++;
  };
  agree(body, "the whole body");
  for (let i = 0; i < body.length; i++) {
    for (let value = 0; value < 256; value++) {
      const changed = Buffer.from(body);
      changed[i] = value;
      agree(changed, `byte ${i} set to ${value}`);
    }
  }
  for (let length = 0; length < body.length; length++) agree(body.subarray(0, length), `cut to ${length}`);
  for (const extra of [[0], [0, 0, 0], [1, 0, 1, 0x61]]) agree(Buffer.concat([body, Buffer.from(extra)]), `${extra.length} bytes more`);
  // Both outcomes were reached, so the comparison did compare something.
  assert.ok(accepted > 100 && refused > 1000, `accepted ${accepted}, refused ${refused}`);
});

test("a batches answer carries its fields and the frames as they are, or the divergence alone", () => {
  const frames = encodeBatchFrames([
    { baseOffset: 10, leaderEpoch: 2, producerId: -1, baseSequence: -1, appendTimeMs: 9, records: [{ key: null, value: new Uint8Array([1, 2, 3]), timestampMs: 9 }] },
  ]);
  const answer = encodeBatchesAnswer({ highWatermark: 11, logStartOffset: 3 }, frames);
  assert.equal(answer.length, batchesHeaderBytes + frames.length);
  const decoded = decodeBatchesAnswer(answer);
  assert.ok(decoded.ok);
  assert.deepEqual({ ...decoded.value, frames: Buffer.from(decoded.value.frames) }, { highWatermark: 11, logStartOffset: 3, frames });

  for (const divergingEpoch of [{ epoch: -1, endOffset: 0 }, { epoch: 5, endOffset: 1234 }]) {
    const diverging = decodeBatchesAnswer(encodeBatchesAnswer({ highWatermark: 8, logStartOffset: 0, divergingEpoch }, new Uint8Array(0)));
    assert.ok(diverging.ok);
    assert.deepEqual(diverging.value.divergingEpoch, divergingEpoch);
  }
  const empty = decodeBatchesAnswer(encodeBatchesAnswer({ highWatermark: 0, logStartOffset: 0 }, new Uint8Array(0)));
  assert.ok(empty.ok && empty.value.frames.length === 0 && empty.value.divergingEpoch === undefined);
});

test("a batches answer cut inside its header, or with a wrong magic, version, flag or field, is refused", () => {
  const answer = encodeBatchesAnswer({ highWatermark: 11, logStartOffset: 3 }, new Uint8Array(0));
  for (let length = 0; length < batchesHeaderBytes; length++) assert.equal(decodeBatchesAnswer(answer.subarray(0, length)).ok, false, `cut to ${length}`);
  const changed = (write: (b: Buffer) => void): boolean => {
    const bytes = Buffer.from(answer);
    write(bytes);
    return decodeBatchesAnswer(bytes).ok;
  };
  assert.equal(changed((b) => b.writeUInt32BE(produceMagic, 0)), false);
  assert.equal(changed((b) => b.writeUInt32BE(batchesMagic, 0)), true);
  assert.equal(changed((b) => b.writeUInt8(9, 4)), false);
  assert.equal(changed((b) => b.writeUInt8(0x02, 5)), false);
  assert.equal(changed((b) => b.writeUInt16BE(1, 6)), false);
  assert.equal(changed((b) => b.writeBigInt64BE(-1n, 8)), false);
  assert.equal(changed((b) => b.writeBigInt64BE(2n ** 60n, 16)), false);
  assert.equal(changed((b) => b.writeUInt8(0x01, 5)), false, "diverging with end offset -1");
  const divergingWithFrames = Buffer.concat([encodeBatchesAnswer({ highWatermark: 1, logStartOffset: 0, divergingEpoch: { epoch: 1, endOffset: 1 } }, new Uint8Array(0)), Buffer.alloc(30)]);
  assert.equal(decodeBatchesAnswer(divergingWithFrames).ok, false);
});

test("the batches form is chosen only when Accept names it", () => {
  assert.equal(acceptsBatches(undefined), false);
  assert.equal(acceptsBatches("application/json"), false);
  assert.equal(acceptsBatches("*/*"), false);
  assert.equal(acceptsBatches("application/x-yakt-batches"), true);
  assert.equal(acceptsBatches("application/x-yakt-batches, application/json"), true);
  assert.equal(acceptsBatches("application/json;q=0.5, Application/X-Yakt-Batches;q=1"), true);
  assert.equal(acceptsBatches(["application/json", "application/x-yakt-batches"]), true);
});
