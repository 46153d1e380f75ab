import { assert } from "../shared/assert.js";

interface Slot<T> {
  readonly time: number;
  readonly seq: number;
  readonly value: T;
}

/**
 * A priority queue of simulated events ordered by time, then by insertion order, so two events at the
 * same time always run in the order they were scheduled (a binary heap; every operation is O(log n)).
 */
export class EventQueue<T> {
  private readonly heap: Slot<T>[] = [];
  private seqNext = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, value: T): void {
    assert(Number.isFinite(time) && time >= 0, `event time must be a finite non-negative number: current value is ${time}`);
    const heap = this.heap;
    const slot: Slot<T> = { time, seq: this.seqNext++, value };
    let i = heap.length;
    heap.push(slot);
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex] as Slot<T>;
      if (!before(slot, parent)) break;
      heap[i] = parent;
      i = parentIndex;
    }
    heap[i] = slot;
  }

  /** The earliest event, or undefined when the queue is empty. */
  pop(): { time: number; value: T } | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop() as Slot<T>;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        let child = left;
        if (right < n && before(heap[right] as Slot<T>, heap[left] as Slot<T>)) child = right;
        const childSlot = heap[child] as Slot<T>;
        if (!before(childSlot, last)) break;
        heap[i] = childSlot;
        i = child;
      }
      heap[i] = last;
    }
    return { time: top.time, value: top.value };
  }

  peekTime(): number | undefined {
    return this.heap[0]?.time;
  }
}

function before<T>(a: Slot<T>, b: Slot<T>): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
