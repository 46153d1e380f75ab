// The failover bench: how long after kill -9 of the leader until a write (a topic creation) succeeds again.
import { writeFile } from "node:fs/promises";
import { Cluster } from "../e2e/harness.js";
import type { Leader } from "../e2e/harness.js";
import { httpRequest } from "../e2e/http.js";
import { createTopic, MetadataWriter } from "../e2e/metadataClient.js";
import { waitFor } from "../e2e/waitFor.js";
import { assert } from "../shared/assert.js";
import { describeMachine, formatMachine } from "./machine.js";
import type { Machine } from "./machine.js";
import { parseBenchArgs } from "./flags.js";
import type { ParsedArgs } from "./flags.js";
import { summarize } from "./stats.js";
import type { LatencySummary } from "./stats.js";

export interface FailoverOptions {
  readonly trialsCount: number;
  /** Election flags passed to every controller; their defaults when undefined. */
  readonly tickMs: number | undefined;
  readonly electionTicks: number | undefined;
  readonly heartbeatTicks: number | undefined;
  /** Where to write the result as JSON, if anywhere. */
  readonly jsonFile: string | undefined;
}

export type ParsedFailoverArgs = ParsedArgs<FailoverOptions>;

const nodesCount = 3;
const trialsCountDefault = 20;
const trialsCountMax = 1_000;
const tickMsMax = 1_000;
const ticksMax = 10_000;

/** A failover request must fail fast so the writer moves on to the next node. */
const requestTimeoutMs = 300;
/** Pause between rounds over the surviving nodes. */
const roundPauseMs = 5;
/** A trial in which no write succeeds for this long fails the bench. */
const writeTimeoutMs = 30_000;
const leaderTimeoutMs = 30_000;
const catchUpTimeoutMs = 60_000;
/** Every node must agree on the same leader and term this long before the next kill. */
const stableMs = 1_000;
const stableTimeoutMs = 30_000;
/** Writes before the first trial, so that it does not measure a cold cluster. */
const warmUpWritesCount = 20;

export const failoverUsage = `Usage: npm run bench -- failover [--trials N] [--tick-ms N] [--election-ticks N] [--heartbeat-ticks N] [--json FILE]

Starts ${nodesCount} controllers on 127.0.0.1 (data in a temp dir), then for each trial: kills the leader with
SIGKILL and measures the time from the kill to the first 201 answer to a topic creation (POST /v1/topics
with an Idempotency-Key), which a writer keeps sending to the surviving nodes (following leader hints,
${roundPauseMs} ms between rounds, ${requestTimeoutMs} ms per request);
then restarts the killed node, waits until it has caught up and the cluster has been stable for ${stableMs} ms.

  --trials N           trials, 1 to ${trialsCountMax} (default ${trialsCountDefault}; use at least 10 for a meaningful p99)
  --tick-ms N          controllers' --tick-ms (default: the controller's)
  --election-ticks N   controllers' --election-ticks (default: the controller's)
  --heartbeat-ticks N  controllers' --heartbeat-ticks (default: the controller's)
  --json FILE          also write the result as JSON to FILE
  -h, --help           print this help

Set YAKT_E2E_KEEP=1 to keep the temp dir with the controllers' logs.`;

export function parseFailoverArgs(argv: readonly string[]): ParsedFailoverArgs {
  return parseBenchArgs("failover", argv, ["--trials", "--tick-ms", "--election-ticks", "--heartbeat-ticks", "--json"], (values) => ({
    trialsCount: values.integer("--trials", 1, trialsCountMax, trialsCountDefault),
    tickMs: values.optionalInteger("--tick-ms", 1, tickMsMax),
    electionTicks: values.optionalInteger("--election-ticks", 1, ticksMax),
    heartbeatTicks: values.optionalInteger("--heartbeat-ticks", 1, ticksMax),
    jsonFile: values.text("--json"),
  }));
}

export interface FailoverTrial {
  readonly trial: number;
  /** From sending SIGKILL to the leader to the first 201 answer to a topic creation. */
  readonly failoverMs: number;
  readonly killedId: number;
  readonly killedTerm: number;
  /** The node that answered 201 (itself the leader, or a follower that forwarded the write to it). */
  readonly writtenById: number;
  /** Requests sent before the 201, the successful one included. */
  readonly attemptsCount: number;
}

export interface FailoverResult {
  readonly scenario: "failover";
  readonly startedAt: string;
  readonly nodesCount: number;
  readonly machine: Machine;
  /** As the controllers report them in /v1/cluster. */
  readonly election: { readonly tickIntervalMs: number; readonly heartbeatIntervalMs: number; readonly electionTimeoutMs: number };
  readonly writer: { readonly requestTimeoutMs: number; readonly roundPauseMs: number };
  readonly trials: readonly FailoverTrial[];
  readonly summary: LatencySummary;
}

/** Runs the bench, printing each trial as it ends; always stops every controller it started. */
export async function runFailover(options: FailoverOptions, print: (line: string) => void): Promise<FailoverResult> {
  const startedAt = new Date().toISOString();
  const machine = describeMachine();
  const cluster = await Cluster.start({
    nodesCount,
    name: "yakt-bench-failover",
    ...(options.tickMs === undefined ? {} : { tickMs: options.tickMs }),
    ...(options.electionTicks === undefined ? {} : { electionTicks: options.electionTicks }),
    ...(options.heartbeatTicks === undefined ? {} : { heartbeatTicks: options.heartbeatTicks }),
  });
  // Ctrl-C or a kill of the bench must not leave controllers behind.
  const onSignal = (): void => {
    void cluster.close().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const leader = await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs });
    const leaderStatus = leader.statuses.get(leader.id);
    assert(leaderStatus !== undefined, "a leader reports its own status");
    const election = leaderStatus.election;
    print(`failover: ${nodesCount} controllers, ${options.trialsCount} trials; election: tick ${election.tickIntervalMs} ms, heartbeat ${election.heartbeatIntervalMs} ms, election timeout ${election.electionTimeoutMs} ms`);
    print(`machine: ${formatMachine(machine)}`);
    await warmUp(cluster);

    const trials: FailoverTrial[] = [];
    for (let trial = 1; trial <= options.trialsCount; trial++) {
      const result = await runTrial(cluster, trial);
      trials.push(result);
      print(`trial ${String(trial).padStart(3)}: ${formatMs(result.failoverMs)}  (killed leader ${result.killedId} of term ${result.killedTerm}; node ${result.writtenById} took the write after ${result.attemptsCount} attempts)`);
    }
    const summary = summarize(trials.map((t) => t.failoverMs));
    print(`failover: min ${formatMs(summary.minMs)}  p50 ${formatMs(summary.p50Ms)}  p99 ${formatMs(summary.p99Ms)}  max ${formatMs(summary.maxMs)}  (${summary.count} trials, nearest-rank percentiles)`);
    const result: FailoverResult = { scenario: "failover", startedAt, nodesCount, machine, election, writer: { requestTimeoutMs, roundPauseMs }, trials, summary };
    if (options.jsonFile !== undefined) {
      await writeFile(options.jsonFile, `${JSON.stringify(result, null, 2)}\n`);
      print(`result written to ${options.jsonFile}`);
    }
    return result;
  } catch (error) {
    console.error(await cluster.logTails());
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cluster.close();
  }
}

async function warmUp(cluster: Cluster): Promise<void> {
  const writer = new MetadataWriter("warm-up", cluster.writerOptions());
  for (let i = 0; i < warmUpWritesCount; i++) {
    const record = await createTopic(writer);
    assert(record.outcome === "acknowledged", `warm-up write ${i} was not acknowledged: ${record.outcome} ${String(record.lastFailure)}`);
  }
}

async function runTrial(cluster: Cluster, trial: number): Promise<FailoverTrial> {
  const leader = await waitForStableLeader(cluster);
  const survivors = cluster.runningIds().filter((id) => id !== leader.id);
  // One writer per trial, named after it: its single write is topic failover-<trial>-1.
  const writer = new MetadataWriter(`failover-${trial}`, { apiUrl: (id) => cluster.apiUrl(id), targets: () => survivors, requestTimeoutMs, roundPauseMs, writeTimeoutMs });
  // Open the writer's connections now, so that the measure holds no TCP set-up.
  await Promise.all(survivors.map((id) => httpRequest(`${cluster.apiUrl(id)}/healthz`, { timeoutMs: 1_000 })));

  const killedAtMs = performance.now();
  const killed = cluster.kill(leader.id);
  const record = await createTopic(writer);
  const failoverMs = performance.now() - killedAtMs;
  await killed;
  if (record.outcome !== "acknowledged" || record.nodeId === undefined) {
    throw new Error(`Cannot finish trial ${trial} as no surviving node took a write within ${writeTimeoutMs} ms: ${String(record.lastFailure)}`);
  }

  await cluster.restart(leader.id);
  await cluster.waitForCaughtUp(leader.id, { timeoutMs: catchUpTimeoutMs });
  return { trial, failoverMs, killedId: leader.id, killedTerm: leader.term, writtenById: record.nodeId, attemptsCount: record.attemptsCount };
}

/** Waits until every node is up and has reported the same leader and term for `stableMs`. */
async function waitForStableLeader(cluster: Cluster): Promise<Leader> {
  let stable: { readonly id: number; readonly term: number; readonly sinceMs: number } | undefined;
  return waitFor(
    () => `every node to agree on one leader for ${stableMs} ms (${stable === undefined ? "no agreement" : `leader ${stable.id} of term ${stable.term}`} at the end)`,
    async () => {
      const leader = await cluster.findLeader();
      const agreed = leader !== undefined && leader.statuses.size === cluster.nodesCount && [...leader.statuses.values()].every((s) => s.leaderId === leader.id && s.term === leader.term);
      if (!agreed) {
        stable = undefined;
        return undefined;
      }
      if (stable === undefined || stable.id !== leader.id || stable.term !== leader.term) {
        stable = { id: leader.id, term: leader.term, sinceMs: performance.now() };
        return undefined;
      }
      return performance.now() - stable.sinceMs >= stableMs ? leader : undefined;
    },
    { timeoutMs: stableTimeoutMs, intervalMs: 50 },
  );
}

function formatMs(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}
