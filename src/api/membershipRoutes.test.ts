import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fromRaftError } from "../controller/errors.js";
import { forwardedByHeader } from "./forward.js";
import { controllerStatus as status, FakeController, jsonRequest, testApp, withForwardingPair } from "./testing.js";

const addMember = (body: Record<string, unknown>, headers: Record<string, string> = {}) => jsonRequest("POST", "/v1/cluster/members", body, headers);
const node4 = { id: 4, raftAddress: "127.0.0.1:9104", apiAddress: "127.0.0.1:9004" };
const removeMember = (id: number | string, headers: Record<string, string> = {}) => ({ method: "DELETE" as const, url: `/v1/cluster/members/${id}`, headers });

describe("POST /v1/cluster/members", () => {
  test("registers the controller's addresses, adds it as a learner, then promotes it to voter; GET /v1/cluster lists it with its addresses", async () => {
    const { app, controller, service } = testApp();
    const response = await app.inject(addMember(node4));
    assert.equal(response.statusCode, 201, response.body);
    assert.deepEqual(response.json(), {
      membership: { voters: [1, 2, 3, 4], learners: [] },
      member: { id: 4, role: "voter", raftAddress: "127.0.0.1:9104", apiAddress: "127.0.0.1:9004" },
    });
    assert.deepEqual(controller.membershipChanges, [
      { kind: "addLearner", nodeId: 4 },
      { kind: "addVoter", nodeId: 4 },
    ]);
    assert.deepEqual(service.stateMachine.controller(4), { controllerId: 4, raftHost: "127.0.0.1", raftPort: 9104, apiHost: "127.0.0.1", apiPort: 9004 });
    const cluster = (await app.inject({ url: "/v1/cluster" })).json();
    const listed = cluster.members.find((m: { id: number }) => m.id === 4);
    assert.deepEqual([listed.voter, listed.role, listed.raftAddress, listed.apiUrl], [true, "follower", "127.0.0.1:9104", "http://127.0.0.1:9004"]);
  });

  test("role observer leaves it a learner, listed with role learner; IPv6 addresses come in brackets", async () => {
    const { app, controller } = testApp();
    const response = await app.inject(addMember({ id: 7, raftAddress: "[::1]:9107", apiAddress: "[::1]:9007", role: "observer" }));
    assert.equal(response.statusCode, 201, response.body);
    assert.deepEqual(response.json().membership, { voters: [1, 2, 3], learners: [7] });
    assert.deepEqual(response.json().member, { id: 7, role: "observer", raftAddress: "[::1]:9107", apiAddress: "[::1]:9007" });
    assert.deepEqual(controller.membershipChanges, [{ kind: "addLearner", nodeId: 7 }]);
    const listed = (await app.inject({ url: "/v1/cluster" })).json().members.map((m: Record<string, unknown>) => [m["id"], m["voter"], m["role"]]);
    assert.deepEqual(listed, [
      [1, true, "leader"],
      [2, true, "follower"],
      [3, true, "follower"],
      [7, false, "learner"],
    ]);
  });

  test("a malformed body is 400 BAD_REQUEST naming the field, before anything changes", async () => {
    const { app, controller, service } = testApp();
    const cases: [Record<string, unknown>, string][] = [
      [{ raftAddress: "127.0.0.1:9104", apiAddress: "127.0.0.1:9004" }, "body.id"],
      [{ ...node4, id: 0 }, "body.id"],
      [{ ...node4, id: "4" }, "body.id"],
      [{ ...node4, raftAddress: "127.0.0.1" }, "body.raftAddress"],
      [{ ...node4, raftAddress: "127.0.0.1:0" }, "body.raftAddress"],
      [{ ...node4, apiAddress: "::1:9004" }, "body.apiAddress"],
      [{ ...node4, apiAddress: "" }, "body.apiAddress"],
      [{ ...node4, role: "leader" }, "body.role"],
      [{ ...node4, voter: true }, "body.voter"],
    ];
    for (const [body, field] of cases) {
      const response = await app.inject(addMember(body));
      assert.equal(response.statusCode, 400, JSON.stringify(body));
      assert.equal(response.json().code, "BAD_REQUEST");
      assert.equal(response.json().field, field, JSON.stringify(body));
      assert.match(response.json().message, /^Cannot accept the request as /);
    }
    assert.deepEqual(controller.membershipChanges, []);
    assert.equal(service.stateMachine.controllers().length, 0);
  });

  test("a controller that is already a member is 409 CONTROLLER_EXISTS; another controller's address is 409 INVALID_MEMBERSHIP_CHANGE", async () => {
    const { app, controller } = testApp();
    const voter = await app.inject(addMember({ ...node4, id: 2 }));
    assert.equal(voter.statusCode, 409);
    assert.equal(voter.json().code, "CONTROLLER_EXISTS");
    assert.equal(voter.json().message, "Cannot add controller 2 as it is already a voter");
    const taken = await app.inject(addMember({ ...node4, raftAddress: "127.0.0.1:9002" }));
    assert.equal(taken.statusCode, 409);
    assert.equal(taken.json().code, "INVALID_MEMBERSHIP_CHANGE");
    assert.equal(taken.json().field, "body.raftAddress");
    assert.equal(taken.json().message, "Cannot add controller 4 as controller 2 listens at 127.0.0.1:9002");
    assert.equal((await app.inject(addMember({ ...node4, role: "observer" }))).statusCode, 201);
    const observerAgain = await app.inject(addMember({ ...node4, role: "observer" }));
    assert.equal(observerAgain.json().code, "CONTROLLER_EXISTS");
    assert.deepEqual(controller.membershipChanges, [{ kind: "addLearner", nodeId: 4 }]);
  });

  test("a change under way is 409 MEMBERSHIP_CHANGE_PENDING with Retry-After, on this leader and from the core", async () => {
    const { app, controller } = testApp();
    // Plugins load first (the docs UI reads files): after that the request below is all in memory.
    await app.ready();
    let release: () => void = () => {};
    controller.matchBarrier = new Promise((resolve) => (release = resolve));
    const first = app.inject(addMember(node4));
    // Until the add waits for the learner to catch up (bounded: the request needs a few turns).
    for (let turn = 0; turn < 10_000 && controller.membershipChanges.length === 0; turn++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(controller.membershipChanges, [{ kind: "addLearner", nodeId: 4 }]);
    const concurrent = await app.inject(removeMember(3));
    assert.equal(concurrent.statusCode, 409);
    assert.equal(concurrent.json().code, "MEMBERSHIP_CHANGE_PENDING");
    assert.equal(concurrent.json().message, "Cannot start removing controller 3 as this leader is still adding controller 4");
    assert.equal(concurrent.json().retriable, true);
    assert.equal(concurrent.headers["retry-after"], "1");
    release();
    assert.equal((await first).statusCode, 201);

    controller.membershipError = fromRaftError({ code: "MembershipChangePending", pendingIndex: 12 });
    const fromCore = await app.inject(removeMember(3));
    assert.equal(fromCore.statusCode, 409);
    assert.equal(fromCore.json().code, "MEMBERSHIP_CHANGE_PENDING");
    assert.equal(fromCore.json().outcome, "not_applied");
    assert.equal(fromCore.headers["retry-after"], "1");
  });

  test("a learner that does not catch up stays a learner with 503 LEARNER_NOT_CAUGHT_UP; the same request again promotes it", async () => {
    const { app, controller, service } = testApp();
    controller.lagging.add(4);
    const response = await app.inject(addMember(node4));
    assert.equal(response.statusCode, 503);
    assert.equal(response.json().code, "LEARNER_NOT_CAUGHT_UP");
    assert.equal(response.json().retriable, true);
    assert.equal(response.headers["retry-after"], "1");
    assert.match(response.json().message, /^Cannot make controller 4 a voter as it did not catch up within 30000 ms \(index \d+\): it stays a learner/);
    assert.deepEqual(controller.current.membership, { voters: [1, 2, 3], learners: [4] });

    const elsewhere = await app.inject(addMember({ ...node4, apiAddress: "127.0.0.1:9999" }));
    assert.equal(elsewhere.statusCode, 409, "a learner is promoted at the addresses it was added with");
    assert.equal(elsewhere.json().code, "INVALID_MEMBERSHIP_CHANGE");
    controller.lagging.delete(4);
    const proposalsBefore = controller.proposals;
    const again = await app.inject(addMember(node4));
    assert.equal(again.statusCode, 201, again.body);
    assert.deepEqual(again.json().membership, { voters: [1, 2, 3, 4], learners: [] });
    assert.equal(controller.proposals, proposalsBefore, "the registration is not written again");
    assert.equal(service.stateMachine.controllers().length, 1);
  });

  test("on a follower the add is forwarded; forwarded once already it is 421 NOT_LEADER with the leader's URL; without a leader 503 NO_LEADER", async () => {
    const follower = new FakeController();
    follower.current = status({ role: "follower", leaderId: 2, progress: [] });
    const { app } = testApp({ controller: follower });
    const misdirected = await app.inject(addMember(node4, { [forwardedByHeader]: "3" }));
    assert.equal(misdirected.statusCode, 421);
    assert.equal(misdirected.json().code, "NOT_LEADER");
    assert.equal(misdirected.json().leaderUrl, "http://127.0.0.1:9002");
    follower.current = status({ role: "candidate", leaderId: 0, progress: [] });
    const leaderless = await app.inject(addMember(node4));
    assert.equal(leaderless.statusCode, 503);
    assert.equal(leaderless.json().code, "NO_LEADER");
    assert.equal(leaderless.headers["retry-after"], "1");
    const removeLeaderless = await app.inject(removeMember(3));
    assert.equal(removeLeaderless.json().code, "NO_LEADER");
    assert.deepEqual(follower.membershipChanges, []);
  });
});

describe("DELETE /v1/cluster/members/{id}", () => {
  test("removes a voter; a registered controller's addresses go with it", async () => {
    const { app, controller, service } = testApp();
    const removed = await app.inject(removeMember(3));
    assert.equal(removed.statusCode, 200, removed.body);
    assert.deepEqual(removed.json(), { membership: { voters: [1, 2], learners: [] }, removedId: 3, unregistered: false });
    assert.equal((await app.inject(addMember(node4))).statusCode, 201);
    const again = await app.inject(removeMember(4));
    assert.deepEqual(again.json(), { membership: { voters: [1, 2], learners: [] }, removedId: 4, unregistered: true });
    assert.equal(service.stateMachine.controller(4), undefined);
    assert.deepEqual(controller.membershipChanges.at(-1), { kind: "removeNode", nodeId: 4 });
    const ids = (await app.inject({ url: "/v1/cluster" })).json().members.map((m: { id: number }) => m.id);
    assert.deepEqual(ids, [1, 2]);
  });

  test("the leader removing itself answers once the removal committed, then no longer leads", async () => {
    const { app, controller } = testApp();
    const response = await app.inject(removeMember(1));
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json().membership, { voters: [2, 3], learners: [] });
    assert.equal(controller.current.role, "follower");
  });

  test("an unknown id is 404 UNKNOWN_CONTROLLER; a bad id 400; the last voter 409 INVALID_MEMBERSHIP_CHANGE; a new leader 503 LEADER_NOT_READY", async () => {
    const { app, controller } = testApp();
    const unknown = await app.inject(removeMember(9));
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, "UNKNOWN_CONTROLLER");
    assert.equal(unknown.json().message, "Cannot remove controller 9 as it is neither a member nor registered");
    for (const bad of ["0", "x", "4294967296"]) {
      const response = await app.inject(removeMember(bad));
      assert.equal(response.statusCode, 400, bad);
      assert.equal(response.json().field, "params.id");
    }
    controller.membershipError = fromRaftError({ code: "LeaderNotReady" });
    const notReady = await app.inject(removeMember(3));
    assert.equal(notReady.statusCode, 503);
    assert.equal(notReady.json().code, "LEADER_NOT_READY");
    assert.equal(notReady.headers["retry-after"], "1");
    controller.current = status({ membership: { voters: [1], learners: [] }, progress: [] });
    const last = await app.inject(removeMember(1));
    assert.equal(last.statusCode, 409);
    assert.equal(last.json().code, "INVALID_MEMBERSHIP_CHANGE");
    assert.equal(last.json().message, "Cannot change the membership as node 1 is the last voter");
  });

  test("on a follower the removal is forwarded to the leader, whose answer is relayed", async () => {
    await withForwardingPair(async ({ leader: { controller: leaderController }, follower: { app, controller: follower } }) => {
      const response = await app.inject(removeMember(3));
      assert.equal(response.statusCode, 200, response.body);
      assert.deepEqual(response.json().membership, { voters: [1, 2], learners: [] });
      assert.deepEqual(leaderController.membershipChanges, [{ kind: "removeNode", nodeId: 3 }]);
      assert.deepEqual(follower.membershipChanges, []);
    });
  });
});
