// The consumer group's checks, pure: what the producers' history says (dataPlaneCheck.ts) against what the
// group's members were handed and what they committed during the faults, and what a fresh member of the
// group finds after healing. At-least-once (no commit skips past a record nobody was handed), committed
// offsets that never go backwards, and committed offsets that survive.
import type { SendOperation } from "./dataPlaneCheck.js";
import type { Outcome } from "./outcomes.js";

/** One record a member's `poll` handed out. */
export interface HandedRecord {
  /** The member as the workload names it: `g<slot>.<incarnation>`, or `fresh` for the member joining after healing. */
  readonly member: string;
  /** The member's generation when the poll returned (-1 before it joined). */
  readonly generation: number;
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
  /** Milliseconds on the monotonic clock (performance.now()), when the poll returned. */
  readonly atMs: number;
}

/** One commit request of a member, as it settled. */
export interface GroupCommit {
  readonly member: string;
  readonly memberId: string;
  readonly generation: number;
  readonly offsets: readonly { readonly partition: number; readonly offset: number }[];
  readonly invokeMs: number;
  /** `ok`: the coordinator took it; `fail`: refused (ILLEGAL_GENERATION, UNKNOWN_MEMBER), never applied; `unknown`: may have been applied. */
  readonly outcome: Outcome;
  /** Present when `ok` or `fail`. */
  readonly completeMs?: number;
  readonly note?: string;
}

/** A commit's offset for one partition. */
export interface PartitionCommit {
  readonly commit: GroupCommit;
  readonly partition: number;
  readonly offset: number;
}

export interface GroupVerdict {
  /** Commits (and final committed offsets) past an acknowledged message no member had been handed by then. */
  readonly skipped: readonly { readonly partition: number; readonly committed: number; readonly by: string; readonly send: SendOperation }[];
  /** Successful commits of a partition below one that had completed before they were invoked. */
  readonly backwards: readonly { readonly earlier: PartitionCommit; readonly later: PartitionCommit }[];
  /** Partitions whose committed offset after healing is not one the history allows. */
  readonly notSurvived: readonly { readonly partition: number; readonly found: number | undefined; readonly why: string }[];
  /** Partitions where the fresh member did not start at the committed offset. */
  readonly wrongStart: readonly { readonly partition: number; readonly committed: number | undefined; readonly firstHanded: number }[];
  /** Acknowledged messages handed to no member, during the run or the drain. */
  readonly lostToGroup: readonly SendOperation[];
  /** Records handed out (run and drain), and the copies past the first (re-deliveries across rebalances: allowed). */
  readonly handedCount: number;
  readonly duplicatesHandedCount: number;
}

export interface GroupHistory {
  readonly sends: readonly SendOperation[];
  /** Handed to the members during the faults. */
  readonly handed: readonly HandedRecord[];
  readonly commits: readonly GroupCommit[];
  /** After healing: the group's committed offset per partition, read from its coordinator (absent: none). */
  readonly finalCommitted: ReadonlyMap<number, number>;
  /** After healing: each partition's high watermark, every replica at it. */
  readonly ends: readonly number[];
  /** Handed to the fresh member that drained the group's partitions to the high watermark after healing. */
  readonly drained: readonly HandedRecord[];
}

export function partitionCommits(commits: readonly GroupCommit[], outcome?: Outcome): PartitionCommit[] {
  return commits.filter((c) => outcome === undefined || c.outcome === outcome).flatMap((commit) => commit.offsets.map((o) => ({ commit, partition: o.partition, offset: o.offset })));
}

export function checkGroup(history: GroupHistory): GroupVerdict {
  const handedAll = [...history.handed, ...history.drained];
  // The first time each message (by partition and offset, and its value) was handed to any member.
  const firstHandedMs = new Map<string, number>();
  for (const record of handedAll) {
    const key = `${record.partition}@${record.offset}=${record.value}`;
    firstHandedMs.set(key, Math.min(firstHandedMs.get(key) ?? Number.POSITIVE_INFINITY, record.atMs));
  }
  const seenCount = new Map<string, number>();
  for (const record of handedAll) seenCount.set(`${record.partition}@${record.offset}`, (seenCount.get(`${record.partition}@${record.offset}`) ?? 0) + 1);
  const duplicatesHandedCount = [...seenCount.values()].reduce((sum, n) => sum + n - 1, 0);

  const acked = history.sends.filter((s): s is SendOperation & { offset: number } => s.outcome === "ok" && s.offset !== undefined);
  const handedMsOf = (s: SendOperation & { offset: number }): number => firstHandedMs.get(`${s.partition}@${s.offset}=${s.value}`) ?? Number.POSITIVE_INFINITY;

  // 1. At-least-once: per partition, the acknowledged messages in offset order with a running maximum of
  // when each was first handed out; a commit of offset c completed at t skips one when that maximum below c is past t.
  const byPartition = new Map<number, (SendOperation & { offset: number })[]>();
  for (const send of acked) byPartition.set(send.partition, [...(byPartition.get(send.partition) ?? []), send]);
  for (const list of byPartition.values()) list.sort((a, b) => a.offset - b.offset);
  const skipped: GroupVerdict["skipped"][number][] = [];
  const checkCommitted = (partition: number, committed: number, atMs: number, by: string): void => {
    const list = byPartition.get(partition) ?? [];
    for (const send of list) {
      if (send.offset >= committed) break;
      const handedMs = handedMsOf(send);
      if (handedMs === Number.POSITIVE_INFINITY || handedMs > atMs) {
        skipped.push({ partition, committed, by, send });
        return;
      }
    }
  };
  for (const c of partitionCommits(history.commits, "ok")) checkCommitted(c.partition, c.offset, c.commit.completeMs ?? Number.POSITIVE_INFINITY, `${c.commit.member} (generation ${c.commit.generation})`);
  for (const [partition, committed] of history.finalCommitted) checkCommitted(partition, committed, Number.POSITIVE_INFINITY, "the group after healing");

  // 2. Never backwards: a successful commit must not be below one that completed before it was invoked.
  const backwards: { earlier: PartitionCommit; later: PartitionCommit }[] = [];
  const okCommits = partitionCommits(history.commits, "ok");
  const partitions = [...new Set([...okCommits.map((c) => c.partition), ...history.finalCommitted.keys(), ...history.ends.map((_, p) => p)])].sort((a, b) => a - b);
  for (const partition of partitions) {
    const list = okCommits.filter((c) => c.partition === partition);
    const byCompletion = [...list].sort((a, b) => (a.commit.completeMs ?? 0) - (b.commit.completeMs ?? 0));
    const byInvoke = [...list].sort((a, b) => a.commit.invokeMs - b.commit.invokeMs);
    let highest: PartitionCommit | undefined;
    let next = 0;
    for (const later of byInvoke) {
      while (next < byCompletion.length && (byCompletion[next]?.commit.completeMs ?? 0) < later.commit.invokeMs) {
        const done = byCompletion[next++] as PartitionCommit;
        if (highest === undefined || done.offset > highest.offset) highest = done;
      }
      if (highest !== undefined && later.offset < highest.offset) backwards.push({ earlier: highest, later });
    }
  }

  // 3. Survival: the committed offset after healing is at least the last successful commit's (or that of a
  // commit overlapping it, ok or of unknown outcome, which the coordinator may have applied after it), is
  // the offset of some commit, and is not past the high watermark; the fresh member starts there.
  const notSurvived: { partition: number; found: number | undefined; why: string }[] = [];
  const wrongStart: { partition: number; committed: number | undefined; firstHanded: number }[] = [];
  const mayApply = partitionCommits(history.commits).filter((c) => c.commit.outcome !== "fail");
  for (const partition of partitions) {
    const found = history.finalCommitted.get(partition);
    const end = history.ends[partition];
    const last = okCommits.filter((c) => c.partition === partition).reduce<PartitionCommit | undefined>((a, c) => (a === undefined || (c.commit.completeMs ?? 0) > (a.commit.completeMs ?? 0) ? c : a), undefined);
    const candidates = mayApply.filter((c) => c.partition === partition);
    if (found === undefined) {
      if (last !== undefined) notSurvived.push({ partition, found, why: `no committed offset, though ${last.commit.member} committed ${last.offset}` });
    } else if (end !== undefined && found > end) {
      notSurvived.push({ partition, found, why: `past the high watermark ${end}` });
    } else if (!candidates.some((c) => c.offset === found)) {
      notSurvived.push({ partition, found, why: "no member committed it" });
    } else if (last !== undefined && found < last.offset) {
      const overlapping = candidates.some((c) => c.offset === found && c !== last && c.commit.invokeMs < (last.commit.completeMs ?? 0) && (c.commit.completeMs === undefined || c.commit.completeMs > last.commit.invokeMs));
      if (!overlapping) notSurvived.push({ partition, found, why: `below the last successful commit, ${last.offset} by ${last.commit.member} (generation ${last.commit.generation})` });
    }
    const first = history.drained.filter((r) => r.partition === partition).reduce((min, r) => Math.min(min, r.offset), Number.POSITIVE_INFINITY);
    if (first !== Number.POSITIVE_INFINITY && first !== (found ?? 0)) wrongStart.push({ partition, committed: found, firstHanded: first });
  }
  const lostToGroup = acked.filter((s) => handedMsOf(s) === Number.POSITIVE_INFINITY);
  return { skipped, backwards, notSurvived, wrongStart, lostToGroup, handedCount: handedAll.length, duplicatesHandedCount };
}

/** Problems listed per category at most. */
const listedCountMax = 5;

/** One line per problem the verdict shows (at most a few per category); empty when clean. */
export function groupProblems(verdict: GroupVerdict): string[] {
  const lines: string[] = [];
  const list = <T>(items: readonly T[], what: string, show: (item: T) => string): void => {
    if (items.length === 0) return;
    const shown = items.slice(0, listedCountMax).map(show).join("; ");
    lines.push(`${what}: ${items.length}${items.length > listedCountMax ? ` (first ${listedCountMax})` : ""}: ${shown}`);
  };
  const commit = (c: PartitionCommit): string => `${c.offset} by ${c.commit.member} (generation ${c.commit.generation}, ${c.commit.invokeMs.toFixed(0)}–${(c.commit.completeMs ?? 0).toFixed(0)} ms)`;
  list(verdict.skipped, "group commits past a message no member was handed", (s) => `partition ${s.partition} committed ${s.committed} by ${s.by} past ${s.send.value} at ${s.send.offset}`);
  list(verdict.backwards, "group commits going backwards", (b) => `partition ${b.later.partition}: ${commit(b.later)} after ${commit(b.earlier)}`);
  list(verdict.notSurvived, "group committed offsets not surviving", (n) => `partition ${n.partition} at ${n.found ?? "none"}: ${n.why}`);
  list(verdict.wrongStart, "a fresh group member not starting at the committed offset", (w) => `partition ${w.partition} committed ${w.committed ?? "none"}, first handed ${w.firstHanded}`);
  list(verdict.lostToGroup, "acknowledged messages handed to no group member", (s) => `${s.value} at ${s.partition}@${s.offset ?? "?"}`);
  return lines;
}
