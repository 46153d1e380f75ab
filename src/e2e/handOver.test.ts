import assert from "node:assert/strict";
import { test } from "node:test";
import { withCluster } from "./harness.js";
import { httpExchange } from "./http.js";
import { checkTopics, countOutcomes, readTopics, WriteLoad } from "./metadataClient.js";
import { waitFor } from "./waitFor.js";

const leaderTimeoutMs = 20_000;
const progressTimeoutMs = 30_000;
const readTimeoutMs = 5_000;

test("SIGTERM on the leader hands leadership over, exits 0, and writes go on on the new leader", { timeout: 120_000 }, async () => {
  await withCluster({ nodesCount: 3, name: "yakt-e2e-hand-over" }, async (cluster) => {
    const leader = await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs });
    const load = new WriteLoad({ ...cluster.writerOptions(), writersCount: 2, topicsPerWriterMax: 10_000 });
    await waitFor(`20 acknowledged writes before the stop (${load.acknowledgedCount} so far)`, () => (load.acknowledgedCount >= 20 ? true : undefined), { timeoutMs: progressTimeoutMs });

    const exit = await cluster.terminate(leader.id);
    assert.deepEqual(exit, { code: 0, signal: null }, `the old leader exits 0 after SIGTERM`);
    const next = await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs, excludeId: leader.id });
    assert.ok(next.term > leader.term, `the new leader's term ${next.term} is after ${leader.term}`);
    assert.match(await cluster.readLog(leader.id), /"msg":"transferring leadership"/, "the old leader handed over instead of leaving an election timeout to pass");

    const ackedAtNewLeader = load.acknowledgedCount;
    await waitFor(`20 acknowledged writes after the hand-over (${load.acknowledgedCount - ackedAtNewLeader} so far)`, () => (load.acknowledgedCount >= ackedAtNewLeader + 20 ? true : undefined), { timeoutMs: progressTimeoutMs });
    const records = await load.stop();
    const direct = await httpExchange(`${cluster.apiUrl(next.id)}/v1/topics`, { method: "POST", body: { name: "after-hand-over" }, timeoutMs: readTimeoutMs });
    assert.equal(direct.status, 201, JSON.stringify(direct.body));

    const topics = await readTopics(cluster.apiUrl(next.id), { consistency: "linearizable", timeoutMs: readTimeoutMs });
    assert.deepEqual(checkTopics(topics.filter((t) => t.name !== "after-hand-over"), records), []);
    assert.ok(topics.some((t) => t.name === "after-hand-over"), "the write sent straight to the new leader reads back");
    console.log(`hand-over from node ${leader.id} to ${next.id}: writes ${JSON.stringify(countOutcomes(records))}`);
  });
});
