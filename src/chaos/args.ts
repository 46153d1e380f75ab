// The chaos command's flags: parsed and validated here, purely, so a bad flag is an exit 2 with the
// reason before anything starts.
import { parseFlags } from "../cli/flags.js";
import type { FlagSpec } from "../cli/flags.js";
import { brokerNemesisKinds, nemesisKinds } from "./nemesis.js";
import type { BrokerNemesisKind, NemesisKind } from "./nemesis.js";

export interface ChaosArgs {
  readonly durationS: number;
  /** Empty with `--nemesis none`: clients only, a baseline run. */
  readonly nemeses: readonly NemesisKind[];
  /**
   * Whether `--nemesis` was left out (every kind): where a small disk cannot be mounted the run then
   * drops `disk` with a line, while `--nemesis disk` asked for by name refuses to start (exit 2).
   */
  readonly nemesesDefaulted: boolean;
  /** The broker faults (a second plan beside the controllers'); empty with `--nemesis none`. */
  readonly brokerNemeses: readonly BrokerNemesisKind[];
  readonly seed: number;
  /** Whether the seed was drawn (not given): the summary says so, and how to rerun with it. */
  readonly seedDrawn: boolean;
  readonly clientsCount: number;
  readonly keysCount: number;
  readonly controllersCount: number;
  /** Idempotent acks=all producers of the data plane. */
  readonly producersCount: number;
  /** Members of one consumer group consuming the chaos topic during the faults; 0 leaves the group out. */
  readonly groupConsumersCount: number;
  readonly keep: boolean;
}

export type ParsedChaosArgs = { readonly kind: "help" } | { readonly kind: "error"; readonly reason: string } | { readonly kind: "args"; readonly args: ChaosArgs };

export const chaosUsage = `Usage: npm run chaos -- [--duration S] [--nemesis LIST|none] [--seed N]
                       [--clients N] [--keys N] [--controllers N] [--producers N]
                       [--group-consumers N] [--keep]

Starts real controllers and 3 brokers on 127.0.0.1 with a fault proxy on every Raft link and every broker
link, runs concurrent clients (linearizable reads and writes of one register per key through random
controllers), idempotent acks=all producers and the members of a consumer group while two nemeses kill,
pause, partition, slow, stop and hand over controllers and fill their disks, and kill, pause and cut off
brokers; heals everything, then checks the history, reads every message back and checks what the group
was handed and committed.

  --duration S      seconds of faults and load, 5 to 86400 (default 60)
  --nemesis LIST    faults to inject, comma-separated from kill, pause, partition, slow, terminate
                    (SIGTERM and restart), transfer (leadership transfer) and disk (a full disk: needs
                    root to mount a small tmpfs per controller) of controllers, and broker-kill,
                    broker-pause and broker-partition; default all (disk only where it can be
                    mounted); none for a baseline
  --seed N          0 to 4294967295: names the faults and client choices (default: drawn, and printed)
  --clients N       concurrent metadata clients, 1 to 64 (default 5)
  --keys N          registers (broker ids), 1 to 64 (default 8)
  --controllers N   3, 5 or 7 (default 3)
  --producers N     concurrent producers, 1 to 16 (default 3)
  --group-consumers N  members of one consumer group consuming and committing during the faults,
                    0 to 8 (default 2; 0 leaves the group out)
  --keep            keep the temp dir (history and logs) even when the run is clean

Ends with "chaos: ops=N lost=L linearizable=yes|no|unknown duplicates=D"; exit 0 only when the history is
linearizable, no acknowledged write or message is lost, no message is read twice, the group's checks
pass and everything converged; 1 otherwise (the temp dir is kept and the rerun command printed); 2 for bad flags, or
--nemesis disk where no small disk can be mounted.`;

const specs: readonly FlagSpec[] = [
  { name: "--duration", kind: "integer", min: 5, max: 86_400 },
  { name: "--nemesis", kind: "string" },
  { name: "--seed", kind: "integer", min: 0, max: 0xffff_ffff },
  { name: "--clients", kind: "integer", min: 1, max: 64 },
  { name: "--keys", kind: "integer", min: 1, max: 64 },
  { name: "--controllers", kind: "integer", min: 3, max: 7 },
  { name: "--producers", kind: "integer", min: 1, max: 16 },
  { name: "--group-consumers", kind: "integer", min: 0, max: 8 },
  { name: "--keep", kind: "boolean" },
];

/** Parses `argv` (after the command); `drawSeed` gives the seed when none is given. */
export function parseChaosArgs(argv: readonly string[], drawSeed: () => number): ParsedChaosArgs {
  const parsed = parseFlags(argv, specs, []);
  if (parsed.kind !== "flags") return parsed;
  const { integers, strings, booleans } = parsed.flags;
  const nemesesGiven = strings.get("--nemesis");
  const nemeses = parseNemeses(nemesesGiven ?? [...nemesisKinds, ...brokerNemesisKinds].join(","));
  if (typeof nemeses === "string") return { kind: "error", reason: nemeses };
  const controllersCount = integers.get("--controllers") ?? 3;
  if (controllersCount % 2 === 0) return { kind: "error", reason: `--controllers must be 3, 5 or 7 (an odd count, so a minority can fail): current value is ${controllersCount}` };
  const given = integers.get("--seed");
  return {
    kind: "args",
    args: {
      durationS: integers.get("--duration") ?? 60,
      nemeses: nemeses.controllers,
      nemesesDefaulted: nemesesGiven === undefined,
      brokerNemeses: nemeses.brokers,
      seed: given ?? drawSeed() >>> 0,
      seedDrawn: given === undefined,
      clientsCount: integers.get("--clients") ?? 5,
      keysCount: integers.get("--keys") ?? 8,
      controllersCount,
      producersCount: integers.get("--producers") ?? 3,
      groupConsumersCount: integers.get("--group-consumers") ?? 2,
      keep: booleans.has("--keep"),
    },
  };
}

/** The kinds named by a comma-separated list, controllers' and brokers' apart, or why the list is wrong. */
function parseNemeses(list: string): { controllers: NemesisKind[]; brokers: BrokerNemesisKind[] } | string {
  const kinds = { controllers: [] as NemesisKind[], brokers: [] as BrokerNemesisKind[] };
  if (list === "none") return kinds;
  const seen = new Set<string>();
  for (const name of list.split(",").map((n) => n.trim())) {
    const controllerKind = nemesisKinds.find((k) => k === name);
    const brokerKind = brokerNemesisKinds.find((k) => k === name);
    if (controllerKind === undefined && brokerKind === undefined) return `--nemesis must list ${[...nemesisKinds, ...brokerNemesisKinds].join(", ")} (or be none): ${JSON.stringify(name)} is not one of them`;
    if (seen.has(name)) return `--nemesis names ${name} twice`;
    seen.add(name);
    if (controllerKind !== undefined) kinds.controllers.push(controllerKind);
    if (brokerKind !== undefined) kinds.brokers.push(brokerKind);
  }
  return kinds;
}

/** The command line that reruns a run with the same faults and client choices (on the same machine). */
export function rerunCommand(args: ChaosArgs): string {
  // The default set is left to default: named, disk would refuse to start where it was dropped.
  const nemeses = [...args.nemeses, ...args.brokerNemeses];
  const nemesis = args.nemesesDefaulted ? "" : ` --nemesis ${nemeses.length === 0 ? "none" : nemeses.join(",")}`;
  return `npm run chaos -- --seed ${args.seed} --duration ${args.durationS}${nemesis} --clients ${args.clientsCount} --keys ${args.keysCount} --controllers ${args.controllersCount} --producers ${args.producersCount} --group-consumers ${args.groupConsumersCount}`;
}
