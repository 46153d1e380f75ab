// Writers and readers of the controllers' key-value API for tests and benches: a writer that finds the
// leader by itself and records what it knows of each write's outcome, a load of concurrent writers,
// and whole-map reads.
import { setTimeout as sleep } from "node:timers/promises";
import { assert } from "../shared/assert.js";
import { errorCodeOf, httpRequest, isRecord } from "./http.js";
import type { HttpResult } from "./http.js";
import { waitFor } from "./waitFor.js";

/**
 * `acknowledged`: a 200 came back, so the write is committed. `unknown`: no 200, but some attempt may
 * have been applied (a timeout, a broken connection, LEADERSHIP_LOST with an unknown outcome).
 * `not_applied`: every attempt was refused before it entered any log.
 */
export type WriteOutcome = "acknowledged" | "unknown" | "not_applied";

export interface WriteRecord {
  readonly key: string;
  readonly value: string;
  readonly outcome: WriteOutcome;
  readonly attemptsCount: number;
  /** Attempts that may have been applied, the acknowledged one included. */
  readonly maybeAppliedCount: number;
  /** From the 200 response. */
  readonly version: number | undefined;
  readonly index: number | undefined;
  readonly nodeId: number | undefined;
  /** Why the last attempt that was not acknowledged failed. */
  readonly lastFailure: string | undefined;
  /** From the first attempt to the 200 or to giving up. */
  readonly elapsedMs: number;
}

export interface KvWriterOptions {
  readonly apiUrl: (id: number) => string;
  /** Nodes worth trying, e.g. the running ones. */
  readonly targets: () => readonly number[];
  readonly requestTimeoutMs: number;
  /** Pause after a round over every target in which none took the write. */
  readonly roundPauseMs: number;
  /** A write is given up after this long. */
  readonly writeTimeoutMs: number;
}

/** Codes a node answers before proposing anything, when the body does not say otherwise. */
const refusedBeforeProposalCodes: ReadonlySet<string> = new Set(["NOT_LEADER", "NO_LEADER", "TRANSFER_IN_PROGRESS", "OVERLOADED", "BAD_REQUEST"]);

/**
 * Puts keys on whichever node is the leader: the last leader that took a write is tried first, a
 * NOT_LEADER hint is followed at once, and each round tries every target once, pausing between
 * rounds. The same key and value are retried until a 200 or the write timeout.
 */
export class KvWriter {
  private leaderHintId: number | undefined;

  constructor(private readonly options: KvWriterOptions) {}

  async put(key: string, value: string, shouldStop: () => boolean = () => false): Promise<WriteRecord> {
    const startedMs = performance.now();
    const deadlineMs = startedMs + this.options.writeTimeoutMs;
    const roundsCountMax = Math.ceil(this.options.writeTimeoutMs / Math.max(1, this.options.roundPauseMs)) + 1;
    let attemptsCount = 0;
    let maybeAppliedCount = 0;
    let lastFailure: string | undefined;
    const record = (outcome: WriteOutcome, extra: Pick<WriteRecord, "version" | "index" | "nodeId">): WriteRecord => ({ key, value, outcome, attemptsCount, maybeAppliedCount, lastFailure, elapsedMs: performance.now() - startedMs, ...extra });

    for (let round = 0; round < roundsCountMax; round++) {
      const targets = this.options.targets();
      const queue = this.leaderHintId !== undefined && targets.includes(this.leaderHintId) ? [this.leaderHintId, ...targets] : [...targets];
      const tried = new Set<number>();
      // Each target at most once per round, hints included: the queue holds at most 2 × targets.
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        if (tried.has(next)) continue;
        tried.add(next);
        attemptsCount++;
        const result = await httpRequest(`${this.options.apiUrl(next)}/v1/kv/${encodeURIComponent(key)}`, { method: "PUT", body: { value }, timeoutMs: this.options.requestTimeoutMs });
        const verdict = judgePut(result, key, value);
        if (verdict.kind === "acknowledged") {
          maybeAppliedCount++;
          this.leaderHintId = next;
          return record("acknowledged", { version: verdict.version, index: verdict.index, nodeId: next });
        }
        if (verdict.maybeApplied) maybeAppliedCount++;
        lastFailure = `node ${next}: ${verdict.reason}`;
        if (this.leaderHintId === next) this.leaderHintId = undefined;
        if (verdict.leaderId !== undefined && targets.includes(verdict.leaderId) && !tried.has(verdict.leaderId)) {
          this.leaderHintId = verdict.leaderId;
          queue.unshift(verdict.leaderId);
        }
      }
      if (shouldStop() || performance.now() + this.options.roundPauseMs >= deadlineMs) break;
      await sleep(this.options.roundPauseMs);
    }
    return record(maybeAppliedCount > 0 ? "unknown" : "not_applied", { version: undefined, index: undefined, nodeId: undefined });
  }
}

type PutVerdict =
  | { readonly kind: "acknowledged"; readonly version: number; readonly index: number }
  | { readonly kind: "failed"; readonly maybeApplied: boolean; readonly leaderId: number | undefined; readonly reason: string };

function judgePut(result: HttpResult, key: string, value: string): PutVerdict {
  if (result.kind === "failure") {
    return { kind: "failed", maybeApplied: result.failure !== "refused", leaderId: undefined, reason: result.message };
  }
  const body = result.body;
  if (result.status === 200) {
    assert(isRecord(body) && body["key"] === key && body["value"] === value && typeof body["version"] === "number" && typeof body["index"] === "number", `a 200 to PUT ${key} echoes it with its version and index: ${JSON.stringify(body)}`);
    return { kind: "acknowledged", version: body["version"], index: body["index"] };
  }
  const code = errorCodeOf(body) ?? "";
  const outcome = isRecord(body) ? body["outcome"] : undefined;
  // When in doubt the write may have been applied: that only weakens what a test can conclude.
  const maybeApplied = outcome === "not_applied" ? false : outcome === "unknown" ? true : !refusedBeforeProposalCodes.has(code);
  const leaderId = isRecord(body) && typeof body["leaderId"] === "number" && body["leaderId"] > 0 ? body["leaderId"] : undefined;
  return { kind: "failed", maybeApplied, leaderId, reason: `${result.status} ${code || JSON.stringify(body)}` };
}

export interface WriteLoadOptions extends KvWriterOptions {
  readonly writersCount: number;
  /** Each writer stops by itself after this many keys. */
  readonly keysPerWriterMax: number;
  /** Keys are `<keyPrefix><writer>-<seq>`. */
  readonly keyPrefix?: string;
}

/**
 * Concurrent writers, each putting unique keys `w<writer>-<seq>` one at a time with value
 * `value-<key>`, until stopped or done. Every write's record is kept.
 */
export class WriteLoad {
  readonly records: WriteRecord[] = [];
  private acknowledged = 0;
  private stopping = false;
  private readonly done: Promise<void>;

  constructor(options: WriteLoadOptions) {
    const prefix = options.keyPrefix ?? "w";
    this.done = Promise.all(
      Array.from({ length: options.writersCount }, async (_, w) => {
        const writer = new KvWriter(options);
        for (let seq = 0; seq < options.keysPerWriterMax && !this.stopping; seq++) {
          const key = `${prefix}${w}-${seq}`;
          const record = await writer.put(key, `value-${key}`, () => this.stopping);
          this.records.push(record);
          if (record.outcome === "acknowledged") this.acknowledged++;
        }
      }),
    ).then(() => {});
    // A writer that throws (a 200 with a wrong body) fails whoever awaits the load, not the process.
    this.done.catch(() => {});
  }

  get acknowledgedCount(): number {
    return this.acknowledged;
  }

  /** Resolves once every writer has finished its keys. */
  finished(): Promise<readonly WriteRecord[]> {
    return this.done.then(() => this.records);
  }

  /** Stops the writers after their current write and waits for them. */
  async stop(): Promise<readonly WriteRecord[]> {
    this.stopping = true;
    return this.finished();
  }
}

/** One entry of `GET /v1/kv`. */
export interface KvEntry {
  readonly key: string;
  readonly value: string;
  readonly version: number;
  readonly index: number;
}

export interface KvSnapshot {
  readonly appliedIndex: number;
  readonly readIndex: number;
  readonly entries: readonly KvEntry[];
}

/** `GET /v1/kv` of one node; throws unless it answers 200. */
export async function readAll(apiUrl: string, options: { readonly consistency: "linearizable" | "stale"; readonly timeoutMs: number }): Promise<KvSnapshot> {
  const result = await httpRequest(`${apiUrl}/v1/kv?consistency=${options.consistency}`, { timeoutMs: options.timeoutMs });
  if (result.kind === "failure") throw new Error(result.message);
  const body = result.body;
  if (result.status !== 200 || !isRecord(body) || !Array.isArray(body["entries"])) {
    throw new Error(`GET ${apiUrl}/v1/kv?consistency=${options.consistency} answered ${result.status} ${JSON.stringify(body)}`);
  }
  assert(typeof body["appliedIndex"] === "number" && typeof body["readIndex"] === "number", `GET /v1/kv has appliedIndex and readIndex: ${JSON.stringify(body)}`);
  assert(body["count"] === body["entries"].length, `GET /v1/kv count ${String(body["count"])} matches its ${body["entries"].length} entries`);
  const entries = body["entries"].map((entry: unknown): KvEntry => {
    assert(isRecord(entry) && typeof entry["key"] === "string" && typeof entry["value"] === "string" && typeof entry["version"] === "number" && typeof entry["index"] === "number", `a kv entry has key, value, version and index: ${JSON.stringify(entry)}`);
    return { key: entry["key"], value: entry["value"], version: entry["version"], index: entry["index"] };
  });
  return { appliedIndex: body["appliedIndex"], readIndex: body["readIndex"], entries };
}

/**
 * A linearizable read of a node's whole map, retried while the node cannot serve it (no leader known
 * yet, read not confirmed in time). Returns it with the writes acknowledged before the successful
 * attempt began: a linearizable read must show every one of them.
 */
export async function readLinearizable(apiUrl: string, acknowledgedSoFar: () => readonly WriteRecord[], options: { readonly timeoutMs: number; readonly requestTimeoutMs: number }): Promise<{ readonly snapshot: KvSnapshot; readonly acknowledged: readonly WriteRecord[] }> {
  return waitFor(
    `a linearizable read of ${apiUrl}/v1/kv`,
    async () => {
      const acknowledged = [...acknowledgedSoFar()];
      const snapshot = await readAll(apiUrl, { consistency: "linearizable", timeoutMs: options.requestTimeoutMs });
      return { snapshot, acknowledged };
    },
    { timeoutMs: options.timeoutMs, intervalMs: 20 },
  );
}

export interface CheckWritesOptions {
  /**
   * Whether `records` holds every write ever attempted (the load has stopped): then a key no record
   * names must not be there either. False for a read taken while writers run, checked against the
   * writes acknowledged before it began.
   */
  readonly complete: boolean;
  readonly problemsCountMax?: number;
}

/**
 * Problems with a node's map given what the writers know: an acknowledged write missing or different
 * from its 200 (value, version, index), a key with more versions than attempts could make, a key
 * whose every attempt was refused, and, when the records are complete, a key no writer wrote. Empty
 * when all is well.
 */
export function checkWrites(entries: readonly KvEntry[], records: readonly WriteRecord[], options: CheckWritesOptions = { complete: true }): string[] {
  const byKey = new Map(entries.map((e) => [e.key, e]));
  const problems: string[] = [];
  for (const r of records) {
    const entry = byKey.get(r.key);
    if (r.outcome === "acknowledged") {
      // The acknowledged write is the key's last: an earlier attempt can only commit before it, as
      // log terms never go down (Raft §5.3), so the map must hold exactly what the 200 said.
      if (entry === undefined) problems.push(`acknowledged ${r.key} (index ${String(r.index)}, via node ${String(r.nodeId)}) is missing`);
      else if (entry.value !== r.value || entry.version !== r.version || entry.index !== r.index) {
        problems.push(`acknowledged ${r.key}=${r.value} v${String(r.version)} @${String(r.index)} reads ${entry.value} v${entry.version} @${entry.index}`);
      }
    } else if (r.outcome === "not_applied" && entry !== undefined) {
      problems.push(`${r.key} is present (index ${entry.index}) though every attempt was refused before proposal`);
      continue;
    }
    if (entry !== undefined && entry.version > r.maybeAppliedCount) problems.push(`${r.key} has version ${entry.version} from at most ${r.maybeAppliedCount} applied attempts`);
  }
  if (options.complete) {
    const attempted = new Set(records.map((r) => r.key));
    for (const entry of entries) {
      if (!attempted.has(entry.key)) problems.push(`${entry.key} is present but no writer wrote it`);
    }
  }
  return problems.slice(0, options.problemsCountMax ?? 20);
}

export function countOutcomes(records: readonly WriteRecord[]): Record<WriteOutcome, number> {
  const counts: Record<WriteOutcome, number> = { acknowledged: 0, unknown: 0, not_applied: 0 };
  for (const r of records) counts[r.outcome]++;
  return counts;
}
