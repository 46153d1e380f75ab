import assert from "node:assert/strict";
import { test } from "node:test";
import { checkSequence, recordProducerBatch, sequenceAfter } from "./producerState.js";
import type { ProducerBatch, ProducerStates, SequenceCheck } from "./producerState.js";
import { sequenceMax } from "./recordBatch.js";

const bounds = { producersCountMax: 3, producerBatchesCountMax: 5 };

/** Producer 7 appended 7 batches of 10 records: sequences 0..69 at offsets 100.. (one batch every 10 offsets). */
function sevenBatches(): ProducerStates {
  const states: ProducerStates = new Map();
  for (let i = 0; i < 7; i++) {
    recordProducerBatch(states, 7, { baseSequence: 10 * i, lastSequence: 10 * i + 9, baseOffset: 100 + 10 * i, lastOffset: 109 + 10 * i }, bounds);
  }
  return states;
}

test("checkSequence: a new batch, a retry of each of the last five, and anything else out of order", () => {
  const state = sevenBatches().get(7);
  const table: { baseSequence: number; count: number; expected: SequenceCheck; why: string }[] = [
    { baseSequence: 70, count: 3, expected: { kind: "new" }, why: "the next sequence" },
    ...[2, 3, 4, 5, 6].map((i) => ({
      baseSequence: 10 * i,
      count: 10,
      expected: { kind: "duplicate" as const, baseOffset: 100 + 10 * i, lastOffset: 109 + 10 * i },
      why: `a retry of batch ${i}, one of the last five`,
    })),
    { baseSequence: 10, count: 10, expected: { kind: "outOfOrder", expected: 70 }, why: "a retry of a batch older than the last five" },
    { baseSequence: 60, count: 5, expected: { kind: "outOfOrder", expected: 70 }, why: "the base of a kept batch with another length" },
    { baseSequence: 71, count: 1, expected: { kind: "outOfOrder", expected: 70 }, why: "a gap" },
    { baseSequence: 65, count: 10, expected: { kind: "outOfOrder", expected: 70 }, why: "an overlap with the latest batch" },
    { baseSequence: 0, count: 1, expected: { kind: "outOfOrder", expected: 70 }, why: "a restart from 0 of a known producer" },
  ];
  for (const { baseSequence, count, expected, why } of table) assert.deepEqual(checkSequence(state, baseSequence, count), expected, why);
});

test("checkSequence: an unknown producer starts at 0, and sequences wrap after the int32 maximum", () => {
  assert.deepEqual(checkSequence(undefined, 0, 4), { kind: "new" });
  assert.deepEqual(checkSequence(undefined, 5, 4), { kind: "outOfOrder", expected: 0 });
  const last: ProducerBatch = { baseSequence: sequenceMax - 9, lastSequence: sequenceMax, baseOffset: 0, lastOffset: 9 };
  assert.deepEqual(checkSequence({ producerId: 1, batches: [last] }, 0, 3), { kind: "new" });
  assert.equal(sequenceAfter(sequenceMax - 1, 3), 1);
  const wrapped: ProducerBatch = { baseSequence: sequenceMax - 1, lastSequence: 1, baseOffset: 10, lastOffset: 13 };
  assert.deepEqual(checkSequence({ producerId: 1, batches: [last, wrapped] }, sequenceMax - 1, 4), { kind: "duplicate", baseOffset: 10, lastOffset: 13 });
});

test("recordProducerBatch keeps five batches per producer and forgets the least recently appended producer", () => {
  const states = sevenBatches();
  assert.deepEqual(states.get(7)?.batches.map((b) => b.baseSequence), [20, 30, 40, 50, 60]);
  const batch = { baseSequence: 0, lastSequence: 0, baseOffset: 500, lastOffset: 500 };
  recordProducerBatch(states, 1, batch, bounds);
  recordProducerBatch(states, 2, batch, bounds);
  recordProducerBatch(states, 7, { baseSequence: 70, lastSequence: 70, baseOffset: 501, lastOffset: 501 }, bounds);
  recordProducerBatch(states, 3, batch, bounds);
  assert.deepEqual([...states.keys()], [2, 7, 3], "producer 1 appended least recently");
});
