import { isIPv6 } from "node:net";
import type { NodeId } from "../raft/types.js";
import type { Result } from "../shared/result.js";
import { err, ok } from "../shared/result.js";
import type { LivenessSettings } from "./brokerLiveness.js";

/** A host and port, as given on the command line (`127.0.0.1:9101`). */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Host and port as written on the command line and in URLs: IPv6 hosts in brackets. */
export function formatHostPort(address: HostPort): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Host names and IPv4 addresses; IPv6 addresses come in brackets and are checked apart. */
const hostPattern = /^[A-Za-z0-9._-]+$/;
const hostBytesMax = 253;

/**
 * Parses `HOST:PORT` or `[IPV6]:PORT`, as the command line and the membership API take addresses; the
 * host is kept without brackets, as `net.listen` takes it. The error completes a sentence about `what`
 * ("--raft must be HOST:PORT"); the caller adds the value.
 */
export function parseHostPort(text: string, what: string): Result<HostPort, string> {
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close === -1 || text[close + 1] !== ":") return err(`${what} must be [IPV6]:PORT`);
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (!isIPv6(host)) return err(`${what} must hold an IPv6 address in brackets`);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon === -1) return err(`${what} must be HOST:PORT`);
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(":")) return err(`${what} must put an IPv6 address in brackets, as in [::1]:9101`);
    if (host === "") return err(`${what} must name a host`);
    if (!hostPattern.test(host) || host.length > hostBytesMax) return err(`${what} must name a host by at most ${hostBytesMax} letters, digits, dots, dashes and underscores`);
  }
  const port = parsePort(portText);
  return port === undefined ? err(`${what} must have a port from 1 to 65535`) : ok({ host, port });
}

/** A port written in decimal, 1 to 65535; undefined for anything else. */
export function parsePort(text: string): number | undefined {
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : 0;
  return port >= 1 && port <= 65_535 ? port : undefined;
}

/** Whether two addresses are the same, comparing host names without case (the check is textual: no DNS). */
export function sameHostPort(a: HostPort, b: HostPort): boolean {
  return a.port === b.port && a.host.toLowerCase() === b.host.toLowerCase();
}

/** One member of the initial cluster: where its Raft transport and its HTTP API listen. */
export interface MemberAddress {
  readonly id: NodeId;
  readonly raft: HostPort;
  readonly api: HostPort;
}

/**
 * Election timing of a controller. Ticks are driven by a real timer every `tickIntervalMs`; the core
 * counts everything in ticks (see RaftConfig).
 */
export interface ElectionSettings {
  readonly tickIntervalMs: number;
  readonly electionTimeoutTicks: number;
  readonly heartbeatIntervalTicks: number;
}

/**
 * Defaults: a 10 ms tick, heartbeats every 50 ms, an election timeout drawn from [300 ms, 600 ms).
 *
 * Why these values. A crashed leader is noticed through its TCP connections closing, which followers
 * see within milliseconds and feed to the core as a hint (`peerUnreachable`): they campaign after a
 * random 10–150 ms instead of waiting for the timeout, so kill -9 failover does not depend on the
 * timeout at all. The timeout covers what leaves connections open — a hung or paused process, a
 * partition — and check-quorum uses it to depose a cut-off leader. 300 ms is six heartbeats, so a
 * follower needs to miss five in a row (or see the event loop stall for 300 ms) before it even
 * starts a pre-vote, and a pre-vote that a majority still in contact with the leader refuses changes
 * nothing. etcd's defaults (100 ms / 1000 ms) are tuned for WAN-ish latencies and slow disks;
 * controllers of one cluster sit on one network.
 */
export const defaultElectionSettings: ElectionSettings = {
  tickIntervalMs: 10,
  electionTimeoutTicks: 30,
  heartbeatIntervalTicks: 5,
};

/** When a controller snapshots its state machine and compacts its log. */
export interface SnapshotSettings {
  /** Entries applied since the last snapshot that trigger the next one. */
  readonly snapshotEntriesCount: number;
  /** Bytes of entry data applied since the last snapshot that trigger the next one. */
  readonly snapshotBytes: number;
}

export const defaultSnapshotSettings: SnapshotSettings = {
  snapshotEntriesCount: 10_000,
  snapshotBytes: 64 * 1024 * 1024,
};

/**
 * The compatibility profiles of SPEC §4.1 (src/api/compat/): route aliases for clients of the earlier
 * Python and Go implementations. Every profile is served under `/compat/<name>/`; the chosen one also at the root.
 */
export const compatProfileNames = ["flask-a", "flask-b", "syncobj", "fastapi", "go-rest"] as const;

export type CompatProfileName = (typeof compatProfileNames)[number];

export const defaultCompatProfile: CompatProfileName = "flask-a";

/** Everything a controller process needs to start; built by the command line. */
export interface ControllerConfig {
  readonly id: NodeId;
  readonly dataDir: string;
  /** Address the Raft transport listens on. */
  readonly raft: HostPort;
  /** Address the HTTP API listens on. */
  readonly api: HostPort;
  /**
   * Every member of the initial cluster, this node included, ordered by id. For a node that joins, the
   * members it must be able to reach (at least the leader that will add it), itself included.
   */
  readonly members: readonly MemberAddress[];
  /**
   * Join an existing cluster: start with an empty membership (no bootstrap of its own), never campaign,
   * and wait for the leader to add this node (`POST /v1/cluster/members`). Ignored once storage holds anything.
   */
  readonly join: boolean;
  /** Connections between controllers of different clusters are refused. */
  readonly clusterId: string;
  readonly election: ElectionSettings;
  readonly snapshot: SnapshotSettings;
  /** Broker heartbeat interval and session timeout. */
  readonly liveness: LivenessSettings;
  /** A MetadataFetch whose oldest missed change is older than this gets the full image (SPEC §4). */
  readonly deltaAgeMs: number;
  /** The compatibility profile whose routes win at the root of the HTTP API where profiles collide. */
  readonly compatProfile: CompatProfileName;
}
