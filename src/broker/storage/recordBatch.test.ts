import assert from "node:assert/strict";
import { test } from "node:test";
import { PartitionLogError } from "./partitionLogError.js";
import { batchProblem, decodeBatchFrames, encodeBatchFrame, encodeBatchFrames, joinBytes, sequenceMax } from "./recordBatch.js";
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
