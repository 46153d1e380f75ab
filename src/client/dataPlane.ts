import { AdminClient } from "./adminClient.js";
import { HttpBrokerTransport } from "./brokerHttp.js";
import type { BrokerReply, BrokerRequest, BrokerTransport } from "./brokerHttp.js";
import { ClientError } from "./clientError.js";
import { sleepOn, systemClock } from "./clock.js";
import type { Clock } from "./clock.js";
import { ClusterMetadata } from "./clusterMetadata.js";
import type { AutoCreateTopics, MetadataSource } from "./clusterMetadata.js";
import { backoffDelayMs } from "./retryPolicy.js";
import type { BackoffBounds } from "./retryPolicy.js";

/** What producers and consumers share: where the metadata comes from, how brokers are reached, time. */
export interface DataPlaneOptions {
  /** Base URLs of the controllers, any one of them will do to start; or `admin`. */
  readonly controllers?: readonly string[];
  /** Asked for the metadata (and to create topics) instead of an AdminClient over `controllers`. */
  readonly admin?: MetadataSource;
  /** A missing topic is created with these; `false`: it is an error. Default: 3 partitions. */
  readonly autoCreateTopics?: AutoCreateTopics | false;
  readonly metadataRefreshIntervalMsMin?: number;
  /** One request to a broker, from sending to the end of the answer (a fetch's long-poll comes on top). */
  readonly requestTimeoutMs?: number;
  readonly backoffMsMin?: number;
  readonly backoffMsMax?: number;
  readonly transport?: BrokerTransport;
  readonly clock?: Clock;
  /** Uniform in [0, 1): back-off jitter, the first round-robin partition. */
  readonly random?: () => number;
}

export const dataPlaneDefaults = {
  /** Kafka's request.timeout.ms. */
  requestTimeoutMs: 30_000,
  /** Kafka's retry.backoff.ms and retry.backoff.max.ms. */
  backoffMsMin: 100,
  backoffMsMax: 1_000,
} as const;

/**
 * The parts of one producer or consumer that talk to the cluster: its metadata, its connections to
 * brokers, its clock, and a signal that fires on `stop()` to cut waits, metadata asks and requests
 * short. `close()` then closes the connections; between the two, requests given their own signal
 * (a consumer's last commit) still go out.
 */
export class DataPlaneConnection {
  readonly metadata: ClusterMetadata;
  readonly transport: BrokerTransport;
  readonly clock: Clock;
  readonly random: () => number;
  readonly requestTimeoutMs: number;
  private readonly backoff: BackoffBounds;
  private readonly stopping = new AbortController();
  private readonly ownsTransport: boolean;

  constructor(options: DataPlaneOptions, what: string) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.requestTimeoutMs = positive(options.requestTimeoutMs ?? dataPlaneDefaults.requestTimeoutMs, "requestTimeoutMs", what);
    this.backoff = {
      backoffMsMin: positive(options.backoffMsMin ?? dataPlaneDefaults.backoffMsMin, "backoffMsMin", what),
      backoffMsMax: positive(options.backoffMsMax ?? dataPlaneDefaults.backoffMsMax, "backoffMsMax", what),
    };
    const sleep = (ms: number, signal?: AbortSignal): Promise<void> => sleepOn(this.clock, ms, signal);
    const admin = options.admin ?? this.adminClient(options.controllers, sleep, what);
    this.metadata = new ClusterMetadata({
      admin,
      nowMs: () => this.clock.nowMs(),
      sleep,
      signal: this.stopping.signal,
      ...(options.autoCreateTopics === undefined ? {} : { autoCreateTopics: options.autoCreateTopics }),
      ...(options.metadataRefreshIntervalMsMin === undefined ? {} : { refreshIntervalMsMin: options.metadataRefreshIntervalMsMin }),
    });
    this.ownsTransport = options.transport === undefined;
    this.transport = options.transport ?? new HttpBrokerTransport();
  }

  /** Fires on `stop()`. */
  get signal(): AbortSignal {
    return this.stopping.signal;
  }

  get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  send(request: Omit<BrokerRequest, "signal">, signal: AbortSignal = this.stopping.signal): Promise<BrokerReply> {
    return this.transport.send({ ...request, signal });
  }

  /** Waits before retry number `retryCount` (1 for the first), never past `deadlineMs`; cut short by `stop()`. */
  backOff(retryCount: number, retryAfterMs: number | undefined, deadlineMs = Number.POSITIVE_INFINITY, signal: AbortSignal = this.stopping.signal): Promise<void> {
    const delayMs = Math.min(backoffDelayMs(retryCount, this.backoff, this.random, retryAfterMs), Math.max(0, deadlineMs - this.clock.nowMs()));
    return sleepOn(this.clock, delayMs, signal);
  }

  /** A metadata refresh whose failure is only returned: the caller's retry loop goes on either way. */
  async refreshMetadata(): Promise<ClientError | undefined> {
    try {
      await this.metadata.refresh();
      return undefined;
    } catch (error) {
      return ClientError.of(error);
    }
  }

  /** Cuts short every wait, metadata ask and request made without a signal of its own. */
  stop(): void {
    this.stopping.abort();
  }

  close(): void {
    this.stop();
    if (this.ownsTransport) this.transport.close();
  }

  private adminClient(controllers: readonly string[] | undefined, sleep: (ms: number, signal?: AbortSignal) => Promise<void>, what: string): AdminClient {
    if (controllers === undefined) throw new RangeError(`Cannot create a ${what} as it needs controllers or an admin client`);
    return new AdminClient({ controllers, sleep, random: this.random, signal: this.stopping.signal });
  }
}

/** The failure one reply stands for. */
export function replyError(reply: BrokerReply, attemptsCount: number): ClientError {
  const attempts = { count: attemptsCount, exhausted: false };
  if (reply.kind === "failure") return new ClientError(reply.failure === "timeout" ? "TIMEOUT" : "UNREACHABLE", 0, reply.message, {}, attempts);
  if (reply.status >= 200 && reply.status < 300) return new ClientError("BAD_RESPONSE", reply.status, "Cannot read the broker's answer as it is not the JSON the contract says", { body: reply.body }, attempts);
  if (isRecord(reply.body)) return ClientError.fromBody(reply.status, reply.body, attempts);
  return new ClientError("HTTP_ERROR", reply.status, `Cannot complete the request as the broker answered ${reply.status}`, { body: reply.body }, attempts);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function positive(value: number, name: string, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`Cannot create a ${what} as ${name} must be a positive integer: current value is ${value}`);
  return value;
}

/** `?a=1&b=x` from the defined values. */
export function query(values: Readonly<Record<string, string | number | undefined>>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value !== undefined) params.set(name, String(value));
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}
