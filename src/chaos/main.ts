// `npm run chaos -- …`: one chaos run against real controller and broker processes; prints progress and a
// summary ending with `chaos: ops=N lost=L linearizable=yes|no|unknown duplicates=D`. Exit 0 when clean, 1 when
// not (the temp dir with the history and every log is kept, and the rerun command printed), 2 for bad
// flags and for --nemesis disk where no small disk can be mounted, 130 after Ctrl-C (everything
// started is stopped first).
import { randomInt } from "node:crypto";
import { chaosUsage, parseChaosArgs, rerunCommand } from "./args.js";
import { SmallDiskUnavailableError } from "../e2e/smallDisk.js";
import { runChaos } from "./run.js";

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseChaosArgs(argv, () => randomInt(0, 0xffff_ffff));
  switch (parsed.kind) {
    case "help":
      console.log(chaosUsage);
      return 0;
    case "error":
      console.error(`chaos: Cannot run as ${parsed.reason}\n\n${chaosUsage}`);
      return 2;
    case "args":
      break;
  }
  const args = parsed.args;
  console.log(`chaos: seed ${args.seed}${args.seedDrawn ? " (drawn)" : ""}; rerun with: ${rerunCommand(args)}`);
  console.log("chaos: the seed fixes every fault and client choice; when each lands on the real processes still varies from run to run");
  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts > 1) {
      // A second Ctrl-C: the harness's exit hook SIGKILLs every controller it started.
      console.error(`chaos: ${signal} again, exiting at once`);
      process.exit(130);
    }
    console.error(`chaos: ${signal}: healing and stopping every process started (Ctrl-C again to kill them at once)`);
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const report = await runChaos(args, { log: (line) => console.log(line), signal: abort.signal });
    for (const line of report.summary) console.log(`chaos: ${line}`);
    if (report.kept) console.log(`chaos: kept ${report.dir} (history.jsonl, messages.jsonl, consumed.jsonl, group-*.jsonl, chaos.log, node-<id>.log and broker-<id>.log)`);
    if (!report.clean) console.log(`chaos: rerun with: ${rerunCommand(args)}`);
    console.log(`chaos: ops=${report.operationsCount} lost=${report.lostCount} linearizable=${report.linearizable} duplicates=${report.duplicatesCount}`);
    if (report.interrupted) return 130;
    return report.clean ? 0 : 1;
  } catch (error) {
    if (error instanceof SmallDiskUnavailableError) {
      console.error(`chaos: ${error.message}`);
      return 2;
    }
    console.error(`chaos: the run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    console.error(`chaos: seed ${args.seed}; rerun with: ${rerunCommand(args)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
