import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseBrokerArgs } from "./brokerArgs.js";
import { parseControllerArgs } from "./controllerArgs.js";
import { brokerArgv, controllerArgv, devUsage, parseDevArgs, planDevBrokers, planDevControllers } from "./dev.js";
import type { DevBroker, DevConfig } from "./dev.js";

function devConfig(argv: readonly string[]): DevConfig {
  const parsed = parseDevArgs(argv);
  assert.equal(parsed.kind, "config", parsed.kind === "error" ? parsed.message : parsed.kind);
  assert(parsed.kind === "config");
  return parsed.config;
}

function devError(argv: readonly string[]): string {
  const parsed = parseDevArgs(argv);
  assert.equal(parsed.kind, "error", `expected an error for ${JSON.stringify(argv)}`);
  assert(parsed.kind === "error");
  return parsed.message;
}

test("yakt dev defaults to 3 controllers and 3 brokers in ./data from base port 9000", () => {
  assert.deepEqual(devConfig([]), { controllersCount: 3, brokersCount: 3, dataDir: "./data", basePort: 9000 });
});

test("yakt dev reads every flag in both the --flag value and --flag=value forms", () => {
  assert.deepEqual(devConfig(["--controllers", "5", "--data=/tmp/x", "--base-port", "20000", "--brokers=0"]), {
    controllersCount: 5,
    brokersCount: 0,
    dataDir: "/tmp/x",
    basePort: 20_000,
  });
  assert.deepEqual(parseDevArgs(["--controllers", "0", "--help"]), { kind: "help" });
  assert.deepEqual(parseDevArgs(["-h"]), { kind: "help" });
});

test("yakt dev refuses bad flags with a message naming the value", () => {
  for (const bad of ["0", "10", "x", "-1", ""]) {
    assert.equal(devError(["--controllers", bad]), `Cannot start dev cluster as --controllers must be an integer from 1 to 9: current value is ${JSON.stringify(bad)}`);
  }
  for (const bad of ["1023", "65001", "p"]) assert.match(devError(["--base-port", bad]), /--base-port must be an integer from 1024 to 65000/);
  assert.equal(devConfig(["--base-port", "1024"]).basePort, 1024);
  assert.equal(devConfig(["--base-port", "65000"]).basePort, 65_000);
  for (const bad of ["many", "10", "-1"]) assert.match(devError(["--brokers", bad]), /--brokers must be an integer from 0 to 9: current value is/);
  assert.match(devError(["--data="]), /--data must name a directory/);
  assert.match(devError(["--verbose"]), /--verbose is not a flag of yakt dev/);
  assert.match(devError(["now"]), /takes no positional arguments: current value is "now"/);
  assert.match(devError(["--controllers"]), /--controllers needs a value/);
  assert.match(devError(["--data", "--controllers", "3"]), /--data needs a value/);
  assert.match(devError(["--controllers", "3", "--controllers", "4"]), /--controllers is given twice/);
});

test("broker i listens at P + 200 + i with its data in DIR/broker-i, pointed at every controller", () => {
  const config = { controllersCount: 3, brokersCount: 2, dataDir: "/d", basePort: 9000 };
  const brokers = planDevBrokers(config);
  assert.deepEqual(brokers.map((b) => [b.id, b.listen.port, b.dataDir]), [[1, 9201, join("/d", "broker-1")], [2, 9202, join("/d", "broker-2")]]);
  const argv = brokerArgv(planDevControllers(config), brokers[0] as DevBroker);
  assert.deepEqual(argv, ["broker", "--id", "1", "--data", join("/d", "broker-1"), "--listen", "127.0.0.1:9201", "--controllers", "http://127.0.0.1:9001,http://127.0.0.1:9002,http://127.0.0.1:9003"]);
  const parsed = parseBrokerArgs(argv.slice(1));
  assert.equal(parsed.kind, "config");
});

test("the port plan puts controller i's API at P + i and its Raft transport at P + 100 + i, its data in DIR/controller-i", () => {
  const plan = planDevControllers({ controllersCount: 3, dataDir: "./data", basePort: 9000 });
  assert.deepEqual(plan, [
    { id: 1, api: { host: "127.0.0.1", port: 9001 }, raft: { host: "127.0.0.1", port: 9101 }, dataDir: "data/controller-1" },
    { id: 2, api: { host: "127.0.0.1", port: 9002 }, raft: { host: "127.0.0.1", port: 9102 }, dataDir: "data/controller-2" },
    { id: 3, api: { host: "127.0.0.1", port: 9003 }, raft: { host: "127.0.0.1", port: 9103 }, dataDir: "data/controller-3" },
  ]);
  const highest = planDevControllers({ controllersCount: 9, dataDir: "/d", basePort: 65_000 }).at(-1);
  assert.deepEqual(highest?.raft.port, 65_109);
});

test("the usage documents every flag and the port plan", () => {
  for (const text of ["--controllers", "--brokers", "--data", "--base-port", "-h, --help", "P + i", "P + 100 + i", "P + 200 + i"]) {
    assert.ok(devUsage.includes(text), text);
  }
});

test("each controller's arguments parse into the planned cluster", () => {
  const plan = planDevControllers({ controllersCount: 3, dataDir: "/tmp/dev", basePort: 30_000 });
  for (const controller of plan) {
    const argv = controllerArgv(plan, controller);
    assert.equal(argv[0], "controller");
    const parsed = parseControllerArgs(argv.slice(1));
    assert(parsed.kind === "config", parsed.kind === "error" ? parsed.message : parsed.kind);
    assert.equal(parsed.config.id, controller.id);
    assert.equal(parsed.config.dataDir, controller.dataDir);
    assert.deepEqual(parsed.config.raft, controller.raft);
    assert.deepEqual(parsed.config.api, controller.api);
    assert.deepEqual(
      parsed.config.members,
      plan.map(({ id, raft, api }) => ({ id, raft, api })),
    );
  }
});

// End to end: real controller processes on loopback ports.

const cli = fileURLToPath(new URL("./main.js", import.meta.url));
const readyTimeoutMs = 60_000;
const exitTimeoutMs = 20_000;
const basePortAttemptsMax = 20;

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A base port whose planned controller ports (P+1..P+3, P+101..P+103) are free right now. */
async function findFreeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < basePortAttemptsMax; attempt++) {
    const basePort = 20_000 + 200 * Math.floor(Math.random() * 200);
    const ports = [1, 2, 3, 101, 102, 103].map((offset) => basePort + offset);
    const free = await Promise.all(ports.map(portIsFree));
    if (free.every(Boolean)) return basePort;
  }
  throw new Error(`Cannot find a free base port in ${basePortAttemptsMax} attempts`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what()} not within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

test("yakt dev starts 3 controllers that elect a leader, and stops every one of them on SIGINT", { timeout: 120_000 }, async (t) => {
  const basePort = await findFreeBasePort();
  const dataDir = await mkdtemp(join(tmpdir(), "yakt-dev-"));
  const dev = spawn(process.execPath, [cli, "dev", "--brokers", "0", "--base-port", String(basePort), "--data", dataDir], { stdio: ["ignore", "pipe", "pipe"] });
  const controllerPids: number[] = [];
  const output: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    dev.on("exit", (code, signal) => resolve({ code, signal }));
  });
  t.after(async () => {
    // Only processes this test started: the dev process and the controllers it reported.
    if (dev.exitCode === null && dev.signalCode === null) dev.kill("SIGKILL");
    for (const pid of controllerPids) if (isAlive(pid)) process.kill(pid, "SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  });
  createInterface({ input: dev.stderr }).on("line", (line) => output.push(line));
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: dev.stdout }).on("line", (line) => {
      output.push(line);
      const started = /^controller \d+ .* pid (\d+)$/.exec(line);
      if (started?.[1] !== undefined) controllerPids.push(Number(started[1]));
      if (/^cluster ready: leader is controller [1-3] \(term \d+\)$/.test(line)) resolve();
    });
    void exited.then(({ code, signal }) => reject(new Error(`yakt dev exited (code ${code}, signal ${signal}) before the cluster was ready:\n${output.join("\n")}`)));
  });

  await withTimeout(ready, readyTimeoutMs, () => `cluster ready:\n${output.join("\n")}`);
  assert.equal(controllerPids.length, 3, output.join("\n"));
  dev.kill("SIGINT");
  const { code } = await withTimeout(exited, exitTimeoutMs, () => `yakt dev exit after SIGINT:\n${output.join("\n")}`);
  assert.equal(code, 0, output.join("\n"));
  assert.ok(output.includes("stopping…"), output.join("\n"));
  for (const pid of controllerPids) {
    assert.throws(() => process.kill(pid, 0), { code: "ESRCH" }, `controller pid ${pid} outlived yakt dev`);
  }
});
