import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FakeCluster, ManualClock } from "./brokerTesting.js";
import type { FakeBrokerRequest, FakeClusterOptions } from "./brokerTesting.js";
import { ClientError } from "./clientError.js";
import { Consumer } from "./consumer.js";
import type { ConsumerOptions, ConsumerRecord, OffsetCommit } from "./consumer.js";

async function withCluster(body: (cluster: FakeCluster) => Promise<void>, options: FakeClusterOptions = {}): Promise<void> {
  const cluster = await FakeCluster.start(options);
  try {
    await body(cluster);
  } finally {
    await cluster.close();
  }
}

function consumerOf(cluster: FakeCluster, clock: ManualClock, options: Partial<ConsumerOptions> = {}): Consumer {
  return new Consumer({ controllers: [cluster.controllerUrl], topic: "t", clock, random: () => 0.5, maxWaitMs: 200, ...options });
}

/** Every record the consumer hands out until its maxMessages. */
async function collect(consumer: Consumer): Promise<ConsumerRecord[]> {
  const records: ConsumerRecord[] = [];
  for await (const record of consumer) records.push(record);
  return records;
}

/** The assignments a consumer reports, and the next one to come. */
function assignments(): { readonly seen: string[]; readonly onAssignment: NonNullable<ConsumerOptions["onAssignment"]>; next(): Promise<string> } {
  const seen: string[] = [];
  let waiting: ((text: string) => void) | undefined;
  return {
    seen,
    onAssignment: (partitions, membership) => {
      const text = `generation ${membership?.generation ?? "-"}: ${partitions.join(",")}`;
      seen.push(text);
      waiting?.(text);
      waiting = undefined;
    },
    next: () => new Promise((resolve) => (waiting = resolve)),
  };
}

/** Exactly `count` records, over as many polls as it takes. */
async function take(consumer: Consumer, count: number): Promise<ConsumerRecord[]> {
  const records: ConsumerRecord[] = [];
  while (records.length < count) records.push(...(await consumer.poll({ recordsCountMax: count - records.length })));
  return records;
}

const brief = (records: readonly ConsumerRecord[]) => records.map((r) => `${r.partition}:${r.offset}:${r.value}`).sort();
const isOffsets = (partition: number) => (r: FakeBrokerRequest) => r.route === "offsets" && r.query["partition"] === String(partition);

describe("Consumer without a group", () => {
  test("from the beginning: every record of every partition, each partition in offset order", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 2);
      cluster.append("t", 0, ["a0", "a1", "a2"]);
      cluster.append("t", 1, [{ key: "k", value: "b0" }]);
      const consumer = consumerOf(cluster, new ManualClock(), { fromBeginning: true, maxMessages: 4 });
      const records = await collect(consumer);
      assert.deepEqual(brief(records), ["0:0:a0", "0:1:a1", "0:2:a2", "1:0:b0"]);
      assert.deepEqual(records.filter((r) => r.partition === 0).map((r) => r.offset), [0, 1, 2]);
      assert.equal(records.find((r) => r.partition === 1)?.key, "k");
      assert(cluster.requestsOf("offsets").every((r) => r.query["at"] === "earliest"));
      assert.equal(consumer.done, true);
      assert.deepEqual(await consumer.poll(), []);
      await consumer.close();
    });
  });

  test("fetches ask for the binary form and read it; a broker that answers JSON is read alike", async () => {
    for (const binaryFetch of [true, false]) {
      await withCluster(async (cluster) => {
        cluster.binaryFetch = binaryFetch;
        cluster.createTopic("t", 1);
        cluster.append("t", 0, ["a0", { key: "ключ", value: "значение" }, "a2"]);
        const all = consumerOf(cluster, new ManualClock(), { fromBeginning: true, maxMessages: 3 });
        assert.deepEqual((await collect(all)).map((r) => [r.offset, r.key, r.value]), [[0, null, "a0"], [1, "ключ", "значение"], [2, null, "a2"]], `binaryFetch ${binaryFetch}`);
        await all.close();
        // A consumer from the high watermark (3) gets the frame of offsets 2 and 3 (binary) and must skip offset 2.
        const consumer = consumerOf(cluster, new ManualClock(), { maxMessages: 2 });
        const collecting = collect(consumer);
        await cluster.waitForRequest((r) => r.route === "offsets" && r.query["at"] === "latest");
        cluster.append("t", 0, ["a3", "a4"]);
        assert.deepEqual((await collecting).map((r) => [r.offset, r.value]), [[3, "a3"], [4, "a4"]], `binaryFetch ${binaryFetch}`);
        assert(cluster.requestsOf("fetch").every((r) => r.accept?.includes("application/x-yakt-batches") === true));
        await consumer.close();
      });
    }
  });

  test("latest (the default): starts at the high watermark and sees only what is produced after", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 2);
      cluster.append("t", 0, ["old"]);
      const consumer = consumerOf(cluster, new ManualClock(), { maxMessages: 2 });
      const collecting = collect(consumer);
      await cluster.waitForRequest(isOffsets(0));
      await cluster.waitForRequest(isOffsets(1));
      cluster.append("t", 0, ["new0"]);
      cluster.append("t", 1, ["new1"]);
      assert.deepEqual(brief(await collecting), ["0:1:new0", "1:0:new1"]);
      assert(cluster.requestsOf("offsets").every((r) => r.query["at"] === "latest"));
      await consumer.close();
    });
  });

  test("partitions: only those are read", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 3);
      for (const p of [0, 1, 2]) cluster.append("t", p, [`v${p}`]);
      const consumer = consumerOf(cluster, new ManualClock(), { fromBeginning: true, partitions: [2], maxMessages: 1 });
      assert.deepEqual(brief(await collect(consumer)), ["2:0:v2"]);
      assert.deepEqual(consumer.assignment(), [2]);
      assert.deepEqual(new Set(cluster.requests.map((r) => r.query["partition"])), new Set(["2"]));
      await consumer.close();
    });
  });

  test("follows a partition's leader: NOT_LEADER_FOR_PARTITION, a metadata refresh, then the new leader", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1, [1]);
      cluster.append("t", 0, ["a"]);
      cluster.notLeaderHints = false;
      cluster.moveLeader("t", 0, 2, { metadata: false });
      void cluster.nextRequest((r) => r.brokerId === 1).then(() => cluster.publishLeader("t", 0));
      const consumer = consumerOf(cluster, new ManualClock({ autoAdvance: true }), { fromBeginning: true, maxMessages: 1 });
      assert.deepEqual(brief(await collect(consumer)), ["0:0:a"]);
      assert.equal(cluster.requests[0]?.brokerId, 1);
      assert(cluster.requests.slice(1).every((r) => r.brokerId === 2));
      await consumer.close();
    });
  });

  test("OFFSET_OUT_OF_RANGE below the log start moves to the log start", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      cluster.append("t", 0, ["gone0", "gone1", "kept2"]);
      let refused = false;
      cluster.fault = (request) => {
        if (request.route !== "fetch" || refused) return undefined;
        refused = true;
        return { kind: "answer", status: 416, body: { code: "OFFSET_OUT_OF_RANGE", message: "retention", logStartOffset: 2, highWatermark: 3 } };
      };
      const consumer = consumerOf(cluster, new ManualClock({ autoAdvance: true }), { fromBeginning: true, maxMessages: 1 });
      assert.deepEqual(brief(await collect(consumer)), ["0:2:kept2"]);
      await consumer.close();
    });
  });

  test("a final error stops the consumer: poll throws it", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      cluster.fault = (request) => (request.route === "fetch" ? { kind: "answer", status: 400, body: { code: "BAD_REQUEST", message: "Cannot fetch as maxBytes is too large", field: "maxBytes" } } : undefined);
      const consumer = consumerOf(cluster, new ManualClock(), { fromBeginning: true });
      await assert.rejects(collect(consumer), (error) => error instanceof ClientError && error.code === "BAD_REQUEST" && error.field === "maxBytes");
      await consumer.close();
    });
  });

  test("a missing topic is UNKNOWN_TOPIC when topics are not created", async () => {
    await withCluster(async (cluster) => {
      const consumer = consumerOf(cluster, new ManualClock(), { autoCreateTopics: false });
      await assert.rejects(consumer.poll(), (error) => error instanceof ClientError && error.code === "UNKNOWN_TOPIC");
      await consumer.close();
    });
  });
});

describe("Consumer in a group", () => {
  test("joins through NOT_COORDINATOR, commits what it handed out, and a new member resumes from there", async () => {
    await withCluster(
      async (cluster) => {
        cluster.createTopic("t", 2);
        cluster.append("t", 0, ["a0", "a1", "a2"]);
        cluster.append("t", 1, ["b0", "b1"]);
        const clock = new ManualClock();
        const first = consumerOf(cluster, clock, { group: "g", fromBeginning: true, maxMessages: 3, autoCommitIntervalMs: false });
        const firstRecords = await collect(first);
        assert.deepEqual(first.assignment(), [0, 1]);
        const joins = cluster.requestsOf("join");
        assert.deepEqual(joins.map((r) => r.brokerId), [1, 2], "any broker first, then the coordinator it names");
        await first.commit();
        const expected = new Map<number, number>();
        for (const r of firstRecords) expected.set(r.partition, Math.max(expected.get(r.partition) ?? 0, r.offset + 1));
        for (const p of [0, 1]) if (!expected.has(p)) expected.set(p, 0);
        assert.deepEqual(new Map(cluster.committed("g")), expected);
        const commit = cluster.requestsOf("commit")[0];
        assert.equal(commit?.body["memberId"], "member-1");
        assert.equal(commit?.body["generation"], 1);
        await first.close();
        assert.deepEqual(cluster.members("g"), [], "closing leaves the group");

        cluster.append("t", 0, ["a3"]);
        const second = consumerOf(cluster, new ManualClock(), { group: "g", maxMessages: 3, autoCommitIntervalMs: false });
        const secondRecords = await collect(second);
        const all = ["a0", "a1", "a2", "a3", "b0", "b1"];
        assert.deepEqual([...firstRecords, ...secondRecords].map((r) => r.value).sort(), all, "each record once, none skipped");
        assert.deepEqual(cluster.requestsOf("offsets").length, 2, "only the first member's partitions without a commit looked for a start");
        await second.close();
        assert.equal(cluster.committed("g").get(0), 4);
        assert.equal(cluster.committed("g").get(1), 2);
      },
      { coordinatorId: 2 },
    );
  });

  test("a heartbeat brings the new generation's assignment when another member joins", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 2);
      const clock = new ManualClock();
      const firstAssignments = assignments();
      const first = consumerOf(cluster, clock, { group: "g", autoCommitIntervalMs: false, onAssignment: firstAssignments.onAssignment });
      await first.poll({ timeoutMs: 0 });
      assert.deepEqual(first.assignment(), [0, 1]);
      const second = consumerOf(cluster, new ManualClock(), { group: "g", autoCommitIntervalMs: false });
      await second.poll({ timeoutMs: 0 });
      assert.deepEqual(second.assignment(), [1]);
      const heartbeat = cluster.nextRequest((r) => r.route === "heartbeat");
      const reassigned = firstAssignments.next();
      await clock.advance(3_000);
      assert.equal((await heartbeat).body["generation"], 1);
      assert.equal(await reassigned, "generation 2: 0");
      assert.deepEqual(firstAssignments.seen, ["generation 1: 0,1", "generation 2: 0"]);
      await Promise.all([first.close(), second.close()]);
    });
  });

  test("a commit refused with ILLEGAL_GENERATION fails; the consumer re-joins, its partition restarts from the committed offset, and the next commit goes through", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 2);
      cluster.append("t", 0, ["a0", "a1"]);
      const seen = assignments();
      const consumer = consumerOf(cluster, new ManualClock(), { group: "g", fromBeginning: true, autoCommitIntervalMs: false, onAssignment: seen.onAssignment });
      assert.deepEqual((await take(consumer, 2)).map((r) => r.value), ["a0", "a1"]);
      cluster.addPhantomMember("g", "t");
      const rejoin = cluster.nextRequest((r) => r.route === "join");
      const reassigned = seen.next();
      await assert.rejects(consumer.commit(), (error) => error instanceof ClientError && error.code === "ILLEGAL_GENERATION");
      assert.equal((await rejoin).body["memberId"], "member-1");
      assert.equal(await reassigned, "generation 2: 0", "member-1 keeps partition 0, phantom-2 takes 1");
      assert.equal(consumer.member()?.generation, cluster.generation("g"));
      assert.deepEqual((await take(consumer, 2)).map((r) => r.value), ["a0", "a1"], "lost with the generation, the partition restarts from the committed offset (none: the beginning) and re-delivers");
      await consumer.commit();
      assert.equal(cluster.committed("g").get(0), 2);
      assert.equal(cluster.requestsOf("commit").at(-1)?.body["generation"], 2);
      await consumer.close();
    });
  });

  test("onCommit sees every commit request settle: refused as the group moved on, then taken, then the one on close", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      cluster.append("t", 0, ["a0", "a1", "a2"]);
      const settled: string[] = [];
      const seen = assignments();
      const consumer = consumerOf(cluster, new ManualClock(), {
        group: "g",
        onAssignment: seen.onAssignment,
        fromBeginning: true,
        autoCommitIntervalMs: false,
        onCommit: (c) => settled.push(`${c.memberId}@${c.generation} ${c.offsets.map((o) => `${o.partition}:${o.offset}`).join(",")} ${c.error?.code ?? "ok"}`),
      });
      await take(consumer, 2);
      cluster.addPhantomMember("g", "t");
      const reassigned = seen.next();
      await assert.rejects(consumer.commit(), (error) => error instanceof ClientError && error.code === "ILLEGAL_GENERATION");
      await reassigned;
      await take(consumer, 2);
      await consumer.commit();
      await take(consumer, 1);
      await consumer.close();
      assert.deepEqual(settled, ["member-1@1 0:2 ILLEGAL_GENERATION", "member-1@2 0:2 ok", "member-1@2 0:3 ok"]);
      assert.equal(cluster.committed("g").get(0), 3);
    });
  });

  test("a commit refused as the group moved on after an attempt that went unanswered reports its outcome unknown", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      cluster.append("t", 0, ["a0", "a1", "a2"]);
      const commits: OffsetCommit[] = [];
      // The clock moves on its own, so the retry's back-off passes.
      const consumer = consumerOf(cluster, new ManualClock({ autoAdvance: true }), { group: "g", fromBeginning: true, autoCommitIntervalMs: false, onCommit: (c) => commits.push(c) });
      await take(consumer, 2);
      let commitsSeen = 0;
      cluster.fault = (request) => {
        if (request.route !== "commit") return undefined;
        commitsSeen++;
        // The first attempt is taken but its answer lost; before the retry the member's session expires.
        if (commitsSeen === 1) return { kind: "drop-after" };
        if (commitsSeen === 2) cluster.expireMemberAndCommit("g", "member-1", new Map());
        return undefined;
      };
      await assert.rejects(consumer.commit(), (error) => error instanceof ClientError && error.code === "UNKNOWN_MEMBER" && error.details["outcome"] === "unknown");
      assert.equal(cluster.committed("g").get(0), 2, "the unanswered attempt was taken");
      assert.equal(commits.at(-1)?.error?.details["outcome"], "unknown");
      cluster.fault = undefined;
      await consumer.close();
    });
  });

  test("a commit refused as the group moved on at its first attempt reports its outcome not_applied", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      cluster.append("t", 0, ["a0", "a1"]);
      const consumer = consumerOf(cluster, new ManualClock(), { group: "g", fromBeginning: true, autoCommitIntervalMs: false });
      await take(consumer, 2);
      cluster.addPhantomMember("g", "t");
      await assert.rejects(consumer.commit(), (error) => error instanceof ClientError && error.code === "ILLEGAL_GENERATION" && error.details["outcome"] === "not_applied");
      await consumer.close();
    });
  });

  test("a member the coordinator no longer knows loses its partitions: after joining again it resumes from the group's committed offsets, not from its own position", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      cluster.append("t", 0, ["a0", "a1", "a2", "a3", "a4", "a5", "a6"]);
      const clock = new ManualClock();
      const seen = assignments();
      const settled: string[] = [];
      const consumer = consumerOf(cluster, clock, { group: "g", fromBeginning: true, autoCommitIntervalMs: false, onAssignment: seen.onAssignment, onCommit: (c) => settled.push(`${c.generation} ${c.offsets.map((o) => `${o.partition}:${o.offset}`).join(",")} ${c.error?.code ?? "ok"}`) });
      const first = await consumer.poll({ recordsCountMax: 2 });
      assert.deepEqual(first.map((r) => r.offset), [0, 1]);
      await consumer.commit();
      // Its session expired while it was cut off; meanwhile another member took partition 0, handed out up to 4, committed 5 and left.
      cluster.expireMemberAndCommit("g", "member-1", new Map([[0, 5]]));
      const rejoined = seen.next();
      await clock.advance(3_000);
      assert.equal(await rejoined, "generation 3: 0");
      const next = await consumer.poll({ recordsCountMax: 1 });
      assert.deepEqual(next.map((r) => r.offset), [5], "resumes at the group's committed offset");
      await consumer.commit();
      assert.equal(cluster.committed("g").get(0), 6, "the committed offset never goes back to the member's old position");
      assert.deepEqual(settled, ["1 0:2 ok", "3 0:6 ok"]);
      await consumer.close();
    });
  });

  test("a heartbeat answered ILLEGAL_GENERATION makes the consumer join again with its member id", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      let refused = false;
      cluster.fault = (request) => {
        if (request.route !== "heartbeat" || refused) return undefined;
        refused = true;
        return { kind: "answer", status: 409, body: { code: "ILLEGAL_GENERATION", message: "the group moved on" } };
      };
      const clock = new ManualClock();
      const consumer = consumerOf(cluster, clock, { group: "g", autoCommitIntervalMs: false });
      await consumer.poll({ timeoutMs: 0 });
      const rejoin = cluster.nextRequest((r) => r.route === "join");
      await clock.advance(3_000);
      const join = await rejoin;
      assert.equal(join.body["memberId"], "member-1");
      assert.equal(cluster.requestsOf("heartbeat").length, 1);
      await consumer.close();
    });
  });

  test("auto-commit commits what the application came back from, every interval", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("t", 1);
      cluster.append("t", 0, ["a0", "a1", "a2"]);
      const clock = new ManualClock();
      const consumer = consumerOf(cluster, clock, { group: "g", fromBeginning: true, autoCommitIntervalMs: 1_000, heartbeatIntervalMs: 60_000 });
      let got: ConsumerRecord[] = [];
      while (got.length === 0) got = await consumer.poll({ recordsCountMax: 2 });
      const committing = cluster.nextRequest((r) => r.route === "commit");
      await clock.advance(1_000);
      assert.deepEqual((await committing).body["offsets"], [{ partition: 0, offset: 0 }], "records of the last poll are not processed yet");
      await consumer.poll({ recordsCountMax: 1 });
      const next = cluster.nextRequest((r) => r.route === "commit");
      await clock.advance(1_000);
      assert.deepEqual((await next).body["offsets"], [{ partition: 0, offset: got.length }]);
      await consumer.close();
      assert.equal(cluster.committed("g").get(0), got.length + 1, "close commits everything handed out");
    });
  });
});
