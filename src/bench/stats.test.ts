import assert from "node:assert/strict";
import { test } from "node:test";
import { percentile, summarize } from "./stats.js";

test("percentile() picks the nearest-rank sample without interpolating", () => {
  const samples = [50, 10, 40, 20, 30];
  assert.equal(percentile(samples, 50), 30);
  assert.equal(percentile(samples, 40), 20);
  assert.equal(percentile(samples, 41), 30);
  assert.equal(percentile(samples, 100), 50);
});

test("summarize() of 20 samples reports the maximum as p99", () => {
  const samples = Array.from({ length: 20 }, (_, i) => 20 - i);
  assert.deepEqual(summarize(samples), { count: 20, minMs: 1, p50Ms: 10, p99Ms: 20, maxMs: 20 });
});

test("percentile() refuses an empty sample", () => {
  assert.throws(() => percentile([], 50), /at least one sample/);
});

test("summarize() takes more samples than a function call takes arguments", () => {
  const samples = Array.from({ length: 500_000 }, (_, i) => 500_000 - i);
  assert.deepEqual(summarize(samples), { count: 500_000, minMs: 1, p50Ms: 250_000, p99Ms: 495_000, maxMs: 500_000 });
});

test("percentile() ranks by whole numbers: p99.9 of 1,000 samples is the 999th, not the maximum", () => {
  const samples = Array.from({ length: 1_000 }, (_, i) => i + 1);
  assert.equal(percentile(samples, 99.9), 999);
  assert.equal(percentile(samples, 99), 990);
  assert.equal(percentile(samples, 0.1), 1);
});
