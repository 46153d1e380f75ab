import assert from "node:assert/strict";
import { request } from "node:http";
import { describe, test } from "node:test";
import { ControllerError, notLeaderError } from "../controller/errors.js";
import { createPrng } from "../shared/prng.js";
import { forwardedByHeader } from "./forward.js";
import { controllerStatus as status, FakeController, jsonRequest, testApp, testMembers as members, withForwardingPair } from "./testing.js";

function setUp(bodyBytesMax?: number) {
  return testApp(bodyBytesMax === undefined ? {} : { bodyBytesMax });
}

const createTopic = (name: string, payload: Record<string, unknown> = {}, headers: Record<string, string> = {}) => jsonRequest("POST", "/v1/topics", { name, ...payload }, headers);

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

  test("a request that arrives while the app closes is 503 STOPPING from the catalogue, with Retry-After and outcome not_applied", async () => {
    const { app } = setUp();
    let release: () => void = () => {};
    let entered: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const closing = new Promise<void>((resolve) => (entered = resolve));
    app.addHook("preClose", async () => {
      entered();
      await held;
    });
    // Over a real socket: Fastify refuses inject() once closing, but a server still takes requests then.
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    const closed = app.close();
    await closing;
    const answer = await fetch(`${url}/v1/topics`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "late" }), signal: AbortSignal.timeout(10_000) });
    const body = (await answer.json()) as Record<string, unknown>;
    release();
    await closed;
    assert.equal(answer.status, 503);
    assert.deepEqual([body["code"], body["outcome"], body["retriable"], answer.headers.get("retry-after")], ["STOPPING", "not_applied", true, "1"]);
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


  test("a write forwarded once already answers 421 NOT_LEADER with the leader's URL; with no leader 503 NO_LEADER and Retry-After", async () => {
    const { app, controller } = setUp();
    controller.proposeError = notLeaderError(2);
    const misdirected = await app.inject(createTopic("a", {}, { [forwardedByHeader]: "3" }));
    assert.equal(misdirected.statusCode, 421);
    assert.equal(misdirected.json().code, "NOT_LEADER");
    assert.equal(misdirected.json().leaderUrl, "http://127.0.0.1:9002");
    controller.proposeError = notLeaderError(0);
    const leaderless = await app.inject(createTopic("a"));
    assert.equal(leaderless.statusCode, 503);
    assert.equal(leaderless.json().code, "NO_LEADER");
    assert.equal(leaderless.json().retriable, true);
    assert.equal(leaderless.headers["retry-after"], "1");
  });

  test("a write on a follower is forwarded to the leader, whose answer is relayed unchanged", async () => {
    await withForwardingPair(async ({ leader: { controller: leaderController }, follower: { app, controller: follower } }) => {
      const response = await app.inject(createTopic("orders", {}, { "idempotency-key": "cli:1" }));
      assert.equal(response.statusCode, 201, response.body);
      assert.equal(response.json().topic.name, "orders");
      assert.equal(response.json().offset, 1);
      assert.equal(leaderController.stateMachine.topic("orders")?.topicUUID, response.json().topic.topicUUID, "the leader applied it");
      const retried = await app.inject(createTopic("orders", {}, { "idempotency-key": "cli:1" }));
      assert.equal(retried.statusCode, 201, "the idempotency key travels with the forwarded write");
      assert.equal(retried.json().replayed, true);
      assert.equal(follower.proposals, 0, "the follower proposed nothing");
      const invalid = await app.inject(createTopic("orders", { partitions: "3" }));
      assert.equal(invalid.statusCode, 400, "the leader's refusal of an invalid write is relayed");
      assert.equal(invalid.json().field, "body.partitions");
    });
  });

  test("a follower that knows the leader forwards a write before running its route, body unread", async () => {
    await withForwardingPair(async ({ leader: { controller: leaderController }, follower: { app, controller: follower } }) => {
      // Were the route to run here, this follower would apply the write itself.
      follower.proposeError = undefined;
      const response = await app.inject(createTopic("orders"));
      assert.equal(response.statusCode, 201, response.body);
      assert.equal(follower.proposals, 0, "the follower ran no route");
      assert.equal(leaderController.proposals, 1);
      const malformed = await app.inject({ method: "POST", url: "/v1/topics", headers: { "content-type": "application/json" }, payload: '{"name": ' });
      assert.equal(malformed.statusCode, 400, "the leader parses it and refuses it");
      assert.equal(follower.proposals, 0);
    });
  });

  test("a follower forwards a write whose body comes chunked, without a Content-Length", async () => {
    await withForwardingPair(async ({ leader: { controller: leaderController }, follower: { app } }) => {
      await app.listen({ host: "127.0.0.1", port: 0 });
      const address = app.server.address();
      assert.ok(address !== null && typeof address === "object");
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const outgoing = request({ host: "127.0.0.1", port: address.port, method: "POST", path: "/v1/topics", headers: { "content-type": "application/json" } }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        });
        outgoing.on("error", reject);
        outgoing.write('{"name": ');
        outgoing.end('"chunked"}');
      }).finally(() => app.close());
      assert.equal(answer.status, 201, answer.body);
      assert.equal(leaderController.stateMachine.topic("chunked")?.name, "chunked");
    });
  });

  test("a write whose leader cannot be reached answers 503 FORWARD_FAILED with outcome unknown", async () => {
    const { app: closed } = testApp();
    await closed.listen({ host: "127.0.0.1", port: 0 });
    const address = closed.server.address();
    await closed.close();
    assert.ok(address !== null && typeof address === "object");
    const unreachable = members.map((m) => (m.id === 2 ? { ...m, api: { host: "127.0.0.1", port: address.port } } : m));
    const follower = new FakeController();
    follower.proposeError = notLeaderError(2);
    const { app } = testApp({ controller: follower, members: unreachable });
    const response = await app.inject(createTopic("a"));
    assert.equal(response.statusCode, 503);
    assert.equal(response.json().code, "FORWARD_FAILED");
    assert.equal(response.json().outcome, "unknown");
  });

  test("GET /metrics serves Raft state and request counts in Prometheus format; GET /docs/json the OpenAPI document", async () => {
    const { app } = setUp();
    await app.inject(createTopic("a"));
    const metrics = await app.inject({ url: "/metrics" });
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.headers["content-type"] as string, /text\/plain/);
    assert.match(metrics.body, /^yakt_raft_term 3$/m);
    assert.match(metrics.body, /^yakt_raft_is_leader 1$/m);
    assert.match(metrics.body, /^yakt_raft_follower_match_index\{peer="3"\} 7$/m);
    assert.match(metrics.body, /^yakt_http_requests_total\{method="POST",route="\/v1\/topics",status="201"\} 1$/m);
    const openapi = (await app.inject({ url: "/docs/json" })).json();
    assert.equal(openapi.openapi.startsWith("3."), true);
    for (const path of ["/v1/brokers", "/v1/brokers/{brokerId}", "/v1/topics", "/v1/topics/{name}", "/v1/partitions", "/v1/producers", "/v1/broker-mgmt/metadata-fetch", "/v1/client-mgmt/metadata", "/v1/log", "/v1/snapshots"]) {
      assert.ok(openapi.paths[path] !== undefined, `${path} is documented`);
    }
    assert.equal((await app.inject({ url: "/docs" })).statusCode < 400, true);
  });

  test("a write whose leader stepped down answers 503 LEADERSHIP_LOST with outcome unknown", async () => {
    const { app, controller } = setUp();
    controller.proposeError = new ControllerError("LEADERSHIP_LOST", "Cannot complete the write at 5 as this node stopped being leader", { outcome: "unknown" });
    const response = await app.inject(createTopic("a"));
    assert.equal(response.statusCode, 503);
    assert.equal(response.json().outcome, "unknown");
  });

  test("bad input gets a coded 4xx naming the problem: malformed JSON, a missing or mistyped field, an extra field, a wrong content type", async () => {
    const { app } = setUp();
    const malformed = await app.inject(jsonRequest("POST", "/v1/topics", "{not json"));
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.json().code, "INVALID_JSON");
    const missing = await app.inject(jsonRequest("POST", "/v1/topics", {}));
    assert.equal(missing.statusCode, 400);
    assert.equal(missing.json().code, "BAD_REQUEST");
    assert.equal(missing.json().field, "body.name");
    const mistyped = await app.inject(createTopic("a", { partitions: "3" }));
    assert.equal(mistyped.json().field, "body.partitions");
    const extra = await app.inject(createTopic("a", { colour: "red" }));
    assert.equal(extra.json().field, "body.colour");
    const text = await app.inject({ method: "POST", url: "/v1/topics", headers: { "content-type": "application/xml" }, payload: "<x/>" });
    assert.equal(text.statusCode, 415);
    assert.equal(text.json().code, "UNSUPPORTED_MEDIA_TYPE");
  });

  test("a body over the limit answers 413 BODY_TOO_LARGE and nothing is written", async () => {
    const { app, controller } = setUp(1024);
    const response = await app.inject(createTopic("x".repeat(2048)));
    assert.equal(response.statusCode, 413);
    assert.equal(response.json().code, "BODY_TOO_LARGE");
    assert.equal(controller.stateMachine.appliedIndex, 0);
  });

  test("reads are linearizable by default and stale on request; a failed read barrier is a 503", async () => {
    const { app, controller } = setUp();
    await app.inject(createTopic("a"));
    const read = await app.inject({ url: "/v1/topics/a" });
    assert.equal(read.json().topic.name, "a");
    assert.equal(controller.readBarriers, 1);
    await app.inject({ url: "/v1/topics/a?consistency=stale" });
    assert.equal(controller.readBarriers, 1, "a stale read does not wait for the leader");
    const badQuery = await app.inject({ url: "/v1/topics/a?consistency=eventual" });
    assert.equal(badQuery.statusCode, 400);
    controller.readError = new ControllerError("READ_TIMEOUT", "Cannot confirm the read as no leader answered within 600 ms");
    const timedOut = await app.inject({ url: "/v1/topics/a" });
    assert.equal(timedOut.statusCode, 503);
    assert.equal(timedOut.headers["retry-after"], "1");
    controller.readError = new ControllerError("NO_LEADER", "Cannot read as no leader is known");
    assert.equal((await app.inject({ url: "/v1/brokers" })).json().code, "NO_LEADER");
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
    const pieces = ["{", "}", "[", "]", '"name"', '"brokerId"', '"partitions"', '"replicas"', '"offset"', ":", ",", '"x"', "7", "-1", "2.5", "null", "true", "\u0000", "\ud800", "é", " ", '"', "\\", "1e999"];
    const methods = ["GET", "PUT", "POST", "DELETE", "PATCH"] as const;
    const paths = ["/v1/topics", "/v1/topics/a", "/v1/topics/%FF", "/v1/topics/" + "k".repeat(2000), "/v1/brokers", "/v1/brokers/1", "/v1/brokers/-1", "/v1/brokers/99999999999", "/v1/partitions", "/v1/producers", "/v1/broker-mgmt/metadata-fetch", "/v1/client-mgmt/metadata?offset=abc", "/v1/log?fromOffset=-1", "/v1/snapshots/x", "/v1/cluster", "/v1/cluster/transfer-leadership", "/readyz", "/v1/topics?consistency=", "/%"];
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
