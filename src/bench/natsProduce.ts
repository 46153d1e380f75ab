// The produce bench's load on NATS JetStream, shaped as it is on YAKt (dataPlaneLoad.ts): the same
// number of producers, each its own connection with at most `inFlightCount` publishes unacknowledged
// (asynchronous publish, every PubAck awaited), keyless messages spread over the streams in turn as
// YAKt's partitioner spreads them over the partitions, and each message's time from the call that
// sends it — the wait for room in the window included — to its acknowledgement.
//
// Two ways to publish. `async` (the default) is the Go client's PublishAsync: a plain publish with a
// reply subject under one inbox, one subscription taking every PubAck, a sweep for the overdue ones.
// `request` is @nats-io/jetstream's `js.publish`: a request per message, each with its own promise
// and timer — about three times the client CPU per message here, enough to make the bench process
// the bottleneck (bench/README.md).
import { jetstream } from "@nats-io/jetstream";
import type { JetStreamClient } from "@nats-io/jetstream";
import { createInbox } from "@nats-io/transport-node";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { assert } from "../shared/assert.js";
import type { NatsCluster } from "./reference/nats.js";
import { natsManager, natsRequestTimeoutMs } from "./reference/nats.js";

/** JetStream has no partitions: a stream is one Raft group with one leader, as a partition is. YAKt's topic of N partitions is N streams here. */
export interface NatsStreams {
  /** Stream names, one per partition. */
  readonly names: readonly string[];
  /** The one subject each stream takes, in the same order. */
  readonly subjects: readonly string[];
}

/** The streams standing for the topic `topic` of `partitionsCount` partitions. */
export function natsStreamsOf(topic: string, partitionsCount: number): NatsStreams {
  const names = Array.from({ length: partitionsCount }, (_, p) => `${topic}-p${p}`);
  return { names, subjects: names.map((name) => `bench.${name}`) };
}

/**
 * Creates the streams: file storage, `replicas` copies (R=3: acknowledged once a quorum has it, as
 * acks=all with YAKt's minimum in-sync replicas), limits retention, nothing discarded.
 */
export async function createNatsStreams(cluster: NatsCluster, streams: NatsStreams, replicas: number): Promise<string[]> {
  const connection = await cluster.connect(0);
  try {
    const manager = await natsManager(connection);
    const leaders: string[] = [];
    for (const [p, name] of streams.names.entries()) {
      const subject = streams.subjects[p];
      assert(subject !== undefined, `a subject for stream ${name}`);
      const info = await manager.streams.add({ name, subjects: [subject], num_replicas: replicas, storage: "file", retention: "limits", discard: "old" });
      leaders.push(`${name}: ${info.cluster?.leader ?? "no leader yet"}`);
    }
    return leaders;
  } finally {
    await connection.close();
  }
}

/** How the bench publishes: see the top of this file. */
export type NatsPublishMode = "async" | "request";
export const natsPublishModes: readonly NatsPublishMode[] = ["async", "request"];

export interface NatsProduceLoad {
  readonly streams: NatsStreams;
  readonly publishMode: NatsPublishMode;
  readonly messagesCount: number;
  readonly sizeBytes: number;
  readonly producersCount: number;
  readonly inFlightCount: number;
  readonly warmUpMessagesCount: number;
  readonly onTimedStart?: () => void;
}

export interface NatsProduceRun {
  /** From the first timed publish call to the last acknowledgement. */
  readonly elapsedMs: number;
  /** Per acknowledged timed message; NaN for one that failed. */
  readonly latenciesMs: Float64Array;
  readonly errorsCount: number;
  readonly firstError: string | undefined;
}

/** Publishes `messagesCount` messages through `producersCount` connections, each in a closed loop. */
export async function publishToNats(cluster: NatsCluster, load: NatsProduceLoad): Promise<NatsProduceRun> {
  assert(load.messagesCount >= load.producersCount, `each producer sends at least one message: ${load.messagesCount} messages, ${load.producersCount} producers`);
  const filler = "x".repeat(load.sizeBytes);
  const encoder = new TextEncoder();
  const valueOf = (i: number): Uint8Array => encoder.encode(`${i}-${filler}`.slice(0, load.sizeBytes));
  const connections: NatsConnection[] = [];
  const clients: Publish[] = [];
  try {
    for (let p = 0; p < load.producersCount; p++) connections.push(await cluster.connect(p));
    for (const connection of connections) clients.push(load.publishMode === "async" ? asyncPublisher(connection) : requestPublisher(jetstream(connection, { timeout: natsRequestTimeoutMs })));
    const errors = { count: 0, first: undefined as string | undefined };
    const warmUp = new Float64Array(load.warmUpMessagesCount);
    await Promise.all(clients.map((client) => sendWindowed(client, { streams: load.streams, first: 0, end: load.warmUpMessagesCount, inFlightCount: load.inFlightCount, valueOf, latenciesMs: warmUp, errors })));
    if (errors.count > 0) throw new Error(`JetStream refused ${errors.count} of the warm-up publishes; the first: ${errors.first ?? "?"}`);
    const latenciesMs = new Float64Array(load.messagesCount);
    load.onTimedStart?.();
    const startMs = performance.now();
    await Promise.all(
      clients.map((client, p) => {
        const first = Math.floor((p * load.messagesCount) / load.producersCount);
        const end = Math.floor(((p + 1) * load.messagesCount) / load.producersCount);
        return sendWindowed(client, { streams: load.streams, first, end, inFlightCount: load.inFlightCount, valueOf, latenciesMs, errors });
      }),
    );
    return { elapsedMs: performance.now() - startMs, latenciesMs, errorsCount: errors.count, firstError: errors.first };
  } finally {
    for (const client of clients) client.close?.();
    await Promise.allSettled(connections.map((connection) => connection.close()));
  }
}

interface WindowedRange {
  readonly streams: NatsStreams;
  readonly first: number;
  readonly end: number;
  readonly inFlightCount: number;
  readonly valueOf: (i: number) => Uint8Array;
  readonly latenciesMs: Float64Array;
  readonly errors: { count: number; first: string | undefined };
}

/**
 * Messages [first, end) one publish after the other, never more than `inFlightCount` unacknowledged:
 * a publish waits for a free slot, and its latency counts from before that wait, as YAKt's `enqueue`.
 * The streams are taken in turn, starting with the first, as YAKt's round-robin partitioner does.
 */
async function sendWindowed(client: Publish, range: WindowedRange): Promise<void> {
  const subjects = range.streams.subjects;
  let inFlight = 0;
  let wakeUp: (() => void) | undefined;
  let allAcknowledged: (() => void) | undefined;
  const done = new Promise<void>((resolve) => (allAcknowledged = resolve));
  let pending = range.end - range.first;
  if (pending === 0) return;
  for (let i = range.first; i < range.end; i++) {
    const calledMs = performance.now();
    while (inFlight >= range.inFlightCount) await new Promise<void>((resolve) => (wakeUp = resolve));
    inFlight++;
    const subject = subjects[(i - range.first) % subjects.length];
    assert(subject !== undefined, "a subject per stream");
    void client.publish(subject, range.valueOf(i)).then(
      () => void (range.latenciesMs[i] = performance.now() - calledMs),
      (error: unknown) => {
        range.latenciesMs[i] = Number.NaN;
        range.errors.count++;
        range.errors.first ??= error instanceof Error ? error.message : String(error);
      },
    ).finally(() => {
      inFlight--;
      const wake = wakeUp;
      wakeUp = undefined;
      wake?.();
      if (--pending === 0) allAcknowledged?.();
    });
  }
  await done;
}

/** Sends one message and resolves with its acknowledgement, rejects if JetStream refuses it or does not answer in time. */
interface Publish {
  publish(subject: string, payload: Uint8Array): Promise<void>;
  /** Stops the publisher's own timers, if it has any. */
  close?(): void;
}

function requestPublisher(client: JetStreamClient): Publish {
  return {
    publish: async (subject, payload) => {
      await client.publish(subject, payload, { timeout: natsRequestTimeoutMs });
    },
  };
}

/** How often the async publisher looks for PubAcks overdue by `natsRequestTimeoutMs`. */
const overdueSweepIntervalMs = 1_000;

interface AwaitedAck {
  readonly sentMs: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * The Go client's PublishAsync: every message goes out as a plain publish whose reply subject is
 * `<inbox>.<n>`; one subscription on `<inbox>.*` takes the PubAcks and settles the message they name.
 */
function asyncPublisher(connection: NatsConnection): Publish {
  const inbox = createInbox();
  const awaited = new Map<string, AwaitedAck>();
  let sequence = 0;
  const settle = (message: Msg): void => {
    const id = message.subject.slice(inbox.length + 1);
    const ack = awaited.get(id);
    if (ack === undefined) return;
    awaited.delete(id);
    const refusal = pubAckRefusal(message);
    if (refusal === undefined) ack.resolve();
    else ack.reject(new Error(refusal));
  };
  connection.subscribe(`${inbox}.*`, { callback: (error, message) => (error === null ? settle(message) : undefined) });
  // Insertion order is send order: the sweep stops at the first message that is not overdue.
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const [id, ack] of awaited) {
      if (now - ack.sentMs < natsRequestTimeoutMs) break;
      awaited.delete(id);
      ack.reject(new Error(`no PubAck within ${natsRequestTimeoutMs} ms`));
    }
  }, overdueSweepIntervalMs);
  return {
    publish: (subject, payload) =>
      new Promise<void>((resolve, reject) => {
        const id = String(sequence++);
        awaited.set(id, { sentMs: performance.now(), resolve, reject });
        connection.publish(subject, payload, { reply: `${inbox}.${id}` });
      }),
    close: () => clearInterval(sweep),
  };
}

/** Why a PubAck refuses its message (`{"error": …}`, a status such as 503 no responders, not JSON); undefined for `{"stream": …, "seq": n}`. */
export function pubAckRefusal(message: Pick<Msg, "data" | "headers">): string | undefined {
  const status = message.headers?.code;
  if (status !== undefined && status !== 0) return `status ${status} ${message.headers?.description ?? ""}`.trimEnd();
  let ack: unknown;
  try {
    ack = JSON.parse(new TextDecoder().decode(message.data));
  } catch {
    return `a PubAck that is not JSON: ${new TextDecoder().decode(message.data.slice(0, 200))}`;
  }
  if (typeof ack === "object" && ack !== null && "seq" in ack && typeof ack.seq === "number" && !("error" in ack)) return undefined;
  return `JetStream refused the message: ${JSON.stringify(ack).slice(0, 300)}`;
}
