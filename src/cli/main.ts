#!/usr/bin/env node
// The `yakt` command: one executable for every part of the system.
import { readFileSync } from "node:fs";
import { simCommand } from "../sim/command.js";

const usage = `Usage: yakt <command> [options]

Commands:
  sim        simulate whole clusters of the Raft core under faults (yakt sim --help)
  version    print the version
  help       print this help

Every command takes --help.`;

function version(): string {
  const packageJson: unknown = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  const value = typeof packageJson === "object" && packageJson !== null && "version" in packageJson ? packageJson.version : undefined;
  return typeof value === "string" ? value : "unknown";
}

function main(argv: readonly string[]): number {
  const [command, ...rest] = argv;
  switch (command) {
    case "sim":
      return simCommand(rest);
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

process.exitCode = main(process.argv.slice(2));
