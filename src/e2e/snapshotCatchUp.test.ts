import assert from "node:assert/strict";
import { test } from "node:test";
import { readDiskLog } from "./diskLog.js";
import { describeStatuses, withCluster } from "./harness.js";
import { checkTopics, countOutcomes, readLinearizable, waitForSameMetadata, WriteLoad } from "./metadataClient.js";
import type { TopicWrite } from "./metadataClient.js";

const snapshotEntriesCount = 50;
const writersCount = 4;
/** Topics created per writer and batch while two followers are down; batches go on until the leader compacts past them. */
const batchTopicsPerWriterCount = 50;
const batchesCountMin = 2;
const batchesCountMax = 10;
const leaderTimeoutMs = 20_000;
const convergenceTimeoutMs = 60_000;
const readTimeoutMs = 10_000;
/** A restarted node may need a few tries before it knows the leader and can confirm a read. */
const readRetryTimeoutMs = 30_000;

test("two of five controllers killed: the rest keep committing, and the two catch up by snapshot once restarted", { timeout: 150_000 }, async () => {
  await withCluster({ nodesCount: 5, snapshotEntries: snapshotEntriesCount, name: "yakt-e2e-snapshot" }, async (cluster) => {
    const leader = await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs });
    const records: TopicWrite[] = [...(await new WriteLoad({ ...cluster.writerOptions(), writersCount, topicsPerWriterMax: 10, writerPrefix: "a" }).finished())];
    const killed = cluster.ids().filter((id) => id !== leader.id).slice(0, 2);
    await Promise.all(killed.map((id) => cluster.kill(id)));
    // Exactly what the dead nodes hold, from their disks.
    const deadLastIndexMax = Math.max(...(await Promise.all(killed.map(async (id) => (await readDiskLog(cluster.dataDir(id))).lastIndex))));

    let leaderSnapshotIndex = 0;
    for (let batch = 0; batch < batchesCountMax && (batch < batchesCountMin || leaderSnapshotIndex <= deadLastIndexMax + snapshotEntriesCount); batch++) {
      const load = new WriteLoad({ ...cluster.writerOptions(), writersCount, topicsPerWriterMax: batchTopicsPerWriterCount, writerPrefix: `b${batch}-` });
      const batchRecords = await load.finished();
      records.push(...batchRecords);
      assert.deepEqual(countOutcomes(batchRecords), { acknowledged: batchRecords.length, unknown: 0, not_applied: 0, rejected: 0 }, "three of five commit every write");
      const current = await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs });
      leaderSnapshotIndex = current.statuses.get(current.id)?.snapshotIndex ?? 0;
    }
    // The leader's log now starts past every index a dead node could ask for next.
    assert.ok(leaderSnapshotIndex > deadLastIndexMax, `the leader compacted past the dead nodes' logs (last index ${deadLastIndexMax}): snapshot at ${leaderSnapshotIndex}`);

    await Promise.all(killed.map((id) => cluster.restart(id)));
    // Before they have caught up, their linearizable reads must already show every acknowledged write.
    for (const id of killed) {
      const read = await readLinearizable(cluster.apiUrl(id), () => records, { timeoutMs: readRetryTimeoutMs, requestTimeoutMs: readTimeoutMs });
      assert.deepEqual(checkTopics(read.topics, read.acknowledged), [], `linearizable read on node ${id} just after its restart`);
    }
    const converged = await cluster.waitForConvergence({ timeoutMs: convergenceTimeoutMs });
    for (const id of killed) {
      const status = converged.get(id);
      assert.ok(status !== undefined && status.snapshotIndex > 0, `node ${id} holds a snapshot: ${describeStatuses(converged)}`);
      assert.match(await cluster.readLog(id), /"msg":"installed snapshot from leader"/, `node ${id} caught up through the leader's snapshot`);
    }

    const same = await waitForSameMetadata(cluster, { timeoutMs: convergenceTimeoutMs, requestTimeoutMs: readTimeoutMs });
    assert.deepEqual(checkTopics(same.topics, records), []);
    console.log(`nodes ${killed.join(" and ")} were down from index ${deadLastIndexMax} until the leader's snapshot at ${leaderSnapshotIndex}; ${records.length} writes; converged at ${describeStatuses(converged)}`);
  });
});
