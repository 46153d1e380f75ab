// The consume bench: messages/s and MB/s of a real Consumer reading a topic from its beginning.
import { Consumer } from "../client/consumer.js";
import { producerDefaults } from "../client/producer.js";
import { partitionsCount, replicationFactor, withDataPlaneCluster } from "./dataPlaneCluster.js";
import type { DataPlaneCluster } from "./dataPlaneCluster.js";
import { formatThroughput, loadAverage, produceMessages, throughputOf, writeJsonResult } from "./dataPlaneLoad.js";
import type { Throughput } from "./dataPlaneLoad.js";
import { parseBenchArgs } from "./flags.js";
import type { ParsedArgs } from "./flags.js";
import { describeMachine, formatMachine } from "./machine.js";
import type { Machine } from "./machine.js";
import { inFlightCountDefault, sizeBytesMax, sizesBytesDefault, sizesCountMax } from "./produce.js";

export interface ConsumeOptions {
  /** Messages produced (untimed) and then consumed (timed), per size. */
  readonly messagesCount: number;
  readonly sizesBytes: readonly number[];
  readonly jsonFile: string | undefined;
}

const consumeMessagesCountDefault = 200_000;
/** What the topic holds is produced first at about 10,000 messages/s: a million takes minutes. */
const consumeMessagesCountMax = 1_000_000;
/** Reading the whole topic takes longer than this only when something is broken. */
const consumeTimeoutMs = 300_000;
/** One poll waits this long at most for records. */
const pollTimeoutMs = 1_000;

export const consumeUsage = `Usage: npm run bench -- consume [--messages N] [--sizes B,B] [--json FILE]

Starts 3 controllers and 3 brokers on 127.0.0.1 (data in a temp dir), and for each message size creates a
topic of ${partitionsCount} partitions with replication factor ${replicationFactor}, fills it with N keyless messages (one
producer, acks=all, not timed), then times one Consumer (src/client/consumer.ts, no group) reading all of
them from the beginning, from the first poll to the last message. Prints messages/s and MB/s (message
values only).

  --messages N    messages per size, 1 to ${consumeMessagesCountMax} (default ${consumeMessagesCountDefault})
  --sizes B,B     message value sizes in bytes, 1 to ${sizeBytesMax} each (default ${sizesBytesDefault.join(",")})
  --json FILE     also write the result as JSON to FILE
  -h, --help      print this help

Set YAKT_E2E_KEEP=1 to keep the temp dir with the controllers' and brokers' logs.`;

export function parseConsumeArgs(argv: readonly string[]): ParsedArgs<ConsumeOptions> {
  return parseBenchArgs("consume", argv, ["--messages", "--sizes", "--json"], (values) => ({
    messagesCount: values.integer("--messages", 1, consumeMessagesCountMax, consumeMessagesCountDefault),
    sizesBytes: values.integers("--sizes", { min: 1, max: sizeBytesMax, countMax: sizesCountMax }, sizesBytesDefault),
    jsonFile: values.text("--json"),
  }));
}

export interface ConsumeResult {
  readonly scenario: "consume";
  readonly startedAt: string;
  readonly machine: Machine;
  /** 1, 5 and 15 minute load averages when the bench started and ended. */
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  readonly settings: Omit<ConsumeOptions, "jsonFile"> & { readonly partitionsCount: number; readonly replicationFactor: number };
  /** Per size: the fill's throughput (acks=all, one producer) and the consumer's. */
  readonly results: readonly { readonly fill: Throughput; readonly consume: Throughput }[];
}

/** Runs the bench, printing a line per size; always stops every process it started. */
export async function runConsume(options: ConsumeOptions, print: (line: string) => void): Promise<ConsumeResult> {
  const startedAt = new Date().toISOString();
  const loadAtStart = loadAverage();
  const machine = describeMachine();
  const { jsonFile, ...chosen } = options;
  print(`consume: ${options.messagesCount} messages per size; ${partitionsCount} partitions, RF ${replicationFactor}`);
  print(`machine: ${formatMachine(machine)}; load average ${loadAtStart.join(" ")}`);
  const results = await withDataPlaneCluster("yakt-bench-consume", async (cluster) => {
    const perSize: { fill: Throughput; consume: Throughput }[] = [];
    for (const sizeBytes of options.sizesBytes) {
      const topic = `consume-${sizeBytes}`;
      await cluster.createTopic(topic);
      const filled = await produceMessages({ controllers: cluster.controllerUrls(), topic, messagesCount: options.messagesCount, sizeBytes, acks: "all", lingerMs: producerDefaults.lingerMs, producersCount: 1, inFlightCount: inFlightCountDefault, warmUpMessagesCount: 0 });
      const fill = throughputOf(sizeBytes, options.messagesCount, filled.elapsedMs);
      print(`filled ${topic}: ${formatThroughput(fill)}`);
      const consume = throughputOf(sizeBytes, options.messagesCount, await consumeAll(cluster, topic, options.messagesCount));
      perSize.push({ fill, consume });
      print(`consume ${sizeBytes} B: ${formatThroughput(consume)}`);
    }
    return perSize;
  });
  const result: ConsumeResult = { scenario: "consume", startedAt, machine, loadAverage: { start: loadAtStart, end: loadAverage() }, settings: { ...chosen, partitionsCount, replicationFactor }, results };
  print(`load average at the end ${result.loadAverage.end.join(" ")}`);
  if (jsonFile !== undefined) await writeJsonResult(jsonFile, result, print);
  return result;
}

/** Reads the topic from its beginning until `messagesCount` messages came; the time from the first poll to the last. */
async function consumeAll(cluster: DataPlaneCluster, topic: string, messagesCount: number): Promise<number> {
  const consumer = new Consumer({ controllers: cluster.controllerUrls(), topic, fromBeginning: true, autoCreateTopics: false });
  try {
    const startMs = performance.now();
    const deadlineMs = startMs + consumeTimeoutMs;
    let receivedCount = 0;
    while (receivedCount < messagesCount) {
      if (performance.now() > deadlineMs) throw new Error(`Cannot finish the consume bench as ${receivedCount} of ${messagesCount} messages of ${topic} came within ${consumeTimeoutMs} ms`);
      receivedCount += (await consumer.poll({ timeoutMs: pollTimeoutMs })).length;
    }
    if (receivedCount !== messagesCount) throw new Error(`Cannot finish the consume bench as ${topic} gave ${receivedCount} messages, more than the ${messagesCount} produced`);
    return performance.now() - startMs;
  } finally {
    await consumer.close();
  }
}
