import assert from "node:assert/strict";
import { test } from "node:test";
import { checkWrites } from "./kvClient.js";
import type { KvEntry, WriteRecord } from "./kvClient.js";

function record(key: string, outcome: WriteRecord["outcome"], fields: Partial<WriteRecord> = {}): WriteRecord {
  const acknowledged = outcome === "acknowledged";
  return { key, value: `value-${key}`, outcome, attemptsCount: 1, maybeAppliedCount: outcome === "not_applied" ? 0 : 1, version: acknowledged ? 1 : undefined, index: acknowledged ? 10 : undefined, nodeId: acknowledged ? 1 : undefined, lastFailure: undefined, elapsedMs: 1, ...fields };
}

const entry = (key: string, fields: Partial<KvEntry> = {}): KvEntry => ({ key, value: `value-${key}`, version: 1, index: 10, ...fields });

test("checkWrites() accepts a map holding every acknowledged write and some writes of unknown outcome", () => {
  const records = [record("a", "acknowledged"), record("b", "unknown"), record("c", "unknown"), record("d", "not_applied")];
  assert.deepEqual(checkWrites([entry("a"), entry("b", { index: 7 })], records), []);
});

test("checkWrites() reports a lost, a changed and a doubly applied acknowledged write", () => {
  const records = [record("a", "acknowledged"), record("b", "acknowledged"), record("c", "acknowledged")];
  assert.deepEqual(checkWrites([entry("b", { value: "other" }), entry("c", { version: 2 })], records), [
    "acknowledged a (index 10, via node 1) is missing",
    "acknowledged b=value-b v1 @10 reads other v1 @10",
    "acknowledged c=value-c v1 @10 reads value-c v2 @10",
    "c has version 2 from at most 1 applied attempts",
  ]);
});

test("checkWrites() reports keys nobody may have written; unknown keys only when the records are complete", () => {
  const records = [record("a", "not_applied")];
  const entries = [entry("a"), entry("z")];
  assert.deepEqual(checkWrites(entries, records), ["a is present (index 10) though every attempt was refused before proposal", "z is present but no writer wrote it"]);
  assert.deepEqual(checkWrites(entries, records, { complete: false }), ["a is present (index 10) though every attempt was refused before proposal"]);
});
