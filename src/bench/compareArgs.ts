// Flags of the comparison benches `writes` and `reads`: YAKt's metadata quorum against etcd or ZooKeeper.

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

export type ParsedCompareArgs =
  | { readonly kind: "help" }
  | { readonly kind: "options"; readonly options: CompareOptions }
  | { readonly kind: "error"; readonly message: string };

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
  if (argv.includes("--help") || argv.includes("-h")) return { kind: "help" };
  const error = (reason: string, value?: string): ParsedCompareArgs => ({
    kind: "error",
    message: `Cannot run the ${scenario} bench as ${reason}${value === undefined ? "" : `: current value is "${value}"`}`,
  });
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const equals = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    if (!flags.includes(flag)) return error(arg.startsWith("-") ? `${flag} is not a flag of the ${scenario} bench` : "it takes no positional arguments", arg);
    const value = equals === -1 ? argv[++i] : arg.slice(equals + 1);
    if (value === undefined || value.startsWith("--") || value === "") return error(`${flag} needs a value`);
    if (values.has(flag)) return error(`${flag} is given twice`, value);
    values.set(flag, value);
  }

  const vs = values.get("--vs");
  const reference = referenceNames.find((name) => name === vs);
  if (vs !== undefined && reference === undefined) return error(`--vs must be one of ${referenceNames.join(", ")}`, vs);

  const concurrenciesText = values.get("--concurrency");
  let concurrencies = concurrenciesDefault[scenario];
  if (concurrenciesText !== undefined) {
    const list = concurrenciesText.split(",").map((item) => readInteger(item, 1, concurrencyMax));
    const valid = list.length <= concurrenciesCountMax && list.every((c) => c !== undefined) && new Set(list).size === list.length;
    if (!valid) return error(`--concurrency must be 1 to ${concurrenciesCountMax} distinct integers from 1 to ${concurrencyMax}, separated by commas`, concurrenciesText);
    concurrencies = list as number[];
  }

  const integers: Partial<Record<string, number>> = {};
  const bounds: readonly (readonly [string, number, number, number])[] = [
    ["--follower-concurrency", 0, concurrencyMax, followerConcurrencyDefault],
    ["--warm-up-ms", 0, warmUpMsMax, warmUpMsDefault],
    ["--measure-ms", measureMsMin, measureMsMax, measureMsDefault],
  ];
  for (const [flag, min, max, fallback] of bounds) {
    const text = values.get(flag);
    const value = text === undefined ? fallback : readInteger(text, min, max);
    if (value === undefined) return error(`${flag} must be an integer from ${min} to ${max}`, text);
    integers[flag] = value;
  }

  return {
    kind: "options",
    options: {
      scenario,
      reference,
      concurrencies,
      followerConcurrency: integers["--follower-concurrency"] ?? followerConcurrencyDefault,
      warmUpMs: integers["--warm-up-ms"] ?? warmUpMsDefault,
      measureMs: integers["--measure-ms"] ?? measureMsDefault,
      jsonFile: values.get("--json"),
      markdownFile: values.get("--markdown"),
      cpuProfileDir: values.get("--cpu-prof"),
    },
  };
}

function readInteger(text: string, min: number, max: number): number | undefined {
  const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  return Number.isSafeInteger(value) && value >= min && value <= max ? value : undefined;
}
