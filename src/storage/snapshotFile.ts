import { crc32 } from "node:zlib";
import type { Membership, Snapshot, SnapshotMeta } from "../raft/types.js";
import { assert } from "../shared/assert.js";
import { limits } from "../shared/limits.js";
import type { Result } from "../shared/result.js";
import { err, ok } from "../shared/result.js";

/**
 * One snapshot per file, named by `(index, term)` so the latest sorts last (DESIGN §4):
 *
 *   [magic u32][crc32 u32][bodyLength u64] body:
 *   [index u64][term u64][votersCount u32][voter u32]…[learnersCount u32][learner u32]…[dataLength u64][data]
 *
 * The CRC covers the body, so a snapshot is used only if every byte is what was written.
 */
const snapshotMagic = 0x594b534e; // "YKSN"
const snapshotHeaderBytes = 16;
const snapshotNamePattern = /^snapshot-(\d{20})-(\d{20})\.snap$/;

export function snapshotFileName(meta: Pick<SnapshotMeta, "index" | "term">): string {
  return `snapshot-${String(meta.index).padStart(20, "0")}-${String(meta.term).padStart(20, "0")}.snap`;
}

export function parseSnapshotFileName(name: string): { index: number; term: number } | undefined {
  const match = snapshotNamePattern.exec(name);
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  const index = Number(match[1]);
  const term = Number(match[2]);
  return Number.isSafeInteger(index) && Number.isSafeInteger(term) ? { index, term } : undefined;
}

/** The file as chunks (header, meta, data) so a large snapshot's data is never copied. */
export function encodeSnapshot(snapshot: Snapshot): Uint8Array[] {
  const { index, term, membership } = snapshot.meta;
  // Index 0 term 0 is the initial membership a joining node receives (see RaftStorage.writeSnapshot).
  const initialMembership = index === 0 && term === 0;
  assert(initialMembership || (Number.isSafeInteger(index) && index >= 1 && Number.isSafeInteger(term) && term >= 1), `snapshot at ${index} term ${term} must have a positive index and term`);
  const membersCount = membership.voters.length + membership.learners.length;
  assert(membersCount <= limits.raft.membersCountMax, `snapshot membership has ${membersCount} members, more than ${limits.raft.membersCountMax}`);
  const meta = Buffer.alloc(16 + 4 + 4 * membership.voters.length + 4 + 4 * membership.learners.length + 8);
  let position = meta.writeBigUInt64BE(BigInt(index), 0);
  position = meta.writeBigUInt64BE(BigInt(term), position);
  for (const ids of [membership.voters, membership.learners]) {
    position = meta.writeUInt32BE(ids.length, position);
    for (const id of ids) position = meta.writeUInt32BE(id, position);
  }
  position = meta.writeBigUInt64BE(BigInt(snapshot.data.length), position);
  assert(position === meta.length, `snapshot meta is ${position} bytes, expected ${meta.length}`);
  const bodyBytes = meta.length + snapshot.data.length;
  assert(snapshotHeaderBytes + bodyBytes <= limits.storage.snapshotBytesMax, `snapshot of ${bodyBytes} bytes exceeds ${limits.storage.snapshotBytesMax}`);
  const header = Buffer.alloc(snapshotHeaderBytes);
  header.writeUInt32BE(snapshotMagic, 0);
  // Node 20's crc32 answers 0 for an empty view over a zero-length ArrayBuffer, whatever the running
  // value: empty data (the initial-membership snapshot at index 0) adds nothing, so it is left out.
  const metaCrc = crc32(meta);
  header.writeUInt32BE(snapshot.data.length === 0 ? metaCrc : crc32(snapshot.data, metaCrc), 4);
  header.writeBigUInt64BE(BigInt(bodyBytes), 8);
  return [header, meta, snapshot.data];
}

/** Decodes and verifies a snapshot file; the error says what is wrong. */
export function decodeSnapshot(bytes: Buffer): Result<Snapshot, string> {
  if (bytes.length < snapshotHeaderBytes) return err(`file of ${bytes.length} bytes is shorter than the header`);
  if (bytes.readUInt32BE(0) !== snapshotMagic) return err("bad magic");
  const bodyBytes = Number(bytes.readBigUInt64BE(8));
  if (bodyBytes !== bytes.length - snapshotHeaderBytes) return err(`body length ${bodyBytes} does not match file size ${bytes.length}`);
  const body = bytes.subarray(snapshotHeaderBytes);
  if (crc32(body) !== bytes.readUInt32BE(4)) return err("bad CRC");
  // The CRC matched, so the body was written by encodeSnapshot; the checks below guard format bugs.
  if (body.length < 28) return err("body too short");
  const index = Number(body.readBigUInt64BE(0));
  const term = Number(body.readBigUInt64BE(8));
  let position = 16;
  const sets: number[][] = [];
  for (const _set of ["voters", "learners"]) {
    if (position + 4 > body.length) return err("membership runs past the end");
    const count = body.readUInt32BE(position);
    position += 4;
    if (count > limits.raft.membersCountMax || position + 4 * count > body.length) return err(`bad member count ${count}`);
    const ids: number[] = [];
    for (let i = 0; i < count; i++, position += 4) ids.push(body.readUInt32BE(position));
    sets.push(ids);
  }
  if (position + 8 > body.length) return err("data length runs past the end");
  const dataLength = Number(body.readBigUInt64BE(position));
  position += 8;
  if (position + dataLength !== body.length) return err(`data length ${dataLength} does not match the body`);
  const membership: Membership = { voters: sets[0] ?? [], learners: sets[1] ?? [] };
  return ok({ meta: { index, term, membership }, data: new Uint8Array(body.subarray(position)) });
}
