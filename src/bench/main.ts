#!/usr/bin/env node
// Benches of whole clusters of real processes: `npm run bench -- <scenario> [options]`.
import { runMain } from "../cli/runMain.js";
import { compareCommand } from "./compareCommands.js";
import { consumeCommand, produceCommand } from "./dataPlaneCommands.js";
import { failoverUsage, parseFailoverArgs, runFailover } from "./failover.js";

const usage = `Usage: npm run bench -- <scenario> [options]

Scenarios:
  failover   kill -9 the leader of 3 controllers, again and again; time until a write succeeds (failover --help)
  produce    messages/s, MB/s and p50/p99 latency of producers against 3 brokers (produce --help)
  consume    messages/s and MB/s of a consumer reading a topic from its beginning (consume --help)
  writes     metadata writes/s and latency at concurrency 1 to 128, beside etcd or ZooKeeper (writes --help)
  reads      linearizable and stale reads/s and latency, beside etcd or ZooKeeper (reads --help)

Exit status: 0 ok, 1 the bench failed, 2 bad scenario or flags.`;

async function failoverCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseFailoverArgs(argv);
  switch (parsed.kind) {
    case "help":
      console.log(failoverUsage);
      return 0;
    case "error":
      console.error(`bench failover: ${parsed.message}\nRun "npm run bench -- failover --help" for usage.`);
      return 2;
    case "options":
      await runFailover(parsed.options, (line) => console.log(line));
      return 0;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const [scenario, ...rest] = argv;
  switch (scenario) {
    case "failover":
      return failoverCommand(rest);
    case "produce":
      return produceCommand(rest);
    case "consume":
      return consumeCommand(rest);
    case "writes":
    case "reads":
      return compareCommand(scenario, rest);
    case "help":
    case "--help":
    case "-h":
      console.log(usage);
      return 0;
    case undefined:
      console.error(usage);
      return 2;
    default:
      console.error(`bench: unknown scenario "${scenario}"\n\n${usage}`);
      return 2;
  }
}

runMain(main);
