import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { MemberAddress } from "../controller/config.js";
import type { Applied, ControllerStatus } from "../controller/controller.js";
import { ControllerError, notLeaderError } from "../controller/errors.js";
import type { KvResult } from "../controller/kvStateMachine.js";
import { KvStateMachine } from "../controller/kvStateMachine.js";
import type { NodeId } from "../raft/types.js";
import { createPrng } from "../shared/prng.js";
import type { ControllerApi } from "./app.js";
import { buildApp } from "./app.js";
import { forwardedByHeader } from "./forward.js";

const members: MemberAddress[] = [1, 2, 3].map((id) => ({ id, raft: { host: "127.0.0.1", port: 9100 + id }, api: { host: "127.0.0.1", port: 9000 + id } }));

function status(overrides: Partial<ControllerStatus> = {}): ControllerStatus {
  return {
    id: 1,
    role: "leader",
    term: 3,
    votedFor: 1,
    leaderId: 1,
    commitIndex: 10,
    appliedIndex: 10,
    lastIndex: 12,
    snapshotIndex: 0,
    membership: { voters: [1, 2, 3], learners: [] },
    progress: [
      { id: 2, voter: true, state: "replicate", matchIndex: 12, nextIndex: 13, recentActive: true, ticksSinceContact: 2 },
      { id: 3, voter: true, state: "probe", matchIndex: 7, nextIndex: 8, recentActive: false, ticksSinceContact: 40 },
    ],
    transferTarget: 0,
    tickIntervalMs: 10,
    electionTimeoutTicks: 30,
    heartbeatIntervalTicks: 5,
    ...overrides,
  };
}

/** A controller whose answers the test sets; the key-value map is real and applies what is proposed. */
class FakeController implements ControllerApi {
  current = status();
  proposeError: ControllerError | undefined;
  readError: ControllerError | undefined;
  readBarriers = 0;
  readonly kv = new KvStateMachine();

  status(): ControllerStatus {
    return this.current;
  }

  async propose(data: Uint8Array): Promise<Applied<KvResult | undefined>> {
    if (this.proposeError !== undefined) throw this.proposeError;
    const index = this.kv.appliedIndex + 1;
    const result = this.kv.apply({ index, term: 3, type: "normal", data });
    return { index, term: 3, result };
  }

  async readBarrier(): Promise<number> {
    this.readBarriers++;
    if (this.readError !== undefined) throw this.readError;
    return this.kv.appliedIndex;
  }

  async transferLeadership(_target?: NodeId): Promise<boolean> {
    this.current = status({ role: "follower", leaderId: 2 });
    return true;
  }
}

function setUp(bodyBytesMax?: number) {
  const controller = new FakeController();
  const app = buildApp({ controller, kv: controller.kv, members, pid: 4242, ...(bodyBytesMax === undefined ? {} : { bodyBytesMax }) });
  return { controller, app };
}

const putJson = (key: string, payload: unknown) => ({
  method: "PUT" as const,
  url: `/v1/kv/${key}`,
  headers: { "content-type": "application/json" },
  payload: typeof payload === "string" ? payload : JSON.stringify(payload),
});

describe("HTTP API", () => {
  test("GET /healthz answers ok; GET /readyz answers 503 NO_LEADER with Retry-After until a leader is known", async () => {
    const { app, controller } = setUp();
    assert.deepEqual((await app.inject({ url: "/healthz" })).json(), { status: "ok", nodeId: 1 });
    assert.equal((await app.inject({ url: "/readyz" })).statusCode, 200);
    controller.current = status({ role: "candidate", leaderId: 0 });
    const notReady = await app.inject({ url: "/readyz" });
    assert.equal(notReady.statusCode, 503);
    assert.equal(notReady.json().code, "NO_LEADER");
    assert.equal(notReady.headers["retry-after"], "1");
  });

  test("GET /v1/cluster reports leader, term, commit index, each member's role, match index, lag and last contact, and the pid", async () => {
    const { app } = setUp();
    const body = (await app.inject({ url: "/v1/cluster" })).json();
    assert.equal(body.nodeId, 1);
    assert.equal(body.pid, 4242);
    assert.equal(body.leaderId, 1);
    assert.equal(body.leaderUrl, "http://127.0.0.1:9001");
    assert.equal(body.term, 3);
    assert.equal(body.commitIndex, 10);
    assert.deepEqual(body.election, { tickIntervalMs: 10, electionTimeoutMs: 300, heartbeatIntervalMs: 50 });
    assert.deepEqual(
      body.members.map((m: Record<string, unknown>) => [m["id"], m["role"], m["matchIndex"], m["lag"], m["lastContactMs"]]),
      [
        [1, "leader", 12, 0, 0],
        [2, "follower", 12, 0, 20],
        [3, "follower", 7, 5, 400],
      ],
    );
    assert.equal(body.members[1].raftAddress, "127.0.0.1:9102");
  });

  test("PUT /v1/kv/:key writes through the controller and answers with the version and log index", async () => {
    const { app } = setUp();
    const first = await app.inject(putJson("color", { value: "blue" }));
    assert.equal(first.statusCode, 200);
    assert.deepEqual(first.json(), { key: "color", value: "blue", version: 1, index: 1 });
    const second = await app.inject(putJson("color", { value: "red" }));
    assert.deepEqual(second.json(), { key: "color", value: "red", version: 2, index: 2 });
  });

  test("a write forwarded once already answers 421 NOT_LEADER with the leader's URL; with no leader 503 NO_LEADER and Retry-After", async () => {
    const { app, controller } = setUp();
    controller.proposeError = notLeaderError(2);
    const misdirected = await app.inject({ ...putJson("a", { value: "x" }), headers: { "content-type": "application/json", [forwardedByHeader]: "3" } });
    assert.equal(misdirected.statusCode, 421);
    assert.equal(misdirected.json().code, "NOT_LEADER");
    assert.equal(misdirected.json().leaderUrl, "http://127.0.0.1:9002");
    controller.proposeError = notLeaderError(0);
    const leaderless = await app.inject(putJson("a", { value: "x" }));
    assert.equal(leaderless.statusCode, 503);
    assert.equal(leaderless.json().code, "NO_LEADER");
    assert.equal(leaderless.json().retriable, true);
    assert.equal(leaderless.headers["retry-after"], "1");
  });

  test("a write on a follower is forwarded to the leader, whose answer is relayed unchanged", async () => {
    const leaderController = new FakeController();
    leaderController.current = status({ id: 2, leaderId: 2 });
    const leaderApp = buildApp({ controller: leaderController, kv: leaderController.kv, members, pid: 1 });
    await leaderApp.listen({ host: "127.0.0.1", port: 0 });
    try {
      const address = leaderApp.server.address();
      assert.ok(address !== null && typeof address === "object");
      const withLeader = members.map((m) => (m.id === 2 ? { ...m, api: { host: "127.0.0.1", port: address.port } } : m));
      const follower = new FakeController();
      follower.current = status({ role: "follower", leaderId: 2, progress: [] });
      follower.proposeError = notLeaderError(2);
      const app = buildApp({ controller: follower, kv: follower.kv, members: withLeader, pid: 2 });
      const response = await app.inject(putJson("color", { value: "blue" }));
      assert.equal(response.statusCode, 200, response.body);
      assert.deepEqual(response.json(), { key: "color", value: "blue", version: 1, index: 1 });
      assert.equal(leaderController.kv.get("color")?.value, "blue", "the leader applied it");
      const invalid = await app.inject(putJson("color", { value: 3 }));
      assert.equal(invalid.statusCode, 400, "validation happens before forwarding");
    } finally {
      await leaderApp.close();
    }
  });

  test("a write whose leader cannot be reached answers 503 FORWARD_FAILED with outcome unknown", async () => {
    const closed = buildApp({ controller: new FakeController(), kv: new KvStateMachine(), members, pid: 1 });
    await closed.listen({ host: "127.0.0.1", port: 0 });
    const address = closed.server.address();
    await closed.close();
    assert.ok(address !== null && typeof address === "object");
    const unreachable = members.map((m) => (m.id === 2 ? { ...m, api: { host: "127.0.0.1", port: address.port } } : m));
    const follower = new FakeController();
    follower.proposeError = notLeaderError(2);
    const app = buildApp({ controller: follower, kv: follower.kv, members: unreachable, pid: 2 });
    const response = await app.inject(putJson("a", { value: "x" }));
    assert.equal(response.statusCode, 503);
    assert.equal(response.json().code, "FORWARD_FAILED");
    assert.equal(response.json().outcome, "unknown");
  });

  test("GET /metrics serves Raft state and request counts in Prometheus format; GET /docs/json the OpenAPI document", async () => {
    const { app } = setUp();
    await app.inject(putJson("a", { value: "x" }));
    const metrics = await app.inject({ url: "/metrics" });
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.headers["content-type"] as string, /text\/plain/);
    assert.match(metrics.body, /^yakt_raft_term 3$/m);
    assert.match(metrics.body, /^yakt_raft_is_leader 1$/m);
    assert.match(metrics.body, /^yakt_raft_follower_match_index\{peer="3"\} 7$/m);
    assert.match(metrics.body, /^yakt_http_requests_total\{method="PUT",route="\/v1\/kv\/:key",status="200"\} 1$/m);
    const openapi = (await app.inject({ url: "/docs/json" })).json();
    assert.equal(openapi.openapi.startsWith("3."), true);
    assert.ok(openapi.paths["/v1/kv/{key}"] !== undefined, "routes are documented");
    assert.equal((await app.inject({ url: "/docs" })).statusCode < 400, true);
  });

  test("a write whose leader stepped down answers 503 LEADERSHIP_LOST with outcome unknown", async () => {
    const { app, controller } = setUp();
    controller.proposeError = new ControllerError("LEADERSHIP_LOST", "Cannot complete the write at 5 as this node stopped being leader", { outcome: "unknown" });
    const response = await app.inject(putJson("a", { value: "x" }));
    assert.equal(response.statusCode, 503);
    assert.equal(response.json().outcome, "unknown");
  });

  test("bad input gets a coded 4xx naming the problem: malformed JSON, a missing or mistyped field, an extra field, a wrong content type", async () => {
    const { app } = setUp();
    const malformed = await app.inject(putJson("a", "{not json"));
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.json().code, "INVALID_JSON");
    const missing = await app.inject(putJson("a", {}));
    assert.equal(missing.statusCode, 400);
    assert.equal(missing.json().code, "BAD_REQUEST");
    assert.equal(missing.json().field, "body.value");
    const mistyped = await app.inject(putJson("a", { value: 7 }));
    assert.equal(mistyped.json().field, "body.value");
    const extra = await app.inject(putJson("a", { value: "x", colour: "red" }));
    assert.equal(extra.json().field, "body.colour");
    const text = await app.inject({ method: "PUT", url: "/v1/kv/a", headers: { "content-type": "application/xml" }, payload: "<x/>" });
    assert.equal(text.statusCode, 415);
    assert.equal(text.json().code, "UNSUPPORTED_MEDIA_TYPE");
  });

  test("a body over the limit answers 413 BODY_TOO_LARGE and nothing is written", async () => {
    const { app, controller } = setUp(1024);
    const response = await app.inject(putJson("a", { value: "x".repeat(2048) }));
    assert.equal(response.statusCode, 413);
    assert.equal(response.json().code, "BODY_TOO_LARGE");
    assert.equal(controller.kv.appliedIndex, 0);
  });

  test("GET /v1/kv/:key is linearizable by default and stale on request; an unknown key is 404 NOT_FOUND", async () => {
    const { app, controller } = setUp();
    await app.inject(putJson("a", { value: "x" }));
    const read = await app.inject({ url: "/v1/kv/a" });
    assert.deepEqual(read.json(), { key: "a", value: "x", version: 1, index: 1, readIndex: 1 });
    assert.equal(controller.readBarriers, 1);
    await app.inject({ url: "/v1/kv/a?consistency=stale" });
    assert.equal(controller.readBarriers, 1, "a stale read does not wait for the leader");
    const missing = await app.inject({ url: "/v1/kv/b" });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, "NOT_FOUND");
    const badQuery = await app.inject({ url: "/v1/kv/a?consistency=eventual" });
    assert.equal(badQuery.statusCode, 400);
    controller.readError = new ControllerError("READ_TIMEOUT", "Cannot confirm the read as no leader answered within 600 ms");
    assert.equal((await app.inject({ url: "/v1/kv/a" })).statusCode, 503);
  });

  test("GET /v1/kv lists every key in order with the applied index", async () => {
    const { app } = setUp();
    for (const key of ["b", "a", "c"]) await app.inject(putJson(key, { value: key.toUpperCase() }));
    const body = (await app.inject({ url: "/v1/kv" })).json();
    assert.equal(body.appliedIndex, 3);
    assert.deepEqual(
      body.entries.map((e: { key: string; value: string }) => `${e.key}=${e.value}`),
      ["a=A", "b=B", "c=C"],
    );
  });

  test("POST /v1/cluster/transfer-leadership hands over on the leader and answers 421 elsewhere", async () => {
    const { app } = setUp();
    const moved = await app.inject({ method: "POST", url: "/v1/cluster/transfer-leadership" });
    assert.deepEqual(moved.json(), { transferred: true, leaderId: 2 });
    const again = await app.inject({ method: "POST", url: "/v1/cluster/transfer-leadership", headers: { [forwardedByHeader]: "3" } });
    assert.equal(again.statusCode, 421);
    assert.equal(again.json().leaderId, 2);
  });

  test("unknown routes answer 404 ROUTE_NOT_FOUND", async () => {
    const { app } = setUp();
    const response = await app.inject({ url: "/v2/nothing" });
    assert.equal(response.statusCode, 404);
    assert.equal(response.json().code, "ROUTE_NOT_FOUND");
  });

  test("generated requests never crash the app or produce a 500", async () => {
    const { app } = setUp(4096);
    const prng = createPrng(7);
    const pieces = ["{", "}", "[", "]", '"value"', ":", ",", '"x"', "7", "null", "true", "\u0000", "\ud800", "é", " ", '"', "\\", "1e999"];
    const methods = ["GET", "PUT", "POST", "DELETE", "PATCH"] as const;
    const paths = ["/v1/kv/a", "/v1/kv/", "/v1/kv/%FF", "/v1/kv/" + "k".repeat(2000), "/v1/cluster", "/v1/cluster/transfer-leadership", "/readyz", "/v1/kv?consistency=", "/%"];
    for (let i = 0; i < 400; i++) {
      const body = Array.from({ length: prng.int(12) }, () => prng.pick(pieces)).join("");
      const response = await app.inject({
        method: prng.pick(methods),
        url: prng.pick(paths),
        headers: { "content-type": prng.chance(0.8) ? "application/json" : "application/x-www-form-urlencoded" },
        ...(prng.chance(0.8) ? { payload: body } : {}),
      });
      assert.ok(response.statusCode < 500, `request ${i} got ${response.statusCode}: ${response.body}`);
      assert.equal(typeof response.json().code === "string" || response.statusCode < 400, true, `request ${i} error has a code: ${response.body}`);
    }
  });
});
