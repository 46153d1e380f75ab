/**
 * One test per rule of the Raft paper (Ongaro & Ousterhout, "In Search of an Understandable Consensus
 * Algorithm", Figure 2 and §5, §8), in the style of etcd's raft paper tests: nodes are driven by hand
 * with crafted messages and ticks, and every Ready is inspected.
 *
 * Most nodes here run without pre-vote and check-quorum, as the paper describes Raft; the tests of
 * those extensions are in features.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { TestNodeOptions } from "./testing.js";
import {
  Network,
  appendEntries,
  appendRejection,
  appendResponse,
  bytes,
  electLeader,
  electionTimeoutTicks,
  entriesOfTerms,
  entry,
  heartbeat,
  indexTerms,
  logOf,
  newLeader,
  newTestNode,
  ofType,
  requestVote,
  requestVoteResponse,
  takeMessages,
  takeReady,
  tickTimes,
  ticksUntil,
} from "./testing.js";
import type { InitialState, Message, NodeId, RoleKind } from "./types.js";
import type { RaftNode } from "./node.js";

const paper: TestNodeOptions = { preVote: false, checkQuorum: false };

function paperNode(id: NodeId, voters: readonly NodeId[] = [1, 2, 3], options: TestNodeOptions = {}): RaftNode {
  return newTestNode(id, voters, { ...paper, ...options });
}

/** Storage holding entries of `terms` from index 1, with the given term, vote and commit index. */
function stored(terms: readonly number[], term: number, votedFor: NodeId = 0, commitIndex = 0): InitialState {
  return { hardState: { term, votedFor, commitIndex }, snapshot: undefined, entries: entriesOfTerms(terms) };
}

function byRecipient<T extends Message>(messages: readonly T[]): T[] {
  return [...messages].sort((a, b) => a.to - b.to);
}

// ---------------------------------------------------------------- §5.1

test("§5.1 a follower rejects AppendEntries of a stale term and answers with its own term", () => {
  // With check-quorum on (the default), the answer tells a deposed leader to step down.
  const node = newTestNode(2, [1, 2, 3], { initial: stored([], 3) });
  takeReady(node);
  node.step(appendEntries({ from: 1, to: 2, term: 2, entries: [entry(1, 2)], leaderCommit: 1 }));
  const ready = takeReady(node);
  assert.deepEqual(ready.messages, [appendRejection({ from: 2, to: 1, term: 3, rejectedIndex: 0, hintIndex: 0, hintTerm: 0 })]);
  assert.deepEqual(ready.entries, []);
  const status = node.status();
  assert.equal(status.lastIndex, 0);
  assert.equal(status.leaderId, 0);
  assert.equal(status.term, 3);
});

test("§5.1 a node never grants a vote to a candidate of a stale term", () => {
  const node = paperNode(1, [1, 2, 3], { initial: stored([], 3) });
  takeReady(node);
  node.step(requestVote({ from: 2, to: 1, term: 2 }));
  const granted = ofType(takeMessages(node), "RequestVoteResponse").filter((m) => m.granted);
  assert.deepEqual(granted, []);
  assert.equal(node.status().votedFor, 0);
  assert.equal(node.status().term, 3);
});

test("§5.1 a node seeing a higher term adopts it and becomes follower, whatever its role", () => {
  const roles: { role: RoleKind; make: () => RaftNode }[] = [
    { role: "follower", make: () => paperNode(1) },
    {
      role: "preCandidate",
      make: () => {
        const node = newTestNode(1, [1, 2, 3], { preVote: true, checkQuorum: false });
        node.campaignNow();
        return node;
      },
    },
    {
      role: "candidate",
      make: () => {
        const node = paperNode(1);
        node.campaignNow();
        return node;
      },
    },
    {
      role: "leader",
      make: () => {
        const node = paperNode(1);
        electLeader(node);
        return node;
      },
    },
  ];
  const messages: { name: string; message: Message; leaderId: NodeId; votedFor: NodeId }[] = [
    { name: "Heartbeat", message: heartbeat({ from: 3, to: 1, term: 5 }), leaderId: 3, votedFor: 0 },
    { name: "AppendEntries", message: appendEntries({ from: 3, to: 1, term: 5 }), leaderId: 3, votedFor: 0 },
    { name: "RequestVote", message: requestVote({ from: 3, to: 1, term: 5, lastLogIndex: 9, lastLogTerm: 4 }), leaderId: 0, votedFor: 3 },
    {
      name: "AppendEntriesResponse",
      message: appendRejection({ from: 3, to: 1, term: 5, rejectedIndex: 0, hintIndex: 0, hintTerm: 0 }),
      leaderId: 0,
      votedFor: 0,
    },
  ];
  for (const { role, make } of roles) {
    for (const m of messages) {
      const node = make();
      assert.equal(node.status().role, role);
      takeReady(node);
      node.step(m.message);
      const ready = takeReady(node);
      const what = `${role} receiving ${m.name}`;
      assert.deepEqual(ready.softState, { role: "follower", leaderId: m.leaderId }, what);
      assert.deepEqual(ready.hardState, { term: 5, votedFor: m.votedFor, commitIndex: 0 }, what);
    }
  }
});

// ---------------------------------------------------------------- §5.2

test("§5.2 a follower starts an election after its election timeout (pre-vote off)", () => {
  const node = paperNode(1);
  tickTimes(node, electionTimeoutTicks - 1);
  assert.deepEqual(takeReady(node).messages, [], "no election before electionTimeoutTicks");
  const { ticks, ready } = ticksUntil(node, "RequestVote");
  const total = electionTimeoutTicks - 1 + ticks;
  assert.ok(total >= electionTimeoutTicks && total < 2 * electionTimeoutTicks, `campaigned after ${total} ticks`);
  assert.deepEqual(byRecipient(ready.messages), [
    requestVote({ from: 1, to: 2, term: 1 }),
    requestVote({ from: 1, to: 3, term: 1 }),
  ]);
  assert.deepEqual(ready.softState, { role: "candidate", leaderId: 0 });
});

test("§5.2 a follower starts a pre-vote after its election timeout (pre-vote on), keeping its term", () => {
  const node = newTestNode(1, [1, 2, 3], { preVote: true, checkQuorum: false });
  tickTimes(node, electionTimeoutTicks - 1);
  assert.deepEqual(takeReady(node).messages, [], "no pre-vote before electionTimeoutTicks");
  const { ticks, ready } = ticksUntil(node, "PreVote");
  const total = electionTimeoutTicks - 1 + ticks;
  assert.ok(total >= electionTimeoutTicks && total < 2 * electionTimeoutTicks, `pre-voted after ${total} ticks`);
  assert.deepEqual(byRecipient(ready.messages), [
    { type: "PreVote", from: 1, to: 2, term: 1, lastLogIndex: 0, lastLogTerm: 0 },
    { type: "PreVote", from: 1, to: 3, term: 1, lastLogIndex: 0, lastLogTerm: 0 },
  ]);
  assert.deepEqual(ready.softState, { role: "preCandidate", leaderId: 0 });
  assert.equal(ready.hardState, undefined, "a pre-vote changes neither term nor vote");
  assert.equal(node.status().term, 0);
});

test("§5.2 a candidate increments its term, votes for itself and asks every other voter with its last log position", () => {
  const node = paperNode(1, [1, 2, 3], { learners: [4], initial: stored([1, 4], 4) });
  takeReady(node);
  node.campaignNow();
  const ready = takeReady(node);
  // Figure 2: the new term and the vote are persisted with the requests they justify.
  assert.deepEqual(ready.hardState, { term: 5, votedFor: 1, commitIndex: 0 });
  assert.deepEqual(byRecipient(ready.messages), [
    requestVote({ from: 1, to: 2, term: 5, lastLogIndex: 2, lastLogTerm: 4 }),
    requestVote({ from: 1, to: 3, term: 5, lastLogIndex: 2, lastLogTerm: 4 }),
  ]);
  assert.equal(ready.sendBeforePersist, false);
});

test("§5.2 a candidate wins the election once a majority of voters grants its vote", () => {
  const node = paperNode(1, [1, 2, 3, 4, 5]);
  node.campaignNow();
  takeReady(node);
  node.step(requestVoteResponse({ from: 2, to: 1, term: 1, granted: true }));
  node.step(requestVoteResponse({ from: 4, to: 1, term: 1, granted: false }));
  assert.equal(node.status().role, "candidate", "two of five votes are not a majority");
  node.step(requestVoteResponse({ from: 3, to: 1, term: 1, granted: true }));
  const ready = takeReady(node);
  assert.deepEqual(ready.softState, { role: "leader", leaderId: 1 });
  assert.equal(node.status().term, 1);
});

test("§5.2 a candidate refused by a majority returns to follower in the same term", () => {
  const node = paperNode(1);
  node.campaignNow();
  takeReady(node);
  node.step(requestVoteResponse({ from: 2, to: 1, term: 1, granted: false }));
  assert.equal(node.status().role, "candidate");
  node.step(requestVoteResponse({ from: 3, to: 1, term: 1, granted: false }));
  const status = node.status();
  assert.equal(status.role, "follower");
  assert.equal(status.term, 1);
  assert.equal(status.votedFor, 1);
});

test("§5.2 a candidate steps down on AppendEntries from a leader of its own term", () => {
  const node = paperNode(1);
  node.campaignNow();
  takeReady(node);
  node.step(appendEntries({ from: 2, to: 1, term: 1, entries: [entry(1, 1)] }));
  const ready = takeReady(node);
  assert.deepEqual(ready.softState, { role: "follower", leaderId: 2 });
  assert.deepEqual(indexTerms(ready.entries), [[1, 1]]);
  assert.deepEqual(ready.messages, [appendResponse({ from: 1, to: 2, term: 1, matchIndex: 1 })]);
  assert.equal(node.status().term, 1);
});

test("§5.2 a split vote leads to a new election after a randomized timeout", () => {
  const nodes = [1, 2, 3, 4].map((id) => paperNode(id, [1, 2, 3, 4]));
  const net = new Network(nodes);
  // 3 only hears 1 and 4 only hears 2: each candidate gets two votes of four.
  net.cut(1, 4);
  net.cut(2, 3);
  net.node(1).campaignNow();
  net.node(2).campaignNow();
  net.stabilize();
  assert.deepEqual(
    [1, 2].map((id) => [net.node(id).status().role, net.node(id).status().term]),
    [
      ["candidate", 1],
      ["candidate", 1],
    ],
  );
  net.heal();
  let ticks = 0;
  while (net.node(1).status().term === 1) {
    net.tick(1);
    ticks++;
    assert.ok(ticks < 2 * electionTimeoutTicks, "node 1 must campaign again within 2·electionTimeoutTicks");
  }
  assert.ok(ticks >= electionTimeoutTicks, `campaigned again after ${ticks} ticks`);
  net.stabilize();
  assert.equal(net.node(1).status().role, "leader");
  assert.equal(net.node(1).status().term, 2);
  assert.deepEqual(
    [2, 3, 4].map((id) => net.node(id).status().leaderId),
    [1, 1, 1],
  );
});

test("§5.2 election timeouts are randomized in [T, 2T) and differ between nodes and between elections", () => {
  const firstTimeouts: number[] = [];
  for (let seed = 1; seed <= 20; seed++) {
    const node = paperNode(1, [1, 2, 3], { seed });
    firstTimeouts.push(ticksUntil(node, "RequestVote").ticks);
  }
  const node = paperNode(1, [1, 2, 3], { seed: 99 });
  const successive: number[] = [];
  for (let i = 0; i < 20; i++) successive.push(ticksUntil(node, "RequestVote").ticks);
  for (const ticks of [...firstTimeouts, ...successive]) {
    assert.ok(ticks >= electionTimeoutTicks && ticks < 2 * electionTimeoutTicks, `timeout of ${ticks} ticks out of [T, 2T)`);
  }
  assert.ok(new Set(firstTimeouts).size > 1, `all nodes drew ${firstTimeouts.join(",")}`);
  assert.ok(new Set(successive).size > 1, `all elections drew ${successive.join(",")}`);
});

test("§5.2 each node votes for at most one candidate per term", () => {
  const node = paperNode(1);
  node.step(requestVote({ from: 2, to: 1, term: 1 }));
  const first = takeReady(node);
  assert.deepEqual(first.messages, [requestVoteResponse({ from: 1, to: 2, term: 1, granted: true })]);
  node.step(requestVote({ from: 3, to: 1, term: 1 }));
  assert.deepEqual(takeMessages(node), [requestVoteResponse({ from: 1, to: 3, term: 1, granted: false })]);
  // Asking again (a retransmission) gets the same answer.
  node.step(requestVote({ from: 2, to: 1, term: 1 }));
  assert.deepEqual(takeMessages(node), [requestVoteResponse({ from: 1, to: 2, term: 1, granted: true })]);
  assert.equal(node.status().votedFor, 2);
});

test("§5.2 a vote survives a restart: the restarted node refuses other candidates of that term", () => {
  const node = paperNode(1, [1, 2, 3], { initial: stored([], 1, 2) });
  node.step(requestVote({ from: 3, to: 1, term: 1 }));
  assert.deepEqual(takeMessages(node), [requestVoteResponse({ from: 1, to: 3, term: 1, granted: false })]);
  node.step(requestVote({ from: 2, to: 1, term: 1 }));
  assert.deepEqual(takeMessages(node), [requestVoteResponse({ from: 1, to: 2, term: 1, granted: true })]);
});

test("§5.2 heartbeats from the leader keep a follower from campaigning", () => {
  const node = paperNode(2);
  for (let i = 1; i <= 5 * electionTimeoutTicks; i++) {
    node.tick();
    if (i % (electionTimeoutTicks - 1) === 0) node.step(heartbeat({ from: 1, to: 2, term: 1 }));
  }
  const ready = takeReady(node);
  assert.deepEqual(ofType(ready.messages, "RequestVote"), []);
  assert.deepEqual(ready.softState, { role: "follower", leaderId: 1 });
  assert.equal(node.status().term, 1);
});

test("Figure 2: term and vote are in the hardState of the same Ready that carries the vote grant", () => {
  const node = paperNode(1);
  node.step(requestVote({ from: 2, to: 1, term: 4 }));
  const ready = node.ready();
  assert.deepEqual(ready.hardState, { term: 4, votedFor: 2, commitIndex: 0 });
  assert.deepEqual(ready.messages, [requestVoteResponse({ from: 1, to: 2, term: 4, granted: true })]);
  assert.equal(ready.sendBeforePersist, false, "the grant may leave only once the vote is durable");
  node.advance();
  assert.equal(node.ready().hardState, undefined, "persisted state is not handed out twice");
});

// ---------------------------------------------------------------- §5.3

test("§5.3 a leader appends a proposal to its log and replicates it to every follower", () => {
  const leader = newLeader([1, 2, 3], paper);
  const result = leader.propose(bytes(7));
  assert.deepEqual(result, { ok: true, value: { index: 2, term: 1 } });
  const ready = takeReady(leader);
  assert.deepEqual(ready.entries, [entry(2, 1, bytes(7))]);
  assert.deepEqual(byRecipient(ready.messages), [
    appendEntries({ from: 1, to: 2, term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: [entry(2, 1, bytes(7))], leaderCommit: 1 }),
    appendEntries({ from: 1, to: 3, term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: [entry(2, 1, bytes(7))], leaderCommit: 1 }),
  ]);
});

test("§5.3 the leader commits an entry once a majority of voters stores it and tells the followers", () => {
  const leader = newLeader([1, 2, 3, 4, 5], paper);
  leader.propose(bytes(1));
  takeReady(leader);
  leader.step(appendResponse({ from: 2, to: 1, term: 1, matchIndex: 2 }));
  assert.equal(leader.status().commitIndex, 1, "leader and one follower are two of five");
  assert.deepEqual(takeReady(leader).committedEntries, []);
  leader.step(appendResponse({ from: 3, to: 1, term: 1, matchIndex: 2 }));
  assert.equal(leader.status().commitIndex, 2);
  const ready = takeReady(leader);
  assert.deepEqual(ready.committedEntries, [entry(2, 1, bytes(1))]);
  assert.deepEqual(ready.hardState, { term: 1, votedFor: 1, commitIndex: 2 });
  const commits = ofType(ready.messages, "AppendEntries").map((m) => [m.to, m.leaderCommit]);
  assert.deepEqual(commits.sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0)), [
    [2, 2],
    [3, 2],
    [4, 2],
    [5, 2],
  ]);
});

test("§5.3 a follower appends new entries and commits up to min(leaderCommit, its last new entry)", () => {
  const node = paperNode(2);
  node.step(appendEntries({ from: 1, to: 2, term: 1, entries: entriesOfTerms([1, 1, 1]), leaderCommit: 2 }));
  const first = takeReady(node);
  assert.deepEqual(indexTerms(first.entries), [
    [1, 1],
    [2, 1],
    [3, 1],
  ]);
  assert.deepEqual(indexTerms(first.committedEntries), [
    [1, 1],
    [2, 1],
  ]);
  assert.deepEqual(first.hardState, { term: 1, votedFor: 0, commitIndex: 2 });
  assert.deepEqual(first.messages, [appendResponse({ from: 2, to: 1, term: 1, matchIndex: 3 })]);

  // The leader knows a higher commit, but this AppendEntries only proves entries up to 2 match.
  node.step(appendEntries({ from: 1, to: 2, term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: [], leaderCommit: 5 }));
  takeReady(node);
  assert.equal(node.status().commitIndex, 2);
  node.step(appendEntries({ from: 1, to: 2, term: 1, prevLogIndex: 3, prevLogTerm: 1, entries: [], leaderCommit: 5 }));
  const third = takeReady(node);
  assert.deepEqual(indexTerms(third.committedEntries), [[3, 1]]);
  assert.equal(node.status().commitIndex, 3);
});

test("§5.3 AppendEntries is rejected unless the log holds prevLogTerm at prevLogIndex", () => {
  const cases: {
    prevLogIndex: number;
    prevLogTerm: number;
    want: Message;
  }[] = [
    // A mismatched term at prevLogIndex: the hint names the last entry of a term ≤ prevLogTerm.
    { prevLogIndex: 3, prevLogTerm: 3, want: appendRejection({ from: 2, to: 1, term: 3, rejectedIndex: 3, hintIndex: 3, hintTerm: 2 }) },
    { prevLogIndex: 2, prevLogTerm: 1, want: appendRejection({ from: 2, to: 1, term: 3, rejectedIndex: 2, hintIndex: 1, hintTerm: 1 }) },
    // No entry at prevLogIndex at all: the hint starts from the follower's last entry.
    { prevLogIndex: 6, prevLogTerm: 3, want: appendRejection({ from: 2, to: 1, term: 3, rejectedIndex: 6, hintIndex: 3, hintTerm: 2 }) },
    { prevLogIndex: 3, prevLogTerm: 2, want: appendResponse({ from: 2, to: 1, term: 3, matchIndex: 3 }) },
    { prevLogIndex: 0, prevLogTerm: 0, want: appendResponse({ from: 2, to: 1, term: 3, matchIndex: 0 }) },
  ];
  for (const c of cases) {
    const node = paperNode(2, [1, 2, 3], { initial: stored([1, 2, 2], 2) });
    node.step(appendEntries({ from: 1, to: 2, term: 3, prevLogIndex: c.prevLogIndex, prevLogTerm: c.prevLogTerm }));
    const ready = takeReady(node);
    const what = `prev (${c.prevLogIndex}, ${c.prevLogTerm})`;
    assert.deepEqual(ready.messages, [c.want], what);
    assert.deepEqual(ready.entries, [], what);
    assert.deepEqual(
      logOf(node),
      [
        [1, 1],
        [2, 2],
        [3, 2],
      ],
      what,
    );
  }
});

test("§5.3 conflicting entries are deleted and replaced, but only on a real conflict", () => {
  const cases: { prevLogIndex: number; prevLogTerm: number; terms: number[]; wantLog: [number, number][]; wantPersist: [number, number][] }[] = [
    {
      prevLogIndex: 2,
      prevLogTerm: 2,
      terms: [3],
      wantLog: [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
      wantPersist: [[3, 3]],
    },
    {
      prevLogIndex: 1,
      prevLogTerm: 1,
      terms: [3, 4],
      wantLog: [
        [1, 1],
        [2, 3],
        [3, 4],
      ],
      wantPersist: [
        [2, 3],
        [3, 4],
      ],
    },
    // A stale AppendEntries whose entries we already hold erases nothing after them.
    {
      prevLogIndex: 0,
      prevLogTerm: 0,
      terms: [1],
      wantLog: [
        [1, 1],
        [2, 2],
      ],
      wantPersist: [],
    },
    { prevLogIndex: 0, prevLogTerm: 0, terms: [3], wantLog: [[1, 3]], wantPersist: [[1, 3]] },
  ];
  for (const c of cases) {
    const node = paperNode(2, [1, 2, 3], { initial: stored([1, 2], 2) });
    const entries = entriesOfTerms(c.terms, c.prevLogIndex + 1);
    node.step(appendEntries({ from: 1, to: 2, term: 4, prevLogIndex: c.prevLogIndex, prevLogTerm: c.prevLogTerm, entries }));
    const ready = takeReady(node);
    const what = `prev ${c.prevLogIndex} entries of terms ${c.terms.join(",")}`;
    assert.deepEqual(logOf(node), c.wantLog, what);
    assert.deepEqual(indexTerms(ready.entries), c.wantPersist, what);
    assert.deepEqual(ready.messages, [appendResponse({ from: 2, to: 1, term: 4, matchIndex: c.prevLogIndex + c.terms.length })], what);
  }
});

/** The leader's log of Figure 7: terms at indexes 1..10. */
const figure7Leader = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];

test("§5.3 the leader's nextIndex skips a whole term on a rejection with a conflict hint", () => {
  const leader = paperNode(1, [1, 2, 3], { initial: stored(figure7Leader, 7) });
  const elected = electLeader(leader);
  assert.deepEqual(
    ofType(elected.messages, "AppendEntries").filter((m) => m.to === 2),
    [appendEntries({ from: 1, to: 2, term: 8, prevLogIndex: 10, prevLogTerm: 6, entries: [entry(11, 8, bytes(), "noop")] })],
  );
  // Follower (f) of Figure 7 holds terms 1 1 1 2 2 2 3 3 3 3 3: its last entry of a term ≤ 6 at or below 10 is (10, 3).
  leader.step(appendRejection({ from: 2, to: 1, term: 8, rejectedIndex: 10, hintIndex: 10, hintTerm: 3 }));
  const ready = takeReady(leader);
  const toFollower = ofType(ready.messages, "AppendEntries");
  assert.equal(toFollower.length, 1);
  const probe = toFollower[0];
  assert.ok(probe !== undefined);
  // The leader's last entry of a term ≤ 3 is index 3 (term 1): every entry of terms 4..6 is skipped at once.
  assert.equal(probe.prevLogIndex, 3);
  assert.equal(probe.prevLogTerm, 1);
  assert.deepEqual(indexTerms(probe.entries), indexTerms([...entriesOfTerms(figure7Leader.slice(3), 4), entry(11, 8)]));
});

test("§5.3 a rejection hinting at a shorter log backs nextIndex off to just after the follower's last entry", () => {
  const leader = paperNode(1, [1, 2, 3], { initial: stored(figure7Leader, 7) });
  electLeader(leader);
  // Follower (b) of Figure 7 holds 1 1 1 4: nothing at 10, so it hints at its last entry (4, 4).
  leader.step(appendRejection({ from: 2, to: 1, term: 8, rejectedIndex: 10, hintIndex: 4, hintTerm: 4 }));
  const probe = ofType(takeMessages(leader), "AppendEntries")[0];
  assert.ok(probe !== undefined);
  assert.equal(probe.prevLogIndex, 4);
  assert.equal(probe.prevLogTerm, 4);
  assert.equal(probe.entries[0]?.index, 5);
});

test("§5.3 a rejection of an older probe does not move nextIndex", () => {
  const leader = paperNode(1, [1, 2, 3], { initial: stored(figure7Leader, 7) });
  electLeader(leader);
  // The outstanding probe has prevLogIndex 10; a rejection of prevLogIndex 7 answers an earlier one.
  leader.step(appendRejection({ from: 2, to: 1, term: 8, rejectedIndex: 7, hintIndex: 4, hintTerm: 4 }));
  assert.deepEqual(takeMessages(leader), []);
  assert.equal(leader.status().progress.find((p) => p.id === 2)?.nextIndex, 11);
});

test("§5.3 a leader brings every follower of Figure 7 to its own log", () => {
  const followers: { name: string; terms: number[] }[] = [
    { name: "a", terms: [1, 1, 1, 4, 4, 5, 5, 6, 6] },
    { name: "b", terms: [1, 1, 1, 4] },
    { name: "c", terms: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6] },
    { name: "d", terms: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7] },
    { name: "e", terms: [1, 1, 1, 4, 4, 4, 4] },
    { name: "f", terms: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3] },
  ];
  for (const f of followers) {
    const leader = paperNode(1, [1, 2, 3], { initial: stored(figure7Leader, 7) });
    const follower = paperNode(2, [1, 2, 3], { initial: stored(f.terms, Math.max(...f.terms)) });
    // Node 3 stays silent; the leader wins with votes crafted for it.
    const elected = electLeader(leader);
    for (const m of elected.messages) if (m.to === 2 && m.type === "AppendEntries") follower.step(m);
    const net = new Network([leader, follower]);
    net.stabilize();
    const want: [number, number][] = [...figure7Leader, 8].map((term, i) => [i + 1, term]);
    assert.deepEqual(logOf(follower), want, `follower (${f.name})`);
    assert.equal(leader.status().commitIndex, 11, `follower (${f.name})`);
    assert.equal(follower.status().commitIndex, 11, `follower (${f.name})`);
  }
});

test("§5.3 a leader sends heartbeats every heartbeatIntervalTicks with the commit index each follower can use", () => {
  const leader = newLeader([1, 2, 3], { ...paper, heartbeatIntervalTicks: 3 });
  leader.propose(bytes(1));
  takeReady(leader);
  leader.step(appendResponse({ from: 3, to: 1, term: 1, matchIndex: 2 }));
  takeReady(leader);
  assert.equal(leader.status().commitIndex, 2);
  tickTimes(leader, 2);
  assert.deepEqual(takeMessages(leader), []);
  leader.tick();
  // Follower 2 may not hold entry 2 yet, so it is only told about index 1.
  assert.deepEqual(byRecipient(takeMessages(leader)), [
    heartbeat({ from: 1, to: 2, term: 1, leaderCommit: 1 }),
    heartbeat({ from: 1, to: 3, term: 1, leaderCommit: 2 }),
  ]);
});

// ---------------------------------------------------------------- §5.4

test("§5.4.1 a voter refuses a candidate whose log is less up to date than its own", () => {
  // The voter's log is 1 2 (term 2 at index 2).
  const cases: { lastLogIndex: number; lastLogTerm: number; granted: boolean }[] = [
    { lastLogIndex: 5, lastLogTerm: 1, granted: false },
    { lastLogIndex: 1, lastLogTerm: 2, granted: false },
    { lastLogIndex: 0, lastLogTerm: 0, granted: false },
    { lastLogIndex: 2, lastLogTerm: 2, granted: true },
    { lastLogIndex: 3, lastLogTerm: 2, granted: true },
    { lastLogIndex: 1, lastLogTerm: 3, granted: true },
  ];
  for (const c of cases) {
    const node = paperNode(1, [1, 2, 3], { initial: stored([1, 2], 2) });
    node.step(requestVote({ from: 2, to: 1, term: 3, lastLogIndex: c.lastLogIndex, lastLogTerm: c.lastLogTerm }));
    const ready = takeReady(node);
    const what = `candidate log (${c.lastLogIndex}, ${c.lastLogTerm})`;
    assert.deepEqual(ready.messages, [requestVoteResponse({ from: 1, to: 2, term: 3, granted: c.granted })], what);
    assert.deepEqual(ready.hardState, { term: 3, votedFor: c.granted ? 2 : 0, commitIndex: 0 }, what);
  }
});

test("§5.4.2 a leader never commits an entry of an earlier term by counting replicas (Figure 8)", () => {
  // Entry 2 (term 2) was written by an earlier leader and never committed.
  const leader = paperNode(1, [1, 2, 3], { initial: stored([1, 2], 3, 0, 1) });
  electLeader(leader);
  assert.equal(leader.status().term, 4);
  // Follower 2 now holds entry 2: a majority stores it, but it is of term 2.
  leader.step(appendResponse({ from: 2, to: 1, term: 4, matchIndex: 2 }));
  assert.equal(leader.status().commitIndex, 1);
  assert.deepEqual(takeReady(leader).committedEntries, []);
  // Once the no-op of term 4 is on a majority, it commits, and entry 2 with it.
  leader.step(appendResponse({ from: 2, to: 1, term: 4, matchIndex: 3 }));
  assert.equal(leader.status().commitIndex, 3);
  assert.deepEqual(indexTerms(takeReady(leader).committedEntries), [
    [2, 2],
    [3, 4],
  ]);
});

// ---------------------------------------------------------------- §8

test("§8 a new leader appends a no-op entry of its term and replicates it", () => {
  const leader = paperNode(1, [1, 2, 3], { initial: stored([1, 1], 1) });
  const ready = electLeader(leader);
  assert.deepEqual(ready.entries, [entry(3, 2, bytes(), "noop")]);
  assert.deepEqual(byRecipient(ofType(ready.messages, "AppendEntries")), [
    appendEntries({ from: 1, to: 2, term: 2, prevLogIndex: 2, prevLogTerm: 1, entries: [entry(3, 2, bytes(), "noop")] }),
    appendEntries({ from: 1, to: 3, term: 2, prevLogIndex: 2, prevLogTerm: 1, entries: [entry(3, 2, bytes(), "noop")] }),
  ]);
});
