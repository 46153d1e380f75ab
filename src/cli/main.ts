#!/usr/bin/env node
// The `yakt` command: one executable for every part of the system.
import { readFileSync } from "node:fs";
import { runController } from "../controller/run.js";
import { simCommand } from "../sim/command.js";
import { runBroker } from "../broker/run.js";
import { adminCommand } from "./admin.js";
import { consumeCommand } from "./consume.js";
import { brokerUsage, parseBrokerArgs } from "./brokerArgs.js";
import { controllerUsage, parseControllerArgs } from "./controllerArgs.js";
import { devCommand } from "./dev.js";
import { produceCommand } from "./produce.js";
import { runMain } from "./runMain.js";

const usage = `Usage: yakt <command> [options]

Commands:
  dev         run a local cluster of controllers and brokers, stopped by Ctrl-C (yakt dev --help)
  controller  run one controller of the Raft metadata quorum (yakt controller --help)
  broker      run one broker of the data plane (yakt broker --help)
  topics      create, list, describe or delete topics (yakt topics --help)
  brokers     list the registered brokers (yakt brokers list --help)
  cluster     the quorum's leader, term, commit index and members (yakt cluster status --help)
  log         print the metadata log, or follow it (yakt log tail --help)
  snapshot    take or list a controller's snapshots (yakt snapshot --help)
  produce     send lines from stdin to a topic, one message each (yakt produce --help)
  consume     print a topic's messages, alone or in a consumer group (yakt consume --help)
  sim         simulate whole clusters of the Raft core under faults (yakt sim --help)
  version     print the version
  help        print this help

Every command takes --help. Exit status: 0 ok, 1 runtime failure, 2 bad flags or configuration.`;

function version(): string {
  const packageJson: unknown = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  const value = typeof packageJson === "object" && packageJson !== null && "version" in packageJson ? packageJson.version : undefined;
  return typeof value === "string" ? value : "unknown";
}

async function controllerCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseControllerArgs(argv);
  switch (parsed.kind) {
    case "help":
      console.log(controllerUsage);
      return 0;
    case "error":
      console.error(`yakt controller: ${parsed.message}\nRun "yakt controller --help" for usage.`);
      return 2;
    case "config":
      return runController(parsed.config);
  }
}

async function brokerCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseBrokerArgs(argv);
  switch (parsed.kind) {
    case "help":
      console.log(brokerUsage);
      return 0;
    case "error":
      console.error(`yakt broker: ${parsed.message}\nRun "yakt broker --help" for usage.`);
      return 2;
    case "config":
      return runBroker(parsed.config);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "dev":
      return devCommand(rest);
    case "controller":
      return controllerCommand(rest);
    case "broker":
      return brokerCommand(rest);
    case "sim":
      return simCommand(rest);
    case "topics":
    case "brokers":
    case "cluster":
    case "log":
    case "snapshot":
      return adminCommand(argv, { stdout: process.stdout, stderr: process.stderr });
    case "produce":
      return produceCommand(rest, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    case "consume":
      return consumeCommand(rest, { stdout: process.stdout, stderr: process.stderr });
    case "version":
    case "--version":
      console.log(`yakt ${version()}`);
      return 0;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(usage);
      return 0;
    default:
      console.error(`yakt: unknown command "${command}"\n\n${usage}`);
      return 2;
  }
}

runMain(main);
