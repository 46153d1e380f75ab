import assert from "node:assert/strict";
import { test } from "node:test";
import { waitFor } from "./waitFor.js";

test("waitFor() returns the first value a probe gives, retrying probes that throw", async () => {
  let probesCount = 0;
  const value = await waitFor(
    "the third probe",
    () => {
      probesCount++;
      if (probesCount === 1) throw new Error("not up yet");
      return probesCount === 3 ? "ready" : undefined;
    },
    { timeoutMs: 5_000, intervalMs: 1 },
  );
  assert.equal(value, "ready");
  assert.equal(probesCount, 3);
});

test("waitFor() gives up at its deadline, naming the condition, the last state seen and the last error", async () => {
  let seen = 0;
  await assert.rejects(
    waitFor(
      () => `a probe that never succeeds (seen ${seen})`,
      () => {
        seen++;
        throw new Error("connection refused");
      },
      { timeoutMs: 30, intervalMs: 5 },
    ),
    /^Error: Timed out after 30 ms waiting for a probe that never succeeds \(seen [1-9][0-9]*\); last probe failed: connection refused$/,
  );
  assert.ok(seen <= Math.ceil(30 / 5) + 1, `at most one probe per interval: ${seen}`);
});
