import type { Entry, EntryType, Membership, Message, MessageType, NodeId } from "../raft/types.js";
import { assertNever } from "../shared/assert.js";
import type { Prng } from "../shared/prng.js";

/** Random but valid messages for codec and transport tests; one seed gives the same messages. */

export const messageTypes: readonly MessageType[] = [
  "AppendEntries",
  "AppendEntriesResponse",
  "Heartbeat",
  "HeartbeatResponse",
  "RequestVote",
  "RequestVoteResponse",
  "PreVote",
  "PreVoteResponse",
  "InstallSnapshot",
  "InstallSnapshotResponse",
  "TimeoutNow",
  "ReadIndexRequest",
  "ReadIndexResponse",
];

const boundaryNumbers = [0, 1, 0xff, 0xffff_ffff, 0x1_0000_0000, Number.MAX_SAFE_INTEGER];

/** A non-negative safe integer, often small, sometimes at a boundary of the u32/u64 encoding. */
export function randomIndex(prng: Prng): number {
  const roll = prng.int(10);
  if (roll < 5) return prng.int(1000);
  if (roll < 7) return prng.pick(boundaryNumbers);
  return prng.int(0x20_0000) * 0x1_0000_0000 + prng.nextUint32();
}

function randomNodeId(prng: Prng): NodeId {
  return prng.chance(0.2) ? 0xffff_ffff : 1 + prng.int(7);
}

function randomBytes(prng: Prng, sizeBytesMax: number): Uint8Array {
  const bytes = new Uint8Array(prng.int(sizeBytesMax + 1));
  for (let i = 0; i < bytes.length; i++) bytes[i] = prng.int(256);
  return bytes;
}

function randomMembership(prng: Prng): Membership {
  const ids = Array.from({ length: 1 + prng.int(9) }, (_, i) => i + 1 + (prng.chance(0.1) ? 1000 : 0));
  const voterCount = 1 + prng.int(ids.length);
  return { voters: ids.slice(0, voterCount), learners: ids.slice(voterCount) };
}

function randomEntries(prng: Prng, prevLogIndex: number): Entry[] {
  // Indexes must stay safe integers after prevLogIndex.
  const count = prevLogIndex > Number.MAX_SAFE_INTEGER - 20 ? 0 : prng.int(6);
  const types: readonly EntryType[] = ["normal", "noop", "membership"];
  return Array.from({ length: count }, (_, i) => ({
    index: prevLogIndex + 1 + i,
    term: 1 + prng.int(50),
    type: prng.pick(types),
    data: randomBytes(prng, 64),
  }));
}

export function randomMessage(prng: Prng, type: MessageType = prng.pick(messageTypes)): Message {
  const e = { from: randomNodeId(prng), to: randomNodeId(prng), term: randomIndex(prng) };
  switch (type) {
    case "AppendEntries": {
      const prevLogIndex = randomIndex(prng);
      return { type, ...e, prevLogIndex, prevLogTerm: randomIndex(prng), entries: randomEntries(prng, prevLogIndex), leaderCommit: randomIndex(prng) };
    }
    case "AppendEntriesResponse":
      return {
        type,
        ...e,
        success: prng.chance(0.5),
        matchIndex: randomIndex(prng),
        rejectedIndex: randomIndex(prng),
        hintIndex: randomIndex(prng),
        hintTerm: randomIndex(prng),
      };
    case "Heartbeat":
      return { type, ...e, leaderCommit: randomIndex(prng), readRound: randomIndex(prng) };
    case "HeartbeatResponse":
      return { type, ...e, readRound: randomIndex(prng) };
    case "RequestVote":
      return { type, ...e, lastLogIndex: randomIndex(prng), lastLogTerm: randomIndex(prng), transfer: prng.chance(0.5) };
    case "RequestVoteResponse":
    case "PreVoteResponse":
      return { type, ...e, granted: prng.chance(0.5) };
    case "PreVote":
      return { type, ...e, lastLogIndex: randomIndex(prng), lastLogTerm: randomIndex(prng) };
    case "InstallSnapshot": {
      const chunk = randomBytes(prng, 200);
      const offset = prng.int(1000);
      const totalBytes = offset + chunk.length + (prng.chance(0.5) ? 0 : prng.int(1000));
      return {
        type,
        ...e,
        meta: { index: randomIndex(prng), term: randomIndex(prng), membership: randomMembership(prng) },
        totalBytes,
        offset,
        chunk,
        done: offset + chunk.length === totalBytes,
      };
    }
    case "InstallSnapshotResponse":
      return { type, ...e, snapshotIndex: randomIndex(prng), bytesReceived: randomIndex(prng), installed: prng.chance(0.5) };
    case "TimeoutNow":
      return { type, ...e };
    case "ReadIndexRequest":
      return { type, ...e, requestId: randomIndex(prng) };
    case "ReadIndexResponse":
      return { type, ...e, requestId: randomIndex(prng), readIndex: randomIndex(prng) };
    default:
      return assertNever(type, "message type");
  }
}
