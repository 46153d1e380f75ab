import assert from "node:assert/strict";
import { test } from "node:test";
import { PartitionLogError } from "./partitionLogError.js";
import { crc32 } from "node:zlib";
import { batchProblem, checkBatchFrames, decodeBatchFrames, encodeBatchFrame, encodeBatchFrames, joinBytes, sequenceMax } from "./recordBatch.js";
import type { RecordBatch } from "./recordBatch.js";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

const batches: RecordBatch[] = [
  {
    baseOffset: 0,
    leaderEpoch: 0,
    producerId: -1,
    baseSequence: -1,
    appendTimeMs: 1_700_000_000_000,
    records: [{ key: null, value: bytes("a"), timestampMs: 1_700_000_000_000 }],
  },
  {
    baseOffset: 1,
    leaderEpoch: 3,
    producerId: 2 ** 40,
    baseSequence: sequenceMax,
    appendTimeMs: Number.MAX_SAFE_INTEGER,
    records: [
      { key: bytes(""), value: bytes(""), timestampMs: 5 },
      { key: bytes("k".repeat(200)), value: bytes("v".repeat(20_000)), timestampMs: Number.MAX_SAFE_INTEGER },
      { key: null, value: bytes("x"), timestampMs: 0 },
    ],
  },
];

/** Batches with plain arrays for bytes, so that views and copies compare equal. */
function plain(list: readonly RecordBatch[]): unknown {
  return list.map(({ encodedRecords: _encoded, frame: _frame, ...b }) => ({ ...b, records: b.records.map((r) => ({ ...r, key: r.key === null ? null : [...r.key], value: [...r.value] })) }));
}

test("batch frames decode to the batches they encode, and re-encode to the same bytes", () => {
  for (const batch of batches) assert.equal(batchProblem(batch), undefined);
  const encoded = encodeBatchFrames(batches);
  const decoded = decodeBatchFrames(encoded);
  assert.deepEqual(plain(decoded), plain(batches));
  assert.deepEqual(encodeBatchFrames(decoded), encoded);
  // Framed again from their fields alone (neither the received frame nor the encoded records kept), the same bytes.
  assert.deepEqual(encodeBatchFrames(decoded.map(({ frame: _frame, encodedRecords: _encoded, ...fields }) => fields)), encoded);
  assert.deepEqual(encodeBatchFrames(decoded.map(({ frame: _frame, ...fields }) => fields)), encoded);
  assert.deepEqual(decodeBatchFrames(new Uint8Array(0)), []);
});

test("a batch frame with any byte changed or cut short is refused as INVALID_BATCH", () => {
  const frame = encodeBatchFrame(batches[0] ?? assert.fail());
  const refused = (input: Uint8Array, what: string): void => {
    assert.throws(() => decodeBatchFrames(input), (error: unknown) => error instanceof PartitionLogError && error.code === "INVALID_BATCH", what);
  };
  for (let i = 0; i < frame.length; i++) {
    const changed = Buffer.from(frame);
    changed[i] = (changed[i] ?? 0) ^ 0x20;
    refused(changed, `byte ${i} flipped`);
  }
  for (let length = 1; length < frame.length; length++) refused(frame.subarray(0, length), `cut to ${length}`);
});

/** What a follower stored before `checkBatchFrames`: every record decoded, then each batch checked by `batchProblem`. */
function decodeThenCheck(input: Uint8Array): unknown {
  try {
    const decoded = decodeBatchFrames(input);
    if (decoded.some((batch) => batchProblem(batch) !== undefined)) return "refused";
    return decoded.map((b) => ({ baseOffset: b.baseOffset, leaderEpoch: b.leaderEpoch, producerId: b.producerId, baseSequence: b.baseSequence, appendTimeMs: b.appendTimeMs, recordsCount: b.records.length, frame: [...(b.frame ?? [])] }));
  } catch (error) {
    assert.ok(error instanceof PartitionLogError && error.code === "INVALID_BATCH", String(error));
    return "refused";
  }
}

function checkOnly(input: Uint8Array): unknown {
  try {
    return checkBatchFrames(input).map((b) => ({ ...b, frame: [...b.frame] }));
  } catch (error) {
    assert.ok(error instanceof PartitionLogError && error.code === "INVALID_BATCH", String(error));
    return "refused";
  }
}

/** `frame` with a CRC computed again over its body, so that a change reaches the batch checks behind the CRC. */
function resealed(frame: Buffer): Buffer {
  frame.writeUInt32BE(crc32(frame.subarray(8)), 4);
  return frame;
}

test("checkBatchFrames refuses exactly what decoding every record then batchProblem refuses", () => {
  const small: RecordBatch = {
    baseOffset: 7,
    leaderEpoch: 2,
    producerId: 9,
    baseSequence: 4,
    appendTimeMs: 1_000,
    records: [
      { key: bytes("k"), value: bytes("ab"), timestampMs: 130 },
      { key: null, value: bytes(""), timestampMs: 3 },
      { key: bytes(""), value: bytes("c"), timestampMs: 300 },
    ],
  };
  const frame = encodeBatchFrame(small);
  const second = encodeBatchFrame({ ...small, baseOffset: 10, producerId: -1, baseSequence: -1, records: [{ key: null, value: bytes("d"), timestampMs: 0 }] });
  let accepted = 0;
  let refused = 0;
  const agree = (input: Uint8Array, what: string): void => {
    const expected = decodeThenCheck(input);
    assert.deepEqual(checkOnly(input), expected, what);
    if (expected === "refused") refused++;
    else accepted++;
  };
  agree(Buffer.concat([frame, second]), "two good frames");
  agree(new Uint8Array(0), "no frame");
  for (let i = 0; i < frame.length; i++) {
    agree(Buffer.concat([frame.subarray(0, i), Buffer.from([(frame[i] ?? 0) ^ 0x20]), frame.subarray(i + 1)]), `byte ${i} flipped`);
    // Behind a good CRC, every value a byte can take: the header fields, the varints and the lengths.
    for (let value = 0; value < 256; value++) {
      const changed = Buffer.from(frame);
      changed[i] = value;
      agree(i < 8 ? changed : resealed(changed), `byte ${i} set to ${value}`);
      agree(Buffer.concat([i < 8 ? changed : resealed(changed), second]), `byte ${i} set to ${value}, then a good frame`);
    }
  }
  for (let length = 0; length < frame.length; length++) {
    agree(frame.subarray(0, length), `cut to ${length}`);
    agree(Buffer.concat([second, frame.subarray(0, length)]), `a good frame, then one cut to ${length}`);
    // The length field says where the frame ends: a body cut short and sealed again reaches the record walk.
    const cut = Buffer.from(frame.subarray(0, Math.max(length, 25)));
    cut.writeUInt32BE(cut.length - 8, 0);
    agree(resealed(cut), `body cut to ${cut.length} and sealed again`);
  }
  // Both outcomes were reached, so the comparison did compare something.
  assert.ok(accepted > 10 && refused > 1000, `accepted ${accepted}, refused ${refused}`);
});

test("batchProblem names what makes a batch unstorable", () => {
  const base = batches[0] ?? assert.fail();
  const table: { change: Partial<RecordBatch>; problem: RegExp }[] = [
    { change: { records: [] }, problem: /no record/ },
    { change: { producerId: 5 }, problem: /baseSequence -1 is outside/ },
    { change: { baseSequence: 0 }, problem: /without a producerId/ },
    { change: { producerId: -2, baseSequence: 0 }, problem: /producerId -2/ },
    { change: { leaderEpoch: -1 }, problem: /leaderEpoch/ },
    { change: { records: [{ key: null, value: bytes("a"), timestampMs: -1 }] }, problem: /timestampMs -1/ },
    { change: { records: [{ key: null, value: new Uint8Array(4 * 1024 * 1024), timestampMs: 0 }] }, problem: /encodes to \d+ bytes, more than/ },
  ];
  for (const { change, problem } of table) assert.match(batchProblem({ ...base, ...change }) ?? "", problem, JSON.stringify(Object.keys(change)));
});

test("joinBytes gives a view of parts that lie back to back in one buffer, and a copy of any others", () => {
  const whole = Buffer.from([1, 2, 3, 4, 5, 6]);
  const joined = joinBytes([whole.subarray(0, 2), whole.subarray(2, 5)]);
  assert.deepEqual([...joined], [1, 2, 3, 4, 5]);
  whole[0] = 9;
  assert.equal(joined[0], 9, "a view of the same bytes");
  const gap = joinBytes([whole.subarray(0, 2), whole.subarray(3, 5)]);
  assert.deepEqual([...gap], [9, 2, 4, 5]);
  whole[0] = 1;
  assert.equal(gap[0], 9, "a copy");
  assert.deepEqual([...joinBytes([Buffer.from([1]), Buffer.from([2])])], [1, 2]);
  assert.equal(joinBytes([]).length, 0);
});
