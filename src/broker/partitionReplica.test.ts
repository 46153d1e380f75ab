import assert from "node:assert/strict";
import { test } from "node:test";
import type { TopicPartition } from "../api/schemas.js";
import type { BrokerError } from "./brokerError.js";
import { MemoryLog } from "./memoryLog.js";
import { PartitionReplica } from "./partitionReplica.js";
import type { ProduceInput, ProduceSettings, StoredRecord } from "./partitionReplica.js";

const text = new TextEncoder();
const record = (value: string): StoredRecord => ({ key: null, value: text.encode(value), timestampMs: 1 });

function partition(fields: Partial<TopicPartition> = {}): TopicPartition {
  return { topicName: "orders", topicUUID: "u", partitionId: 0, replicas: [1, 2, 3], ISR: [1, 2, 3], removingReplicas: [], addingReplicas: [], leader: 1, partitionEpoch: 1, ...fields };
}

interface Harness {
  readonly clock: { nowMs: number };
  readonly replicas: Map<number, PartitionReplica>;
  readonly logs: Map<number, MemoryLog>;
  readonly isrChanges: { isr: readonly number[]; expectedPartitionEpoch: number }[];
}

/**
 * Three replicas of one partition with in-memory logs, a hand-driven clock and a quorum that accepts every
 * ISR change (once `isrChangesHeld` resolves, when given: the change is pending until then).
 */
function cluster(meta: TopicPartition = partition(), options: { minInsyncReplicas?: number; isrChangesHeld?: Promise<void>; isrChangesUnanswered?: boolean } = {}): Harness {
  const clock = { nowMs: 1_000 };
  const replicas = new Map<number, PartitionReplica>();
  const logs = new Map<number, MemoryLog>();
  const isrChanges: Harness["isrChanges"] = [];
  for (const id of meta.replicas) {
    const log = new MemoryLog();
    logs.set(id, log);
    replicas.set(
      id,
      new PartitionReplica(meta, log, {
        brokerId: id,
        nowMs: () => clock.nowMs,
        wallClockMs: () => 1_700_000_000_000 + clock.nowMs,
        minInsyncReplicas: options.minInsyncReplicas ?? 1,
        replicaLagMs: 10_000,
        alterIsr: async (p, isr) => {
          isrChanges.push({ isr, expectedPartitionEpoch: p.partitionEpoch });
          await options.isrChangesHeld;
          // The request may have reached the quorum; the answer did not come back.
          if (options.isrChangesUnanswered === true) throw new Error("FORWARD_FAILED: the controller did not answer");
          return { ...p, ISR: [...isr], partitionEpoch: p.partitionEpoch + 1 };
        },
      }),
    );
  }
  return { clock, replicas, logs, isrChanges };
}

function replica(h: Harness, id: number): PartitionReplica {
  const found = h.replicas.get(id);
  assert(found !== undefined);
  return found;
}

/** One follower fetch round trip from `followerId` to `leaderId`, with no long-poll. */
async function fetchOnce(h: Harness, followerId: number, leaderId: number): Promise<void> {
  const follower = replica(h, followerId);
  const outcome = await replica(h, leaderId).replicaFetch({ replicaId: followerId, ...follower.fetchRequestFields(), maxBytes: 1 << 20, maxWaitMs: 0 });
  await follower.applyFetched(outcome, leaderId);
}

/** Lets chained appends and syncs run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const produce = (values: string[], fields: Partial<ProduceSettings> = {}): ProduceInput => ({ acks: "all", timeoutMs: 60_000, producerId: -1, baseSequence: -1, records: values.map(record), ...fields });

test("acks=all is answered once every in-sync replica has fetched the batch; the high watermark follows the slowest", { timeout: 10_000 }, async () => {
  const h = cluster();
  const leader = replica(h, 1);
  let answered = false;
  const produced = leader.produce(produce(["a", "b"])).then((outcome) => {
    answered = true;
    return outcome;
  });
  await settle();
  await fetchOnce(h, 2, 1); // follower 2 copies offsets 0-1
  await fetchOnce(h, 2, 1); // and reports it has them
  assert.equal(answered, false, "one of two followers is not enough");
  assert.equal(leader.highWatermark, 0);
  await fetchOnce(h, 3, 1);
  await fetchOnce(h, 3, 1);
  assert.deepEqual(await produced, { baseOffset: 0, lastOffset: 1, duplicate: false });
  assert.equal(leader.highWatermark, 2);
  await fetchOnce(h, 2, 1);
  assert.equal(replica(h, 2).highWatermark, 2, "followers learn the high watermark from the next answer");
});

test("acks=1 is answered once the leader has synced, acks=0 at once", { timeout: 10_000 }, async () => {
  const h = cluster();
  const leader = replica(h, 1);
  assert.deepEqual(await leader.produce(produce(["a"], { acks: 1 })), { baseOffset: 0, lastOffset: 0, duplicate: false });
  assert.equal(h.logs.get(1)?.syncedEndOffset, 1);
  assert.deepEqual(await leader.produce(produce(["b"], { acks: 0 })), { baseOffset: 1, lastOffset: 1, duplicate: false });
  assert.equal(leader.highWatermark, 0, "nothing is visible to consumers before the followers have it");
});

test("a consumer sees only offsets below the high watermark, and an offset past it is out of range on the leader", { timeout: 10_000 }, async () => {
  const h = cluster(partition({ ISR: [1, 2], replicas: [1, 2] }));
  const leader = replica(h, 1);
  await leader.produce(produce(["a", "b", "c"], { acks: 1 }));
  assert.deepEqual(await leader.fetch(0, 1 << 20, 0), []);
  await fetchOnce(h, 2, 1);
  await fetchOnce(h, 2, 1);
  const batches = await leader.fetch(1, 1 << 20, 0);
  assert.equal(batches.length, 1);
  assert.equal(batches[0]?.baseOffset, 0, "whole batches are read; the caller skips what is below its offset");
  await assert.rejects(leader.fetch(4, 1 << 20, 0), (error: BrokerError) => error.code === "OFFSET_OUT_OF_RANGE" && error.details["highWatermark"] === 3);
});

test("a new leader whose high watermark lags what consumers were handed answers a fetch up to its log end with nothing yet, not OFFSET_OUT_OF_RANGE", { timeout: 10_000 }, async () => {
  const h = cluster();
  const leader = replica(h, 1);
  await leader.produce(produce(["a", "b", "c"], { acks: 1 }));
  await fetchOnce(h, 2, 1);
  await fetchOnce(h, 2, 1);
  await fetchOnce(h, 3, 1);
  await fetchOnce(h, 3, 1);
  assert.equal(leader.highWatermark, 3, "a consumer of the old leader was handed offsets 0 to 2");
  assert.equal(replica(h, 2).highWatermark, 0, "broker 2 has the records but has not heard the high watermark move");
  const next = partition({ leader: 2, ISR: [2, 3], partitionEpoch: 2 });
  for (const id of [2, 3]) replica(h, id).update(next, { continuous: true });
  const newLeader = replica(h, 2);
  assert.equal(newLeader.highWatermark, 0);
  assert.equal(newLeader.caughtUpAsLeader(), false, "what its predecessor acknowledged is above the high watermark it knows");
  assert.deepEqual(await newLeader.fetch(3, 1 << 20, 0), [], "the consumer's position, at the new leader's log end, is in range: nothing to read yet");
  await assert.rejects(newLeader.fetch(4, 1 << 20, 0), (error: BrokerError) => error.code === "OFFSET_OUT_OF_RANGE", "past the log end it is out of range");
  await fetchOnce(h, 3, 2);
  await fetchOnce(h, 3, 2);
  assert.equal(newLeader.highWatermark, 3);
  assert.equal(newLeader.caughtUpAsLeader(), true);
  assert.equal(replica(h, 3).caughtUpAsLeader(), false, "a follower never is");
});

test("a retried batch of an idempotent producer is answered with its first offsets and appended once", { timeout: 10_000 }, async () => {
  const h = cluster(partition({ replicas: [1], ISR: [1] }));
  const leader = replica(h, 1);
  const first = await leader.produce(produce(["a", "b"], { producerId: 7, baseSequence: 0 }));
  const retry = await leader.produce(produce(["a", "b"], { producerId: 7, baseSequence: 0 }));
  assert.deepEqual(retry, { ...first, duplicate: true });
  assert.equal(h.logs.get(1)?.logEndOffset, 2);
  await assert.rejects(leader.produce(produce(["c"], { producerId: 7, baseSequence: 5 })), (error: BrokerError) => error.code === "OUT_OF_ORDER_SEQUENCE" && error.details["expectedSequence"] === 2);
  assert.deepEqual(await leader.produce(produce(["c"], { producerId: 7, baseSequence: 2 })), { baseOffset: 2, lastOffset: 2, duplicate: false });
});

test("a follower refuses produce with the leader it knows, and a partition without a leader says so", { timeout: 10_000 }, async () => {
  const h = cluster();
  await assert.rejects(replica(h, 2).produce(produce(["a"])), (error: BrokerError) => error.code === "NOT_LEADER_FOR_PARTITION" && error.details["leaderId"] === 1);
  replica(h, 2).update(partition({ leader: -1, partitionEpoch: 2 }), { continuous: true });
  await assert.rejects(replica(h, 2).produce(produce(["a"])), (error: BrokerError) => error.code === "LEADER_NOT_AVAILABLE");
});

test("acks=all is refused while the ISR is smaller than the minimum", { timeout: 10_000 }, async () => {
  const h = cluster(partition({ ISR: [1] }), { minInsyncReplicas: 2 });
  await assert.rejects(replica(h, 1).produce(produce(["a"])), (error: BrokerError) => error.code === "NOT_ENOUGH_REPLICAS");
  assert.equal((await replica(h, 1).produce(produce(["a"], { acks: 1 }))).baseOffset, 0);
});

test("acks=all that the followers do not confirm in time is REQUEST_TIMED_OUT; the batch stays in the log", { timeout: 10_000 }, async () => {
  const h = cluster();
  const produced = replica(h, 1).produce(produce(["a"], { timeoutMs: 50 }));
  await settle();
  h.clock.nowMs += 51;
  await assert.rejects(produced, (error: BrokerError) => error.code === "REQUEST_TIMED_OUT");
  assert.equal(h.logs.get(1)?.logEndOffset, 1);
});

test("a follower that stops fetching leaves the ISR after the lag time, and joins again once caught up", { timeout: 10_000 }, async () => {
  const h = cluster();
  const leader = replica(h, 1);
  await leader.produce(produce(["a"], { acks: 1 }));
  await fetchOnce(h, 2, 1);
  await fetchOnce(h, 3, 1);
  h.clock.nowMs += 5_000;
  await fetchOnce(h, 2, 1);
  leader.checkIsr();
  assert.deepEqual(h.isrChanges, [], "5 s behind is within the lag time");
  h.clock.nowMs += 6_000;
  await fetchOnce(h, 2, 1);
  leader.checkIsr();
  await settle();
  assert.deepEqual(h.isrChanges, [{ isr: [1, 2], expectedPartitionEpoch: 1 }]);
  assert.deepEqual(leader.metadata.ISR, [1, 2]);
  assert.equal(leader.isLeader(), true, "the leader's own ISR change keeps its leadership");
  // With follower 3 out of the ISR, acks=all needs only follower 2.
  const produced = leader.produce(produce(["b"]));
  await settle();
  await fetchOnce(h, 2, 1);
  await fetchOnce(h, 2, 1);
  assert.equal((await produced).baseOffset, 1);
  // Follower 3 catches up to the high watermark and is proposed back.
  await fetchOnce(h, 3, 1);
  await fetchOnce(h, 3, 1);
  await settle();
  assert.deepEqual(h.isrChanges.at(-1), { isr: [1, 2, 3], expectedPartitionEpoch: 2 });
});

test("while a follower's return to the ISR is pending at the quorum, the high watermark counts it: nothing is acknowledged that a member of the new ISR lacks", { timeout: 10_000 }, async () => {
  let release = (): void => {};
  const h = cluster(partition({ ISR: [1, 2] }), { isrChangesHeld: new Promise<void>((resolve) => (release = resolve)) });
  const leader = replica(h, 1);
  await leader.produce(produce(["a"], { acks: 1 }));
  await fetchOnce(h, 2, 1);
  await fetchOnce(h, 2, 1);
  assert.equal(leader.highWatermark, 1);
  // Follower 3 reaches the high watermark: the leader proposes [1, 2, 3], and the quorum has not answered yet.
  await fetchOnce(h, 3, 1);
  await fetchOnce(h, 3, 1);
  assert.deepEqual(h.isrChanges, [{ isr: [1, 2, 3], expectedPartitionEpoch: 1 }]);
  let answered = false;
  const produced = leader.produce(produce(["b"])).then((outcome) => {
    answered = true;
    return outcome;
  });
  await settle();
  await fetchOnce(h, 2, 1);
  await fetchOnce(h, 2, 1);
  assert.equal(answered, false, "follower 3 may be in the ISR the quorum commits, and it does not have b");
  assert.equal(leader.highWatermark, 1);
  await fetchOnce(h, 3, 1);
  await fetchOnce(h, 3, 1);
  assert.equal((await produced).baseOffset, 1);
  release();
  await settle();
  assert.deepEqual(leader.metadata.ISR, [1, 2, 3]);
});

test("an ISR change left unanswered may still commit: its members count toward the high watermark until the partition epoch moves on", { timeout: 10_000 }, async () => {
  const h = cluster(partition({ ISR: [1, 2] }), { isrChangesUnanswered: true });
  const leader = replica(h, 1);
  await leader.produce(produce(["a"], { acks: 1 }));
  await fetchOnce(h, 2, 1);
  await fetchOnce(h, 3, 1);
  await fetchOnce(h, 3, 1);
  await settle();
  assert.deepEqual(h.isrChanges[0], { isr: [1, 2, 3], expectedPartitionEpoch: 1 });
  const askedCount = h.isrChanges.length;
  await leader.produce(produce(["b"], { acks: 1 }));
  await fetchOnce(h, 2, 1);
  await fetchOnce(h, 2, 1);
  assert.equal(leader.highWatermark, 1, "follower 3 may be in the ISR the quorum commits, and it does not have b");
  // The leader may ask again; and once the quorum's metadata moves the epoch on, the unanswered change can never commit.
  await fetchOnce(h, 3, 1);
  await settle();
  assert.ok(h.isrChanges.length > askedCount, "asked again after the unanswered change");
  leader.update({ ...leader.metadata, ISR: [1, 2], partitionEpoch: 2 }, { continuous: true });
  await produceAndFetch(h, leader);
  assert.equal(leader.highWatermark, 3);
});

async function produceAndFetch(h: Harness, leader: PartitionReplica): Promise<void> {
  await leader.produce(produce(["c"], { acks: 1 }));
  await fetchOnce(h, 2, 1);
  await fetchOnce(h, 2, 1);
}

test("acks=all cut short by a change of leader says its outcome is unknown: the batch is in the log and may be in the next leader's", { timeout: 10_000 }, async () => {
  const h = cluster();
  const leader = replica(h, 1);
  const produced = leader.produce(produce(["a"]));
  await settle();
  await fetchOnce(h, 2, 1);
  leader.update(partition({ leader: 2, partitionEpoch: 2 }), { continuous: true });
  await assert.rejects(produced, (error: BrokerError) => error.code === "NOT_LEADER_FOR_PARTITION" && error.details["outcome"] === "unknown" && error.details["leaderId"] === 2);
  assert.equal(h.logs.get(2)?.logEndOffset, 1, "the next leader holds the batch");
  // Refused before the append, a produce is plainly not the leader's (no outcome stated: not applied).
  await assert.rejects(leader.produce(produce(["b"])), (error: BrokerError) => error.code === "NOT_LEADER_FOR_PARTITION" && error.details["outcome"] === undefined);
});

test("a new leader's followers truncate the tail the old leader wrote alone (KIP-320)", { timeout: 10_000 }, async () => {
  const h = cluster();
  const oldLeader = replica(h, 1);
  await oldLeader.produce(produce(["a", "b"], { acks: 1 }));
  await fetchOnce(h, 2, 1);
  await fetchOnce(h, 3, 1);
  await fetchOnce(h, 2, 1);
  await fetchOnce(h, 3, 1);
  // The old leader appends two more that nobody fetches, then loses leadership to broker 2.
  await oldLeader.produce(produce(["lost-1"], { acks: 1 }));
  await oldLeader.produce(produce(["lost-2"], { acks: 1 }));
  const moved = partition({ leader: 2, ISR: [2, 3], partitionEpoch: 5 });
  for (const r of h.replicas.values()) r.update(moved, { continuous: true });
  assert.equal(replica(h, 2).isLeader(), true);
  await replica(h, 2).produce(produce(["new"], { acks: 1 }));
  // Broker 1, now a follower with a divergent tail, fetches from broker 2.
  await fetchOnce(h, 1, 2);
  assert.equal(h.logs.get(1)?.logEndOffset, 2, "truncated to the end of the epoch both logs hold");
  await fetchOnce(h, 1, 2);
  const values = h.logs.get(1)?.batches.flatMap((b) => b.records.map((r) => new TextDecoder().decode(r.value)));
  assert.deepEqual(values, ["a", "b", "new"]);
  assert.deepEqual(h.logs.get(1)?.batches.map((b) => b.leaderEpoch), [1, 5]);
});

test("a leader named again after a snapshot at a higher epoch starts a new leader epoch", { timeout: 10_000 }, async () => {
  const h = cluster();
  const leader = replica(h, 1);
  await leader.produce(produce(["a"], { acks: 1 }));
  leader.update(partition({ partitionEpoch: 3 }), { continuous: true });
  await leader.produce(produce(["b"], { acks: 1 }));
  leader.update(partition({ partitionEpoch: 7 }), { continuous: false });
  await leader.produce(produce(["c"], { acks: 1 }));
  assert.deepEqual(h.logs.get(1)?.batches.map((b) => b.leaderEpoch), [1, 1, 7]);
});

test("a fetch from a follower that knows a newer partition epoch is refused as fenced", { timeout: 10_000 }, async () => {
  const h = cluster();
  await assert.rejects(
    replica(h, 1).replicaFetch({ replicaId: 2, partitionEpoch: 9, fetchOffset: 0, lastFetchedEpoch: -1, maxBytes: 1024, maxWaitMs: 0 }),
    (error: BrokerError) => error.code === "FENCED_LEADER_EPOCH",
  );
  await assert.rejects(
    replica(h, 1).replicaFetch({ replicaId: 9, partitionEpoch: 1, fetchOffset: 0, lastFetchedEpoch: -1, maxBytes: 1024, maxWaitMs: 0 }),
    (error: BrokerError) => error.code === "UNKNOWN_TOPIC_OR_PARTITION",
  );
});

test("a follower's long-poll returns as soon as the leader appends", { timeout: 10_000 }, async () => {
  const h = cluster();
  const leader = replica(h, 1);
  const polled = leader.replicaFetch({ replicaId: 2, ...replica(h, 2).fetchRequestFields(), maxBytes: 1 << 20, maxWaitMs: 60_000 });
  await leader.produce(produce(["a"], { acks: 0 }));
  const outcome = await polled;
  assert.equal(outcome.kind, "batches");
  assert.ok(outcome.kind === "batches" && outcome.bytes.length > 0);
});
