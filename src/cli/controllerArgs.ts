// The `yakt controller` command line, parsed into a ControllerConfig without any IO.
import { compatProfileNames, defaultCompatProfile, defaultElectionSettings, defaultSnapshotSettings, formatHostPort, parseHostPort as parseAddress, parsePort as parsePortText } from "../controller/config.js";
import type { CompatProfileName, ControllerConfig, ElectionSettings, HostPort, MemberAddress, SnapshotSettings } from "../controller/config.js";
import { defaultLivenessSettings } from "../controller/brokerLiveness.js";
import type { LivenessSettings } from "../controller/brokerLiveness.js";
import type { NodeId } from "../raft/types.js";
import { limits } from "../shared/limits.js";

export type ParsedControllerArgs =
  | { readonly kind: "help" }
  | { readonly kind: "config"; readonly config: ControllerConfig }
  | { readonly kind: "error"; readonly message: string };

/** Node ids travel as u32 in every transport message, so a larger id could never be sent. */
const nodeIdMax = 0xffff_ffff;
/** The pyraft form gives only Raft addresses; each member's API listens this far above its Raft port. */
export const pyraftApiPortOffset = 1000;
const tickIntervalMsMax = 1000;
const clusterIdPattern = /^[A-Za-z0-9._-]+$/;

export const controllerUsage = `Usage: yakt controller --id N --raft HOST:PORT --api HOST:PORT --peers ID@HOST:RAFT_PORT:API_PORT,… [options]
       yakt controller -i N -a HOST:PORT -e ID/HOST:PORT,… [--api HOST:PORT] [options]

Runs one controller of the Raft metadata quorum until SIGTERM or SIGINT.

  --id N               this controller's id, 1 to ${nodeIdMax}
  --raft HOST:PORT     where this controller's Raft transport listens
  --api HOST:PORT      where its HTTP API listens
  --peers LIST         the members of the initial cluster, comma-separated, each ID@HOST:RAFT_PORT:API_PORT;
                       this controller may be left out (it is added from --raft and --api) or listed with
                       the same addresses
  --data DIR           data directory (default data/controller-<id>)
  --join               join a running cluster instead of founding one: start with no membership, never
                       campaign, and wait until the leader adds this controller (yakt cluster add-member);
                       --peers then lists the running cluster's members and this one. Ignored once the
                       data directory holds a log

Pyraft form, as earlier implementations take it:
  -i N                 this controller's id
  -a HOST:PORT         this controller's Raft address
  -e LIST              the other members' Raft addresses, comma-separated, each ID/HOST:PORT (this
                       controller may be listed with the same address)
  Every member's API port is its Raft port + ${pyraftApiPortOffset} on the same host; --api HOST:PORT overrides
  this controller's own. --data and --join work as above. -i/-a/-e cannot be mixed with --id/--raft/--peers.

Options of both forms:
  --cluster-id S        refuse connections from other clusters: 1 to ${limits.transport.clusterIdBytesMax} of A-Z a-z 0-9 . _ - (default yakt)
  --tick-ms N           milliseconds per Raft tick, 1 to ${tickIntervalMsMax} (default ${defaultElectionSettings.tickIntervalMs})
  --election-ticks N    election timeout in ticks (default ${defaultElectionSettings.electionTimeoutTicks})
  --heartbeat-ticks N   heartbeat interval in ticks, below the election timeout (default ${defaultElectionSettings.heartbeatIntervalTicks})
  --snapshot-entries N  snapshot after this many applied entries (default ${defaultSnapshotSettings.snapshotEntriesCount})
  --snapshot-bytes N    snapshot after this many bytes of applied entries (default ${defaultSnapshotSettings.snapshotBytes})
  --broker-heartbeat-ms N  how often brokers are told to heartbeat (default ${defaultLivenessSettings.heartbeatIntervalMs})
  --broker-session-ms N    a broker silent this long is fenced; above the heartbeat (default ${defaultLivenessSettings.sessionTimeoutMs})
  --delta-age-ms N      a metadata fetch missing changes older than this gets the full image (default ${limits.metadata.deltaAgeMsDefault})
  --compat-profile NAME
                        the earlier implementation whose routes win at the root of the HTTP API, one of
                        ${compatProfileNames.join(", ")} (default ${defaultCompatProfile}); every profile
                        is also served under /compat/NAME/ (see docs/COMPAT.md)
  -h, --help            print this help

Flags take "--flag value" or "--flag=value". IPv6 hosts go in brackets: [::1]:9101.
At most ${limits.raft.membersCountMax} members; ids and every Raft and API address must be distinct.
Exit status: 0 after a clean stop, 1 on a runtime failure, 2 on bad flags.`;

/** Flags that take no value, by spelling. */
const booleanFlags: ReadonlySet<string> = new Set(["--join"]);

/** Flags that take a value, by spelling. */
const valueFlags: ReadonlySet<string> = new Set([
  "--id",
  "--raft",
  "--api",
  "--peers",
  "--data",
  "-i",
  "-a",
  "-e",
  "--cluster-id",
  "--tick-ms",
  "--election-ticks",
  "--heartbeat-ticks",
  "--snapshot-entries",
  "--snapshot-bytes",
  "--broker-heartbeat-ms",
  "--broker-session-ms",
  "--delta-age-ms",
  "--compat-profile",
]);
const canonicalFlags = ["--id", "--raft", "--peers"] as const;
const pyraftFlags = ["-i", "-a", "-e"] as const;

/** A bad command line; thrown inside this module only and returned as `{ kind: "error" }`. */
class ArgsError extends Error {}

function fail(reason: string, value?: string): never {
  throw new ArgsError(`Cannot start controller as ${reason}${value === undefined ? "" : `: current value is ${JSON.stringify(value)}`}`);
}

/** Parses `yakt controller` arguments (without the command name). Pure: no IO, no defaults from the environment. */
export function parseControllerArgs(argv: readonly string[]): ParsedControllerArgs {
  if (argv.includes("--help") || argv.includes("-h")) return { kind: "help" };
  try {
    return { kind: "config", config: buildConfig(readFlags(argv)) };
  } catch (error) {
    if (error instanceof ArgsError) return { kind: "error", message: error.message };
    throw error;
  }
}

/** Flag spelling → value ("" for a boolean flag). Every flag may appear once. */
function readFlags(argv: readonly string[]): ReadonlyMap<string, string> {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (!arg.startsWith("-") || arg === "-") fail("it takes no positional arguments", arg);
    const equals = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    if (!valueFlags.has(flag) && !booleanFlags.has(flag)) fail(`${flag} is not a flag of yakt controller`, arg);
    let value: string;
    if (booleanFlags.has(flag)) {
      if (equals !== -1) fail(`${flag} takes no value`, arg);
      if (values.has(flag)) fail(`${flag} is given twice`);
      value = "";
    } else if (equals !== -1) {
      value = arg.slice(equals + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--") || valueFlags.has(next) || booleanFlags.has(next)) fail(`${flag} needs a value`);
      value = next;
      i++;
    }
    const previous = values.get(flag);
    if (previous !== undefined) {
      throw new ArgsError(`Cannot start controller as ${flag} is given twice: current values are ${JSON.stringify(previous)} and ${JSON.stringify(value)}`);
    }
    values.set(flag, value);
  }
  return values;
}

function buildConfig(values: ReadonlyMap<string, string>): ControllerConfig {
  const canonicalGiven = canonicalFlags.filter((flag) => values.has(flag));
  const pyraftGiven = pyraftFlags.filter((flag) => values.has(flag));
  if (canonicalGiven.length > 0 && pyraftGiven.length > 0) {
    fail(`${canonicalGiven.join(", ")} cannot be mixed with the pyraft form's ${pyraftGiven.join(", ")}`);
  }
  const self = pyraftGiven.length > 0 ? pyraftSelfAndMembers(values) : canonicalSelfAndMembers(values);
  const members = [...self.members].sort((a, b) => a.id - b.id);
  if (members.length > limits.raft.membersCountMax) {
    fail(`a cluster has at most ${limits.raft.membersCountMax} members`, String(members.length));
  }
  checkDistinctAddresses(members);
  const dataDir = values.get("--data") ?? `data/controller-${self.id}`;
  if (dataDir === "") fail("--data must name a directory", dataDir);
  return {
    id: self.id,
    dataDir,
    raft: self.raft,
    api: self.api,
    members,
    join: values.has("--join"),
    clusterId: parseClusterId(values.get("--cluster-id")),
    election: parseElection(values),
    snapshot: parseSnapshot(values),
    liveness: parseLiveness(values),
    deltaAgeMs: parsePositiveInteger(values.get("--delta-age-ms"), "--delta-age-ms", limits.metadata.deltaAgeMsDefault),
    compatProfile: parseCompatProfile(values.get("--compat-profile")),
  };
}

interface SelfAndMembers {
  readonly id: NodeId;
  readonly raft: HostPort;
  readonly api: HostPort;
  readonly members: readonly MemberAddress[];
}

function required(values: ReadonlyMap<string, string>, flag: string): string {
  const value = values.get(flag);
  if (value === undefined) fail(`${flag} is required`);
  return value;
}

function canonicalSelfAndMembers(values: ReadonlyMap<string, string>): SelfAndMembers {
  const id = parseNodeId(required(values, "--id"), "--id");
  const raft = parseHostPort(required(values, "--raft"), "--raft");
  const api = parseHostPort(required(values, "--api"), "--api");
  const peers = splitList(required(values, "--peers"), "--peers").map(parsePeer);
  return { id, raft, api, members: includeSelf(peers, { id, raft, api }, "--peers") };
}

/** `-i`, `-a`, `-e`: Raft addresses only; every API address is derived unless `--api` names this node's. */
function pyraftSelfAndMembers(values: ReadonlyMap<string, string>): SelfAndMembers {
  const id = parseNodeId(required(values, "-i"), "-i");
  const raft = parseHostPort(required(values, "-a"), "-a");
  const apiText = values.get("--api");
  const api = apiText === undefined ? derivedApi(id, raft) : parseHostPort(apiText, "--api");
  const peers = splitList(required(values, "-e"), "-e").map((item): MemberAddress => {
    const peer = parsePyraftPeer(item);
    return { ...peer, api: peer.id === id ? api : derivedApi(peer.id, peer.raft) };
  });
  return { id, raft, api, members: includeSelf(peers, { id, raft, api }, "-e") };
}

function derivedApi(id: NodeId, raft: HostPort): HostPort {
  const port = raft.port + pyraftApiPortOffset;
  if (port > 65_535) {
    fail(`the API port of controller ${id} (its Raft port + ${pyraftApiPortOffset}) must be at most 65535`, String(port));
  }
  return { host: raft.host, port };
}

/** Adds this node to the listed members, or checks that its listing matches the flags. */
function includeSelf(peers: readonly MemberAddress[], self: MemberAddress, listFlag: string): MemberAddress[] {
  const seen = new Set<NodeId>();
  for (const peer of peers) {
    if (seen.has(peer.id)) fail(`${listFlag} lists controller ${peer.id} twice`, String(peer.id));
    seen.add(peer.id);
  }
  const listed = peers.find((peer) => peer.id === self.id);
  if (listed === undefined) return [...peers, self];
  const listedAddresses = `${formatHostPort(listed.raft)} ${formatHostPort(listed.api)}`;
  const selfAddresses = `${formatHostPort(self.raft)} ${formatHostPort(self.api)}`;
  if (listedAddresses !== selfAddresses) {
    throw new ArgsError(
      `Cannot start controller as ${listFlag} lists this controller (${self.id}) at other addresses than its own: current values are ${JSON.stringify(listedAddresses)} and ${JSON.stringify(selfAddresses)}`,
    );
  }
  return [...peers];
}

/** Two members on one address would steal each other's connections; the check is textual (no DNS). */
function checkDistinctAddresses(members: readonly MemberAddress[]): void {
  const owners = new Map<string, string>();
  for (const member of members) {
    for (const [kind, address] of [["Raft", member.raft], ["API", member.api]] as const) {
      const key = formatHostPort({ host: address.host.toLowerCase(), port: address.port });
      const owner = owners.get(key);
      const name = `the ${kind} address of controller ${member.id}`;
      if (owner !== undefined) fail(`${name} is also ${owner}`, formatHostPort(address));
      owners.set(key, name);
    }
  }
}

function splitList(text: string, flag: string): string[] {
  const items = text.split(",");
  if (items.some((item) => item === "")) fail(`${flag} must be a comma-separated list with no empty item`, text);
  return items;
}

/** `ID@HOST:RAFT_PORT:API_PORT` */
function parsePeer(item: string): MemberAddress {
  const what = "each --peers member";
  const at = item.indexOf("@");
  const lastColon = item.lastIndexOf(":");
  if (at === -1 || lastColon < at || !item.slice(at + 1, lastColon).includes(":")) fail(`${what} must be ID@HOST:RAFT_PORT:API_PORT`, item);
  const id = parseNodeId(item.slice(0, at), `the id of ${what}`, item);
  const raft = parseHostPort(item.slice(at + 1, lastColon), what, item);
  const port = parsePort(item.slice(lastColon + 1), what, item);
  return { id, raft, api: { host: raft.host, port } };
}

/** `ID/HOST:PORT` (a Raft address) */
function parsePyraftPeer(item: string): { readonly id: NodeId; readonly raft: HostPort } {
  const what = "each -e member";
  const slash = item.indexOf("/");
  if (slash === -1) fail(`${what} must be ID/HOST:PORT`, item);
  return { id: parseNodeId(item.slice(0, slash), `the id of ${what}`, item), raft: parseHostPort(item.slice(slash + 1), what, item) };
}

/** `subject` names the value in messages: "--id", or "the id of each --peers member". */
function parseNodeId(text: string, subject: string, shown = text): NodeId {
  const id = /^[0-9]+$/.test(text) ? Number(text) : 0;
  if (id < 1) fail(`${subject} must be a positive integer`, shown);
  if (id > nodeIdMax) fail(`${subject} must be at most ${nodeIdMax}`, shown);
  return id;
}

/** `HOST:PORT` or `[IPV6]:PORT`. The host is kept without brackets, as `net.listen` takes it. */
function parseHostPort(text: string, what: string, shown = text): HostPort {
  const parsed = parseAddress(text, what);
  if (!parsed.ok) fail(parsed.error, shown);
  return parsed.value;
}

function parsePort(text: string, what: string, shown: string): number {
  const port = parsePortText(text);
  if (port === undefined) fail(`${what} must have a port from 1 to 65535`, shown);
  return port;
}

function parseClusterId(text: string | undefined): string {
  if (text === undefined) return "yakt";
  // The pattern is ASCII only, so its length in characters is its length in bytes.
  if (!clusterIdPattern.test(text) || text.length > limits.transport.clusterIdBytesMax) {
    fail(`--cluster-id must be 1 to ${limits.transport.clusterIdBytesMax} of A-Z a-z 0-9 . _ -`, text);
  }
  return text;
}

function parseCompatProfile(text: string | undefined): CompatProfileName {
  if (text === undefined) return defaultCompatProfile;
  const profile = compatProfileNames.find((name) => name === text);
  if (profile === undefined) fail(`--compat-profile must be one of ${compatProfileNames.join(", ")}`, text);
  return profile;
}

function parsePositiveInteger(text: string | undefined, flag: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined) return fallback;
  const value = /^[0-9]+$/.test(text) ? Number(text) : 0;
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    fail(max === Number.MAX_SAFE_INTEGER ? `${flag} must be a positive integer` : `${flag} must be an integer from 1 to ${max}`, text);
  }
  return value;
}

function parseElection(values: ReadonlyMap<string, string>): ElectionSettings {
  const defaults = defaultElectionSettings;
  const tickIntervalMs = parsePositiveInteger(values.get("--tick-ms"), "--tick-ms", defaults.tickIntervalMs, tickIntervalMsMax);
  const electionTimeoutTicks = parsePositiveInteger(values.get("--election-ticks"), "--election-ticks", defaults.electionTimeoutTicks);
  const heartbeatIntervalTicks = parsePositiveInteger(values.get("--heartbeat-ticks"), "--heartbeat-ticks", defaults.heartbeatIntervalTicks);
  if (heartbeatIntervalTicks >= electionTimeoutTicks) {
    throw new ArgsError(
      `Cannot start controller as --heartbeat-ticks must be below --election-ticks: current values are ${heartbeatIntervalTicks} and ${electionTimeoutTicks}`,
    );
  }
  return { tickIntervalMs, electionTimeoutTicks, heartbeatIntervalTicks };
}

function parseLiveness(values: ReadonlyMap<string, string>): LivenessSettings {
  const defaults = defaultLivenessSettings;
  const heartbeatIntervalMs = parsePositiveInteger(values.get("--broker-heartbeat-ms"), "--broker-heartbeat-ms", defaults.heartbeatIntervalMs);
  const sessionTimeoutMs = parsePositiveInteger(values.get("--broker-session-ms"), "--broker-session-ms", defaults.sessionTimeoutMs);
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw new ArgsError(`Cannot start controller as --broker-heartbeat-ms must be below --broker-session-ms: current values are ${heartbeatIntervalMs} and ${sessionTimeoutMs}`);
  }
  return { heartbeatIntervalMs, sessionTimeoutMs };
}

function parseSnapshot(values: ReadonlyMap<string, string>): SnapshotSettings {
  const defaults = defaultSnapshotSettings;
  return {
    snapshotEntriesCount: parsePositiveInteger(values.get("--snapshot-entries"), "--snapshot-entries", defaults.snapshotEntriesCount),
    snapshotBytes: parsePositiveInteger(values.get("--snapshot-bytes"), "--snapshot-bytes", defaults.snapshotBytes),
  };
}
