import assert from "node:assert/strict";
import { test } from "node:test";
import { compareDiskLogs, readDiskLog } from "./diskLog.js";
import { describeStatuses, withCluster } from "./harness.js";
import type { Cluster } from "./harness.js";
import { checkTopics, countOutcomes, readTopics, readLinearizable, waitForSameMetadata, WriteLoad } from "./metadataClient.js";
import type { NodeMetadata, TopicWrite } from "./metadataClient.js";
import { waitFor } from "./waitFor.js";

const killsCount = 6;
/** Small enough that restarted nodes recover from a snapshot and some catch up through one. */
const snapshotEntriesCount = 300;
const writersCount = 3;
/** Writes acknowledged under each leader before it is killed, and under its successor. */
const progressWritesCount = 20;
const leaderTimeoutMs = 20_000;
const progressTimeoutMs = 30_000;
const catchUpTimeoutMs = 30_000;
const convergenceTimeoutMs = 30_000;
const readTimeoutMs = 10_000;
/** A restarted node may need a few tries before it knows the leader and can confirm a read. */
const readRetryTimeoutMs = 30_000;

test("kill -9 of the leader under write load, six times: no acknowledged write is lost and the logs agree", { timeout: 150_000 }, async () => {
  await withCluster({ nodesCount: 3, snapshotEntries: snapshotEntriesCount, name: "yakt-e2e-kill-leader" }, async (cluster) => {
    await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs });
    const load = new WriteLoad({ ...cluster.writerOptions(), writersCount, topicsPerWriterMax: 100_000 });
    let records: readonly TopicWrite[] = [];
    try {
      for (let kill = 1; kill <= killsCount; kill++) await killAndRestartLeader(cluster, load, kill);
    } finally {
      records = await load.stop();
    }
    const counts = countOutcomes(records);
    assert.ok(counts.acknowledged >= killsCount * progressWritesCount, `at least ${killsCount * progressWritesCount} writes were acknowledged: ${JSON.stringify(counts)}`);

    const same = await waitForSameMetadata(cluster, { timeoutMs: convergenceTimeoutMs, requestTimeoutMs: readTimeoutMs });
    await checkEveryNode(cluster, records, same);
    const commitIndex = same.appliedIndex;
    const retriedCount = records.filter((r) => r.outcome === "acknowledged" && r.maybeAppliedCount > 1).length;
    const replayedCount = records.filter((r) => r.replayed === true).length;
    console.log(`after ${killsCount} leader kills: writes ${JSON.stringify(counts)} (${retriedCount} acknowledged after an attempt of unknown outcome, ${replayedCount} of them answered from the first attempt's stored result), ${same.topics.length} topics, commitIndex ${commitIndex}`);

    await stopFollowersThenLeader(cluster);
    const logs = await Promise.all(cluster.ids().map((id) => readDiskLog(cluster.dataDir(id))));
    const comparison = compareDiskLogs(logs);
    assert.deepEqual(comparison.problems, []);
    assert.ok(comparison.toIndex >= commitIndex, `every log holds the converged commitIndex ${commitIndex}: common range [${comparison.fromIndex}, ${comparison.toIndex}]`);
    for (const log of logs) assert.ok(log.hardState.commitIndex >= commitIndex, `${log.dataDir} stopped with commitIndex ${log.hardState.commitIndex}, before ${commitIndex}`);
  });
});

/** Kills the confirmed leader once it has made progress, waits for a successor to make progress, restarts it and lets it catch up. */
async function killAndRestartLeader(cluster: Cluster, load: WriteLoad, kill: number): Promise<void> {
  const leader = await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs });
  const ackedBefore = load.acknowledgedCount;
  await waitFor(() => `${progressWritesCount} writes acknowledged under leader ${leader.id} (${load.acknowledgedCount - ackedBefore} so far)`, () => (load.acknowledgedCount >= ackedBefore + progressWritesCount ? true : undefined), { timeoutMs: progressTimeoutMs });

  const exit = await cluster.kill(leader.id);
  assert.equal(exit.signal, "SIGKILL");
  const next = await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs, excludeId: leader.id });
  const ackedAtNext = load.acknowledgedCount;
  await waitFor(() => `${progressWritesCount} writes acknowledged under the new leader ${next.id} (${load.acknowledgedCount - ackedAtNext} so far)`, () => (load.acknowledgedCount >= ackedAtNext + progressWritesCount ? true : undefined), { timeoutMs: progressTimeoutMs });

  await cluster.restart(leader.id);
  // Straight after its restart the node is behind, yet its linearizable read must show every write
  // acknowledged before the read began (Raft §6.4: it waits until it has applied the leader's commit index).
  const read = await readLinearizable(cluster.apiUrl(leader.id), () => load.records.filter((r) => r.outcome === "acknowledged"), { timeoutMs: readRetryTimeoutMs, requestTimeoutMs: readTimeoutMs });
  assert.deepEqual(checkTopics(read.topics, read.acknowledged, { complete: false }), [], `linearizable read on node ${leader.id} just after its restart`);
  const caughtUp = await cluster.waitForCaughtUp(leader.id, { timeoutMs: catchUpTimeoutMs });
  console.log(`kill ${kill}: leader ${leader.id} (term ${leader.term}) killed, node ${next.id} leads term ${next.term}; node ${leader.id} restarted and applied up to ${caughtUp.appliedIndex}`);
}

/**
 * What every node holds once they have applied the same index (`same`, read stale: the same topics and
 * brokers on every node) has every acknowledged topic with the topicUUID its 201 gave, and nothing no
 * writer wrote; then each node's linearizable read shows those same topics.
 */
async function checkEveryNode(cluster: Cluster, records: readonly TopicWrite[], same: NodeMetadata): Promise<void> {
  assert.deepEqual(checkTopics(same.topics, records), [], "stale reads after convergence");
  for (const id of cluster.ids()) {
    const topics = await readTopics(cluster.apiUrl(id), { consistency: "linearizable", timeoutMs: readTimeoutMs });
    assert.deepEqual(topics, same.topics, `node ${id}'s linearizable read shows the converged topics`);
  }
}

/**
 * SIGTERM, one node at a time, followers first: with no quorum left behind the leader, no new term can
 * start and append a different entry at the end of some logs, so the logs must agree on all they hold.
 */
async function stopFollowersThenLeader(cluster: Cluster): Promise<void> {
  const leader = await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs });
  const order = [...cluster.ids().filter((id) => id !== leader.id), leader.id];
  for (const id of order) {
    const exit = await cluster.terminate(id);
    assert.deepEqual(exit, { code: 0, signal: null }, `node ${id} exits 0 after SIGTERM; cluster: ${describeStatuses(await cluster.statuses())}`);
  }
}
