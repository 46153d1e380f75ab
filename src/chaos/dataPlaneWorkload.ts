// The data plane's part of a chaos run: a topic placed on the run's brokers, idempotent producers
// (acks=all) recording every send as invoke/ok/fail/unknown, and, after healing, the brokers' settling
// and a consumer reading every partition back from the start for the check (dataPlaneCheck.ts).
import { setTimeout as sleep } from "node:timers/promises";
import type { AdminClient } from "../client/adminClient.js";
import { ClientError } from "../client/clientError.js";
import { Consumer } from "../client/consumer.js";
import { Producer } from "../client/producer.js";
import type { BrokerProcesses } from "../e2e/brokerProcesses.js";
import { waitFor } from "../e2e/waitFor.js";
import { assert } from "../shared/assert.js";
import { createPrng } from "../shared/prng.js";
import type { ConsumedMessage, SendOperation } from "./dataPlaneCheck.js";
import type { Outcome } from "./outcomes.js";

export const chaosTopic = "chaos";

export interface ProducerTimings {
  /** One produce request, and the acks=all wait the broker is asked to keep to (less, by the client's margin). */
  readonly requestTimeoutMs: number;
  /**
   * A send not acknowledged within this long fails (DELIVERY_TIMEOUT). Longer than a fault's hold plus a
   * broker session and a leader change, so that a fault costs these producers no send.
   */
  readonly deliveryTimeoutMs: number;
  /**
   * The delivery timeout of every other producer (odd indexes): shorter than many faults, so sends fail
   * mid-fault — `fail` when refused, `unknown` when perhaps appended — and the check sees both outcomes.
   */
  readonly shortDeliveryTimeoutMs: number;
  /** Sends of one producer not yet settled at most: the producer waits for one before the next. */
  readonly inFlightMax: number;
  /** A producer waits up to this (uniformly drawn) between two sends. */
  readonly thinkMsMax: number;
  readonly lingerMs: number;
}

export const producerTimingsDefault: ProducerTimings = {
  requestTimeoutMs: 5_000,
  deliveryTimeoutMs: 20_000,
  shortDeliveryTimeoutMs: 3_000,
  inFlightMax: 32,
  thinkMsMax: 20,
  lingerMs: 2,
};

export interface DataPlaneWorkloadOptions {
  readonly producersCount: number;
  readonly partitionsCount: number;
  /** The controllers' API URLs, dialled directly (as clients do). */
  readonly controllers: readonly string[];
  readonly seed: number;
  readonly timings?: Partial<ProducerTimings>;
}

/**
 * Producers sending unique values (`p<index>-<sequence>`) to partitions they draw, each send recorded:
 * `ok` with the acknowledged offset; `fail` when the producer's error says no attempt can have appended
 * it (`details.outcome: not_applied`); `unknown` otherwise. Retries are the client library's own.
 */
export class DataPlaneWorkload {
  readonly sends: SendOperation[] = [];
  private readonly timings: ProducerTimings;
  private stopping = false;
  private running: Promise<void> | undefined;

  constructor(private readonly options: DataPlaneWorkloadOptions) {
    assert(options.producersCount >= 1 && options.partitionsCount >= 1, "a data-plane workload needs producers and partitions");
    this.timings = { ...producerTimingsDefault, ...options.timings };
  }

  start(): void {
    assert(this.running === undefined, "a workload starts once");
    this.running = Promise.all(Array.from({ length: this.options.producersCount }, (_, index) => this.runProducer(index))).then(() => {});
  }

  /** Stops sending; resolves once every send taken is settled (acknowledged, or failed by its delivery timeout). */
  async stop(): Promise<readonly SendOperation[]> {
    this.stopping = true;
    await this.running;
    return this.sends;
  }

  counts(): Record<Outcome, number> {
    const counts: Record<Outcome, number> = { ok: 0, fail: 0, unknown: 0 };
    for (const send of this.sends) counts[send.outcome]++;
    return counts;
  }

  private async runProducer(index: number): Promise<void> {
    const prng = createPrng((this.options.seed ^ Math.imul(index + 101, 0x85ebca6b)) >>> 0);
    const t = this.timings;
    const deliveryTimeoutMs = index % 2 === 0 ? t.deliveryTimeoutMs : t.shortDeliveryTimeoutMs;
    const requestTimeoutMs = Math.min(t.requestTimeoutMs, deliveryTimeoutMs);
    const producer = new Producer({ controllers: this.options.controllers, acks: "all", idempotent: true, lingerMs: t.lingerMs, requestTimeoutMs, deliveryTimeoutMs, autoCreateTopics: false });
    const settling = new Set<Promise<void>>();
    try {
      for (let sequence = 1; !this.stopping; sequence++) {
        while (settling.size >= t.inFlightMax) await Promise.race(settling);
        const partition = prng.int(this.options.partitionsCount);
        const sent = this.send(producer, { producerIndex: index, sequence, partition, value: `p${index}-${sequence}` });
        settling.add(sent);
        void sent.then(() => settling.delete(sent));
        await sleep(prng.int(t.thinkMsMax + 1));
      }
      await Promise.all(settling);
    } finally {
      await producer.close();
    }
  }

  /** One send, recorded once it settles. */
  private async send(producer: Producer, what: Pick<SendOperation, "producerIndex" | "sequence" | "partition" | "value">): Promise<void> {
    const invokeMs = performance.now();
    try {
      const delivery = await producer.enqueue({ topic: chaosTopic, partition: what.partition, value: what.value });
      const ack = await delivery.acknowledged;
      this.sends.push({ ...what, invokeMs, outcome: "ok", offset: ack.offset, completeMs: performance.now() });
    } catch (error) {
      const note = error instanceof Error ? `${error instanceof ClientError ? `${error.code}: ` : ""}${error.message}`.slice(0, 300) : String(error);
      const outcome = error instanceof ClientError && error.details["outcome"] === "not_applied" ? "fail" : "unknown";
      this.sends.push(outcome === "fail" ? { ...what, invokeMs, outcome, completeMs: performance.now(), note } : { ...what, invokeMs, outcome, note });
    }
  }
}

/** Generous bounds for a loaded 2-core machine. */
const setupTimeoutMs = 60_000;
const settleTimeoutMs = 90_000;
const readBackTimeoutMs = 120_000;

/**
 * Creates the topic (the chaos topic unless named) with `partitionsCount` partitions, each replicated on every broker (leaders spread
 * round the brokers), once every broker is UNFENCED; waits until each broker has opened its replicas.
 * Partitions are placed by hand so that the metadata clients' registers (registered brokers that never
 * heartbeat) are never chosen.
 */
export async function createChaosTopic(admin: AdminClient, brokers: BrokerProcesses, partitionsCount: number, name: string = chaosTopic): Promise<void> {
  const brokerIds = brokers.ids();
  await waitForUnfenced(admin, brokerIds, setupTimeoutMs);
  await admin.createTopic({ name });
  for (let partitionId = 0; partitionId < partitionsCount; partitionId++) {
    const replicas = brokerIds.map((_, i) => brokerIds[(partitionId + i) % brokerIds.length] as number);
    await admin.createPartition({ topicName: name, partitionId, replicas, leader: replicas[0] as number });
  }
  await waitFor(`every broker to open the replicas of ${name}`, async () => {
    const statuses = await Promise.all(brokerIds.map((id) => brokers.status(id).catch(() => undefined)));
    return statuses.every((s) => s !== undefined && s.partitions.filter((p) => p.topic === name).length === partitionsCount) ? true : undefined;
  }, { timeoutMs: setupTimeoutMs, intervalMs: 100 });
}

async function waitForUnfenced(admin: AdminClient, brokerIds: readonly number[], timeoutMs: number): Promise<void> {
  await waitFor(`brokers ${brokerIds.join(", ")} UNFENCED`, async () => {
    const listed = await admin.listBrokers({ status: "UNFENCED" }).catch(() => undefined);
    const unfenced = new Set(listed?.brokers.map((b) => b.brokerId) ?? []);
    return brokerIds.every((id) => unfenced.has(id)) ? true : undefined;
  }, { timeoutMs, intervalMs: 100 });
}

/**
 * After healing: every broker UNFENCED, and every partition with its full replica set in the ISR and
 * every replica's log ending at the leader's high watermark. Returns each partition's high watermark
 * (the number of messages to read back: nothing is deleted during a run).
 */
export async function waitForSettledBrokers(admin: AdminClient, brokers: BrokerProcesses, partitionsCount: number): Promise<number[]> {
  const brokerIds = brokers.ids();
  await waitForUnfenced(admin, brokerIds, settleTimeoutMs);
  return waitFor(`every replica of ${chaosTopic} in its ISR and at its leader's high watermark`, async () => {
    const statuses = await Promise.all(brokerIds.map((id) => brokers.status(id).catch(() => undefined)));
    if (statuses.some((s) => s === undefined)) return undefined;
    const ends: number[] = [];
    for (let partition = 0; partition < partitionsCount; partition++) {
      const replicas = statuses.map((s) => s?.partitions.find((p) => p.topic === chaosTopic && p.partition === partition));
      const leader = replicas.find((r) => r?.role === "leader");
      if (leader === undefined || leader.isr.length !== brokerIds.length) return undefined;
      if (!replicas.every((r) => r !== undefined && r.leader === leader.leader && r.logEndOffset === leader.highWatermark)) return undefined;
      ends.push(leader.highWatermark);
    }
    return ends;
  }, { timeoutMs: settleTimeoutMs, intervalMs: 200 });
}

/** Reads every partition from offset 0 up to `ends[partition]` with a consumer (no group), from the leaders. */
export async function readBack(controllers: readonly string[], ends: readonly number[]): Promise<ConsumedMessage[]> {
  const consumer = new Consumer({ controllers, topic: chaosTopic, fromBeginning: true, autoCreateTopics: false, maxWaitMs: 200 });
  const messages: ConsumedMessage[] = [];
  const next = ends.map(() => 0);
  try {
    const deadlineMs = performance.now() + readBackTimeoutMs;
    while (next.some((offset, partition) => offset < (ends[partition] ?? 0))) {
      if (performance.now() > deadlineMs) throw new Error(`Cannot read ${chaosTopic} back within ${readBackTimeoutMs} ms: at offsets ${next.join(", ")} of ${ends.join(", ")}`);
      for (const record of await consumer.poll({ timeoutMs: 1_000 })) {
        messages.push({ partition: record.partition, offset: record.offset, value: record.value });
        next[record.partition] = Math.max(next[record.partition] ?? 0, record.offset + 1);
      }
    }
  } finally {
    await consumer.close();
  }
  return messages;
}
