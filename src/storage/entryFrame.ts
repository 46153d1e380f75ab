import { crc32 } from "node:zlib";
import type { Entry, EntryType } from "../raft/types.js";
import { assert } from "../shared/assert.js";

/**
 * One log entry on disk (DESIGN §4), big-endian:
 *
 *   [length u32][crc32 u32][index u64][term u64][type u8][data]
 *
 * `length` counts the bytes after the crc field (17 + data bytes); the CRC covers those same bytes, so a
 * frame checks out only if every byte of index, term, type and data is what was written.
 */
export const frameHeaderBytes = 8;
/** Bytes of the checksummed body before the data: index, term, type. */
export const frameBodyFixedBytes = 17;
export const frameBytesMin = frameHeaderBytes + frameBodyFixedBytes;

const entryTypeCodes: Readonly<Record<EntryType, number>> = { normal: 0, noop: 1, membership: 2 };
const entryTypesByCode: readonly EntryType[] = ["normal", "noop", "membership"];

export function frameSizeBytes(entry: Entry): number {
  return frameBytesMin + entry.data.length;
}

/** Writes `entry`'s frame into `target` at `position`; returns the position after it. */
export function encodeEntryFrame(entry: Entry, target: Buffer, position: number): number {
  assert(Number.isSafeInteger(entry.index) && entry.index >= 1, `entry index must be a positive integer, got ${entry.index}`);
  assert(Number.isSafeInteger(entry.term) && entry.term >= 1, `entry term must be a positive integer, got ${entry.term}`);
  const sizeBytes = frameSizeBytes(entry);
  assert(position + sizeBytes <= target.length, `frame of ${sizeBytes} bytes does not fit at ${position} of ${target.length}`);
  const body = position + frameHeaderBytes;
  target.writeUInt32BE(frameBodyFixedBytes + entry.data.length, position);
  target.writeBigUInt64BE(BigInt(entry.index), body);
  target.writeBigUInt64BE(BigInt(entry.term), body + 8);
  target.writeUInt8(entryTypeCodes[entry.type], body + 16);
  target.set(entry.data, body + frameBodyFixedBytes);
  target.writeUInt32BE(crc32(target.subarray(body, position + sizeBytes)), position + 4);
  return position + sizeBytes;
}

export type FrameRead =
  | { readonly kind: "entry"; readonly entry: Entry; readonly sizeBytes: number }
  | { readonly kind: "bad"; readonly reason: string };

/**
 * Reads the frame at `position`. Never throws on bad bytes: whether a bad frame is a torn tail or
 * corruption depends on what follows it, which only the caller knows.
 */
export function readEntryFrame(bytes: Uint8Array, position: number, entryDataBytesMax: number): FrameRead {
  assert(position >= 0 && position <= bytes.length, `frame position ${position} is outside ${bytes.length} bytes`);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const available = bytes.length - position;
  if (available < frameHeaderBytes) return bad(`short frame header (${available} of ${frameHeaderBytes} bytes)`);
  const length = view.readUInt32BE(position);
  if (length < frameBodyFixedBytes || length > frameBodyFixedBytes + entryDataBytesMax) return bad(`bad length ${length}`);
  const sizeBytes = frameHeaderBytes + length;
  if (available < sizeBytes) return bad(`short frame (${available} of ${sizeBytes} bytes)`);
  const body = position + frameHeaderBytes;
  if (crc32(view.subarray(body, position + sizeBytes)) !== view.readUInt32BE(position + 4)) return bad("bad CRC");
  // The CRC matched, so what follows was written by an encoder; a bad value here is a format error.
  const index = Number(view.readBigUInt64BE(body));
  const term = Number(view.readBigUInt64BE(body + 8));
  const type = entryTypesByCode[view.readUInt8(body + 16)];
  if (!Number.isSafeInteger(index) || index < 1) return bad(`bad index ${index}`);
  if (!Number.isSafeInteger(term) || term < 1) return bad(`bad term ${term}`);
  if (type === undefined) return bad(`unknown entry type ${view.readUInt8(body + 16)}`);
  // Copy the data so one entry does not pin the whole segment buffer in memory.
  const data = new Uint8Array(view.subarray(body + frameBodyFixedBytes, position + sizeBytes));
  return { kind: "entry", entry: { index, term, type, data }, sizeBytes };
}

/** The index field of a would-be frame at `position`, without checking anything else (for resync scans). */
export function peekFrameIndex(bytes: Buffer, position: number): number | undefined {
  if (position + frameBytesMin > bytes.length) return undefined;
  return Number(bytes.readBigUInt64BE(position + frameHeaderBytes));
}

function bad(reason: string): FrameRead {
  return { kind: "bad", reason };
}
