import { randomUUID } from "node:crypto";
import { setTimeout as sleepMs } from "node:timers/promises";
import type { Static } from "typebox";
import type {
  AddMemberAnswerJson,
  AddMemberRequest,
  BrokerAnswer,
  BrokerMetadataAnswerJson,
  BrokerMetadataCompactAnswerJson,
  ClusterStatus,
  BrokerMetadataFetchRequest,
  BrokersAnswer,
  BrokerWriteAnswerJson,
  ChangeBrokerRequest,
  ChangePartitionRequest,
  Changes,
  CompactChanges,
  CreatePartitionRequest,
  CreateTopicRequest,
  LogAnswerJson,
  MetadataFormat,
  PartitionsAnswer,
  PartitionWriteAnswerJson,
  ProducersAnswer,
  ProducerWriteAnswerJson,
  RegisterBrokerRequest,
  RegisterProducerRequest,
  RemoveMemberAnswerJson,
  SnapshotAnswer,
  SnapshotContentAnswer,
  SnapshotsAnswer,
  TopicAnswer,
  TopicsAnswer,
  TopicWriteAnswerJson,
  TransferLeadershipAnswerJson,
} from "../api/schemas.js";
import { AdminError } from "./adminError.js";
import { backoffDelayMs, judgeAnswer, judgeFailure, parseRetryAfterMs } from "./retryPolicy.js";
import type { TransportFailure, Verdict } from "./retryPolicy.js";

export type BrokerAnswerJson = Static<typeof BrokerAnswer>;
export type BrokersAnswerJson = Static<typeof BrokersAnswer>;
export type TopicAnswerJson = Static<typeof TopicAnswer>;
export type TopicsAnswerJson = Static<typeof TopicsAnswer>;
export type PartitionsAnswerJson = Static<typeof PartitionsAnswer>;
export type ProducersAnswerJson = Static<typeof ProducersAnswer>;
export type SnapshotsAnswerJson = Static<typeof SnapshotsAnswer>;
export type SnapshotAnswerJson = Static<typeof SnapshotAnswer>;
export type SnapshotContentAnswerJson = Static<typeof SnapshotContentAnswer>;

export type { ClusterMember, ClusterStatus } from "../api/schemas.js";
export type TransferLeadershipAnswer = TransferLeadershipAnswerJson;

export interface ReadOptions {
  /** `stale` reads the answering node's own state without asking the leader. */
  readonly consistency?: "linearizable" | "stale";
}

/**
 * How a MetadataFetch answer writes a full image: `spec` (the default) as SPEC §4 has it, `compact`
 * with partitions as tuples under their topic (src/api/compactImage.ts; decode it with
 * `decodeCompactImage`). A controller that does not know the flag answers the SPEC form, so a caller
 * asking for `compact` reads either, by the answer's `format`.
 */
export interface FormatOptions {
  readonly format: MetadataFormat;
}

/** Snapshots belong to one node: `node` is its base URL; the leader when absent. */
export interface NodeOptions {
  readonly node?: string;
}

export interface AdminClientOptions {
  /** Base URLs of the controllers, e.g. `http://127.0.0.1:9001`; any one of them will do to start. */
  readonly controllers: readonly string[];
  /** Requests per call, redirects and retries included. */
  readonly attemptsMax?: number;
  readonly backoffMsMin?: number;
  readonly backoffMsMax?: number;
  /** One attempt, from sending to the end of the answer. */
  readonly requestTimeoutMs?: number;
  /**
   * Names this client's writes in their Idempotency-Key (`<clientId>:<sequence>`); random when absent.
   * The quorum keeps the latest answer per client id, so one id must be used by one client at a time,
   * and a client that takes over an id must start above the sequences already used (`firstSequence`).
   */
  readonly clientId?: string;
  readonly firstSequence?: number;
  /** Aborts the requests and back-offs in progress; calls then fail with ABORTED. */
  readonly signal?: AbortSignal;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform in [0, 1): draws the jitter of back-offs. */
  readonly random?: () => number;
}

export const adminClientDefaults = {
  /** With the back-off below, about 15 s of a leaderless cluster (an election takes well under 1 s). */
  attemptsMax: 10,
  backoffMsMin: 100,
  backoffMsMax: 3_000,
  /** Above the controllers' own forwardTimeoutMs (10 s), so that a forwarded write's FORWARD_FAILED reaches us. */
  requestTimeoutMs: 15_000,
  /**
   * Adding a voter waits until it has caught up: above the controllers' catch-up bound (30 s) plus the
   * forwarding bound (10 s), so that their own answer (LEARNER_NOT_CAUGHT_UP, FORWARD_FAILED) reaches us.
   */
  addMemberTimeoutMs: 45_000,
} as const;

/** Controllers one client may be given: a cluster has at most 32 members (limits.raft.membersCountMax). */
const controllersCountMax = 32;
/** The API reads at most 15 digits of an Idempotency-Key's sequence. */
const sequenceMax = 999_999_999_999_999;

type Method = "GET" | "POST" | "PATCH" | "DELETE";

interface Call {
  readonly method: Method;
  /** Path and query, e.g. `/v1/brokers?status=active`. */
  readonly path: string;
  readonly body?: unknown;
  readonly idempotencyKey?: string;
  /** Whether sending the request again after an unknown outcome is safe (reads, keyed writes, heartbeats). */
  readonly idempotent: boolean;
  /** A per-node request: only this node is asked, it is never redirected. */
  readonly node?: string;
  readonly attemptsMax?: number;
  /** One attempt's bound when this call may take longer than `requestTimeoutMs`. */
  readonly timeoutMs?: number;
}

type Sent =
  | { readonly kind: "answer"; readonly status: number; readonly body: unknown; readonly retryAfterMs: number | undefined }
  | { readonly kind: "failure"; readonly failure: TransportFailure; readonly message: string };

/**
 * A typed client of the canonical `/v1` API (SPEC §4) that finds the leader by itself.
 *
 * Rules: a call goes to the node that last answered as (or was named) leader, else to the first URL.
 * 421 NOT_LEADER with a `leaderUrl` is followed at once. A connection that fails moves on to the next
 * URL, and a back-off follows each whole round of failed connections. Retriable answers (503 with
 * Retry-After, 429, NO_LEADER, LEADERSHIP_LOST, FORWARD_FAILED, READ_TIMEOUT …) are retried after an
 * exponential, jittered back-off of at least Retry-After and at most `backoffMsMax`. Every call makes at
 * most `attemptsMax` requests; other 4xx and 500 answers throw at once.
 *
 * Writes carry `Idempotency-Key: <clientId>:<sequence>`, one sequence per write, the same on each of its
 * retries: after an unknown outcome (a timeout, LEADERSHIP_LOST, FORWARD_FAILED) the quorum answers a
 * repeated key with the first result (`replayed: true`) instead of applying it twice (DESIGN §6). The
 * quorum keeps one answer per client, so this client sends its writes one at a time, in order.
 */
export class AdminClient {
  readonly clientId: string;
  private readonly controllers: readonly string[];
  private readonly attemptsMax: number;
  private readonly requestTimeoutMs: number;
  private readonly backoff: { readonly backoffMsMin: number; readonly backoffMsMax: number };
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly signal: AbortSignal | undefined;
  /** Where the next call goes: the leader when one is known. */
  private targetUrl: string;
  private nextSequence: number;
  /** The tail of the queue of writes: each starts once the one before has settled. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(options: AdminClientOptions) {
    if (options.controllers.length === 0 || options.controllers.length > controllersCountMax) {
      throw new RangeError(`Cannot create an admin client as it needs 1 to ${controllersCountMax} controller URLs: current value is ${options.controllers.length}`);
    }
    this.controllers = options.controllers.map(baseUrl);
    this.attemptsMax = positive(options.attemptsMax ?? adminClientDefaults.attemptsMax, "attemptsMax");
    this.requestTimeoutMs = positive(options.requestTimeoutMs ?? adminClientDefaults.requestTimeoutMs, "requestTimeoutMs");
    this.backoff = {
      backoffMsMin: positive(options.backoffMsMin ?? adminClientDefaults.backoffMsMin, "backoffMsMin"),
      backoffMsMax: positive(options.backoffMsMax ?? adminClientDefaults.backoffMsMax, "backoffMsMax"),
    };
    this.clientId = options.clientId ?? randomUUID();
    this.nextSequence = positive(options.firstSequence ?? 1, "firstSequence");
    this.sleep = options.sleep ?? ((ms, signal) => sleepMs(ms, undefined, signal === undefined ? {} : { signal }));
    this.random = options.random ?? Math.random;
    this.signal = options.signal;
    this.targetUrl = this.controllers[0] as string;
  }

  // ------------------------------------------------------------ brokers

  registerBroker(request: RegisterBrokerRequest): Promise<BrokerWriteAnswerJson> {
    return this.write({ method: "POST", path: "/v1/brokers", body: request });
  }

  /** `status`: active (= UNFENCED), INIT, UNFENCED, FENCED or CLOSED; comma-separated for several. */
  listBrokers(options: ReadOptions & { readonly status?: string } = {}): Promise<BrokersAnswerJson> {
    return this.read(`/v1/brokers${query({ status: options.status, consistency: options.consistency })}`);
  }

  getBroker(brokerId: number, options: ReadOptions = {}): Promise<BrokerAnswerJson> {
    return this.read(`/v1/brokers/${brokerId}${query({ consistency: options.consistency })}`);
  }

  changeBroker(brokerId: number, request: ChangeBrokerRequest): Promise<BrokerWriteAnswerJson> {
    return this.write({ method: "PATCH", path: `/v1/brokers/${brokerId}`, body: request });
  }

  unregisterBroker(brokerId: number): Promise<BrokerWriteAnswerJson> {
    return this.write({ method: "DELETE", path: `/v1/brokers/${brokerId}` });
  }

  // ------------------------------------------------------------ topics and partitions

  createTopic(request: CreateTopicRequest): Promise<TopicWriteAnswerJson> {
    return this.write({ method: "POST", path: "/v1/topics", body: request });
  }

  listTopics(options: ReadOptions = {}): Promise<TopicsAnswerJson> {
    return this.read(`/v1/topics${query({ consistency: options.consistency })}`);
  }

  getTopic(name: string, options: ReadOptions = {}): Promise<TopicAnswerJson> {
    return this.read(`/v1/topics/${encodeURIComponent(name)}${query({ consistency: options.consistency })}`);
  }

  deleteTopic(name: string): Promise<TopicWriteAnswerJson> {
    return this.write({ method: "DELETE", path: `/v1/topics/${encodeURIComponent(name)}` });
  }

  topicPartitions(name: string, options: ReadOptions = {}): Promise<PartitionsAnswerJson> {
    return this.read(`/v1/topics/${encodeURIComponent(name)}/partitions${query({ consistency: options.consistency })}`);
  }

  createPartition(request: CreatePartitionRequest): Promise<PartitionWriteAnswerJson> {
    return this.write({ method: "POST", path: "/v1/partitions", body: request });
  }

  listPartitions(options: ReadOptions & { readonly topic?: string } = {}): Promise<PartitionsAnswerJson> {
    return this.read(`/v1/partitions${query({ topic: options.topic, consistency: options.consistency })}`);
  }

  changePartition(topicName: string, partitionId: number, request: ChangePartitionRequest): Promise<PartitionWriteAnswerJson> {
    return this.write({ method: "PATCH", path: `/v1/topics/${encodeURIComponent(topicName)}/partitions/${partitionId}`, body: request });
  }

  // ------------------------------------------------------------ producers and metadata

  registerProducer(request: RegisterProducerRequest): Promise<ProducerWriteAnswerJson> {
    return this.write({ method: "POST", path: "/v1/producers", body: request });
  }

  listProducers(options: ReadOptions = {}): Promise<ProducersAnswerJson> {
    return this.read(`/v1/producers${query({ consistency: options.consistency })}`);
  }

  /** A broker's heartbeat; repeating one only renews its session again, so it is retried like a read. */
  brokerMetadataFetch(request: BrokerMetadataFetchRequest): Promise<BrokerMetadataAnswerJson>;
  brokerMetadataFetch(request: BrokerMetadataFetchRequest, options: FormatOptions): Promise<BrokerMetadataAnswerJson | BrokerMetadataCompactAnswerJson>;
  brokerMetadataFetch(request: BrokerMetadataFetchRequest, options?: FormatOptions): Promise<BrokerMetadataAnswerJson | BrokerMetadataCompactAnswerJson> {
    return this.call({ method: "POST", path: `/v1/broker-mgmt/metadata-fetch${query({ format: options?.format })}`, body: request, idempotent: true });
  }

  /** Topics, partitions and brokers changed since `offset` (an offset, or a time as SPEC §4.1 lists them). */
  clientMetadata(options?: ReadOptions & { readonly offset?: number | string; readonly format?: "spec" }): Promise<Changes>;
  clientMetadata(options: ReadOptions & { readonly offset?: number | string } & FormatOptions): Promise<Changes | CompactChanges>;
  clientMetadata(options: ReadOptions & { readonly offset?: number | string; readonly format?: MetadataFormat } = {}): Promise<Changes | CompactChanges> {
    return this.read(`/v1/client-mgmt/metadata${query({ offset: options.offset, consistency: options.consistency, format: options.format })}`);
  }

  log(options: ReadOptions & { readonly fromOffset?: number; readonly limit?: number } = {}): Promise<LogAnswerJson> {
    return this.read(`/v1/log${query({ fromOffset: options.fromOffset, limit: options.limit, consistency: options.consistency })}`);
  }

  // ------------------------------------------------------------ snapshots (per node)

  async listSnapshots(options: NodeOptions = {}): Promise<SnapshotsAnswerJson> {
    return this.call({ method: "GET", path: "/v1/snapshots", idempotent: true, node: options.node ?? (await this.leaderUrl()) });
  }

  /** Snapshotting again only snapshots the same state again, so it is retried like a read. */
  async takeSnapshot(options: NodeOptions = {}): Promise<SnapshotAnswerJson> {
    return this.call({ method: "POST", path: "/v1/snapshots", idempotent: true, node: options.node ?? (await this.leaderUrl()) });
  }

  async getSnapshot(id: string, options: NodeOptions = {}): Promise<SnapshotContentAnswerJson> {
    return this.call({ method: "GET", path: `/v1/snapshots/${encodeURIComponent(id)}`, idempotent: true, node: options.node ?? (await this.leaderUrl()) });
  }

  // ------------------------------------------------------------ the quorum

  /**
   * The quorum's status as the leader sees it (only the leader knows every member's match index, lag
   * and last contact); a follower's view when the leader it names cannot be reached, or when `node`
   * asks for that node's own view.
   */
  async clusterStatus(options: NodeOptions = {}): Promise<ClusterStatus> {
    const first = await this.call<ClusterStatus>({ method: "GET", path: "/v1/cluster", idempotent: true, ...(options.node === undefined ? {} : { node: options.node }) });
    if (options.node !== undefined || first.role === "leader" || first.leaderUrl === null) return first;
    try {
      const fromLeader = await this.call<ClusterStatus>({ method: "GET", path: "/v1/cluster", idempotent: true, node: first.leaderUrl, attemptsMax: 1 });
      this.targetUrl = baseUrl(first.leaderUrl);
      return fromLeader;
    } catch (error) {
      if (error instanceof AdminError && error.code !== "ABORTED") return first;
      throw error;
    }
  }

  /** The leader's base URL, from the cluster status; NO_LEADER while no controller knows one. */
  async leaderUrl(): Promise<string> {
    const status = await this.clusterStatus();
    if (status.leaderUrl === null) {
      throw new AdminError("NO_LEADER", 503, `Cannot find the leader as controller ${status.nodeId} knows none: an election may be under way`, { nodeId: status.nodeId });
    }
    return baseUrl(status.leaderUrl);
  }

  /**
   * Hands leadership to `targetId` (or the most up-to-date follower). Not idempotent — repeated after
   * an unknown outcome it could move leadership twice — so it is only retried when it was not applied.
   */
  transferLeadership(options: { readonly targetId?: number } = {}): Promise<TransferLeadershipAnswer> {
    return this.call({ method: "POST", path: "/v1/cluster/transfer-leadership", body: options.targetId === undefined ? {} : { targetId: options.targetId }, idempotent: false });
  }

  /**
   * Adds controller `id` (started with `yakt controller --join`): its addresses are registered, it joins
   * as an observer and, unless `role` is "observer", is promoted to voter once it has caught up — the
   * call may wait that long. Not idempotent (repeated after it succeeded, it is CONTROLLER_EXISTS), so it
   * is retried only when it was not applied (NO_LEADER, MEMBERSHIP_CHANGE_PENDING, …). A learner that did
   * not catch up in time fails with LEARNER_NOT_CAUGHT_UP and stays an observer: the same call again
   * promotes it.
   */
  addMember(request: AddMemberRequest): Promise<AddMemberAnswerJson> {
    return this.call({ method: "POST", path: "/v1/cluster/members", body: request, idempotent: false, timeoutMs: Math.max(this.requestTimeoutMs, adminClientDefaults.addMemberTimeoutMs) });
  }

  /**
   * Removes controller `id`, voter or observer; the leader removing itself hands leadership over. Not
   * idempotent (repeated after it succeeded, the id is unknown), so retried only when it was not applied.
   */
  removeMember(id: number): Promise<RemoveMemberAnswerJson> {
    return this.call({ method: "DELETE", path: `/v1/cluster/members/${id}`, idempotent: false });
  }

  // ------------------------------------------------------------ plumbing

  private read<T>(path: string): Promise<T> {
    return this.call({ method: "GET", path, idempotent: true });
  }

  /** Queues a write behind this client's earlier ones and gives it the next sequence when it starts. */
  private write<T>(call: Pick<Call, "method" | "path" | "body">): Promise<T> {
    const run = this.writes.then(() => {
      if (this.nextSequence > sequenceMax) throw new RangeError(`Cannot number another write of client ${this.clientId} as its sequence is past ${sequenceMax}`);
      const idempotencyKey = `${this.clientId}:${this.nextSequence++}`;
      return this.call<T>({ ...call, idempotencyKey, idempotent: true });
    });
    this.writes = run.catch(() => undefined);
    return run;
  }

  /** Sends one call under the rules in the class comment. */
  private async call<T>(call: Call): Promise<T> {
    const attemptsMax = Math.min(call.attemptsMax ?? this.attemptsMax, this.attemptsMax);
    let retriesCount = 0;
    /** Failed connections since the last answer: a back-off follows each whole round of them. */
    let failuresInRowCount = 0;
    let lastError: AdminError | undefined;
    for (let attempt = 1; attempt <= attemptsMax; attempt++) {
      const url = call.node === undefined ? this.targetUrl : baseUrl(call.node);
      const sent = await this.send(url, call);
      let verdict: Verdict = sent.kind === "answer" ? judgeAnswer(sent.status, sent.body, sent.retryAfterMs) : judgeFailure(sent.failure);
      if (verdict.kind === "done" && sent.kind === "answer" && isObject(sent.body)) return sent.body as T;
      lastError = errorOf(sent, attempt);
      if (verdict.kind === "done" || verdict.kind === "fail") throw lastError;
      if (verdict.kind === "redirect") {
        // (Node's fetch itself sends a request answered 421 once more on a new connection before it
        // returns: harmless, as the API answers 421 only to requests it did not apply.)
        if (call.node !== undefined) throw lastError;
        const leaderUrl = baseUrl(verdict.leaderUrl);
        if (leaderUrl !== url) {
          this.targetUrl = leaderUrl;
          continue;
        }
        // A node that names itself leader yet refuses: it is stepping down; wait for the next one.
        verdict = { kind: "retry", outcome: "not_applied", otherNode: false, retryAfterMs: undefined };
      }
      if (verdict.outcome === "unknown" && !call.idempotent) throw lastError;
      if (attempt === attemptsMax) break;
      if (verdict.otherNode && call.node === undefined) this.moveOn(url);
      failuresInRowCount = sent.kind === "failure" ? failuresInRowCount + 1 : 0;
      const roundFailed = failuresInRowCount > 0 && failuresInRowCount % (call.node === undefined ? this.controllers.length : 1) === 0;
      if (sent.kind === "answer" || roundFailed) await this.backOff(++retriesCount, verdict.retryAfterMs);
    }
    throw exhausted(lastError as AdminError);
  }

  /** After a failure at `failedUrl`, the next call goes to the controller after it in the list. */
  private moveOn(failedUrl: string): void {
    if (this.targetUrl !== failedUrl) return;
    const index = this.controllers.indexOf(failedUrl);
    // A leader URL learnt from a redirect is not in the list: start over from the first controller.
    this.targetUrl = this.controllers[index === -1 ? 0 : (index + 1) % this.controllers.length] as string;
  }

  private async backOff(retryCount: number, retryAfterMs: number | undefined): Promise<void> {
    const delayMs = backoffDelayMs(retryCount, this.backoff, this.random, retryAfterMs);
    try {
      await this.sleep(delayMs, this.signal);
    } catch (error) {
      if (this.signal?.aborted === true) throw aborted();
      throw error;
    }
  }

  private async send(url: string, call: Call): Promise<Sent> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (call.body !== undefined) headers["content-type"] = "application/json";
    if (call.idempotencyKey !== undefined) headers["idempotency-key"] = call.idempotencyKey;
    const timeoutMs = call.timeoutMs ?? this.requestTimeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const response = await fetch(`${url}${call.path}`, {
        method: call.method,
        headers,
        ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
        signal: this.signal === undefined ? timeout : AbortSignal.any([timeout, this.signal]),
      });
      const text = await response.text();
      return { kind: "answer", status: response.status, body: parseBody(text), retryAfterMs: parseRetryAfterMs(response.headers.get("retry-after")) };
    } catch (error) {
      if (this.signal?.aborted === true) throw aborted();
      const failure: TransportFailure = timeout.aborted ? "timeout" : isRefused(error) ? "refused" : "broken";
      return { kind: "failure", failure, message: failureMessage(url, failure, error, timeoutMs) };
    }
  }
}

function errorOf(sent: Sent, attemptsCount: number): AdminError {
  const attempts = { count: attemptsCount, exhausted: false };
  if (sent.kind === "failure") return new AdminError(sent.failure === "timeout" ? "TIMEOUT" : "UNREACHABLE", 0, sent.message, {}, attempts);
  if (sent.status >= 200 && sent.status < 300) return new AdminError("BAD_RESPONSE", sent.status, "Cannot read the controller's answer as it is not a JSON object", { body: sent.body }, attempts);
  if (isObject(sent.body)) return AdminError.fromBody(sent.status, sent.body, attempts);
  return new AdminError("HTTP_ERROR", sent.status, `Cannot complete the request as the controller answered ${sent.status}`, { body: sent.body }, attempts);
}

/** The last retriable failure, as the call's: it ran out of attempts. */
function exhausted(error: AdminError): AdminError {
  return new AdminError(error.code, error.status, error.message, error.details, { count: error.attempts.count, exhausted: true });
}

function aborted(): AdminError {
  return new AdminError("ABORTED", 0, "Cannot complete the request as it was aborted");
}

function failureMessage(url: string, failure: TransportFailure, error: unknown, requestTimeoutMs: number): string {
  switch (failure) {
    case "refused":
      return `Cannot reach controller ${url} as it refused the connection`;
    case "timeout":
      return `Cannot get an answer from controller ${url} as none came within ${requestTimeoutMs} ms`;
    case "broken":
      return `Cannot get an answer from controller ${url} as the connection failed: ${causeOf(error)}`;
  }
}

/** Refused, or no such host: either way the request never reached a server. */
function isRefused(error: unknown): boolean {
  const code = causeCode(error);
  return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN";
}

function causeCode(error: unknown): string | undefined {
  const cause = error instanceof Error ? error.cause : undefined;
  if (typeof cause !== "object" || cause === null || !("code" in cause)) return undefined;
  return typeof cause.code === "string" ? cause.code : undefined;
}

function causeOf(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseBody(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** `?a=1&b=x` from the defined values, or "" when there are none. */
function query(values: Readonly<Record<string, string | number | undefined>>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value !== undefined) params.set(name, String(value));
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

/** A base URL without its trailing slashes, so that URLs compare equal however they were written. */
function baseUrl(url: string): string {
  return url.replace(/\/+$/, "");
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`Cannot create an admin client as ${name} must be a positive integer: current value is ${value}`);
  return value;
}
