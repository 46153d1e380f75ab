// `yakt dev`: a whole local cluster in one command, one child process per node, stopped by Ctrl-C.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { formatHostPort } from "../controller/config.js";
import type { MemberAddress } from "../controller/config.js";

export interface DevConfig {
  readonly controllersCount: number;
  readonly brokersCount: number;
  readonly dataDir: string;
  readonly basePort: number;
}

export type ParsedDevArgs =
  | { readonly kind: "help" }
  | { readonly kind: "config"; readonly config: DevConfig }
  | { readonly kind: "error"; readonly message: string };

/** One planned controller of the dev cluster. */
export interface DevController extends MemberAddress {
  readonly dataDir: string;
}

const controllersCountMax = 9;
const brokersCountMax = 9;
const basePortMin = 1024;
/** Leaves room for the highest planned port, base + 200 + 9, below 65536. */
const basePortMax = 65_000;
/** Controller i listens for Raft at base + raftPortOffset + i (its API at base + i). */
const raftPortOffset = 100;
/** Broker i listens at base + brokerPortOffset + i. */
const brokerPortOffset = 200;
const host = "127.0.0.1";

/** Polling every node's /v1/cluster until one knows a leader; the cluster keeps running if none does. */
const readyTimeoutMs = 30_000;
const readyPollIntervalMs = 200;
const clusterRequestTimeoutMs = 1_000;
/** After the first Ctrl-C, nodes get this long to stop before they are killed. */
const stopTimeoutMs = 10_000;

export const devUsage = `Usage: yakt dev [--controllers N] [--brokers N] [--data DIR] [--base-port P]

Runs a whole local cluster on ${host}, one child process per node; prints each node's URLs, then
"cluster ready: leader is controller ID (term T)" once a leader is elected. Ctrl-C (or SIGTERM) stops
every node; a second Ctrl-C kills them at once. A node that exits on its own is not restarted.

  --controllers N   controllers, 1 to ${controllersCountMax} (default 3)
  --brokers N       brokers, 0 to ${brokersCountMax} (default 3)
  --data DIR        data directory; controller i keeps its data in DIR/controller-i, broker i in
                    DIR/broker-i (default ./data)
  --base-port P     ${basePortMin} to ${basePortMax} (default 9000); with it, controller i listens on
                      API   P + i        (http://${host}:9001, 9002, … by default)
                      Raft  P + ${raftPortOffset} + i  (${host}:9101, 9102, … by default)
                    and broker i on P + ${brokerPortOffset} + i (http://${host}:9201, 9202, …)
  -h, --help        print this help

Exit status: 0 after Ctrl-C or SIGTERM, 1 when every node has exited on its own, 2 on bad flags.`;

/** Parses `yakt dev` arguments (without the command name). Pure. */
export function parseDevArgs(argv: readonly string[]): ParsedDevArgs {
  if (argv.includes("--help") || argv.includes("-h")) return { kind: "help" };
  const values = new Map<string, string>();
  const flags = ["--controllers", "--brokers", "--data", "--base-port"];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const equals = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    if (!flags.includes(flag)) return devError(arg.startsWith("-") ? `${flag} is not a flag of yakt dev` : "it takes no positional arguments", arg);
    const value = equals === -1 ? argv[++i] : arg.slice(equals + 1);
    if (value === undefined || value.startsWith("--")) return devError(`${flag} needs a value`);
    if (values.has(flag)) return devError(`${flag} is given twice`, value);
    values.set(flag, value);
  }
  const controllersCount = parseInteger(values.get("--controllers") ?? "3");
  if (controllersCount === undefined || controllersCount < 1 || controllersCount > controllersCountMax) {
    return devError(`--controllers must be an integer from 1 to ${controllersCountMax}`, values.get("--controllers"));
  }
  const brokersText = values.get("--brokers") ?? "3";
  const brokersCount = parseInteger(brokersText);
  if (brokersCount === undefined || brokersCount > brokersCountMax) return devError(`--brokers must be an integer from 0 to ${brokersCountMax}`, brokersText);
  const dataDir = values.get("--data") ?? "./data";
  if (dataDir === "") return devError("--data must name a directory", dataDir);
  const basePort = parseInteger(values.get("--base-port") ?? "9000");
  if (basePort === undefined || basePort < basePortMin || basePort > basePortMax) {
    return devError(`--base-port must be an integer from ${basePortMin} to ${basePortMax}`, values.get("--base-port"));
  }
  return { kind: "config", config: { controllersCount, brokersCount, dataDir, basePort } };
}

function devError(reason: string, value?: string): ParsedDevArgs {
  return { kind: "error", message: `Cannot start dev cluster as ${reason}${value === undefined ? "" : `: current value is ${JSON.stringify(value)}`}` };
}

function parseInteger(text: string): number | undefined {
  return /^[0-9]{1,9}$/.test(text) ? Number(text) : undefined;
}

/** The port plan: controller i (from 1) has its API at base + i and its Raft transport at base + 100 + i. */
export function planDevControllers(config: Omit<DevConfig, "brokersCount">): DevController[] {
  return Array.from({ length: config.controllersCount }, (_, index): DevController => {
    const id = index + 1;
    return {
      id,
      api: { host, port: config.basePort + id },
      raft: { host, port: config.basePort + raftPortOffset + id },
      dataDir: join(config.dataDir, `controller-${id}`),
    };
  });
}

/** The `yakt` arguments that start one planned controller (every controller lists all of them as peers). */
export function controllerArgv(controllers: readonly DevController[], controller: DevController): string[] {
  const peers = controllers.map((c) => `${c.id}@${formatHostPort(c.raft)}:${c.api.port}`).join(",");
  return [
    "controller",
    "--id",
    String(controller.id),
    "--data",
    controller.dataDir,
    "--raft",
    formatHostPort(controller.raft),
    "--api",
    formatHostPort(controller.api),
    "--peers",
    peers,
  ];
}

/** One planned broker of the dev cluster. */
export interface DevBroker {
  readonly id: number;
  readonly listen: { readonly host: string; readonly port: number };
  readonly dataDir: string;
}

/** Broker i (from 1) listens at base + 200 + i. */
export function planDevBrokers(config: Omit<DevConfig, "controllersCount">): DevBroker[] {
  return Array.from({ length: config.brokersCount }, (_, index): DevBroker => {
    const id = index + 1;
    return { id, listen: { host, port: config.basePort + brokerPortOffset + id }, dataDir: join(config.dataDir, `broker-${id}`) };
  });
}

/** The `yakt` arguments that start one planned broker, pointed at every controller. */
export function brokerArgv(controllers: readonly DevController[], broker: DevBroker): string[] {
  return [
    "broker",
    "--id",
    String(broker.id),
    "--data",
    broker.dataDir,
    "--listen",
    formatHostPort(broker.listen),
    "--controllers",
    controllers.map((c) => `http://${formatHostPort(c.api)}`).join(","),
  ];
}

/** Runs `yakt dev`; resolves with the exit status once the cluster has stopped (2 for bad arguments). */
export async function devCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseDevArgs(argv);
  switch (parsed.kind) {
    case "help":
      console.log(devUsage);
      return 0;
    case "error":
      console.error(`yakt dev: ${parsed.message}\nRun "yakt dev --help" for usage.`);
      return 2;
    case "config": {
      const controllers = planDevControllers(parsed.config);
      const nodes: DevNode[] = [
        ...controllers.map((c) => ({ name: `controller ${c.id}`, tag: `controller-${c.id}`, argv: controllerArgv(controllers, c), line: `api http://${formatHostPort(c.api)}  raft ${formatHostPort(c.raft)}  data ${c.dataDir}` })),
        ...planDevBrokers(parsed.config).map((b) => ({ name: `broker ${b.id}`, tag: `broker-${b.id}`, argv: brokerArgv(controllers, b), line: `http://${formatHostPort(b.listen)}  data ${b.dataDir}` })),
      ];
      return new DevCluster(controllers, nodes).run();
    }
  }
}

/** A child process to run: its name in messages, its log prefix, its arguments, what to print about it. */
interface DevNode {
  readonly name: string;
  readonly tag: string;
  readonly argv: readonly string[];
  readonly line: string;
}

interface RunningNode {
  readonly plan: DevNode;
  readonly child: ChildProcess;
  exited: boolean;
}

/** The child processes of one `yakt dev`, from spawn to the last exit. */
class DevCluster {
  private readonly running: RunningNode[] = [];
  private stopping = false;
  private killTimer: NodeJS.Timeout | undefined;
  /** Ends the leader poll when the cluster stops. */
  private readonly pollAbort = new AbortController();
  private resolveExit: (code: number) => void = () => {};
  private readonly onSignal = (): void => this.stop();
  /** Should this process die of an uncaught error, its children must not outlive it. */
  private readonly onExit = (): void => this.signalLive("SIGKILL");

  constructor(
    private readonly controllers: readonly DevController[],
    private readonly nodes: readonly DevNode[],
  ) {}

  run(): Promise<number> {
    const exited = new Promise<number>((resolve) => {
      this.resolveExit = resolve;
    });
    process.on("SIGINT", this.onSignal);
    process.on("SIGTERM", this.onSignal);
    process.on("exit", this.onExit);
    const mainPath = fileURLToPath(new URL("./main.js", import.meta.url));
    for (const plan of this.nodes) this.running.push(this.spawnNode(mainPath, plan));
    for (const { plan, child } of this.running) console.log(`${plan.name}  ${plan.line}  pid ${child.pid ?? "none"}`);
    void this.announceLeader();
    return exited;
  }

  private spawnNode(mainPath: string, plan: DevNode): RunningNode {
    // Detached: a terminal's Ctrl-C then reaches only this process, which stops each node with
    // exactly one SIGTERM; otherwise every node would get the terminal's SIGINT and ours too.
    const child = spawn(process.execPath, ["--enable-source-maps", mainPath, ...plan.argv], {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const running: RunningNode = { plan, child, exited: false };
    const prefix = `[${plan.tag}] `;
    relayLines(child.stdout, process.stdout, prefix);
    relayLines(child.stderr, process.stderr, prefix);
    child.on("error", (error) => {
      console.error(`${plan.name}: ${error.message}`);
      if (child.pid === undefined) this.onChildExit(running, null, null);
    });
    // "close" comes after "exit" and after the child's last output line.
    child.on("close", (code, signal) => this.onChildExit(running, code, signal));
    return running;
  }

  private onChildExit(running: RunningNode, code: number | null, signal: NodeJS.Signals | null): void {
    if (running.exited) return;
    running.exited = true;
    if (!this.stopping) {
      console.log(`${running.plan.name} exited with code ${code ?? "none"} (signal ${signal ?? "none"}); not restarted`);
    }
    if (this.running.every((r) => r.exited)) this.finish(this.stopping ? 0 : 1);
  }

  /** First call: SIGTERM to every live node, SIGKILL after stopTimeoutMs. Second call: SIGKILL now. */
  private stop(): void {
    if (this.stopping) {
      console.log("killing the nodes still running");
      this.signalLive("SIGKILL");
      return;
    }
    this.stopping = true;
    this.pollAbort.abort();
    console.log("stopping…");
    this.signalLive("SIGTERM");
    this.killTimer = setTimeout(() => {
      const left = this.running.filter((r) => !r.exited).map((r) => r.plan.name);
      console.log(`${left.join(", ")} did not stop within ${stopTimeoutMs / 1000} s; killing ${left.length === 1 ? "it" : "them"}`);
      this.signalLive("SIGKILL");
    }, stopTimeoutMs);
  }

  private signalLive(signal: NodeJS.Signals): void {
    for (const { child, exited } of this.running) {
      if (exited || child.pid === undefined) continue;
      try {
        process.kill(child.pid, signal);
      } catch {
        // Already gone: its "close" event is on its way.
      }
    }
  }

  private finish(code: number): void {
    clearTimeout(this.killTimer);
    this.pollAbort.abort();
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
    process.off("exit", this.onExit);
    this.resolveExit(code);
  }

  private async announceLeader(): Promise<void> {
    const signal = this.pollAbort.signal;
    const deadlineMs = performance.now() + readyTimeoutMs;
    while (performance.now() < deadlineMs && !signal.aborted) {
      const views = await Promise.all(this.controllers.map((plan) => fetchLeader(plan, signal)));
      const known = views.find((view) => view !== undefined);
      if (known !== undefined && !signal.aborted) {
        console.log(`cluster ready: leader is controller ${known.leaderId} (term ${known.term})`);
        return;
      }
      await sleep(readyPollIntervalMs, undefined, { signal }).catch(() => {});
    }
    if (!signal.aborted) {
      console.log(`warning: no controller reported a leader within ${readyTimeoutMs / 1000} s; the cluster keeps running`);
    }
  }
}

/** A controller's `GET /v1/cluster` when it knows a leader; undefined when it does not or cannot say. */
async function fetchLeader(plan: DevController, pollSignal: AbortSignal): Promise<{ leaderId: number; term: number } | undefined> {
  try {
    const response = await fetch(`http://${formatHostPort(plan.api)}/v1/cluster`, {
      signal: AbortSignal.any([pollSignal, AbortSignal.timeout(clusterRequestTimeoutMs)]),
    });
    if (!response.ok) return undefined;
    const body: unknown = await response.json();
    if (typeof body !== "object" || body === null || !("leaderId" in body) || !("term" in body)) return undefined;
    const { leaderId, term } = body;
    return typeof leaderId === "number" && typeof term === "number" && leaderId > 0 ? { leaderId, term } : undefined;
  } catch {
    return undefined; // Not listening yet, or no answer in time: asked again next round.
  }
}

function relayLines(input: NodeJS.ReadableStream, output: Writable, prefix: string): void {
  createInterface({ input, crlfDelay: Infinity }).on("line", (line) => output.write(`${prefix}${line}\n`));
}
