import assert from "node:assert/strict";
import { test } from "node:test";
import { checkDataPlane, dataPlaneProblems } from "./dataPlaneCheck.js";
import type { ConsumedMessage, SendOperation } from "./dataPlaneCheck.js";

// Sends shaped as the chaos producers record them: value p<producer>-<sequence>, one partition each.
function ok(producerIndex: number, sequence: number, partition: number, offset: number): SendOperation {
  return { producerIndex, sequence, partition, value: `p${producerIndex}-${sequence}`, invokeMs: sequence * 10, outcome: "ok", offset, completeMs: sequence * 10 + 5 };
}

function failed(producerIndex: number, sequence: number, partition: number, outcome: "fail" | "unknown"): SendOperation {
  const base = { producerIndex, sequence, partition, value: `p${producerIndex}-${sequence}`, invokeMs: sequence * 10, note: "DELIVERY_TIMEOUT" };
  return outcome === "fail" ? { ...base, outcome, completeMs: sequence * 10 + 5 } : { ...base, outcome };
}

const at = (partition: number, offset: number, value: string): ConsumedMessage => ({ partition, offset, value });

test("a clean history: every acknowledged message once, where acknowledged, in order; unknown ones may or may not be there", () => {
  const sends = [ok(0, 1, 0, 0), ok(0, 2, 0, 1), failed(0, 3, 0, "unknown"), ok(0, 4, 0, 3), ok(1, 1, 0, 2), failed(1, 2, 1, "unknown"), failed(1, 3, 1, "fail"), ok(1, 4, 1, 0)];
  const consumed = [at(0, 0, "p0-1"), at(0, 1, "p0-2"), at(0, 2, "p1-1"), at(0, 3, "p0-4"), at(1, 0, "p1-4"), at(1, 1, "p1-2")];
  const verdict = checkDataPlane(sends, consumed);
  assert.deepEqual(dataPlaneProblems(verdict), []);
  assert.equal(verdict.duplicatesCount, 0);
  assert.equal(verdict.unknownPresentCount, 1);
});

test("an acknowledged message not read back is lost", () => {
  const verdict = checkDataPlane([ok(0, 1, 0, 0), ok(0, 2, 0, 1)], [at(0, 0, "p0-1")]);
  assert.deepEqual(verdict.lost.map((s) => s.value), ["p0-2"]);
  assert.match(dataPlaneProblems(verdict)[0] ?? "", /^acknowledged messages lost: 1: p0-2 to partition 0 acknowledged at 1/);
});

test("a message read twice is a duplicate, counted once per extra copy, whatever its send's outcome", () => {
  const sends = [ok(0, 1, 0, 0), failed(0, 2, 0, "unknown")];
  const verdict = checkDataPlane(sends, [at(0, 0, "p0-1"), at(0, 1, "p0-2"), at(0, 2, "p0-2"), at(0, 3, "p0-2"), at(0, 4, "p0-1")]);
  assert.equal(verdict.duplicatesCount, 3);
  assert.deepEqual(verdict.duplicated, [
    { value: "p0-1", offsets: ["0@0", "0@4"] },
    { value: "p0-2", offsets: ["0@1", "0@2", "0@3"] },
  ]);
  assert.match(dataPlaneProblems(verdict).join("\n"), /messages read more than once: 2: p0-1 at 0@0, 0@4; p0-2 at 0@1, 0@2, 0@3/);
});

test("a send that failed before any append but is read back is reported; an unknown one read back is not", () => {
  const verdict = checkDataPlane([failed(2, 1, 1, "fail"), failed(2, 2, 1, "unknown")], [at(1, 0, "p2-1"), at(1, 1, "p2-2")]);
  assert.deepEqual(verdict.failedPresent.map((s) => s.value), ["p2-1"]);
  assert.equal(verdict.unknownPresentCount, 1);
  assert.equal(dataPlaneProblems(verdict).length, 1);
});

test("acknowledged messages of one producer in one partition out of send order are reported; across producers or partitions order is free", () => {
  const sends = [ok(0, 1, 0, 1), ok(0, 2, 0, 0), ok(1, 1, 0, 3), ok(0, 3, 1, 0), ok(1, 2, 0, 2)];
  const consumed = [at(0, 0, "p0-2"), at(0, 1, "p0-1"), at(0, 2, "p1-2"), at(0, 3, "p1-1"), at(1, 0, "p0-3")];
  const verdict = checkDataPlane(sends, consumed);
  assert.deepEqual(verdict.outOfOrder.map((o) => [o.earlier.value, o.later.value]), [["p0-1", "p0-2"], ["p1-1", "p1-2"]]);
  assert.deepEqual(verdict.lost, []);
  assert.deepEqual(verdict.misplaced, []);
});

test("an acknowledged message at another offset than acknowledged is misplaced; a message nobody sent is unexpected", () => {
  const verdict = checkDataPlane([ok(0, 1, 0, 0)], [at(0, 0, "stray"), at(0, 1, "p0-1")]);
  assert.deepEqual(verdict.misplaced.map((m) => [m.send.value, m.found.offset]), [["p0-1", 1]]);
  assert.deepEqual(verdict.unexpected, [at(0, 0, "stray")]);
  assert.equal(dataPlaneProblems(verdict).length, 2);
});
