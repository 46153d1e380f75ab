import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ControllerError } from "../controller/errors.js";
import { AdminClient } from "./adminClient.js";
import type { AdminClientOptions } from "./adminClient.js";
import { AdminError } from "./adminError.js";
import { recordingSleep, refusedUrl, startTestCluster } from "./testing.js";
import type { TestCluster, TestClusterOptions } from "./testing.js";

/** Back-off jitter at its midpoint: the first wait is 75 ms, then 150, 300, … */
const midpoint = () => 0.5;

function client(controllers: readonly string[], sleep: (ms: number) => Promise<void>, options: Partial<AdminClientOptions> = {}): AdminClient {
  return new AdminClient({ controllers, sleep, random: midpoint, ...options });
}

async function withCluster(count: number, leaderId: number, body: (cluster: TestCluster) => Promise<void>, prepare?: TestClusterOptions["prepare"]): Promise<void> {
  const cluster = await startTestCluster(count, { leaderId, ...(prepare === undefined ? {} : { prepare }) });
  try {
    await body(cluster);
  } finally {
    await cluster.close();
  }
}

async function rejection(promise: Promise<unknown>): Promise<AdminError> {
  try {
    await promise;
  } catch (error) {
    assert(error instanceof AdminError, `expected an AdminError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

function nodeOf(cluster: TestCluster, id: number) {
  const node = cluster.nodes[id - 1];
  assert(node !== undefined);
  return node;
}

describe("AdminClient", () => {
  test("follows a 421 NOT_LEADER to the leader it names, then asks the leader directly", async () => {
    await withCluster(2, 2, async (cluster) => {
      const [follower, leader] = [nodeOf(cluster, 1), nodeOf(cluster, 2)];
      const { sleeps, sleep } = recordingSleep();
      const admin = client([follower.url, leader.url], sleep);
      assert.deepEqual(await admin.listTopics(), { topics: [] });
      // Node's fetch itself sends a request that got 421 once more on a new connection (harmless: a 421 was not applied).
      const followerRequestsCount = follower.requests.length;
      assert(follower.requests.every((r) => r.url === "/v1/topics"));
      assert.equal(leader.requests.length, 1);
      const created = await admin.createTopic({ name: "orders" });
      assert.equal(created.topic.name, "orders");
      assert.equal((await admin.getTopic("orders")).topic.topicUUID, created.topic.topicUUID);
      assert.equal(follower.requests.length, followerRequestsCount, "after the redirect nothing more goes to the follower");
      assert.deepEqual(sleeps, []);
    });
  });

  test("moves on to the next URL when a connection is refused, without waiting", async () => {
    await withCluster(1, 1, async (cluster) => {
      const leader = nodeOf(cluster, 1);
      const { sleeps, sleep } = recordingSleep();
      const admin = client([await refusedUrl(), leader.url], sleep);
      assert.deepEqual(await admin.listBrokers(), { brokers: [] });
      assert.deepEqual(await admin.listProducers(), { producers: [] });
      assert.equal(leader.requests.length, 2);
      assert.deepEqual(sleeps, []);
    });
  });

  test("fails with UNREACHABLE after attemptsMax attempts when every controller refuses, backing off after each round", async () => {
    const { sleeps, sleep } = recordingSleep();
    const admin = client([await refusedUrl(), await refusedUrl()], sleep, { attemptsMax: 5 });
    const error = await rejection(admin.listTopics());
    assert.equal(error.code, "UNREACHABLE");
    assert.equal(error.status, 0);
    assert.deepEqual(error.attempts, { count: 5, exhausted: true });
    assert.match(error.message, /^Cannot reach controller http:\/\/127\.0\.0\.1:\d+ as it refused the connection$/);
    assert.deepEqual(sleeps, [75, 150]);
  });

  test("retries a 503 after its Retry-After, then succeeds", async () => {
    await withCluster(1, 1, async (cluster) => {
      const leader = nodeOf(cluster, 1);
      leader.controller.readError = new ControllerError("NO_LEADER", "Cannot read as no leader is known: an election is under way");
      const { sleeps, sleep } = recordingSleep(() => (leader.controller.readError = undefined));
      const admin = client([leader.url], sleep);
      assert.deepEqual(await admin.listTopics(), { topics: [] });
      assert.deepEqual(sleeps, [1_000], "Retry-After: 1 outweighs the 75 ms back-off");
      assert.equal(leader.requests.length, 2);
    });
  });

  test("bounds attempts: a cluster that stays leaderless fails with NO_LEADER after attemptsMax requests", async () => {
    await withCluster(1, 1, async (cluster) => {
      const leader = nodeOf(cluster, 1);
      leader.controller.readError = new ControllerError("NO_LEADER", "Cannot read as no leader is known: an election is under way");
      const { sleeps, sleep } = recordingSleep();
      const admin = client([leader.url], sleep, { attemptsMax: 3, backoffMsMax: 500 });
      const error = await rejection(admin.listTopics());
      assert.equal(error.code, "NO_LEADER");
      assert.equal(error.status, 503);
      assert.deepEqual(error.attempts, { count: 3, exhausted: true });
      assert.equal(error.details["retriable"], true);
      assert.equal(leader.requests.length, 3);
      assert.deepEqual(sleeps, [500, 500], "Retry-After is honoured up to backoffMsMax");
    });
  });

  test("throws a 4xx at once with its code, status, message and field", async () => {
    await withCluster(1, 1, async (cluster) => {
      const leader = nodeOf(cluster, 1);
      const { sleeps, sleep } = recordingSleep();
      const admin = client([leader.url], sleep);
      await admin.createTopic({ name: "orders" });
      const exists = await rejection(admin.createTopic({ name: "orders" }));
      assert.deepEqual([exists.code, exists.status, exists.field, exists.message], [
        "TOPIC_EXISTS",
        409,
        "name",
        "Cannot create topic orders as the name is taken",
      ]);
      assert.deepEqual(exists.attempts, { count: 1, exhausted: false });
      const invalid = await rejection(admin.registerBroker({ brokerId: 1, brokerHost: "h", brokerPort: 0 }));
      assert.deepEqual([invalid.code, invalid.status, invalid.field], ["BAD_REQUEST", 400, "body.brokerPort"]);
      const unknown = await rejection(admin.getBroker(9));
      assert.deepEqual([unknown.code, unknown.status, unknown.field], ["UNKNOWN_BROKER", 404, "brokerId"]);
      assert.equal(leader.requests.length, 4, "one request per call");
      assert.deepEqual(sleeps, []);
    });
  });

  test("writes carry Idempotency-Keys <clientId>:<sequence> with increasing sequences; reads carry none", async () => {
    await withCluster(1, 1, async (cluster) => {
      const leader = nodeOf(cluster, 1);
      const admin = client([leader.url], recordingSleep().sleep, { clientId: "admin-7" });
      await admin.createTopic({ name: "a" });
      await admin.listTopics();
      await admin.createTopic({ name: "b" });
      await admin.deleteTopic("a");
      assert.deepEqual(
        leader.requests.map((r) => `${r.method} ${r.url} ${r.idempotencyKey ?? "-"}`),
        ["POST /v1/topics admin-7:1", "GET /v1/topics -", "POST /v1/topics admin-7:2", "DELETE /v1/topics/a admin-7:3"],
      );
      const other = client([leader.url], recordingSleep().sleep);
      assert.match(other.clientId, /^[0-9a-f-]{36}$/);
      assert.notEqual(other.clientId, client([leader.url], recordingSleep().sleep).clientId);
    });
  });

  test("a write retried after LEADERSHIP_LOST reuses its key and gets the first result, replayed", async () => {
    let lostAnswers = 1;
    await withCluster(
      1,
      1,
      async (cluster) => {
        const leader = nodeOf(cluster, 1);
        const { sleeps, sleep } = recordingSleep();
        const admin = client([leader.url], sleep, { clientId: "c" });
        const created = await admin.createTopic({ name: "orders", partitions: 0 });
        assert.equal(created.replayed, true);
        assert.equal(created.topic.name, "orders");
        assert.deepEqual(leader.requests.map((r) => r.idempotencyKey), ["c:1", "c:1"]);
        assert.equal(leader.controller.proposals, 1, "applied once");
        assert.deepEqual(sleeps, [1_000]);
        assert.equal((await admin.listTopics()).topics.length, 1);
      },
      ({ app }) => {
        // The write is applied, but its answer is lost as if the leader stepped down before replying.
        app.addHook("onSend", async (request, reply, payload) => {
          if (request.method !== "POST" || lostAnswers-- <= 0) return payload;
          void reply.code(503).header("retry-after", "1").header("content-type", "application/json");
          return JSON.stringify({ code: "LEADERSHIP_LOST", message: "Cannot confirm the write as leadership was lost", outcome: "unknown", retriable: true });
        });
      },
    );
  });

  test("sends concurrent writes one at a time, in sequence order", async () => {
    await withCluster(1, 1, async (cluster) => {
      const leader = nodeOf(cluster, 1);
      const admin = client([leader.url], recordingSleep().sleep, { clientId: "q" });
      const names = ["t1", "t2", "t3", "t4", "t5"];
      const created = await Promise.all(names.map((name) => admin.createTopic({ name })));
      assert.deepEqual(created.map((c) => c.topic.name), names);
      assert.deepEqual(leader.requests.map((r) => r.idempotencyKey), ["q:1", "q:2", "q:3", "q:4", "q:5"]);
      const failed = await Promise.allSettled([admin.createTopic({ name: "t1" }), admin.createTopic({ name: "t6" })]);
      assert.deepEqual(failed.map((f) => f.status), ["rejected", "fulfilled"], "a failed write does not block the next");
    });
  });

  test("does not retry a transfer of leadership whose outcome is unknown, but does one that was not applied", async () => {
    let answers = [{ code: "FORWARD_FAILED", outcome: "unknown" }, { code: "NO_LEADER", outcome: "not_applied" }];
    await withCluster(
      1,
      1,
      async (cluster) => {
        const leader = nodeOf(cluster, 1);
        const admin = client([leader.url], recordingSleep().sleep);
        const unknown = await rejection(admin.transferLeadership());
        assert.deepEqual([unknown.code, unknown.attempts, unknown.details["outcome"]], ["FORWARD_FAILED", { count: 1, exhausted: false }, "unknown"]);
        assert.deepEqual(await admin.transferLeadership({ targetId: 2 }), { transferred: true, leaderId: 2 });
        assert.equal(leader.requests.length, 3);
      },
      ({ app }) => {
        app.addHook("onRequest", async (request, reply) => {
          const [answer, ...rest] = answers;
          if (!request.url.startsWith("/v1/cluster/transfer") || answer === undefined) return;
          answers = rest;
          await reply.code(503).send({ ...answer, message: "Cannot transfer leadership now" });
        });
      },
    );
  });

  test("asks the leader a follower names for the cluster status, and takes snapshots on the leader unless given a node", async () => {
    await withCluster(3, 2, async (cluster) => {
      const [follower, leader] = [nodeOf(cluster, 1), nodeOf(cluster, 2)];
      const admin = client([follower.url], recordingSleep().sleep);
      const status = await admin.clusterStatus();
      assert.deepEqual([status.nodeId, status.role, status.leaderUrl], [2, "leader", leader.url]);
      assert.deepEqual(status.members.map((m) => m.apiUrl), cluster.nodes.map((n) => n.url));
      const own = await admin.clusterStatus({ node: follower.url });
      assert.deepEqual([own.nodeId, own.role], [1, "follower"]);
      assert.equal(await admin.leaderUrl(), leader.url);

      await admin.createTopic({ name: "orders" });
      const taken = await admin.takeSnapshot();
      assert.equal(taken.snapshot.index, 1);
      assert.deepEqual((await admin.listSnapshots()).snapshots.map((s) => s.id), [taken.snapshot.id]);
      assert.equal((await admin.getSnapshot(taken.snapshot.id)).metadata.topics[0]?.name, "orders");
      assert.deepEqual(await admin.listSnapshots({ node: follower.url }), { snapshots: [] }, "the follower's own snapshots");
      assert(leader.requests.some((r) => r.method === "POST" && r.url === "/v1/snapshots"));
      assert(!follower.requests.some((r) => r.method === "POST" && r.url === "/v1/snapshots"));
    });
  });

  test("reads the log, the client metadata and partitions with their query parameters", async () => {
    await withCluster(1, 1, async (cluster) => {
      const leader = nodeOf(cluster, 1);
      const admin = client([leader.url], recordingSleep().sleep);
      await admin.createTopic({ name: "a.b" });
      await admin.createTopic({ name: "c" });
      const page = await admin.log({ fromOffset: 2, limit: 5 });
      assert.deepEqual(page.records.map((r) => [r.offset, r.name]), [[2, "TopicRecord"]]);
      assert.equal(page.nextOffset, 3);
      assert.equal((await admin.clientMetadata({ offset: 1 })).kind, "delta");
      assert.deepEqual(await admin.topicPartitions("a.b"), { partitions: [] });
      assert.deepEqual(await admin.listPartitions({ topic: "c", consistency: "stale" }), { partitions: [] });
      assert.deepEqual(leader.requests.slice(2).map((r) => r.url), ["/v1/log?fromOffset=2&limit=5", "/v1/client-mgmt/metadata?offset=1", "/v1/topics/a.b/partitions", "/v1/partitions?topic=c&consistency=stale"]);
    });
  });

  test("registers brokers, heartbeats them and registers a producer", async () => {
    await withCluster(1, 1, async (cluster) => {
      const admin = client([nodeOf(cluster, 1).url], recordingSleep().sleep);
      const registered = await admin.registerBroker({ brokerId: 1, brokerHost: "127.0.0.1", brokerPort: 9201 });
      assert.equal(registered.broker.brokerStatus, "INIT");
      const heartbeat = await admin.brokerMetadataFetch({ brokerId: 1, brokerEpoch: registered.broker.epoch, offset: 0 });
      const caughtUp = await admin.brokerMetadataFetch({ brokerId: 1, brokerEpoch: heartbeat.brokerEpoch, offset: heartbeat.currentOffset });
      assert.equal(caughtUp.brokerStatus, "UNFENCED");
      assert.equal((await admin.listBrokers({ status: "active" })).brokers.length, 1);
      const changed = await admin.changeBroker(1, { brokerPort: 9202 });
      const producer = await admin.registerProducer({ brokerId: 1, brokerEpoch: changed.broker.epoch });
      assert.equal(producer.producer.brokerId, 1);
      assert.equal((await admin.unregisterBroker(1)).broker.brokerStatus, "CLOSED");
    });
  });

  test("adds and removes controllers through a follower; a pending change is retried, a learner that did not catch up is not", async () => {
    await withCluster(3, 2, async (cluster) => {
      const [follower, leader] = [nodeOf(cluster, 1), nodeOf(cluster, 2)];
      const { sleeps, sleep } = recordingSleep();
      const admin = client([follower.url], sleep);
      const added = await admin.addMember({ id: 4, raftAddress: "127.0.0.1:9104", apiAddress: "127.0.0.1:9004" });
      assert.deepEqual(added.membership, { voters: [1, 2, 3, 4], learners: [] });
      assert.equal(added.member.role, "voter");
      assert.deepEqual(leader.controller.membershipChanges.map((c) => c.kind), ["addLearner", "addVoter"]);

      leader.controller.membershipError = new ControllerError("MEMBERSHIP_CHANGE_PENDING", "Cannot change the membership as the change at index 9 has not committed yet", { outcome: "not_applied" });
      const removed = await admin.removeMember(4);
      assert.deepEqual([removed.removedId, removed.membership.voters, removed.unregistered], [4, [1, 2, 3], true]);
      assert.equal(sleeps.length, 1, "retried once after Retry-After");

      leader.controller.lagging.add(5);
      const lagging = await rejection(admin.addMember({ id: 5, raftAddress: "127.0.0.1:9105", apiAddress: "127.0.0.1:9005", role: "voter" }));
      assert.deepEqual([lagging.code, lagging.status, lagging.attempts.count], ["LEARNER_NOT_CAUGHT_UP", 503, 1]);
      assert.deepEqual(leader.controller.current.membership, { voters: [1, 2, 3], learners: [5] });
      const unknown = await rejection(admin.removeMember(9));
      assert.deepEqual([unknown.code, unknown.status, unknown.field], ["UNKNOWN_CONTROLLER", 404, "id"]);
    });
  });

  test("an aborted signal ends the back-off with ABORTED", async () => {
    await withCluster(1, 1, async (cluster) => {
      const leader = nodeOf(cluster, 1);
      leader.controller.readError = new ControllerError("NO_LEADER", "Cannot read as no leader is known");
      const abort = new AbortController();
      const admin = new AdminClient({ controllers: [leader.url], signal: abort.signal, sleep: async () => abort.abort(), random: midpoint });
      const error = await rejection(admin.listTopics());
      assert.equal(error.code, "ABORTED");
    });
  });

  test("refuses to be built without controllers or with a bound below 1", () => {
    assert.throws(() => new AdminClient({ controllers: [] }), /needs 1 to 32 controller URLs/);
    assert.throws(() => new AdminClient({ controllers: ["http://h:1"], attemptsMax: 0 }), /attemptsMax must be a positive integer/);
  });
});
