// The comparison benches `writes` and `reads`: YAKt's metadata quorum against etcd or ZooKeeper, side by
// side in one run on one machine, each point measured on YAKt then on the reference.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { runClosedLoop } from "./closedLoop.js";
import type { CompareOptions, ReferenceName } from "./compareArgs.js";
import { formatMarkdownTable, formatTextTable, pointsTable } from "./compareTable.js";
import type { Measurement, PointResult, Table } from "./compareTable.js";
import { describeMachine, formatMachine } from "./machine.js";
import type { Machine } from "./machine.js";
import { etcdCommand } from "./reference/etcd.js";
import { ensureInstalled, formatLoad, referenceVersion } from "./reference/install.js";
import { zookeeperJars } from "./reference/zookeeper.js";
import { cpuTimeMs } from "./serverCpu.js";
import { EtcdSystem, payloadSizeBytes, YaktSystem, ZooKeeperSystem } from "./systems.js";
import type { Consistency, Load, SystemUnderTest, Via } from "./systems.js";

/** A bound on one point's requests whatever its duration: far above what 2 cores can answer in a window. */
const operationsPerSecondMax = 1_000_000;

export interface ComparePoint {
  readonly label: string;
  readonly via: Via;
  readonly concurrency: number;
  /** Reads only. */
  readonly consistency: Consistency | undefined;
}

export interface CompareResult {
  readonly scenario: CompareOptions["scenario"];
  readonly startedAt: string;
  readonly machine: Machine;
  /** 1, 5 and 15-minute load averages: others may use this machine at the same time. */
  readonly loadAverage: { readonly before: readonly number[]; readonly after: readonly number[] };
  readonly versions: Readonly<Record<string, string>>;
  readonly settings: { readonly warmUpMs: number; readonly measureMs: number; readonly payloadSizeBytes: number };
  readonly points: readonly PointResult[];
  readonly tables: readonly Table[];
}

/** The points of a scenario, in the order they run. */
export function comparePoints(options: Pick<CompareOptions, "scenario" | "concurrencies" | "followerConcurrency">): ComparePoint[] {
  const onLeader = (consistency: Consistency | undefined): ComparePoint[] => options.concurrencies.map((concurrency) => ({ label: prefix(consistency, "leader"), via: "leader", concurrency, consistency }));
  const onFollower = (consistency: Consistency | undefined): ComparePoint[] => (options.followerConcurrency === 0 ? [] : [{ label: prefix(consistency, "follower"), via: "follower", concurrency: options.followerConcurrency, consistency }]);
  if (options.scenario === "writes") return [...onLeader(undefined), ...onFollower(undefined)];
  return (["linearizable", "stale"] as const).flatMap((consistency) => [...onLeader(consistency), ...onFollower(consistency)]);
}

function prefix(consistency: Consistency | undefined, via: Via): string {
  return consistency === undefined ? via : `${consistency}, ${via}`;
}

/** Runs the scenario, printing each measurement as it ends; always stops every process it started. */
export async function runCompare(options: CompareOptions, print: (line: string) => void): Promise<CompareResult> {
  const referenceName = options.reference;
  if (referenceName !== undefined) ensureInstalled(installedName(referenceName), () => isInstalled(referenceName), print);
  const startedAt = new Date().toISOString();
  const machine = describeMachine();
  const loadBefore = loadavg();
  const systems: SystemUnderTest[] = [];
  let yakt: YaktSystem | undefined;
  const stopAll = async (): Promise<void> => {
    const stopping = systems.map((system) => (system === yakt && options.cpuProfileDir !== undefined ? yakt.stopGracefully() : system.stop()));
    systems.length = 0;
    await Promise.all(stopping);
  };
  // Ctrl-C or a kill of the bench must not leave servers behind.
  const onSignal = (): void => {
    void stopAll().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    if (options.cpuProfileDir !== undefined) await mkdir(options.cpuProfileDir, { recursive: true });
    yakt = await YaktSystem.start(options.cpuProfileDir);
    systems.push(yakt);
    const reference = options.reference === undefined ? undefined : await startReference(options.reference);
    if (reference !== undefined) systems.push(reference);
    const versions = { yakt: "this tree", node: process.version, ...(options.reference === undefined ? {} : { [options.reference]: referenceVersion(installedName(options.reference)) }) };

    print(`${options.scenario}: YAKt${reference === undefined ? "" : ` vs ${reference.name} (${Object.values(versions).at(-1) ?? ""})`}, 3 nodes each on 127.0.0.1, fsync on; ${payloadSizeBytes}-byte records; ${options.warmUpMs} ms warm-up + ${options.measureMs} ms measured per point`);
    print(`machine: ${formatMachine(machine)}; load average before: ${formatLoad(loadBefore)}`);
    print(`YAKt's leader: ${await yakt.describeLeader()}`);
    if (options.scenario === "reads") {
      for (const system of systems) await system.prepareReads();
    }

    const points: PointResult[] = [];
    const planned = comparePoints(options);
    for (const [index, point] of planned.entries()) {
      const yaktMeasurement = await measure(yakt, reference, point, index + 1, options, print);
      const referenceMeasurement = reference === undefined ? undefined : ((await measure(reference, yakt, point, index + 1, options, print)) ?? "unsupported");
      if (yaktMeasurement === undefined) throw new Error(`YAKt offers every operation of the bench, not ${point.label}`);
      points.push({ label: point.label, concurrency: point.concurrency, yakt: yaktMeasurement, reference: referenceMeasurement });
    }

    const tables = scenarioTables(options, reference?.name, points);
    const loadAfter = loadavg();
    print("");
    for (const table of tables) print(`${formatTextTable(table)}\n`);
    print(`load average before: ${formatLoad(loadBefore)}; after: ${formatLoad(loadAfter)} (1, 5, 15 min)`);
    const markdown = [`Machine: ${formatMachine(machine)}. Load average before: ${formatLoad(loadBefore)}; after: ${formatLoad(loadAfter)}.`, "", ...tables.map((table) => `${formatMarkdownTable(table)}\n`)].join("\n");
    print(`\n${markdown}`);
    const result: CompareResult = {
      scenario: options.scenario,
      startedAt,
      machine,
      loadAverage: { before: loadBefore, after: loadAfter },
      versions,
      settings: { warmUpMs: options.warmUpMs, measureMs: options.measureMs, payloadSizeBytes },
      points,
      tables,
    };
    if (options.markdownFile !== undefined) {
      await writeFile(options.markdownFile, markdown);
      print(`markdown written to ${options.markdownFile}`);
    }
    if (options.jsonFile !== undefined) {
      await writeFile(options.jsonFile, `${JSON.stringify(result, null, 2)}\n`);
      print(`result written to ${options.jsonFile}`);
    }
    return result;
  } catch (error) {
    if (yakt !== undefined) console.error(await yakt.logTails());
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await stopAll();
    if (options.cpuProfileDir !== undefined) print(`YAKt's CPU profiles are in ${options.cpuProfileDir}`);
  }
}

/**
 * Runs one point on one system; undefined when the system has no such operation. `idle` is the other
 * system, which runs meanwhile without load: its CPU time shows what it takes from the measured one.
 */
async function measure(system: SystemUnderTest, idle: SystemUnderTest | undefined, point: ComparePoint, pointNumber: number, options: CompareOptions, print: (line: string) => void): Promise<Measurement | undefined> {
  const load: Load | undefined = point.consistency === undefined ? await system.writeLoad(point.via, point.concurrency, pointNumber) : await system.readLoad(point.via, point.consistency, point.concurrency);
  if (load === undefined) {
    print(`  ${system.name.padEnd(9)} ${point.label} c=${point.concurrency}: not measured (no such read)`);
    return undefined;
  }
  const pids = system.pids();
  const idlePids = idle?.pids() ?? [];
  let cpuAtStartMs = 0;
  let serverCpuMs = 0;
  let idleCpuAtStartMs = 0;
  let idleCpuMs = 0;
  try {
    const result = await runClosedLoop(load.operation, {
      concurrency: point.concurrency,
      warmUpMs: options.warmUpMs,
      measureMs: options.measureMs,
      operationsCountMax: Math.ceil(((options.warmUpMs + options.measureMs) / 1_000) * operationsPerSecondMax),
      onWindowStart: () => {
        cpuAtStartMs = cpuTimeMs(pids);
        idleCpuAtStartMs = cpuTimeMs(idlePids);
      },
      onWindowEnd: () => {
        serverCpuMs = cpuTimeMs(pids) - cpuAtStartMs;
        idleCpuMs = cpuTimeMs(idlePids) - idleCpuAtStartMs;
      },
    });
    const serverCpuPercent = result.measuredMs > 0 ? (100 * serverCpuMs) / result.measuredMs : 0;
    const idleCpuPercent = result.measuredMs > 0 ? (100 * idleCpuMs) / result.measuredMs : 0;
    const latency = result.latency;
    print(
      `  ${system.name.padEnd(9)} ${point.label} c=${point.concurrency}: ${Math.round(result.operationsPerSecond)} ops/s` +
        (latency === undefined ? "" : `  p50 ${latency.p50Ms.toFixed(2)} ms  p99 ${latency.p99Ms.toFixed(2)} ms  p99.9 ${latency.p999Ms.toFixed(2)} ms  max ${latency.maxMs.toFixed(1)} ms`) +
        `  errors ${result.errorsCount}  CPU: servers ${Math.round(serverCpuPercent)} %, client ${Math.round(result.clientCpuPercent)} %` +
        (idle === undefined ? "" : `, idle ${idle.name} ${Math.round(idleCpuPercent)} %`) +
        (result.firstError === undefined ? "" : `\n    first error: ${result.firstError}`),
    );
    if (result.operationsCount === 0) throw new Error(`${system.name} answered no request of ${point.label} c=${point.concurrency}: ${result.firstError ?? "no error either"}`);
    return { system: system.name, description: load.description, result, serverCpuPercent, idleOtherCpuPercent: idleCpuPercent };
  } finally {
    await load.close();
  }
}

function scenarioTables(options: CompareOptions, referenceName: string | undefined, points: readonly PointResult[]): Table[] {
  const what = options.scenario === "writes" ? `Metadata writes carrying a unique ${payloadSizeBytes}-byte value` : `Reads of one record`;
  const versus = referenceName === undefined ? "YAKt" : `YAKt vs ${referenceName}`;
  return [pointsTable(`${what}: ${versus} (ops/s, latency in ms; ratio = YAKt ops/s ÷ ${referenceName ?? "reference"} ops/s)`, referenceName, points)];
}

async function startReference(name: ReferenceName): Promise<SystemUnderTest> {
  switch (name) {
    case "etcd":
      return EtcdSystem.start("json");
    case "etcd-grpc":
      return EtcdSystem.start("grpc");
    case "zookeeper":
      return ZooKeeperSystem.start();
  }
}

function isInstalled(name: ReferenceName): boolean {
  switch (name) {
    case "etcd":
    case "etcd-grpc":
      return spawnSync(etcdCommand, ["--version"], { stdio: "ignore" }).status === 0;
    case "zookeeper":
      return zookeeperJars.every((jar) => existsSync(jar));
  }
}

function installedName(name: ReferenceName): "etcd" | "zookeeper" {
  return name === "zookeeper" ? "zookeeper" : "etcd";
}
