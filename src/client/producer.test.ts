import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FakeCluster, ManualClock, settle } from "./brokerTesting.js";
import type { FakeClusterOptions } from "./brokerTesting.js";
import { ClientError } from "./clientError.js";
import { Producer } from "./producer.js";
import type { ProducerOptions } from "./producer.js";

async function withCluster(body: (cluster: FakeCluster) => Promise<void>, options: FakeClusterOptions = {}): Promise<void> {
  const cluster = await FakeCluster.start(options);
  try {
    await body(cluster);
  } finally {
    await cluster.close();
  }
}

/** A producer of the fake cluster whose back-off jitter sits at its midpoint. */
function producerOf(cluster: FakeCluster, clock: ManualClock, options: Partial<ProducerOptions> = {}): Producer {
  return new Producer({ controllers: [cluster.controllerUrl], clock, random: () => 0.5, ...options });
}

async function rejection(promise: Promise<unknown>): Promise<ClientError> {
  try {
    await promise;
  } catch (error) {
    assert(error instanceof ClientError, `expected a ClientError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected a failure");
}

const values = (cluster: FakeCluster, topic: string, partition: number) => cluster.records(topic, partition).map((r) => r.value);
const recordsPerRequest = (cluster: FakeCluster) => cluster.requestsOf("produce").map((r) => (r.body["records"] as unknown[]).length);

describe("Producer batching", () => {
  test("a batch goes lingerMs after its first record, with every record taken meanwhile", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      const clock = new ManualClock();
      const producer = producerOf(cluster, clock, { lingerMs: 5 });
      const deliveries = await Promise.all(["a", "b", "c"].map((value) => producer.enqueue({ topic: "t", value })));
      await clock.advance(4);
      assert.equal(cluster.requests.length, 0, "nothing is sent before the linger is over");
      await clock.advance(1);
      const acks = await Promise.all(deliveries.map((d) => d.acknowledged));
      assert.deepEqual(acks, [0, 1, 2].map((offset) => ({ topic: "t", partition: 0, offset })));
      assert.deepEqual(recordsPerRequest(cluster), [3]);
      assert.deepEqual(values(cluster, "t", 0), ["a", "b", "c"]);
      await producer.close();
    });
  });

  test("a batch goes as soon as it holds batchRecordsMax records, one batch in flight per partition", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      const clock = new ManualClock();
      const producer = producerOf(cluster, clock, { lingerMs: 1_000, batchRecordsMax: 2 });
      const deliveries = await Promise.all(["a", "b", "c", "d", "e"].map((value) => producer.enqueue({ topic: "t", value })));
      await Promise.all(deliveries.slice(0, 4).map((d) => d.acknowledged));
      await settle();
      assert.deepEqual(recordsPerRequest(cluster), [2, 2], "the last record waits for its linger");
      await producer.flush();
      assert.deepEqual(recordsPerRequest(cluster), [2, 2, 1]);
      assert.equal((await deliveries[4]?.acknowledged)?.offset, 4);
      await producer.close();
    });
  });

  test("a batch goes when the next record would take it past batchBytesMax", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      const clock = new ManualClock();
      // A keyless record of 40 bytes counts 50 (8 for the timestamp delta at most, 1 for the null key, 1
      // for the value's length): two fit in 100, three do not.
      const producer = producerOf(cluster, clock, { lingerMs: 1_000, batchBytesMax: 100 });
      const deliveries = await Promise.all(["a", "b", "c"].map((c) => producer.enqueue({ topic: "t", value: c.repeat(40) })));
      await Promise.all(deliveries.slice(0, 2).map((d) => d.acknowledged));
      assert.deepEqual(recordsPerRequest(cluster), [2]);
      await producer.close();
      assert.deepEqual(recordsPerRequest(cluster), [2, 1]);
      const tooLarge = await rejection(producer.send({ topic: "t", value: "x".repeat(200) }));
      assert.equal(tooLarge.code, "CLOSED");
    });
  });

  test("a record larger than a batch may be is refused with RECORD_TOO_LARGE", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      const producer = producerOf(cluster, new ManualClock({ autoAdvance: true }), { batchBytesMax: 100 });
      const error = await rejection(producer.send({ topic: "t", value: "x".repeat(200) }));
      assert.equal(error.code, "RECORD_TOO_LARGE");
      await producer.close();
    });
  });

  test("sends wait while bufferedRecordsMax records are unacknowledged, and keep their order; a full buffer sends without lingering", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      const clock = new ManualClock();
      // The first attempt is refused (retriable, not appended), so the batch stays unacknowledged until the clock moves.
      let refused = false;
      cluster.fault = (request) => {
        if (request.route !== "produce" || refused) return undefined;
        refused = true;
        return { kind: "answer", status: 503, body: { code: "LEADER_NOT_AVAILABLE", message: "no leader in this test" } };
      };
      const producer = producerOf(cluster, clock, { lingerMs: 1_000, bufferedRecordsMax: 2 });
      const first = await Promise.all(["a", "b"].map((value) => producer.enqueue({ topic: "t", value })));
      assert.equal(cluster.requestsOf("produce").length, 0, "the batch lingers while there is room");
      let thirdTaken = false;
      const third = producer.enqueue({ topic: "t", value: "c" }).then((delivery) => {
        thirdTaken = true;
        return delivery;
      });
      await cluster.waitForRequest((r) => r.route === "produce");
      assert.deepEqual(recordsPerRequest(cluster), [2], "with a record waiting for room, the batch went without its linger");
      // Until the refusal is in and the producer backs off (a timer on the manual clock); bounded in turns.
      for (let turn = 0; turn < 10_000 && clock.pendingCount === 0; turn++) await settle(1);
      assert.ok(clock.pendingCount > 0, "the producer backs off after the refusal");
      assert.equal(thirdTaken, false);
      await clock.advance(2_000);
      const offsets = await Promise.all([...first, await third].map(async (d, i) => {
        if (i === 2) await producer.flush();
        return (await d.acknowledged).offset;
      }));
      assert.equal(thirdTaken, true);
      assert.deepEqual(offsets, [0, 1, 2]);
      assert.deepEqual(values(cluster, "t", 0), ["a", "b", "c"]);
      await producer.close();
    });
  });
});

describe("Producer partitions", () => {
  test("records with one key go to one partition; records without a key go round-robin", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 3);
      const producer = producerOf(cluster, new ManualClock({ autoAdvance: true }), { lingerMs: 0 });
      const keyed = await Promise.all([1, 2, 3, 4].map((i) => producer.send({ topic: "t", key: "customer-7", value: `k${i}` })));
      assert.equal(new Set(keyed.map((a) => a.partition)).size, 1);
      const unkeyed = await Promise.all([1, 2, 3].map((i) => producer.send({ topic: "t", value: `u${i}` })));
      assert.deepEqual(unkeyed.map((a) => a.partition).sort(), [0, 1, 2]);
      const pinned = await producer.send({ topic: "t", value: "p", partition: 2 });
      assert.equal(pinned.partition, 2);
      assert.equal((await rejection(producer.send({ topic: "t", value: "x", partition: 9 }))).code, "UNKNOWN_PARTITION");
      await producer.close();
    });
  });

  test("a missing topic is created with 3 partitions and replication factor min(3, brokers)", async () => {
    await withCluster(
      async (cluster) => {
        const producer = producerOf(cluster, new ManualClock({ autoAdvance: true }));
        const ack = await producer.send({ topic: "fresh", key: "k", value: "v" });
        assert.deepEqual(cluster.createTopicRequests, [{ name: "fresh", partitions: 3, replicationFactor: 2 }]);
        assert.deepEqual(values(cluster, "fresh", ack.partition), ["v"]);
        await producer.close();
      },
      { brokersCount: 2 },
    );
  });

  test("without auto-creation a missing topic fails with UNKNOWN_TOPIC", async () => {
    await withCluster(async (cluster) => {
      const producer = producerOf(cluster, new ManualClock({ autoAdvance: true }), { autoCreateTopics: false });
      assert.equal((await rejection(producer.send({ topic: "missing", value: "v" }))).code, "UNKNOWN_TOPIC");
      assert.deepEqual(cluster.createTopicRequests, []);
      await producer.close();
    });
  });
});

describe("Producer retries", () => {
  test("after an answer lost on the way back, the retry is answered as a duplicate and the record is appended once", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      let dropped = false;
      cluster.fault = (request) => {
        if (request.route !== "produce" || dropped) return undefined;
        dropped = true;
        return { kind: "drop-after" };
      };
      const producer = producerOf(cluster, new ManualClock({ autoAdvance: true }), { lingerMs: 0 });
      assert.deepEqual(await producer.send({ topic: "t", value: "a" }), { topic: "t", partition: 0, offset: 0 });
      assert.deepEqual(await producer.send({ topic: "t", value: "b" }), { topic: "t", partition: 0, offset: 1 });
      assert.deepEqual(values(cluster, "t", 0), ["a", "b"]);
      const sent = cluster.requestsOf("produce").map((r) => [r.body["producerId"], r.body["baseSequence"]]);
      assert.deepEqual(sent, [
        [1000, 0],
        [1000, 0],
        [1000, 1],
      ]);
      await producer.close();
    });
  });

  test("NOT_LEADER_FOR_PARTITION: refreshes the metadata and sends to the new leader", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1, [1]);
      cluster.notLeaderHints = false;
      const producer = producerOf(cluster, new ManualClock({ autoAdvance: true }), { lingerMs: 0 });
      await producer.send({ topic: "t", value: "a" });
      const metadataAsksCount = cluster.metadataRequestsCount;
      cluster.moveLeader("t", 0, 2);
      assert.equal((await producer.send({ topic: "t", value: "b" })).offset, 1);
      assert.deepEqual(cluster.requestsOf("produce").map((r) => r.brokerId), [1, 1, 2]);
      assert.equal(cluster.metadataRequestsCount, metadataAsksCount + 1);
      await producer.close();
    });
  });

  test("NOT_LEADER_FOR_PARTITION naming the leader: the next attempt goes there at once", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1, [1]);
      const clock = new ManualClock({ autoAdvance: true });
      const producer = producerOf(cluster, clock, { lingerMs: 0 });
      await producer.send({ topic: "t", value: "a" });
      cluster.moveLeader("t", 0, 3, { metadata: false });
      const delaysCount = clock.delays.length;
      assert.equal((await producer.send({ topic: "t", value: "b" })).offset, 1);
      assert.deepEqual(cluster.requestsOf("produce").map((r) => r.brokerId), [1, 1, 3]);
      assert.deepEqual(clock.delays.slice(delaysCount).filter((ms) => ms === 100 * 0.75), [], "no back-off before following the hint");
      await producer.close();
    });
  });

  test("LEADER_NOT_AVAILABLE is retried with growing back-offs until the deadline, then DELIVERY_TIMEOUT", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      cluster.fault = (request) => (request.route === "produce" ? { kind: "answer", status: 503, body: { code: "LEADER_NOT_AVAILABLE", message: "no leader" } } : undefined);
      const clock = new ManualClock({ autoAdvance: true });
      const producer = producerOf(cluster, clock, { lingerMs: 0, deliveryTimeoutMs: 3_000, metadataRefreshIntervalMsMin: 1 });
      const error = await rejection(producer.send({ topic: "t", value: "a" }));
      assert.equal(error.code, "DELIVERY_TIMEOUT");
      assert.equal(error.details["lastCode"], "LEADER_NOT_AVAILABLE");
      assert.equal(error.details["outcome"], "not_applied", "every attempt was refused before an append");
      assert.equal(error.attempts.exhausted, true);
      assert.match(error.message, /^Cannot deliver 1 records to partition t\/0 as they were not acknowledged within 3000 ms: the last attempt failed with LEADER_NOT_AVAILABLE/);
      const backoffs = clock.delays.filter((ms) => ms > 1);
      assert.deepEqual(backoffs.slice(0, 4), [75, 150, 300, 600]);
      assert(clock.nowMs() >= 3_000 && clock.nowMs() < 4_000);
      await producer.close();
    });
  });

  test("a delivery that timed out after REQUEST_TIMED_OUT fails with outcome unknown: the batch may be in the log", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      let answered = 0;
      cluster.fault = (request) => {
        if (request.route !== "produce") return undefined;
        answered++;
        return answered === 1 ? { kind: "answer", status: 504, body: { code: "REQUEST_TIMED_OUT", message: "not confirmed", baseOffset: 0 } } : { kind: "answer", status: 503, body: { code: "NOT_ENOUGH_REPLICAS", message: "ISR too small" } };
      };
      const producer = producerOf(cluster, new ManualClock({ autoAdvance: true }), { lingerMs: 0, deliveryTimeoutMs: 3_000 });
      const error = await rejection(producer.send({ topic: "t", value: "a" }));
      assert.equal(error.code, "DELIVERY_TIMEOUT");
      assert.equal(error.details["lastCode"], "NOT_ENOUGH_REPLICAS");
      assert.equal(error.details["outcome"], "unknown", "a later refusal does not undo the first attempt's append");
      assert.ok(answered >= 2);
      await producer.close();
    });
  });

  test("a final error (BAD_REQUEST) fails the batch's sends at once with the broker's code", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      cluster.fault = (request) => (request.route === "produce" ? { kind: "answer", status: 400, body: { code: "BAD_REQUEST", message: "Cannot append as records/0/value is not a string", field: "records/0/value" } } : undefined);
      const producer = producerOf(cluster, new ManualClock({ autoAdvance: true }), { lingerMs: 0 });
      const error = await rejection(producer.send({ topic: "t", value: "a" }));
      assert.equal(error.code, "BAD_REQUEST");
      assert.equal(error.status, 400);
      assert.equal(error.details["outcome"], "not_applied");
      assert.equal(error.field, "records/0/value");
      assert.equal(cluster.requestsOf("produce").length, 1);
      await producer.close();
    });
  });

  test("after OUT_OF_ORDER_SEQUENCE the batch fails and the producer continues under a new producer id", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      let refused = false;
      cluster.fault = (request) => {
        if (request.route !== "produce" || refused) return undefined;
        refused = true;
        return { kind: "answer", status: 409, body: { code: "OUT_OF_ORDER_SEQUENCE", message: "expected 5", expectedSequence: 5 } };
      };
      const producer = producerOf(cluster, new ManualClock({ autoAdvance: true }), { lingerMs: 0 });
      assert.equal((await rejection(producer.send({ topic: "t", value: "a" }))).code, "OUT_OF_ORDER_SEQUENCE");
      assert.equal((await producer.send({ topic: "t", value: "b" })).offset, 0);
      assert.deepEqual(cluster.requestsOf("produce").map((r) => [r.body["producerId"], r.body["baseSequence"]]), [
        [1000, 0],
        [1001, 0],
      ]);
      await producer.close();
    });
  });

  test("without idempotence a lost answer is not sent again: the send fails", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      cluster.fault = (request) => (request.route === "produce" ? { kind: "drop-after" } : undefined);
      const producer = producerOf(cluster, new ManualClock({ autoAdvance: true }), { lingerMs: 0, idempotent: false });
      const error = await rejection(producer.send({ topic: "t", value: "a" }));
      assert.equal(error.code, "UNREACHABLE");
      assert.equal(error.details["outcome"], "unknown", "the broker appended it and its answer was lost");
      assert.deepEqual(cluster.requestsOf("producer-ids"), []);
      assert.equal(cluster.requestsOf("produce")[0]?.body["producerId"], undefined);
      assert.equal(cluster.records("t", 0).length, 1);
      await producer.close();
    });
  });

  test("acks is sent as configured", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      const producer = producerOf(cluster, new ManualClock({ autoAdvance: true }), { lingerMs: 0, acks: 1 });
      await producer.send({ topic: "t", value: "a" });
      assert.equal(cluster.requestsOf("produce")[0]?.body["acks"], 1);
      await producer.close();
    });
  });
});
