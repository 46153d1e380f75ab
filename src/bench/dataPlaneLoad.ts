// What the produce and consume benches share: messages of a given size sent by real Producers with
// each one's time from `enqueue` to acknowledgement, throughput figures, and the JSON result file.
import { writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import type { Acks } from "../broker/protocol.js";
import { Producer } from "../client/producer.js";
import { assert } from "../shared/assert.js";

export interface ProduceLoad {
  readonly controllers: readonly string[];
  readonly topic: string;
  /** Timed messages, split evenly over the producers. */
  readonly messagesCount: number;
  /** Bytes of each message's value (ASCII, so characters too); keyless. */
  readonly sizeBytes: number;
  readonly acks: Acks;
  readonly lingerMs: number;
  readonly producersCount: number;
  /** Each producer's `bufferedRecordsMax`: records it holds unacknowledged before `enqueue` waits. */
  readonly inFlightCount: number;
  /** Messages each producer sends (and has acknowledged) before the clock starts: connections, producer id, JIT. */
  readonly warmUpMessagesCount: number;
  /** Called when the clock starts, after the warm-up. */
  readonly onTimedStart?: () => void;
}

export interface ProduceRun {
  /** From the first timed `enqueue` call to the last acknowledgement. */
  readonly elapsedMs: number;
  /** Per timed message, from its `enqueue` call (waiting for room included) to its acknowledgement. */
  readonly latenciesMs: Float64Array;
}

/** Sends `messagesCount` messages through `producersCount` concurrent producers, each in a closed loop. */
export async function produceMessages(load: ProduceLoad): Promise<ProduceRun> {
  assert(load.messagesCount >= load.producersCount, `each producer sends at least one message: ${load.messagesCount} messages, ${load.producersCount} producers`);
  const filler = "x".repeat(load.sizeBytes);
  const valueOf = (i: number): string => `${i}-${filler}`.slice(0, load.sizeBytes);
  const producers = Array.from({ length: load.producersCount }, () => new Producer({ controllers: load.controllers, acks: load.acks, lingerMs: load.lingerMs, bufferedRecordsMax: load.inFlightCount, autoCreateTopics: false }));
  try {
    await Promise.all(producers.map((producer) => Promise.all(Array.from({ length: load.warmUpMessagesCount }, (_, i) => producer.send({ topic: load.topic, value: valueOf(i) })))));
    const latenciesMs = new Float64Array(load.messagesCount);
    load.onTimedStart?.();
    const startMs = performance.now();
    await Promise.all(
      producers.map((producer, p) => {
        const first = Math.floor((p * load.messagesCount) / load.producersCount);
        const end = Math.floor(((p + 1) * load.messagesCount) / load.producersCount);
        return sendRange(producer, { topic: load.topic, first, end, valueOf, latenciesMs });
      }),
    );
    return { elapsedMs: performance.now() - startMs, latenciesMs };
  } finally {
    await Promise.allSettled(producers.map((producer) => producer.close()));
  }
}

/** Messages [first, end) one `enqueue` after the other (so at most `inFlightCount` unacknowledged); resolves once all are acknowledged. */
async function sendRange(producer: Producer, range: { readonly topic: string; readonly first: number; readonly end: number; readonly valueOf: (i: number) => string; readonly latenciesMs: Float64Array }): Promise<void> {
  const acknowledged: Promise<void>[] = [];
  for (let i = range.first; i < range.end; i++) {
    const calledMs = performance.now();
    const delivery = await producer.enqueue({ topic: range.topic, value: range.valueOf(i) });
    acknowledged.push(delivery.acknowledged.then(() => void (range.latenciesMs[i] = performance.now() - calledMs)));
  }
  await Promise.all(acknowledged);
}

export interface Throughput {
  readonly sizeBytes: number;
  readonly messagesCount: number;
  readonly elapsedMs: number;
  readonly messagesPerS: number;
  /** Message values only (10^6 bytes), not keys, timestamps or the JSON around them. */
  readonly megabytesPerS: number;
}

export function throughputOf(sizeBytes: number, messagesCount: number, elapsedMs: number): Throughput {
  assert(elapsedMs > 0, `a run takes some time, got ${elapsedMs} ms`);
  const seconds = elapsedMs / 1_000;
  return { sizeBytes, messagesCount, elapsedMs, messagesPerS: messagesCount / seconds, megabytesPerS: (messagesCount * sizeBytes) / 1e6 / seconds };
}

export function formatThroughput(t: Throughput): string {
  return `${t.messagesCount} messages in ${(t.elapsedMs / 1_000).toFixed(2)} s: ${Math.round(t.messagesPerS)} msg/s, ${t.megabytesPerS.toFixed(2)} MB/s`;
}

/** The 1, 5 and 15 minute load averages, rounded: the benches share their machine, and this says how busy it was. */
export function loadAverage(): readonly number[] {
  return loadavg().map((load) => Math.round(load * 100) / 100);
}

export async function writeJsonResult(file: string, result: unknown, print: (line: string) => void): Promise<void> {
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  print(`result written to ${file}`);
}
