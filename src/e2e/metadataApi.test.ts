// The metadata API as a user meets it on a real 3-controller cluster: writes on any node, reads after
// writes, exactly-once retries, broker fencing (and topics created while it happens), compaction, a
// leader killed under load, and a quorum lost. One cluster serves every test of this file, in order (each starts by finding the leader; the
// last one stops two nodes); brokers get their own ids per test and are unregistered at its end.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import type { Broker, BrokerMetadataAnswerJson, BrokerWriteAnswerJson, Changes, LogAnswerJson, PartitionWriteAnswerJson, ProducerWriteAnswerJson, SnapshotInfo, Topic, TopicWriteAnswerJson } from "../api/schemas.js";
import { BrokerFleet } from "./brokerFleet.js";
import { Cluster, runOnCluster } from "./harness.js";
import { errorCodeOf, httpExchange } from "./http.js";
import type { HttpResult } from "./http.js";
import { checkTopics, countOutcomes, readTopics, waitForSameMetadata, WriteLoad } from "./metadataClient.js";
import { waitFor } from "./waitFor.js";

/** Short broker sessions, so that fencing shows within seconds. */
const brokerHeartbeatMs = 200;
const brokerSessionMs = 1_500;
const leaderTimeoutMs = 20_000;
const requestTimeoutMs = 10_000;
const statusTimeoutMs = 20_000;
const progressTimeoutMs = 30_000;
const convergenceTimeoutMs = 30_000;
const testTimeoutMs = 90_000;

type Response = Extract<HttpResult, { kind: "response" }>;

interface SendOptions {
  readonly body?: unknown;
  /** Sent as the Idempotency-Key header. */
  readonly key?: string;
}

function send(url: string, method: "GET" | "POST" | "PATCH" | "DELETE", path: string, options: SendOptions = {}): Promise<Response> {
  return httpExchange(`${url}${path}`, { method, timeoutMs: requestTimeoutMs, ...(options.body === undefined ? {} : { body: options.body }), ...(options.key === undefined ? {} : { headers: { "idempotency-key": options.key } }) });
}

/** The body of an answer that must have `status`; the test fails with the answer otherwise. */
function expectAnswer<T>(result: Response, status: number, what: string): T {
  assert.equal(result.status, status, `${what}: ${JSON.stringify(result.body)}`);
  return result.body as T;
}

describe("the metadata API on a 3-controller cluster", () => {
  let shared: Cluster | undefined;
  const cluster = (): Cluster => {
    assert.ok(shared !== undefined, "the cluster started");
    return shared;
  };
  /** A confirmed leader and the two followers. */
  const roles = async (): Promise<{ readonly leaderId: number; readonly followerIds: readonly number[] }> => {
    const leader = await cluster().waitForLeader({ timeoutMs: leaderTimeoutMs });
    return { leaderId: leader.id, followerIds: cluster().ids().filter((id) => id !== leader.id) };
  };
  /** Fleets started by the running test; unregistered when it ends, also when it fails, so no later placement picks them. */
  const fleets: BrokerFleet[] = [];
  const fleetOf = async (brokerIds: readonly number[], targets?: () => readonly number[]): Promise<BrokerFleet> => {
    const fleet = await BrokerFleet.start({ ...cluster().writerOptions(targets === undefined ? {} : { targets }), brokerIds });
    fleets.push(fleet);
    return fleet;
  };

  before(async () => {
    shared = await Cluster.start({ nodesCount: 3, brokerHeartbeatMs, brokerSessionMs, name: "yakt-e2e-metadata-api" });
  });
  afterEach(async () => {
    // Best effort: after a test that broke the quorum, stopping the heartbeats is all that can be done.
    await Promise.all(fleets.splice(0).map((fleet) => fleet.unregisterAll().catch(() => fleet.stop())));
  });
  after(async () => {
    await shared?.close();
  });

  test("every write route sent to a follower answers as the leader would, and the leader's state has it", { timeout: testTimeoutMs }, async () => {
    await runOnCluster(cluster(), async (c) => {
      const { leaderId, followerIds } = await roles();
      const followerId = followerIds[0] ?? 0;
      const via: Via = {
        follower: c.apiUrl(followerId),
        onLeader: (path) => send(c.apiUrl(leaderId), "GET", `${path}${path.includes("?") ? "&" : "?"}consistency=stale`),
      };
      // POST /v1/brokers and POST /v1/broker-mgmt/metadata-fetch go through the follower too.
      const fleet = await fleetOf([11, 12, 13], () => [followerId]);
      await brokerWritesThroughFollower(via, fleet);
      await topicWritesThroughFollower(via, [11, 12, 13]);
      await producerAndDeleteWritesThroughFollower(via);
      await fleet.unregisterAll();

      // Last, as it moves the leadership: the follower passes the request to the leader, which hands over to it.
      const transfer = expectAnswer<{ transferred: boolean; leaderId: number }>(await send(via.follower, "POST", "/v1/cluster/transfer-leadership", { body: { targetId: followerId } }), 200, "POST /v1/cluster/transfer-leadership");
      assert.equal(transfer.transferred, true, JSON.stringify(transfer));
      await waitFor(`node ${followerId} to lead`, async () => ((await c.findLeader())?.id === followerId ? true : undefined), { timeoutMs: leaderTimeoutMs });
    });
  });

  test("a read on a follower right after a write on another node sees the write (linearizable by default)", { timeout: testTimeoutMs }, async () => {
    await runOnCluster(cluster(), async (c) => {
      const { leaderId, followerIds } = await roles();
      const roundsCount = 30;
      let staleMissesCount = 0;
      for (let round = 0; round < roundsCount; round++) {
        // Even rounds write on the leader, odd ones on the first follower (forwarded); the read is on a follower that did not take the write.
        const [firstFollowerId = 0, secondFollowerId = 0] = followerIds;
        const writerId = round % 2 === 0 ? leaderId : firstFollowerId;
        const readerId = round % 4 === 0 ? firstFollowerId : secondFollowerId;
        const name = `read-after-write-${round}`;
        const written = expectAnswer<TopicWriteAnswerJson>(await send(c.apiUrl(writerId), "POST", "/v1/topics", { body: { name } }), 201, `POST ${name} on node ${writerId}`);
        const [read, stale] = await Promise.all([send(c.apiUrl(readerId), "GET", `/v1/topics/${name}`), send(c.apiUrl(readerId), "GET", `/v1/topics/${name}?consistency=stale`)]);
        const topic = expectAnswer<{ topic: Topic }>(read, 200, `GET ${name} on node ${readerId} right after the write on node ${writerId}`).topic;
        assert.equal(topic.topicUUID, written.topic.topicUUID);
        if (stale.status === 404) staleMissesCount++;
      }
      console.log(`read after write: ${roundsCount} linearizable reads on another node saw the write; stale reads sent at the same time missed it ${staleMissesCount} times`);
    });
  });

  test("a write retried with the same Idempotency-Key, on a follower and on the leader, creates one topic", { timeout: testTimeoutMs }, async () => {
    await runOnCluster(cluster(), async (c) => {
      const { leaderId, followerIds } = await roles();
      const follower = c.apiUrl(followerIds[0] ?? 0);
      const leader = c.apiUrl(leaderId);
      const create = (url: string, name: string, key: string): Promise<TopicWriteAnswerJson> => send(url, "POST", "/v1/topics", { body: { name }, key }).then((r) => expectAnswer<TopicWriteAnswerJson>(r, 201, `POST ${name} with key ${key}`));

      const firstAnswer = await create(follower, "retried-once", "retrier:1");
      assert.equal(firstAnswer.replayed, false);
      for (const url of [leader, follower]) {
        const again = await create(url, "retried-once", "retrier:1");
        assert.equal(again.replayed, true, "a retry is answered from the stored result");
        assert.equal(again.topic.topicUUID, firstAnswer.topic.topicUUID);
      }

      // Both at once, on two nodes: both are proposed before either is applied, yet only one applies.
      const [a, b] = await Promise.all([create(follower, "retried-together", "retrier:2"), create(leader, "retried-together", "retrier:2")]);
      assert.equal(a.topic.topicUUID, b.topic.topicUUID);
      assert.deepEqual([a.replayed, b.replayed].sort(), [false, true], "exactly one of two simultaneous tries was applied");

      // A key that is not numbered is a one-off write.
      const oneOff = await create(leader, "retried-one-off", "create-retried-one-off");
      const oneOffAgain = await create(follower, "retried-one-off", "create-retried-one-off");
      assert.deepEqual([oneOffAgain.replayed, oneOffAgain.topic.topicUUID], [true, oneOff.topic.topicUUID]);

      // Once write 2 is applied, a late retry of write 1 is refused rather than applied again.
      const late = await send(follower, "POST", "/v1/topics", { body: { name: "retried-once" }, key: "retrier:1" });
      assert.deepEqual([late.status, errorCodeOf(late.body)], [409, "STALE_CLIENT_SEQUENCE"]);

      for (const id of c.ids()) {
        const topics = await readTopics(c.apiUrl(id), { timeoutMs: requestTimeoutMs });
        for (const [name, answer] of [["retried-once", firstAnswer], ["retried-together", a], ["retried-one-off", oneOff]] as const) {
          const matching = topics.filter((t) => t.name === name);
          assert.deepEqual(matching.map((t) => t.topicUUID), [answer.topic.topicUUID], `node ${id} holds ${name} once`);
        }
      }
      const log = expectAnswer<LogAnswerJson>(await send(leader, "GET", `/v1/log?fromOffset=${firstAnswer.offset}&limit=10000`), 200, "GET /v1/log");
      const topicRecordNames = log.records.filter((r) => r.name === "TopicRecord").map((r) => String((r.fields as Record<string, unknown>)["name"]));
      for (const name of ["retried-once", "retried-together", "retried-one-off"]) {
        assert.equal(topicRecordNames.filter((n) => n === name).length, 1, `one TopicRecord for ${name} in the log`);
      }
    });
  });

  test("a broker that stops heartbeating is fenced: new epoch, out of every ISR, its partitions led by another in-sync replica; unfenced when it is back", { timeout: testTimeoutMs }, async () => {
    await runOnCluster(cluster(), async (c) => {
      await roles();
      const brokerIds = [21, 22, 23];
      const fleet = await fleetOf(brokerIds);
      await fleet.waitForStatus(brokerIds, "UNFENCED", { timeoutMs: statusTimeoutMs });
      const url = c.apiUrl(c.ids()[0] ?? 1);
      const before = expectAnswer<TopicWriteAnswerJson>(await send(url, "POST", "/v1/topics", { body: { name: "fenced-replicas", partitions: 3, replicationFactor: 3 } }), 201, "POST /v1/topics").topic;
      for (const p of before.partitions) {
        assert.deepEqual([[...p.replicas].sort(), [...p.ISR].sort()], [brokerIds, brokerIds], `partition ${p.partitionId} is on every broker and in sync`);
      }
      const victim = before.partitions[0]?.leader ?? -1;
      assert.ok(brokerIds.includes(victim));
      const epochBefore = expectAnswer<{ broker: Broker }>(await send(url, "GET", `/v1/brokers/${victim}`), 200, "the victim").broker.epoch;

      const pausedMs = performance.now();
      fleet.pause(victim);
      const fenced = await waitFor(
        `broker ${victim} to be fenced`,
        async () => {
          const broker = expectAnswer<{ broker: Broker }>(await send(url, "GET", `/v1/brokers/${victim}`), 200, "the victim").broker;
          return broker.brokerStatus === "FENCED" ? broker : undefined;
        },
        { timeoutMs: statusTimeoutMs, intervalMs: 50 },
      );
      const fencedAfterMs = performance.now() - pausedMs;
      assert.ok(fenced.epoch > epochBefore, `the fenced broker's epoch ${fenced.epoch} is above ${epochBefore}`);
      const active = expectAnswer<{ brokers: Broker[] }>(await send(url, "GET", "/v1/brokers?status=active"), 200, "active brokers").brokers;
      assert.deepEqual(active.map((b) => b.brokerId), brokerIds.filter((id) => id !== victim), "the others stay UNFENCED");

      const afterFence = expectAnswer<{ topic: Topic }>(await send(url, "GET", "/v1/topics/fenced-replicas"), 200, "the topic").topic;
      checkFencedOut(before, afterFence, victim);

      fleet.resume(victim);
      await fleet.waitForStatus([victim], "UNFENCED", { timeoutMs: statusTimeoutMs });
      const back = expectAnswer<{ broker: Broker }>(await send(url, "GET", `/v1/brokers/${victim}`), 200, "the victim").broker;
      assert.ok(back.brokerStatus === "UNFENCED" && back.epoch > fenced.epoch, JSON.stringify(back));
      console.log(`broker ${victim} fenced ${fencedAfterMs.toFixed(0)} ms after its heartbeats stopped (session ${brokerSessionMs} ms); epoch ${epochBefore} → ${fenced.epoch} → ${back.epoch} once back`);
    });
  });

  test("topics created while brokers are being fenced are all created, each partition led by an in-sync replica", { timeout: testTimeoutMs }, async () => {
    await runOnCluster(cluster(), async (c) => {
      await roles();
      const brokerIds = [51, 52, 53, 54];
      const fleet = await fleetOf(brokerIds);
      await fleet.waitForStatus(brokerIds, "UNFENCED", { timeoutMs: statusTimeoutMs });
      // Four partitions of two replicas on four brokers: every topic has a partition the fenced broker would lead.
      const load = new WriteLoad({ ...c.writerOptions(), writersCount: 8, topicsPerWriterMax: 10_000, writerPrefix: "race-w", partitionsCount: 4, replicationFactor: 2 });
      const progress = (count: number): Promise<unknown> => {
        const from = load.acknowledgedCount;
        return waitFor(() => `${count} topics created (${load.acknowledgedCount - from} so far)`, () => (load.acknowledgedCount >= from + count ? true : undefined), { timeoutMs: progressTimeoutMs });
      };
      let records;
      try {
        for (const victim of [54, 53]) {
          await progress(10);
          fleet.pause(victim);
          await waitFor(`broker ${victim} to be fenced`, async () => (expectAnswer<{ broker: Broker }>(await send(c.apiUrl(c.ids()[0] ?? 1), "GET", `/v1/brokers/${victim}`), 200, "the victim").broker.brokerStatus === "FENCED" ? true : undefined), { timeoutMs: statusTimeoutMs, intervalMs: 50 });
          await progress(10);
          fleet.resume(victim);
          await fleet.waitForStatus([victim], "UNFENCED", { timeoutMs: statusTimeoutMs });
        }
      } finally {
        records = await load.stop();
      }
      const same = await waitForSameMetadata(c, { timeoutMs: convergenceTimeoutMs, requestTimeoutMs });
      const raced = same.topics.filter((t) => t.name.startsWith("race-w"));
      assert.deepEqual(checkTopics(raced, records), [], "no creation is refused because a broker was fenced meanwhile");
      for (const topic of raced) {
        for (const p of topic.partitions) assert.ok(p.ISR.includes(p.leader), `${topic.name}/${p.partitionId} is led by an in-sync replica: ${JSON.stringify(p)}`);
      }
      console.log(`topics created across two fencings: writes ${JSON.stringify(countOutcomes(records))}`);
    });
  });

  test("after every node compacted its log, a fetch from offset 0 gets the full image, whichever node answers", { timeout: testTimeoutMs }, async () => {
    await runOnCluster(cluster(), async (c) => {
      const { followerIds } = await roles();
      const fleet = await fleetOf([31]);
      await fleet.waitForStatus([31], "UNFENCED", { timeoutMs: statusTimeoutMs });
      const created = expectAnswer<TopicWriteAnswerJson>(await send(c.apiUrl(followerIds[0] ?? 0), "POST", "/v1/topics", { body: { name: "compacted", partitions: 1, replicationFactor: 1 } }), 201, "POST /v1/topics");
      await waitForSameMetadata(c, { timeoutMs: convergenceTimeoutMs, requestTimeoutMs });
      for (const id of c.ids()) {
        const url = c.apiUrl(id);
        const taken = expectAnswer<{ snapshot: SnapshotInfo }>(await send(url, "POST", "/v1/snapshots"), 201, `POST /v1/snapshots on node ${id}`);
        assert.ok(taken.snapshot.index >= created.offset, `node ${id}'s snapshot covers the topic: ${JSON.stringify(taken)}`);
        const listed = expectAnswer<{ snapshots: SnapshotInfo[] }>(await send(url, "GET", "/v1/snapshots"), 200, `GET /v1/snapshots on node ${id}`);
        assert.deepEqual(listed.snapshots, [taken.snapshot]);
        const content = expectAnswer<{ metadata: { topics: Topic[] } }>(await send(url, "GET", `/v1/snapshots/${taken.snapshot.id}`), 200, `GET /v1/snapshots/${taken.snapshot.id} on node ${id}`);
        assert.equal(content.metadata.topics.find((t) => t.name === "compacted")?.topicUUID, created.topic.topicUUID);
      }
      // One node restarts from its snapshot; the other two keep running on what they applied.
      const restartedId = followerIds[1] ?? 0;
      assert.deepEqual(await c.terminate(restartedId), { code: 0, signal: null });
      await c.restart(restartedId);
      const { leaderId } = await roles();
      // Nothing was written since the snapshots, so the restarted node reports the others' indexes at once: wait until it hears from the leader.
      await waitFor(`node ${restartedId} to know leader ${leaderId}`, async () => ((await c.status(restartedId)).leaderId === leaderId ? true : undefined), { timeoutMs: leaderTimeoutMs, intervalMs: 20 });
      await waitForSameMetadata(c, { timeoutMs: convergenceTimeoutMs, requestTimeoutMs });

      const answers: string[] = [];
      const fetched = expectAnswer<BrokerMetadataAnswerJson>(await send(c.apiUrl(leaderId), "POST", "/v1/broker-mgmt/metadata-fetch", { body: { brokerId: 31, brokerEpoch: fleet.view(31).epoch, offset: 0 } }), 200, "a broker fetch from offset 0");
      answers.push(`broker fetch on leader ${leaderId}: ${fetched.kind}`);
      if (fetched.kind === "snapshot") assert.ok(fetched.snapshot?.topics.find((t) => t.name === "compacted")?.topicUUID === created.topic.topicUUID && fetched.currentOffset >= created.offset, JSON.stringify(fetched));
      for (const id of c.ids()) {
        const client = expectAnswer<Changes>(await send(c.apiUrl(id), "GET", "/v1/client-mgmt/metadata?offset=0"), 200, `client fetch on node ${id}`);
        answers.push(`client fetch on node ${id}${id === restartedId ? " (restarted)" : ""}: ${client.kind}`);
        if (client.kind === "snapshot") assert.ok(client.snapshot?.topics.some((t) => t.topicUUID === created.topic.topicUUID) === true && client.snapshot.producers === undefined, JSON.stringify(client));
      }
      const expected = [`broker fetch on leader ${leaderId}: snapshot`, ...c.ids().map((id) => `client fetch on node ${id}${id === restartedId ? " (restarted)" : ""}: snapshot`)];
      assert.deepEqual(answers, expected, "offsets below every node's log start get the full image (SPEC §4 MetadataFetch, DESIGN §6)");
    });
  });

  test("after kill -9 of the leader under a load of topics with partitions, every node holds the same metadata", { timeout: testTimeoutMs }, async () => {
    await runOnCluster(cluster(), async (c) => {
      const { leaderId } = await roles();
      const brokerIds = [41, 42, 43];
      const fleet = await fleetOf(brokerIds);
      await fleet.waitForStatus(brokerIds, "UNFENCED", { timeoutMs: statusTimeoutMs });
      const load = new WriteLoad({ ...c.writerOptions(), writersCount: 3, topicsPerWriterMax: 10_000, writerPrefix: "kill-w", partitionsCount: 2, replicationFactor: 3 });
      let records;
      try {
        await waitFor(`20 topics created before the kill (${load.acknowledgedCount} so far)`, () => (load.acknowledgedCount >= 20 ? true : undefined), { timeoutMs: progressTimeoutMs });
        assert.equal((await c.kill(leaderId)).signal, "SIGKILL");
        const next = await c.waitForLeader({ timeoutMs: leaderTimeoutMs, excludeId: leaderId });
        const ackedAtNext = load.acknowledgedCount;
        await waitFor(`20 topics created under the new leader ${next.id} (${load.acknowledgedCount - ackedAtNext} so far)`, () => (load.acknowledgedCount >= ackedAtNext + 20 ? true : undefined), { timeoutMs: progressTimeoutMs });
        await c.restart(leaderId);
      } finally {
        records = await load.stop();
      }
      // A new leader gives every broker a fresh session, so brokers that kept heartbeating stay in service.
      await fleet.waitForStatus(brokerIds, "UNFENCED", { timeoutMs: statusTimeoutMs });
      const same = await waitForSameMetadata(c, { timeoutMs: convergenceTimeoutMs, requestTimeoutMs });
      assert.deepEqual(checkTopics(same.topics.filter((t) => t.name.startsWith("kill-w")), records), []);
      for (const record of records.filter((r) => r.outcome === "acknowledged")) {
        const topic = same.topics.find((t) => t.name === record.name);
        assert.ok(topic !== undefined && topic.partitions.length === 2 && topic.partitions.every((p) => p.replicas.length === 3), `${record.name} has 2 partitions of 3 replicas: ${JSON.stringify(topic)}`);
      }
      assert.deepEqual(same.brokers.filter((b) => brokerIds.includes(b.brokerId)).map((b) => b.brokerStatus), ["UNFENCED", "UNFENCED", "UNFENCED"]);
      console.log(`leader ${leaderId} killed under load: writes ${JSON.stringify(countOutcomes(records))}; every node holds ${same.topics.length} topics and ${same.brokers.length} brokers at index ${same.appliedIndex}`);
    });
  });

  test("with two of three controllers stopped, writes and linearizable reads answer 503 with Retry-After and stale reads still answer", { timeout: testTimeoutMs }, async () => {
    await runOnCluster(cluster(), async (c) => {
      const { leaderId, followerIds } = await roles();
      const url = c.apiUrl(leaderId);
      const known = expectAnswer<TopicWriteAnswerJson>(await send(url, "POST", "/v1/topics", { body: { name: "before-the-quorum-went" } }), 201, "a write while the quorum is whole");
      for (const id of followerIds) assert.deepEqual(await c.terminate(id), { code: 0, signal: null }, `follower ${id} stops cleanly`);

      const expect503 = (result: Response, what: string): string => {
        assert.equal(result.status, 503, `${what}: ${JSON.stringify(result.body)}`);
        assert.match(result.headers.get("retry-after") ?? "", /^[1-9][0-9]*$/, `${what} carries Retry-After`);
        return `${what} ${String(errorCodeOf(result.body))} in ${result.elapsedMs.toFixed(0)} ms`;
      };
      // Straight away the node still leads: the write waits until check-quorum makes it step down, then fails.
      const lines = [expect503(await send(url, "POST", "/v1/topics", { body: { name: "while-alone-1" } }), "write to the lone leader")];
      await waitFor(`node ${leaderId} to know no leader`, async () => ((await c.status(leaderId)).leaderId === 0 ? true : undefined), { timeoutMs: leaderTimeoutMs, intervalMs: 20 });
      const write = await send(url, "POST", "/v1/topics", { body: { name: "while-alone-2" }, key: "alone:1" });
      lines.push(expect503(write, "write"));
      assert.equal(errorCodeOf(write.body), "NO_LEADER");
      const read = await send(url, "GET", "/v1/topics");
      lines.push(expect503(read, "linearizable read"));
      const stale = expectAnswer<{ topics: Topic[] }>(await send(url, "GET", "/v1/topics?consistency=stale"), 200, "a stale read without a quorum");
      assert.equal(stale.topics.find((t) => t.name === "before-the-quorum-went")?.topicUUID, known.topic.topicUUID);
      assert.ok(!stale.topics.some((t) => t.name.startsWith("while-alone")), "nothing written without a quorum shows");
      console.log(`without a quorum: ${lines.join("; ")}`);
    });
  });
});

/** Where the forwarding test sends its writes, and how it reads the leader's own state. */
interface Via {
  readonly follower: string;
  /** A stale GET on the leader: what the leader itself has applied. */
  readonly onLeader: (path: string) => Promise<Response>;
}

async function brokerOnLeader(via: Via, brokerId: number): Promise<Broker> {
  return expectAnswer<{ broker: Broker }>(await via.onLeader(`/v1/brokers/${brokerId}`), 200, `broker ${brokerId} on the leader`).broker;
}

/** Registrations (by the fleet), heartbeats until UNFENCED, a registration change and an unregistration. */
async function brokerWritesThroughFollower(via: Via, fleet: BrokerFleet): Promise<void> {
  for (const brokerId of [11, 12, 13]) assert.equal((await brokerOnLeader(via, brokerId)).epoch, fleet.view(brokerId).epoch, `the leader holds broker ${brokerId}`);
  await fleet.waitForStatus([11, 12, 13], "UNFENCED", { timeoutMs: statusTimeoutMs });
  const active = expectAnswer<{ brokers: Broker[] }>(await via.onLeader("/v1/brokers?status=active"), 200, "active brokers on the leader");
  assert.deepEqual(active.brokers.map((b) => b.brokerId), [11, 12, 13], "heartbeats through the follower unfenced the brokers on the leader");

  const epochBefore = (await brokerOnLeader(via, 11)).epoch;
  const changed = expectAnswer<BrokerWriteAnswerJson>(await send(via.follower, "PATCH", "/v1/brokers/11", { body: { brokerPort: 29_011 } }), 200, "PATCH /v1/brokers/11");
  assert.deepEqual([changed.broker.brokerPort, changed.broker.epoch, changed.replayed], [29_011, epochBefore + 1, false], JSON.stringify(changed));
  assert.deepEqual(await brokerOnLeader(via, 11), changed.broker);

  const closed = expectAnswer<BrokerWriteAnswerJson>(await send(via.follower, "DELETE", "/v1/brokers/13"), 200, "DELETE /v1/brokers/13");
  assert.equal(closed.broker.brokerStatus, "CLOSED");
  assert.equal((await brokerOnLeader(via, 13)).brokerStatus, "CLOSED");
}

/** A topic with partitions on live brokers, a refused duplicate, a new partition and a change of partition leader. */
async function topicWritesThroughFollower(via: Via, brokerIds: readonly number[]): Promise<void> {
  const created = expectAnswer<TopicWriteAnswerJson>(await send(via.follower, "POST", "/v1/topics", { body: { name: "forwarded", partitions: 2, replicationFactor: 2 } }), 201, "POST /v1/topics");
  assert.equal(created.topic.partitions.length, 2);
  for (const p of created.topic.partitions) assert.ok(p.replicas.length === 2 && p.replicas.every((id) => brokerIds.includes(id)), `replicas on the live brokers: ${JSON.stringify(p)}`);
  const duplicate = await send(via.follower, "POST", "/v1/topics", { body: { name: "forwarded" } });
  assert.deepEqual([duplicate.status, errorCodeOf(duplicate.body)], [409, "TOPIC_EXISTS"], "the leader's refusal is relayed");

  const partition = expectAnswer<PartitionWriteAnswerJson>(await send(via.follower, "POST", "/v1/partitions", { body: { topicName: "forwarded" } }), 201, "POST /v1/partitions");
  assert.equal(partition.partition.partitionId, 2);
  const [first, second] = created.topic.partitions;
  assert.ok(first !== undefined && second !== undefined);
  const newLeader = first.ISR.find((id) => id !== first.leader);
  assert.ok(newLeader !== undefined, `partition 0 has a second in-sync replica: ${JSON.stringify(first)}`);
  const moved = expectAnswer<PartitionWriteAnswerJson>(await send(via.follower, "PATCH", "/v1/topics/forwarded/partitions/0", { body: { leader: newLeader } }), 200, "PATCH a partition");
  assert.deepEqual([moved.partition.leader, moved.partition.partitionEpoch], [newLeader, first.partitionEpoch + 1]);

  const onLeader = expectAnswer<{ topic: Topic }>(await via.onLeader("/v1/topics/forwarded"), 200, "the topic on the leader").topic;
  assert.equal(onLeader.topicUUID, created.topic.topicUUID);
  assert.deepEqual(onLeader.partitions.map((p) => [p.partitionId, p.leader, p.partitionEpoch]), [
    [0, newLeader, first.partitionEpoch + 1],
    [1, second.leader, second.partitionEpoch],
    [2, partition.partition.leader, partition.partition.partitionEpoch],
  ]);
}

/** A producer registered for a broker at its current epoch, and a topic deleted. */
async function producerAndDeleteWritesThroughFollower(via: Via): Promise<void> {
  const broker = await brokerOnLeader(via, 12);
  const producer = expectAnswer<ProducerWriteAnswerJson>(await send(via.follower, "POST", "/v1/producers", { body: { brokerId: 12, brokerEpoch: broker.epoch } }), 201, "POST /v1/producers");
  const producers = expectAnswer<{ producers: ProducerWriteAnswerJson["producer"][] }>(await via.onLeader("/v1/producers"), 200, "producers on the leader").producers;
  assert.ok(producers.some((p) => p.producerId === producer.producer.producerId && p.brokerId === 12), JSON.stringify(producers));

  expectAnswer(await send(via.follower, "POST", "/v1/topics", { body: { name: "forwarded-gone" } }), 201, "POST /v1/topics forwarded-gone");
  const deleted = expectAnswer<TopicWriteAnswerJson>(await send(via.follower, "DELETE", "/v1/topics/forwarded-gone"), 200, "DELETE /v1/topics/forwarded-gone");
  assert.equal(deleted.topic.name, "forwarded-gone");
  const gone = await via.onLeader("/v1/topics/forwarded-gone");
  assert.deepEqual([gone.status, errorCodeOf(gone.body)], [404, "UNKNOWN_TOPIC"]);
}

/** Every partition of `after` is `before` with `brokerId` out of its ISR and, where it led, another in-sync replica leading. */
function checkFencedOut(before: Topic, after: Topic, brokerId: number): void {
  assert.equal(after.partitions.length, before.partitions.length);
  for (const [i, p] of after.partitions.entries()) {
    const was = before.partitions[i];
    assert.ok(was !== undefined && was.partitionId === p.partitionId);
    assert.deepEqual(p.ISR, was.ISR.filter((id) => id !== brokerId), `partition ${p.partitionId} dropped broker ${brokerId} from its ISR`);
    assert.deepEqual(p.replicas, was.replicas, "replicas do not change");
    assert.ok(p.partitionEpoch > was.partitionEpoch, `partition ${p.partitionId}'s epoch grew: ${was.partitionEpoch} → ${p.partitionEpoch}`);
    if (was.leader === brokerId) assert.ok(p.leader !== brokerId && was.ISR.includes(p.leader), `partition ${p.partitionId} is led by another in-sync replica: ${JSON.stringify(p)}`);
    else assert.equal(p.leader, was.leader, `partition ${p.partitionId} keeps its leader`);
  }
}
