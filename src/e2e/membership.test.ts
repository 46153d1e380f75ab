import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { ClusterMember, ClusterStatus } from "../api/schemas.js";
import { withCluster } from "./harness.js";
import type { Cluster } from "./harness.js";
import { httpExchange, isRecord } from "./http.js";
import { createTopic, MetadataWriter, readTopics, waitForSameMetadata } from "./metadataClient.js";
import type { TopicWrite } from "./metadataClient.js";
import { waitFor } from "./waitFor.js";

// Adding and removing controllers at runtime on real processes (SPEC §2): a fourth controller started
// with --join is added as a voter through a follower, outlives its own kill -9 and an original node's,
// and is removed again; then the leader removes itself and the two left elect a new one.

const leaderTimeoutMs = 20_000;
/** The controllers wait up to 30 s for a learner to catch up, and a follower forwards for 10 s more. */
const addMemberTimeoutMs = 60_000;
const requestTimeoutMs = 10_000;
const catchUpTimeoutMs = 30_000;
const convergenceTimeoutMs = 30_000;
const topicsPerRoundCount = 5;

test("a controller started with --join is added as a voter through a follower, survives restarts, and is removed; a leader that removes itself hands over", { timeout: 240_000 }, async () => {
  await withCluster({ nodesCount: 4, joinIds: [4], name: "yakt-e2e-membership" }, async (cluster) => {
    const first = await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs });
    const writer = new MetadataWriter("m", cluster.writerOptions());
    const before = await createTopics(writer, topicsPerRoundCount);

    // Node 4 starts with no membership and waits to be added: it never campaigns.
    await cluster.startNode(4);
    const electionTimeoutMs = (await cluster.status(first.id)).election.electionTimeoutMs;
    await sleep(3 * electionTimeoutMs);
    const waiting = await cluster.status(4);
    assert.deepEqual([waiting.term, waiting.leaderId, waiting.members], [0, 0, []], `node 4 before it is added: ${JSON.stringify(waiting)}`);

    const follower = cluster.foundingIds().find((id) => id !== first.id);
    assert(follower !== undefined);
    const body = { id: 4, raftAddress: cluster.raftAddress(4), apiAddress: cluster.apiAddress(4), role: "voter" };
    const added = await httpExchange(`${cluster.apiUrl(follower)}/v1/cluster/members`, { method: "POST", body, timeoutMs: addMemberTimeoutMs });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.deepEqual(added.body, { membership: { voters: [1, 2, 3, 4], learners: [] }, member: body });

    await waitForMembers(cluster, [1, 2, 3, 4], [1, 2, 3, 4]);
    const names = before.map((t) => t.name);
    await waitFor(`node 4 to hold the topics written before it joined`, async () => ((await readTopics(cluster.apiUrl(4), { consistency: "stale", timeoutMs: requestTimeoutMs })).length >= names.length ? true : undefined), { timeoutMs: catchUpTimeoutMs });
    const onNode4 = (await readTopics(cluster.apiUrl(4), { consistency: "stale", timeoutMs: requestTimeoutMs })).map((t) => t.name);
    for (const name of names) assert.ok(onNode4.includes(name), `node 4 holds topic ${name}`);

    // kill -9 of node 4, then back: its membership and the others' addresses come from its own disk.
    await cluster.kill(4);
    await cluster.restart(4);
    await cluster.waitForCaughtUp(4, { timeoutMs: catchUpTimeoutMs });
    await waitForMembers(cluster, [1, 2, 3, 4], [4]);

    // kill -9 of an original follower: three of four voters still commit.
    const leader = await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs });
    const victim = cluster.foundingIds().find((id) => id !== leader.id);
    assert(victim !== undefined);
    await cluster.kill(victim);
    await createTopics(writer, topicsPerRoundCount);
    // Its command line does not name node 4: it reaches it through the addresses in its log.
    await cluster.restart(victim);
    await cluster.waitForCaughtUp(victim, { timeoutMs: catchUpTimeoutMs });
    await waitForMembers(cluster, [1, 2, 3, 4], [victim]);
    await waitForSameMetadata(cluster, { timeoutMs: convergenceTimeoutMs, requestTimeoutMs });

    // Node 4 leaves again.
    const removed = await httpExchange(`${cluster.apiUrl(follower)}/v1/cluster/members/4`, { method: "DELETE", timeoutMs: addMemberTimeoutMs });
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.deepEqual(removed.body, { membership: { voters: [1, 2, 3], learners: [] }, removedId: 4, unregistered: true });
    await waitForMembers(cluster, [1, 2, 3], [1, 2, 3]);
    assert.deepEqual(await cluster.terminate(4), { code: 0, signal: null });
    await createTopics(writer, topicsPerRoundCount);

    // The leader removes itself: it answers once the removal committed, and the two left elect a leader.
    const last = await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs });
    const rest = [1, 2, 3].filter((id) => id !== last.id);
    const selfRemoved = await httpExchange(`${cluster.apiUrl(last.id)}/v1/cluster/members/${last.id}`, { method: "DELETE", timeoutMs: addMemberTimeoutMs });
    assert.equal(selfRemoved.status, 200, JSON.stringify(selfRemoved.body));
    assert.deepEqual(isRecord(selfRemoved.body) && selfRemoved.body["membership"], { voters: rest, learners: [] });
    const next = await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs, excludeId: last.id });
    assert.ok(rest.includes(next.id), `node ${next.id} leads among ${rest.join(", ")}`);
    await waitForMembers(cluster, rest, rest);
    assert.deepEqual(await cluster.terminate(last.id), { code: 0, signal: null });
    await createTopics(writer, topicsPerRoundCount);
    const same = await waitForSameMetadata(cluster, { timeoutMs: convergenceTimeoutMs, requestTimeoutMs, ids: rest });
    assert.equal(same.topics.length, 4 * topicsPerRoundCount);
    console.log(`node 4 joined through node ${follower}, left again; node ${last.id} removed itself, node ${next.id} leads term ${next.term}`);
  });
});

/** Creates `count` topics one after the other; every one must be acknowledged. */
async function createTopics(writer: MetadataWriter, count: number): Promise<TopicWrite[]> {
  const written: TopicWrite[] = [];
  for (let i = 0; i < count; i++) {
    const topic = await createTopic(writer);
    assert.equal(topic.outcome, "acknowledged", `topic ${topic.name}: ${topic.lastFailure ?? ""}`);
    written.push(topic);
  }
  return written;
}

/**
 * Waits until each node of `ids` lists exactly the `voters` as voting members of `/v1/cluster`, every one
 * with the addresses it was started with (node 4's known only through the metadata log on nodes 1–3).
 */
async function waitForMembers(cluster: Cluster, voters: readonly number[], ids: readonly number[]): Promise<void> {
  let seen = "";
  await waitFor(
    () => `nodes ${ids.join(", ")} to list voters ${voters.join(", ")} with their addresses; last seen: ${seen}`,
    async () => {
      const statuses = await cluster.statuses(ids);
      seen = [...statuses.values()].map((s) => `node ${s.nodeId}: ${describeMembers(s)}`).join("; ");
      if (statuses.size !== ids.length) return undefined;
      const expected = voters.map((id) => `${id}:voter:${cluster.raftAddress(id)}:${cluster.apiUrl(id)}`).join(",");
      return [...statuses.values()].every((s) => describeMembers(s) === expected) ? true : undefined;
    },
    { timeoutMs: convergenceTimeoutMs, intervalMs: 50 },
  );
}

function describeMembers(status: ClusterStatus): string {
  return status.members.map((m: ClusterMember) => `${m.id}:${m.voter ? "voter" : "learner"}:${m.raftAddress ?? "?"}:${m.apiUrl ?? "?"}`).join(",");
}
