// The chaos command's flags: parsed and validated here, purely, so a bad flag is an exit 2 with the
// reason before anything starts.
import { parseFlags } from "../cli/flags.js";
import type { FlagSpec } from "../cli/flags.js";
import { nemesisKinds } from "./nemesis.js";
import type { NemesisKind } from "./nemesis.js";

export interface ChaosArgs {
  readonly durationS: number;
  /** Empty with `--nemesis none`: clients only, a baseline run. */
  readonly nemeses: readonly NemesisKind[];
  /**
   * Whether `--nemesis` was left out (every kind): where a small disk cannot be mounted the run then
   * drops `disk` with a line, while `--nemesis disk` asked for by name refuses to start (exit 2).
   */
  readonly nemesesDefaulted: boolean;
  readonly seed: number;
  /** Whether the seed was drawn (not given): the summary says so, and how to rerun with it. */
  readonly seedDrawn: boolean;
  readonly clientsCount: number;
  readonly keysCount: number;
  readonly controllersCount: number;
  readonly keep: boolean;
}

export type ParsedChaosArgs = { readonly kind: "help" } | { readonly kind: "error"; readonly reason: string } | { readonly kind: "args"; readonly args: ChaosArgs };

export const chaosUsage = `Usage: npm run chaos -- [--duration S] [--nemesis LIST|none] [--seed N]
                       [--clients N] [--keys N] [--controllers N] [--keep]

Starts real controllers on 127.0.0.1 with a fault proxy on every Raft link, runs concurrent clients
(linearizable reads and writes of one register per key through random controllers) while a nemesis
kills, pauses, partitions, slows, stops and hands over nodes and fills their disks, heals everything, then
checks the history.

  --duration S      seconds of faults and load, 5 to 86400 (default 60)
  --nemesis LIST    faults to inject, comma-separated from kill, pause, partition, slow, terminate
                    (SIGTERM and restart), transfer (leadership transfer) and disk (a full disk: needs
                    root to mount a small tmpfs per controller); default all (disk only where it can
                    be mounted); none for a baseline
  --seed N          0 to 4294967295: names the faults and client choices (default: drawn, and printed)
  --clients N       concurrent clients, 1 to 64 (default 5)
  --keys N          registers (broker ids), 1 to 64 (default 8)
  --controllers N   3, 5 or 7 (default 3)
  --keep            keep the temp dir (history and logs) even when the run is clean

Ends with "chaos: ops=N lost=L linearizable=yes|no|unknown duplicates=0"; exit 0 only when the history is
linearizable, no acknowledged write is lost and every controller converged; 1 otherwise (the temp dir is
kept and the rerun command printed); 2 for bad flags, or --nemesis disk where no small disk can be mounted.`;

const specs: readonly FlagSpec[] = [
  { name: "--duration", kind: "integer", min: 5, max: 86_400 },
  { name: "--nemesis", kind: "string" },
  { name: "--seed", kind: "integer", min: 0, max: 0xffff_ffff },
  { name: "--clients", kind: "integer", min: 1, max: 64 },
  { name: "--keys", kind: "integer", min: 1, max: 64 },
  { name: "--controllers", kind: "integer", min: 3, max: 7 },
  { name: "--keep", kind: "boolean" },
];

/** Parses `argv` (after the command); `drawSeed` gives the seed when none is given. */
export function parseChaosArgs(argv: readonly string[], drawSeed: () => number): ParsedChaosArgs {
  const parsed = parseFlags(argv, specs, []);
  if (parsed.kind !== "flags") return parsed;
  const { integers, strings, booleans } = parsed.flags;
  const nemesesGiven = strings.get("--nemesis");
  const nemeses = parseNemeses(nemesesGiven ?? nemesisKinds.join(","));
  if (typeof nemeses === "string") return { kind: "error", reason: nemeses };
  const controllersCount = integers.get("--controllers") ?? 3;
  if (controllersCount % 2 === 0) return { kind: "error", reason: `--controllers must be 3, 5 or 7 (an odd count, so a minority can fail): current value is ${controllersCount}` };
  const given = integers.get("--seed");
  return {
    kind: "args",
    args: {
      durationS: integers.get("--duration") ?? 60,
      nemeses,
      nemesesDefaulted: nemesesGiven === undefined,
      seed: given ?? drawSeed() >>> 0,
      seedDrawn: given === undefined,
      clientsCount: integers.get("--clients") ?? 5,
      keysCount: integers.get("--keys") ?? 8,
      controllersCount,
      keep: booleans.has("--keep"),
    },
  };
}

/** The kinds named by a comma-separated list, or why the list is wrong. */
function parseNemeses(list: string): NemesisKind[] | string {
  if (list === "none") return [];
  const names = list.split(",").map((name) => name.trim());
  const kinds: NemesisKind[] = [];
  for (const name of names) {
    const kind = nemesisKinds.find((k) => k === name);
    if (kind === undefined) return `--nemesis must list ${nemesisKinds.join(", ")} (or be none): ${JSON.stringify(name)} is not one of them`;
    if (kinds.includes(kind)) return `--nemesis names ${kind} twice`;
    kinds.push(kind);
  }
  return kinds;
}

/** The command line that reruns a run with the same faults and client choices (on the same machine). */
export function rerunCommand(args: ChaosArgs): string {
  // The default set is left to default: named, disk would refuse to start where it was dropped.
  const nemesis = args.nemesesDefaulted ? "" : ` --nemesis ${args.nemeses.length === 0 ? "none" : args.nemeses.join(",")}`;
  return `npm run chaos -- --seed ${args.seed} --duration ${args.durationS}${nemesis} --clients ${args.clientsCount} --keys ${args.keysCount} --controllers ${args.controllersCount}`;
}
