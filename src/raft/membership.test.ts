import assert from "node:assert/strict";
import { test } from "node:test";
import { AssertionError } from "../shared/assert.js";
import { limits } from "../shared/limits.js";
import {
  applyMembershipChange,
  decodeMembershipChange,
  describeMembership,
  encodeMembershipChange,
  isLearner,
  isMember,
  isVoter,
  members,
} from "./membership.js";
import type { Membership, MembershipChange } from "./types.js";

const base: Membership = { voters: [1, 2, 3], learners: [4] };

test("isVoter(), isLearner(), isMember() and members() tell voters from learners", () => {
  assert.deepEqual(
    [1, 4, 5].map((id) => [isVoter(base, id), isLearner(base, id), isMember(base, id)]),
    [
      [true, false, true],
      [false, true, true],
      [false, false, false],
    ],
  );
  assert.deepEqual(members(base), [1, 2, 3, 4]);
});

test("applyMembershipChange() gives the sorted membership after one change, or why it is refused", () => {
  const cases: { name: string; from: Membership; change: MembershipChange; want: Membership | string }[] = [
    { name: "add a new voter", from: base, change: { kind: "addVoter", nodeId: 5 }, want: { voters: [1, 2, 3, 5], learners: [4] } },
    { name: "promote a learner", from: base, change: { kind: "addVoter", nodeId: 4 }, want: { voters: [1, 2, 3, 4], learners: [] } },
    { name: "add a voter below the others", from: { voters: [3, 5], learners: [] }, change: { kind: "addVoter", nodeId: 1 }, want: { voters: [1, 3, 5], learners: [] } },
    { name: "add a voter twice", from: base, change: { kind: "addVoter", nodeId: 2 }, want: "node 2 is already a voter" },
    { name: "add a new learner", from: base, change: { kind: "addLearner", nodeId: 6 }, want: { voters: [1, 2, 3], learners: [4, 6] } },
    { name: "demote a voter", from: base, change: { kind: "addLearner", nodeId: 2 }, want: { voters: [1, 3], learners: [2, 4] } },
    { name: "add a learner twice", from: base, change: { kind: "addLearner", nodeId: 4 }, want: "node 4 is already a learner" },
    { name: "demote the last voter", from: { voters: [1], learners: [] }, change: { kind: "addLearner", nodeId: 1 }, want: "node 1 is the last voter" },
    { name: "remove a voter", from: base, change: { kind: "removeNode", nodeId: 1 }, want: { voters: [2, 3], learners: [4] } },
    { name: "remove a learner", from: base, change: { kind: "removeNode", nodeId: 4 }, want: { voters: [1, 2, 3], learners: [] } },
    { name: "remove a stranger", from: base, change: { kind: "removeNode", nodeId: 9 }, want: "node 9 is not a member" },
    { name: "remove the last voter", from: { voters: [1], learners: [2] }, change: { kind: "removeNode", nodeId: 1 }, want: "node 1 is the last voter" },
    { name: "node id zero", from: base, change: { kind: "addVoter", nodeId: 0 }, want: "node id must be a positive integer: current value is 0" },
    { name: "negative node id", from: base, change: { kind: "removeNode", nodeId: -2 }, want: "node id must be a positive integer: current value is -2" },
    { name: "fractional node id", from: base, change: { kind: "addLearner", nodeId: 1.5 }, want: "node id must be a positive integer: current value is 1.5" },
  ];
  for (const c of cases) {
    const got = applyMembershipChange(c.from, c.change);
    if (typeof c.want === "string") assert.deepEqual(got, { ok: false, error: c.want }, c.name);
    else assert.deepEqual(got, { ok: true, value: c.want }, c.name);
  }
});

test("applyMembershipChange() refuses a member beyond membersCountMax but allows promoting a learner", () => {
  const countMax = limits.raft.membersCountMax;
  const full: Membership = {
    voters: Array.from({ length: countMax - 1 }, (_, i) => i + 1),
    learners: [countMax],
  };
  const tooMany = `the cluster already has ${countMax} members`;
  assert.deepEqual(applyMembershipChange(full, { kind: "addVoter", nodeId: countMax + 1 }), { ok: false, error: tooMany });
  assert.deepEqual(applyMembershipChange(full, { kind: "addLearner", nodeId: countMax + 1 }), { ok: false, error: tooMany });
  const promoted = applyMembershipChange(full, { kind: "addVoter", nodeId: countMax });
  assert.equal(promoted.ok && promoted.value.voters.length, countMax);
});

test("applyMembershipChange() leaves its input untouched", () => {
  const from: Membership = { voters: [3, 1, 2], learners: [] };
  applyMembershipChange(from, { kind: "addVoter", nodeId: 4 });
  assert.deepEqual(from, { voters: [3, 1, 2], learners: [] });
});

test("encodeMembershipChange() and decodeMembershipChange() round-trip every kind", () => {
  const changes: MembershipChange[] = [
    { kind: "addVoter", nodeId: 1 },
    { kind: "addLearner", nodeId: 70000 },
    { kind: "removeNode", nodeId: 0xffff_ffff },
  ];
  for (const change of changes) {
    const data = encodeMembershipChange(change);
    assert.equal(data.length, 5);
    assert.deepEqual(decodeMembershipChange(data), change);
  }
  assert.deepEqual([...encodeMembershipChange({ kind: "addLearner", nodeId: 0x01020304 })], [2, 1, 2, 3, 4]);
});

test("decodeMembershipChange() reads a view into a larger buffer at its own offset", () => {
  const buffer = Uint8Array.from([9, 9, 3, 0, 0, 1, 0, 9]);
  assert.deepEqual(decodeMembershipChange(buffer.subarray(2, 7)), { kind: "removeNode", nodeId: 256 });
});

test("decodeMembershipChange() refuses a wrong length or an unknown kind", () => {
  assert.throws(() => decodeMembershipChange(Uint8Array.from([1, 0, 0, 0])), AssertionError);
  assert.throws(() => decodeMembershipChange(Uint8Array.from([7, 0, 0, 0, 1])), {
    message: "Cannot decode membership entry as its kind is unknown: current value is 7",
  });
});

test("describeMembership() names voters and, when there are any, learners", () => {
  assert.equal(describeMembership(base), "voters=(1,2,3) learners=(4)");
  assert.equal(describeMembership({ voters: [2], learners: [] }), "voters=(2)");
});
