import { assert } from "../shared/assert.js";
import { limits } from "../shared/limits.js";
import type { Broker, MetadataRecord, ProducerIds } from "./records.js";
import { isClientRecord } from "./records.js";
import type { TopicView } from "./results.js";
import type { MetadataHistory, MetadataState } from "./state.js";
import { listBrokers, listProducers, listTopics } from "./queries.js";

/**
 * "Changes since offset" (SPEC §4 MetadataFetch). Applied records are kept in memory from
 * `history.startOffset` on — bounded by count and by age, both measured on record data, so every replica
 * trims alike — and a caller gets either the records it missed or, when those are no longer all here or
 * the oldest it missed is older than the delta age, the whole image.
 *
 * The age rule looks at the oldest record the caller missed, not at the record at its offset: a caller
 * that is up to date on an idle cluster has missed nothing and gets an empty delta, however old its
 * offset. A caller "ahead" of this node (it read from a fresher one) gets an empty delta and
 * `currentOffset` below its own.
 */

/** Brokers see everything; producers and consumers see topics, partitions and brokers only. */
export type MetadataView = "broker" | "client";

export interface ChangesOptions {
  readonly view?: MetadataView;
  /** A caller whose oldest missed change is older than this gets the full image. */
  readonly deltaAgeMs?: number;
}

/** The whole metadata image: brokers in id order (CLOSED ones too), topics by name with their partitions. */
export interface MetadataImage {
  readonly brokers: readonly Broker[];
  readonly topics: readonly TopicView[];
  /** Broker view only. */
  readonly producers?: readonly ProducerIds[];
}

export type MetadataChanges =
  | { readonly kind: "delta"; readonly records: readonly MetadataRecord[]; readonly currentOffset: number }
  | { readonly kind: "snapshot"; readonly snapshot: MetadataImage; readonly currentOffset: number };

export interface HistoryBounds {
  readonly countMax: number;
  /** Records older than the newest record's timestamp minus this are dropped. */
  readonly ageMsMax: number;
}

const defaultBounds: HistoryBounds = { countMax: limits.metadata.historyRecordsCountMax, ageMsMax: limits.metadata.historyAgeMsMax };

export function changesSince(state: MetadataState, offset: number, nowMs: number, options: ChangesOptions = {}): MetadataChanges {
  const { history } = state;
  if (offset < history.startOffset) return imageAnswer(state, options);
  return answer(state, history.records.slice(firstAfterOffset(history, offset)), nowMs, options);
}

/** As `changesSince`, for a caller that knows a time instead of an offset: records stamped after `timeMs`. */
export function changesSinceTime(state: MetadataState, timeMs: number, nowMs: number, options: ChangesOptions = {}): MetadataChanges {
  const { history } = state;
  if (timeMs < history.startTimestampMs) return imageAnswer(state, options);
  const missed = history.records.slice(history.head).filter((record) => record.timestamp > timeMs);
  return answer(state, missed, nowMs, options);
}

export function metadataImage(state: MetadataState, view: MetadataView): MetadataImage {
  const image = { brokers: listBrokers(state), topics: listTopics(state) };
  return view === "client" ? image : { ...image, producers: listProducers(state) };
}

/** Appends one command's records and trims the front (whole offsets at a time) back within bounds. */
export function appendToHistory(state: MetadataState, records: readonly MetadataRecord[], bounds: HistoryBounds = defaultBounds): void {
  const { history } = state;
  for (const record of records) {
    assert(record.offset > history.startOffset, `record at offset ${record.offset} must follow the history start ${history.startOffset}`);
    history.records.push(record);
  }
  const oldestKeptMs = state.recordTimestampMsMax - bounds.ageMsMax;
  for (;;) {
    const oldest = history.records[history.head];
    if (oldest === undefined) break;
    if (history.records.length - history.head <= bounds.countMax && oldest.timestamp >= oldestKeptMs) break;
    dropOldestOffset(history, oldest.offset);
  }
  if (history.head > history.records.length / 2) {
    history.records = history.records.slice(history.head);
    history.head = 0;
  }
}

/**
 * The log was compacted up to `offset`: records at or below it are dropped, so an offset compacted away
 * gets the full image (SPEC §4) on this node as on one that restored a snapshot there.
 */
export function trimHistory(state: MetadataState, offset: number): void {
  const { history } = state;
  for (let oldest = history.records[history.head]; oldest !== undefined && oldest.offset <= offset; oldest = history.records[history.head]) {
    dropOldestOffset(history, oldest.offset);
  }
  history.startOffset = Math.max(history.startOffset, Math.min(offset, state.offset));
}

/** A fresh history for a state restored at `offset`: nothing before it can be served as a delta. */
export function resetHistory(state: MetadataState, offset: number): void {
  state.history.records = [];
  state.history.head = 0;
  state.history.startOffset = offset;
  state.history.startTimestampMs = state.recordTimestampMsMax;
}

function dropOldestOffset(history: MetadataHistory, offset: number): void {
  for (let record = history.records[history.head]; record?.offset === offset; record = history.records[history.head]) {
    history.startTimestampMs = Math.max(history.startTimestampMs, record.timestamp);
    history.head++;
  }
  history.startOffset = offset;
}

function answer(state: MetadataState, missed: readonly MetadataRecord[], nowMs: number, options: ChangesOptions): MetadataChanges {
  const deltaAgeMs = options.deltaAgeMs ?? limits.metadata.deltaAgeMsDefault;
  assert(deltaAgeMs >= 0, `deltaAgeMs must not be negative: current value is ${deltaAgeMs}`);
  const records = options.view === "client" ? missed.filter(isClientRecord) : missed;
  const oldest = records[0];
  if (oldest !== undefined && oldest.timestamp < nowMs - deltaAgeMs) return imageAnswer(state, options);
  return { kind: "delta", records, currentOffset: state.offset };
}

function imageAnswer(state: MetadataState, options: ChangesOptions): MetadataChanges {
  return { kind: "snapshot", snapshot: metadataImage(state, options.view ?? "broker"), currentOffset: state.offset };
}

/** Index in `history.records` of the first kept record with an offset above `offset` (offsets only grow). */
function firstAfterOffset(history: MetadataHistory, offset: number): number {
  let low = history.head;
  let high = history.records.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((history.records[middle]?.offset ?? Infinity) > offset) high = middle;
    else low = middle + 1;
  }
  return low;
}
