// The consumer group's part of a chaos run: members of one group consuming the chaos topic while the
// faults run, each record handed out and each commit recorded (groupCheck.ts), members that fail for good
// replaced as an application would restart them, and members restarted now and then (closing, which
// commits and leaves, then joining again) so that the group rebalances besides what the faults cause.
// After healing: the group's committed offsets read from its coordinator, and a fresh member that drains
// the topic from them.
import { setTimeout as sleep } from "node:timers/promises";
import { ClientError } from "../client/clientError.js";
import { Consumer } from "../client/consumer.js";
import type { OffsetCommit } from "../client/consumer.js";
import { assert } from "../shared/assert.js";
import { createPrng } from "../shared/prng.js";
import type { Prng } from "../shared/prng.js";
import { chaosTopic } from "./dataPlaneWorkload.js";
import type { GroupCommit, HandedRecord } from "./groupCheck.js";
import type { Outcome } from "./outcomes.js";

export const chaosGroup = "chaos-group";

export interface GroupTimings {
  /** A member commits what it was handed every this long, drawn uniformly from [min, max]. */
  readonly commitEveryMsMin: number;
  readonly commitEveryMsMax: number;
  /** A member closes (committing and leaving) and a new one joins after this long, drawn from [min, max]. */
  readonly lifetimeMsMin: number;
  readonly lifetimeMsMax: number;
  /** Members whose consumer failed for good that are replaced, in all; past it the slot stays empty. */
  readonly replacementsMax: number;
  readonly requestTimeoutMs: number;
}

export const groupTimingsDefault: GroupTimings = {
  commitEveryMsMin: 200,
  commitEveryMsMax: 1_000,
  lifetimeMsMin: 8_000,
  lifetimeMsMax: 25_000,
  replacementsMax: 16,
  requestTimeoutMs: 5_000,
};

export interface GroupWorkloadOptions {
  readonly consumersCount: number;
  readonly controllers: readonly string[];
  readonly seed: number;
  readonly timings?: Partial<GroupTimings>;
}

export interface GroupCounts {
  readonly handed: number;
  readonly commits: Record<Outcome, number>;
  /** Assignments members adopted (each join and each new generation a heartbeat announced). */
  readonly assignments: number;
  /** Distinct generation numbers seen (a new coordinator numbers its own from 1). */
  readonly generations: number;
  /** Members that closed at the end of their lifetime and were started again. */
  readonly restarts: number;
  /** Members whose consumer failed for good (poll threw), replaced while replacements last. */
  readonly fatal: number;
}

/** Members of one group; every record handed out and every commit recorded. */
export class GroupWorkload {
  readonly handed: HandedRecord[] = [];
  readonly commits: GroupCommit[] = [];
  readonly fatalNotes: string[] = [];
  private readonly timings: GroupTimings;
  private readonly generations = new Set<number>();
  private assignmentsCount = 0;
  private restartsCount = 0;
  private fatalCount = 0;
  private stopping = false;
  private readonly wake = new AbortController();
  private running: Promise<void> | undefined;

  constructor(private readonly options: GroupWorkloadOptions) {
    assert(options.consumersCount >= 1, "a group workload needs members");
    this.timings = { ...groupTimingsDefault, ...options.timings };
  }

  start(): void {
    assert(this.running === undefined, "a workload starts once");
    this.running = Promise.all(Array.from({ length: this.options.consumersCount }, (_, slot) => this.runSlot(slot))).then(() => {});
  }

  /** Stops every member: each closes (committing what it was handed and leaving the group). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake.abort();
    await this.running;
  }

  counts(): GroupCounts {
    const commits: Record<Outcome, number> = { ok: 0, fail: 0, unknown: 0 };
    for (const commit of this.commits) commits[commit.outcome]++;
    return { handed: this.handed.length, commits, assignments: this.assignmentsCount, generations: this.generations.size, restarts: this.restartsCount, fatal: this.fatalCount };
  }

  private async runSlot(slot: number): Promise<void> {
    const prng = createPrng((this.options.seed ^ Math.imul(slot + 211, 0x9e3779b1)) >>> 0);
    for (let incarnation = 1; !this.stopping; incarnation++) {
      const outcome = await this.runMember(`g${slot}.${incarnation}`, prng);
      if (outcome === "fatal") {
        this.fatalCount++;
        if (this.fatalCount > this.timings.replacementsMax) return;
      } else if (!this.stopping) {
        this.restartsCount++;
      }
    }
  }

  /** One member from its join to its close: at the end of its lifetime, at stop, or when its consumer fails for good. */
  private async runMember(member: string, prng: Prng): Promise<"closed" | "fatal"> {
    const t = this.timings;
    const draw = (min: number, max: number): number => min + prng.int(max - min + 1);
    let invokeMs = 0;
    const consumer = new Consumer({
      controllers: this.options.controllers,
      topic: chaosTopic,
      group: chaosGroup,
      fromBeginning: true,
      autoCreateTopics: false,
      autoCommitIntervalMs: false,
      maxWaitMs: 200,
      requestTimeoutMs: t.requestTimeoutMs,
      onCommit: (commit) => this.commits.push(recorded(member, commit, invokeMs)),
      onAssignment: (_, membership) => {
        this.assignmentsCount++;
        if (membership !== undefined) this.generations.add(membership.generation);
      },
    });
    const untilMs = performance.now() + draw(t.lifetimeMsMin, t.lifetimeMsMax);
    let nextCommitMs = performance.now() + draw(t.commitEveryMsMin, t.commitEveryMsMax);
    try {
      while (!this.stopping && performance.now() < untilMs) {
        const records = await consumer.poll({ timeoutMs: 200, signal: this.wake.signal });
        const atMs = performance.now();
        const generation = consumer.member()?.generation ?? -1;
        for (const r of records) this.handed.push({ member, generation, partition: r.partition, offset: r.offset, value: r.value, atMs });
        if (performance.now() >= nextCommitMs) {
          invokeMs = performance.now();
          // A refused or failed commit is recorded by onCommit; the member carries on (it re-joins when told to).
          await consumer.commit().catch((error: unknown) => {
            if (!(error instanceof ClientError)) throw error;
          });
          nextCommitMs = performance.now() + draw(t.commitEveryMsMin, t.commitEveryMsMax);
        }
      }
      return "closed";
    } catch (error) {
      this.fatalNotes.push(`${member}: ${error instanceof Error ? `${error instanceof ClientError ? `${error.code}: ` : ""}${error.message}` : String(error)}`.slice(0, 300));
      if (!(error instanceof ClientError)) throw error;
      return "fatal";
    } finally {
      invokeMs = performance.now();
      await consumer.close();
    }
  }
}

/** A settled commit as the history records it: refused when the group moved on, taken, or of unknown outcome. */
function recorded(member: string, commit: OffsetCommit, invokeMs: number): GroupCommit {
  const base = { member, memberId: commit.memberId, generation: commit.generation, offsets: commit.offsets.map((o) => ({ partition: o.partition, offset: o.offset })), invokeMs };
  if (commit.error === undefined) return { ...base, outcome: "ok", completeMs: performance.now() };
  const note = `${commit.error.code}: ${commit.error.message}`.slice(0, 300);
  // The coordinator checks the generation before it appends: a refusal for it is certain, unless an earlier
  // attempt of the same request went unanswered (the consumer says so). Anything else may have been appended.
  const refused = commit.error.code === "ILLEGAL_GENERATION" || commit.error.code === "UNKNOWN_MEMBER";
  if (refused && commit.error.details["outcome"] !== "unknown") return { ...base, outcome: "fail", completeMs: performance.now(), note };
  return { ...base, outcome: "unknown", note };
}

const readTimeoutMs = 60_000;
const drainTimeoutMs = 120_000;

/**
 * The group's committed offsets by partition, from its coordinator (any broker answers NOT_COORDINATOR
 * naming it), retried until one answers.
 */
export async function readCommittedOffsets(brokerUrls: readonly string[], group: string, topic: string): Promise<Map<number, number>> {
  const deadlineMs = performance.now() + readTimeoutMs;
  let lastProblem = "no answer yet";
  for (let attempt = 0; performance.now() < deadlineMs; attempt++) {
    let url: string | undefined = brokerUrls[attempt % brokerUrls.length];
    for (let hops = 0; hops < 2 && url !== undefined; hops++) {
      try {
        const response = await fetch(`${url}/v1/groups/${encodeURIComponent(group)}/offsets?topic=${encodeURIComponent(topic)}`, { signal: AbortSignal.timeout(5_000) });
        const body = (await response.json()) as { offsets?: { partition: number; offset: number }[]; code?: string; coordinatorUrl?: string };
        if (response.ok && Array.isArray(body.offsets)) return new Map(body.offsets.map((o) => [o.partition, o.offset]));
        lastProblem = `${response.status} ${body.code ?? ""}`;
        url = body.code === "NOT_COORDINATOR" ? body.coordinatorUrl : undefined;
      } catch (error) {
        lastProblem = error instanceof Error ? error.message : String(error);
        url = undefined;
      }
    }
    await sleep(200);
  }
  throw new Error(`Cannot read the committed offsets of group ${group} within ${readTimeoutMs} ms: ${lastProblem}`);
}

/**
 * A fresh member of the group, alone in it, handed every record from where it starts to `ends`; done once
 * every partition was read to its end, or was committed at its end already (`committed`, read just before).
 */
export async function drainGroup(controllers: readonly string[], ends: readonly number[], committed: ReadonlyMap<number, number>): Promise<HandedRecord[]> {
  const consumer = new Consumer({ controllers, topic: chaosTopic, group: chaosGroup, fromBeginning: true, autoCreateTopics: false, autoCommitIntervalMs: false, maxWaitMs: 200 });
  const drained: HandedRecord[] = [];
  const next = ends.map((_, partition) => committed.get(partition) ?? 0);
  try {
    const deadlineMs = performance.now() + drainTimeoutMs;
    while (next.some((offset, partition) => offset < (ends[partition] ?? 0))) {
      if (performance.now() > deadlineMs) throw new Error(`Cannot drain group ${chaosGroup} within ${drainTimeoutMs} ms: at offsets ${next.join(", ")} of ${ends.join(", ")}, assigned ${consumer.assignment().join(",")}`);
      const records = await consumer.poll({ timeoutMs: 500 });
      const atMs = performance.now();
      const generation = consumer.member()?.generation ?? -1;
      for (const r of records) {
        drained.push({ member: "fresh", generation, partition: r.partition, offset: r.offset, value: r.value, atMs });
        next[r.partition] = Math.max(next[r.partition] ?? 0, r.offset + 1);
      }
    }
  } finally {
    await consumer.close();
  }
  return drained;
}
