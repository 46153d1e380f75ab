import type { BrokerLog } from "./broker.js";
import type { NewBatch, NewEncodedBatch, ReadBatch, SequenceCheck } from "./partitionReplica.js";
import { decodeEncodedRecords } from "./storage/recordBatch.js";

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** Batches in JSON with keys and values as arrays of numbers: readable in test failures. */
function encodeBatches(batches: readonly ReadBatch[]): Uint8Array {
  if (batches.length === 0) return new Uint8Array(0);
  return textEncoder.encode(JSON.stringify(batches.map((b) => ({ ...b, records: b.records.map((r) => ({ ...r, key: r.key === null ? null : [...r.key], value: [...r.value] })) }))));
}

function decodeBatches(bytes: Uint8Array): ReadBatch[] {
  const parsed = JSON.parse(textDecoder.decode(bytes)) as (Omit<ReadBatch, "records"> & { records: { key: number[] | null; value: number[]; timestampMs: number }[] })[];
  return parsed.map((b) => ({ ...b, records: b.records.map((r) => ({ key: r.key === null ? null : Uint8Array.from(r.key), value: Uint8Array.from(r.value), timestampMs: r.timestampMs })) }));
}

/**
 * The in-memory twin of a partition log for unit tests of replicas and brokers: the same contract
 * (offsets, synced end, epochs, producer sequences), no disk. `sync()` makes everything durable.
 */
export class MemoryLog implements BrokerLog {
  batches: ReadBatch[] = [];
  syncedEndOffset = 0;
  closed = false;
  deleted = false;

  get logStartOffset(): number {
    return 0;
  }

  get logEndOffset(): number {
    const last = this.batches[this.batches.length - 1];
    return last === undefined ? 0 : last.baseOffset + last.records.length;
  }

  lastEpoch(): number {
    return this.batches[this.batches.length - 1]?.leaderEpoch ?? -1;
  }

  async append(appended: NewBatch | NewEncodedBatch): Promise<{ baseOffset: number; lastOffset: number; duplicate: boolean }> {
    const batch: NewBatch = appended.records === undefined ? { ...appended, records: decodeEncodedRecords(appended.recordsCount, appended.encodedRecords) } : appended;
    if (batch.producerId >= 0) {
      const check = this.checkSequence(batch.producerId, batch.baseSequence, batch.records.length);
      if (check.kind === "duplicate") return { ...check, duplicate: true };
      if (check.kind === "outOfOrder") throw new Error(`out of order: expected ${check.expectedSequence}`);
    }
    const baseOffset = this.logEndOffset;
    this.batches.push({ ...batch, baseOffset });
    return { baseOffset, lastOffset: baseOffset + batch.records.length - 1, duplicate: false };
  }

  async appendEncoded(bytes: Uint8Array): Promise<void> {
    for (const batch of decodeBatches(bytes)) {
      if (batch.baseOffset !== this.logEndOffset) throw new Error(`gap: batch at ${batch.baseOffset}, log end ${this.logEndOffset}`);
      this.batches.push(batch);
    }
  }

  async sync(): Promise<void> {
    this.syncedEndOffset = this.logEndOffset;
  }

  async readBatches(fromOffset: number, maxBytes: number, upToOffset: number): Promise<ReadBatch[]> {
    const found: ReadBatch[] = [];
    let bytes = 0;
    for (const batch of this.batches) {
      const end = batch.baseOffset + batch.records.length;
      if (end <= fromOffset || end > upToOffset) continue;
      const size = batch.records.reduce((sum, r) => sum + r.value.length + (r.key?.length ?? 0), 0);
      if (found.length > 0 && bytes + size > maxBytes) break;
      found.push(batch);
      bytes += size;
    }
    return found;
  }

  async readEncoded(fromOffset: number, maxBytes: number, upToOffset: number): Promise<Uint8Array> {
    return encodeBatches(await this.readBatches(fromOffset, maxBytes, upToOffset));
  }

  async truncateTo(offset: number): Promise<void> {
    this.batches = this.batches.filter((b) => b.baseOffset < offset);
    const last = this.batches[this.batches.length - 1];
    if (last !== undefined && last.baseOffset + last.records.length > offset) throw new Error(`truncation inside a batch at ${offset}`);
    this.syncedEndOffset = Math.min(this.syncedEndOffset, this.logEndOffset);
  }

  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    let found: { epoch: number; endOffset: number } = { epoch: -1, endOffset: 0 };
    for (const batch of this.batches) {
      if (batch.leaderEpoch > epoch) return found;
      found = { epoch: batch.leaderEpoch, endOffset: batch.baseOffset + batch.records.length };
    }
    return found;
  }

  checkSequence(producerId: number, baseSequence: number, count: number): SequenceCheck {
    const mine = this.batches.filter((b) => b.producerId === producerId);
    const last = mine[mine.length - 1];
    for (const batch of mine.slice(-5)) {
      if (batch.baseSequence === baseSequence && batch.records.length === count) return { kind: "duplicate", baseOffset: batch.baseOffset, lastOffset: batch.baseOffset + count - 1 };
    }
    const expectedSequence = last === undefined ? 0 : last.baseSequence + last.records.length;
    return baseSequence === expectedSequence ? { kind: "new" } : { kind: "outOfOrder", expectedSequence };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async delete(): Promise<void> {
    this.deleted = true;
  }
}
