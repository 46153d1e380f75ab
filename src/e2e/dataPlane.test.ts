import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { AdminClient } from "../client/adminClient.js";
import { Consumer } from "../client/consumer.js";
import type { ConsumerRecord } from "../client/consumer.js";
import { Producer } from "../client/producer.js";
import type { RecordAck } from "../client/producer.js";
import { BrokerProcesses } from "./brokerProcesses.js";
import { Cluster } from "./harness.js";
import { waitFor } from "./waitFor.js";

// Real controllers and brokers on loopback: producers and consumers from src/client over real TCP.
// Short broker sessions so that a killed leader is fenced (and its partitions move) within seconds.
const brokerHeartbeatMs = 200;
const brokerSessionMs = 1_500;
const replicaLagMs = 3_000;
const brokerIds = [1, 2, 3];
const setupTimeoutMs = 30_000;
const consumeTimeoutMs = 60_000;
const isrTimeoutMs = 30_000;

let cluster: Cluster;
let brokers: BrokerProcesses;
let admin: AdminClient;

/** Waits until the quorum counts every broker UNFENCED: a broker back in an ISR may not be yet. */
async function allUnfenced(): Promise<void> {
  await waitFor("every broker UNFENCED", async () => {
    const listed = await admin.listBrokers({ status: "UNFENCED" }).catch(() => undefined);
    return listed !== undefined && listed.brokers.length === brokerIds.length ? true : undefined;
  }, { timeoutMs: setupTimeoutMs, intervalMs: 100 });
}

before(async () => {
  cluster = await Cluster.start({ nodesCount: 3, brokerHeartbeatMs, brokerSessionMs, name: "yakt-e2e-data-plane" });
  try {
    brokers = await BrokerProcesses.start(cluster, { brokerIds, replicaLagMs });
    admin = new AdminClient({ controllers: brokers.controllerUrls() });
    await allUnfenced();
  } catch (error) {
    await brokers?.close();
    await cluster.close();
    throw error;
  }
});

after(async () => {
  await brokers?.close();
  await cluster?.close();
});

async function withLogsOnFailure<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    console.error(await brokers.logTails());
    throw error;
  }
}

async function createTopic(name: string): Promise<void> {
  await allUnfenced();
  await admin.createTopic({ name, partitions: 3, replicationFactor: 3 });
  // Every broker has heard of it (and opened its replicas) once each reports them.
  await waitFor(`brokers to open the replicas of ${name}`, async () => {
    const statuses = await Promise.all(brokerIds.filter((id) => brokers.isRunning(id)).map((id) => brokers.status(id).catch(() => undefined)));
    return statuses.every((s) => s !== undefined && s.partitions.filter((p) => p.topic === name).length === 3) ? true : undefined;
  }, { timeoutMs: setupTimeoutMs, intervalMs: 50 });
}

/** Reads `count` records from the start of every partition (no group). */
async function consumeAll(topic: string, count: number): Promise<ConsumerRecord[]> {
  const consumer = new Consumer({ controllers: brokers.controllerUrls(), topic, fromBeginning: true, autoCreateTopics: false });
  const records: ConsumerRecord[] = [];
  try {
    const deadlineMs = performance.now() + consumeTimeoutMs;
    while (records.length < count && performance.now() < deadlineMs) records.push(...(await consumer.poll({ timeoutMs: 1_000 })));
  } finally {
    await consumer.close();
  }
  return records;
}

test("10,000 messages to a 3-partition, RF=3 topic while the leader broker of a partition is killed: every acknowledged message is consumed exactly once, in order within its partition", { timeout: 180_000 }, async () => {
  await withLogsOnFailure(async () => {
    const topic = "orders";
    await createTopic(topic);
    const victim = (await admin.getTopic(topic)).topic.partitions.find((p) => p.partitionId === 0)?.leader;
    assert(victim !== undefined && victim > 0);
    const producer = new Producer({ controllers: brokers.controllerUrls(), acks: "all", lingerMs: 2, autoCreateTopics: false });
    const messagesCount = 10_000;
    const acks = new Map<string, RecordAck>();
    const sentOrder: string[] = [];
    const deliveries: Promise<void>[] = [];
    let killed: Promise<void> | undefined;
    for (let i = 0; i < messagesCount; i++) {
      const value = `m-${i}`;
      sentOrder.push(value);
      const delivery = await producer.enqueue({ topic, value });
      deliveries.push(delivery.acknowledged.then((ack) => void acks.set(value, ack)));
      if (i === 3_000) killed = brokers.kill(victim);
    }
    await killed;
    await producer.flush();
    const outcomes = await Promise.allSettled(deliveries);
    await producer.close();
    const failed = outcomes.filter((o) => o.status === "rejected");
    assert.equal(failed.length, 0, `every send was acknowledged in the end: ${failed.slice(0, 3).map((f) => String((f as PromiseRejectedResult).reason)).join("; ")}`);

    const records = await consumeAll(topic, acks.size);
    const seen = new Map<string, number>();
    for (const r of records) seen.set(r.value, (seen.get(r.value) ?? 0) + 1);
    const missing = [...acks.keys()].filter((value) => !seen.has(value));
    const duplicated = [...seen].filter(([, n]) => n > 1).map(([value]) => value);
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} acknowledged messages were not consumed`);
    assert.deepEqual(duplicated.slice(0, 10), [], `${duplicated.length} messages were consumed twice`);
    assert.equal(records.length, messagesCount);
    for (const r of records) {
      const ack = acks.get(r.value);
      assert.deepEqual([r.partition, r.offset], [ack?.partition, ack?.offset], `${r.value} is where its acknowledgement said`);
    }
    // Within a partition, offsets follow the order the producer was given the messages.
    const position = new Map(sentOrder.map((value, i) => [value, i]));
    for (const partition of [0, 1, 2]) {
      const inPartition = records.filter((r) => r.partition === partition).sort((a, b) => a.offset - b.offset);
      const order = inPartition.map((r) => position.get(r.value) ?? -1);
      assert.deepEqual(order, [...order].sort((a, b) => a - b), `partition ${partition} holds its messages in the order they were sent`);
    }
    const moved = (await admin.getTopic(topic)).topic.partitions.find((p) => p.partitionId === 0);
    assert.notEqual(moved?.leader, victim, "partition 0 has a new leader");
    console.log(`killed broker ${victim} (leader of ${topic}-0) after 3,000 sends; ${acks.size} acknowledged, all consumed once; ${topic}-0 now led by ${moved?.leader}`);

    // The killed broker comes back, catches up and rejoins every ISR.
    await brokers.startBroker(victim);
    await waitFor(`broker ${victim} back in every ISR of ${topic}`, async () => {
      const { partitions } = (await admin.getTopic(topic)).topic;
      return partitions.every((p) => p.ISR.includes(victim)) ? true : undefined;
    }, { timeoutMs: isrTimeoutMs, intervalMs: 100 });
    const status = await brokers.status(victim);
    for (const p of status.partitions.filter((p) => p.topic === topic)) {
      const leader = await brokers.status(p.leader);
      const led = leader.partitions.find((q) => q.topic === topic && q.partition === p.partition);
      assert.equal(p.logEndOffset, led?.logEndOffset, `${topic}-${p.partition}: the restarted replica holds the leader's log`);
    }
  });
});

test("a consumer group resumes from its committed offsets; a consumer without --from-beginning sees only what is produced after it started", { timeout: 120_000 }, async () => {
  await withLogsOnFailure(async () => {
    const topic = "events";
    await createTopic(topic);
    const producer = new Producer({ controllers: brokers.controllerUrls(), autoCreateTopics: false });
    const first = await Promise.all(Array.from({ length: 300 }, (_, i) => producer.send({ topic, value: `e-${i}` })));
    assert.equal(first.length, 300);

    const group = "billing";
    const readWithGroup = async (maxMessages: number): Promise<ConsumerRecord[]> => {
      const consumer = new Consumer({ controllers: brokers.controllerUrls(), topic, group, fromBeginning: true, maxMessages, autoCreateTopics: false });
      const records: ConsumerRecord[] = [];
      try {
        const deadlineMs = performance.now() + consumeTimeoutMs;
        while (records.length < maxMessages && performance.now() < deadlineMs) records.push(...(await consumer.poll({ timeoutMs: 1_000 })));
      } finally {
        await consumer.close(); // commits what it handed out, then leaves
      }
      return records;
    };
    const firstRun = await readWithGroup(100);
    assert.equal(firstRun.length, 100);
    const secondRun = await readWithGroup(200);
    assert.equal(secondRun.length, 200);
    const values = [...firstRun, ...secondRun].map((r) => r.value);
    assert.equal(new Set(values).size, 300, "the second member of the group continued where the first committed: nothing twice, nothing skipped");

    const latest = new Consumer({ controllers: brokers.controllerUrls(), topic, autoCreateTopics: false });
    try {
      assert.deepEqual(await latest.poll({ timeoutMs: 1_500 }), [], "nothing old is delivered");
      await Promise.all(Array.from({ length: 10 }, (_, i) => producer.send({ topic, value: `late-${i}` })));
      const got: ConsumerRecord[] = [];
      const deadlineMs = performance.now() + consumeTimeoutMs;
      while (got.length < 10 && performance.now() < deadlineMs) got.push(...(await latest.poll({ timeoutMs: 1_000 })));
      assert.deepEqual(got.map((r) => r.value).sort(), Array.from({ length: 10 }, (_, i) => `late-${i}`).sort());
    } finally {
      await latest.close();
      await producer.close();
    }
  });
});

test("deleting a topic removes its directories from every broker, also from one that was stopped during the delete", { timeout: 120_000 }, async () => {
  await withLogsOnFailure(async () => {
    const topic = "scratch";
    await createTopic(topic);
    const producer = new Producer({ controllers: brokers.controllerUrls(), autoCreateTopics: false });
    try {
      await Promise.all(Array.from({ length: 30 }, (_, i) => producer.send({ topic, value: `s-${i}` })));
    } finally {
      await producer.close();
    }
    const topicDir = (id: number): string => join(brokers.dataDir(id), topic);
    for (const id of brokerIds) assert.ok(existsSync(topicDir(id)), `broker ${id} holds ${topicDir(id)}`);

    const stopped = brokerIds[brokerIds.length - 1];
    assert(stopped !== undefined);
    await brokers.terminate(stopped);
    await admin.deleteTopic(topic);
    const running = brokerIds.filter((id) => id !== stopped);
    await waitFor(`brokers ${running.join(", ")} to remove the logs of ${topic}`, async () => (running.every((id) => !existsSync(topicDir(id))) ? true : undefined), { timeoutMs: setupTimeoutMs, intervalMs: 50 });
    assert.ok(existsSync(topicDir(stopped)), "a stopped broker cannot have removed anything yet");

    await brokers.startBroker(stopped);
    await waitFor(`broker ${stopped} to remove the logs of ${topic}, deleted while it was down`, async () => (existsSync(topicDir(stopped)) ? undefined : true), { timeoutMs: setupTimeoutMs, intervalMs: 50 });
  });
});

test("a broker restarted after the controllers compacted their logs loads the full image in the compact form and rejoins its partitions' ISRs", { timeout: 120_000 }, async () => {
  await withLogsOnFailure(async () => {
    const topic = "compacted";
    await createTopic(topic);
    const producer = new Producer({ controllers: brokers.controllerUrls(), autoCreateTopics: false });
    try {
      await Promise.all(Array.from({ length: 30 }, (_, i) => producer.send({ topic, value: `c-${i}` })));
    } finally {
      await producer.close();
    }
    const restarted = brokerIds[brokerIds.length - 1];
    assert(restarted !== undefined);
    await brokers.terminate(restarted);
    // Every controller compacts its log: a broker that starts from offset 0 is older than every
    // history, so its first heartbeat is answered with the whole image.
    for (const url of brokers.controllerUrls()) await admin.takeSnapshot({ node: url });

    await brokers.startBroker(restarted);
    await waitFor(`broker ${restarted} to apply a full image in the compact form`, async () => ((await brokers.logTail(restarted, 500)).split("\n").some((line) => line.includes("full metadata image applied") && line.includes('"format":"compact"')) ? true : undefined), { timeoutMs: setupTimeoutMs, intervalMs: 100 });
    await waitFor(`broker ${restarted} back in every ISR of ${topic}`, async () => {
      const answer = await admin.getTopic(topic).catch(() => undefined);
      return answer !== undefined && answer.topic.partitions.length === 3 && answer.topic.partitions.every((p) => p.ISR.includes(restarted)) ? true : undefined;
    }, { timeoutMs: setupTimeoutMs, intervalMs: 100 });
    const status = await brokers.status(restarted);
    assert.deepEqual(status.partitions.filter((p) => p.topic === topic).map((p) => p.partition).sort(), [0, 1, 2]);
    assert.equal((await consumeAll(topic, 30)).length, 30);
  });
});
