// Regression tests for core bugs found by the deterministic simulator (src/sim). Each names the seed
// that found it; `npm run sim -- --seed S --trace` replays that run.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Network, appendResponse, heartbeatResponse, newLeader, newTestNode, ofType, takeReady } from "./testing.js";

test("a node that joins without a bootstrap membership learns the initial membership before replaying the log (sim seeds 14, 172)", () => {
  // Before the fix node 4 matched index 0 trivially, replayed the log from an empty membership and
  // believed voters=() learners=(4); once promoted it thought it was the only voter, elected itself and
  // committed entries alone (seed 172: two different entries committed at index 19).
  const nodes = [1, 2, 3].map((id) => newTestNode(id, [1, 2, 3]));
  const joiner = newTestNode(4, [], { joining: true });
  const net = new Network([...nodes, joiner]);
  const leader = net.node(1);
  leader.campaignNow();
  net.stabilize();
  assert.equal(leader.status().role, "leader");

  assert.ok(leader.proposeMembershipChange({ kind: "addLearner", nodeId: 4 }).ok);
  net.stabilize();
  // The leader probes with an empty append on the next heartbeat answer, then catches node 4 up.
  for (let i = 0; i < 3; i++) {
    net.tick(1);
    net.stabilize();
  }
  assert.deepEqual(joiner.membership(), { voters: [1, 2, 3], learners: [4] });
  assert.ok(net.delivered.some((m) => m.type === "InstallSnapshot" && m.to === 4 && m.meta.index === 0), "node 4 must be sent the snapshot at index 0");

  assert.ok(leader.proposeMembershipChange({ kind: "addVoter", nodeId: 4 }).ok);
  net.stabilize();
  net.tick(1);
  net.stabilize();
  assert.deepEqual(joiner.membership(), { voters: [1, 2, 3, 4], learners: [] });
  assert.equal(joiner.status().commitIndex, leader.status().commitIndex);
});

test("a joining node persists the initial membership, so it survives a restart", () => {
  const joiner = newTestNode(4, [], { joining: true });
  const membership = { voters: [1, 2, 3], learners: [4] };
  joiner.step({
    type: "InstallSnapshot",
    from: 1,
    to: 4,
    term: 1,
    meta: { index: 0, term: 0, membership },
    totalBytes: 0,
    offset: 0,
    chunk: new Uint8Array(0),
    done: true,
  });
  const ready = takeReady(joiner);
  assert.deepEqual(ready.snapshot?.meta, { index: 0, term: 0, membership });
  assert.deepEqual(ofType(ready.messages, "InstallSnapshotResponse")[0]?.installed, true);
  // Now it matches index 0 like any member.
  joiner.step({ type: "AppendEntries", from: 1, to: 4, term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0 });
  assert.equal(ofType(takeReady(joiner).messages, "AppendEntriesResponse")[0]?.success, true);
});

test("a joining node refuses to match index 0 until it knows the initial membership", () => {
  const joiner = newTestNode(4, [], { joining: true });
  joiner.step({ type: "AppendEntries", from: 1, to: 4, term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0 });
  const response = ofType(takeReady(joiner).messages, "AppendEntriesResponse")[0];
  assert.equal(response?.success, false);
  assert.equal(response?.rejectedIndex, 0);
});

test("a heartbeat answer from a lagging follower in replicate re-sends what a lost AppendEntries carried (sim seeds 27, 87)", () => {
  // Before the fix, once an AppendEntries to a replicating follower was lost and nothing new was proposed
  // (here the uncommitted-bytes cap refused proposals), the entry was never re-sent and never committed.
  const leader = newLeader([1, 2, 3]);
  const { term } = leader.status();
  const proposed = leader.propose(new Uint8Array([7]));
  assert.ok(proposed.ok);
  const sent = takeReady(leader).messages;
  assert.equal(ofType(sent, "AppendEntries").length, 2); // Both lost on the way.
  leader.step(heartbeatResponse({ from: 2, to: 1, term }));
  const again = ofType(takeReady(leader).messages, "AppendEntries").filter((m) => m.to === 2);
  assert.equal(again.length, 1, "the leader must send node 2 an append that reveals the gap");
  // Node 2 lost the entry: it rejects the empty append at the leader's last index; the leader re-sends.
  const probe = again[0];
  assert.ok(probe !== undefined);
  leader.step({ type: "AppendEntriesResponse", from: 2, to: 1, term, success: false, matchIndex: 0, rejectedIndex: probe.prevLogIndex, hintIndex: proposed.value.index - 1, hintTerm: term });
  const resent = ofType(takeReady(leader).messages, "AppendEntries").filter((m) => m.to === 2);
  assert.ok(resent.some((m) => m.entries.some((e) => e.index === proposed.value.index)), "the lost entry must be sent again");
  leader.step(appendResponse({ from: 2, to: 1, term, matchIndex: proposed.value.index }));
  takeReady(leader);
  assert.equal(leader.status().commitIndex, proposed.value.index);
});
