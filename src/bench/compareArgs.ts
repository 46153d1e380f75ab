// Flags of the comparison benches `writes` and `reads`: YAKt's metadata quorum against etcd or ZooKeeper.
import { parseBenchArgs } from "./flags.js";
import type { ParsedArgs } from "./flags.js";

export type CompareScenario = "writes" | "reads";
/** `etcd` through its JSON gateway, the same HTTP client as YAKt; `etcd-grpc` through its gRPC API. */
export type ReferenceName = "etcd" | "etcd-grpc" | "zookeeper";
export const referenceNames: readonly ReferenceName[] = ["etcd", "etcd-grpc", "zookeeper"];

export interface CompareOptions {
  readonly scenario: CompareScenario;
  /** The system measured beside YAKt; YAKt alone when undefined. */
  readonly reference: ReferenceName | undefined;
  /** Concurrencies of the points sent to the leader, in the order given. */
  readonly concurrencies: readonly number[];
  /** Concurrency of the point(s) sent through a follower. */
  readonly followerConcurrency: number;
  readonly warmUpMs: number;
  readonly measureMs: number;
  readonly jsonFile: string | undefined;
  readonly markdownFile: string | undefined;
  /** Where YAKt's controllers write a V8 CPU profile (`--cpu-prof`) when the bench ends, if anywhere. */
  readonly cpuProfileDir: string | undefined;
}

export type ParsedCompareArgs = ParsedArgs<CompareOptions>;

export const concurrenciesDefault: Readonly<Record<CompareScenario, readonly number[]>> = { writes: [1, 8, 32, 128], reads: [32] };
export const followerConcurrencyDefault = 32;
export const warmUpMsDefault = 2_000;
export const measureMsDefault = 10_000;
const concurrencyMax = 1_024;
const concurrenciesCountMax = 16;
const warmUpMsMax = 600_000;
const measureMsMin = 100;
const measureMsMax = 3_600_000;

export function compareUsage(scenario: CompareScenario): string {
  const what =
    scenario === "writes"
      ? `metadata writes, each carrying a unique 200-byte value: YAKt broker changes (PATCH /v1/brokers/{id}
with a new rackId), etcd puts of a unique key, ZooKeeper creates of a unique znode; at each concurrency on
the leader, then at --follower-concurrency through a follower`
      : `reads of one record, linearizable and stale, on the leader and through a follower: YAKt GET
/v1/topics/{name} (?consistency=stale), etcd range (serializable false/true) of a 200-byte value,
ZooKeeper getData of 200 bytes (no sync: sequentially consistent, so only beside the stale reads)`;
  return `Usage: npm run bench -- ${scenario} [--vs etcd|etcd-grpc|zookeeper] [--concurrency LIST] [--follower-concurrency N]
         [--warm-up-ms N] [--measure-ms N] [--json FILE] [--markdown FILE] [--cpu-prof DIR]

Measures ${what}.
Starts 3 YAKt controllers (and, with --vs, a 3-member reference cluster) on 127.0.0.1 with data in a
temp dir and fsync on; closed-loop clients in this process keep c requests outstanding (HTTP/1.1
keep-alive, one socket per request; one ZooKeeper session per request). Each point runs on YAKt,
then on the reference, then the next point. Prints a table per scenario with ops/s, p50, p99, p99.9.

  --vs NAME                 etcd (its JSON gateway, over the same HTTP client as YAKt), etcd-grpc
                            (the etcd3 package) or zookeeper, measured beside YAKt (installed by
                            scripts/install-references.sh when missing); YAKt alone without it
  --concurrency LIST        concurrencies on the leader, comma-separated, 1 to ${concurrencyMax} (default ${concurrenciesDefault[scenario].join(",")})
  --follower-concurrency N  concurrency through a follower, 0 for none (default ${followerConcurrencyDefault})
  --warm-up-ms N            unmeasured load before each point's measured window (default ${warmUpMsDefault})
  --measure-ms N            each point's measured window, ${measureMsMin} to ${measureMsMax} (default ${measureMsDefault})
  --json FILE               also write every result, the settings and the machine as JSON to FILE
  --markdown FILE           also write the tables as markdown to FILE (printed at the end either way)
  --cpu-prof DIR            run YAKt's controllers with node --cpu-prof; their profiles go to DIR at the end
  -h, --help                print this help

Set YAKT_E2E_KEEP=1 to keep YAKt's temp dir with the controllers' logs.`;
}

const flags = ["--vs", "--concurrency", "--follower-concurrency", "--warm-up-ms", "--measure-ms", "--json", "--markdown", "--cpu-prof"];

export function parseCompareArgs(scenario: CompareScenario, argv: readonly string[]): ParsedCompareArgs {
  return parseBenchArgs(scenario, argv, flags, (values) => ({
    scenario,
    reference: values.choice("--vs", referenceNames),
    concurrencies: values.integers("--concurrency", { min: 1, max: concurrencyMax, countMax: concurrenciesCountMax }, concurrenciesDefault[scenario]),
    followerConcurrency: values.integer("--follower-concurrency", 0, concurrencyMax, followerConcurrencyDefault),
    warmUpMs: values.integer("--warm-up-ms", 0, warmUpMsMax, warmUpMsDefault),
    measureMs: values.integer("--measure-ms", measureMsMin, measureMsMax, measureMsDefault),
    jsonFile: values.text("--json"),
    markdownFile: values.text("--markdown"),
    cpuProfileDir: values.text("--cpu-prof"),
  }));
}
