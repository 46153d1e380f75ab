// `produce --vs nats`: YAKt's produce path beside NATS JetStream with 3 replicas, in one run on one
// machine. Both clusters run for the whole bench; for each message size, rounds alternate — the same
// load on YAKt, then on JetStream — so that whatever else the machine does weighs on both.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { formatLatencyMs, formatMarkdownTable, formatOpsPerSecond, formatRatio, formatTextTable } from "./compareTable.js";
import type { Table } from "./compareTable.js";
import { partitionsCount, replicationFactor, withDataPlaneCluster } from "./dataPlaneCluster.js";
import type { DataPlaneCluster } from "./dataPlaneCluster.js";
import { produceMessages, throughputOf, writeJsonResult } from "./dataPlaneLoad.js";
import type { Throughput } from "./dataPlaneLoad.js";
import { describeMachine, formatMachine } from "./machine.js";
import type { Machine } from "./machine.js";
import { createNatsStreams, natsStreamsOf, publishToNats } from "./natsProduce.js";
import type { NatsPublishMode } from "./natsProduce.js";
import { produceSettings, warmUpMessagesCount } from "./produce.js";
import type { ProduceOptions } from "./produce.js";
import { ensureInstalled, formatLoad, referenceVersion } from "./reference/install.js";
import { NatsCluster, natsServerVersion } from "./reference/nats.js";
import type { NatsSync } from "./reference/nats.js";
import { cpuTimeMs } from "./serverCpu.js";
import { summarize } from "./stats.js";
import type { LatencySummary } from "./stats.js";

export const referenceLabel = "JetStream";

/** What one system did in one round (or several, added up). */
export interface RoundSample {
  /** Acknowledged timed messages. */
  readonly messagesCount: number;
  readonly elapsedMs: number;
  /** Per timed message; NaN for one that failed. */
  readonly latenciesMs: ArrayLike<number>;
  readonly errorsCount: number;
  /** CPU time of the system's server processes while the clock ran. */
  readonly serverCpuMs: number;
  /** CPU time of the bench process (the producers) while the clock ran. */
  readonly clientCpuMs: number;
}

export interface Figures extends Throughput {
  /** Undefined when no message was acknowledged. */
  readonly latency: LatencySummary | undefined;
  readonly errorsCount: number;
  /** In percent of one core (the machine has 200 %). */
  readonly serverCpuPercent: number;
  readonly clientCpuPercent: number;
}

export interface VersusRound {
  readonly round: number;
  readonly yakt: Figures;
  readonly reference: Figures;
}

export interface VersusSize {
  readonly sizeBytes: number;
  readonly rounds: readonly VersusRound[];
  /** Every round together: all messages over all the clock's time, latencies pooled. */
  readonly yakt: Figures;
  readonly reference: Figures;
}

export interface ProduceVersusResult {
  readonly scenario: "produce";
  readonly reference: "nats";
  readonly startedAt: string;
  readonly machine: Machine;
  readonly loadAverage: { readonly before: readonly number[]; readonly after: readonly number[] };
  readonly versions: Readonly<Record<string, string>>;
  readonly settings: ReturnType<typeof produceSettings> & { readonly roundsCount: number; readonly natsPublishMode: NatsPublishMode; readonly partitionsCount: number; readonly replicationFactor: number; readonly warmUpMessagesCount: number };
  /** How JetStream's file store synced: `always` (every write) or the server's default (no fsync per write). */
  readonly referenceSync: NatsSync;
  readonly sizes: readonly VersusSize[];
  readonly tables: readonly Table[];
}

/** The figures of one or more rounds of one system: messages over the clock's time, latencies pooled. */
export function figuresOf(sizeBytes: number, samples: readonly RoundSample[]): Figures {
  const messagesCount = samples.reduce((sum, s) => sum + s.messagesCount, 0);
  const elapsedMs = samples.reduce((sum, s) => sum + s.elapsedMs, 0);
  const latencies: number[] = [];
  for (const sample of samples) {
    for (let i = 0; i < sample.latenciesMs.length; i++) {
      const latency = sample.latenciesMs[i];
      if (latency !== undefined && !Number.isNaN(latency)) latencies.push(latency);
    }
  }
  const percentOf = (cpuMs: number): number => (elapsedMs > 0 ? (100 * cpuMs) / elapsedMs : 0);
  return {
    ...throughputOf(sizeBytes, messagesCount, elapsedMs),
    latency: latencies.length === 0 ? undefined : summarize(latencies),
    errorsCount: samples.reduce((sum, s) => sum + s.errorsCount, 0),
    serverCpuPercent: percentOf(samples.reduce((sum, s) => sum + s.serverCpuMs, 0)),
    clientCpuPercent: percentOf(samples.reduce((sum, s) => sum + s.clientCpuMs, 0)),
  };
}

/** "fsync on every write (sync_interval: always)" or the server's default, said plainly. */
export function describeSync(sync: NatsSync, serverVersion: string): string {
  return sync === "always"
    ? "fsync on every write (sync_interval: always)"
    : `the server's default sync: NO fsync per write (nats-server ${serverVersion} has no sync_interval: always)`;
}

/** The summary table (a row per size, every round together) and the table of the rounds. */
export function versusTables(sizes: readonly VersusSize[], context: { readonly roundsCount: number; readonly messagesCount: number; readonly producersCount: number; readonly inFlightCount: number; readonly natsPublishMode: NatsPublishMode; readonly sync: string }): Table[] {
  const load = `${context.producersCount} producer${context.producersCount === 1 ? "" : "s"} × ${formatOpsPerSecond(context.inFlightCount)} in flight (${referenceLabel}: ${context.natsPublishMode} publish)`;
  const systems = `YAKt (acks=all, ${partitionsCount} partitions, RF ${replicationFactor}) vs ${referenceLabel} (${partitionsCount} streams, R=${replicationFactor}, file storage, ${context.sync})`;
  const figures = (name: string): string[] => [`${name} msg/s`, "MB/s", "p50 ms", "p99 ms", "errors", "CPU srv/cli %"];
  const summaryHeaders = ["size", ...figures("YAKt"), ...figures(referenceLabel), "ratio"];
  const summary: Table = {
    title: `Produce: ${systems}; ${load}; ${context.roundsCount} round${context.roundsCount === 1 ? "" : "s"} of ${formatOpsPerSecond(context.messagesCount)} messages per size and system, alternating (latency from the send call to the acknowledgement; ratio = YAKt msg/s ÷ ${referenceLabel} msg/s)`,
    headers: summaryHeaders,
    rightAligned: summaryHeaders.map(() => true),
    rows: sizes.map((size) => [formatSize(size.sizeBytes), ...figureCells(size.yakt), ...figureCells(size.reference), formatRatio(size.yakt.messagesPerS, size.reference.messagesPerS)]),
  };
  const roundHeaders = ["size", "round", "YAKt msg/s", "p99 ms", `${referenceLabel} msg/s`, "p99 ms", "ratio"];
  const rounds: Table = {
    title: `Each round (YAKt first, then ${referenceLabel})`,
    headers: roundHeaders,
    rightAligned: roundHeaders.map(() => true),
    rows: sizes.flatMap((size) =>
      size.rounds.map((r) => [formatSize(size.sizeBytes), String(r.round), formatOpsPerSecond(r.yakt.messagesPerS), formatLatencyMs(r.yakt.latency?.p99Ms), formatOpsPerSecond(r.reference.messagesPerS), formatLatencyMs(r.reference.latency?.p99Ms), formatRatio(r.yakt.messagesPerS, r.reference.messagesPerS)]),
    ),
  };
  return [summary, rounds];
}

function figureCells(f: Figures): string[] {
  return [formatOpsPerSecond(f.messagesPerS), f.megabytesPerS.toFixed(2), formatLatencyMs(f.latency?.p50Ms), formatLatencyMs(f.latency?.p99Ms), String(f.errorsCount), `${Math.round(f.serverCpuPercent)}/${Math.round(f.clientCpuPercent)}`];
}

/** "200 B", "1 KiB", "1500 B". */
export function formatSize(sizeBytes: number): string {
  return sizeBytes >= 1024 && sizeBytes % 1024 === 0 ? `${sizeBytes / 1024} KiB` : `${sizeBytes} B`;
}

/** Runs the bench, printing a line per round and system; always stops every process it started. */
export async function runProduceVersus(options: ProduceOptions, print: (line: string) => void): Promise<ProduceVersusResult> {
  ensureInstalled("nats", () => natsServerVersion() !== undefined, print);
  const serverVersion = natsServerVersion() ?? "unknown";
  const versions = { yakt: "this tree", node: process.version, nats: `${referenceVersion("nats")} (${serverVersion})` };
  const startedAt = new Date().toISOString();
  const machine = describeMachine();
  const loadBefore = loadavg();
  print(
    `produce: YAKt vs NATS JetStream (${versions.nats}), 3 nodes each on 127.0.0.1; acks=all / R=${replicationFactor}; ${partitionsCount} partitions / streams; ` +
      `${options.producersCount} producer(s) × ${options.inFlightCount} in flight (JetStream: ${options.natsPublishMode} publish); linger ${options.lingerMs} ms (YAKt); ${options.roundsCount} round(s) of ${options.messagesCount} messages per size and system`,
  );
  print(`machine: ${formatMachine(machine)}; load average before: ${formatLoad(loadBefore)}`);
  let sync: NatsSync = "default";
  const sizes = await withDataPlaneCluster("yakt-bench-produce-vs-nats", async (cluster) => {
    const dir = await mkdtemp(join(tmpdir(), "yakt-bench-nats-"));
    let nats: NatsCluster | undefined;
    try {
      nats = await NatsCluster.start(dir);
      sync = nats.sync;
      print(`JetStream: ${describeSync(sync, serverVersion)}; YAKt fsyncs before it acknowledges`);
      const measured: VersusSize[] = [];
      for (const sizeBytes of options.sizesBytes) measured.push(await runSize(cluster, nats, sizeBytes, options, print));
      return measured;
    } catch (error) {
      if (nats !== undefined) console.error(await nats.processes.logTails());
      throw error;
    } finally {
      await nats?.stop();
      if (process.env["YAKT_E2E_KEEP"] === "1") console.error(`keeping ${dir}`);
      else await rm(dir, { recursive: true, force: true });
    }
  });
  const loadAfter = loadavg();
  const tables = versusTables(sizes, { ...options, sync: describeSync(sync, serverVersion) });
  print("");
  for (const table of tables) print(`${formatTextTable(table)}\n`);
  print(`load average before: ${formatLoad(loadBefore)}; after: ${formatLoad(loadAfter)} (1, 5, 15 min)`);
  const markdown = [`Machine: ${formatMachine(machine)}. Load average before: ${formatLoad(loadBefore)}; after: ${formatLoad(loadAfter)}. NATS: ${versions.nats}.`, "", ...tables.map((table) => `${formatMarkdownTable(table)}\n`)].join("\n");
  print(`\n${markdown}`);
  const result: ProduceVersusResult = {
    scenario: "produce",
    reference: "nats",
    startedAt,
    machine,
    loadAverage: { before: loadBefore, after: loadAfter },
    versions,
    settings: { ...produceSettings(options), roundsCount: options.roundsCount, natsPublishMode: options.natsPublishMode, partitionsCount, replicationFactor, warmUpMessagesCount },
    referenceSync: sync,
    sizes,
    tables,
  };
  if (options.markdownFile !== undefined) {
    await writeFile(options.markdownFile, markdown);
    print(`markdown written to ${options.markdownFile}`);
  }
  if (options.jsonFile !== undefined) await writeJsonResult(options.jsonFile, result, print);
  return result;
}

async function runSize(cluster: DataPlaneCluster, nats: NatsCluster, sizeBytes: number, options: ProduceOptions, print: (line: string) => void): Promise<VersusSize> {
  const topic = `produce-${sizeBytes}`;
  await cluster.createTopic(topic);
  const streams = natsStreamsOf(topic, partitionsCount);
  const leaders = await createNatsStreams(nats, streams, replicationFactor);
  print(`${formatSize(sizeBytes)}: topic ${topic} (${partitionsCount} partitions, RF ${replicationFactor}); streams ${leaders.join(", ")}`);
  const yaktSamples: RoundSample[] = [];
  const referenceSamples: RoundSample[] = [];
  const rounds: VersusRound[] = [];
  for (let round = 1; round <= options.roundsCount; round++) {
    const yaktSample = await sample(
      () => cluster.pids(),
      async (onTimedStart) => {
        const run = await produceMessages({ ...options, controllers: cluster.controllerUrls(), topic, sizeBytes, warmUpMessagesCount, onTimedStart });
        return { ...run, errorsCount: 0 };
      },
      options.messagesCount,
    );
    const yakt = figuresOf(sizeBytes, [yaktSample]);
    print(`  ${formatSize(sizeBytes)} round ${round}/${options.roundsCount} YAKt:      ${formatFigures(yakt)}`);
    const referenceSample = await sample(
      () => nats.processes.pids(),
      async (onTimedStart) => {
        const run = await publishToNats(nats, { ...options, publishMode: options.natsPublishMode, streams, sizeBytes, warmUpMessagesCount, onTimedStart });
        if (run.firstError !== undefined) print(`    ${referenceLabel}: ${run.errorsCount} publishes failed; the first: ${run.firstError}`);
        return run;
      },
      options.messagesCount,
    );
    const reference = figuresOf(sizeBytes, [referenceSample]);
    print(`  ${formatSize(sizeBytes)} round ${round}/${options.roundsCount} ${referenceLabel}: ${formatFigures(reference)}  (ratio ${formatRatio(yakt.messagesPerS, reference.messagesPerS)})`);
    if (reference.messagesCount === 0) throw new Error(`${referenceLabel} acknowledged no message of round ${round}`);
    yaktSamples.push(yaktSample);
    referenceSamples.push(referenceSample);
    rounds.push({ round, yakt, reference });
  }
  return { sizeBytes, rounds, yakt: figuresOf(sizeBytes, yaktSamples), reference: figuresOf(sizeBytes, referenceSamples) };
}

/** Runs `run`, measuring the servers' and this process's CPU time from the clock's start to the end. */
async function sample(pids: () => number[], run: (onTimedStart: () => void) => Promise<{ readonly elapsedMs: number; readonly latenciesMs: Float64Array; readonly errorsCount: number }>, messagesCount: number): Promise<RoundSample> {
  let serverCpuAtStartMs = 0;
  let clientCpuAtStart = process.cpuUsage();
  const result = await run(() => {
    serverCpuAtStartMs = cpuTimeMs(pids());
    clientCpuAtStart = process.cpuUsage();
  });
  const client = process.cpuUsage(clientCpuAtStart);
  return {
    messagesCount: messagesCount - result.errorsCount,
    elapsedMs: result.elapsedMs,
    latenciesMs: result.latenciesMs,
    errorsCount: result.errorsCount,
    serverCpuMs: cpuTimeMs(pids()) - serverCpuAtStartMs,
    clientCpuMs: (client.user + client.system) / 1_000,
  };
}

function formatFigures(f: Figures): string {
  const latency = f.latency === undefined ? "no latency" : `p50 ${formatLatencyMs(f.latency.p50Ms)} ms, p99 ${formatLatencyMs(f.latency.p99Ms)} ms`;
  return `${formatOpsPerSecond(f.messagesPerS)} msg/s, ${f.megabytesPerS.toFixed(2)} MB/s; ${latency}; errors ${f.errorsCount}; CPU servers ${Math.round(f.serverCpuPercent)} %, client ${Math.round(f.clientCpuPercent)} %`;
}
