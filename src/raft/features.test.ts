/**
 * The extensions DESIGN §3 asks of the core beyond the paper's Figure 2: pre-vote, check-quorum and
 * leader leases, persistence ordering, proposal limits, batching, flow control, ReadIndex, leadership
 * transfer, membership changes and snapshots. Nodes run with the defaults (pre-vote and check-quorum on)
 * unless a test says otherwise.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeMembershipChange } from "./membership.js";
import type { RaftNode } from "./node.js";
import {
  Network,
  appendEntries,
  appendResponse,
  bytes,
  electLeader,
  electionTimeoutTicks,
  entry,
  heartbeat,
  heartbeatResponse,
  indexTerms,
  logOf,
  newLeader,
  newTestNode,
  ofType,
  preVote,
  preVoteResponse,
  requestVote,
  requestVoteResponse,
  takeMessages,
  takeReady,
  tickTimes,
  ticksUntil,
} from "./testing.js";
import type { InitialState, Message, NodeId, Snapshot } from "./types.js";

function deliver(messages: readonly Message[], ...nodes: RaftNode[]): void {
  for (const m of messages) for (const node of nodes) if (m.to === node.id) node.step(m);
}

function byRecipient<T extends Message>(messages: readonly T[]): T[] {
  return [...messages].sort((a, b) => a.to - b.to);
}

/** A network of default nodes `ids` (all voters) where node 1 has been elected and everything delivered. */
function clusterWithLeader(ids: readonly NodeId[], options: Parameters<typeof newTestNode>[2] = {}): Network {
  const net = new Network(ids.map((id) => newTestNode(id, ids, options)));
  net.node(1).campaignNow();
  net.stabilize();
  assert.equal(net.node(1).status().role, "leader");
  return net;
}

/** Takes Readies until the node has applied everything it has committed. */
function applyAll(node: RaftNode): void {
  for (let i = 0; i < 10 && node.hasReady(); i++) takeReady(node);
  assert.equal(node.status().appliedIndex, node.status().commitIndex);
}

// ---------------------------------------------------------------- pre-vote

test("pre-vote keeps a partitioned node's term unchanged however often it campaigns", () => {
  const net = clusterWithLeader([1, 2, 3]);
  const sentBy3: Message[] = [];
  net.dropIf = (m) => {
    if (m.from === 3) sentBy3.push(m);
    return m.from === 3 || m.to === 3;
  };
  for (let i = 0; i < 10 * electionTimeoutTicks; i++) {
    net.tick(3);
    net.stabilize();
  }
  assert.ok(ofType(sentBy3, "PreVote").length >= 5, `only ${ofType(sentBy3, "PreVote").length} pre-votes`);
  assert.deepEqual(ofType(sentBy3, "RequestVote"), []);
  assert.deepEqual(new Set(ofType(sentBy3, "PreVote").map((m) => m.term)), new Set([2]));
  assert.equal(net.node(3).status().term, 1);

  // Back on the network, it follows the leader it was cut off from, which kept its term.
  net.dropIf = undefined;
  net.tick(1);
  net.stabilize();
  assert.deepEqual(
    [1, 2, 3].map((id) => [net.node(id).status().term, net.node(id).status().leaderId]),
    [
      [1, 1],
      [1, 1],
      [1, 1],
    ],
  );
});

test("without pre-vote a partitioned node's term climbs with every election it starts", () => {
  const node = newTestNode(3, [1, 2, 3], { preVote: false });
  for (let i = 0; i < 10 * electionTimeoutTicks; i++) node.tick();
  assert.ok(node.status().term >= 5, `term ${node.status().term}`);
});

test("a pre-candidate becomes a candidate only once a majority grants its pre-vote", () => {
  const node = newTestNode(1, [1, 2, 3]);
  node.campaignNow();
  takeReady(node);
  node.step(preVoteResponse({ from: 2, to: 1, term: 1, granted: true }));
  const ready = takeReady(node);
  assert.deepEqual(ready.softState, { role: "candidate", leaderId: 0 });
  assert.deepEqual(ready.hardState, { term: 1, votedFor: 1, commitIndex: 0 });
  assert.deepEqual(byRecipient(ready.messages), [
    requestVote({ from: 1, to: 2, term: 1 }),
    requestVote({ from: 1, to: 3, term: 1 }),
  ]);
});

test("a pre-candidate refused by a majority returns to follower without changing its term", () => {
  const node = newTestNode(1, [1, 2, 3]);
  node.campaignNow();
  takeReady(node);
  node.step(preVoteResponse({ from: 2, to: 1, term: 0, granted: false }));
  node.step(preVoteResponse({ from: 3, to: 1, term: 0, granted: false }));
  const ready = takeReady(node);
  assert.deepEqual(ready.softState, { role: "follower", leaderId: 0 });
  assert.equal(ready.hardState, undefined);
});

test("step() grants a pre-vote for a higher term without adopting the term or recording a vote", () => {
  const node = newTestNode(2, [1, 2, 3]);
  node.step(preVote({ from: 1, to: 2, term: 3 }));
  const ready = takeReady(node);
  assert.deepEqual(ready.messages, [preVoteResponse({ from: 2, to: 1, term: 3, granted: true })]);
  assert.equal(ready.hardState, undefined);
  assert.equal(node.status().term, 0);
  assert.equal(node.status().votedFor, 0);
});

test("step() refuses a pre-vote of a stale term with its own term", () => {
  const initial: InitialState = { hardState: { term: 4, votedFor: 0, commitIndex: 0 }, snapshot: undefined, entries: [] };
  const node = newTestNode(2, [1, 2, 3], { initial });
  node.step(preVote({ from: 1, to: 2, term: 3 }));
  assert.deepEqual(takeMessages(node), [preVoteResponse({ from: 2, to: 1, term: 4, granted: false })]);
});

// ---------------------------------------------------------------- check-quorum and leases

test("check-quorum steps down a leader that heard from no majority within an election timeout", () => {
  const leader = newLeader([1, 2, 3]);
  // The followers answered during setup, which covers the first election timeout.
  tickTimes(leader, 2 * electionTimeoutTicks - 1);
  assert.equal(leader.status().role, "leader");
  leader.tick();
  const status = leader.status();
  assert.equal(status.role, "follower");
  assert.equal(status.leaderId, 0);
  assert.equal(status.term, 1);
});

test("isLeader() says what status().role says: follower, pre-candidate, candidate, leader, stepped down", () => {
  const node = newTestNode(1, [1, 2, 3]);
  const agrees = (): void => assert.equal(node.isLeader(), node.status().role === "leader");
  agrees();
  assert.equal(node.isLeader(), false);
  node.campaignNow();
  agrees();
  assert.equal(node.isLeader(), false);
  const leader = newLeader([1, 2, 3]);
  assert.equal(leader.isLeader(), true);
  assert.equal(leader.status().role, "leader");
  tickTimes(leader, 2 * electionTimeoutTicks);
  assert.equal(leader.status().role, "follower");
  assert.equal(leader.isLeader(), false);
});

test("check-quorum keeps a leader that hears from one follower of three", () => {
  const leader = newLeader([1, 2, 3]);
  for (let i = 0; i < 5 * electionTimeoutTicks; i++) {
    leader.tick();
    leader.step(heartbeatResponse({ from: 2, to: 1, term: 1 }));
  }
  assert.equal(leader.status().role, "leader");
});

test("a follower in a leader lease refuses pre-votes and votes but grants a vote forced by TimeoutNow", () => {
  const node = newTestNode(2, [1, 2, 3]);
  node.step(heartbeat({ from: 1, to: 2, term: 1 }));
  takeReady(node);
  node.step(preVote({ from: 3, to: 2, term: 2 }));
  assert.deepEqual(takeMessages(node), [preVoteResponse({ from: 2, to: 3, term: 1, granted: false })]);
  node.step(requestVote({ from: 3, to: 2, term: 2 }));
  const refused = takeReady(node);
  assert.deepEqual(refused.messages, [requestVoteResponse({ from: 2, to: 3, term: 1, granted: false })]);
  assert.equal(refused.hardState, undefined, "a refused vote does not move the term");
  node.step(requestVote({ from: 3, to: 2, term: 2, transfer: true }));
  const forced = takeReady(node);
  assert.deepEqual(forced.messages, [requestVoteResponse({ from: 2, to: 3, term: 2, granted: true })]);
  assert.deepEqual(forced.hardState, { term: 2, votedFor: 3, commitIndex: 0 });
});

test("a follower whose lease ran out grants a pre-vote", () => {
  const node = newTestNode(2, [1, 2, 3]);
  node.step(heartbeat({ from: 1, to: 2, term: 1 }));
  tickTimes(node, electionTimeoutTicks);
  takeReady(node);
  node.step(preVote({ from: 3, to: 2, term: 2 }));
  assert.deepEqual(ofType(takeMessages(node), "PreVoteResponse"), [preVoteResponse({ from: 2, to: 3, term: 2, granted: true })]);
});

test("check-quorum counts only voters: answers from a learner do not keep a leader in office", () => {
  const leader = newLeader([1, 2, 3], { learners: [4] });
  tickTimes(leader, electionTimeoutTicks);
  for (let i = 0; i < electionTimeoutTicks - 1; i++) {
    leader.tick();
    leader.step(heartbeatResponse({ from: 4, to: 1, term: 1 }));
  }
  assert.equal(leader.status().role, "leader");
  leader.tick();
  assert.equal(leader.status().role, "follower");
});

test("a node out of its lease still refuses a pre-vote from a candidate with a less up-to-date log", () => {
  const initial: InitialState = {
    hardState: { term: 1, votedFor: 0, commitIndex: 0 },
    snapshot: undefined,
    entries: [entry(1, 1), entry(2, 1)],
  };
  const node = newTestNode(2, [1, 2, 3], { initial });
  node.step(preVote({ from: 3, to: 2, term: 2, lastLogIndex: 1, lastLogTerm: 1 }));
  assert.deepEqual(takeMessages(node), [preVoteResponse({ from: 2, to: 3, term: 1, granted: false })]);
  node.step(preVote({ from: 3, to: 2, term: 2, lastLogIndex: 2, lastLogTerm: 1 }));
  assert.deepEqual(takeMessages(node), [preVoteResponse({ from: 2, to: 3, term: 2, granted: true })]);
});

// ---------------------------------------------------------------- persistence order

test("sendBeforePersist is false in the Ready where a single node elects itself and changes term and vote", () => {
  const node = newTestNode(1, [1]);
  node.campaignNow();
  const elected = takeReady(node);
  assert.deepEqual(elected.softState, { role: "leader", leaderId: 1 });
  assert.deepEqual(elected.hardState, { term: 1, votedFor: 1, commitIndex: 0 });
  assert.equal(elected.sendBeforePersist, false);
  node.propose(bytes(1));
  const steady = takeReady(node);
  assert.equal(steady.sendBeforePersist, true);
  assert.deepEqual(indexTerms(steady.entries), [[2, 1]]);
});

test("sendBeforePersist is true for a leader whose term and vote were persisted in an earlier Ready", () => {
  const node = newTestNode(1, [1, 2, 3]);
  node.campaignNow();
  assert.equal(takeReady(node).sendBeforePersist, false);
  node.step(preVoteResponse({ from: 2, to: 1, term: 1, granted: true }));
  const candidate = takeReady(node);
  assert.deepEqual(candidate.hardState, { term: 1, votedFor: 1, commitIndex: 0 });
  assert.equal(candidate.sendBeforePersist, false);
  node.step(requestVoteResponse({ from: 2, to: 1, term: 1, granted: true }));
  const leader = takeReady(node);
  assert.equal(leader.softState.role, "leader");
  assert.equal(leader.hardState, undefined);
  assert.equal(leader.sendBeforePersist, true);
});

test("sendBeforePersist is false for a follower", () => {
  const node = newTestNode(2, [1, 2, 3]);
  node.step(appendEntries({ from: 1, to: 2, term: 1, entries: [entry(1, 1)] }));
  takeReady(node);
  node.step(appendEntries({ from: 1, to: 2, term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: [entry(2, 1)] }));
  const ready = takeReady(node);
  assert.equal(ready.hardState, undefined);
  assert.equal(ready.sendBeforePersist, false);
});

test("a leader counts its own entry toward commit only after advance()", () => {
  const leader = newLeader([1, 2, 3]);
  leader.propose(bytes(1));
  leader.ready();
  leader.step(appendResponse({ from: 2, to: 1, term: 1, matchIndex: 2 }));
  assert.equal(leader.status().commitIndex, 1, "the leader's own write is not yet durable");
  leader.advance();
  assert.equal(leader.status().commitIndex, 2);
  assert.deepEqual(indexTerms(takeReady(leader).committedEntries), [[2, 1]]);
});

test("a leader's Ready marks its committed entries durable, so they may be applied while the Ready's new entries are written", () => {
  const leader = newLeader([1, 2, 3]);
  leader.propose(bytes(1));
  leader.ready();
  leader.step(appendResponse({ from: 2, to: 1, term: 1, matchIndex: 2 }));
  leader.propose(bytes(2));
  leader.advance();
  const ready = takeReady(leader);
  assert.deepEqual(indexTerms(ready.entries), [[3, 1]]);
  assert.deepEqual(indexTerms(ready.committedEntries), [[2, 1]]);
  assert.equal(ready.durableCommittedCount, 1);
});

test("a follower's committed entries that arrive in the same Ready are not durable yet: they wait for its writes", () => {
  const node = newTestNode(2, [1, 2, 3]);
  node.step(appendEntries({ from: 1, to: 2, term: 1, entries: [entry(1, 1)] }));
  takeReady(node);
  node.step(appendEntries({ from: 1, to: 2, term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: [entry(2, 1), entry(3, 1)], leaderCommit: 2 }));
  const ready = takeReady(node);
  assert.deepEqual(indexTerms(ready.committedEntries), [[1, 1], [2, 1]]);
  assert.equal(ready.durableCommittedCount, 1, "entry 1 was durable before; entry 2 is written by this Ready");
});

test("a follower whose durable entry is overwritten does not count it durable, whatever its index", () => {
  const node = newTestNode(2, [1, 2, 3]);
  node.step(appendEntries({ from: 1, to: 2, term: 1, entries: [entry(1, 1), entry(2, 1)] }));
  takeReady(node);
  node.step(appendEntries({ from: 3, to: 2, term: 2, prevLogIndex: 1, prevLogTerm: 1, entries: [entry(2, 2)], leaderCommit: 2 }));
  const ready = takeReady(node);
  assert.deepEqual(indexTerms(ready.committedEntries), [[1, 1], [2, 2]]);
  assert.equal(ready.durableCommittedCount, 1);
});

test("a single-node leader commits its entry at advance()", () => {
  const node = newTestNode(1, [1]);
  node.campaignNow();
  takeReady(node);
  node.propose(bytes(1));
  node.ready();
  assert.equal(node.status().commitIndex, 1);
  node.advance();
  assert.equal(node.status().commitIndex, 2);
});

// ---------------------------------------------------------------- proposals

test("propose() on a follower fails with NotLeader naming the leader it knows", () => {
  const node = newTestNode(2, [1, 2, 3]);
  assert.deepEqual(node.propose(bytes(1)), { ok: false, error: { code: "NotLeader", leaderId: 0 } });
  node.step(heartbeat({ from: 3, to: 2, term: 1 }));
  assert.deepEqual(node.propose(bytes(1)), { ok: false, error: { code: "NotLeader", leaderId: 3 } });
  assert.deepEqual(node.proposeMembershipChange({ kind: "addLearner", nodeId: 4 }), { ok: false, error: { code: "NotLeader", leaderId: 3 } });
  assert.deepEqual(node.transferLeadership(1), { ok: false, error: { code: "NotLeader", leaderId: 3 } });
  assert.equal(node.status().lastIndex, 0);
});

test("propose() fails with UncommittedBytesExceeded once uncommitted data would pass uncommittedBytesMax", () => {
  const leader = newLeader([1, 2, 3], { uncommittedBytesMax: 10 });
  assert.equal(leader.propose(new Uint8Array(6)).ok, true);
  assert.deepEqual(leader.propose(new Uint8Array(5)), {
    ok: false,
    error: { code: "UncommittedBytesExceeded", uncommittedBytes: 6, limitBytes: 10 },
  });
  assert.equal(leader.propose(new Uint8Array(4)).ok, true, "exactly at the limit is allowed");
  assert.deepEqual(leader.propose(new Uint8Array(1)), {
    ok: false,
    error: { code: "UncommittedBytesExceeded", uncommittedBytes: 10, limitBytes: 10 },
  });
  takeReady(leader);
  leader.step(appendResponse({ from: 2, to: 1, term: 1, matchIndex: 3 }));
  assert.deepEqual(leader.propose(new Uint8Array(10)), { ok: true, value: { index: 4, term: 1 } }, "committing frees the budget");
});

test("propose() admits one entry larger than uncommittedBytesMax into an empty pipeline", () => {
  const leader = newLeader([1, 2, 3], { uncommittedBytesMax: 10 });
  assert.equal(leader.propose(new Uint8Array(20)).ok, true);
  assert.deepEqual(leader.propose(new Uint8Array(1)), {
    ok: false,
    error: { code: "UncommittedBytesExceeded", uncommittedBytes: 20, limitBytes: 10 },
  });
});

test("propose() fails with EntryTooLarge for data above the entry limit", () => {
  const leader = newLeader([1, 2, 3], { entryBytesMax: 8 });
  assert.deepEqual(leader.propose(new Uint8Array(9)), { ok: false, error: { code: "EntryTooLarge", sizeBytes: 9, limitBytes: 8 } });
  assert.deepEqual(leader.propose(new Uint8Array(8)), { ok: true, value: { index: 2, term: 1 } });
});

test("propose() fails with LeadershipTransferInProgress during a transfer", () => {
  const leader = newLeader([1, 2, 3]);
  assert.deepEqual(leader.transferLeadership(2), { ok: true, value: undefined });
  assert.deepEqual(leader.propose(bytes(1)), { ok: false, error: { code: "LeadershipTransferInProgress", leaderId: 1 } });
  assert.equal(leader.status().lastIndex, 1);
});

// ---------------------------------------------------------------- batching and flow control

test("proposals of one Ready go to each follower in one AppendEntries", () => {
  const leader = newLeader([1, 2, 3]);
  leader.propose(bytes(1));
  leader.propose(bytes(2));
  leader.propose(bytes(3));
  const ready = takeReady(leader);
  const batch = [entry(2, 1, bytes(1)), entry(3, 1, bytes(2)), entry(4, 1, bytes(3))];
  assert.deepEqual(ready.entries, batch);
  assert.deepEqual(byRecipient(ready.messages), [
    appendEntries({ from: 1, to: 2, term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: batch, leaderCommit: 1 }),
    appendEntries({ from: 1, to: 3, term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: batch, leaderCommit: 1 }),
  ]);
});

test("a batch larger than appendEntriesCountMax is split into pipelined AppendEntries", () => {
  const leader = newLeader([1, 2], { appendEntriesCountMax: 2 });
  for (let i = 0; i < 5; i++) leader.propose(bytes(i));
  const appends = ofType(takeMessages(leader), "AppendEntries");
  assert.deepEqual(
    appends.map((m) => [m.prevLogIndex, m.entries.map((e) => e.index)]),
    [
      [1, [2, 3]],
      [3, [4, 5]],
      [5, [6]],
    ],
  );
});

test("with inflightMessagesMax 2 the leader stops after two unacknowledged appends and resumes on an ack", () => {
  const leader = newLeader([1, 2, 3], { inflightMessagesMax: 2 });
  leader.propose(bytes(1));
  assert.deepEqual(ofType(takeMessages(leader), "AppendEntries").map((m) => [m.to, m.prevLogIndex]), [
    [2, 1],
    [3, 1],
  ]);
  leader.propose(bytes(2));
  assert.deepEqual(ofType(takeMessages(leader), "AppendEntries").map((m) => [m.to, m.prevLogIndex]), [
    [2, 2],
    [3, 2],
  ]);
  leader.propose(bytes(3));
  const paused = takeReady(leader);
  assert.deepEqual(indexTerms(paused.entries), [[4, 1]], "the leader still writes its own log");
  assert.deepEqual(paused.messages, [], "both windows are full");
  leader.step(appendResponse({ from: 2, to: 1, term: 1, matchIndex: 2 }));
  const resumed = ofType(takeMessages(leader), "AppendEntries");
  assert.deepEqual(
    resumed.map((m) => [m.to, m.prevLogIndex, m.entries.map((e) => e.index), m.leaderCommit]),
    [[2, 3, [4], 2]],
    "follower 2 gets entry 4 (and the new commit index); follower 3's window is still full",
  );
});

test("with inflightBytesMax the leader stops once the unacknowledged bytes reach the limit", () => {
  const leader = newLeader([1, 2], { inflightBytesMax: 5 });
  leader.propose(new Uint8Array(5));
  assert.equal(ofType(takeMessages(leader), "AppendEntries").length, 1);
  leader.propose(new Uint8Array(1));
  assert.deepEqual(takeMessages(leader), []);
  leader.step(appendResponse({ from: 2, to: 1, term: 1, matchIndex: 2 }));
  const resumed = ofType(takeMessages(leader), "AppendEntries").filter((m) => m.entries.length > 0);
  assert.deepEqual(resumed.map((m) => m.entries.map((e) => e.index)), [[3]]);
});

test("in the probe state the leader sends one append at a time, and a heartbeat response allows the next", () => {
  const leader = newTestNode(1, [1, 2, 3]);
  electLeader(leader);
  leader.propose(bytes(1));
  leader.propose(bytes(2));
  const paused = takeReady(leader);
  assert.deepEqual(ofType(paused.messages, "AppendEntries"), [], "the no-op probes are still unanswered");
  leader.step(heartbeatResponse({ from: 2, to: 1, term: 1 }));
  const probes = ofType(takeMessages(leader), "AppendEntries");
  assert.deepEqual(
    probes.map((m) => [m.to, m.prevLogIndex, m.entries.map((e) => e.index)]),
    [[2, 0, [1, 2, 3]]],
  );
  leader.propose(bytes(3));
  assert.deepEqual(ofType(takeMessages(leader), "AppendEntries"), [], "still probing: one append at a time");
  leader.step(appendResponse({ from: 2, to: 1, term: 1, matchIndex: 3 }));
  const replicating = ofType(takeMessages(leader), "AppendEntries").filter((m) => m.to === 2 && m.entries.length > 0);
  assert.deepEqual(
    replicating.map((m) => [m.prevLogIndex, m.entries.map((e) => e.index)]),
    [[3, [4]]],
  );
  assert.equal(leader.status().progress.find((p) => p.id === 2)?.state, "replicate");
  assert.equal(leader.status().progress.find((p) => p.id === 3)?.state, "probe");
});

test("a lost append in the replicate state is repaired after a heartbeat response, with no new proposal", () => {
  const net = clusterWithLeader([1, 2, 3]);
  // Every message to and from 2 is lost while entry 2 is replicated and committed.
  net.isolate(2);
  net.node(1).propose(bytes(1));
  net.stabilize();
  assert.equal(net.node(1).status().commitIndex, 2);
  assert.equal(net.node(2).status().lastIndex, 1);
  assert.equal(net.node(1).status().progress.find((p) => p.id === 2)?.state, "replicate");
  net.heal();
  net.tick(1);
  net.stabilize();
  assert.deepEqual(logOf(net.node(2)), logOf(net.node(1)));
  assert.equal(net.node(2).status().commitIndex, 2);
});

test("committed entries are handed out at most readyCommittedBytesMax per Ready, at least one entry each", () => {
  const node = newTestNode(1, [1], { readyCommittedBytesMax: 3 });
  node.campaignNow();
  takeReady(node);
  for (const b of [1, 2, 3]) node.propose(bytes(b, b));
  takeReady(node);
  assert.equal(node.status().commitIndex, 4);
  const handedOut: number[][] = [];
  while (node.hasReady()) handedOut.push(takeReady(node).committedEntries.map((e) => e.index));
  assert.deepEqual(handedOut, [[2], [3], [4]]);
});

// ---------------------------------------------------------------- ReadIndex

test("readIndex() on a single node answers in the next Ready once its no-op is committed", () => {
  const node = newTestNode(1, [1]);
  node.campaignNow();
  assert.deepEqual(node.readIndex(6), { ok: true, value: undefined });
  assert.deepEqual(takeReady(node).readStates, [], "the no-op is not yet durable, hence not committed");
  assert.deepEqual(takeReady(node).readStates, [{ requestId: 6, readIndex: 1 }]);
  node.readIndex(7);
  const ready = takeReady(node);
  assert.deepEqual(ready.readStates, [{ requestId: 7, readIndex: 1 }]);
  assert.deepEqual(ready.messages, []);
});

test("readIndex() on a leader waits for a majority to answer a heartbeat sent after the request", () => {
  const leader = newLeader([1, 2, 3]);
  leader.readIndex(7);
  const asked = takeReady(leader);
  assert.deepEqual(asked.readStates, []);
  assert.deepEqual(byRecipient(asked.messages), [
    heartbeat({ from: 1, to: 2, term: 1, leaderCommit: 1, readRound: 1 }),
    heartbeat({ from: 1, to: 3, term: 1, leaderCommit: 1, readRound: 1 }),
  ]);
  leader.step(heartbeatResponse({ from: 2, to: 1, term: 1, readRound: 0 }));
  assert.deepEqual(takeReady(leader).readStates, [], "an answer to an older heartbeat proves nothing");
  leader.step(heartbeatResponse({ from: 2, to: 1, term: 1, readRound: 1 }));
  assert.deepEqual(takeReady(leader).readStates, [{ requestId: 7, readIndex: 1 }]);
});

test(
  "readIndex() after a periodic heartbeat still waits for a fresh quorum round",
  () => {
    const leader = newLeader([1, 2, 3]);
    leader.readIndex(1);
    takeReady(leader);
    leader.step(heartbeatResponse({ from: 2, to: 1, term: 1, readRound: 1 }));
    assert.deepEqual(takeReady(leader).readStates, [{ requestId: 1, readIndex: 1 }]);
    // A periodic heartbeat goes out carrying round 1, which follower 2 already confirmed; a read arrives.
    leader.tick();
    leader.readIndex(2);
    const ready = takeReady(leader);
    assert.deepEqual(ready.readStates, [], "no majority has confirmed leadership since read 2 arrived");
    leader.step(heartbeatResponse({ from: 3, to: 1, term: 1, readRound: 2 }));
    assert.deepEqual(takeReady(leader).readStates, [{ requestId: 2, readIndex: 1 }]);
  },
);

test("readIndex() on a new leader waits until its no-op commits, then for a heartbeat round", () => {
  const leader = newTestNode(1, [1, 2, 3]);
  electLeader(leader);
  leader.readIndex(7);
  const waiting = takeReady(leader);
  assert.deepEqual(waiting.readStates, []);
  assert.deepEqual(ofType(waiting.messages, "Heartbeat"), [], "no round starts before the no-op commits");
  leader.step(appendResponse({ from: 2, to: 1, term: 1, matchIndex: 1 }));
  const committed = takeReady(leader);
  assert.equal(leader.status().commitIndex, 1);
  assert.deepEqual(committed.readStates, []);
  assert.deepEqual(
    ofType(committed.messages, "Heartbeat").map((m) => [m.to, m.readRound]),
    [
      [2, 1],
      [3, 1],
    ],
  );
  leader.step(heartbeatResponse({ from: 3, to: 1, term: 1, readRound: 1 }));
  assert.deepEqual(takeReady(leader).readStates, [{ requestId: 7, readIndex: 1 }]);
});

test("readIndex() on a follower is forwarded to the leader and answered with a ReadState", () => {
  const net = clusterWithLeader([1, 2, 3]);
  net.node(1).propose(bytes(5));
  net.stabilize();
  assert.deepEqual(net.node(2).readIndex(9), { ok: true, value: undefined });
  net.stabilize();
  assert.deepEqual(net.readStates.get(2), [{ requestId: 9, readIndex: 2 }]);
  assert.deepEqual(net.readStates.get(1), []);
});

test("a read forwarded by one of three voters is answered at once: its request and the leader are a majority", () => {
  const leader = newLeader([1, 2, 3]);
  leader.step({ type: "ReadIndexRequest", from: 2, to: 1, term: 1, requestId: 9 });
  const ready = takeReady(leader);
  assert.deepEqual(ready.messages, [{ type: "ReadIndexResponse", from: 1, to: 2, term: 1, requestId: 9, readIndex: 1 }]);
  assert.deepEqual(ofType(ready.messages, "Heartbeat"), [], "no heartbeat round for it");
});

test("a read forwarded by one of five voters still needs one more voter's answer to a round opened after it", () => {
  const leader = newLeader([1, 2, 3, 4, 5]);
  leader.step({ type: "ReadIndexRequest", from: 2, to: 1, term: 1, requestId: 9 });
  const asked = takeReady(leader);
  assert.deepEqual(ofType(asked.messages, "ReadIndexResponse"), []);
  assert.deepEqual(
    ofType(asked.messages, "Heartbeat").map((m) => [m.to, m.readRound]),
    [
      [2, 1],
      [3, 1],
      [4, 1],
      [5, 1],
    ],
  );
  leader.step(heartbeatResponse({ from: 3, to: 1, term: 1, readRound: 0 }));
  assert.deepEqual(ofType(takeReady(leader).messages, "ReadIndexResponse"), [], "an answer to an older round proves nothing");
  leader.step(heartbeatResponse({ from: 3, to: 1, term: 1, readRound: 1 }));
  assert.deepEqual(ofType(takeReady(leader).messages, "ReadIndexResponse"), [
    { type: "ReadIndexResponse", from: 1, to: 2, term: 1, requestId: 9, readIndex: 1 },
  ]);
});

test("a read forwarded to a new leader waits for its no-op to commit, then is answered without a round", () => {
  const leader = newTestNode(1, [1, 2, 3]);
  electLeader(leader);
  leader.step({ type: "ReadIndexRequest", from: 2, to: 1, term: 1, requestId: 9 });
  assert.deepEqual(ofType(takeReady(leader).messages, "ReadIndexResponse"), []);
  leader.step(appendResponse({ from: 3, to: 1, term: 1, matchIndex: 1 }));
  const committed = takeReady(leader);
  assert.deepEqual(ofType(committed.messages, "ReadIndexResponse"), [{ type: "ReadIndexResponse", from: 1, to: 2, term: 1, requestId: 9, readIndex: 1 }]);
  assert.deepEqual(ofType(committed.messages, "Heartbeat"), []);
});

test("a deposed leader cut off with one of five voters does not answer that voter's read", () => {
  const net = clusterWithLeader([1, 2, 3, 4, 5]);
  for (const minority of [1, 2]) for (const majority of [3, 4, 5]) net.cut(minority, majority);
  // The majority's election timeouts pass (the old leader is not ticked, so it does not step down).
  const leaderOfMajority = (): NodeId | undefined => [3, 4, 5].find((id) => net.node(id).status().role === "leader");
  for (let i = 0; i < 10 * electionTimeoutTicks && leaderOfMajority() === undefined; i++) {
    for (const id of [3, 4, 5]) net.tick(id);
    net.stabilize();
  }
  const newLeaderId = leaderOfMajority();
  assert.ok(newLeaderId !== undefined, "the majority elected a leader");
  net.node(newLeaderId).propose(bytes(7));
  net.stabilize();
  assert.equal(net.node(1).status().role, "leader", "the old leader has not heard of term 2");
  assert.deepEqual(net.node(2).readIndex(9), { ok: true, value: undefined });
  net.stabilize();
  assert.deepEqual(net.readStates.get(2), [], "a read there would miss the write committed in term 2");
});

test("a forwarded read from an older term is not answered", () => {
  const leader = newTestNode(1, [1, 2, 3]);
  electLeader(leader);
  leader.step(appendResponse({ from: 2, to: 1, term: 1, matchIndex: 1 }));
  takeReady(leader);
  leader.step({ type: "ReadIndexRequest", from: 2, to: 1, term: 0, requestId: 9 });
  assert.deepEqual(ofType(takeReady(leader).messages, "ReadIndexResponse"), []);
});

test("readIndex() fails with NotLeader on a follower that knows no leader, and TooManyPendingReads past the limit", () => {
  const follower = newTestNode(2, [1, 2, 3]);
  assert.deepEqual(follower.readIndex(1), { ok: false, error: { code: "NotLeader", leaderId: 0 } });
  const leader = newLeader([1, 2, 3], { pendingReadsCountMax: 1 });
  assert.deepEqual(leader.readIndex(1), { ok: true, value: undefined });
  assert.deepEqual(leader.readIndex(2), { ok: false, error: { code: "TooManyPendingReads", limitCount: 1 } });
});

// ---------------------------------------------------------------- leadership transfer

test("transferLeadership() sends TimeoutNow once the target has caught up", () => {
  const leader = newLeader([1, 2, 3]);
  leader.propose(bytes(1));
  takeReady(leader);
  assert.deepEqual(leader.transferLeadership(2), { ok: true, value: undefined });
  const catchingUp = takeReady(leader);
  assert.deepEqual(ofType(catchingUp.messages, "TimeoutNow"), [], "follower 2 lacks entry 2");
  assert.equal(leader.status().transferTarget, 2);
  leader.step(appendResponse({ from: 2, to: 1, term: 1, matchIndex: 2 }));
  assert.deepEqual(ofType(takeMessages(leader), "TimeoutNow"), [{ type: "TimeoutNow", from: 1, to: 2, term: 1 }]);
});

test("transferLeadership() to a follower already caught up sends TimeoutNow at once", () => {
  const leader = newLeader([1, 2, 3]);
  leader.transferLeadership(3);
  assert.deepEqual(takeMessages(leader), [{ type: "TimeoutNow", from: 1, to: 3, term: 1 }]);
});

test("the transfer target campaigns at once, past the other followers' leases, and wins", () => {
  const net = clusterWithLeader([1, 2, 3]);
  net.node(1).propose(bytes(1));
  net.stabilize();
  net.node(1).transferLeadership(2);
  net.stabilize();
  assert.deepEqual(
    [1, 2, 3].map((id) => [net.node(id).status().role, net.node(id).status().term, net.node(id).status().leaderId]),
    [
      ["follower", 2, 2],
      ["leader", 2, 2],
      ["follower", 2, 2],
    ],
  );
  const campaign = ofType(net.delivered, "RequestVote").filter((m) => m.term === 2);
  assert.deepEqual(
    campaign.map((m) => [m.from, m.to, m.transfer]),
    [
      [2, 1, true],
      [2, 3, true],
    ],
  );
  assert.deepEqual(ofType(net.delivered, "PreVote").filter((m) => m.from === 2), [], "a forced campaign skips the pre-vote");
});

test("a transfer is aborted after electionTimeoutTicks ticks without a new leader", () => {
  const leader = newLeader([1, 2, 3], { checkQuorum: false });
  leader.propose(bytes(1));
  takeReady(leader);
  leader.transferLeadership(3);
  takeReady(leader);
  tickTimes(leader, electionTimeoutTicks - 1);
  assert.equal(leader.status().transferTarget, 3);
  assert.deepEqual(leader.propose(bytes(2)), { ok: false, error: { code: "LeadershipTransferInProgress", leaderId: 1 } });
  leader.tick();
  assert.equal(leader.status().transferTarget, 0);
  assert.equal(leader.status().role, "leader");
  assert.deepEqual(leader.propose(bytes(2)), { ok: true, value: { index: 3, term: 1 } });
});

test("transferLeadership() refuses a learner or a stranger with InvalidTransferTarget", () => {
  const leader = newLeader([1, 2, 3], { learners: [4] });
  assert.deepEqual(leader.transferLeadership(4), { ok: false, error: { code: "InvalidTransferTarget", target: 4 } });
  assert.deepEqual(leader.transferLeadership(9), { ok: false, error: { code: "InvalidTransferTarget", target: 9 } });
  assert.deepEqual(leader.transferLeadership(1), { ok: true, value: undefined });
  assert.equal(leader.status().transferTarget, 0);
  assert.deepEqual(takeMessages(leader), []);
});

// ---------------------------------------------------------------- membership

test("proposeMembershipChange() fails with LeaderNotReady before the leader commits an entry of its term", () => {
  const leader = newTestNode(1, [1, 2, 3]);
  electLeader(leader);
  assert.deepEqual(leader.proposeMembershipChange({ kind: "addLearner", nodeId: 4 }), { ok: false, error: { code: "LeaderNotReady" } });
  leader.step(appendResponse({ from: 2, to: 1, term: 1, matchIndex: 1 }));
  assert.deepEqual(leader.proposeMembershipChange({ kind: "addLearner", nodeId: 4 }), { ok: true, value: { index: 2, term: 1 } });
});

test("proposeMembershipChange() fails with MembershipChangePending while a change is uncommitted", () => {
  const leader = newLeader([1, 2, 3]);
  assert.deepEqual(leader.proposeMembershipChange({ kind: "addLearner", nodeId: 4 }), { ok: true, value: { index: 2, term: 1 } });
  assert.deepEqual(leader.proposeMembershipChange({ kind: "addVoter", nodeId: 5 }), {
    ok: false,
    error: { code: "MembershipChangePending", pendingIndex: 2 },
  });
  assert.deepEqual(leader.membership(), { voters: [1, 2, 3], learners: [] }, "a change takes effect when it commits");
  takeReady(leader);
  leader.step(appendResponse({ from: 2, to: 1, term: 1, matchIndex: 2 }));
  assert.deepEqual(leader.membership(), { voters: [1, 2, 3], learners: [4] });
  assert.deepEqual(leader.proposeMembershipChange({ kind: "addVoter", nodeId: 5 }), { ok: true, value: { index: 3, term: 1 } });
});

test("proposeMembershipChange() fails with InvalidMembershipChange for a change that makes no sense", () => {
  const leader = newLeader([1, 2, 3]);
  assert.deepEqual(leader.proposeMembershipChange({ kind: "addVoter", nodeId: 2 }), {
    ok: false,
    error: { code: "InvalidMembershipChange", reason: "node 2 is already a voter" },
  });
  assert.deepEqual(leader.proposeMembershipChange({ kind: "removeNode", nodeId: 7 }), {
    ok: false,
    error: { code: "InvalidMembershipChange", reason: "node 7 is not a member" },
  });
  assert.equal(leader.status().lastIndex, 1);
});

test("a learner receives and commits the log but never campaigns", () => {
  const ids = [1, 2, 3, 4];
  const net = new Network(ids.map((id) => newTestNode(id, [1, 2, 3], { learners: [4] })));
  net.node(1).campaignNow();
  net.stabilize();
  net.node(1).propose(bytes(42));
  net.stabilize();
  const learner = net.node(4);
  assert.deepEqual(logOf(learner), logOf(net.node(1)));
  assert.equal(learner.status().commitIndex, 2);
  assert.deepEqual(net.applied.get(4)?.map((e) => e.index), [1, 2]);
  for (let i = 0; i < 5 * electionTimeoutTicks; i++) learner.tick();
  learner.campaignNow();
  learner.step({ type: "TimeoutNow", from: 1, to: 4, term: 1 });
  const ready = takeReady(learner);
  assert.deepEqual(ready.messages, []);
  assert.deepEqual(ready.softState, { role: "follower", leaderId: 1 });
  assert.equal(learner.status().term, 1);
});

test("a candidate asks only voters and a learner's vote does not count", () => {
  const node = newTestNode(1, [1, 2, 3], { learners: [4], preVote: false });
  node.campaignNow();
  assert.deepEqual(
    takeMessages(node).map((m) => m.to),
    [2, 3],
  );
  node.step(requestVoteResponse({ from: 4, to: 1, term: 1, granted: true }));
  assert.equal(node.status().role, "candidate");
  node.step(requestVoteResponse({ from: 2, to: 1, term: 1, granted: true }));
  assert.equal(node.status().role, "leader");
});

test("a leader steps down when its own removal commits", () => {
  const leader = newLeader([1, 2, 3]);
  assert.deepEqual(leader.proposeMembershipChange({ kind: "removeNode", nodeId: 1 }), { ok: true, value: { index: 2, term: 1 } });
  takeReady(leader);
  assert.equal(leader.status().role, "leader", "the change is not committed yet");
  leader.step(appendResponse({ from: 2, to: 1, term: 1, matchIndex: 2 }));
  const ready = takeReady(leader);
  assert.deepEqual(ready.softState, { role: "follower", leaderId: 0 });
  assert.deepEqual(
    ready.committedEntries.map((e) => [e.index, e.type]),
    [[2, "membership"]],
  );
  assert.deepEqual(leader.membership(), { voters: [2, 3], learners: [] });
  for (let i = 0; i < 5 * electionTimeoutTicks; i++) leader.tick();
  assert.deepEqual(takeMessages(leader), [], "a node that is no longer a voter never campaigns");
});

test("a removed leader announces the commit and sends TimeoutNow to the up-to-date voter", () => {
  const leader = newLeader([1, 2, 3]);
  leader.proposeMembershipChange({ kind: "removeNode", nodeId: 1 });
  takeReady(leader);
  // Only follower 3 holds the removal entry, so it is the one asked to take over.
  leader.step(appendResponse({ from: 3, to: 1, term: 1, matchIndex: 2 }));
  const messages = takeReady(leader).messages;
  assert.deepEqual(
    ofType(messages, "AppendEntries").map((m) => [m.to, m.leaderCommit]),
    [
      [2, 2],
      [3, 2],
    ],
  );
  assert.deepEqual(
    ofType(messages, "TimeoutNow").map((m) => m.to),
    [3],
  );
});

test("a follower that was sent the new commit index with its entries gets no extra empty append", () => {
  const leader = newLeader([1, 2, 3], { inflightMessagesMax: 2 });
  leader.propose(bytes(1));
  takeReady(leader);
  leader.propose(bytes(2));
  takeReady(leader);
  leader.propose(bytes(3)); // Both windows are full: entry 4 waits.
  assert.deepEqual(ofType(takeReady(leader).messages, "AppendEntries"), []);
  // Follower 2 acknowledges entries 2 and 3: that commits them and frees 2's window, so entry 4 goes
  // to 2 carrying commit 3 — and that one message is all 2 gets. Follower 3's window is still full.
  leader.step(appendResponse({ from: 2, to: 1, term: 1, matchIndex: 3 }));
  assert.deepEqual(
    ofType(takeReady(leader).messages, "AppendEntries").map((m) => [m.to, m.entries.map((e) => e.index), m.leaderCommit]),
    [[2, [4], 3]],
  );
});

test("an added voter gets progress on the leader and catches up with the log", () => {
  // The new node starts from the membership it joins (as an operator would configure it).
  const net = new Network([...[1, 2, 3].map((id) => newTestNode(id, [1, 2, 3])), newTestNode(4, [1, 2, 3])]);
  net.node(1).campaignNow();
  net.stabilize();
  net.node(1).propose(bytes(7));
  net.stabilize();
  assert.deepEqual(net.node(1).proposeMembershipChange({ kind: "addVoter", nodeId: 4 }), { ok: true, value: { index: 3, term: 1 } });
  net.stabilize();
  const leader = net.node(1);
  const added = leader.status().progress.find((p) => p.id === 4);
  assert.deepEqual(added && [added.voter, added.matchIndex, added.state], [true, 3, "replicate"]);
  assert.deepEqual(logOf(net.node(4)), logOf(leader));
  assert.equal(net.node(4).status().commitIndex, 3);
  for (const id of [1, 2, 3, 4]) assert.deepEqual(net.node(id).membership(), { voters: [1, 2, 3, 4], learners: [] }, `node ${id}`);
  // With four voters, a commit now needs three of them.
  net.isolate(3);
  net.isolate(4);
  leader.propose(bytes(8));
  net.stabilize();
  assert.equal(leader.status().commitIndex, 3);
});

test("a node that joins without a bootstrap membership learns the whole membership", () => {
  const net = new Network([...[1, 2, 3].map((id) => newTestNode(id, [1, 2, 3])), newTestNode(4, [], { joining: true })]);
  net.node(1).campaignNow();
  net.stabilize();
  net.node(1).proposeMembershipChange({ kind: "addVoter", nodeId: 4 });
  net.stabilize();
  assert.deepEqual(net.node(4).membership(), { voters: [1, 2, 3, 4], learners: [] });
  assert.deepEqual(logOf(net.node(4)), logOf(net.node(1)));
  // Were it to believe it is the only voter, it would elect itself and disrupt the cluster.
  net.tick(4, 2 * electionTimeoutTicks);
  net.stabilize();
  assert.equal(net.node(1).status().role, "leader");
  assert.equal(net.node(4).status().term, 1);
});

// ---------------------------------------------------------------- snapshots

test("InstallSnapshot for an index the follower already holds with the same term only advances its commit", () => {
  const initial: InitialState = {
    hardState: { term: 1, votedFor: 0, commitIndex: 0 },
    snapshot: undefined,
    entries: [entry(1, 1), entry(2, 1), entry(3, 1)],
  };
  const node = newTestNode(2, [1, 2, 3], { initial });
  const meta = { index: 2, term: 1, membership: { voters: [1, 2, 3], learners: [] } };
  node.step({ type: "InstallSnapshot", from: 1, to: 2, term: 1, meta, totalBytes: 1, offset: 0, chunk: bytes(1), done: true });
  const ready = takeReady(node);
  assert.equal(ready.snapshot, undefined);
  assert.deepEqual(indexTerms(ready.committedEntries), [
    [1, 1],
    [2, 1],
  ]);
  assert.deepEqual(ready.messages, [
    { type: "InstallSnapshotResponse", from: 2, to: 1, term: 1, snapshotIndex: 2, bytesReceived: 1, installed: true },
  ]);
  assert.equal(node.status().lastIndex, 3, "the entry after the snapshot is kept");
});


test("compact() drops the entries up to the index and keeps the snapshot's term and membership", () => {
  const node = newTestNode(1, [1]);
  node.campaignNow();
  takeReady(node);
  for (const b of [1, 2, 3]) node.propose(bytes(b));
  applyAll(node);
  assert.deepEqual(node.compact(3, bytes(9, 9)), { ok: true, value: undefined });
  assert.deepEqual(node.snapshot(), { meta: { index: 3, term: 1, membership: { voters: [1], learners: [] } }, data: bytes(9, 9) });
  assert.deepEqual(
    [2, 3, 4].map((i) => [node.termAt(i), node.entryAt(i)?.index]),
    [
      [undefined, undefined],
      [1, undefined],
      [1, 4],
    ],
  );
  const status = node.status();
  assert.equal(status.snapshotIndex, 3);
  assert.equal(status.lastIndex, 4);
});

test("compact() refuses an index at or before the snapshot, or not yet applied and durable", () => {
  const node = newTestNode(1, [1]);
  node.campaignNow();
  takeReady(node);
  for (const b of [1, 2, 3]) node.propose(bytes(b));
  applyAll(node);
  node.compact(3, bytes());
  for (const index of [3, 2]) {
    assert.deepEqual(node.compact(index, bytes()), {
      ok: false,
      error: { code: "InvalidCompaction", reason: `index ${index} is not after the current snapshot at 3` },
    });
  }
  node.propose(bytes(4));
  for (const index of [5, 9]) {
    assert.deepEqual(node.compact(index, bytes()), {
      ok: false,
      error: { code: "InvalidCompaction", reason: `index ${index} is not yet applied and durable (applied 4)` },
    });
  }
  assert.equal(node.status().snapshotIndex, 3);
});

test("a snapshot carries the membership in force at its index", () => {
  const leader = newLeader([1, 2, 3]);
  leader.proposeMembershipChange({ kind: "addLearner", nodeId: 4 });
  takeReady(leader);
  leader.step(appendResponse({ from: 2, to: 1, term: 1, matchIndex: 2 }));
  applyAll(leader);
  leader.compact(1, bytes());
  assert.deepEqual(leader.snapshot().meta.membership, { voters: [1, 2, 3], learners: [] });
  leader.compact(2, bytes());
  assert.deepEqual(leader.snapshot().meta.membership, { voters: [1, 2, 3], learners: [4] });
  assert.deepEqual(leader.membership(), { voters: [1, 2, 3], learners: [4] });
});

/**
 * Leader 1 of {1, 2, 3} whose log is [no-op, addLearner 4, normal], committed with follower 2 and
 * compacted into a 10-byte snapshot at index 3; follower 3 has heard nothing yet.
 */
function leaderWithSnapshot(): { leader: RaftNode; follower: RaftNode; snapshot: Snapshot } {
  const leader = newTestNode(1, [1, 2, 3], { snapshotChunkBytesMax: 4 });
  electLeader(leader);
  leader.step(appendResponse({ from: 2, to: 1, term: 1, matchIndex: 1 }));
  leader.proposeMembershipChange({ kind: "addLearner", nodeId: 4 });
  leader.propose(bytes(1));
  takeReady(leader);
  leader.step(appendResponse({ from: 2, to: 1, term: 1, matchIndex: 3 }));
  applyAll(leader);
  const data = bytes(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
  assert.deepEqual(leader.compact(3, data), { ok: true, value: undefined });
  const snapshot: Snapshot = { meta: { index: 3, term: 1, membership: { voters: [1, 2, 3], learners: [4] } }, data };
  assert.deepEqual(leader.snapshot(), snapshot);
  return { leader, follower: newTestNode(3, [1, 2, 3]), snapshot };
}

/** Ticks the leader for one heartbeat, delivers it to `follower` and the answer back; returns the leader's next messages to it. */
function heartbeatRoundTrip(leader: RaftNode, follower: RaftNode): Message[] {
  leader.tick();
  deliver(takeMessages(leader), follower);
  deliver(takeMessages(follower), leader);
  return takeMessages(leader).filter((m) => m.to === follower.id);
}

function chunkOffsets(messages: readonly Message[]): [number, number[], boolean][] {
  return ofType(messages, "InstallSnapshot").map((m) => [m.offset, [...m.chunk], m.done]);
}

test("a lagging follower receives the snapshot in chunks, and a lost chunk is sent again after a heartbeat response", () => {
  const { leader, follower, snapshot } = leaderWithSnapshot();
  const first = heartbeatRoundTrip(leader, follower);
  assert.deepEqual(chunkOffsets(first), [[0, [0, 1, 2, 3], false]]);
  const chunk = ofType(first, "InstallSnapshot")[0];
  assert.deepEqual(chunk && [chunk.meta, chunk.totalBytes, chunk.term], [snapshot.meta, 10, 1]);

  deliver(first, follower);
  const ack = takeMessages(follower);
  assert.deepEqual(ack, [{ type: "InstallSnapshotResponse", from: 3, to: 1, term: 1, snapshotIndex: 3, bytesReceived: 4, installed: false }]);
  deliver(ack, leader);
  const second = takeMessages(leader);
  assert.deepEqual(chunkOffsets(second), [[4, [4, 5, 6, 7], false]]);
  // The second chunk is lost; the leader waits, then resends it when the follower answers a heartbeat.
  assert.deepEqual(takeMessages(leader), []);
  const resent = heartbeatRoundTrip(leader, follower);
  assert.deepEqual(chunkOffsets(resent), [[4, [4, 5, 6, 7], false]]);

  deliver(resent, follower);
  deliver(takeMessages(follower), leader);
  const last = takeMessages(leader);
  assert.deepEqual(chunkOffsets(last), [[8, [8, 9], true]]);
  deliver(last, follower);
  const installed = takeReady(follower);
  assert.deepEqual(installed.snapshot, snapshot);
  assert.deepEqual(installed.hardState, { term: 1, votedFor: 0, commitIndex: 3 });
  assert.deepEqual(installed.messages, [
    { type: "InstallSnapshotResponse", from: 3, to: 1, term: 1, snapshotIndex: 3, bytesReceived: 10, installed: true },
  ]);
  assert.deepEqual(installed.committedEntries, [], "the snapshot replaces applying entries 1..3");
  const status = follower.status();
  assert.deepEqual([status.snapshotIndex, status.commitIndex, status.appliedIndex, status.lastIndex], [3, 3, 3, 3]);
  assert.deepEqual(follower.membership(), { voters: [1, 2, 3], learners: [4] });

  deliver(installed.messages, leader);
  const after = takeMessages(leader).filter((m) => m.to === 3);
  assert.deepEqual(
    after.map((m) => m.type === "AppendEntries" && [m.prevLogIndex, m.prevLogTerm, m.entries.length]),
    [[3, 1, 0]],
  );
  const progress = leader.status().progress.find((p) => p.id === 3);
  assert.deepEqual(progress && [progress.matchIndex, progress.nextIndex], [3, 4]);
});

test("a snapshot whose chunk answer was lost resumes from the offset the follower reports", () => {
  const { leader, follower } = leaderWithSnapshot();
  deliver(heartbeatRoundTrip(leader, follower), follower); // chunk at 0
  deliver(takeMessages(follower), leader);
  deliver(takeMessages(leader), follower); // chunk at 4 arrives...
  assert.deepEqual(takeMessages(follower).length, 1); // ...but its answer is lost.
  const resent = heartbeatRoundTrip(leader, follower);
  assert.deepEqual(chunkOffsets(resent), [[4, [4, 5, 6, 7], false]]);
  deliver(resent, follower);
  const where = takeMessages(follower);
  assert.deepEqual(where, [{ type: "InstallSnapshotResponse", from: 3, to: 1, term: 1, snapshotIndex: 3, bytesReceived: 8, installed: false }]);
  deliver(where, leader);
  assert.deepEqual(chunkOffsets(takeMessages(leader)), [[8, [8, 9], true]]);
});

test("a node restarted from storage recovers its term, vote, commit index and membership", () => {
  const snapshot: Snapshot = { meta: { index: 5, term: 2, membership: { voters: [1, 2, 3], learners: [4] } }, data: bytes(5) };
  const promote = encodeMembershipChange({ kind: "addVoter", nodeId: 4 });
  const initial: InitialState = {
    hardState: { term: 3, votedFor: 2, commitIndex: 7 },
    snapshot,
    entries: [entry(6, 2, bytes(6)), entry(7, 3, promote, "membership"), entry(8, 3, bytes(8))],
  };
  // The bootstrap membership is ignored when storage holds a snapshot.
  const node = newTestNode(1, [9], { initial });
  const status = node.status();
  assert.deepEqual(
    [status.role, status.term, status.votedFor, status.commitIndex, status.appliedIndex, status.snapshotIndex, status.lastIndex],
    ["follower", 3, 2, 7, 5, 5, 8],
  );
  assert.deepEqual(node.membership(), { voters: [1, 2, 3, 4], learners: [] });
  assert.deepEqual(node.snapshot(), snapshot);
  const ready = takeReady(node);
  assert.equal(ready.hardState, undefined);
  assert.equal(ready.snapshot, undefined);
  assert.deepEqual(ready.entries, []);
  assert.deepEqual(
    ready.committedEntries.map((e) => e.index),
    [6, 7],
  );
  node.step(requestVote({ from: 3, to: 1, term: 3, lastLogIndex: 8, lastLogTerm: 3 }));
  assert.deepEqual(takeMessages(node), [requestVoteResponse({ from: 1, to: 3, term: 3, granted: false })], "it already voted for 2 in term 3");
});

test("a node restarted with an uncommitted membership entry keeps the membership in force", () => {
  const snapshot: Snapshot = { meta: { index: 5, term: 2, membership: { voters: [1, 2, 3], learners: [4] } }, data: bytes() };
  const initial: InitialState = {
    hardState: { term: 3, votedFor: 0, commitIndex: 6 },
    snapshot,
    entries: [entry(6, 2), entry(7, 3, encodeMembershipChange({ kind: "addVoter", nodeId: 4 }), "membership")],
  };
  const node = newTestNode(1, [1, 2, 3], { initial });
  assert.deepEqual(node.membership(), { voters: [1, 2, 3], learners: [4] });
});

// ---------------------------------------------------------------- transport hints and contact

/** Node 2, a follower of leader 1 in term 1 that has just heard a heartbeat. */
function followerOfLeader1(): RaftNode {
  const follower = newTestNode(2, [1, 2, 3]);
  follower.step(heartbeat({ from: 1, to: 2, term: 1 }));
  takeReady(follower);
  return follower;
}

test("peerUnreachable(leader) makes a follower campaign within half an election timeout", () => {
  const follower = followerOfLeader1();
  follower.peerUnreachable(1);
  const { ticks, ready } = ticksUntil(follower, "PreVote", electionTimeoutTicks);
  assert.ok(ticks <= electionTimeoutTicks / 2, `campaigned after ${ticks} ticks`);
  assert.deepEqual(
    ofType(ready.messages, "PreVote").map((m) => [m.to, m.term]),
    [
      [1, 2],
      [3, 2],
    ],
  );
});

test("after a split vote that followed peerUnreachable(leader), the next campaign also comes within half an election timeout", () => {
  const follower = followerOfLeader1();
  follower.peerUnreachable(1);
  ticksUntil(follower, "PreVote", electionTimeoutTicks);
  follower.step(preVoteResponse({ from: 3, to: 2, term: 2, granted: true }));
  assert.equal(follower.status().role, "candidate");
  takeReady(follower);
  // Node 3 campaigned in the same tick and voted for itself: nobody wins term 2.
  follower.step(requestVoteResponse({ from: 3, to: 2, term: 2, granted: false }));
  follower.step(requestVote({ from: 3, to: 2, term: 2, lastLogIndex: 0, lastLogTerm: 0 }));
  takeReady(follower);
  const { ticks } = ticksUntil(follower, "PreVote", 2 * electionTimeoutTicks);
  assert.ok(ticks <= electionTimeoutTicks / 2, `campaigned again after ${ticks} ticks`);
});

test("the fast campaigns after peerUnreachable(leader) last two election timeouts at most", () => {
  const follower = followerOfLeader1();
  follower.peerUnreachable(1);
  // Nobody answers: the node keeps campaigning, fast at first, then at the normal pace.
  tickTimes(follower, 2 * electionTimeoutTicks);
  takeReady(follower);
  const { ticks } = ticksUntil(follower, "PreVote", 3 * electionTimeoutTicks);
  assert.ok(ticks >= electionTimeoutTicks / 2, `campaigned again after ${ticks} ticks`);
});

test("peerUnreachable(leader) ends the lease: the follower grants a pre-vote at once", () => {
  const follower = followerOfLeader1();
  follower.step(preVote({ from: 3, to: 2, term: 2 }));
  assert.deepEqual(
    ofType(takeReady(follower).messages, "PreVoteResponse").map((m) => m.granted),
    [false],
    "in the lease the pre-vote is refused",
  );
  follower.peerUnreachable(1);
  follower.step(preVote({ from: 3, to: 2, term: 2 }));
  assert.deepEqual(
    ofType(takeReady(follower).messages, "PreVoteResponse").map((m) => m.granted),
    [true],
  );
  assert.equal(follower.status().term, 1, "a pre-vote changes no term");
});

test("peerUnreachable() of a peer that is not the leader changes nothing on a follower", () => {
  const follower = followerOfLeader1();
  follower.peerUnreachable(3);
  tickTimes(follower, electionTimeoutTicks - 1);
  assert.deepEqual(takeReady(follower).messages, []);
  assert.equal(follower.status().leaderId, 1);
});

test("a heartbeat after a false peerUnreachable() alarm restores the full election timeout", () => {
  const follower = followerOfLeader1();
  follower.peerUnreachable(1);
  follower.step(heartbeat({ from: 1, to: 2, term: 1 }));
  takeReady(follower);
  tickTimes(follower, electionTimeoutTicks - 1);
  assert.deepEqual(ofType(takeReady(follower).messages, "PreVote"), []);
  assert.equal(follower.status().leaderId, 1);
});

test("peerUnreachable(follower) on a leader moves that follower from replicate back to probe", () => {
  const leader = newLeader([1, 2, 3]);
  assert.equal(leader.status().progress.find((p) => p.id === 2)?.state, "replicate");
  leader.peerUnreachable(2);
  assert.deepEqual(
    leader.status().progress.map((p) => [p.id, p.state]),
    [
      [2, "probe"],
      [3, "replicate"],
    ],
  );
});

test("status() reports the leader ticks since each follower last answered", () => {
  const leader = newLeader([1, 2, 3]);
  tickTimes(leader, 3);
  leader.step(heartbeatResponse({ from: 2, to: 1, term: 1 }));
  tickTimes(leader, 2);
  assert.deepEqual(
    leader.status().progress.map((p) => [p.id, p.ticksSinceContact]),
    [
      [2, 2],
      [3, 5],
    ],
  );
});
