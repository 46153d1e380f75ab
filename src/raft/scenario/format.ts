import { assertNever } from "../../shared/assert.js";
import type { RaftError } from "../errors.js";
import { decodeMembershipChange, describeMembership } from "../membership.js";
import type { NodeStatus } from "../node.js";
import type { Entry, HardState, Message, MembershipChange, Ready, Snapshot } from "../types.js";

/**
 * How scenario traces print the core's data. Every line is meant to be read by a person checking the
 * trace against the Raft paper, so entries are `index/term type "data"` and messages `from->to Type …`.
 */

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Proposals are UTF-8 text, so data prints as a quoted string; anything else prints as hex. */
export function describeData(data: Uint8Array): string {
  try {
    return JSON.stringify(utf8.decode(data));
  } catch {
    return `0x${[...data].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  }
}

export function describeChange(change: MembershipChange): string {
  switch (change.kind) {
    case "addVoter":
      return `add-voter ${change.nodeId}`;
    case "addLearner":
      return `add-learner ${change.nodeId}`;
    case "removeNode":
      return `remove ${change.nodeId}`;
    default:
      return assertNever(change, "membership change");
  }
}

export function describeEntry(entry: Entry): string {
  const head = `${entry.index}/${entry.term} ${entry.type}`;
  switch (entry.type) {
    case "noop":
      return head;
    case "normal":
      return `${head} ${describeData(entry.data)}`;
    case "membership":
      return `${head} ${describeChange(decodeMembershipChange(entry.data))}`;
    default:
      return assertNever(entry.type, "entry type");
  }
}

export function describeEntries(entries: readonly Entry[]): string {
  return `[${entries.map(describeEntry).join(" ")}]`;
}

export function describeHardState(hs: HardState): string {
  return `HardState term=${hs.term} vote=${hs.votedFor} commit=${hs.commitIndex}`;
}

export function describeSnapshot(snapshot: Snapshot): string {
  const { meta } = snapshot;
  return `Snapshot ${meta.index}/${meta.term} ${describeMembership(meta.membership)} data=${describeData(snapshot.data)}`;
}

export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case "AppendEntries":
      return `${head} prev=${m.prevLogIndex}/${m.prevLogTerm} commit=${m.leaderCommit} entries=${describeEntries(m.entries)}`;
    case "AppendEntriesResponse":
      return m.success
        ? `${head} ok match=${m.matchIndex}`
        : `${head} reject rejected=${m.rejectedIndex} hint=${m.hintIndex}/${m.hintTerm}`;
    case "Heartbeat":
      return `${head} commit=${m.leaderCommit}${m.readRound > 0 ? ` round=${m.readRound}` : ""}`;
    case "HeartbeatResponse":
      return `${head}${m.readRound > 0 ? ` round=${m.readRound}` : ""}`;
    case "RequestVote":
      return `${head} last=${m.lastLogIndex}/${m.lastLogTerm}${m.transfer ? " transfer" : ""}`;
    case "PreVote":
      return `${head} last=${m.lastLogIndex}/${m.lastLogTerm}`;
    case "RequestVoteResponse":
    case "PreVoteResponse":
      return `${head} ${m.granted ? "granted" : "rejected"}`;
    case "InstallSnapshot":
      return (
        `${head} snap=${m.meta.index}/${m.meta.term} ${describeMembership(m.meta.membership)} ` +
        `offset=${m.offset} bytes=${m.chunk.length}/${m.totalBytes} chunk=${describeData(m.chunk)}${m.done ? " done" : ""}`
      );
    case "InstallSnapshotResponse":
      return `${head} snap=${m.snapshotIndex} received=${m.bytesReceived}${m.installed ? " installed" : ""}`;
    case "TimeoutNow":
      return head;
    case "ReadIndexRequest":
      return `${head} request=${m.requestId}`;
    case "ReadIndexResponse":
      return `${head} request=${m.requestId} index=${m.readIndex}`;
    default:
      return assertNever(m, "message");
  }
}

export function describeError(error: RaftError): string {
  const fields = Object.entries(error)
    .filter(([key]) => key !== "code")
    .map(([key, value]) => `${key}=${typeof value === "string" ? JSON.stringify(value) : String(value)}`);
  return ["error", error.code, ...fields].join(" ");
}

/** The body of a `> N handling Ready` block, in the order the shell executes it. */
export function describeReady(ready: Ready): string[] {
  const lines: string[] = [];
  if (ready.hardState !== undefined) lines.push(describeHardState(ready.hardState));
  if (ready.snapshot !== undefined) lines.push(describeSnapshot(ready.snapshot));
  if (ready.entries.length > 0) lines.push("Entries:", ...ready.entries.map((e) => `  ${describeEntry(e)}`));
  if (ready.committedEntries.length > 0) {
    lines.push("CommittedEntries:", ...ready.committedEntries.map((e) => `  ${describeEntry(e)}`));
  }
  if (ready.readStates.length > 0) {
    lines.push("ReadStates:", ...ready.readStates.map((r) => `  request=${r.requestId} index=${r.readIndex}`));
  }
  if (ready.messages.length > 0) {
    // A leader whose term and vote are durable may send while its own write is still in flight (§10.2.1).
    lines.push(ready.sendBeforePersist && ready.entries.length > 0 ? "Messages (sent while persisting):" : "Messages:");
    lines.push(...ready.messages.map((m) => `  ${describeMessage(m)}`));
  }
  return lines;
}

/** The fields of a status a trace cares about when they change. */
export function describeStatusChange(before: NodeStatus, after: NodeStatus): string | undefined {
  const changes: string[] = [];
  if (before.role !== after.role) changes.push(`role ${before.role}->${after.role}`);
  if (before.term !== after.term) changes.push(`term ${before.term}->${after.term}`);
  if (before.votedFor !== after.votedFor) changes.push(`vote ${before.votedFor}->${after.votedFor}`);
  if (before.leaderId !== after.leaderId) changes.push(`leader ${before.leaderId}->${after.leaderId}`);
  if (before.transferTarget !== after.transferTarget) changes.push(`transfer ${before.transferTarget}->${after.transferTarget}`);
  const membershipBefore = describeMembership(before.membership);
  const membershipAfter = describeMembership(after.membership);
  if (membershipBefore !== membershipAfter) changes.push(`membership ${membershipBefore} -> ${membershipAfter}`);
  return changes.length === 0 ? undefined : `${after.id}: ${changes.join(", ")}`;
}

export function describeStatus(status: NodeStatus): string[] {
  const lines = [
    `${status.id} ${status.role} term=${status.term} vote=${status.votedFor} leader=${status.leaderId}`,
    `log: snapshot=${status.snapshotIndex} last=${status.lastIndex} commit=${status.commitIndex} applied=${status.appliedIndex}`,
    `membership: ${describeMembership(status.membership)}`,
  ];
  if (status.transferTarget !== 0) lines.push(`transferring to ${status.transferTarget}`);
  for (const pr of status.progress) {
    lines.push(
      `progress ${pr.id}: ${pr.voter ? "voter" : "learner"} ${pr.state} match=${pr.matchIndex} next=${pr.nextIndex}${pr.recentActive ? " active" : ""}`,
    );
  }
  return lines;
}
