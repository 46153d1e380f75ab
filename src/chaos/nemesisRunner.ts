// Applies a nemesis plan to a running chaos cluster: each planned fault after its quiet gap, held for its
// duration, then healed; stops (healing the fault in hand) when the run ends or is aborted.
import { setTimeout as sleep } from "node:timers/promises";
import { formatExit } from "../e2e/harness.js";
import { httpRequest } from "../e2e/http.js";
import { assert, assertNever } from "../shared/assert.js";
import type { ChaosCluster } from "./chaosCluster.js";
import { brokerHoldMs, describeBrokerFault, describeFault, emptyFaultsCount, linksToCut, linksToSlow } from "./nemesis.js";
import type { BrokerFault, BrokerNemesisKind, Fault, NemesisKind, PlannedBrokerFault, PlannedFault, Target } from "./nemesis.js";

/** A transfer waits for the target to catch up, at most an election timeout or so; generous for a loaded machine. */
const transferTimeoutMs = 10_000;
/** A controller whose disk failed stops within its forced-stop bound (10 s); this leaves room for that. */
const diskStopTimeoutMs = 15_000;
const diskStopPollMs = 50;

export interface NemesisRunOptions {
  /** Faults stop being started after this (performance.now() ms); a fault in hand is healed on time. */
  readonly untilMs: number;
  /** Aborting heals the fault in hand at once and returns. */
  readonly signal: AbortSignal;
  /** Progress lines: each fault as it starts and as it is healed. */
  readonly log: (line: string) => void;
}

export interface NemesisReport {
  readonly faultsCount: Readonly<Record<NemesisKind, number>>;
}

/** Resolves when `ms` have passed, or at once (without throwing) when `signal` aborts. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return;
  await sleep(ms, undefined, { signal }).catch(() => {});
}

/**
 * Runs `plan` against `chaos` until `untilMs` or abort. Faults never overlap. Targets named "the leader"
 * are resolved when the fault starts (a node not reporting a confirmed leader falls back to the planned
 * node). A node killed is restarted before the next fault; a restart that fails throws, with the node's
 * log in the message — that is a finding, not noise.
 */
export async function runNemesis(chaos: ChaosCluster, plan: Iterator<PlannedFault>, options: NemesisRunOptions): Promise<NemesisReport> {
  const steps = { label: "fault", hold: holdOf, describe: describeFault, apply: (fault: Fault) => applyFault(chaos, fault, options.log) };
  return { faultsCount: await runPlan(plan, emptyFaultsCount(), steps, options) };
}

interface PlanSteps<F> {
  /** Names the faults in progress lines: `<label> <n>: <description>`. */
  readonly label: string;
  readonly hold: (fault: F) => number;
  readonly describe: (fault: F) => string;
  /** Injects the fault; resolves with its heal. */
  readonly apply: (fault: F) => Promise<() => Promise<void>>;
}

/** The loop both plans share: quiet gap, fault, hold, heal; counting each fault started in `counts`. */
async function runPlan<K extends string, F extends { readonly kind: K }>(plan: Iterator<{ readonly quietMs: number; readonly fault: F }>, counts: Record<K, number>, steps: PlanSteps<F>, options: NemesisRunOptions): Promise<Record<K, number>> {
  for (let n = 1; ; n++) {
    const next = plan.next();
    if (next.done === true) break;
    const { quietMs, fault } = next.value;
    await pause(quietMs, options.signal);
    const holdMs = steps.hold(fault);
    if (options.signal.aborted || performance.now() + holdMs > options.untilMs) break;
    counts[fault.kind]++;
    options.log(`${steps.label} ${n}: ${steps.describe(fault)}`);
    const heal = await steps.apply(fault);
    await pause(holdMs, options.signal);
    await heal();
  }
  return counts;
}

function holdOf(fault: Fault): number {
  switch (fault.kind) {
    case "kill":
    case "terminate":
      return fault.downMs;
    case "disk":
      return fault.fullMs;
    case "transfer":
      return fault.settleMs;
    case "pause":
      return fault.pausedMs;
    case "partition":
    case "slow":
      return fault.durationMs;
    default:
      return assertNever(fault, "fault");
  }
}

async function resolveTargets(chaos: ChaosCluster, targets: readonly Target[]): Promise<number[]> {
  const leader = targets.some((t) => t.kind === "leader") ? await chaos.cluster.findLeader().catch(() => undefined) : undefined;
  const ids = targets.map((t) => (t.kind === "node" ? t.id : (leader?.id ?? t.fallbackId)));
  return [...new Set(ids)];
}

/** Starts `fault` and returns how to heal it. */
async function applyFault(chaos: ChaosCluster, fault: Fault, log: (line: string) => void): Promise<() => Promise<void>> {
  const nodeIds = chaos.ids();
  switch (fault.kind) {
    case "kill": {
      const ids = (await resolveTargets(chaos, fault.targets)).filter((id) => chaos.cluster.isRunning(id));
      await Promise.all(ids.map((id) => chaos.cluster.kill(id)));
      log(`  killed node ${ids.join(", ")}`);
      return async () => {
        const started = await Promise.all(ids.map((id) => chaos.startNode(id)));
        log(`  restarted node ${ids.join(", ")}${started.includes("slow") ? " (slow to answer /healthz, still starting)" : ""}`);
      };
    }
    case "terminate": {
      const ids = (await resolveTargets(chaos, fault.targets)).filter((id) => chaos.cluster.isRunning(id) && !chaos.isPaused(id));
      const exits = await Promise.all(ids.map((id) => chaos.cluster.terminate(id)));
      log(`  stopped node ${ids.map((id, i) => `${id} (${formatExit(exits[i] ?? { code: null, signal: null })})`).join(", ")}`);
      // A controller stops cleanly on SIGTERM (SPEC §7); any other exit is a finding.
      const unclean = ids.filter((_, i) => exits[i]?.code !== 0);
      return async () => {
        const started = await Promise.all(ids.map((id) => chaos.startNode(id)));
        log(`  restarted node ${ids.join(", ")}${started.includes("slow") ? " (slow to answer /healthz, still starting)" : ""}`);
        if (unclean.length > 0) throw new Error(`node ${unclean.join(", ")} did not exit 0 after SIGTERM (see its log)`);
      };
    }
    case "disk":
      return fillDisk(chaos, fault, log);
    case "transfer": {
      const answer = await httpRequest(`${chaos.cluster.apiUrl(fault.viaId)}/v1/cluster/transfer-leadership`, { method: "POST", body: fault.targetId === undefined ? {} : { targetId: fault.targetId }, timeoutMs: transferTimeoutMs });
      log(`  ${answer.kind === "response" ? `answered ${answer.status} ${JSON.stringify(answer.body)}` : answer.message}`);
      return () => Promise.resolve();
    }
    case "pause": {
      const ids = (await resolveTargets(chaos, fault.targets)).filter((id) => chaos.cluster.isRunning(id));
      for (const id of ids) chaos.pause(id);
      log(`  paused node ${ids.join(", ")}`);
      return async () => {
        for (const id of ids) chaos.resume(id);
        log(`  resumed node ${ids.join(", ")}`);
      };
    }
    case "partition": {
      const targets = fault.shape.kind === "split" ? [] : [fault.shape.node];
      const [resolved] = await resolveTargets(chaos, targets);
      const links = linksToCut(fault.shape, nodeIds, () => resolved ?? nodeIds[0] ?? 1);
      chaos.cut(links, fault.mode);
      log(`  cut ${links.map((l) => `${l.from}→${l.to}`).join(" ")}`);
      return async () => {
        for (const link of links) chaos.proxy(link.from, link.to).heal();
        log("  healed the partition");
      };
    }
    case "slow": {
      const targets = fault.scope.kind === "all" ? [] : [fault.scope.node];
      const [resolved] = await resolveTargets(chaos, targets);
      const links = linksToSlow(fault.scope, nodeIds, () => resolved ?? nodeIds[0] ?? 1);
      chaos.setLatency(links, fault.latencyMs);
      log(`  ${fault.latencyMs} ms on ${links.map((l) => `${l.from}→${l.to}`).join(" ")}`);
      return async () => {
        chaos.setLatency(links, 0);
        log("  latency removed");
      };
    }
    default:
      return assertNever(fault, "fault");
  }
}

/**
 * Fills the target's disk; the heal frees it, waits for a node that failed meanwhile to finish stopping,
 * and restarts it. A controller that cannot write must stop with exit code 1 and a line naming ENOSPC:
 * any other exit is a finding. One still running and silent wrote nothing while the disk was full.
 */
async function fillDisk(chaos: ChaosCluster, fault: Extract<Fault, { kind: "disk" }>, log: (line: string) => void): Promise<() => Promise<void>> {
  const [id] = await resolveTargets(chaos, [fault.target]);
  assert(id !== undefined, "a disk fault has a target");
  // A node already down (a start that failed earlier) is only restarted at the heal, not judged.
  const wasRunning = chaos.cluster.isRunning(id);
  const filled = await chaos.fillDisk(id);
  log(`  filled node ${id}'s disk: ${(filled.ballastBytes / 2 ** 20).toFixed(1)} MiB of ballast, ${filled.freeBytes} bytes free`);
  return async () => {
    await chaos.freeDisk(id);
    const failed = await chaos.loggedDiskFull(id);
    for (let waitedMs = 0; failed && chaos.cluster.isRunning(id) && waitedMs < diskStopTimeoutMs; waitedMs += diskStopPollMs) await sleep(diskStopPollMs);
    if (chaos.cluster.isRunning(id)) {
      if (failed) throw new Error(`node ${id} logged ENOSPC but did not stop within ${diskStopTimeoutMs} ms`);
      log(`  freed node ${id}'s disk; it kept running (it wrote nothing while the disk was full)`);
      return;
    }
    const exit = chaos.cluster.lastExit(id) ?? { code: null, signal: null };
    const started = await chaos.startNode(id);
    log(`  freed node ${id}'s disk; it had stopped (${formatExit(exit)}${failed ? ", ENOSPC logged" : ""}), restarted${started === "slow" ? " (slow to answer /healthz, still starting)" : ""}`);
    if (wasRunning && (exit.code !== 1 || !failed)) throw new Error(`node ${id} stopped while its disk was full with ${formatExit(exit)}${failed ? "" : " and no ENOSPC logged"}, not exit code 1 naming ENOSPC (see its log)`);
  };
}

// ---------------------------------------------------------------- brokers

export interface BrokerNemesisReport {
  readonly faultsCount: Readonly<Record<BrokerNemesisKind, number>>;
}

/**
 * Runs a plan of broker faults beside the controllers' (same rules: one fault at a time, each healed
 * after its hold, none started that would outlast `untilMs`). A killed broker is restarted at its heal;
 * a restart that fails throws, with the broker's log.
 */
export async function runBrokerNemesis(chaos: ChaosCluster, plan: Iterator<PlannedBrokerFault>, options: NemesisRunOptions): Promise<BrokerNemesisReport> {
  const counts: Record<BrokerNemesisKind, number> = { "broker-kill": 0, "broker-pause": 0, "broker-partition": 0 };
  const steps = { label: "broker fault", hold: brokerHoldMs, describe: describeBrokerFault, apply: (fault: BrokerFault) => applyBrokerFault(chaos, fault, options.log) };
  return { faultsCount: await runPlan(plan, counts, steps, options) };
}

async function applyBrokerFault(chaos: ChaosCluster, fault: BrokerFault, log: (line: string) => void): Promise<() => Promise<void>> {
  const brokers = chaos.brokers;
  const id = fault.brokerId;
  if (!brokers.isRunning(id)) {
    log(`  broker ${id} is not running; nothing to do`);
    return () => Promise.resolve();
  }
  switch (fault.kind) {
    case "broker-kill":
      await brokers.kill(id);
      log(`  killed broker ${id}`);
      return async () => {
        await brokers.startBroker(id);
        log(`  restarted broker ${id}`);
      };
    case "broker-pause":
      chaos.pauseBroker(id);
      log(`  paused broker ${id}`);
      return async () => {
        chaos.resumeBroker(id);
        log(`  resumed broker ${id}`);
      };
    case "broker-partition": {
      const links = chaos.brokerLinks(id);
      for (const proxy of links) proxy.cut(fault.mode);
      log(`  cut ${links.length} links of broker ${id}`);
      return async () => {
        for (const proxy of links) proxy.heal();
        log(`  healed the links of broker ${id}`);
      };
    }
    default:
      return assertNever(fault, "broker fault");
  }
}
