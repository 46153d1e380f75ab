import assert from "node:assert/strict";
import { test } from "node:test";
import { describeSync, figuresOf, formatSize, versusTables } from "./produceVersus.js";
import type { RoundSample, VersusSize } from "./produceVersus.js";

function sampleOf(messagesCount: number, elapsedMs: number, latenciesMs: number[], extra: Partial<RoundSample> = {}): RoundSample {
  return { messagesCount, elapsedMs, latenciesMs, errorsCount: 0, serverCpuMs: 0, clientCpuMs: 0, ...extra };
}

test("figuresOf() adds rounds up: all messages over all the clock's time, latencies pooled, CPU over the time", () => {
  const figures = figuresOf(200, [sampleOf(4, 1_000, [1, 2, 3, 4], { serverCpuMs: 500, clientCpuMs: 100 }), sampleOf(2, 1_000, [10, 20], { serverCpuMs: 1_500, clientCpuMs: 300 })]);
  assert.equal(figures.messagesCount, 6);
  assert.equal(figures.elapsedMs, 2_000);
  assert.equal(figures.messagesPerS, 3);
  assert.equal(figures.megabytesPerS, 0.0006);
  assert.deepEqual(figures.latency, { count: 6, minMs: 1, p50Ms: 3, p99Ms: 20, maxMs: 20 });
  assert.equal(figures.serverCpuPercent, 100);
  assert.equal(figures.clientCpuPercent, 20);
});

test("figuresOf() leaves failed messages out of the latencies and counts them as errors", () => {
  const figures = figuresOf(200, [sampleOf(2, 1_000, [5, Number.NaN, 7], { errorsCount: 1 })]);
  assert.equal(figures.messagesCount, 2);
  assert.equal(figures.errorsCount, 1);
  assert.equal(figures.latency?.count, 2);
  assert.equal(figuresOf(200, [sampleOf(0, 1_000, [Number.NaN], { errorsCount: 1 })]).latency, undefined);
});

test("describeSync() says plainly when JetStream does not fsync every write", () => {
  assert.equal(describeSync("always", "v2.10.24"), "fsync on every write (sync_interval: always)");
  assert.match(describeSync("default", "v2.9.10"), /NO fsync per write \(nats-server v2\.9\.10 has no sync_interval: always\)/);
});

test("formatSize() gives whole KiB as KiB and the rest in bytes", () => {
  assert.equal(formatSize(200), "200 B");
  assert.equal(formatSize(1024), "1 KiB");
  assert.equal(formatSize(1500), "1500 B");
});

test("versusTables() gives a row per size with both systems' figures and the ratio, and a row per round", () => {
  const yakt = figuresOf(200, [sampleOf(30_000, 1_000, [50, 60, 200], { serverCpuMs: 1_500, clientCpuMs: 500 })]);
  const reference = figuresOf(200, [sampleOf(10_000, 1_000, [100, 120, 300], { serverCpuMs: 800, clientCpuMs: 600 })]);
  const sizes: VersusSize[] = [{ sizeBytes: 200, rounds: [{ round: 1, yakt, reference }], yakt, reference }];
  const [summary, rounds] = versusTables(sizes, { roundsCount: 1, messagesCount: 30_000, producersCount: 1, inFlightCount: 2_000, natsPublishMode: "async", sync: "fsync on every write" });
  assert(summary !== undefined && rounds !== undefined);
  assert.match(summary.title, /^Produce: YAKt \(acks=all, 3 partitions, RF 3\) vs JetStream \(3 streams, R=3, file storage, fsync on every write\); 1 producer × 2,000 in flight \(JetStream: async publish\); 1 round of 30,000 messages/);
  assert.deepEqual(summary.headers, ["size", "YAKt msg/s", "MB/s", "p50 ms", "p99 ms", "errors", "CPU srv/cli %", "JetStream msg/s", "MB/s", "p50 ms", "p99 ms", "errors", "CPU srv/cli %", "ratio"]);
  assert.deepEqual(summary.rows, [["200 B", "30,000", "6.00", "60.0", "200", "0", "150/50", "10,000", "2.00", "120", "300", "0", "80/60", "3.00×"]]);
  assert.deepEqual(rounds.rows, [["200 B", "1", "30,000", "200", "10,000", "300", "3.00×"]]);
});
