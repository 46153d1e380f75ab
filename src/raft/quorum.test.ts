import assert from "node:assert/strict";
import { test } from "node:test";
import { committedByQuorum, majority, quorumHolds, voteOutcome } from "./quorum.js";
import type { NodeId } from "./types.js";

test("majority() is more than half of the voters", () => {
  const cases: [number, number][] = [
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
    [6, 4],
    [7, 4],
  ];
  for (const [voters, want] of cases) assert.equal(majority(voters), want, `${voters} voters`);
});

test("committedByQuorum() is the highest index a majority of voters holds", () => {
  const cases: { matches: number[]; want: number }[] = [
    { matches: [], want: 0 },
    { matches: [5], want: 5 },
    { matches: [5, 3], want: 3 },
    { matches: [5, 3, 1], want: 3 },
    { matches: [1, 5, 3], want: 3 },
    { matches: [0, 0, 7], want: 0 },
    { matches: [4, 4, 4, 1], want: 4 },
    { matches: [4, 3, 2, 1], want: 2 },
    { matches: [9, 8, 2, 1, 1], want: 2 },
    { matches: [9, 8, 7, 1, 1], want: 7 },
  ];
  for (const c of cases) {
    const voters = c.matches.map((_, i) => i + 1);
    const got = committedByQuorum(voters, (id) => c.matches[id - 1] ?? -1);
    assert.equal(got, c.want, `matches ${c.matches.join(",")}`);
  }
});

test("committedByQuorum() only asks about voters", () => {
  const asked: NodeId[] = [];
  committedByQuorum([1, 3], (id) => {
    asked.push(id);
    return 1;
  });
  assert.deepEqual(asked, [1, 3]);
});

test("voteOutcome() is won with a majority of grants, lost once a majority cannot be reached", () => {
  const cases: { voters: NodeId[]; votes: [NodeId, boolean][]; want: string }[] = [
    { voters: [1], votes: [[1, true]], want: "won" },
    { voters: [1, 2, 3], votes: [[1, true]], want: "pending" },
    { voters: [1, 2, 3], votes: [[1, true], [2, true]], want: "won" },
    { voters: [1, 2, 3], votes: [[1, true], [2, false]], want: "pending" },
    { voters: [1, 2, 3], votes: [[1, true], [2, false], [3, false]], want: "lost" },
    { voters: [1, 2], votes: [[1, true], [2, false]], want: "lost" },
    { voters: [1, 2, 3, 4], votes: [[1, true], [2, true]], want: "pending" },
    { voters: [1, 2, 3, 4], votes: [[1, true], [2, false], [3, false]], want: "lost" },
    { voters: [1, 2, 3, 4, 5], votes: [[1, true], [2, true], [3, true]], want: "won" },
    // Votes from non-voters do not count, either way.
    { voters: [1, 2, 3], votes: [[1, true], [4, true], [5, true]], want: "pending" },
    { voters: [1, 2, 3], votes: [[1, true], [4, false], [5, false]], want: "pending" },
    { voters: [], votes: [[1, true]], want: "lost" },
  ];
  for (const c of cases) {
    assert.equal(voteOutcome(c.voters, new Map(c.votes)), c.want, `voters ${c.voters.join(",")} votes ${JSON.stringify(c.votes)}`);
  }
});

test("quorumHolds() needs the predicate on a majority of voters and fails on no voters", () => {
  const cases: { voters: NodeId[]; yes: NodeId[]; want: boolean }[] = [
    { voters: [1, 2, 3], yes: [1, 2], want: true },
    { voters: [1, 2, 3], yes: [3], want: false },
    { voters: [1, 2, 3], yes: [3, 4, 5], want: false },
    { voters: [1, 2, 3, 4], yes: [1, 2], want: false },
    { voters: [1, 2, 3, 4], yes: [1, 2, 4], want: true },
    { voters: [], yes: [], want: false },
  ];
  for (const c of cases) {
    assert.equal(
      quorumHolds(c.voters, (id) => c.yes.includes(id)),
      c.want,
      `voters ${c.voters.join(",")} yes ${c.yes.join(",")}`,
    );
  }
});
