// The data plane's check, pure: what the producers' history says against what a consumer read back from
// every partition after healing. Every acknowledged message present (else lost), no message twice, no
// failed message present, each acknowledged message at the offset its acknowledgement named, and per
// producer and partition the acknowledged messages in the order they were sent.
import type { Outcome } from "./outcomes.js";

/** One send of a chaos producer, as recorded. */
export interface SendOperation {
  readonly producerIndex: number;
  /** The producer's own count of sends, from 1: its send order. */
  readonly sequence: number;
  readonly partition: number;
  /** Unique in a run: `p<producerIndex>-<sequence>`. */
  readonly value: string;
  /** Milliseconds on the monotonic clock (performance.now()). */
  readonly invokeMs: number;
  /** `ok`: acknowledged (acks=all); `fail`: certainly not appended; `unknown`: may have been. */
  readonly outcome: Outcome;
  /** When `ok`: the offset the acknowledgement named. */
  readonly offset?: number;
  /** Present when `ok` or `fail`. */
  readonly completeMs?: number;
  /** Why a send failed, for reading a failure. */
  readonly note?: string;
}

/** A message read back after the run. */
export interface ConsumedMessage {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

export interface DataPlaneVerdict {
  /** Acknowledged sends not read back. */
  readonly lost: readonly SendOperation[];
  /** Messages read more than once; `duplicatesCount` counts every copy past the first. */
  readonly duplicated: readonly { readonly value: string; readonly offsets: readonly string[] }[];
  readonly duplicatesCount: number;
  /** Sends certainly refused that were read back anyway. */
  readonly failedPresent: readonly SendOperation[];
  /** Acknowledged sends read back at another partition or offset than their acknowledgement named. */
  readonly misplaced: readonly { readonly send: SendOperation; readonly found: ConsumedMessage }[];
  /** Acknowledged sends of one producer to one partition whose offsets do not follow their send order. */
  readonly outOfOrder: readonly { readonly earlier: SendOperation; readonly later: SendOperation }[];
  /** Messages read back that no producer sent. */
  readonly unexpected: readonly ConsumedMessage[];
  /** Sends of unknown outcome that were read back (they took effect): for the summary. */
  readonly unknownPresentCount: number;
}

export function checkDataPlane(sends: readonly SendOperation[], consumed: readonly ConsumedMessage[]): DataPlaneVerdict {
  const copies = new Map<string, ConsumedMessage[]>();
  for (const message of consumed) {
    const list = copies.get(message.value);
    if (list === undefined) copies.set(message.value, [message]);
    else list.push(message);
  }
  const sent = new Map(sends.map((send) => [send.value, send]));
  const duplicated = [...copies]
    .filter(([, list]) => list.length > 1)
    .map(([value, list]) => ({ value, offsets: list.map((m) => `${m.partition}@${m.offset}`) }));
  const duplicatesCount = duplicated.reduce((sum, d) => sum + d.offsets.length - 1, 0);
  const lost: SendOperation[] = [];
  const failedPresent: SendOperation[] = [];
  const misplaced: { send: SendOperation; found: ConsumedMessage }[] = [];
  let unknownPresentCount = 0;
  for (const send of sends) {
    const found = copies.get(send.value)?.[0];
    switch (send.outcome) {
      case "ok":
        if (found === undefined) lost.push(send);
        else if (found.partition !== send.partition || found.offset !== send.offset) misplaced.push({ send, found });
        break;
      case "fail":
        if (found !== undefined) failedPresent.push(send);
        break;
      case "unknown":
        if (found !== undefined) unknownPresentCount++;
        break;
    }
  }
  const unexpected = consumed.filter((m) => !sent.has(m.value));
  return { lost, duplicated, duplicatesCount, failedPresent, misplaced, outOfOrder: findOutOfOrder(sends, copies), unexpected, unknownPresentCount };
}

/**
 * Per producer and partition, the acknowledged sends read back, in send order: their offsets must rise.
 * (The producer keeps one batch in flight per partition and numbers batches for the leader, so a later
 * send can never be appended before an earlier one that was acknowledged.)
 */
function findOutOfOrder(sends: readonly SendOperation[], copies: ReadonlyMap<string, readonly ConsumedMessage[]>): { earlier: SendOperation; later: SendOperation }[] {
  const streams = new Map<string, { send: SendOperation; offset: number }[]>();
  for (const send of sends) {
    const found = copies.get(send.value)?.[0];
    if (send.outcome !== "ok" || found === undefined) continue;
    const key = `${send.producerIndex}/${found.partition}`;
    const stream = streams.get(key) ?? [];
    stream.push({ send, offset: found.offset });
    streams.set(key, stream);
  }
  const outOfOrder: { earlier: SendOperation; later: SendOperation }[] = [];
  for (const stream of streams.values()) {
    stream.sort((a, b) => a.send.sequence - b.send.sequence);
    for (let i = 1; i < stream.length; i++) {
      const earlier = stream[i - 1];
      const later = stream[i];
      if (earlier !== undefined && later !== undefined && later.offset <= earlier.offset) outOfOrder.push({ earlier: earlier.send, later: later.send });
    }
  }
  return outOfOrder;
}

/** Problems listed per category at most. */
const listedCountMax = 5;

/** One line per problem the verdict shows (at most a few per category); empty when clean. */
export function dataPlaneProblems(verdict: DataPlaneVerdict): string[] {
  const lines: string[] = [];
  const list = <T>(items: readonly T[], what: string, show: (item: T) => string): void => {
    if (items.length === 0) return;
    const shown = items.slice(0, listedCountMax).map(show).join("; ");
    lines.push(`${what}: ${items.length}${items.length > listedCountMax ? ` (first ${listedCountMax})` : ""}: ${shown}`);
  };
  const send = (s: SendOperation): string => `${s.value} to partition ${s.partition}${s.offset === undefined ? "" : ` acknowledged at ${s.offset}`} (invoked ${s.invokeMs.toFixed(0)} ms${s.completeMs === undefined ? "" : `, completed ${s.completeMs.toFixed(0)} ms`})`;
  list(verdict.lost, "acknowledged messages lost", send);
  list(verdict.duplicated, "messages read more than once", (d) => `${d.value} at ${d.offsets.join(", ")}`);
  list(verdict.failedPresent, "messages whose send failed (not appended) read back", send);
  list(verdict.misplaced, "acknowledged messages read back elsewhere", (m) => `${send(m.send)} found at ${m.found.partition}@${m.found.offset}`);
  list(verdict.outOfOrder, "acknowledged messages out of send order", (o) => `${o.later.value} before ${o.earlier.value} in partition ${o.later.partition}`);
  list(verdict.unexpected, "messages read back that no producer sent", (m) => `${JSON.stringify(m.value).slice(0, 60)} at ${m.partition}@${m.offset}`);
  return lines;
}
