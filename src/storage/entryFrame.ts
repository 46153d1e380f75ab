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
 *
 * The frame itself gives its fields no meaning: the controller's log stores a Raft entry in it (index,
 * term, entry type); a broker's partition log stores a record batch (base offset, leader epoch, batch
 * format). `encodeFrame`/`readFrame` handle the bare fields; `encodeEntryFrame`/`readEntryFrame` the entry.
 */
export const frameHeaderBytes = 8;
/** Bytes of the checksummed body before the data: index, term, type. */
export const frameBodyFixedBytes = 17;
export const frameBytesMin = frameHeaderBytes + frameBodyFixedBytes;

/** The fields of one frame. `data` read back is a view into the bytes read, not a copy. */
export interface Frame {
  readonly index: number;
  readonly term: number;
  readonly typeCode: number;
  readonly data: Uint8Array;
}

export type RawFrameRead =
  | { readonly kind: "frame"; readonly frame: Frame; readonly sizeBytes: number }
  | { readonly kind: "bad"; readonly reason: string };

export type FrameRead =
  | { readonly kind: "entry"; readonly entry: Entry; readonly sizeBytes: number }
  | { readonly kind: "bad"; readonly reason: string };

const entryTypeCodes: Readonly<Record<EntryType, number>> = { normal: 0, noop: 1, membership: 2 };
const entryTypesByCode: readonly EntryType[] = ["normal", "noop", "membership"];

export function frameSizeBytes(entry: Entry): number {
  return frameBytesMin + entry.data.length;
}

/** Writes a frame of `frame`'s fields into `target` at `position`; returns the position after it. */
export function encodeFrame(frame: Frame, target: Buffer, position: number): number {
  assert(Number.isSafeInteger(frame.index) && frame.index >= 0, `frame index must be a non-negative safe integer, got ${frame.index}`);
  assert(Number.isSafeInteger(frame.term) && frame.term >= 0, `frame term must be a non-negative safe integer, got ${frame.term}`);
  assert(Number.isInteger(frame.typeCode) && frame.typeCode >= 0 && frame.typeCode <= 0xff, `frame type must be a byte, got ${frame.typeCode}`);
  const sizeBytes = frameBytesMin + frame.data.length;
  assert(position + sizeBytes <= target.length, `frame of ${sizeBytes} bytes does not fit at ${position} of ${target.length}`);
  const body = position + frameHeaderBytes;
  target.writeUInt32BE(frameBodyFixedBytes + frame.data.length, position);
  target.writeBigUInt64BE(BigInt(frame.index), body);
  target.writeBigUInt64BE(BigInt(frame.term), body + 8);
  target.writeUInt8(frame.typeCode, body + 16);
  target.set(frame.data, body + frameBodyFixedBytes);
  target.writeUInt32BE(crc32(target.subarray(body, position + sizeBytes)), position + 4);
  return position + sizeBytes;
}

/** Writes `entry`'s frame into `target` at `position`; returns the position after it. */
export function encodeEntryFrame(entry: Entry, target: Buffer, position: number): number {
  assert(Number.isSafeInteger(entry.index) && entry.index >= 1, `entry index must be a positive integer, got ${entry.index}`);
  assert(Number.isSafeInteger(entry.term) && entry.term >= 1, `entry term must be a positive integer, got ${entry.term}`);
  return encodeFrame({ index: entry.index, term: entry.term, typeCode: entryTypeCodes[entry.type], data: entry.data }, target, position);
}

/**
 * Reads the frame at `position`, checking its length bound and CRC. Never throws on bad bytes: whether a
 * bad frame is a torn tail or corruption depends on what follows it, which only the caller knows.
 */
export function readFrame(bytes: Uint8Array, position: number, dataBytesMax: number): RawFrameRead {
  assert(position >= 0 && position <= bytes.length, `frame position ${position} is outside ${bytes.length} bytes`);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const available = bytes.length - position;
  if (available < frameHeaderBytes) return bad(`short frame header (${available} of ${frameHeaderBytes} bytes)`);
  const length = view.readUInt32BE(position);
  if (length < frameBodyFixedBytes || length > frameBodyFixedBytes + dataBytesMax) return bad(`bad length ${length}`);
  const sizeBytes = frameHeaderBytes + length;
  if (available < sizeBytes) return bad(`short frame (${available} of ${sizeBytes} bytes)`);
  const body = position + frameHeaderBytes;
  if (crc32(view.subarray(body, position + sizeBytes)) !== view.readUInt32BE(position + 4)) return bad("bad CRC");
  // The CRC matched, so what follows was written by an encoder; a bad value here is a format error.
  const index = Number(view.readBigUInt64BE(body));
  const term = Number(view.readBigUInt64BE(body + 8));
  if (!Number.isSafeInteger(index)) return bad(`bad index ${index}`);
  if (!Number.isSafeInteger(term)) return bad(`bad term ${term}`);
  const data = view.subarray(body + frameBodyFixedBytes, position + sizeBytes);
  return { kind: "frame", frame: { index, term, typeCode: view.readUInt8(body + 16), data }, sizeBytes };
}

/** Reads the entry frame at `position`; as `readFrame`, plus the entry's own rules. */
export function readEntryFrame(bytes: Uint8Array, position: number, entryDataBytesMax: number): FrameRead {
  const read = readFrame(bytes, position, entryDataBytesMax);
  if (read.kind === "bad") return read;
  const { index, term, typeCode, data } = read.frame;
  const type = entryTypesByCode[typeCode];
  if (index < 1) return bad(`bad index ${index}`);
  if (term < 1) return bad(`bad term ${term}`);
  if (type === undefined) return bad(`unknown entry type ${typeCode}`);
  // Copy the data so one entry does not pin the whole segment buffer in memory.
  return { kind: "entry", entry: { index, term, type, data: new Uint8Array(data) }, sizeBytes: read.sizeBytes };
}

/** The index field of a would-be frame at `position`, without checking anything else (for resync scans). */
export function peekFrameIndex(bytes: Buffer, position: number): number | undefined {
  if (position + frameBytesMin > bytes.length) return undefined;
  return Number(bytes.readBigUInt64BE(position + frameHeaderBytes));
}

export interface FrameSearch {
  /** Only a frame whose index is in [indexMin, indexMax] could belong to the log being scanned. */
  readonly indexMin: number;
  readonly indexMax: number;
  readonly dataBytesMax: number;
}

/**
 * Looks for any valid frame at or after `from` that could belong to this log. A torn tail has none; a
 * flipped byte in the middle of the log does. Runs only on the rare bad-frame path; the cheap index
 * check rejects almost every position before the CRC is computed.
 */
export function findValidFrame(bytes: Buffer, from: number, search: FrameSearch): { index: number; position: number } | undefined {
  for (let position = from; position + frameBytesMin <= bytes.length; position++) {
    const index = peekFrameIndex(bytes, position);
    if (index === undefined || index < search.indexMin || index > search.indexMax) continue;
    const read = readFrame(bytes, position, search.dataBytesMax);
    if (read.kind === "frame") return { index: read.frame.index, position };
  }
  return undefined;
}

function bad(reason: string): { readonly kind: "bad"; readonly reason: string } {
  return { kind: "bad", reason };
}
