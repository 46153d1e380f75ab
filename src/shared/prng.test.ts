import assert from "node:assert/strict";
import { test } from "node:test";
import { createPrng } from "./prng.js";

test("createPrng() replays the same sequence for the same seed", () => {
  const a = createPrng(42);
  const b = createPrng(42);
  const drawsA = Array.from({ length: 100 }, () => a.nextUint32());
  const drawsB = Array.from({ length: 100 }, () => b.nextUint32());
  assert.deepEqual(drawsA, drawsB);
});

test("createPrng() gives different sequences for different seeds", () => {
  const a = createPrng(1);
  const b = createPrng(2);
  assert.notDeepEqual(
    Array.from({ length: 10 }, () => a.nextUint32()),
    Array.from({ length: 10 }, () => b.nextUint32()),
  );
});

test("int() stays within its bound and reaches every value", () => {
  const prng = createPrng(7);
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const x = prng.int(10);
    assert.ok(x >= 0 && x < 10, `draw ${x} out of range`);
    seen.add(x);
  }
  assert.equal(seen.size, 10);
});

test("int() rejects a bound that is not a positive integer", () => {
  const prng = createPrng(7);
  assert.throws(() => prng.int(0), RangeError);
  assert.throws(() => prng.int(1.5), RangeError);
});

test("float() and chance() stay within [0, 1)", () => {
  const prng = createPrng(9);
  let hits = 0;
  for (let i = 0; i < 1000; i++) {
    const x = prng.float();
    assert.ok(x >= 0 && x < 1);
    if (prng.chance(0.25)) hits++;
  }
  assert.ok(hits > 150 && hits < 350, `chance(0.25) hit ${hits} of 1000`);
});
