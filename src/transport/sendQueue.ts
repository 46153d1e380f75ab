import { assert } from "../shared/assert.js";

/**
 * Encoded messages waiting for one peer, bounded in count and bytes. When a new message does not fit,
 * the oldest ones go: a newer Raft message supersedes an older one to the same peer far more often than
 * the reverse (heartbeats, votes, acknowledgements), and the core resends lost entries.
 */
export class SendQueue {
  private items: Uint8Array[] = [];
  private head = 0;
  private sizeBytes = 0;
  private readonly countMax: number;
  private readonly bytesMax: number;

  constructor(countMax: number, bytesMax: number) {
    assert(Number.isInteger(countMax) && countMax > 0, `Invalid send queue count bound ${countMax}`);
    assert(Number.isInteger(bytesMax) && bytesMax > 0, `Invalid send queue byte bound ${bytesMax}`);
    this.countMax = countMax;
    this.bytesMax = bytesMax;
  }

  get count(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.sizeBytes;
  }

  /** Appends `payload`; returns how many older payloads were dropped to make room for it. */
  push(payload: Uint8Array): number {
    assert(payload.byteLength <= this.bytesMax, `Cannot queue ${payload.byteLength} bytes: over the queue bound ${this.bytesMax}`);
    let droppedCount = 0;
    while (this.count >= this.countMax || this.sizeBytes + payload.byteLength > this.bytesMax) {
      this.shift();
      droppedCount++;
    }
    this.items.push(payload);
    this.sizeBytes += payload.byteLength;
    return droppedCount;
  }

  /** Removes and returns the oldest payloads up to `bytesMax` in total (always at least one if any). */
  takeBatch(bytesMax: number): Uint8Array[] {
    const batch: Uint8Array[] = [];
    let batchBytes = 0;
    for (;;) {
      const next = this.items[this.head];
      if (next === undefined) break;
      if (batch.length > 0 && batchBytes + next.byteLength > bytesMax) break;
      batch.push(this.shift());
      batchBytes += next.byteLength;
    }
    return batch;
  }

  /** Empties the queue; returns how many payloads it held. */
  clear(): number {
    const count = this.count;
    this.items = [];
    this.head = 0;
    this.sizeBytes = 0;
    return count;
  }

  private shift(): Uint8Array {
    const item = this.items[this.head];
    assert(item !== undefined, "Cannot shift an empty send queue");
    this.items[this.head] = emptyPayload; // release the buffer before compaction
    this.head++;
    this.sizeBytes -= item.byteLength;
    // Compacting once half the array is consumed keeps shifts O(1) amortised without a ring buffer.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

const emptyPayload = new Uint8Array(0);
