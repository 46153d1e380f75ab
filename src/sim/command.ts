// The simulator's command line: runs many seeds, or replays one with a trace.
//   npm run sim -- --seeds N [--from S] [--fault-ticks T]
//   npm run sim -- --seed S [--trace] [--messages]
// (also `yakt sim …`)
import { runSeed } from "./run.js";
import type { RunOptions } from "./run.js";

interface Args {
  readonly seeds: number;
  readonly from: number;
  readonly single: number | undefined;
  readonly trace: boolean;
  readonly messages: boolean;
  readonly faultTicks: number | undefined;
}

const progressEverySeeds = 100;

function parseArgs(argv: readonly string[]): Args {
  let seeds = 100;
  let from = 1;
  let single: number | undefined;
  let trace = false;
  let messages = false;
  let faultTicks: number | undefined;
  const intArg = (i: number, name: string): number => {
    const value = Number(argv[i]);
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`Cannot parse ${name} as a non-negative integer: current value is ${String(argv[i])}`);
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case "--seeds":
        seeds = intArg(++i, arg);
        break;
      case "--from":
        from = intArg(++i, arg);
        break;
      case "--seed":
        single = intArg(++i, arg);
        break;
      case "--trace":
        trace = true;
        break;
      case "--messages":
        trace = true;
        messages = true;
        break;
      case "--fault-ticks":
        faultTicks = intArg(++i, arg);
        break;
      default:
        throw new RangeError(`Cannot parse argument ${String(arg)}: expected --seeds N [--from S] | --seed S [--trace] [--messages] [--fault-ticks T]`);
    }
  }
  return { seeds, from, single, trace, messages, faultTicks };
}

export const simUsage = `Usage: yakt sim --seeds N [--from S] [--fault-ticks T]
       yakt sim --seed S [--trace] [--messages]

Runs whole simulated clusters of the real Raft core, every choice drawn from one seed.
  --seeds N         run N seeds (default 100), starting at --from S (default 1)
  --seed S          run one seed; with --trace print its trace, --messages adds every message
  --fault-ticks T   length of the fault phase in ticks (default 400)
Ends with "sim: seeds=N violations=V liveness_failures=L"; exit status 0 only when both are 0.`;

/** Runs the simulator command line; returns the exit status (2 for bad arguments). */
export function simCommand(argv: readonly string[]): number {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(simUsage);
    return 0;
  }
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    console.error(`yakt sim: ${error instanceof Error ? error.message : String(error)}\n\n${simUsage}`);
    return 2;
  }
  const options: RunOptions = {
    trace: args.trace,
    traceMessages: args.messages,
    ...(args.faultTicks !== undefined ? { overrides: { faultPhaseTicks: args.faultTicks } } : {}),
  };
  const first = args.single ?? args.from;
  const count = args.single === undefined ? args.seeds : 1;
  const startedMs = performance.now();
  const totals = new Map<string, number>();
  let violations = 0;
  let livenessFailures = 0;
  for (let seed = first; seed < first + count; seed++) {
    const result = runSeed(seed, options);
    if (args.trace) for (const line of result.trace) console.log(line);
    const reason = result.violations[0] ?? (result.livenessFailure === undefined ? undefined : `liveness: ${result.livenessFailure}`);
    for (const [key, value] of Object.entries(result.stats)) totals.set(key, (totals.get(key) ?? 0) + value);
    if (result.violations.length > 0) violations++;
    else if (result.livenessFailure !== undefined) livenessFailures++;
    if (reason !== undefined) {
      console.log(`FAIL seed ${seed}: ${reason}`);
      console.log(`  params: ${result.params}`);
      console.log(`  replay: npm run sim -- --seed ${seed} --trace`);
    }
    if (args.single !== undefined) {
      const s = result.stats;
      console.error(
        `seed ${seed}: ${result.params}\n  events=${s.events} time=${s.timeUnits}u messages=${s.messagesSent} leaders=${s.leadersElected} committed=${s.committedIndex} ` +
          `acked=${s.writesAcked} lost=${s.writesLost} reads=${s.readsServed} crashes=${s.crashes} partitions=${s.partitions} ` +
          `membership=${s.membershipChanges} transfers=${s.transfers} snapshots=${s.snapshotsTaken}/${s.snapshotsInstalled}`,
      );
    }
    const done = seed - first + 1;
    if (done % progressEverySeeds === 0) {
      const elapsedS = (performance.now() - startedMs) / 1000;
      console.error(`sim: ${done}/${count} seeds, ${(done / elapsedS).toFixed(1)} seeds/s, violations=${violations} liveness_failures=${livenessFailures}`);
    }
  }
  const elapsedS = (performance.now() - startedMs) / 1000;
  if (count > 1) console.error(`sim: totals ${[...totals].map(([k, v]) => `${k}=${v}`).join(" ")}`);
  console.error(`sim: ${count} seeds in ${elapsedS.toFixed(1)} s (${(count / elapsedS).toFixed(1)} seeds/s)`);
  console.log(`sim: seeds=${count} violations=${violations} liveness_failures=${livenessFailures}`);
  return violations === 0 && livenessFailures === 0 ? 0 : 1;
}
