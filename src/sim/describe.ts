import type { RaftError } from "../raft/errors.js";
import type { Message } from "../raft/types.js";
import { assertNever } from "../shared/assert.js";

// One-line descriptions of messages and errors for the simulator's traces.

/** One line per message, for traces. */
export function describeMessage(m: Message): string {
  const head = `${m.type} n${m.from}->n${m.to} t${m.term}`;
  switch (m.type) {
    case "AppendEntries": {
      const first = m.entries[0];
      const last = m.entries[m.entries.length - 1];
      const range = first === undefined || last === undefined ? "none" : `${first.index}..${last.index}`;
      return `${head} prev=${m.prevLogIndex}/${m.prevLogTerm} entries=${range} commit=${m.leaderCommit}`;
    }
    case "AppendEntriesResponse":
      return `${head} ${m.success ? `ok match=${m.matchIndex}` : `reject ${m.rejectedIndex} hint=${m.hintIndex}/${m.hintTerm}`}`;
    case "Heartbeat":
      return `${head} commit=${m.leaderCommit} round=${m.readRound}`;
    case "HeartbeatResponse":
      return `${head} round=${m.readRound}`;
    case "RequestVote":
    case "PreVote":
      return `${head} last=${m.lastLogIndex}/${m.lastLogTerm}${m.type === "RequestVote" && m.transfer ? " transfer" : ""}`;
    case "RequestVoteResponse":
    case "PreVoteResponse":
      return `${head} ${m.granted ? "granted" : "refused"}`;
    case "InstallSnapshot":
      return `${head} snap=${m.meta.index}/${m.meta.term} bytes ${m.offset}+${m.chunk.length}/${m.totalBytes}${m.done ? " done" : ""}`;
    case "InstallSnapshotResponse":
      return `${head} snap=${m.snapshotIndex} received=${m.bytesReceived}${m.installed ? " installed" : ""}`;
    case "TimeoutNow":
      return head;
    case "ReadIndexRequest":
      return `${head} read #${m.requestId}`;
    case "ReadIndexResponse":
      return `${head} read #${m.requestId} index=${m.readIndex}`;
    default:
      return assertNever(m, "message");
  }
}

/** A refused request, as "CODE key=value …". */
export function describeError(error: RaftError): string {
  const { code, ...rest } = error;
  const details = Object.entries(rest).map(([k, v]) => `${k}=${String(v)}`);
  return details.length === 0 ? code : `${code} ${details.join(" ")}`;
}
