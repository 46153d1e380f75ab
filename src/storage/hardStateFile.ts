import { crc32 } from "node:zlib";
import type { HardState } from "../raft/types.js";
import { assert } from "../shared/assert.js";
import type { Result } from "../shared/result.js";
import { err, ok } from "../shared/result.js";

export const hardStateFileName = "hardstate";

/** "YKHS": tells a hard-state file from any other 32 bytes. */
const hardStateMagic = 0x594b4853;

/** [magic u32][crc32 u32][term u64][votedFor u64][commitIndex u64]; the CRC covers the last 24 bytes. */
export const hardStateFileBytes = 32;

export function encodeHardState(hardState: HardState): Buffer {
  for (const [name, value] of Object.entries(hardState)) {
    assert(Number.isSafeInteger(value) && value >= 0, `hard state ${name} must be a non-negative integer, got ${String(value)}`);
  }
  const bytes = Buffer.alloc(hardStateFileBytes);
  bytes.writeUInt32BE(hardStateMagic, 0);
  bytes.writeBigUInt64BE(BigInt(hardState.term), 8);
  bytes.writeBigUInt64BE(BigInt(hardState.votedFor), 16);
  bytes.writeBigUInt64BE(BigInt(hardState.commitIndex), 24);
  bytes.writeUInt32BE(crc32(bytes.subarray(8)), 4);
  return bytes;
}

/** Decodes a hard-state file; the error says what is wrong for a corruption message. */
export function decodeHardState(bytes: Buffer): Result<HardState, string> {
  if (bytes.length !== hardStateFileBytes) return err(`size is ${bytes.length} bytes, not ${hardStateFileBytes}`);
  if (bytes.readUInt32BE(0) !== hardStateMagic) return err("bad magic");
  if (crc32(bytes.subarray(8)) !== bytes.readUInt32BE(4)) return err("bad CRC");
  const term = Number(bytes.readBigUInt64BE(8));
  const votedFor = Number(bytes.readBigUInt64BE(16));
  const commitIndex = Number(bytes.readBigUInt64BE(24));
  if (![term, votedFor, commitIndex].every(Number.isSafeInteger)) return err("value beyond 2^53");
  return ok({ term, votedFor, commitIndex });
}
