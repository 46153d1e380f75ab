// Real broker processes beside a controller cluster of the harness: start, kill -9, restart by id,
// each with its own port, data dir and log file under the cluster's temp dir; cleanup that leaves no
// process behind.
import { trackChild } from "./childProcesses.js";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { appendFileSync, closeSync, openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrokerStatusAnswerJson } from "../broker/protocol.js";
import { assert } from "../shared/assert.js";
import type { Cluster } from "./harness.js";
import { freePorts } from "./harness.js";
import { httpExchange, httpRequest } from "./http.js";
import { waitFor } from "./waitFor.js";

const host = "127.0.0.1";
const cliPath = fileURLToPath(new URL("../cli/main.js", import.meta.url));
const startTimeoutMs = 20_000;
const killTimeoutMs = 10_000;
const stopTimeoutMs = 15_000;
const requestTimeoutMs = 2_000;

export interface BrokerProcessOptions {
  readonly brokerIds: readonly number[];
  readonly replicaLagMs?: number;
  readonly minInsyncReplicas?: number;
  readonly groupSessionMs?: number;
  /** The controller URLs broker `id` is given (default: every controller's API): proxies, in chaos runs. */
  readonly controllerUrls?: (brokerId: number) => readonly string[];
  /**
   * `host:port` where broker `from` fetches from leader `to` (`--replica-peers`); absent: the address
   * `to` registered. Read at each start, so the addresses may be set up after the ports are known.
   */
  readonly replicaPeerAddress?: (from: number, to: number) => string;
  /** Brokers started by `start()` (default all); the others wait for `startBroker`. */
  readonly startIds?: readonly number[];
  /** Flags for node itself, before the script (e.g. `--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
}

interface BrokerSlot {
  readonly id: number;
  readonly port: number;
  readonly dataDir: string;
  readonly logFile: string;
  child: ChildProcess | undefined;
  exited: Promise<void> | undefined;
}

/** Broker processes pointed at every controller of `cluster`. Call `close()` when done, also on failure. */
export class BrokerProcesses {
  private readonly slots: Map<number, BrokerSlot>;

  private constructor(
    private readonly cluster: Cluster,
    private readonly options: BrokerProcessOptions,
    slots: readonly BrokerSlot[],
  ) {
    this.slots = new Map(slots.map((slot) => [slot.id, slot]));
  }

  static async start(cluster: Cluster, options: BrokerProcessOptions): Promise<BrokerProcesses> {
    const ports = await freePorts(options.brokerIds.length);
    const slots = options.brokerIds.map((id, i): BrokerSlot => {
      const port = ports[i];
      assert(port !== undefined, "a port per broker");
      return { id, port, dataDir: join(cluster.dir, `broker-${id}`), logFile: join(cluster.dir, `broker-${id}.log`), child: undefined, exited: undefined };
    });
    const brokers = new BrokerProcesses(cluster, options, slots);
    try {
      await Promise.all((options.startIds ?? options.brokerIds).map((id) => brokers.startBroker(id)));
    } catch (error) {
      await brokers.close();
      throw error;
    }
    return brokers;
  }

  url(id: number): string {
    return `http://${host}:${this.slot(id).port}`;
  }

  /** The port broker `id` listens on (and registers). */
  port(id: number): number {
    return this.slot(id).port;
  }

  ids(): number[] {
    return [...this.slots.keys()];
  }

  /** The running process's pid, for signals such as SIGSTOP. */
  pid(id: number): number | undefined {
    return this.slot(id).child?.pid;
  }

  /** Where broker `id` keeps its partition logs: `<dataDir>/<topic>/<partition>/`. */
  dataDir(id: number): string {
    return this.slot(id).dataDir;
  }

  /** Every controller's API URL, as clients dial them. */
  controllerUrls(): string[] {
    return this.cluster.ids().map((id) => this.cluster.apiUrl(id));
  }

  /** Pids of the running brokers. */
  pids(): number[] {
    return [...this.slots.values()].flatMap((slot) => slot.child?.pid ?? []);
  }

  isRunning(id: number): boolean {
    return this.slot(id).child !== undefined;
  }

  async startBroker(id: number): Promise<void> {
    const slot = this.slot(id);
    assert(slot.child === undefined, `broker ${id} is already running`);
    const o = this.options;
    const optional: [string, number | undefined][] = [
      ["--replica-lag-ms", o.replicaLagMs],
      ["--min-insync-replicas", o.minInsyncReplicas],
      ["--group-session-ms", o.groupSessionMs],
    ];
    const controllers = o.controllerUrls?.(id) ?? this.controllerUrls();
    const peerAddress = o.replicaPeerAddress;
    const peers = peerAddress === undefined ? [] : ["--replica-peers", [...this.slots.keys()].filter((to) => to !== id).map((to) => `${to}=${peerAddress(id, to)}`).join(",")];
    const args = [
      cliPath,
      "broker",
      ...["--id", String(id), "--data", slot.dataDir, "--listen", `${host}:${slot.port}`, "--controllers", controllers.join(",")],
      ...peers,
      ...optional.flatMap(([flag, value]) => (value === undefined ? [] : [flag, String(value)])),
    ];
    appendFileSync(slot.logFile, `--- ${new Date().toISOString()} starting broker ${id}: node ${args.join(" ")}\n`);
    const fd = openSync(slot.logFile, "a");
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...(o.nodeArgs ?? []), ...args], { stdio: ["ignore", fd, fd] });
    } finally {
      closeSync(fd);
    }
    trackChild(child);
    slot.child = child;
    slot.exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        if (slot.child === child) slot.child = undefined;
        appendFileSync(slot.logFile, `--- broker ${id} exited: code ${code ?? "none"}, signal ${signal ?? "none"}\n`);
        resolve();
      });
    });
    await waitFor(
      `broker ${id} to answer /healthz`,
      async () => {
        if (slot.child !== child) throw new Error(`broker ${id} exited during start\n${await this.logTail(id)}`);
        const result = await httpRequest(`${this.url(id)}/healthz`, { timeoutMs: requestTimeoutMs });
        return result.kind === "response" && result.status === 200 ? true : undefined;
      },
      { timeoutMs: startTimeoutMs, intervalMs: 50 },
    );
  }

  /** kill -9, and waits until the process is gone. */
  async kill(id: number): Promise<void> {
    const slot = this.slot(id);
    assert(slot.child !== undefined, `broker ${id} is not running`);
    slot.child.kill("SIGKILL");
    await this.waitForExit(slot, killTimeoutMs);
  }

  async terminate(id: number): Promise<void> {
    const slot = this.slot(id);
    assert(slot.child !== undefined, `broker ${id} is not running`);
    slot.child.kill("SIGTERM");
    await this.waitForExit(slot, stopTimeoutMs);
  }

  async status(id: number): Promise<BrokerStatusAnswerJson> {
    const result = await httpExchange(`${this.url(id)}/v1/broker`, { timeoutMs: requestTimeoutMs });
    if (result.status !== 200) throw new Error(`broker ${id} answered /v1/broker with ${result.status}`);
    return result.body as BrokerStatusAnswerJson;
  }

  async logTail(id: number, linesCount = 30): Promise<string> {
    const text = await readFile(this.slot(id).logFile, "utf8").catch(() => "");
    return `--- broker ${id} log (last ${linesCount} lines):\n${text.split("\n").slice(-linesCount - 1).join("\n")}`;
  }

  async logTails(): Promise<string> {
    return (await Promise.all([...this.slots.keys()].map((id) => this.logTail(id)))).join("\n");
  }

  async close(): Promise<void> {
    const running = [...this.slots.values()].filter((slot) => slot.child !== undefined);
    for (const slot of running) slot.child?.kill("SIGKILL");
    await Promise.all(running.map((slot) => this.waitForExit(slot, killTimeoutMs).catch(() => undefined)));
  }

  private async waitForExit(slot: BrokerSlot, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
    const outcome = await Promise.race([slot.exited, timedOut]);
    clearTimeout(timer);
    if (outcome === "timeout") throw new Error(`broker ${slot.id} did not exit within ${timeoutMs} ms`);
  }

  private slot(id: number): BrokerSlot {
    const slot = this.slots.get(id);
    assert(slot !== undefined, `no broker ${id}`);
    return slot;
  }
}
