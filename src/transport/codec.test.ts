import assert from "node:assert/strict";
import { test } from "node:test";
import type { Message } from "../raft/types.js";
import { AssertionError } from "../shared/assert.js";
import { limits } from "../shared/limits.js";
import { createPrng } from "../shared/prng.js";
import { codecVersion, decodeMessage, encodeMessage, entryHeaderBytes } from "./codec.js";
import { DecodeError, type DecodeErrorCode } from "./errors.js";
import { messageTypes, randomMessage } from "./testing.js";

function expectDecodeError(bytes: Uint8Array, code?: DecodeErrorCode): void {
  assert.throws(
    () => decodeMessage(bytes),
    (error: unknown) => error instanceof DecodeError && (code === undefined || error.code === code),
    `expected DecodeError${code === undefined ? "" : ` ${code}`} for ${Buffer.from(bytes).toString("hex")}`,
  );
}

const heartbeat: Message = { type: "Heartbeat", from: 1, to: 2, term: 3, leaderCommit: 4, readRound: 5 };

test("decodeMessage(encodeMessage(m)) returns m for every message type", () => {
  const prng = createPrng(1);
  for (const type of messageTypes) {
    for (let i = 0; i < 300; i++) {
      const m = randomMessage(prng, type);
      assert.deepStrictEqual(decodeMessage(encodeMessage(m)), m);
    }
  }
});

test("encodeMessage() writes a version byte, a type tag and big-endian fields", () => {
  const bytes = encodeMessage(heartbeat);
  assert.equal(Buffer.from(bytes).toString("hex"), [
    "01", "03", "00000001", "00000002", "0000000000000003", "0000000000000004", "0000000000000005",
  ].join(""));
  assert.equal(bytes[0], codecVersion);
});

test("decodeMessage() returns entry data as views of its input, without copying", () => {
  const m: Message = {
    type: "AppendEntries", from: 1, to: 2, term: 2, prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0,
    entries: [{ index: 1, term: 2, type: "normal", data: new Uint8Array([7, 8, 9]) }],
  };
  const bytes = encodeMessage(m);
  const decoded = decodeMessage(bytes);
  assert.equal(decoded.type, "AppendEntries");
  if (decoded.type !== "AppendEntries") return;
  assert.equal(decoded.entries[0]?.data.buffer, bytes.buffer);
});

test("decodeMessage() rejects every truncated prefix of a valid encoding", () => {
  const prng = createPrng(2);
  for (const type of messageTypes) {
    for (let i = 0; i < 20; i++) {
      const bytes = encodeMessage(randomMessage(prng, type));
      for (let length = 0; length < bytes.length; length++) expectDecodeError(bytes.subarray(0, length));
    }
  }
});

test("decodeMessage() rejects trailing bytes", () => {
  const bytes = encodeMessage(heartbeat);
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  expectDecodeError(longer, "trailingBytes");
});

test("decodeMessage() rejects unknown versions, type tags, booleans and entry types", () => {
  const withByte = (m: Message, at: number, value: number): Uint8Array => {
    const bytes = encodeMessage(m);
    bytes[at] = value;
    return bytes;
  };
  expectDecodeError(withByte(heartbeat, 0, 2), "unsupportedVersion");
  expectDecodeError(withByte(heartbeat, 1, 0), "unknownType");
  expectDecodeError(withByte(heartbeat, 1, 14), "unknownType");
  const vote: Message = { type: "RequestVoteResponse", from: 1, to: 2, term: 1, granted: true };
  expectDecodeError(withByte(vote, 18, 2), "invalidBoolean");
  const append: Message = {
    type: "AppendEntries", from: 1, to: 2, term: 1, prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0,
    entries: [{ index: 1, term: 1, type: "noop", data: new Uint8Array(0) }],
  };
  // header 18 · three u64 · u32 count · u64 index · u64 term → the entry type byte.
  expectDecodeError(withByte(append, 18 + 24 + 4 + 16, 3), "unknownType");
});

test("decodeMessage() rejects numbers above 2^53 - 1", () => {
  const bytes = encodeMessage(heartbeat);
  bytes[10] = 0x00;
  bytes[11] = 0x20; // term's high half becomes 0x00200000: 2^53.
  expectDecodeError(bytes, "outOfRange");
});

test("decodeMessage() rejects entries that do not follow prevLogIndex", () => {
  const m: Message = {
    type: "AppendEntries", from: 1, to: 2, term: 1, prevLogIndex: 5, prevLogTerm: 1, leaderCommit: 0,
    entries: [{ index: 7, term: 1, type: "normal", data: new Uint8Array(1) }],
  };
  expectDecodeError(encodeMessage(m), "invalidEntries");
});

test("decodeMessage() rejects a snapshot chunk past totalBytes and a repeated member", () => {
  const base = {
    type: "InstallSnapshot", from: 1, to: 2, term: 1, totalBytes: 4, offset: 2, chunk: new Uint8Array(3), done: true,
    meta: { index: 9, term: 1, membership: { voters: [1, 2], learners: [] } },
  } as const;
  expectDecodeError(encodeMessage(base), "outOfRange");
  expectDecodeError(encodeMessage({ ...base, offset: 1, meta: { ...base.meta, membership: { voters: [1, 2], learners: [2] } } }), "invalidMembership");
});

test("decodeMessage() refuses an entry count the input cannot hold before allocating", () => {
  const m: Message = { type: "AppendEntries", from: 1, to: 2, term: 1, prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, entries: [] };
  const bytes = encodeMessage(m);
  new DataView(bytes.buffer).setUint32(bytes.length - 4, 0xffff_ffff);
  expectDecodeError(bytes, "truncated");
});

test("decodeMessage() throws only DecodeError on random garbage", () => {
  const prng = createPrng(3);
  for (let i = 0; i < 5000; i++) {
    const bytes = new Uint8Array(prng.int(80));
    for (let j = 0; j < bytes.length; j++) bytes[j] = prng.int(256);
    // Half the cases start like a real message so the fuzzing reaches the bodies.
    if (prng.chance(0.5) && bytes.length >= 2) {
      bytes[0] = codecVersion;
      bytes[1] = 1 + prng.int(13);
    }
    try {
      decodeMessage(bytes);
    } catch (error) {
      assert.ok(error instanceof DecodeError, `case ${i}: ${String(error)}`);
    }
  }
});

test("decodeMessage() throws only DecodeError on valid encodings with bytes flipped", () => {
  const prng = createPrng(4);
  for (let i = 0; i < 5000; i++) {
    const bytes = encodeMessage(randomMessage(prng));
    for (let flips = 1 + prng.int(3); flips > 0; flips--) bytes[prng.int(bytes.length)] = prng.int(256);
    try {
      decodeMessage(bytes);
    } catch (error) {
      assert.ok(error instanceof DecodeError, `case ${i}: ${String(error)}`);
    }
  }
});

test("encodeMessage() asserts on values the wire cannot carry", () => {
  assert.throws(() => encodeMessage({ ...heartbeat, term: -1 }), AssertionError);
  assert.throws(() => encodeMessage({ ...heartbeat, term: 1.5 }), AssertionError);
  assert.throws(() => encodeMessage({ ...heartbeat, from: 2 ** 32 }), AssertionError);
});

test("the frame bound holds the largest AppendEntries the core may emit", () => {
  const { appendEntriesBytesMax, entryBytesMax, appendEntriesCountMax, snapshotChunkBytesMax } = limits.raft;
  const largestAppendBytes = 64 + appendEntriesBytesMax + entryBytesMax + appendEntriesCountMax * entryHeaderBytes;
  assert.ok(largestAppendBytes <= limits.transport.frameSizeBytesMax);
  assert.ok(snapshotChunkBytesMax + 64 + limits.raft.membersCountMax * 4 <= limits.transport.frameSizeBytesMax);
});
