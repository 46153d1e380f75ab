// One chaos run: a cluster of controllers and brokers behind fault proxies, metadata clients and producers
// recording a history while two nemeses (controllers, brokers) inject faults, then heal, convergence,
// final reads, reading every message back, and the checks. Returns a report; never leaves a process
// running (every controller and broker is stopped by the pid it was started with, also on failure and abort).
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { AdminClient } from "../client/adminClient.js";
import { waitForSameMetadata } from "../e2e/metadataClient.js";
import { probeSmallDisk, SmallDiskUnavailableError } from "../e2e/smallDisk.js";
import { createPrng } from "../shared/prng.js";
import type { ChaosArgs } from "./args.js";
import { ChaosCluster } from "./chaosCluster.js";
import { offsetsTopicName } from "../broker/groupCoordinator.js";
import { keyOf, RegisterWorkload } from "./clients.js";
import { checkDataPlane, dataPlaneProblems } from "./dataPlaneCheck.js";
import type { ConsumedMessage, DataPlaneVerdict } from "./dataPlaneCheck.js";
import { chaosTopic, createChaosTopic, DataPlaneWorkload, readBack, waitForSettledBrokers } from "./dataPlaneWorkload.js";
import { checkGroup, groupProblems } from "./groupCheck.js";
import type { GroupVerdict } from "./groupCheck.js";
import { chaosGroup, drainGroup, GroupWorkload, readCommittedOffsets } from "./groupWorkload.js";
import { judgeHistory } from "./judge.js";
import type { Verdict } from "./judge.js";
import { brokerNemesisKinds, emptyFaultsCount, planBrokerFaults, planFaults } from "./nemesis.js";
import type { BrokerNemesisKind, NemesisKind } from "./nemesis.js";
import { runBrokerNemesis, runNemesis } from "./nemesisRunner.js";

/** Generous bounds for a 2-core machine shared with other work. */
const leaderTimeoutMs = 60_000;
const registerTimeoutMs = 30_000;
const convergenceTimeoutMs = 60_000;
const statusRequestTimeoutMs = 5_000;
const finalReadTimeoutMs = 30_000;
const progressEveryMs = 5_000;
/** Snapshots every few hundred entries, so restarted nodes recover from one and laggards catch up by one. */
const snapshotEntriesCount = 500;
/** Problems listed in a summary at most (each is one line). */
const problemsCountMax = 20;
/**
 * Each controller's disk with the disk nemesis. Never filled by a run itself, however long: a segment
 * rolls over at 64 MiB and the one before it is gone at the next snapshot, so a log dir stays well
 * under 256 MiB. tmpfs takes memory only for what is written; a fill takes it all, one node at a time.
 */
const smallDiskBytes = 256 * 1024 * 1024;
/** The data plane's brokers: ids apart from the metadata clients' registers (1 to 64). */
const dataPlaneBrokerIds = [101, 102, 103];
const topicPartitionsCount = 3;
/** acks=all goes on with one broker down (replication factor 3). */
const minInsyncReplicas = 2;
/** A follower this far behind leaves the ISR: a few fault holds' worth, so most faults shrink it. */
const replicaLagMs = 3_000;
/** Short broker sessions, so that a dead or cut-off leader broker is fenced (and its partitions move) within seconds. */
const brokerHeartbeatMs = 250;
const brokerSessionMs = 2_000;
/** A group member silent this long leaves its group: a fault held on its coordinator often costs it its membership. */
const groupSessionMs = 3_000;
/** Partitions of the offsets topic, placed by hand on the run's brokers like the chaos topic's. */
const offsetsTopicPartitionsCount = 3;
/** Separates the broker plan's stream of draws from the controllers' plan's. */
const brokerPlanSeedSalt = 0x6b43a9b5;

export type FaultKind = NemesisKind | BrokerNemesisKind;

export interface ChaosRunOptions {
  /** Progress lines, each fault as it happens; also appended to `chaos.log` in the run's dir. */
  readonly log: (line: string) => void;
  /** Aborting stops the faults and clients, heals, skips the checks and keeps the dir. */
  readonly signal: AbortSignal;
}

export interface ChaosReport {
  /** True when the history is linearizable, nothing was lost and every controller converged. */
  readonly clean: boolean;
  readonly interrupted: boolean;
  /** Metadata operations (writes and reads) plus data-plane sends. */
  readonly operationsCount: number;
  /** Lost acknowledged metadata writes plus lost acknowledged messages. */
  readonly lostCount: number;
  readonly linearizable: Verdict;
  /** Copies of messages read back past the first; 0 also when the data plane could not be read back (then a problem says so). */
  readonly duplicatesCount: number;
  readonly problems: readonly string[];
  readonly faultsCount: Readonly<Record<FaultKind, number>>;
  readonly summary: readonly string[];
  /** Where the history and the logs are, when kept. */
  readonly dir: string;
  readonly kept: boolean;
}

/**
 * Runs one chaos run. Throws `SmallDiskUnavailableError` before starting anything when `disk` was asked
 * for by name and no small disk can be mounted here; from the default set it is dropped with a line.
 */
export async function runChaos(requested: ChaosArgs, options: ChaosRunOptions): Promise<ChaosReport> {
  const startedMs = performance.now();
  const args = await withUsableNemeses(requested, options.log);
  const diskSizeBytes = args.nemeses.includes("disk") ? smallDiskBytes : undefined;
  const chaos = await ChaosCluster.start({ nodesCount: args.controllersCount, name: "yakt-chaos", snapshotEntries: snapshotEntriesCount, brokerHeartbeatMs, brokerSessionMs, ...(diskSizeBytes === undefined ? {} : { diskSizeBytes }) });
  const logFile = join(chaos.dir, "chaos.log");
  const log = (line: string): void => {
    const stamped = `[${((performance.now() - startedMs) / 1000).toFixed(1).padStart(6)} s] ${line}`;
    options.log(stamped);
    appendFileSync(logFile, `${stamped}\n`);
  };
  log(`controllers ${chaos.ids().join(", ")} started in ${chaos.dir}, each Raft link through its own proxy${chaos.hasDisks() ? `, each data dir on its own ${smallDiskBytes / 2 ** 20} MiB tmpfs` : ""}`);
  let report: ChaosReport | undefined;
  try {
    report = await runOn(chaos, args, options.signal, log);
    return report;
  } finally {
    const keep = report === undefined || !report.clean || args.keep;
    await chaos.close({ keep });
  }
}

/** `args`, without `disk` when it came from the default set and no small disk can be mounted here. */
async function withUsableNemeses(args: ChaosArgs, log: (line: string) => void): Promise<ChaosArgs> {
  if (!args.nemeses.includes("disk")) return args;
  const reason = await probeSmallDisk();
  if (reason === undefined) return args;
  if (!args.nemesesDefaulted) throw new SmallDiskUnavailableError(`${reason}; the disk nemesis needs a small tmpfs per controller (run as root on Linux), or leave disk out of --nemesis`);
  log(`the disk nemesis is left out: ${reason}`);
  return { ...args, nemeses: args.nemeses.filter((kind) => kind !== "disk") };
}

async function runOn(chaos: ChaosCluster, args: ChaosArgs, signal: AbortSignal, log: (line: string) => void): Promise<ChaosReport> {
  const cluster = chaos.cluster;
  const nodeIds = chaos.ids();
  const brokerIds = Array.from({ length: args.keysCount }, (_, i) => i + 1);
  const workload = new RegisterWorkload({ clientsCount: args.clientsCount, brokerIds, nodeIds, apiUrl: (id) => cluster.apiUrl(id), seed: args.seed });
  const controllers = nodeIds.map((id) => cluster.apiUrl(id));
  const producers = new DataPlaneWorkload({ producersCount: args.producersCount, partitionsCount: topicPartitionsCount, controllers, seed: args.seed });
  const problems: string[] = [];
  const save = (name: string, lines: readonly unknown[]): void => writeFileSync(join(chaos.dir, name), lines.map((line) => JSON.stringify(line)).join("\n") + "\n");
  const saveHistory = (): void => {
    save("history.jsonl", workload.operations);
    save("messages.jsonl", producers.sends);
  };

  const leader = await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs });
  log(`leader is node ${leader.id} (term ${leader.term}); registering brokers ${brokerIds.join(", ")} as the registers ${brokerIds.map(keyOf).join(", ")}`);
  await workload.registerAll(args.clientsCount, registerTimeoutMs);
  const brokers = await chaos.startBrokers({ brokerIds: dataPlaneBrokerIds, minInsyncReplicas, replicaLagMs, groupSessionMs });
  const admin = new AdminClient({ controllers });
  await createChaosTopic(admin, brokers, topicPartitionsCount);
  log(`brokers ${dataPlaneBrokerIds.join(", ")} started, each link to a controller or another broker through its own proxy; topic ${chaosTopic}: ${topicPartitionsCount} partitions, replication factor ${dataPlaneBrokerIds.length}, min.insync.replicas ${minInsyncReplicas}`);
  const group = args.groupConsumersCount === 0 ? undefined : new GroupWorkload({ consumersCount: args.groupConsumersCount, controllers, seed: args.seed });
  if (group !== undefined) {
    // Placed by hand, as the chaos topic is, so that the registers' never-heartbeating brokers never hold it.
    await createChaosTopic(admin, brokers, offsetsTopicPartitionsCount, offsetsTopicName);
    log(`group ${chaosGroup}: ${args.groupConsumersCount} members consuming ${chaosTopic}; ${offsetsTopicName}: ${offsetsTopicPartitionsCount} partitions, replication factor ${dataPlaneBrokerIds.length}; group session ${groupSessionMs} ms`);
  }

  workload.start();
  producers.start();
  group?.start();
  const progress = setInterval(() => log(`${describeCounts(workload)}; ${describeSends(producers)}${group === undefined ? "" : `; ${describeGroup(group)}`}`), progressEveryMs);
  const faultsCount: Record<FaultKind, number> = { ...emptyFaultsCount(), ...Object.fromEntries(brokerNemesisKinds.map((kind) => [kind, 0])) } as Record<FaultKind, number>;
  try {
    const untilMs = performance.now() + args.durationS * 1000;
    const controllerPlan = async (): Promise<void> => {
      if (args.nemeses.length === 0) return;
      const plan = planFaults(createPrng(args.seed), { nodeIds, kinds: args.nemeses });
      Object.assign(faultsCount, (await runNemesis(chaos, plan, { untilMs, signal, log })).faultsCount);
    };
    const brokerPlan = async (): Promise<void> => {
      if (args.brokerNemeses.length === 0) return;
      const plan = planBrokerFaults(createPrng((args.seed ^ brokerPlanSeedSalt) >>> 0), { brokerIds: dataPlaneBrokerIds, kinds: args.brokerNemeses });
      Object.assign(faultsCount, (await runBrokerNemesis(chaos, plan, { untilMs, signal, log })).faultsCount);
    };
    // Both plans run to the end even when one fails, so that nothing is still injecting faults while healing.
    const plans = await Promise.allSettled([controllerPlan(), brokerPlan()]);
    for (const plan of plans) if (plan.status === "rejected") throw plan.reason;
    // The nemesis stops starting faults when the next would outlast the run; clients carry on to the end.
    await sleep(Math.max(0, untilMs - performance.now()), undefined, { signal }).catch(() => {});
  } catch (error) {
    problems.push(`the nemesis failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  } finally {
    await healEverything(chaos, !signal.aborted, log).catch((error: unknown) => problems.push(`cannot heal: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`));
    await Promise.all([workload.stop(), producers.stop(), group?.stop()]);
    clearInterval(progress);
  }
  log(`clients stopped: ${describeCounts(workload)}; ${describeSends(producers)}${group === undefined ? "" : `; ${describeGroup(group)}`}`);
  for (const note of group?.fatalNotes.slice(0, problemsCountMax) ?? []) log(`group member failed for good: ${note}`);

  if (signal.aborted) {
    saveHistory();
    return finish({ args, chaos, workload, producers, problems: ["interrupted before the checks"], linearizable: "unknown", lostCount: 0, dataPlane: undefined, faultsCount, interrupted: true, extra: [] });
  }

  const extra: string[] = [];
  const converged = await checkConvergence(chaos, problems, log);
  const finalValues = await finalReads(chaos, workload, brokerIds, args.clientsCount + 1, problems);
  saveHistory();
  const readBackResult = await readEverything(admin, brokers, controllers, problems, log);
  const consumed = readBackResult?.consumed;
  if (consumed !== undefined) save("consumed.jsonl", consumed);
  if (group !== undefined) {
    save("group-handed.jsonl", group.handed);
    save("group-commits.jsonl", group.commits);
    const verdict = readBackResult === undefined ? undefined : await checkGroupAfterHealing(group, readBackResult.ends, producers, brokers, controllers, problems, log, save);
    if (verdict !== undefined) {
      problems.push(...groupProblems(verdict));
      extra.push(describeGroupVerdict(group, verdict));
    }
  }
  const unexpected = cluster.unexpectedExits();
  for (const exit of unexpected) problems.push(exit);
  const dataPlane = consumed === undefined ? undefined : checkDataPlane(producers.sends, consumed);
  if (dataPlane !== undefined) {
    problems.push(...dataPlaneProblems(dataPlane));
    extra.push(`data plane: ${consumed?.length ?? 0} messages read back from ${topicPartitionsCount} partitions; ${dataPlane.lost.length} acknowledged lost, ${dataPlane.duplicatesCount} duplicated, ${dataPlane.failedPresent.length} failed sends present, ${dataPlane.outOfOrder.length} out of order; ${dataPlane.unknownPresentCount} of ${producers.counts().unknown} sends of unknown outcome took effect`);
  }

  log(`checking ${workload.operations.length} operations for linearizability`);
  const checkStartedMs = performance.now();
  const judgement = judgeHistory(workload.operations, finalValues);
  problems.push(...judgement.problems);
  if (judgement.linearizable === "yes") extra.push(`${judgement.checked}, ${((performance.now() - checkStartedMs) / 1000).toFixed(1)} s`);
  if (converged !== undefined) extra.push(`convergence: every controller applied index ${converged} with the same topics and brokers; final reads agree on every key`);
  return finish({ args, chaos, workload, producers, problems, linearizable: judgement.linearizable, lostCount: judgement.lostCount, dataPlane, faultsCount, interrupted: false, extra });
}

/** Heals every link, resumes every paused node and broker and, unless told not to (an aborted run), restarts every killed one. */
async function healEverything(chaos: ChaosCluster, restart: boolean, log: (line: string) => void): Promise<void> {
  chaos.healNetworkAndPauses();
  const down = restart ? chaos.ids().filter((id) => !chaos.cluster.isRunning(id)) : [];
  const brokersDown = restart ? chaos.brokers.ids().filter((id) => !chaos.brokers.isRunning(id)) : [];
  await Promise.all([...down.map((id) => chaos.startNode(id)), ...brokersDown.map((id) => chaos.brokers.startBroker(id))]);
  log(`healed: every link forwards, no latency, no paused node or broker${down.length === 0 ? "" : `, restarted node ${down.join(", ")}`}${brokersDown.length === 0 ? "" : `, restarted broker ${brokersDown.join(", ")}`}`);
}

/**
 * Once the brokers have settled (every replica in its ISR, at its leader's high watermark), every
 * message of the topic from offset 0, read by a consumer. Undefined (and a problem) when they do not settle.
 */
async function readEverything(admin: AdminClient, brokers: ChaosCluster["brokers"], controllers: readonly string[], problems: string[], log: (line: string) => void): Promise<{ consumed: ConsumedMessage[]; ends: number[] } | undefined> {
  try {
    const ends = await waitForSettledBrokers(admin, brokers, topicPartitionsCount);
    log(`brokers settled: every replica in its ISR at the high watermark, ${ends.join(", ")} messages in partitions ${ends.map((_, i) => i).join(", ")}`);
    const consumed = await readBack(controllers, ends);
    log(`read back ${consumed.length} messages`);
    return { consumed, ends };
  } catch (error) {
    problems.push(`data plane not read back: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
    log(await brokers.logTails());
    return undefined;
  }
}

/**
 * After healing and settling: the group's committed offsets from its coordinator, then a fresh member
 * draining the topic from them (kept in `group-drained.jsonl`), and the group's checks. Undefined (and
 * a problem) when the offsets cannot be read or the topic not drained.
 */
async function checkGroupAfterHealing(group: GroupWorkload, ends: readonly number[], producers: DataPlaneWorkload, brokers: ChaosCluster["brokers"], controllers: readonly string[], problems: string[], log: (line: string) => void, save: (name: string, lines: readonly unknown[]) => void): Promise<GroupVerdict | undefined> {
  try {
    const finalCommitted = await readCommittedOffsets(brokers.ids().map((id) => `http://127.0.0.1:${brokers.port(id)}`), chaosGroup, chaosTopic);
    log(`group ${chaosGroup} committed ${ends.map((_, p) => finalCommitted.get(p) ?? "none").join(", ")} in partitions ${ends.map((_, p) => p).join(", ")}; a fresh member drains from there`);
    const drained = await drainGroup(controllers, ends, finalCommitted);
    save("group-drained.jsonl", drained);
    log(`the fresh member was handed ${drained.length} records`);
    return checkGroup({ sends: producers.sends, handed: group.handed, commits: group.commits, finalCommitted, ends, drained });
  } catch (error) {
    problems.push(`group not checked: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
    return undefined;
  }
}

function describeGroup(group: GroupWorkload): string {
  const c = group.counts();
  return `group handed ${c.handed}, commits ok ${c.commits.ok} fail ${c.commits.fail} unknown ${c.commits.unknown}, ${c.generations} generations`;
}

function describeGroupVerdict(group: GroupWorkload, verdict: GroupVerdict): string {
  const c = group.counts();
  return `group: ${verdict.handedCount} records handed out (${verdict.duplicatesHandedCount} again after a rebalance or restart), the fresh member's drain included; commits ok ${c.commits.ok}, fail ${c.commits.fail}, unknown ${c.commits.unknown}; ${c.assignments} assignments over ${c.generations} generation numbers, ${c.restarts} restarts, ${c.fatal} members failed for good; ${verdict.skipped.length} commits past an unhanded message, ${verdict.backwards.length} going backwards, ${verdict.notSurvived.length + verdict.wrongStart.length} offsets not surviving, ${verdict.lostToGroup.length} acknowledged messages never handed out`;
}

/** Waits for a leader and for every controller to apply the same index with the same metadata. */
async function checkConvergence(chaos: ChaosCluster, problems: string[], log: (line: string) => void): Promise<number | undefined> {
  try {
    const leader = await chaos.cluster.waitForLeader({ timeoutMs: leaderTimeoutMs });
    const same = await waitForSameMetadata(chaos.cluster, { timeoutMs: convergenceTimeoutMs, requestTimeoutMs: statusRequestTimeoutMs, ids: chaos.ids() });
    log(`converged: leader node ${leader.id}, every controller at applied index ${same.appliedIndex}`);
    return same.appliedIndex;
  } catch (error) {
    problems.push(`no convergence: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

/**
 * A linearizable read of every key through every controller, recorded in the history (client ids from
 * `firstClientId`, one per controller). Returns each key's value when every controller saw the same.
 */
async function finalReads(chaos: ChaosCluster, workload: RegisterWorkload, brokerIds: readonly number[], firstClientId: number, problems: string[]): Promise<Map<string, string | null>> {
  const nodeIds = chaos.ids();
  const seen = new Map<string, Map<number, string | null>>();
  await Promise.all(
    nodeIds.map(async (nodeId, i) => {
      for (const brokerId of brokerIds) {
        try {
          const op = await workload.finalRead(firstClientId + i, nodeId, brokerId, finalReadTimeoutMs);
          const values = seen.get(op.input.key) ?? new Map<number, string | null>();
          values.set(nodeId, op.output?.value ?? null);
          seen.set(op.input.key, values);
        } catch (error) {
          problems.push(`final read: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }),
  );
  const finalValues = new Map<string, string | null>();
  for (const [key, values] of seen) {
    const distinct = new Set(values.values());
    if (distinct.size === 1) finalValues.set(key, [...distinct][0] ?? null);
    else problems.push(`final reads of ${key} differ between controllers: ${JSON.stringify(Object.fromEntries(values))}`);
  }
  return finalValues;
}

function describeSends(producers: DataPlaneWorkload): string {
  const { ok, fail, unknown } = producers.counts();
  return `sends ok ${ok} fail ${fail} unknown ${unknown}`;
}

function describeCounts(workload: RegisterWorkload): string {
  const { writes, reads } = workload.counts();
  return `writes ok ${writes.ok} fail ${writes.fail} unknown ${writes.unknown}; reads ok ${reads.ok} fail ${reads.fail}`;
}

interface FinishInput {
  readonly args: ChaosArgs;
  readonly chaos: ChaosCluster;
  readonly workload: RegisterWorkload;
  readonly producers: DataPlaneWorkload;
  readonly problems: readonly string[];
  readonly linearizable: Verdict;
  /** Lost metadata writes. */
  readonly lostCount: number;
  /** Undefined when the messages were not read back (interrupted, or the brokers did not settle). */
  readonly dataPlane: DataPlaneVerdict | undefined;
  readonly faultsCount: Readonly<Record<FaultKind, number>>;
  readonly interrupted: boolean;
  readonly extra: readonly string[];
}

function finish(input: FinishInput): ChaosReport {
  const { args, problems, linearizable, faultsCount, dataPlane } = input;
  const metadataCount = input.workload.operations.length;
  const sendsCount = input.producers.sends.length;
  const operationsCount = metadataCount + sendsCount;
  const lostCount = input.lostCount + (dataPlane?.lost.length ?? 0);
  const duplicatesCount = dataPlane?.duplicatesCount ?? 0;
  const clean = problems.length === 0 && linearizable === "yes" && lostCount === 0 && duplicatesCount === 0 && dataPlane !== undefined;
  const { writes, reads } = input.workload.counts();
  const sends = input.producers.counts();
  const allNemeses = [...args.nemeses, ...args.brokerNemeses];
  const summary = [
    `seed ${args.seed}, ${args.durationS} s, ${args.controllersCount} controllers, ${args.clientsCount} clients, ${args.keysCount} keys, ${dataPlaneBrokerIds.length} brokers, ${args.producersCount} producers, ${args.groupConsumersCount} group members, nemesis ${allNemeses.length === 0 ? "none" : allNemeses.join(",")}`,
    `faults: ${Object.entries(faultsCount).map(([kind, count]) => `${kind} ${count}`).join(", ")}`,
    `operations: ${operationsCount} = ${metadataCount} metadata (writes ok ${writes.ok}, fail ${writes.fail}, unknown ${writes.unknown}; reads ok ${reads.ok}, fail ${reads.fail}; the final reads included) + ${sendsCount} sends (ok ${sends.ok}, fail ${sends.fail}, unknown ${sends.unknown})`,
    ...input.extra,
    ...problems.slice(0, problemsCountMax).map((p) => `problem: ${p}`),
    `lost = ${input.lostCount} metadata writes + ${dataPlane?.lost.length ?? 0} acknowledged messages; duplicates = copies of messages read back past the first${dataPlane === undefined ? " (not measured: the messages were not read back)" : ""}`,
  ];
  return { clean, interrupted: input.interrupted, operationsCount, lostCount, linearizable, duplicatesCount, problems, faultsCount, summary, dir: input.chaos.dir, kept: !clean || args.keep };
}
