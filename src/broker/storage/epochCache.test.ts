import assert from "node:assert/strict";
import { test } from "node:test";
import { appendEpoch, endOffsetForEpoch, truncateEpochs } from "./epochCache.js";
import type { EpochStart } from "./epochCache.js";

/** Epochs 2 (from 10), 4 (from 25) and 7 (from 40); the log ends at 55. */
const epochs: readonly EpochStart[] = [
  { epoch: 2, startOffset: 10 },
  { epoch: 4, startOffset: 25 },
  { epoch: 7, startOffset: 40 },
];

test("endOffsetForEpoch answers as Kafka's OffsetsForLeaderEpoch", () => {
  const table: { epoch: number; expected: { epoch: number; endOffset: number } | undefined; why: string }[] = [
    { epoch: 7, expected: { epoch: 7, endOffset: 55 }, why: "the latest epoch ends at the log end" },
    { epoch: 4, expected: { epoch: 4, endOffset: 40 }, why: "a known epoch ends where the next one starts" },
    { epoch: 2, expected: { epoch: 2, endOffset: 25 }, why: "the earliest known epoch ends where the next one starts" },
    { epoch: 5, expected: { epoch: 4, endOffset: 40 }, why: "an unknown epoch between two answers the one below it, ending where the one above starts" },
    { epoch: 6, expected: { epoch: 4, endOffset: 40 }, why: "the same for any epoch in the gap" },
    { epoch: 1, expected: { epoch: 1, endOffset: 10 }, why: "an epoch below every known one ends where the earliest starts" },
    { epoch: 0, expected: { epoch: 0, endOffset: 10 }, why: "epoch 0 likewise" },
    { epoch: 8, expected: undefined, why: "an epoch above the latest is unknown" },
  ];
  for (const { epoch, expected, why } of table) assert.deepEqual(endOffsetForEpoch(epochs, epoch, 55), expected, `epoch ${epoch}: ${why}`);
  assert.equal(endOffsetForEpoch([], 0, 0), undefined, "an empty log knows no epoch");
});

test("appendEpoch adds only a higher epoch, and truncateEpochs drops epochs that start at or after the end", () => {
  const built: EpochStart[] = [];
  for (const [epoch, offset] of [[2, 10], [2, 12], [4, 25], [4, 30], [7, 40]] as const) appendEpoch(built, epoch, offset);
  assert.deepEqual(built, epochs);
  assert.throws(() => appendEpoch(built, 6, 50), /goes back/);
  assert.deepEqual(truncateEpochs(epochs, 40), epochs.slice(0, 2));
  assert.deepEqual(truncateEpochs(epochs, 41), epochs);
  assert.deepEqual(truncateEpochs(epochs, 26), epochs.slice(0, 2));
  assert.deepEqual(truncateEpochs(epochs, 10), []);
});
