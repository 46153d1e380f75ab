// Real controller processes on loopback for end-to-end tests and benches: free ports, a temp dir;
// start, kill -9, SIGTERM and restart by node id; waits for a leader, convergence and catch-up; and
// cleanup that leaves no process behind.
import { trackChild } from "./childProcesses.js";
import type { ClusterStatus } from "../api/schemas.js";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { appendFileSync, closeSync, openSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert } from "../shared/assert.js";
import { errorCodeOf, httpExchange, httpRequest, isRecord } from "./http.js";
import type { MetadataWriterOptions } from "./metadataClient.js";
import { waitFor } from "./waitFor.js";

const host = "127.0.0.1";
const cliPath = fileURLToPath(new URL("../cli/main.js", import.meta.url));

/** A started node answers /healthz within this (a loaded 2-core machine can take seconds to start Node). */
const startTimeoutMs = 20_000;
/** A controller force-exits 10 s after SIGTERM; this leaves room for that. */
const stopTimeoutMs = 15_000;
/** A SIGKILLed process is gone within this. */
const killTimeoutMs = 10_000;
const statusRequestTimeoutMs = 1_000;
const nodesCountMax = 9;
const logTailLinesCount = 30;

export interface ClusterOptions {
  readonly nodesCount: number;
  /** Nodes to start at once; every node but the joining ones when left out. The others can be started later. */
  readonly startIds?: readonly number[];
  /**
   * Nodes that are not founding members: the others' `--peers` leave them out, and they start with
   * `--join` (and `--peers` naming the founders and themselves), to be added at runtime.
   */
  readonly joinIds?: readonly number[];
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly snapshotEntries?: number;
  readonly snapshotBytes?: number;
  /** How often brokers are told to heartbeat (`--broker-heartbeat-ms`). */
  readonly brokerHeartbeatMs?: number;
  /** A broker silent this long is fenced (`--broker-session-ms`). */
  readonly brokerSessionMs?: number;
  /** A fetch missing changes older than this gets the full image (`--delta-age-ms`). */
  readonly deltaAgeMs?: number;
  readonly clusterId?: string;
  /** pino level of the controllers (default info). */
  readonly logLevel?: string;
  /** Prefix of the temp dir's name. */
  readonly name?: string;
  /** Flags for node itself, before the script (e.g. `--cpu-prof`, which NODE_OPTIONS does not take). */
  readonly nodeArgs?: readonly string[];
  /**
   * The Raft address (`host:port`) node `fromId` dials to reach node `toId` in place of `toId`'s own, e.g.
   * a fault-injecting proxy per directed pair; each node then gets its own `--peers` list (its own entry
   * and every API port stay the real ones). Asked whenever a node starts. Unset: nodes dial each other directly.
   */
  readonly raftPeerAddress?: (fromId: number, toId: number) => string;
}

/** A leader that a majority of the voters it reports (itself included) report in the same term. */
export interface Leader {
  readonly id: number;
  readonly term: number;
  readonly statuses: ReadonlyMap<number, ClusterStatus>;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

interface RunningProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<Exit>;
}

interface NodeSlot {
  readonly id: number;
  readonly raftPort: number;
  readonly apiPort: number;
  readonly dataDir: string;
  readonly logFile: string;
  running: RunningProcess | undefined;
  lastExit: Exit | undefined;
  /** Set when the harness kills or stops the process, so that any other exit shows up as unexpected. */
  exitExpected: boolean;
}

/**
 * A cluster of controller processes on 127.0.0.1 with its data and logs under a fresh temp dir.
 * Node ids are 1..nodesCount; a restarted node keeps its ports and data dir. Each node's stdout and
 * stderr go to `<dir>/node-<id>.log` (appended across restarts). Call `close()` when done, also on
 * failure: it SIGKILLs every process still running and removes the temp dir.
 */
export class Cluster {
  private readonly slots: ReadonlyMap<number, NodeSlot>;
  private readonly unexpectedExitsList: string[] = [];
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly options: ClusterOptions,
    slots: readonly NodeSlot[],
  ) {
    this.slots = new Map(slots.map((slot) => [slot.id, slot]));
  }

  /** Creates the temp dir, picks ports and starts the nodes of `startIds` (all by default). */
  static async start(options: ClusterOptions): Promise<Cluster> {
    assert(Number.isInteger(options.nodesCount) && options.nodesCount >= 1 && options.nodesCount <= nodesCountMax, `nodesCount must be in [1, ${nodesCountMax}], got ${options.nodesCount}`);
    const dir = await mkdtemp(join(tmpdir(), `${options.name ?? "yakt-e2e"}-`));
    const ports = await freePorts(2 * options.nodesCount);
    const slots = Array.from({ length: options.nodesCount }, (_, i): NodeSlot => {
      const id = i + 1;
      const raftPort = ports[2 * i];
      const apiPort = ports[2 * i + 1];
      assert(raftPort !== undefined && apiPort !== undefined, "two ports per node");
      return { id, raftPort, apiPort, dataDir: join(dir, `node-${id}`), logFile: join(dir, `node-${id}.log`), running: undefined, lastExit: undefined, exitExpected: false };
    });
    const cluster = new Cluster(dir, options, slots);
    try {
      await Promise.all((options.startIds ?? cluster.foundingIds()).map((id) => cluster.startNode(id)));
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  get nodesCount(): number {
    return this.slots.size;
  }

  /** Every configured node id, ascending. */
  ids(): number[] {
    return [...this.slots.keys()];
  }

  /** The nodes of the initial cluster: every node but the joining ones. */
  foundingIds(): number[] {
    return this.ids().filter((id) => !this.isJoining(id));
  }

  isJoining(id: number): boolean {
    return this.options.joinIds?.includes(id) === true;
  }

  runningIds(): number[] {
    return [...this.slots.values()].filter((slot) => slot.running !== undefined).map((slot) => slot.id);
  }

  isRunning(id: number): boolean {
    return this.slot(id).running !== undefined;
  }

  apiUrl(id: number): string {
    return `http://${host}:${this.slot(id).apiPort}`;
  }

  /** `127.0.0.1:<port>` of the node's Raft transport, as `--raft` and the membership API take it. */
  raftAddress(id: number): string {
    return `${host}:${this.slot(id).raftPort}`;
  }

  /** `127.0.0.1:<port>` of the node's HTTP API. */
  apiAddress(id: number): string {
    return `${host}:${this.slot(id).apiPort}`;
  }

  dataDir(id: number): string {
    return this.slot(id).dataDir;
  }

  logFile(id: number): string {
    return this.slot(id).logFile;
  }

  pid(id: number): number | undefined {
    return this.slot(id).running?.pid;
  }

  /** How the node's last process ended, if one has ended. */
  lastExit(id: number): Exit | undefined {
    return this.slot(id).lastExit;
  }

  /** Exits the harness did not cause (a crash, a fatal disk error), described; empty when none. */
  unexpectedExits(): readonly string[] {
    return this.unexpectedExitsList;
  }

  /** Starts the node's process and waits until its API answers /healthz; fails (with its log) if it exits first. */
  async startNode(id: number): Promise<void> {
    assert(!this.closed, "the cluster is closed");
    const slot = this.slot(id);
    assert(slot.running === undefined, `node ${id} is already running (pid ${String(slot.running?.pid)})`);
    const running = await this.spawnNode(slot);
    let exit: Exit | undefined;
    void running.exited.then((e) => (exit = e));
    let started: { readonly exit: Exit | undefined };
    try {
      started = await waitFor(
        `node ${id} to answer /healthz`,
        async () => {
          if (exit !== undefined) return { exit };
          const result = await httpRequest(`${this.apiUrl(id)}/healthz`, { timeoutMs: statusRequestTimeoutMs });
          return result.kind === "response" && result.status === 200 ? { exit: undefined } : undefined;
        },
        { timeoutMs: startTimeoutMs, intervalMs: 20 },
      );
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${await this.logTail(id)}`);
    }
    if (started.exit !== undefined) throw new Error(`Cannot start node ${id} as it exited during start: ${formatExit(started.exit)}\n${await this.logTail(id)}`);
  }

  /** Same as `startNode`: same ports, same data dir. */
  restart(id: number): Promise<void> {
    return this.startNode(id);
  }

  /** kill -9, and waits until the process is gone. */
  async kill(id: number): Promise<Exit> {
    const running = this.runningProcess(id);
    this.slot(id).exitExpected = true;
    running.child.kill("SIGKILL");
    return this.waitForExit(id, running, killTimeoutMs);
  }

  /** Sends SIGTERM and waits for the process to exit; returns how it exited. */
  async terminate(id: number): Promise<Exit> {
    const running = this.runningProcess(id);
    this.slot(id).exitExpected = true;
    running.child.kill("SIGTERM");
    return this.waitForExit(id, running, stopTimeoutMs);
  }

  /**
   * The node's running process may now exit by itself without that being unexpected: a fault the caller
   * injected (a full disk) makes a controller stop. Holds until the node is next started.
   */
  expectExit(id: number): void {
    this.runningProcess(id);
    this.slot(id).exitExpected = true;
  }

  /** SIGKILLs every process still running and waits for them (bounded), leaving the temp dir; `close()` does this first. */
  async killAll(): Promise<void> {
    for (const slot of this.slots.values()) slot.exitExpected = true;
    const running = [...this.slots.values()].flatMap((slot) => (slot.running === undefined ? [] : [slot.running]));
    for (const child of running) child.child.kill("SIGKILL");
    await Promise.all(running.map((child) => withTimeout(child.exited, killTimeoutMs)));
  }

  /** `GET /v1/cluster` of one node; throws when it does not answer 200. */
  async status(id: number): Promise<ClusterStatus> {
    const result = await httpExchange(`${this.apiUrl(id)}/v1/cluster`, { timeoutMs: statusRequestTimeoutMs });
    if (result.status !== 200) throw new Error(`node ${id} answered /v1/cluster with ${result.status} ${JSON.stringify(result.body)}`);
    return asClusterStatus(result.body);
  }

  /** Statuses of every running node that answers; nodes that do not answer are left out. */
  async statuses(ids: readonly number[] = this.runningIds()): Promise<Map<number, ClusterStatus>> {
    const settled = await Promise.allSettled(ids.map(async (id) => [id, await this.status(id)] as const));
    return new Map(settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : [])));
  }

  /** One look for a confirmed leader (see `Leader`); undefined if there is none right now. */
  async findLeader(): Promise<Leader | undefined> {
    return this.leaderAmong(await this.statuses());
  }

  async waitForLeader(options: { readonly timeoutMs: number; readonly excludeId?: number }): Promise<Leader> {
    let seen = "";
    return waitFor(
      () => `a leader${options.excludeId === undefined ? "" : ` other than node ${options.excludeId}`} confirmed by a majority of its voters; last seen: ${seen}`,
      async () => {
        const statuses = await this.statuses();
        seen = describeStatuses(statuses);
        const leader = this.leaderAmong(statuses);
        return leader === undefined || leader.id === options.excludeId ? undefined : leader;
      },
      { timeoutMs: options.timeoutMs, intervalMs: 20 },
    );
  }

  /**
   * Waits until every node of `ids` (running ones by default) reports the same commitIndex, appliedIndex
   * and lastIndex, with everything committed applied. Returns the statuses.
   */
  async waitForConvergence(options: { readonly timeoutMs: number; readonly ids?: readonly number[] }): Promise<Map<number, ClusterStatus>> {
    const ids = options.ids ?? this.runningIds();
    let seen = "";
    return waitFor(
      () => `nodes ${ids.join(", ")} to agree on commitIndex, appliedIndex and lastIndex; last seen: ${seen}`,
      async () => {
        const statuses = await this.statuses(ids);
        seen = describeStatuses(statuses);
        return convergedIndex(statuses, ids) === undefined ? undefined : statuses;
      },
      { timeoutMs: options.timeoutMs, intervalMs: 50 },
    );
  }

  /** Waits until node `id` has applied everything the leader had committed when the wait began. */
  async waitForCaughtUp(id: number, options: { readonly timeoutMs: number }): Promise<ClusterStatus> {
    const startedMs = performance.now();
    const leader = await this.waitForLeader({ timeoutMs: options.timeoutMs });
    const leaderStatus = leader.statuses.get(leader.id);
    assert(leaderStatus !== undefined, "a leader reports its own status");
    let seen = "";
    return waitFor(
      () => `node ${id} to apply up to the leader's commitIndex ${leaderStatus.commitIndex}; last seen: ${seen}`,
      async () => {
        const status = await this.status(id);
        seen = `appliedIndex ${status.appliedIndex}, commitIndex ${status.commitIndex}, lastIndex ${status.lastIndex}`;
        return status.appliedIndex >= leaderStatus.commitIndex ? status : undefined;
      },
      { timeoutMs: Math.max(1, options.timeoutMs - (performance.now() - startedMs)), intervalMs: 20 },
    );
  }

  /**
   * Options for a MetadataWriter on this cluster: it tries the running nodes, with bounds generous
   * enough for a loaded machine (a write is given up after 20 s).
   */
  writerOptions(overrides: Partial<MetadataWriterOptions> = {}): MetadataWriterOptions {
    return { apiUrl: (id) => this.apiUrl(id), targets: () => this.runningIds(), requestTimeoutMs: 3_000, roundPauseMs: 20, writeTimeoutMs: 20_000, ...overrides };
  }

  /** The last lines of a node's log file, headed by its name, for failure messages. */
  async logTail(id: number, linesCount = logTailLinesCount): Promise<string> {
    const slot = this.slot(id);
    const text = await readFile(slot.logFile, "utf8").catch((error: unknown) => `(cannot read: ${String(error)})`);
    const lines = text.trimEnd().split("\n");
    return `--- last ${Math.min(linesCount, lines.length)} lines of ${slot.logFile} ---\n${lines.slice(-linesCount).join("\n")}`;
  }

  /** Every node's log tail, for a failing test to print. */
  async logTails(linesCount = logTailLinesCount): Promise<string> {
    return (await Promise.all(this.ids().map((id) => this.logTail(id, linesCount)))).join("\n");
  }

  /** The whole log of a node (every run of it). */
  readLog(id: number): Promise<string> {
    return readFile(this.slot(id).logFile, "utf8");
  }

  /**
   * SIGKILLs every process still running (by the pid this cluster started) and removes the temp dir,
   * unless `keep` or YAKT_E2E_KEEP=1 keeps it for a post-mortem. Safe to call twice.
   */
  async close(options: { readonly keep?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.killAll();
    if (options.keep === true || process.env["YAKT_E2E_KEEP"] === "1") {
      console.error(`keeping ${this.dir}`);
      return;
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  /**
   * A node reporting itself leader whose term and leadership a majority of the voters it reports report
   * (with a fixed membership: a majority of the cluster; after a membership change, of the new voters).
   */
  private leaderAmong(statuses: ReadonlyMap<number, ClusterStatus>): Leader | undefined {
    for (const status of statuses.values()) {
      if (status.role !== "leader") continue;
      const voters = new Set(status.members.filter((m) => m.voter).map((m) => m.id));
      const quorumCount = Math.floor(voters.size / 2) + 1;
      const agreeingCount = [...statuses.values()].filter((s) => voters.has(s.nodeId) && s.term === status.term && s.leaderId === status.nodeId).length;
      if (agreeingCount >= quorumCount) return { id: status.nodeId, term: status.term, statuses };
    }
    return undefined;
  }

  private slot(id: number): NodeSlot {
    const slot = this.slots.get(id);
    assert(slot !== undefined, `no node ${id} in a cluster of ${this.slots.size}`);
    return slot;
  }

  private runningProcess(id: number): RunningProcess {
    const running = this.slot(id).running;
    assert(running !== undefined, `node ${id} is not running`);
    return running;
  }

  private async waitForExit(id: number, running: RunningProcess, timeoutMs: number): Promise<Exit> {
    const exit = await withTimeout(running.exited, timeoutMs);
    if (exit === undefined) throw new Error(`node ${id} (pid ${running.pid}) did not exit within ${timeoutMs} ms\n${await this.logTail(id)}`);
    return exit;
  }

  private args(slot: NodeSlot): string[] {
    const o = this.options;
    // Founders list the founders; a joining node lists them and itself.
    const joining = this.isJoining(slot.id);
    const listed = [...this.slots.values()].filter((s) => !this.isJoining(s.id) || s.id === slot.id);
    const raftOf = (s: NodeSlot): string => (s.id === slot.id || o.raftPeerAddress === undefined ? `${host}:${s.raftPort}` : o.raftPeerAddress(slot.id, s.id));
    const peers = listed.map((s) => `${s.id}@${raftOf(s)}:${s.apiPort}`).join(",");
    const optional: [string, number | string | undefined][] = [
      ["--tick-ms", o.tickMs],
      ["--election-ticks", o.electionTicks],
      ["--heartbeat-ticks", o.heartbeatTicks],
      ["--snapshot-entries", o.snapshotEntries],
      ["--snapshot-bytes", o.snapshotBytes],
      ["--broker-heartbeat-ms", o.brokerHeartbeatMs],
      ["--broker-session-ms", o.brokerSessionMs],
      ["--delta-age-ms", o.deltaAgeMs],
      ["--cluster-id", o.clusterId],
    ];
    return [
      cliPath,
      "controller",
      ...["--id", String(slot.id), "--data", slot.dataDir, "--raft", `${host}:${slot.raftPort}`, "--api", `${host}:${slot.apiPort}`, "--peers", peers],
      ...(joining ? ["--join"] : []),
      ...optional.flatMap(([flag, value]) => (value === undefined ? [] : [flag, String(value)])),
    ];
  }

  private async spawnNode(slot: NodeSlot): Promise<RunningProcess> {
    const args = this.args(slot);
    appendFileSync(slot.logFile, `--- ${new Date().toISOString()} starting node ${slot.id}: node ${args.join(" ")}\n`);
    // The child writes straight into the file: nothing to pump here, and the log survives this process.
    const fd = openSync(slot.logFile, "a");
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...(this.options.nodeArgs ?? []), ...args], {
        stdio: ["ignore", fd, fd],
        env: { ...process.env, YAKT_LOG_LEVEL: this.options.logLevel ?? "info" },
      });
    } finally {
      closeSync(fd);
    }
    const exited = new Promise<Exit>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      // A spawn that fails never emits 'exit'.
      child.once("error", () => resolve({ code: null, signal: null }));
    });
    if (child.pid === undefined) {
      const exit = await exited;
      throw new Error(`cannot start node ${slot.id}: spawn failed (${formatExit(exit)})`);
    }
    trackChild(child);
    const running: RunningProcess = { child, pid: child.pid, exited };
    slot.running = running;
    slot.exitExpected = false;
    void exited.then((exit) => {
      slot.lastExit = exit;
      if (!slot.exitExpected) this.unexpectedExitsList.push(`node ${slot.id} (pid ${running.pid}) exited by itself: ${formatExit(exit)}`);
      if (slot.running === running) slot.running = undefined;
      appendFileSync(slot.logFile, `--- ${new Date().toISOString()} node ${slot.id} (pid ${running.pid}) exited: ${formatExit(exit)}\n`);
    });
    return running;
  }
}

/**
 * Runs `body` against a fresh cluster and always closes it. Fails if a node exited without the harness
 * killing or stopping it; on failure, prints every node's log tail before rethrowing.
 */
export async function withCluster<T>(options: ClusterOptions, body: (cluster: Cluster) => Promise<T>): Promise<T> {
  const cluster = await Cluster.start(options);
  try {
    return await runOnCluster(cluster, body);
  } finally {
    await cluster.close();
  }
}

/**
 * Runs `body` against a running cluster that outlives it (one cluster shared by several tests). Fails if
 * a node exited without the harness killing or stopping it; on failure, prints every node's log tail
 * before rethrowing. Closing the cluster is the caller's business.
 */
export async function runOnCluster<T>(cluster: Cluster, body: (cluster: Cluster) => Promise<T>): Promise<T> {
  try {
    const result = await body(cluster);
    const unexpected = cluster.unexpectedExits();
    if (unexpected.length > 0) throw new Error(`Nodes exited unexpectedly: ${unexpected.join("; ")}`);
    return result;
  } catch (error) {
    console.error(await cluster.logTails());
    throw error;
  }
}

/** `count` distinct free ports on 127.0.0.1: all bound to port 0 at once (so none repeats), then released. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, host, resolve);
      });
      return server;
    }),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    assert(address !== null && typeof address === "object", "a listening TCP server has an address");
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

export function formatExit(exit: Exit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
}

/** One line per node: role, term, leader and indices. */
export function describeStatuses(statuses: ReadonlyMap<number, ClusterStatus>): string {
  if (statuses.size === 0) return "no node answered";
  return [...statuses.values()]
    .map((s) => `node ${s.nodeId}: ${s.role} term ${s.term} leader ${s.leaderId} commit ${s.commitIndex} applied ${s.appliedIndex} last ${s.lastIndex} snapshot ${s.snapshotIndex}`)
    .join("; ");
}

/**
 * The index every node of `ids` has committed and applied, with the same last index, when they all
 * answered and agree; undefined otherwise.
 */
export function convergedIndex(statuses: ReadonlyMap<number, ClusterStatus>, ids: readonly number[]): number | undefined {
  const all = ids.map((id) => statuses.get(id));
  const first = all[0];
  if (first === undefined) return undefined;
  const agree = all.every((s) => s !== undefined && s.commitIndex === first.commitIndex && s.appliedIndex === first.commitIndex && s.lastIndex === first.lastIndex);
  return agree ? first.appliedIndex : undefined;
}

/** Whether a response body is the given coded error. */
export function hasErrorCode(body: unknown, code: string): boolean {
  return errorCodeOf(body) === code;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
  return Promise.race([promise, timedOut]).finally(() => clearTimeout(timer));
}

function asClusterStatus(body: unknown): ClusterStatus {
  assert(isRecord(body), `a /v1/cluster body is an object: ${JSON.stringify(body)}`);
  for (const field of ["nodeId", "pid", "term", "leaderId", "commitIndex", "appliedIndex", "lastIndex", "snapshotIndex"]) {
    assert(typeof body[field] === "number", `/v1/cluster has a numeric ${field}: ${JSON.stringify(body)}`);
  }
  assert(typeof body["role"] === "string", `/v1/cluster has a role: ${JSON.stringify(body)}`);
  assert(isRecord(body["election"]) && Array.isArray(body["members"]), `/v1/cluster has election and members: ${JSON.stringify(body)}`);
  return body as unknown as ClusterStatus;
}
