import type { Entry, EntryType, Membership, Message, MessageType, NodeId, SnapshotMeta } from "../raft/types.js";
import { assertNever } from "../shared/assert.js";
import { limits } from "../shared/limits.js";
import { Reader, Writer } from "./binary.js";
import { DecodeError } from "./errors.js";

/**
 * The binary encoding of Raft messages between controllers.
 *
 *   header   u8 codecVersion · u8 typeTag · u32 from · u32 to · u64 term
 *   body     per type, fields in declaration order (see `writeBody`)
 *
 * All integers are big-endian; indexes, terms and byte counts are u64 (two u32 halves), node ids u32,
 * booleans one byte (0 or 1). Entry data and snapshot chunks are a u32 length then the raw bytes, so
 * entries travel as the bytes the log already holds and decode without a copy.
 */
export const codecVersion = 1;

const headerBytes = 1 + 1 + 4 + 4 + 8;
/** index · term · type · data length. */
export const entryHeaderBytes = 8 + 8 + 1 + 4;

/** Tags are part of the wire format: never renumber, only append. */
const typeTags = {
  AppendEntries: 1,
  AppendEntriesResponse: 2,
  Heartbeat: 3,
  HeartbeatResponse: 4,
  RequestVote: 5,
  RequestVoteResponse: 6,
  PreVote: 7,
  PreVoteResponse: 8,
  InstallSnapshot: 9,
  InstallSnapshotResponse: 10,
  TimeoutNow: 11,
  ReadIndexRequest: 12,
  ReadIndexResponse: 13,
} as const satisfies Record<MessageType, number>;

const messageTypeByTag = new Map<number, MessageType>(
  Object.entries(typeTags).map(([type, tag]) => [tag, type as MessageType]),
);

const entryTypeTags = { normal: 0, noop: 1, membership: 2 } as const satisfies Record<EntryType, number>;
const entryTypes: readonly EntryType[] = ["normal", "noop", "membership"];

/** Encodes a message the core produced. Invalid field values (negative, fractional) are programmer errors and assert. */
export function encodeMessage(m: Message): Uint8Array {
  const writer = new Writer(headerBytes + bodySizeBytes(m));
  writer.u8(codecVersion);
  writer.u8(typeTags[m.type]);
  writer.u32(m.from);
  writer.u32(m.to);
  writer.u64(m.term);
  writeBody(writer, m);
  return writer.finish();
}

/**
 * Decodes one message, validating every tag, length, range and boolean; throws only `DecodeError`.
 * Byte fields (entry data, snapshot chunks) are views into `bytes`, which the caller must not
 * overwrite afterwards.
 */
export function decodeMessage(bytes: Uint8Array): Message {
  const reader = new Reader(bytes);
  const version = reader.u8("codec version");
  if (version !== codecVersion) {
    throw new DecodeError("unsupportedVersion", `Cannot decode message: codec version is ${version}, expected ${codecVersion}`);
  }
  const tag = reader.u8("type tag");
  const type = messageTypeByTag.get(tag);
  if (type === undefined) throw new DecodeError("unknownType", `Cannot decode message: unknown type tag ${tag}`);
  const from = reader.u32("from");
  const to = reader.u32("to");
  const term = reader.u64("term");
  const message = readBody(reader, type, { from, to, term });
  reader.end(type);
  return message;
}

function bodySizeBytes(m: Message): number {
  switch (m.type) {
    case "AppendEntries": {
      let size = 8 * 3 + 4;
      for (const entry of m.entries) size += entryHeaderBytes + entry.data.byteLength;
      return size;
    }
    case "AppendEntriesResponse":
      return 1 + 8 * 4;
    case "Heartbeat":
      return 8 * 2;
    case "HeartbeatResponse":
      return 8;
    case "RequestVote":
      return 8 * 2 + 1;
    case "RequestVoteResponse":
    case "PreVoteResponse":
      return 1;
    case "PreVote":
      return 8 * 2;
    case "InstallSnapshot":
      return snapshotMetaSizeBytes(m.meta) + 8 * 2 + 4 + m.chunk.byteLength + 1;
    case "InstallSnapshotResponse":
      return 8 * 2 + 1;
    case "TimeoutNow":
      return 0;
    case "ReadIndexRequest":
      return 8;
    case "ReadIndexResponse":
      return 8 * 2;
    default:
      return assertNever(m, "message");
  }
}

function writeBody(w: Writer, m: Message): void {
  switch (m.type) {
    case "AppendEntries":
      w.u64(m.prevLogIndex);
      w.u64(m.prevLogTerm);
      w.u64(m.leaderCommit);
      w.u32(m.entries.length);
      for (const entry of m.entries) writeEntry(w, entry);
      return;
    case "AppendEntriesResponse":
      w.bool(m.success);
      w.u64(m.matchIndex);
      w.u64(m.rejectedIndex);
      w.u64(m.hintIndex);
      w.u64(m.hintTerm);
      return;
    case "Heartbeat":
      w.u64(m.leaderCommit);
      w.u64(m.readRound);
      return;
    case "HeartbeatResponse":
      w.u64(m.readRound);
      return;
    case "RequestVote":
      w.u64(m.lastLogIndex);
      w.u64(m.lastLogTerm);
      w.bool(m.transfer);
      return;
    case "RequestVoteResponse":
    case "PreVoteResponse":
      w.bool(m.granted);
      return;
    case "PreVote":
      w.u64(m.lastLogIndex);
      w.u64(m.lastLogTerm);
      return;
    case "InstallSnapshot":
      writeSnapshotMeta(w, m.meta);
      w.u64(m.totalBytes);
      w.u64(m.offset);
      w.blob(m.chunk);
      w.bool(m.done);
      return;
    case "InstallSnapshotResponse":
      w.u64(m.snapshotIndex);
      w.u64(m.bytesReceived);
      w.bool(m.installed);
      return;
    case "TimeoutNow":
      return;
    case "ReadIndexRequest":
      w.u64(m.requestId);
      return;
    case "ReadIndexResponse":
      w.u64(m.requestId);
      w.u64(m.readIndex);
      return;
    default:
      assertNever(m, "message");
  }
}

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

function readBody(r: Reader, type: MessageType, e: Envelope): Message {
  switch (type) {
    case "AppendEntries": {
      const prevLogIndex = r.u64("prevLogIndex");
      const prevLogTerm = r.u64("prevLogTerm");
      const leaderCommit = r.u64("leaderCommit");
      const entries = readEntries(r, prevLogIndex);
      return { type, ...e, prevLogIndex, prevLogTerm, entries, leaderCommit };
    }
    case "AppendEntriesResponse": {
      const success = r.bool("success");
      const matchIndex = r.u64("matchIndex");
      const rejectedIndex = r.u64("rejectedIndex");
      const hintIndex = r.u64("hintIndex");
      const hintTerm = r.u64("hintTerm");
      return { type, ...e, success, matchIndex, rejectedIndex, hintIndex, hintTerm };
    }
    case "Heartbeat": {
      const leaderCommit = r.u64("leaderCommit");
      const readRound = r.u64("readRound");
      return { type, ...e, leaderCommit, readRound };
    }
    case "HeartbeatResponse":
      return { type, ...e, readRound: r.u64("readRound") };
    case "RequestVote": {
      const lastLogIndex = r.u64("lastLogIndex");
      const lastLogTerm = r.u64("lastLogTerm");
      const transfer = r.bool("transfer");
      return { type, ...e, lastLogIndex, lastLogTerm, transfer };
    }
    case "RequestVoteResponse":
      return { type, ...e, granted: r.bool("granted") };
    case "PreVote": {
      const lastLogIndex = r.u64("lastLogIndex");
      const lastLogTerm = r.u64("lastLogTerm");
      return { type, ...e, lastLogIndex, lastLogTerm };
    }
    case "PreVoteResponse":
      return { type, ...e, granted: r.bool("granted") };
    case "InstallSnapshot": {
      const meta = readSnapshotMeta(r);
      const totalBytes = r.u64("totalBytes");
      const offset = r.u64("offset");
      const chunk = r.blob("chunk");
      const done = r.bool("done");
      if (offset + chunk.byteLength > totalBytes) {
        throw new DecodeError(
          "outOfRange",
          `Cannot decode InstallSnapshot: chunk ends at byte ${offset + chunk.byteLength}, past totalBytes ${totalBytes}`,
        );
      }
      return { type, ...e, meta, totalBytes, offset, chunk, done };
    }
    case "InstallSnapshotResponse": {
      const snapshotIndex = r.u64("snapshotIndex");
      const bytesReceived = r.u64("bytesReceived");
      const installed = r.bool("installed");
      return { type, ...e, snapshotIndex, bytesReceived, installed };
    }
    case "TimeoutNow":
      return { type, ...e };
    case "ReadIndexRequest":
      return { type, ...e, requestId: r.u64("requestId") };
    case "ReadIndexResponse": {
      const requestId = r.u64("requestId");
      const readIndex = r.u64("readIndex");
      return { type, ...e, requestId, readIndex };
    }
    default:
      return assertNever(type, "message type");
  }
}

function writeEntry(w: Writer, entry: Entry): void {
  w.u64(entry.index);
  w.u64(entry.term);
  w.u8(entryTypeTags[entry.type]);
  w.blob(entry.data);
}

/** The core slices entries by position after `prevLogIndex` (Raft §5.3), so a gap or a reorder is refused here. */
function readEntries(r: Reader, prevLogIndex: number): Entry[] {
  const count = r.u32("entry count");
  // Each entry takes at least its header, so a count the input cannot hold is refused before allocating.
  if (count * entryHeaderBytes > r.remainingBytes()) {
    throw new DecodeError("truncated", `Cannot decode ${count} entries from ${r.remainingBytes()} bytes`);
  }
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const index = r.u64("entry index");
    const term = r.u64("entry term");
    const typeTag = r.u8("entry type");
    const type = entryTypes[typeTag];
    if (type === undefined) throw new DecodeError("unknownType", `Cannot decode entry ${index}: unknown entry type tag ${typeTag}`);
    const data = r.blob("entry data");
    if (index !== prevLogIndex + 1 + i) {
      throw new DecodeError("invalidEntries", `Cannot decode AppendEntries: entry ${i} has index ${index}, expected ${prevLogIndex + 1 + i}`);
    }
    if (term === 0) throw new DecodeError("outOfRange", `Cannot decode entry ${index}: term 0 (terms of entries start at 1)`);
    entries.push({ index, term, type, data });
  }
  return entries;
}

function snapshotMetaSizeBytes(meta: SnapshotMeta): number {
  return 8 * 2 + 2 + 4 * meta.membership.voters.length + 2 + 4 * meta.membership.learners.length;
}

function writeSnapshotMeta(w: Writer, meta: SnapshotMeta): void {
  w.u64(meta.index);
  w.u64(meta.term);
  w.u16(meta.membership.voters.length);
  for (const id of meta.membership.voters) w.u32(id);
  w.u16(meta.membership.learners.length);
  for (const id of meta.membership.learners) w.u32(id);
}

function readSnapshotMeta(r: Reader): SnapshotMeta {
  const index = r.u64("snapshot index");
  const term = r.u64("snapshot term");
  const membership = readMembership(r);
  return { index, term, membership };
}

function readMembership(r: Reader): Membership {
  const seen = new Set<NodeId>();
  const readIds = (what: string): NodeId[] => {
    const count = r.u16(`${what} count`);
    if (seen.size + count > limits.raft.membersCountMax) {
      throw new DecodeError("invalidMembership", `Cannot decode membership: more than ${limits.raft.membersCountMax} members`);
    }
    const ids: NodeId[] = [];
    for (let i = 0; i < count; i++) {
      const id = r.u32(what);
      if (id === 0) throw new DecodeError("invalidMembership", `Cannot decode membership: node id 0 among ${what}`);
      if (seen.has(id)) throw new DecodeError("invalidMembership", `Cannot decode membership: node ${id} appears twice`);
      seen.add(id);
      ids.push(id);
    }
    return ids;
  };
  const voters = readIds("voters");
  const learners = readIds("learners");
  return { voters, learners };
}
