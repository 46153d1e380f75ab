// The produce bench: messages/s, MB/s and per-message latency of real Producers against 3 brokers.
import type { Acks } from "../broker/protocol.js";
import { producerDefaults } from "../client/producer.js";
import { partitionsCount, replicationFactor, withDataPlaneCluster } from "./dataPlaneCluster.js";
import { formatThroughput, loadAverage, produceMessages, throughputOf, writeJsonResult } from "./dataPlaneLoad.js";
import type { Throughput } from "./dataPlaneLoad.js";
import { parseBenchArgs } from "./flags.js";
import type { ParsedArgs } from "./flags.js";
import { describeMachine, formatMachine } from "./machine.js";
import { natsPublishModes } from "./natsProduce.js";
import type { NatsPublishMode } from "./natsProduce.js";
import type { Machine } from "./machine.js";
import { summarize } from "./stats.js";
import type { LatencySummary } from "./stats.js";

export interface ProduceOptions {
  /** Timed messages per size, over all producers. */
  readonly messagesCount: number;
  readonly sizesBytes: readonly number[];
  readonly acks: Acks;
  readonly lingerMs: number;
  readonly producersCount: number;
  /** Each producer's bufferedRecordsMax. */
  readonly inFlightCount: number;
  /** The system measured beside YAKt, round for round; YAKt alone when undefined. */
  readonly reference: ProduceReference | undefined;
  /** With a reference: rounds per size, each one YAKt's then the reference's. */
  readonly roundsCount: number;
  /** With --vs nats: how the bench publishes to JetStream (natsProduce.ts). */
  readonly natsPublishMode: NatsPublishMode;
  readonly jsonFile: string | undefined;
  /** With a reference: where the tables go as markdown. */
  readonly markdownFile: string | undefined;
  /** Where each broker writes a V8 CPU profile (`--cpu-prof`) when it stops, if anywhere. */
  readonly brokerCpuProfileDir: string | undefined;
}

/** NATS JetStream, 3 nodes, streams of 3 replicas on file storage. */
export type ProduceReference = "nats";
const produceReferences: readonly ProduceReference[] = ["nats"];

export const produceMessagesCountDefault = 100_000;
/** Every message's acknowledgement and latency are held until the end of its size's run: a few hundred bytes each. */
export const produceMessagesCountMax = 1_000_000;
export const sizesBytesDefault: readonly number[] = [200, 1024];
/** Comfortably below the producer's batchBytesMax (1 MiB of JSON per batch). */
export const sizeBytesMax = 100_000;
export const sizesCountMax = 10;
const lingerMsMax = 10_000;
const producersCountMax = 16;
/**
 * About 670 per partition: a batch in flight and one filling behind it. More only queues in the client:
 * with 6,000 the throughput was no higher here and the latency 3 to 6 times as long (bench/README.md).
 */
export const inFlightCountDefault = 2_000;
const inFlightCountMax = producerDefaults.bufferedRecordsMax;
/** Per producer and size, before the clock starts. */
export const warmUpMessagesCount = 1_000;
export const roundsCountDefault = 3;
const roundsCountMax = 100;
const acksChoices = ["all", "1", "0"] as const;

export const produceUsage = `Usage: npm run bench -- produce [--messages N] [--sizes B,B] [--acks 0|1|all] [--linger-ms N] [--producers N] [--in-flight N] [--json FILE] [--cpu-prof DIR]
       npm run bench -- produce --vs nats [--rounds N] [--nats-publish async|request] [--markdown FILE] [the flags above but --acks]

Starts 3 controllers and 3 brokers on 127.0.0.1 (data in a temp dir), and for each message size creates a
topic of ${partitionsCount} partitions with replication factor ${replicationFactor}. Producers (src/client/producer.ts, idempotent)
send ${warmUpMessagesCount} untimed messages each, then the timed ones, keyless (round-robin over the partitions),
each producer in a closed loop: it enqueues the next message as soon as it holds fewer than --in-flight
unacknowledged ones, and batches as it does by itself. Prints messages/s, MB/s (message values only) and
p50/p99 of each message's time from its enqueue call to its acknowledgement.

  --messages N    timed messages per size over all producers, 1 to ${produceMessagesCountMax} (default ${produceMessagesCountDefault})
  --sizes B,B     message value sizes in bytes, 1 to ${sizeBytesMax} each (default ${sizesBytesDefault.join(",")})
  --acks A        0, 1 or all (default all)
  --linger-ms N   how long a batch waits for more messages, 0 to ${lingerMsMax} (default ${producerDefaults.lingerMs})
  --producers N   concurrent producer instances, 1 to ${producersCountMax} (default 1)
  --in-flight N   unacknowledged messages each producer holds at most, 1 to ${inFlightCountMax} (default ${inFlightCountDefault});
                  latency is about this over the throughput
  --json FILE     also write the result as JSON to FILE
  --vs nats       also start 3 nats-server nodes with JetStream (installed by scripts/install-references.sh
                  when missing) and send the same load to ${partitionsCount} streams of 3 replicas on file storage,
                  one per partition, through as many connections as producers with as many publishes in
                  flight each (asynchronous publish, every acknowledgement awaited); acks=all only.
                  JetStream fsyncs every write only where the server takes sync_interval: always (2.10 and
                  later); otherwise its default is measured and the output says so
  --rounds N      with --vs: rounds per size, each --messages on YAKt then on JetStream, 1 to ${roundsCountMax}
                  (default ${roundsCountDefault})
  --nats-publish M
                  with --vs: async (default) publishes with a reply subject under one inbox and takes every
                  PubAck on one subscription, as the Go client's PublishAsync; request uses
                  @nats-io/jetstream's js.publish, a request with its own timer per message (more client CPU)
  --markdown FILE with --vs: also write the tables as markdown to FILE (printed at the end either way)
  --cpu-prof DIR  run each broker with node --cpu-prof, writing its profile to DIR when it stops
  -h, --help      print this help

Set YAKT_E2E_KEEP=1 to keep the temp dirs with the controllers', brokers' and nats-servers' logs.`;

export function parseProduceArgs(argv: readonly string[]): ParsedArgs<ProduceOptions> {
  const flags = ["--messages", "--sizes", "--acks", "--linger-ms", "--producers", "--in-flight", "--json", "--vs", "--rounds", "--nats-publish", "--markdown", "--cpu-prof"];
  return parseBenchArgs("produce", argv, flags, (values) => {
    const acks = values.choice("--acks", acksChoices, "all");
    const producersCount = values.integer("--producers", 1, producersCountMax, 1);
    const reference = values.choice("--vs", produceReferences);
    if (reference === undefined) {
      if (values.text("--rounds") !== undefined) values.refuse("--rounds", "needs --vs");
      if (values.text("--markdown") !== undefined) values.refuse("--markdown", "needs --vs");
      if (values.text("--nats-publish") !== undefined) values.refuse("--nats-publish", "needs --vs nats");
    } else if (acks !== "all") {
      values.refuse("--acks", `must be all with --vs ${reference}: JetStream acknowledges a replicated stream's message once a quorum has it`);
    }
    return {
      messagesCount: values.integer("--messages", producersCount, produceMessagesCountMax, produceMessagesCountDefault),
      sizesBytes: values.integers("--sizes", { min: 1, max: sizeBytesMax, countMax: sizesCountMax }, sizesBytesDefault),
      acks: acks === "all" ? "all" : acks === "1" ? 1 : 0,
      lingerMs: values.integer("--linger-ms", 0, lingerMsMax, producerDefaults.lingerMs),
      producersCount,
      inFlightCount: values.integer("--in-flight", 1, inFlightCountMax, inFlightCountDefault),
      reference,
      roundsCount: values.integer("--rounds", 1, roundsCountMax, roundsCountDefault),
      natsPublishMode: values.choice("--nats-publish", natsPublishModes, "async"),
      jsonFile: values.text("--json"),
      markdownFile: values.text("--markdown"),
      brokerCpuProfileDir: values.text("--cpu-prof"),
    };
  });
}

export interface ProduceSizeResult extends Throughput {
  readonly latency: LatencySummary;
}

export interface ProduceResult {
  readonly scenario: "produce";
  readonly startedAt: string;
  readonly machine: Machine;
  /** 1, 5 and 15 minute load averages when the bench started and ended. */
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  readonly settings: ReturnType<typeof produceSettings> & { readonly partitionsCount: number; readonly replicationFactor: number; readonly warmUpMessagesCount: number };
  readonly results: readonly ProduceSizeResult[];
}

/** Runs the bench, printing a line per size; always stops every process it started. */
export async function runProduce(options: ProduceOptions, print: (line: string) => void): Promise<ProduceResult> {
  const startedAt = new Date().toISOString();
  const loadAtStart = loadAverage();
  const machine = describeMachine();
  const jsonFile = options.jsonFile;
  const settings = { ...produceSettings(options), partitionsCount, replicationFactor, warmUpMessagesCount };
  print(`produce: ${options.messagesCount} messages per size, acks=${options.acks}, linger ${options.lingerMs} ms, ${options.producersCount} producer(s), ${options.inFlightCount} in flight each; ${partitionsCount} partitions, RF ${replicationFactor}`);
  print(`machine: ${formatMachine(machine)}; load average ${loadAtStart.join(" ")}`);
  const results = await withDataPlaneCluster("yakt-bench-produce", async (cluster) => {
    const perSize: ProduceSizeResult[] = [];
    for (const sizeBytes of options.sizesBytes) {
      const topic = `produce-${sizeBytes}`;
      await cluster.createTopic(topic);
      const run = await produceMessages({ ...options, controllers: cluster.controllerUrls(), topic, sizeBytes, warmUpMessagesCount });
      const result = { ...throughputOf(sizeBytes, options.messagesCount, run.elapsedMs), latency: summarize(Array.from(run.latenciesMs)) };
      perSize.push(result);
      print(`produce ${sizeBytes} B: ${formatThroughput(result)}; latency p50 ${formatMs(result.latency.p50Ms)}, p99 ${formatMs(result.latency.p99Ms)}, max ${formatMs(result.latency.maxMs)}`);
    }
    return perSize;
  }, { brokerCpuProfileDir: options.brokerCpuProfileDir });
  if (options.brokerCpuProfileDir !== undefined) print(`the brokers' CPU profiles are in ${options.brokerCpuProfileDir}`);
  const result: ProduceResult = { scenario: "produce", startedAt, machine, loadAverage: { start: loadAtStart, end: loadAverage() }, settings, results };
  print(`load average at the end ${result.loadAverage.end.join(" ")}`);
  if (jsonFile !== undefined) await writeJsonResult(jsonFile, result, print);
  return result;
}

/** The load's settings, for a result file. */
export function produceSettings(options: ProduceOptions): Pick<ProduceOptions, "messagesCount" | "sizesBytes" | "acks" | "lingerMs" | "producersCount" | "inFlightCount"> {
  const { messagesCount, sizesBytes, acks, lingerMs, producersCount, inFlightCount } = options;
  return { messagesCount, sizesBytes, acks, lingerMs, producersCount, inFlightCount };
}

function formatMs(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}
