import assert from "node:assert/strict";
import { test } from "node:test";
import { withCluster } from "./harness.js";
import { checkTopics, countOutcomes, readTopics, waitForSameMetadata, WriteLoad } from "./metadataClient.js";

const writersCount = 3;
const topicsPerWriterCount = 50;
const leaderTimeoutMs = 20_000;
const readTimeoutMs = 10_000;
const convergenceTimeoutMs = 30_000;

/** Writes, stops every node with `signal`, restarts them all from their data dirs and reads everything back. */
async function writeStopAllRestartAll(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
  await withCluster({ nodesCount: 3, name: `yakt-e2e-restart-${signal.toLowerCase()}` }, async (cluster) => {
    const before = await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs });
    const records = await new WriteLoad({ ...cluster.writerOptions(), writersCount, topicsPerWriterMax: topicsPerWriterCount }).finished();
    assert.deepEqual(countOutcomes(records), { acknowledged: writersCount * topicsPerWriterCount, unknown: 0, not_applied: 0, rejected: 0 }, "a healthy cluster acknowledges every write");

    const exits = await Promise.all(cluster.ids().map((id) => (signal === "SIGTERM" ? cluster.terminate(id) : cluster.kill(id))));
    for (const [i, exit] of exits.entries()) {
      assert.deepEqual(exit, signal === "SIGTERM" ? { code: 0, signal: null } : { code: null, signal: "SIGKILL" }, `node ${i + 1} after ${signal}`);
    }
    await Promise.all(cluster.ids().map((id) => cluster.restart(id)));
    const after = await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs });
    assert.ok(after.term > before.term, `a new term after the restart: ${after.term} after ${before.term}`);

    for (const id of cluster.ids()) {
      const topics = await readTopics(cluster.apiUrl(id), { consistency: "linearizable", timeoutMs: readTimeoutMs });
      assert.equal(topics.length, records.length, `node ${id} holds every topic`);
      assert.deepEqual(checkTopics(topics, records), [], `node ${id}`);
    }
    const same = await waitForSameMetadata(cluster, { timeoutMs: convergenceTimeoutMs, requestTimeoutMs: readTimeoutMs });
    assert.equal(same.topics.length, records.length, "every node holds the same topics once caught up");
  });
}

test("after SIGTERM of every controller and a restart of all, a leader is elected and every acknowledged write reads back", { timeout: 120_000 }, async () => {
  await writeStopAllRestartAll("SIGTERM");
});

test("after kill -9 of every controller and a restart of all, a leader is elected and every acknowledged write reads back", { timeout: 120_000 }, async () => {
  await writeStopAllRestartAll("SIGKILL");
});
