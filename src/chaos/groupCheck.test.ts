import assert from "node:assert/strict";
import { test } from "node:test";
import { checkGroup, groupProblems } from "./groupCheck.js";
import type { GroupCommit, GroupHistory, HandedRecord } from "./groupCheck.js";
import type { SendOperation } from "./dataPlaneCheck.js";

// Acknowledged sends p0-<offset> to partition 0 at offsets 0..count-1, and p1-<offset> to partition 1.
function sends(partition: number, count: number): SendOperation[] {
  return Array.from({ length: count }, (_, offset) => ({ producerIndex: partition, sequence: offset + 1, partition, value: `p${partition}-${offset + 1}`, invokeMs: offset, outcome: "ok" as const, offset, completeMs: offset + 1 }));
}

function handed(member: string, partition: number, from: number, to: number, atMs: number, generation = 1): HandedRecord[] {
  return Array.from({ length: to - from }, (_, i) => ({ member, generation, partition, offset: from + i, value: `p${partition}-${from + i + 1}`, atMs }));
}

function commit(member: string, generation: number, offsets: Record<number, number>, invokeMs: number, outcome: "ok" | "fail" | "unknown" = "ok"): GroupCommit {
  const base = { member, memberId: `${member}-id`, generation, offsets: Object.entries(offsets).map(([p, offset]) => ({ partition: Number(p), offset })), invokeMs };
  return outcome === "unknown" ? { ...base, outcome } : { ...base, outcome, completeMs: invokeMs + 5 };
}

function history(overrides: Partial<GroupHistory>): GroupHistory {
  return { sends: [...sends(0, 6), ...sends(1, 4)], handed: [], commits: [], finalCommitted: new Map(), ends: [6, 4], drained: [], ...overrides };
}

test("a clean group history: handed out, committed forward, re-delivered across a rebalance (counted, allowed), resumed after healing", () => {
  const verdict = checkGroup(
    history({
      handed: [...handed("g0.1", 0, 0, 4, 10), ...handed("g0.1", 1, 0, 3, 10), ...handed("g1.1", 0, 2, 5, 40, 2)],
      commits: [commit("g0.1", 1, { 0: 2, 1: 2 }, 20), commit("g0.1", 1, { 0: 4 }, 30, "fail"), commit("g1.1", 2, { 0: 5 }, 50), commit("g1.1", 2, { 1: 3 }, 60, "unknown")],
      finalCommitted: new Map([
        [0, 5],
        [1, 3],
      ]),
      drained: [...handed("fresh", 0, 5, 6, 100), ...handed("fresh", 1, 3, 4, 100)],
    }),
  );
  assert.deepEqual(groupProblems(verdict), []);
  assert.equal(verdict.handedCount, 4 + 3 + 3 + 2);
  assert.equal(verdict.duplicatesHandedCount, 2, "offsets 2 and 3 of partition 0 were handed twice");
});

test("a commit past a record no member had been handed by then is reported, and so is a final offset past one", () => {
  const verdict = checkGroup(
    history({
      handed: [...handed("g0.1", 0, 0, 2, 10), ...handed("g0.1", 0, 3, 6, 10), ...handed("g0.1", 0, 2, 3, 80)],
      commits: [commit("g0.1", 1, { 0: 6 }, 20)],
      finalCommitted: new Map([
        [0, 6],
        [1, 4],
      ]),
      drained: handed("fresh", 1, 1, 4, 100),
    }),
  );
  assert.deepEqual(
    verdict.skipped.map((s) => [s.partition, s.committed, s.send.value]),
    [
      [0, 6, "p0-3"],
      [1, 4, "p1-1"],
    ],
  );
  assert.match(groupProblems(verdict).join("\n"), /group commits past a message no member was handed: 2: partition 0 committed 6 by g0.1 \(generation 1\) past p0-3 at 2/);
});

test("commits going backwards in real time are reported; overlapping ones may land in either order", () => {
  const verdict = checkGroup(
    history({
      handed: handed("g0.1", 0, 0, 6, 1),
      commits: [commit("g0.1", 1, { 0: 4 }, 10), commit("g1.1", 2, { 0: 2 }, 20), commit("g0.1", 1, { 0: 5 }, 30), commit("g1.1", 2, { 0: 3 }, 32), commit("g0.1", 1, { 0: 6 }, 40, "fail"), commit("g1.1", 2, { 0: 1 }, 50, "fail")],
      finalCommitted: new Map([[0, 5]]),
      drained: [...handed("fresh", 0, 5, 6, 100), ...handed("fresh", 1, 0, 4, 100)],
    }),
  );
  assert.deepEqual(
    verdict.backwards.map((b) => [b.earlier.offset, b.later.offset]),
    [
      [4, 2],
      [4, 3],
    ],
    "3 at 32 ms overlaps 5 (30–35 ms) but follows 4; refused commits do not count",
  );
  assert.match(groupProblems(verdict)[0] ?? "", /^group commits going backwards: 2: partition 0: 2 by g1.1 \(generation 2, 20–25 ms\) after 4 by g0.1/);
});

test("a committed offset after healing below the last successful commit, past the high watermark, or never committed, does not survive", () => {
  const commits = [commit("g0.1", 1, { 0: 3, 1: 2 }, 10), commit("g0.1", 1, { 0: 4 }, 20), commit("g1.1", 1, { 1: 4 }, 18, "unknown")];
  const all = [...handed("g0.1", 0, 0, 6, 1), ...handed("g0.1", 1, 0, 4, 1)];
  const at = (p0: number | undefined, p1: number) => checkGroup(history({ handed: all, commits, finalCommitted: new Map([...(p0 === undefined ? [] : [[0, p0] as const]), [1, p1]]) }));
  assert.deepEqual(at(4, 4).notSurvived, [], "an unknown commit may have taken effect");
  assert.deepEqual(at(4, 2).notSurvived, []);
  assert.deepEqual(at(3, 2).notSurvived.map((n) => [n.partition, n.found]), [[0, 3]]);
  assert.match(at(3, 2).notSurvived[0]?.why ?? "", /below the last successful commit, 4 by g0.1/);
  assert.deepEqual(at(undefined, 2).notSurvived.map((n) => n.why), ["no committed offset, though g0.1 committed 4"]);
  assert.deepEqual(at(4, 5).notSurvived.map((n) => n.why), ["past the high watermark 4"]);
  assert.deepEqual(at(4, 3).notSurvived.map((n) => n.why), ["no member committed it"]);
  // A commit that overlaps the last successful one may be applied after it.
  const overlapping = [commit("g0.1", 1, { 0: 4 }, 20), commit("g1.1", 2, { 0: 3 }, 22)];
  assert.deepEqual(checkGroup(history({ handed: all, commits: overlapping, finalCommitted: new Map([[0, 4]]) })).notSurvived, []);
  assert.deepEqual(checkGroup(history({ handed: all, commits: overlapping, finalCommitted: new Map([[0, 3]]) })).notSurvived, []);
});

test("the fresh member must start at the committed offset, and everything acknowledged must reach some member", () => {
  const verdict = checkGroup(
    history({
      handed: handed("g0.1", 0, 0, 3, 1),
      commits: [commit("g0.1", 1, { 0: 3 }, 10)],
      finalCommitted: new Map([[0, 3]]),
      drained: [...handed("fresh", 0, 2, 6, 100), ...handed("fresh", 1, 1, 4, 100)],
    }),
  );
  assert.deepEqual(verdict.wrongStart, [
    { partition: 0, committed: 3, firstHanded: 2 },
    { partition: 1, committed: undefined, firstHanded: 1 },
  ]);
  assert.deepEqual(verdict.lostToGroup.map((s) => s.value), ["p1-1"]);
  assert.equal(groupProblems(verdict).length, 2);
});
