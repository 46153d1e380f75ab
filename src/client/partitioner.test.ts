import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { murmur2, partitionIndexOfKey, Partitioner } from "./partitioner.js";

const encoder = new TextEncoder();

describe("murmur2", () => {
  test("hashes like Kafka's Utils.murmur2 (the vectors of its UtilsTest)", () => {
    const vectors: readonly (readonly [string, number])[] = [
      ["21", -973932308],
      ["foobar", -790332482],
      ["a-little-bit-long-string", -985981536],
      ["a-little-bit-longer-string", -1486304829],
      ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
      ["abc", 479470107],
    ];
    for (const [input, expected] of vectors) assert.equal(murmur2(encoder.encode(input)), expected, input);
  });
});

describe("Partitioner", () => {
  test("sends a key to the same partition every time, from any producer", () => {
    const ids = [0, 1, 2, 3, 4, 5];
    const first = new Partitioner(() => 0.1);
    const second = new Partitioner(() => 0.9);
    for (let i = 0; i < 200; i++) {
      const key = `user-${i}`;
      const chosen = first.choose("t", key, ids);
      assert.equal(first.choose("t", key, ids), chosen);
      assert.equal(second.choose("t", key, ids), chosen);
    }
    // As Kafka would: toPositive(murmur2("foobar")) % 50 = 16.
    assert.equal(partitionIndexOfKey("foobar", 50), 16);
  });

  test("spreads keys evenly over the partitions", () => {
    const ids = [0, 1, 2, 3, 4, 5];
    const partitioner = new Partitioner();
    const counts = new Map<number, number>();
    const keysCount = 6_000;
    for (let i = 0; i < keysCount; i++) {
      const partition = partitioner.choose("t", `order-${i}`, ids);
      counts.set(partition, (counts.get(partition) ?? 0) + 1);
    }
    assert.equal(counts.size, ids.length);
    for (const count of counts.values()) assert(count > (keysCount / ids.length) * 0.85 && count < (keysCount / ids.length) * 1.15, `uneven spread: ${[...counts.values()].join(",")}`);
  });

  test("hands out the partitions in turn to records without a key, per topic, from the partition ids given", () => {
    const partitioner = new Partitioner(() => 0);
    const ids = [3, 7, 9];
    assert.deepEqual([0, 1, 2, 3, 4].map(() => partitioner.choose("a", undefined, ids)), [3, 7, 9, 3, 7]);
    assert.deepEqual([0, 1].map(() => partitioner.choose("b", null, ids)), [3, 7]);
  });

  test("refuses a topic without partitions", () => {
    assert.throws(() => new Partitioner().choose("t", undefined, []), RangeError);
    assert.throws(() => partitionIndexOfKey("k", 0), RangeError);
  });
});
