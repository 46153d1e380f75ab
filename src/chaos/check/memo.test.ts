import assert from "node:assert/strict";
import { test } from "node:test";
import { createPrng } from "../../shared/prng.js";
import { createLinearizedSet, createMemo, type BitsetLayout } from "./memo.js";

const layout: BitsetLayout = { knownWordsCount: 4, wordsCount: 6 };
const bytesMax = 1024 * 1024;

test("Memo.add() stores a configuration once", () => {
  const memo = createMemo(layout, bytesMax);
  const set = createLinearizedSet(layout);
  set.add(3);
  assert.equal(memo.add(set, 0), "added");
  assert.equal(memo.add(set, 0), "present");
  assert.equal(memo.entriesCount(), 1);
});

test("Memo.add() tells configurations apart by state and by every part of the set", () => {
  const memo = createMemo(layout, bytesMax);
  const set = createLinearizedSet(layout);
  for (let bit = 0; bit < 40; bit++) set.add(bit); // one full word, then a window
  assert.equal(memo.add(set, 0), "added");
  assert.equal(memo.add(set, 1), "added", "another state");
  set.add(4 * 32 + 5); // an unknown operation
  assert.equal(memo.add(set, 0), "added", "an unknown operation more");
  set.remove(4 * 32 + 5);
  set.remove(39);
  assert.equal(memo.add(set, 0), "added", "a known operation fewer");
  set.add(39);
  assert.equal(memo.add(set, 0), "present");
  assert.equal(memo.add(set, 1), "present");
});

test("Memo.add() copies the set, so later changes to it do not alter what was stored", () => {
  const memo = createMemo(layout, bytesMax);
  const set = createLinearizedSet(layout);
  set.add(1);
  memo.add(set, 0);
  set.add(2);
  assert.equal(memo.add(set, 0), "added");
  set.remove(2);
  assert.equal(memo.add(set, 0), "present");
});

test("Memo.add() agrees with a plain set of strings over many random configurations", () => {
  const wide: BitsetLayout = { knownWordsCount: 20, wordsCount: 23 };
  const memo = createMemo(wide, 64 * 1024 * 1024);
  const set = createLinearizedSet(wide);
  const seen = new Set<string>();
  const prng = createPrng(11);
  const knownBitsCount = wide.knownWordsCount * 32;
  const has = (bit: number): boolean => ((set.words[bit >>> 5] as number) & (1 << (bit & 31))) !== 0;
  let fullWordsSeenMax = 0;
  for (let i = 0; i < 20_000; i++) {
    // As a search does: a growing prefix of linearized known operations, a window of bits toggled above
    // it, and now and then an unknown operation.
    const windowStart = Math.min(i >> 5, knownBitsCount - 64);
    for (let below = 0; below < windowStart; below++) if (!has(below)) set.add(below);
    const bit = prng.chance(0.1) ? knownBitsCount + prng.int(96) : windowStart + prng.int(64);
    if (has(bit)) set.remove(bit);
    else set.add(bit);
    const stateId = prng.int(3);
    const key = `${stateId}:${set.words.join(",")}`;
    const expected = seen.has(key) ? "present" : "added";
    seen.add(key);
    assert.equal(memo.add(set, stateId), expected, `configuration ${i}`);
    let fullWordsCount = 0;
    while (fullWordsCount < wide.knownWordsCount && set.words[fullWordsCount] === 0xffff_ffff) fullWordsCount++;
    let knownEnd = wide.knownWordsCount;
    while (knownEnd > 0 && set.words[knownEnd - 1] === 0) knownEnd--;
    assert.equal(set.fullWordsCount(), fullWordsCount);
    assert.equal(set.knownEnd(), knownEnd);
    fullWordsSeenMax = Math.max(fullWordsSeenMax, fullWordsCount);
  }
  assert.ok(fullWordsSeenMax >= 10, `the prefix reached only ${fullWordsSeenMax} full words`);
  assert.equal(memo.entriesCount(), seen.size);
});

test("LinearizedSet's hash depends only on its members", () => {
  const a = createLinearizedSet(layout);
  const b = createLinearizedSet(layout);
  for (const bit of [1, 70, 130]) a.add(bit);
  for (const bit of [130, 5, 1, 70]) b.add(bit);
  b.remove(5);
  assert.equal(a.hash(), b.hash());
  assert.deepEqual([...a.words], [...b.words]);
});

test("LinearizedSet rejects adding a member twice and removing a non-member", () => {
  const set = createLinearizedSet(layout);
  set.add(7);
  assert.throws(() => set.add(7), /it is there/);
  assert.throws(() => set.remove(8), /it is not there/);
});

test("Memo.add() reports 'full' rather than grow past bytesMax", () => {
  const memo = createMemo(layout, 8 * 1024);
  const set = createLinearizedSet(layout);
  set.add(0);
  let result: string = "added";
  let stateId = 0;
  for (; result === "added" && stateId < 10_000; stateId++) result = memo.add(set, stateId);
  assert.equal(result, "full");
  assert.ok(stateId > 10, `full after ${stateId} configurations`);
  assert.ok(memo.bytesUsed() <= 8 * 1024, `${memo.bytesUsed()} bytes used`);
});
