// Writers and readers of the controllers' metadata API for tests and benches: a writer that numbers its
// writes with an Idempotency-Key and retries each until it knows the outcome, a load of concurrent topic
// writers, reads of what a node holds, and checks of those reads against what the writers know.
import { setTimeout as sleep } from "node:timers/promises";
import type { Broker, Topic } from "../api/schemas.js";
import { assert } from "../shared/assert.js";
import type { Cluster } from "./harness.js";
import { convergedIndex, describeStatuses } from "./harness.js";
import { errorCodeOf, httpRequest, isRecord } from "./http.js";
import type { HttpResult } from "./http.js";
import { waitFor } from "./waitFor.js";

/**
 * `acknowledged`: a 2xx came back, so the write is committed (a replayed answer included). `unknown`: no
 * 2xx, but some attempt may have been applied (a timeout, a broken connection, LEADERSHIP_LOST or
 * FORWARD_FAILED with an unknown outcome). `not_applied`: every attempt was refused before it entered
 * any log. `rejected`: the quorum refused the write for good (a 4xx such as TOPIC_EXISTS).
 */
export type WriteOutcome = "acknowledged" | "unknown" | "not_applied" | "rejected";

export interface MetadataWriterOptions {
  readonly apiUrl: (id: number) => string;
  /** Nodes worth trying, e.g. the running ones. */
  readonly targets: () => readonly number[];
  readonly requestTimeoutMs: number;
  /** Pause after a round over every target in which none took the write. */
  readonly roundPauseMs: number;
  /** A write is given up after this long. */
  readonly writeTimeoutMs: number;
  /** Which target (by position) a writer tries first before any has taken a write: spreads writers over nodes. */
  readonly firstTargetPosition?: number;
}

export interface WriteRequest {
  readonly method: "POST" | "PATCH" | "DELETE";
  readonly path: string;
  readonly body?: unknown;
}

/** What a writer knows of one write once it stops trying. */
export interface WriteResult {
  /** `<writerId>:<sequence>`, the same on every attempt. */
  readonly idempotencyKey: string;
  readonly outcome: WriteOutcome;
  readonly attemptsCount: number;
  /** Attempts that may have been applied, the acknowledged one included. */
  readonly maybeAppliedCount: number;
  /** Status and body of the 2xx (or of the rejection). */
  readonly status: number | undefined;
  readonly body: unknown;
  /** The node that answered the 2xx. */
  readonly nodeId: number | undefined;
  /** Why the last attempt that was not acknowledged failed. */
  readonly lastFailure: string | undefined;
  /** From the first attempt to the answer or to giving up. */
  readonly elapsedMs: number;
}

/** Codes a node answers before proposing anything, when the body does not say otherwise. */
const refusedBeforeProposalCodes: ReadonlySet<string> = new Set(["NOT_LEADER", "NO_LEADER", "TRANSFER_IN_PROGRESS", "OVERLOADED", "BAD_REQUEST"]);
/** Statuses worth another attempt: no leader or a lost one (503), overload (429), not the leader (421). */
const retriableStatuses: ReadonlySet<number> = new Set([421, 429, 503]);

export type WriteVerdict =
  | { readonly kind: "acknowledged" }
  | { readonly kind: "retry"; readonly maybeApplied: boolean; readonly leaderId: number | undefined; readonly reason: string }
  | { readonly kind: "rejected"; readonly reason: string };

/** What one attempt's answer means for the write. */
export function judgeWrite(result: HttpResult): WriteVerdict {
  if (result.kind === "failure") return { kind: "retry", maybeApplied: result.failure !== "refused", leaderId: undefined, reason: result.message };
  if (result.status >= 200 && result.status < 300) return { kind: "acknowledged" };
  const body = result.body;
  const code = errorCodeOf(body) ?? "";
  const message = isRecord(body) && typeof body["message"] === "string" ? `: ${body["message"]}` : "";
  const reason = `${result.status} ${code || JSON.stringify(body)}${message}`;
  if (!retriableStatuses.has(result.status) && !(isRecord(body) && body["retriable"] === true)) return { kind: "rejected", reason };
  const outcome = isRecord(body) ? body["outcome"] : undefined;
  // When in doubt the write may have been applied: that only weakens what a test can conclude.
  const maybeApplied = outcome === "not_applied" ? false : outcome === "unknown" ? true : !refusedBeforeProposalCodes.has(code);
  const leaderId = isRecord(body) && typeof body["leaderId"] === "number" && body["leaderId"] > 0 ? body["leaderId"] : undefined;
  return { kind: "retry", maybeApplied, leaderId, reason };
}

/**
 * One client of the metadata API that numbers its writes: write n carries `Idempotency-Key:
 * <writerId>:<n>`, so a retry after an unknown outcome is answered from the quorum's stored result
 * instead of being applied again. Each write goes to the node that took the last one first, follows a
 * NOT_LEADER hint at once, and tries every target once per round, pausing between rounds, until a 2xx,
 * a rejection or the write timeout. Writes are one at a time: sequences must not go down.
 */
export class MetadataWriter {
  private preferredId: number | undefined;
  private sequence = 0;

  constructor(
    readonly writerId: string,
    private readonly options: MetadataWriterOptions,
  ) {}

  /** The sequence number the next write will carry. */
  get nextSequence(): number {
    return this.sequence + 1;
  }

  async send(request: WriteRequest, shouldStop: () => boolean = () => false): Promise<WriteResult> {
    this.sequence++;
    const idempotencyKey = `${this.writerId}:${this.sequence}`;
    const startedMs = performance.now();
    const deadlineMs = startedMs + this.options.writeTimeoutMs;
    const roundsCountMax = Math.ceil(this.options.writeTimeoutMs / Math.max(1, this.options.roundPauseMs)) + 1;
    let attemptsCount = 0;
    let maybeAppliedCount = 0;
    let lastFailure: string | undefined;
    const result = (outcome: WriteOutcome, answer: Pick<WriteResult, "status" | "body" | "nodeId">): WriteResult => ({ idempotencyKey, outcome, attemptsCount, maybeAppliedCount, lastFailure, elapsedMs: performance.now() - startedMs, ...answer });
    for (let round = 0; round < roundsCountMax; round++) {
      const queue = this.roundOrder();
      const tried = new Set<number>();
      // Each target at most once per round, hints included: the queue holds at most 2 × targets.
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        if (tried.has(next)) continue;
        tried.add(next);
        attemptsCount++;
        const answer = await httpRequest(`${this.options.apiUrl(next)}${request.path}`, { method: request.method, body: request.body, headers: { "idempotency-key": idempotencyKey }, timeoutMs: this.options.requestTimeoutMs });
        const verdict = judgeWrite(answer);
        if (verdict.kind !== "retry") {
          assert(answer.kind === "response", "only an answer acknowledges or rejects a write");
          if (verdict.kind === "acknowledged") {
            maybeAppliedCount++;
            this.preferredId = next;
          } else {
            lastFailure = `node ${next}: ${verdict.reason}`;
          }
          return result(verdict.kind, { status: answer.status, body: answer.body, nodeId: next });
        }
        if (verdict.maybeApplied) maybeAppliedCount++;
        lastFailure = `node ${next}: ${verdict.reason}`;
        if (this.preferredId === next) this.preferredId = undefined;
        if (verdict.leaderId !== undefined && this.options.targets().includes(verdict.leaderId) && !tried.has(verdict.leaderId)) {
          this.preferredId = verdict.leaderId;
          queue.unshift(verdict.leaderId);
        }
      }
      if (shouldStop() || performance.now() + this.options.roundPauseMs >= deadlineMs) break;
      await sleep(this.options.roundPauseMs);
    }
    return result(maybeAppliedCount > 0 ? "unknown" : "not_applied", { status: undefined, body: undefined, nodeId: undefined });
  }

  /** The targets of one round: the preferred node first, else starting at this writer's position. */
  private roundOrder(): number[] {
    const targets = [...this.options.targets()];
    if (this.preferredId !== undefined && targets.includes(this.preferredId)) return [this.preferredId, ...targets];
    const start = (this.options.firstTargetPosition ?? 0) % Math.max(1, targets.length);
    return [...targets.slice(start), ...targets.slice(0, start)];
  }
}

/** What a writer knows of one topic creation. */
export interface TopicWrite extends WriteResult {
  readonly name: string;
  /** From the 201: the topic's id, where it was applied, and whether it answered a retry. */
  readonly topicUUID: string | undefined;
  readonly offset: number | undefined;
  readonly replayed: boolean | undefined;
}

export interface TopicShape {
  /** Partitions per topic, placed by the quorum on live brokers (none when absent). */
  readonly partitionsCount?: number;
  readonly replicationFactor?: number;
}

/** Creates topic `<writerId>-<n>` as write n of `writer` (POST /v1/topics). */
export async function createTopic(writer: MetadataWriter, shape: TopicShape = {}, shouldStop?: () => boolean): Promise<TopicWrite> {
  const name = `${writer.writerId}-${writer.nextSequence}`;
  const body = { name, ...(shape.partitionsCount === undefined ? {} : { partitions: shape.partitionsCount }), ...(shape.replicationFactor === undefined ? {} : { replicationFactor: shape.replicationFactor }) };
  const result = await writer.send({ method: "POST", path: "/v1/topics", body }, shouldStop);
  if (result.outcome !== "acknowledged") return { ...result, name, topicUUID: undefined, offset: undefined, replayed: undefined };
  const answer = result.body;
  assert(result.status === 201 && isRecord(answer) && isRecord(answer["topic"]), `a 2xx to POST /v1/topics is a 201 with the topic: ${result.status} ${JSON.stringify(answer)}`);
  const topic = answer["topic"];
  assert(topic["name"] === name && typeof topic["topicUUID"] === "string" && typeof answer["offset"] === "number" && typeof answer["replayed"] === "boolean", `a 201 to POST /v1/topics ${name} echoes it with its topicUUID, offset and replayed: ${JSON.stringify(answer)}`);
  return { ...result, name, topicUUID: topic["topicUUID"], offset: answer["offset"], replayed: answer["replayed"] };
}

export interface WriteLoadOptions extends MetadataWriterOptions, TopicShape {
  readonly writersCount: number;
  /** Each writer stops by itself after this many topics. */
  readonly topicsPerWriterMax: number;
  /** Writer ids are `<writerPrefix><writer>` (default "w"), so topics are `w<writer>-<n>`. Unique per cluster. */
  readonly writerPrefix?: string;
}

/**
 * Concurrent writers, each creating topics `<writerId>-<n>` one at a time until stopped or done. Every
 * write's record is kept.
 */
export class WriteLoad {
  readonly records: TopicWrite[] = [];
  private acknowledged = 0;
  private stopping = false;
  private readonly done: Promise<void>;

  constructor(options: WriteLoadOptions) {
    const prefix = options.writerPrefix ?? "w";
    this.done = Promise.all(
      Array.from({ length: options.writersCount }, async (_, w) => {
        const writer = new MetadataWriter(`${prefix}${w}`, { ...options, firstTargetPosition: w });
        for (let n = 0; n < options.topicsPerWriterMax && !this.stopping; n++) {
          const record = await createTopic(writer, options, () => this.stopping);
          this.records.push(record);
          if (record.outcome === "acknowledged") this.acknowledged++;
        }
      }),
    ).then(() => {});
    // A writer that throws (a 201 with a wrong body) fails whoever awaits the load, not the process.
    this.done.catch(() => {});
  }

  get acknowledgedCount(): number {
    return this.acknowledged;
  }

  /** Resolves once every writer has finished its topics. */
  finished(): Promise<readonly TopicWrite[]> {
    return this.done.then(() => this.records);
  }

  /** Stops the writers after their current write and waits for them. */
  async stop(): Promise<readonly TopicWrite[]> {
    this.stopping = true;
    return this.finished();
  }
}

export function countOutcomes(records: readonly WriteResult[]): Record<WriteOutcome, number> {
  const counts: Record<WriteOutcome, number> = { acknowledged: 0, unknown: 0, not_applied: 0, rejected: 0 };
  for (const r of records) counts[r.outcome]++;
  return counts;
}

export interface CheckTopicsOptions {
  /**
   * Whether `records` holds every write ever attempted (the load has stopped): then a topic no record
   * names must not be there either. False for a read taken while writers run, checked against the
   * writes acknowledged before it began.
   */
  readonly complete: boolean;
  readonly problemsCountMax?: number;
}

/**
 * Problems with a node's topics given what the writers know: an acknowledged topic missing or with
 * another topicUUID than its 201 said (a retry applied twice would have made a second one), a write
 * rejected (with idempotency keys no retry may hit TOPIC_EXISTS), a topic whose every attempt was
 * refused before proposal, a name listed twice, and, when the records are complete, a topic no writer
 * wrote. Empty when all is well.
 */
export function checkTopics(topics: readonly Pick<Topic, "name" | "topicUUID">[], records: readonly TopicWrite[], options: CheckTopicsOptions = { complete: true }): string[] {
  const byName = new Map<string, Pick<Topic, "name" | "topicUUID">>();
  const problems: string[] = [];
  for (const topic of topics) {
    if (byName.has(topic.name)) problems.push(`topic ${topic.name} is listed twice`);
    byName.set(topic.name, topic);
  }
  for (const r of records) {
    const topic = byName.get(r.name);
    if (r.outcome === "acknowledged") {
      if (topic === undefined) problems.push(`acknowledged topic ${r.name} (offset ${String(r.offset)}, via node ${String(r.nodeId)}) is missing`);
      else if (topic.topicUUID !== r.topicUUID) problems.push(`acknowledged topic ${r.name} has topicUUID ${topic.topicUUID}, not ${String(r.topicUUID)} as its 201 said`);
    } else if (r.outcome === "rejected") {
      problems.push(`topic ${r.name} was rejected after ${r.attemptsCount} attempts (${r.maybeAppliedCount} maybe applied): ${String(r.lastFailure)}`);
    } else if (r.outcome === "not_applied" && topic !== undefined) {
      problems.push(`topic ${r.name} is present though every attempt was refused before proposal`);
    }
  }
  if (options.complete) {
    const attempted = new Set(records.map((r) => r.name));
    for (const name of byName.keys()) {
      if (!attempted.has(name)) problems.push(`topic ${name} is present but no writer wrote it`);
    }
  }
  return problems.slice(0, options.problemsCountMax ?? 20);
}

export type ReadConsistency = "linearizable" | "stale";

export interface ReadOptions {
  readonly consistency?: ReadConsistency;
  readonly timeoutMs: number;
}

/** The body of a GET that must answer 200; throws otherwise. */
export async function getJson(url: string, options: { readonly timeoutMs: number }): Promise<Record<string, unknown>> {
  const result = await httpRequest(url, { timeoutMs: options.timeoutMs });
  if (result.kind === "failure") throw new Error(result.message);
  if (result.status !== 200 || !isRecord(result.body)) throw new Error(`GET ${url} answered ${result.status} ${JSON.stringify(result.body)}`);
  return result.body;
}

function consistencyQuery(options: ReadOptions): string {
  return options.consistency === undefined ? "" : `?consistency=${options.consistency}`;
}

/** `GET /v1/topics` of one node: every topic with its partitions. */
export async function readTopics(apiUrl: string, options: ReadOptions): Promise<readonly Topic[]> {
  const body = await getJson(`${apiUrl}/v1/topics${consistencyQuery(options)}`, options);
  const topics = body["topics"];
  assert(Array.isArray(topics), `GET /v1/topics has a topics list: ${JSON.stringify(body)}`);
  for (const topic of topics) {
    assert(isRecord(topic) && typeof topic["name"] === "string" && typeof topic["topicUUID"] === "string" && Array.isArray(topic["partitions"]), `a topic has a name, a topicUUID and partitions: ${JSON.stringify(topic)}`);
  }
  return topics as Topic[];
}

/** `GET /v1/brokers` of one node: every broker, CLOSED ones included. */
export async function readBrokers(apiUrl: string, options: ReadOptions): Promise<readonly Broker[]> {
  const body = await getJson(`${apiUrl}/v1/brokers${consistencyQuery(options)}`, options);
  const brokers = body["brokers"];
  assert(Array.isArray(brokers), `GET /v1/brokers has a brokers list: ${JSON.stringify(body)}`);
  for (const broker of brokers) {
    assert(isRecord(broker) && typeof broker["brokerId"] === "number" && typeof broker["brokerStatus"] === "string" && typeof broker["epoch"] === "number", `a broker has a brokerId, a brokerStatus and an epoch: ${JSON.stringify(broker)}`);
  }
  return brokers as Broker[];
}

/** What a node holds, as its list routes answer. */
export interface NodeMetadata {
  readonly topics: readonly Topic[];
  readonly brokers: readonly Broker[];
}

export async function readMetadata(apiUrl: string, options: ReadOptions): Promise<NodeMetadata> {
  const [topics, brokers] = await Promise.all([readTopics(apiUrl, options), readBrokers(apiUrl, options)]);
  return { topics, brokers };
}

/**
 * A linearizable read of a node's topics, retried while the node cannot serve it (no leader known yet,
 * read not confirmed in time). Returns it with the writes acknowledged before the successful attempt
 * began: a linearizable read must show every one of them.
 */
export async function readLinearizable(apiUrl: string, acknowledgedSoFar: () => readonly TopicWrite[], options: { readonly timeoutMs: number; readonly requestTimeoutMs: number }): Promise<{ readonly topics: readonly Topic[]; readonly acknowledged: readonly TopicWrite[] }> {
  return waitFor(
    `a linearizable read of ${apiUrl}/v1/topics`,
    async () => {
      const acknowledged = [...acknowledgedSoFar()];
      const topics = await readTopics(apiUrl, { consistency: "linearizable", timeoutMs: options.requestTimeoutMs });
      return { topics, acknowledged };
    },
    { timeoutMs: options.timeoutMs, intervalMs: 20 },
  );
}

/**
 * Waits until the nodes of `ids` (the running ones by default) have applied the same index, and returns
 * what they then hold, read stale from each: the same on every node, or the test fails. Reads are taken
 * between two looks at the indexes; if an index moved meanwhile (a write, a broker fenced), it looks again.
 */
export async function waitForSameMetadata(cluster: Cluster, options: { readonly timeoutMs: number; readonly requestTimeoutMs: number; readonly ids?: readonly number[] }): Promise<NodeMetadata & { readonly appliedIndex: number }> {
  const ids = options.ids ?? cluster.runningIds();
  let seen = "";
  const found = await waitFor(
    () => `nodes ${ids.join(", ")} to apply the same index; last seen: ${seen}`,
    async () => {
      const before = await cluster.statuses(ids);
      seen = describeStatuses(before);
      const appliedIndex = convergedIndex(before, ids);
      if (appliedIndex === undefined) return undefined;
      const reads = await Promise.all(ids.map((id) => readMetadata(cluster.apiUrl(id), { consistency: "stale", timeoutMs: options.requestTimeoutMs })));
      const after = await cluster.statuses(ids);
      if (convergedIndex(after, ids) !== appliedIndex) return undefined;
      return { appliedIndex, reads };
    },
    { timeoutMs: options.timeoutMs, intervalMs: 50 },
  );
  const [first, ...others] = found.reads;
  assert(first !== undefined, "at least one node is compared");
  for (const [i, other] of others.entries()) {
    const id = ids[i + 1];
    if (JSON.stringify(other.topics) !== JSON.stringify(first.topics)) throw new Error(`At index ${found.appliedIndex} node ${String(id)} lists other topics than node ${String(ids[0])}: ${diffJson(first.topics, other.topics)}`);
    if (JSON.stringify(other.brokers) !== JSON.stringify(first.brokers)) throw new Error(`At index ${found.appliedIndex} node ${String(id)} lists other brokers than node ${String(ids[0])}: ${diffJson(first.brokers, other.brokers)}`);
  }
  return { appliedIndex: found.appliedIndex, ...first };
}

/** The first element where two lists differ, for failure messages. */
function diffJson(a: readonly unknown[], b: readonly unknown[]): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const left = JSON.stringify(a[i]);
    const right = JSON.stringify(b[i]);
    if (left !== right) return `item ${i} is ${left} vs ${right} (${a.length} vs ${b.length} items)`;
  }
  return "same items";
}
