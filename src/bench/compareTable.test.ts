import assert from "node:assert/strict";
import { test } from "node:test";
import type { ClosedLoopResult } from "./closedLoop.js";
import { formatLatencyMs, formatMarkdownTable, formatRatio, formatTextTable, pointsTable } from "./compareTable.js";
import type { Measurement, PointResult } from "./compareTable.js";

function measurement(system: string, operationsPerSecond: number, p50Ms: number): Measurement {
  const result: ClosedLoopResult = {
    concurrency: 32,
    measuredMs: 10_000,
    operationsCount: operationsPerSecond * 10,
    operationsPerSecond,
    errorsCount: 0,
    firstError: undefined,
    latency: { p50Ms, p99Ms: p50Ms * 4, p999Ms: p50Ms * 8, maxMs: p50Ms * 10 },
    clientCpuPercent: 20.4,
  };
  return { system, description: "a write", result, serverCpuPercent: 150.6, idleOtherCpuPercent: 3 };
}

test("formatRatio() divides YAKt's throughput by the reference's, with no ratio for nothing", () => {
  assert.equal(formatRatio(3000, 2000), "1.50×");
  assert.equal(formatRatio(1000, 0), "—");
  assert.equal(formatRatio(1000, undefined), "—");
});

test("formatLatencyMs() keeps about three significant digits", () => {
  assert.equal(formatLatencyMs(1.234), "1.23");
  assert.equal(formatLatencyMs(12.34), "12.3");
  assert.equal(formatLatencyMs(123.4), "123");
  assert.equal(formatLatencyMs(undefined), "—");
});

test("pointsTable() has a row per point with both systems and the ratio", () => {
  const points: PointResult[] = [
    { label: "leader", concurrency: 32, yakt: measurement("YAKt", 3000, 10), reference: measurement("etcd", 2000, 15) },
    { label: "follower", concurrency: 32, yakt: measurement("YAKt", 1000, 30), reference: "unsupported" },
  ];
  const table = pointsTable("Writes", "etcd", points);
  assert.equal(table.headers.length, 15);
  assert.deepEqual(table.rows[0], ["leader", "32", "3,000", "10.0", "40.0", "80.0", "0", "151/20", "2,000", "15.0", "60.0", "120", "0", "151/20", "1.50×"]);
  assert.deepEqual(table.rows[1]?.slice(8), ["—", "—", "—", "—", "—", "—", "—"]);
});

test("pointsTable() without a reference has YAKt's columns only", () => {
  const table = pointsTable("Writes", undefined, [{ label: "leader", concurrency: 1, yakt: measurement("YAKt", 100, 5), reference: undefined }]);
  assert.equal(table.headers.length, 8);
  assert.equal(table.rows[0]?.length, 8);
});

test("formatTextTable() aligns numbers right and labels left under a rule", () => {
  const text = formatTextTable({ title: "T", headers: ["point", "ops/s"], rightAligned: [false, true], rows: [["leader", "5"], ["follower", "1,234"]] });
  assert.equal(text, ["T", "point     ops/s", "--------  -----", "leader        5", "follower  1,234"].join("\n"));
});

test("formatMarkdownTable() right-aligns numeric columns and escapes pipes", () => {
  const markdown = formatMarkdownTable({ title: "T", headers: ["point", "ops/s"], rightAligned: [false, true], rows: [["a|b", "5"]] });
  assert.equal(markdown, ["**T**", "", "| point | ops/s |", "| --- | ---: |", "| a\\|b | 5 |"].join("\n"));
});
