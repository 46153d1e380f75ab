/**
 * The scenario-script interpreter: golden traces of the Raft core in the spirit of etcd raft's
 * datadriven "interaction" tests. `runScenario(text)` runs every command of a script against an
 * in-memory cluster and returns the script with each command's output filled in.
 *
 * Commands (ids are node ids; `[…]` is optional):
 *
 *   add-nodes N [voters=(1,2,3)] [learners=(4)] [join] [election=10] [heartbeat=1]
 *             [prevote=true] [checkquorum=true] [uncommitted-bytes=B] [snapshot-chunk-bytes=B]
 *             [max-inflight=N] [max-inflight-bytes=B] [max-append-entries=N] [max-append-bytes=B]
 *       Adds N nodes with the next free ids. `voters`/`learners` is the bootstrap membership (default:
 *       the new nodes are the voters); `join` starts them with no membership, to be added later.
 *   campaign ID                      starts an election now (a pre-vote first when pre-vote is on)
 *   tick ID [COUNT]                  COUNT ticks (default 1)
 *   tick-election ID                 a leader: one election timeout of ticks (check-quorum runs);
 *                                    others: ticks until the node campaigns (at most 2·timeout)
 *   tick-heartbeat ID                one heartbeat interval of ticks
 *   propose ID DATA                  proposes DATA (UTF-8 text)
 *   propose-membership ID add-voter|add-learner|remove NODE
 *   read-index ID REQUEST            asks for a read index with request id REQUEST (a number)
 *   transfer-leadership from=ID to=ID
 *   compact ID INDEX                 snapshots the toy state machine at INDEX and compacts the log
 *   process-ready ID                 executes one Ready: persist, send, apply, advance
 *   deliver-msgs ID [type=T] [from=ID] [drop]
 *                                    steps ID with its queued messages (or drops them)
 *   duplicate-msgs ID [type=T]       queues a copy of every queued message to ID
 *   stabilize [ID…]                  Ready and delivery rounds until quiescent (default: all nodes)
 *   partition 1 2 | 3                messages between groups are dropped; unnamed nodes are isolated
 *   heal                             removes the partition
 *   crash ID                         drops the node's memory and the messages queued for it
 *   restart ID                       a new RaftNode from what the node persisted
 *   status ID                        role, term, log marks, membership and (on a leader) progress
 *   raft-log ID                      the node's log, marking the committed prefix
 *   raft-state                       role, term and leader of every node
 *   applied ID                       the toy state machine: applied index and values
 *
 * Output: a state change that an input causes prints as `ID: role a->b, term x->y, …` right below
 * it. Entries print as `index/term type "data"`, messages as `from->to Type term=… fields`. A Ready
 * prints as `> ID handling Ready` with its HardState, Snapshot, Entries, CommittedEntries, ReadStates
 * and Messages, in the order the shell executes them; "Messages (sent while persisting)" marks a
 * leader's Ready whose messages may leave before its own entries are durable (`sendBeforePersist`).
 * Messages lost to a partition or a crashed recipient print as `dropped (reason): …`.
 */
import type { Result } from "../../shared/result.js";
import type { RaftError } from "../errors.js";
import type { NodeId } from "../types.js";
import type { NodeSettings } from "./cluster.js";
import { Cluster } from "./cluster.js";
import { describeEntry, describeError, describeStatus, describeSnapshot } from "./format.js";
import type { Directive } from "./script.js";
import { parseScript, renderScript } from "./script.js";

export function runScenario(text: string): string {
  const script = parseScript(text);
  const cluster = new Cluster();
  const outputs = script.directives.map((directive) => runDirective(cluster, directive));
  return renderScript(script, outputs);
}

/** A mistake in the script itself (unknown command, bad argument), reported with its line. */
export class ScenarioError extends Error {
  override readonly name = "ScenarioError";
}

function runDirective(cluster: Cluster, directive: Directive): string[] {
  const command = parseCommand(directive.command);
  try {
    return runCommand(cluster, command);
  } catch (error) {
    if (error instanceof ScenarioError || error instanceof UsageError) {
      throw new ScenarioError(`line ${directive.lineNumber}: ${directive.command}: ${error.message}`);
    }
    // The core threw (an assertion): the trace shows it, so a golden file pins a crash down too.
    return [`panic: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`];
  }
}

class UsageError extends Error {}

// ------------------------------------------------------------------ command lines

interface Command {
  readonly name: string;
  readonly args: readonly string[];
  readonly keys: ReadonlyMap<string, string>;
}

function parseCommand(line: string): Command {
  const tokens = line.split(/\s+/).filter((t) => t !== "");
  const [name = "", ...rest] = tokens;
  const args: string[] = [];
  const keys = new Map<string, string>();
  for (const token of rest) {
    const eq = token.indexOf("=");
    if (eq > 0) keys.set(token.slice(0, eq), token.slice(eq + 1));
    else args.push(token);
  }
  return { name, args, keys };
}

function parseId(text: string | undefined, what = "node id"): NodeId {
  const id = Number(text);
  if (text === undefined || !Number.isSafeInteger(id) || id < 0) throw new UsageError(`${what} must be a non-negative integer: current value is ${String(text)}`);
  return id;
}

function parseIdList(text: string): NodeId[] {
  const inner = text.replace(/^\(/, "").replace(/\)$/, "");
  return inner === "" ? [] : inner.split(",").map((t) => parseId(t));
}

function argId(command: Command, position = 0): NodeId {
  return parseId(command.args[position]);
}

function keyNumber(command: Command, key: string): number | undefined {
  const value = command.keys.get(key);
  return value === undefined ? undefined : parseId(value, key);
}

function keyBoolean(command: Command, key: string): boolean | undefined {
  const value = command.keys.get(key);
  if (value === undefined) return undefined;
  if (value !== "true" && value !== "false") throw new UsageError(`${key} must be true or false: current value is ${value}`);
  return value === "true";
}

// ------------------------------------------------------------------ commands

function runCommand(cluster: Cluster, command: Command): string[] {
  switch (command.name) {
    case "add-nodes":
      return addNodes(cluster, command);
    case "campaign":
      return cluster.observe(argId(command), (raft) => raft.campaignNow());
    case "tick":
      return tick(cluster, argId(command), command.args[1] === undefined ? 1 : parseId(command.args[1], "count"));
    case "tick-election":
      return tickElection(cluster, argId(command));
    case "tick-heartbeat":
      return tickHeartbeat(cluster, argId(command));
    case "propose":
      return propose(cluster, command);
    case "propose-membership":
      return proposeMembership(cluster, command);
    case "read-index":
      return readIndex(cluster, command);
    case "transfer-leadership":
      return transferLeadership(cluster, command);
    case "compact":
      return compact(cluster, command);
    case "process-ready": {
      const lines = cluster.processReady(argId(command));
      return lines.length > 0 ? lines : ["no Ready"];
    }
    case "deliver-msgs":
      return deliverMessages(cluster, command);
    case "duplicate-msgs":
      return cluster.duplicate(argId(command), command.keys.get("type"));
    case "stabilize": {
      const ids = command.args.length > 0 ? command.args.map((a) => parseId(a)) : cluster.ids();
      return cluster.stabilize(ids);
    }
    case "partition":
      return partition(cluster, command);
    case "heal":
      cluster.heal();
      return ["healed"];
    case "crash":
      return [...cluster.crash(argId(command)), `${argId(command)} crashed`];
    case "restart":
      return restart(cluster, argId(command));
    case "status":
      return describeStatus(cluster.raft(argId(command)).status());
    case "raft-log":
      return raftLog(cluster, argId(command));
    case "raft-state":
      return raftState(cluster);
    case "applied":
      return applied(cluster, argId(command));
    default:
      throw new UsageError(`unknown command "${command.name}"`);
  }
}

function addNodes(cluster: Cluster, command: Command): string[] {
  const count = argId(command);
  const first = cluster.nextId();
  const newIds = Array.from({ length: count }, (_, k) => first + k);
  const join = command.args.includes("join");
  const voters = command.keys.has("voters") ? parseIdList(command.keys.get("voters") ?? "") : newIds;
  const learners = command.keys.has("learners") ? parseIdList(command.keys.get("learners") ?? "") : [];
  const settings = nodeSettings(command, join ? undefined : { voters, learners });
  const lines: string[] = [];
  for (const id of newIds) {
    cluster.addNode(id, settings);
    const status = cluster.raft(id).status();
    lines.push(describeStatus(status).slice(0, 3).join("; "));
  }
  return lines;
}

function nodeSettings(command: Command, membership: NodeSettings["bootstrapMembership"]): NodeSettings {
  const optional: Partial<Record<keyof NodeSettings, number | boolean | undefined>> = {
    preVote: keyBoolean(command, "prevote"),
    checkQuorum: keyBoolean(command, "checkquorum"),
    uncommittedBytesMax: keyNumber(command, "uncommitted-bytes"),
    snapshotChunkBytesMax: keyNumber(command, "snapshot-chunk-bytes"),
    inflightMessagesMax: keyNumber(command, "max-inflight"),
    inflightBytesMax: keyNumber(command, "max-inflight-bytes"),
    appendEntriesCountMax: keyNumber(command, "max-append-entries"),
    appendEntriesBytesMax: keyNumber(command, "max-append-bytes"),
  };
  const defined = Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined));
  return {
    electionTimeoutTicks: keyNumber(command, "election") ?? 10,
    heartbeatIntervalTicks: keyNumber(command, "heartbeat") ?? 1,
    ...(membership === undefined ? {} : { bootstrapMembership: membership }),
    ...defined,
  };
}

function tick(cluster: Cluster, id: NodeId, count: number): string[] {
  const lines: string[] = [];
  for (let k = 0; k < count; k++) lines.push(...cluster.observe(id, (raft) => raft.tick()));
  return lines;
}

function tickHeartbeat(cluster: Cluster, id: NodeId): string[] {
  return tick(cluster, id, cluster.settings(id).heartbeatIntervalTicks);
}

/**
 * Election timeouts are randomised in [T, 2T), so a follower is ticked until it campaigns (it has
 * something to send, or its role or term moved); a leader is ticked T times, when check-quorum runs.
 */
function tickElection(cluster: Cluster, id: NodeId): string[] {
  const timeoutTicks = cluster.settings(id).electionTimeoutTicks;
  const raft = cluster.raft(id);
  if (raft.status().role === "leader") return [...tick(cluster, id, timeoutTicks), `ticked ${timeoutTicks}`];
  const lines: string[] = [];
  const hadReady = raft.hasReady();
  let ticks = 0;
  while (ticks < 2 * timeoutTicks) {
    const change = cluster.observe(id, (r) => r.tick());
    ticks++;
    lines.push(...change);
    if (change.length > 0 || (!hadReady && raft.hasReady())) break;
  }
  return [...lines, `ticked ${ticks}`];
}

type Proposal = Result<{ index: number; term: number }, RaftError>;

function describeProposal(result: Proposal): string {
  return result.ok ? `ok index=${result.value.index} term=${result.value.term}` : describeError(result.error);
}

function propose(cluster: Cluster, command: Command): string[] {
  const id = argId(command);
  const text = command.args[1];
  if (text === undefined) throw new UsageError("propose needs data");
  let result: Proposal | undefined;
  const changes = cluster.observe(id, (raft) => {
    result = raft.propose(new TextEncoder().encode(text));
  });
  return result === undefined ? changes : [describeProposal(result), ...changes];
}

function proposeMembership(cluster: Cluster, command: Command): string[] {
  const id = argId(command);
  const kind = command.args[1];
  const nodeId = parseId(command.args[2]);
  const change =
    kind === "add-voter"
      ? ({ kind: "addVoter", nodeId } as const)
      : kind === "add-learner"
        ? ({ kind: "addLearner", nodeId } as const)
        : kind === "remove"
          ? ({ kind: "removeNode", nodeId } as const)
          : undefined;
  if (change === undefined) throw new UsageError(`membership change must be add-voter, add-learner or remove: current value is ${String(kind)}`);
  return [describeProposal(cluster.raft(id).proposeMembershipChange(change))];
}

function readIndex(cluster: Cluster, command: Command): string[] {
  const result = cluster.raft(argId(command)).readIndex(parseId(command.args[1], "request id"));
  return [result.ok ? "ok" : describeError(result.error)];
}

function transferLeadership(cluster: Cluster, command: Command): string[] {
  const from = parseId(command.keys.get("from"), "from");
  const to = parseId(command.keys.get("to"), "to");
  let line = "";
  const changes = cluster.observe(from, (raft) => {
    const result = raft.transferLeadership(to);
    line = result.ok ? "ok" : describeError(result.error);
  });
  return [line, ...changes];
}

function compact(cluster: Cluster, command: Command): string[] {
  const id = argId(command);
  const index = parseId(command.args[1], "index");
  const raft = cluster.raft(id);
  const applied = raft.status().appliedIndex;
  // The toy state machine can only snapshot what it has applied; let the core refuse the rest.
  const data = index <= applied && index > raft.snapshot().meta.index ? cluster.snapshotData(id, index) : new Uint8Array(0);
  const result = raft.compact(index, data);
  if (!result.ok) return [describeError(result.error)];
  cluster.storeCompaction(id);
  return [`ok ${describeSnapshot(raft.snapshot())}`];
}

function deliverMessages(cluster: Cluster, command: Command): string[] {
  const options: { type?: string; from?: NodeId; drop?: boolean } = { drop: command.args.includes("drop") };
  const type = command.keys.get("type");
  if (type !== undefined) options.type = type;
  if (command.keys.has("from")) options.from = parseId(command.keys.get("from"), "from");
  const lines = cluster.deliver(argId(command), options);
  return lines.length > 0 ? lines : ["no messages"];
}

function partition(cluster: Cluster, command: Command): string[] {
  const groups: NodeId[][] = [[]];
  for (const arg of command.args) {
    if (arg === "|") groups.push([]);
    else groups[groups.length - 1]?.push(parseId(arg));
  }
  const lines = cluster.partition(groups);
  return [...lines, `partitioned ${groups.map((g) => `(${g.join(" ")})`).join(" ")}`];
}

function restart(cluster: Cluster, id: NodeId): string[] {
  cluster.restart(id);
  const status = cluster.raft(id).status();
  return [
    `${id} restarted: term=${status.term} vote=${status.votedFor} commit=${status.commitIndex} ` +
      `last=${status.lastIndex} snapshot=${status.snapshotIndex}`,
  ];
}

function raftLog(cluster: Cluster, id: NodeId): string[] {
  const raft = cluster.raft(id);
  const status = raft.status();
  const lines: string[] = [];
  if (status.snapshotIndex > 0) lines.push(describeSnapshot(raft.snapshot()));
  for (let index = status.snapshotIndex + 1; index <= status.lastIndex; index++) {
    const entry = raft.entryAt(index);
    lines.push(entry === undefined ? `${index} missing` : `${describeEntry(entry)}${index <= status.commitIndex ? "" : " (uncommitted)"}`);
  }
  return lines.length > 0 ? lines : ["log is empty"];
}

function raftState(cluster: Cluster): string[] {
  return cluster.ids().map((id) => {
    if (cluster.isCrashed(id)) return `${id}: crashed`;
    const s = cluster.raft(id).status();
    return `${id}: ${s.role} term=${s.term} leader=${s.leaderId} commit=${s.commitIndex} last=${s.lastIndex}`;
  });
}

function applied(cluster: Cluster, id: NodeId): string[] {
  const app = cluster.app(id);
  return [`applied=${app.appliedIndex} values=[${app.values.map((v) => JSON.stringify(v)).join(" ")}]`];
}

