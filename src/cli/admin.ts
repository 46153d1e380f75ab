// The admin commands of SPEC §6 (`yakt topics|brokers|cluster|log|snapshot …`) over the typed admin client.
import { setTimeout as sleepMs } from "node:timers/promises";
import { AdminClient } from "../client/adminClient.js";
import { AdminError } from "../client/adminError.js";
import { assert } from "../shared/assert.js";
import { limits } from "../shared/limits.js";
import { parseHostPort } from "../controller/config.js";
import { partitionsCountMax } from "../metadata/placement.js";
import { brokersTable, clusterStatusText, logHeader, logLine, memberAdded, memberRemoved, snapshotsTable, snapshotTaken, topicDescription, topicsTable, topicWritten } from "./adminOutput.js";
import { planDevControllers } from "./dev.js";
import { parseFlags } from "./flags.js";
import type { FlagSpec, ParsedFlags } from "./flags.js";
import { formatTable } from "./table.js";

/** Where output goes: `process.stdout` and `process.stderr`, or strings in tests. */
export interface TextSink {
  write(text: string): unknown;
}

export interface AdminIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  /** Builds the client a command uses; a default `AdminClient` when absent. */
  readonly newClient?: (options: { readonly controllers: readonly string[]; readonly signal?: AbortSignal }) => AdminClient;
  /** Ends `log tail --follow`; SIGINT or SIGTERM when absent. */
  readonly stop?: AbortSignal;
  /** Waits between polls of `log tail --follow`. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** `yakt dev`'s API URLs with its defaults (3 controllers from base port 9000). */
export const devControllerUrls: readonly string[] = planDevControllers({ controllersCount: 3, dataDir: ".", basePort: 9000 }).map((c) => `http://${c.api.host}:${c.api.port}`);

/** A cluster has at most this many members, so no list of controllers needs more. */
const controllersCountMax = limits.raft.membersCountMax;
/** Records of one page of `GET /v1/log` (the API's `limit` maximum). */
const logPageRecordsMax = 10_000;
/** `log tail` shows the last this many offsets unless told otherwise. */
const logTailLimitDefault = 20;
/** `log tail --follow` asks again this often while nothing is new: quick enough to watch, light on the leader. */
const followPollIntervalMs = 1_000;

const commonFlags: readonly FlagSpec[] = [
  { name: "--controllers", kind: "string" },
  { name: "--json", kind: "boolean" },
];

/** Flag and meaning, one row each in a command's usage. */
type FlagHelp = readonly (readonly [string, string])[];

const commonFlagsHelp: FlagHelp = [
  ["--controllers URL,…", `controllers to ask, any of them (default ${devControllerUrls.join(",")}, the dev cluster)`],
  ["--json", "print the API's JSON instead of a table"],
  ["-h, --help", "print this help"],
];

interface Context {
  readonly flags: ParsedFlags;
  readonly json: boolean;
  /** --node as a base URL. */
  readonly node: string | undefined;
  readonly io: AdminIo;
  readonly out: (text: string) => void;
  readonly client: (signal?: AbortSignal) => AdminClient;
}

interface Command {
  readonly group: string;
  readonly name: string;
  /** Completes "Cannot … as": what the command does. */
  readonly action: string;
  readonly synopsis: string;
  readonly description: string;
  readonly positionals: readonly string[];
  readonly flags: readonly FlagSpec[];
  /** Flags the command cannot run without. */
  readonly required?: readonly string[];
  readonly flagsHelp: FlagHelp;
  /** Runs the command; resolves with its exit status. An `AdminError` becomes exit status 1. */
  readonly run: (context: Context) => Promise<number>;
}

const nodeFlag: FlagSpec = { name: "--node", kind: "string" };
/** Controller ids are Raft node ids, which travel as u32. */
const controllerIdFlag: FlagSpec = { name: "--id", kind: "integer", min: 1, max: 0xffff_ffff };
/** Flags whose value is an address, HOST:PORT or [IPV6]:PORT. */
const addressFlags: readonly string[] = ["--raft", "--api"];
const nodeFlagHelp: FlagHelp = [["--node URL", "the controller whose snapshots these are (default: the leader)"]];

const commands: readonly Command[] = [
  {
    group: "topics",
    name: "create",
    action: "create topic",
    synopsis: "NAME [--partitions N] [--replication-factor R]",
    description: "Creates topic NAME with N partitions, their replicas placed on the live (UNFENCED) brokers.",
    positionals: ["NAME"],
    flags: [
      { name: "--partitions", kind: "integer", min: 0, max: partitionsCountMax },
      { name: "--replication-factor", kind: "integer", min: 1, max: limits.metadata.replicasCountMax },
    ],
    flagsHelp: [
      ["--partitions N", `partitions, 0 to ${partitionsCountMax} (default 0)`],
      ["--replication-factor R", `replicas per partition, 1 to ${limits.metadata.replicasCountMax} (default 3, or fewer when fewer brokers are live)`],
    ],
    run: async ({ flags, json, out, client }) => {
      const partitions = flags.integers.get("--partitions");
      const replicationFactor = flags.integers.get("--replication-factor");
      const answer = await client().createTopic({
        name: positional(flags, 0),
        ...(partitions === undefined ? {} : { partitions }),
        ...(replicationFactor === undefined ? {} : { replicationFactor }),
      });
      out(json ? jsonText(answer) : topicWritten("Created", answer));
      return 0;
    },
  },
  {
    group: "topics",
    name: "list",
    action: "list topics",
    synopsis: "",
    description: "Lists the topics: NAME, PARTITIONS, RF (replicas per partition) and UUID.",
    positionals: [],
    flags: [],
    flagsHelp: [],
    run: async ({ json, out, client }) => {
      const answer = await client().listTopics();
      out(json ? jsonText(answer) : topicsTable(answer.topics));
      return 0;
    },
  },
  {
    group: "topics",
    name: "describe",
    action: "describe topic",
    synopsis: "NAME",
    description: "Shows topic NAME with one row per partition: LEADER, REPLICAS, ISR and EPOCH.",
    positionals: ["NAME"],
    flags: [],
    flagsHelp: [],
    run: async ({ flags, json, out, client }) => {
      const answer = await client().getTopic(positional(flags, 0));
      out(json ? jsonText(answer) : topicDescription(answer.topic));
      return 0;
    },
  },
  {
    group: "topics",
    name: "delete",
    action: "delete topic",
    synopsis: "NAME",
    description: "Deletes topic NAME and its partitions.",
    positionals: ["NAME"],
    flags: [],
    flagsHelp: [],
    run: async ({ flags, json, out, client }) => {
      const answer = await client().deleteTopic(positional(flags, 0));
      out(json ? jsonText(answer) : topicWritten("Deleted", answer));
      return 0;
    },
  },
  {
    group: "brokers",
    name: "list",
    action: "list brokers",
    synopsis: "[--status S]",
    description: "Lists the registered brokers: ID, HOST:PORT, RACK, STATUS and EPOCH.",
    positionals: [],
    flags: [{ name: "--status", kind: "string" }],
    flagsHelp: [["--status S", "only brokers in S: active (= UNFENCED), INIT, UNFENCED, FENCED or CLOSED; comma-separated for several"]],
    run: async ({ flags, json, out, client }) => {
      const status = flags.strings.get("--status");
      const answer = await client().listBrokers(status === undefined ? {} : { status });
      out(json ? jsonText(answer) : brokersTable(answer.brokers));
      return 0;
    },
  },
  {
    group: "cluster",
    name: "status",
    action: "show cluster status",
    synopsis: "",
    description: "Shows the quorum as the leader sees it: leader, term and commit index, then each member's ROLE,\nMATCH (index), LAG (entries behind the leader) and LAST CONTACT.",
    positionals: [],
    flags: [],
    flagsHelp: [],
    run: async ({ json, out, client }) => {
      const status = await client().clusterStatus();
      out(json ? jsonText(status) : clusterStatusText(status));
      return 0;
    },
  },
  {
    group: "cluster",
    name: "add-member",
    action: "add a controller",
    synopsis: "--id N --raft HOST:PORT --api HOST:PORT [--observer]",
    description: `Adds controller N, started with "yakt controller --id N … --join": registers its addresses, adds it as
an observer (a Raft learner) and, unless --observer, makes it a voter once it has caught up with the leader
(waiting up to 30 s). One change at a time. A controller that does not catch up stays an observer: run
the same command again to promote it.`,
    positionals: [],
    flags: [controllerIdFlag, { name: "--raft", kind: "string" }, { name: "--api", kind: "string" }, { name: "--observer", kind: "boolean" }],
    required: ["--id", "--raft", "--api"],
    flagsHelp: [
      ["--id N", "the new controller's id (its --id)"],
      ["--raft HOST:PORT", "where its Raft transport listens (its --raft)"],
      ["--api HOST:PORT", "where its HTTP API listens (its --api)"],
      ["--observer", "leave it an observer: it receives the log but does not vote"],
    ],
    run: async ({ flags, json, out, client }) => {
      const answer = await client().addMember({
        id: requiredInteger(flags, "--id"),
        raftAddress: requiredString(flags, "--raft"),
        apiAddress: requiredString(flags, "--api"),
        role: flags.booleans.has("--observer") ? "observer" : "voter",
      });
      out(json ? jsonText(answer) : memberAdded(answer));
      return 0;
    },
  },
  {
    group: "cluster",
    name: "remove-member",
    action: "remove a controller",
    synopsis: "--id N",
    description: "Removes controller N, voter or observer; removing the leader hands leadership to another voter first.\nStop the removed controller's process afterwards.",
    positionals: [],
    flags: [controllerIdFlag],
    required: ["--id"],
    flagsHelp: [["--id N", "the controller to remove"]],
    run: async ({ flags, json, out, client }) => {
      const answer = await client().removeMember(requiredInteger(flags, "--id"));
      out(json ? jsonText(answer) : memberRemoved(answer));
      return 0;
    },
  },
  {
    group: "log",
    name: "tail",
    action: "read the metadata log",
    synopsis: "[--from OFFSET] [--limit N] [--follow]",
    description: `Prints the metadata log's records: those of the last N offsets, or up to N records from OFFSET.
With --follow, then prints new records as they commit (asking every ${followPollIntervalMs / 1000} s) until Ctrl-C;
with --json as well, one JSON record per line.`,
    positionals: [],
    flags: [
      { name: "--from", kind: "integer", min: 1, max: Number.MAX_SAFE_INTEGER },
      { name: "--limit", kind: "integer", min: 1, max: logPageRecordsMax },
      { name: "--follow", kind: "boolean" },
    ],
    flagsHelp: [
      ["--from OFFSET", "first offset to print (default: the last N offsets)"],
      ["--limit N", `records per page, 1 to ${logPageRecordsMax} (default ${logTailLimitDefault})`],
      ["--follow", "keep printing new records until Ctrl-C"],
    ],
    run: tailLog,
  },
  {
    group: "snapshot",
    name: "create",
    action: "take a snapshot",
    synopsis: "[--node URL]",
    description: "Snapshots a controller's metadata state now and compacts its log (each controller keeps its own).",
    positionals: [],
    flags: [nodeFlag],
    flagsHelp: nodeFlagHelp,
    run: async (context) => {
      const { json, out } = context;
      const admin = context.client();
      const node = await nodeUrl(context, admin);
      const answer = await admin.takeSnapshot({ node });
      out(json ? jsonText(answer) : snapshotTaken(node, answer.snapshot));
      return 0;
    },
  },
  {
    group: "snapshot",
    name: "list",
    action: "list snapshots",
    synopsis: "[--node URL]",
    description: "Lists the snapshots a controller holds: ID, INDEX, TERM and BYTES.",
    positionals: [],
    flags: [nodeFlag],
    flagsHelp: nodeFlagHelp,
    run: async (context) => {
      const { json, out } = context;
      const admin = context.client();
      const node = await nodeUrl(context, admin);
      const answer = await admin.listSnapshots({ node });
      out(json ? jsonText(answer) : snapshotsTable(node, answer));
      return 0;
    },
  },
];

/** Runs `yakt <group> <command> …`; resolves with the exit status: 0 ok, 1 failed, 2 bad arguments. */
export async function adminCommand(argv: readonly string[], io: AdminIo): Promise<number> {
  const [group = "", name, ...rest] = argv;
  const inGroup = commands.filter((c) => c.group === group);
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout.write(`${groupUsage(group, inGroup)}\n`);
    return 0;
  }
  const command = inGroup.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr.write(`yakt ${group}: unknown command "${name}"\n\n${groupUsage(group, inGroup)}\n`);
    return 2;
  }
  const parsed = parseFlags(rest, [...command.flags, ...commonFlags], command.positionals);
  if (parsed.kind === "help") {
    io.stdout.write(`${usage(command)}\n`);
    return 0;
  }
  const checked = parsed.kind === "error" ? { error: parsed.reason } : checkFlags(parsed.flags, command.required ?? []);
  if ("error" in checked) {
    io.stderr.write(`yakt ${group} ${name}: Cannot ${command.action} as ${checked.error}\n\n${usage(command)}\n`);
    return 2;
  }
  return runCommand(command, checked.context(io));
}

async function runCommand(command: Command, context: Context): Promise<number> {
  try {
    return await command.run(context);
  } catch (error) {
    if (!(error instanceof AdminError)) throw error;
    const attempts = error.attempts.exhausted ? `, after ${error.attempts.count} attempts` : "";
    context.io.stderr.write(`yakt ${command.group} ${command.name}: ${error.message} (${error.code}${attempts})\n`);
    return 1;
  }
}

/** Checks what the flag parser cannot: required flags, URLs, addresses and statuses. */
function checkFlags(flags: ParsedFlags, required: readonly string[]): { readonly error: string } | { readonly context: (io: AdminIo) => Context } {
  const missing = required.find((flag) => !flags.strings.has(flag) && !flags.integers.has(flag));
  if (missing !== undefined) return { error: `${missing} is required` };
  for (const flag of addressFlags) {
    const text = flags.strings.get(flag);
    const parsed = text === undefined ? undefined : parseHostPort(text, flag);
    if (parsed !== undefined && !parsed.ok) return { error: `${parsed.error}: current value is ${JSON.stringify(text)}` };
  }
  const controllers = parseUrls(flags.strings.get("--controllers") ?? devControllerUrls.join(","), "--controllers", controllersCountMax);
  if (typeof controllers === "string") return { error: controllers };
  const nodeText = flags.strings.get("--node");
  const node = nodeText === undefined ? undefined : parseUrls(nodeText, "--node", 1);
  if (typeof node === "string") return { error: node };
  const status = flags.strings.get("--status");
  if (status !== undefined && !status.split(",").every((s) => brokerStatusWords.has(s.trim().toUpperCase()))) {
    return { error: `--status must be active, INIT, UNFENCED, FENCED or CLOSED, comma-separated for several: current value is ${JSON.stringify(status)}` };
  }
  return {
    context: (io) => ({
      flags,
      json: flags.booleans.has("--json"),
      node: node?.[0],
      io,
      out: (text) => io.stdout.write(`${text}\n`),
      client: (signal) => (io.newClient ?? defaultClient)({ controllers, ...(signal === undefined ? {} : { signal }) }),
    }),
  };
}

/** The statuses the API's `?status=` accepts (ALIVE and ACTIVE mean UNFENCED). */
const brokerStatusWords: ReadonlySet<string> = new Set(["ACTIVE", "ALIVE", "INIT", "UNFENCED", "FENCED", "CLOSED"]);

/** Base URLs from `URL,…`; `host:port` means `http://host:port`. A string is the reason they are bad. */
function parseUrls(text: string, flag: string, countMax: number): readonly string[] | string {
  const parts = text.split(",").map((part) => part.trim()).filter((part) => part.length > 0);
  if (parts.length === 0 || parts.length > countMax) {
    return `${flag} must list ${countMax === 1 ? "one URL" : `1 to ${countMax} URLs`}: current value is ${JSON.stringify(text)}`;
  }
  const urls: string[] = [];
  for (const part of parts) {
    const withScheme = part.includes("://") ? part : `http://${part}`;
    const url = URL.canParse(withScheme) ? new URL(withScheme) : undefined;
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:") || url.pathname !== "/" || url.search !== "" || url.username !== "") {
      return `${flag} must list base URLs like http://127.0.0.1:9001: current value is ${JSON.stringify(part)}`;
    }
    urls.push(url.origin);
  }
  return urls;
}

function defaultClient(options: { readonly controllers: readonly string[]; readonly signal?: AbortSignal }): AdminClient {
  return new AdminClient(options);
}

/** The --node given, else the leader: snapshots belong to one controller. */
async function nodeUrl(context: Context, admin: AdminClient): Promise<string> {
  return context.node ?? admin.leaderUrl();
}

/**
 * `log tail`: without --from, the records of the last `limit` offsets (offsets without a metadata
 * record, such as Raft's own entries, show nothing). With --follow, every page from there on until
 * stopped.
 */
async function tailLog(context: Context): Promise<number> {
  const { flags, json, out } = context;
  const limit = flags.integers.get("--limit") ?? logTailLimitDefault;
  if (!flags.booleans.has("--follow")) {
    const admin = context.client();
    const page = await admin.log({ fromOffset: await startOffset(admin, flags, limit), limit });
    if (json) out(jsonText(page));
    else out(page.records.length === 0 ? `no records from offset ${page.nextOffset} (the log is at ${page.currentOffset})` : [logHeader, ...page.records.map(logLine)].join("\n"));
    return 0;
  }
  const stopping = context.io.stop === undefined ? interruptSignal() : { signal: context.io.stop, dispose: () => {} };
  try {
    await follow(context, stopping.signal, limit);
  } catch (error) {
    if (!(error instanceof AdminError && error.code === "ABORTED")) throw error;
  } finally {
    stopping.dispose();
  }
  return 0;
}

async function follow(context: Context, stop: AbortSignal, limit: number): Promise<void> {
  const { flags, json, out } = context;
  const admin = context.client(stop);
  const sleep = context.io.sleep ?? ((ms, signal) => sleepMs(ms, undefined, { signal }));
  let fromOffset = await startOffset(admin, flags, limit);
  if (!json) out(logHeader);
  // Bounded by the caller's stop: a tail -f runs until Ctrl-C.
  while (!stop.aborted) {
    const page = await admin.log({ fromOffset, limit });
    for (const record of page.records) out(json ? JSON.stringify(record) : logLine(record));
    fromOffset = page.nextOffset;
    if (page.records.length < limit) await sleep(followPollIntervalMs, stop).catch(() => {});
  }
}

async function startOffset(admin: AdminClient, flags: ParsedFlags, limit: number): Promise<number> {
  const from = flags.integers.get("--from");
  if (from !== undefined) return from;
  const head = await admin.log({ limit: 1 });
  return Math.max(head.startOffset + 1, head.currentOffset - limit + 1);
}

/** Ctrl-C or SIGTERM, for as long as it is not disposed (then they stop the process again). */
function interruptSignal(): { readonly signal: AbortSignal; readonly dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

function requiredInteger(flags: ParsedFlags, flag: string): number {
  const value = flags.integers.get(flag);
  assert(value !== undefined, `checkFlags makes sure ${flag} is given`);
  return value;
}

function requiredString(flags: ParsedFlags, flag: string): string {
  const value = flags.strings.get(flag);
  assert(value !== undefined, `checkFlags makes sure ${flag} is given`);
  return value;
}

function positional(flags: ParsedFlags, index: number): string {
  const value = flags.positionals[index];
  assert(value !== undefined, `the flag parser checks that positional ${index} is given`);
  return value;
}

function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

function usage(command: Command): string {
  const synopsis = [`yakt ${command.group} ${command.name}`, command.synopsis, "[--controllers URL,…] [--json]"].filter((part) => part !== "").join(" ");
  const flagsHelp = formatTable([...command.flagsHelp, ...commonFlagsHelp].map(([flag, meaning]) => ["", flag, meaning]));
  return `Usage: ${synopsis}\n\n${command.description}\n\n${flagsHelp}\n\nExit status: 0 ok, 1 the request failed (the error and its code on stderr), 2 bad flags.`;
}

function groupUsage(group: string, inGroup: readonly Command[]): string {
  const lines = inGroup.map((c) => `  yakt ${group} ${[c.name, c.synopsis].filter((p) => p !== "").join(" ")}`);
  return `Usage:\n${lines.join("\n")}\n\nEach takes --controllers URL,… (default ${devControllerUrls.join(",")}), --json and --help.`;
}
