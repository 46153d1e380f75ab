import { assert } from "../../shared/assert.js";
import { sequenceMax } from "./recordBatch.js";

/**
 * Idempotent producers (Kafka's KIP-98 rules, per producer and partition): a producer numbers its records
 * from 0; a batch carries the sequence of its first record. The partition keeps the last few batches of
 * each producer so that a retry of any of them is recognised and answered with its original offsets,
 * and anything else that is not the next sequence is refused as out of order.
 */

export interface ProducerBatch {
  readonly baseSequence: number;
  readonly lastSequence: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
}

export interface ProducerState {
  readonly producerId: number;
  /** Oldest first; at most `limits.broker.producerBatchesCountMax`. */
  readonly batches: readonly ProducerBatch[];
}

/**
 * Producer states by producer id, in the order they last appended (least recent first), which is the
 * order eviction follows. Owned and mutated by one partition log.
 */
export type ProducerStates = Map<number, ProducerState>;

export type SequenceCheck =
  | { readonly kind: "new" }
  | { readonly kind: "duplicate"; readonly baseOffset: number; readonly lastOffset: number }
  | { readonly kind: "outOfOrder"; readonly expected: number };

export interface ProducerBounds {
  readonly producersCountMax: number;
  readonly producerBatchesCountMax: number;
}

/** The sequence `count` records after `sequence`, wrapping after `sequenceMax` to 0 as Kafka's int32 does. */
export function sequenceAfter(sequence: number, count: number): number {
  return (sequence + count) % (sequenceMax + 1);
}

/**
 * What a batch of `count` records from `baseSequence` is for a producer in `state` (undefined: none
 * known). A producer's first batch must start at 0; a batch with the base and last sequence of a kept
 * batch is its retry; otherwise it must start right after the latest batch.
 */
export function checkSequence(state: ProducerState | undefined, baseSequence: number, count: number): SequenceCheck {
  assert(Number.isInteger(baseSequence) && baseSequence >= 0 && baseSequence <= sequenceMax, `baseSequence ${baseSequence} is outside [0, ${sequenceMax}]`);
  assert(Number.isInteger(count) && count >= 1, `a batch holds at least one record, got ${count}`);
  const latest = state?.batches[state.batches.length - 1];
  if (latest === undefined) return baseSequence === 0 ? { kind: "new" } : { kind: "outOfOrder", expected: 0 };
  const lastSequence = sequenceAfter(baseSequence, count - 1);
  const kept = state?.batches.find((b) => b.baseSequence === baseSequence && b.lastSequence === lastSequence);
  if (kept !== undefined) return { kind: "duplicate", baseOffset: kept.baseOffset, lastOffset: kept.lastOffset };
  const expected = sequenceAfter(latest.lastSequence, 1);
  return baseSequence === expected ? { kind: "new" } : { kind: "outOfOrder", expected };
}

/**
 * Records that `producerId` appended `batch`: it becomes the producer's latest batch (the oldest kept
 * one is dropped beyond the bound) and the producer the most recent one (the least recent producer is
 * forgotten beyond the bound).
 */
export function recordProducerBatch(states: ProducerStates, producerId: number, batch: ProducerBatch, bounds: ProducerBounds): void {
  const previous = states.get(producerId)?.batches ?? [];
  const batches = [...previous, batch].slice(-bounds.producerBatchesCountMax);
  states.delete(producerId);
  states.set(producerId, { producerId, batches });
  // Runs once per append over at most one surplus entry: the map never grows past the bound.
  for (const oldest of states.keys()) {
    if (states.size <= bounds.producersCountMax) break;
    states.delete(oldest);
  }
}

/** Adds every batch of `later` (states of a later part of the log) after those already in `states`. */
export function mergeProducerStates(states: ProducerStates, later: ProducerStates, bounds: ProducerBounds): void {
  for (const [producerId, state] of later) {
    for (const batch of state.batches) recordProducerBatch(states, producerId, batch, bounds);
  }
}
