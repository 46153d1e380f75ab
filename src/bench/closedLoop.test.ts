import assert from "node:assert/strict";
import { test } from "node:test";
import { latencyPercentiles, runClosedLoop } from "./closedLoop.js";

test("latencyPercentiles() picks nearest-rank samples, p99.9 of 1000 samples being the 999th", () => {
  const samples = Array.from({ length: 1000 }, (_, i) => 1000 - i);
  assert.deepEqual(latencyPercentiles(samples), { p50Ms: 500, p99Ms: 990, p999Ms: 999, maxMs: 1000 });
  assert.equal(latencyPercentiles([]), undefined);
});

test("runClosedLoop() keeps at most `concurrency` requests outstanding and counts failures apart", async () => {
  let outstanding = 0;
  let outstandingMax = 0;
  const result = await runClosedLoop(
    async (_worker, sequence) => {
      outstanding++;
      outstandingMax = Math.max(outstandingMax, outstanding);
      await Promise.resolve();
      outstanding--;
      if (sequence % 2 === 1) throw new Error(`odd ${sequence}`);
    },
    { concurrency: 3, warmUpMs: 0, measureMs: 60_000, operationsCountMax: 30 },
  );
  assert.equal(outstandingMax, 3);
  assert.equal(result.operationsCount + result.errorsCount, 30);
  assert.equal(result.errorsCount, 15);
  assert.match(result.firstError ?? "", /^odd /);
});

test("runClosedLoop() stops at operationsCountMax even when every request fails at once", async () => {
  let sent = 0;
  const result = await runClosedLoop(
    () => {
      sent++;
      return Promise.reject(new Error("refused"));
    },
    { concurrency: 4, warmUpMs: 0, measureMs: 60_000, operationsCountMax: 100 },
  );
  assert.equal(sent, 100);
  assert.equal(result.operationsCount, 0);
  assert.equal(result.latency, undefined);
});
