import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { CompatProfileName } from "../../controller/config.js";
import { compatProfileNames } from "../../controller/config.js";
import { notLeaderError } from "../../controller/errors.js";
import { createPrng } from "../../shared/prng.js";
import type { Prng } from "../../shared/prng.js";
import { controllerStatus, FakeController, testMembers } from "../testing.js";
import { compatMounts } from "./compatRoutes.js";
import type { CompatMount } from "./compatRoutes.js";
import type { CompatProfile } from "./profiles.js";
import { compatProfiles } from "./profiles.js";
import { compatTestApp, envelope, send, uuidOf } from "./testing.js";
import type { Method } from "./testing.js";

/** SPEC §4.1's table, one method and path a line. */
const specRoutes: Readonly<Record<CompatProfileName, readonly string[]>> = {
  "flask-a": [
    "POST /register_broker",
    "GET /get_active_brokers",
    "POST /create_topic",
    "GET /get_topic_by_name/:name",
    "POST /create_partition",
    "POST /register_producer",
    "POST /update_broker",
    "PUT /update_broker",
    "DELETE /unregister_broker/:brokerId",
    "PUT /unregister_broker/:brokerId",
    "GET /broker_mgmt/:offset",
    "GET /client_mgmt/:offset",
  ],
  "flask-b": [
    "GET /get_metadata",
    "POST /register_broker",
    "GET /get_all_brokers",
    "GET /get_broker/:brokerId",
    "PUT /delete_broker/:brokerId",
    "POST /create_topic",
    "GET /get_topic/:name",
    "POST /create_partition",
    "GET /get_partitions",
    "POST /register_producer/:brokerId",
    "GET /get_producer_ids",
    "PUT /broker_registration_change",
    "POST /broker_registration_change",
    "GET /broker_mgmt/:offset",
    "GET /client_mgmt/:offset",
  ],
  syncobj: [
    "POST /register-broker-record",
    "POST /register-broker-change",
    "POST /register-topic-record",
    "POST /delete-broker-record",
    "POST /register-producer-record",
    "POST /partition-record",
    "POST /metadata-fetch-broker",
    "GET /metadata-fetch-client",
  ],
  fastapi: [
    "POST /register_broker/",
    "GET /get_broker/",
    "GET /get_broker/:brokerId",
    "DELETE /delete_broker/:brokerId",
    "POST /register_topic/",
    "GET /get_topic/",
    "GET /get_topic/:name",
    "DELETE /delete_topic/:name",
    "POST /register_partition/",
    "GET /get_partition/",
    "GET /get_partition/:partitionId",
    "DELETE /delete_partition/:partitionId",
    "POST /register_broker_change/",
    "POST /register_producer/",
    "GET /get_producer/",
    "POST /get_producer/",
    "POST /metadata_fetch/",
    "GET /metadata_fetch_client/",
  ],
  "go-rest": [
    "POST /brokers",
    "GET /brokers",
    "PUT /brokers",
    "DELETE /brokers",
    "GET /activeBrokers",
    "POST /topics",
    "GET /topics",
    "POST /producers",
    "POST /partitions",
    "GET /clientMetadata",
    "GET /brokerMetadata",
  ],
};

const routeLine = (mount: CompatMount) => `${mount.method} ${mount.url}`;
const rootMounts = (profile: CompatProfileName) => compatMounts(profile).filter((mount) => !mount.url.startsWith("/compat/"));
/** Which profile serves each method and path at the root. */
const rootOwners = (profile: CompatProfileName) => new Map(rootMounts(profile).map((mount) => [routeLine(mount), mount.profile.name]));

const broker1 = { brokerId: 1, brokerHost: "10.0.0.1", brokerPort: 9092 };

describe("compatibility routes: where they are served", () => {
  test("every profile is served under /compat/<profile>/ with exactly the routes of SPEC §4.1", async () => {
    const { app } = compatTestApp();
    for (const profile of compatProfileNames) {
      const prefix = `/compat/${profile}`;
      const served = compatMounts("flask-a").filter((mount) => mount.url.startsWith(`${prefix}/`));
      assert.deepEqual(served.map((mount) => `${mount.method} ${mount.url.slice(prefix.length)}`).sort(), [...specRoutes[profile]].sort(), profile);
      for (const mount of served) {
        const response = await send(app, mount.method, mount.url.replace(/:[^/]+/g, "1"));
        assert.notEqual(response.json().code, "ROUTE_NOT_FOUND", routeLine(mount));
      }
    }
  });

  test("the chosen profile takes all its routes at the root; the others fill in where they do not collide, in SPEC order", () => {
    for (const profile of compatProfileNames) {
      const owners = rootOwners(profile);
      for (const line of specRoutes[profile]) assert.equal(owners.get(line), profile, `${line} at the root with ${profile} chosen`);
      const distinct = new Set(compatProfileNames.flatMap((name) => specRoutes[name].map((line) => line.replace(/:[^/]+/g, ":"))));
      assert.equal(owners.size, distinct.size, "every method and path of every profile is served at the root once");
    }
    const flaskA = rootOwners("flask-a");
    assert.equal(flaskA.get("GET /get_metadata"), "flask-b", "no collision: served");
    assert.equal(flaskA.get("GET /get_broker/:brokerId"), "flask-b", "flask-b and fastapi collide: the earlier in SPEC order wins");
    assert.equal(flaskA.get("POST /register_broker/"), "fastapi", "a trailing slash is another path");
    assert.equal(flaskA.get("POST /brokers"), "go-rest");
    const fastapi = rootOwners("fastapi");
    assert.equal(fastapi.get("GET /get_broker/:brokerId"), "fastapi");
    assert.equal(fastapi.get("GET /get_topic/:name"), "fastapi");
    assert.equal(fastapi.get("POST /register_broker"), "flask-a");
    assert.equal(rootOwners("flask-b").get("GET /broker_mgmt/:offset"), "flask-b");
  });

  test("no profile is mounted at the root over the canonical API's paths, though all stay under /compat/", () => {
    const probe = (path: string) => ({ methods: ["GET"], path, action: compatProfiles[0]?.routes[0]?.action }) as CompatProfile["routes"][number];
    const shadowing: CompatProfile = {
      name: "go-rest",
      keyMatching: "exact",
      integerIs: "offset",
      routes: ["/v1/brokers", "/v1", "/healthz", "/readyz", "/metrics", "/docs", "/docs/json", "/compat/flask-a/get_metadata", "/metricsx", "/v1x"].map(probe),
    };
    const mounts = compatMounts("go-rest", [shadowing]);
    assert.deepEqual(mounts.filter((m) => !m.url.startsWith("/compat/go-rest/")).map(routeLine), ["GET /metricsx", "GET /v1x"]);
    assert.equal(mounts.filter((m) => m.url.startsWith("/compat/go-rest/")).length, 10);
    for (const profile of compatProfileNames) {
      for (const mount of rootMounts(profile)) assert.doesNotMatch(mount.url, /^\/(v1|healthz|readyz|metrics|docs|compat)(\/|$)/);
    }
  });

  test("a collision is resolved by the chosen profile: GET /broker_mgmt/3 is offset 3 in flask-a, epoch seconds 3 in flask-b", async () => {
    const offsetsOf = async (profile: CompatProfileName, url: string) => {
      const { app } = compatTestApp({ compatProfile: profile });
      for (const id of [1, 2, 3, 4]) await send(app, "POST", "/v1/brokers", { ...broker1, brokerId: id });
      const response = await send(app, "GET", url);
      assert.equal(response.statusCode, 200, response.body);
      return response.json().records.map((record: { offset: number }) => record.offset);
    };
    assert.deepEqual(await offsetsOf("flask-a", "/broker_mgmt/3"), [4]);
    assert.deepEqual(await offsetsOf("flask-b", "/broker_mgmt/3"), [1, 2, 3, 4]);
    assert.deepEqual(await offsetsOf("flask-b", "/compat/flask-a/broker_mgmt/3"), [4], "each profile keeps its meaning under /compat/");
  });

  test("compat routes stay out of the OpenAPI document", async () => {
    const { app } = compatTestApp();
    const paths = Object.keys((await app.inject({ url: "/docs/json" })).json().paths);
    assert.ok(paths.includes("/v1/brokers"));
    assert.deepEqual(paths.filter((path) => path.startsWith("/compat") || path.includes("register")), []);
  });
});

describe("compatibility routes: writes go to the leader", () => {
  test("every write route carries forwardToLeader, no read route does", async () => {
    const { app } = compatTestApp();
    const configs = new Map<string, unknown>();
    app.addHook("onRoute", (route) => {
      for (const method of [route.method].flat()) configs.set(`${method} ${route.url}`, route.config?.forwardToLeader);
    });
    await app.ready();
    const mounts = compatMounts("flask-a");
    assert.ok(mounts.some((mount) => mount.route.action.write) && mounts.some((mount) => !mount.route.action.write));
    for (const mount of mounts) assert.equal(configs.get(routeLine(mount)) === true, mount.route.action.write, routeLine(mount));
  });

  test("a compat write on a follower is forwarded to the leader and its answer relayed; an Idempotency-Key travels with it", async () => {
    const leaderController = new FakeController();
    leaderController.current = controllerStatus({ id: 2, leaderId: 2 });
    const { app: leaderApp } = compatTestApp({ controller: leaderController });
    await leaderApp.listen({ host: "127.0.0.1", port: 0 });
    try {
      const address = leaderApp.server.address();
      assert.ok(address !== null && typeof address === "object");
      const follower = new FakeController();
      follower.current = controllerStatus({ role: "follower", leaderId: 2, progress: [] });
      follower.proposeError = notLeaderError(2);
      const members = testMembers.map((m) => (m.id === 2 ? { ...m, api: { host: "127.0.0.1", port: address.port } } : m));
      const { app } = compatTestApp({ controller: follower, members, compatProfile: "go-rest" });
      const registered = await app.inject({ method: "POST", url: "/brokers", payload: JSON.stringify({ BROKERID: "1", brokerHost: "h", brokerPort: "9092" }) });
      assert.equal(registered.statusCode, 200, registered.body);
      assert.deepEqual(registered.json(), { internalUUID: uuidOf(1), epoch: 1, offset: 1 });
      assert.equal(leaderController.stateMachine.broker(1)?.brokerHost, "h", "the leader applied it");
      const topic = envelope("TopicRecord", { name: "orders" });
      const created = await send(app, "POST", "/compat/syncobj/register-topic-record", topic, { "idempotency-key": "old-client:1" });
      const retried = await send(app, "POST", "/compat/syncobj/register-topic-record", topic, { "idempotency-key": "old-client:1" });
      assert.equal(created.statusCode, 200, created.body);
      assert.deepEqual(retried.json(), { ...created.json(), offset: 0 }, "the retry is answered (offset 0, as the canonical answer has it), not applied again");
      assert.equal(follower.proposals, 0, "the follower proposed nothing");
      const invalid = await send(app, "POST", "/brokers", { brokerID: "one", brokerHost: "h", brokerPort: 1 });
      assert.equal(invalid.json().field, "body.brokerID", "validation happens before forwarding");
    } finally {
      await leaderApp.close();
    }
  });
});

describe("compatibility routes: reading requests", () => {
  test("go-rest matches keys case-insensitively; the Python flavours do not; keys that differ only in case are ambiguous", async () => {
    const { app } = compatTestApp();
    const body = { BROKERID: 1, BrokerHost: "10.0.0.1", brokerport: "9092", SECURITYPROTOCOL: "SSL" };
    const goRest = await send(app, "POST", "/compat/go-rest/brokers", body);
    assert.equal(goRest.statusCode, 200, goRest.body);
    assert.equal((await send(app, "GET", "/v1/brokers/1")).json().broker.securityProtocol, "SSL");
    const flaskA = await send(app, "POST", "/compat/flask-a/register_broker", body);
    assert.equal(flaskA.statusCode, 400);
    assert.equal(flaskA.json().field, "body.BROKERID");
    const ambiguous = await send(app, "POST", "/compat/go-rest/brokers", { brokerId: 1, brokerID: 2, brokerHost: "h", brokerPort: 1 });
    assert.equal(ambiguous.statusCode, 400);
    assert.equal(ambiguous.json().field, "body.brokerID");
    const query = await send(app, "GET", "/compat/go-rest/brokers?BrokerId=1");
    assert.equal(query.json().fields.brokerId, 1);
  });

  test("every profile takes a record both in the spec envelope and flat, to the same effect", async () => {
    const registerRoutes: Readonly<Record<CompatProfileName, string>> = {
      "flask-a": "/register_broker",
      "flask-b": "/register_broker",
      syncobj: "/register-broker-record",
      fastapi: "/register_broker/",
      "go-rest": "/brokers",
    };
    const fields = { brokerId: "7", brokerHost: "10.0.0.7", brokerPort: "9092", securityProtocol: "SSL", rackId: "r7" };
    for (const profile of compatProfileNames) {
      const url = `/compat/${profile}${registerRoutes[profile]}`;
      const brokers = [];
      for (const body of [envelope("RegisterBrokerRecord", { ...fields, internalUUID: "", brokerStatus: "INIT", epoch: 0 }), fields]) {
        const { app } = compatTestApp();
        const response = await send(app, "POST", url, body);
        assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
        brokers.push((await send(app, "GET", "/v1/brokers/7")).json().broker);
      }
      assert.deepEqual(brokers[0], brokers[1], profile);
      assert.deepEqual(brokers[0], { internalUUID: uuidOf(1), brokerId: 7, brokerHost: "10.0.0.7", brokerPort: 9092, securityProtocol: "SSL", rackId: "r7", brokerStatus: "INIT", epoch: 1 });
    }
  });

  test("a body without a content type, or a text one, is read as JSON; an empty body is none (canonical routes keep their rules)", async () => {
    const { app } = compatTestApp();
    const payload = JSON.stringify(broker1);
    assert.equal((await app.inject({ method: "POST", url: "/register_broker", payload })).statusCode, 200);
    assert.equal((await app.inject({ method: "POST", url: "/register_broker", headers: { "content-type": "text/plain" }, payload: JSON.stringify({ ...broker1, brokerId: 2 }) })).statusCode, 200);
    const empty = await app.inject({ method: "DELETE", url: "/unregister_broker/2", headers: { "content-type": "application/json" }, payload: "" });
    assert.equal(empty.statusCode, 200, empty.body);
    const broken = await app.inject({ method: "POST", url: "/register_broker", headers: { "content-type": "text/plain" }, payload: "{brokerId:" });
    assert.deepEqual([broken.statusCode, broken.json().code], [400, "INVALID_JSON"]);
    assert.equal((await app.inject({ method: "POST", url: "/v1/brokers", headers: { "content-type": "application/json" }, payload: "" })).json().code, "INVALID_JSON");
    const text = await app.inject({ method: "POST", url: "/v1/brokers", headers: { "content-type": "text/plain" }, payload });
    assert.deepEqual([text.statusCode, text.json().field], [400, "body"], "a text body stays text there");
  });

  test("bad input is a coded 400 naming the field where the client put it", async () => {
    const { app } = compatTestApp();
    await send(app, "POST", "/v1/brokers", broker1);
    const cases: readonly (readonly [Method, string, unknown, string])[] = [
      ["POST", "/compat/flask-a/register_broker", { ...broker1, brokerId: "x" }, "body.brokerId"],
      ["POST", "/compat/flask-a/register_broker", envelope("RegisterBrokerRecord", { ...broker1, brokerPort: 70_000 }), "body.fields.brokerPort"],
      ["POST", "/compat/flask-a/register_broker", envelope("RegisterBrokerRecord", { brokerId: 1, brokerPort: 1 }), "body.fields.brokerHost"],
      ["POST", "/compat/flask-a/register_broker", { type: "other", name: "RegisterBrokerRecord", fields: broker1 }, "body.type"],
      ["POST", "/compat/flask-a/register_broker", { ...envelope("RegisterBrokerRecord", broker1), extra: 1 }, "body.extra"],
      ["POST", "/compat/flask-a/register_broker", [broker1], "body"],
      ["PUT", "/compat/flask-a/update_broker", { brokerId: 1, brokerHost: 7 }, "body.brokerHost"],
      ["GET", "/compat/flask-a/get_active_brokers?consistency=maybe", undefined, "querystring.consistency"],
      ["GET", "/compat/flask-a/get_active_brokers?status=active", undefined, "querystring.status"],
      ["GET", "/compat/flask-b/get_broker/abc", undefined, "params.brokerId"],
      ["GET", "/compat/flask-b/broker_mgmt/yesterday", undefined, "params.offset"],
      ["POST", "/compat/flask-b/register_producer/1", envelope("ProducerIdsRecord", { producerId: -3 }), "body.fields.producerId"],
      ["POST", "/compat/syncobj/metadata-fetch-broker", { brokerId: 1, offset: {} }, "body.offset"],
      ["POST", "/compat/syncobj/partition-record", { topicUUID: 5, replicas: [1] }, "body.topicUUID"],
      ["POST", "/compat/fastapi/register_partition/", { partitionId: 0 }, "body.topicName"],
      ["POST", "/compat/fastapi/register_partition/", { topicName: "t", replicas: [1, "x"] }, "body.replicas.1"],
      ["POST", "/compat/fastapi/register_topic/", { name: "" }, "body.name"],
      ["POST", "/compat/go-rest/producers?brokerID=abc", undefined, "querystring.brokerID"],
      ["GET", "/compat/go-rest/brokers?brokerID=1&brokerID=2", undefined, "querystring.brokerID"],
      ["GET", "/compat/go-rest/clientMetadata?prevLogicalTime=x", undefined, "querystring.prevLogicalTime"],
      ["POST", "/compat/go-rest/partitions", { topicName: "t", leader: true }, "body.leader"],
    ];
    for (const [method, url, body, field] of cases) {
      const response = await send(app, method, url, body);
      assert.equal(response.statusCode, 400, `${method} ${url}: ${response.body}`);
      assert.deepEqual([response.json().code, response.json().field], ["BAD_REQUEST", field], `${method} ${url}`);
      assert.match(response.json().message, /^Cannot accept the request as /);
    }
  });

  test("no compat request is answered 500: a seeded fuzz over every route", async () => {
    const seed = 20_231_114;
    const prng = createPrng(seed);
    const { app } = compatTestApp();
    await send(app, "POST", "/v1/brokers", broker1);
    await send(app, "POST", "/v1/topics", { name: "orders" });
    const mounts = compatMounts("flask-a");
    const requestsCount = 600;
    for (let i = 0; i < requestsCount; i++) {
      const mount = prng.pick(mounts);
      const url = `${mount.url.replace(/:[^/]+/g, () => encodeURIComponent(String(prng.pick(pathValues))))}${randomQuery(prng)}`;
      const body = randomBody(prng);
      const response = await send(app, mount.method, url, body);
      const what = `seed ${seed}, request ${i}: ${mount.method} ${url} ${JSON.stringify(body)} → ${response.statusCode} ${response.body}`;
      assert.ok(response.statusCode < 500, what);
      if (response.statusCode >= 400) assert.equal(typeof response.json().code, "string", what);
    }
  });
});

const fuzzKeys = ["brokerId", "brokerID", "brokerHost", "brokerPort", "securityProtocol", "rackId", "name", "topicName", "topicUUID", "partitionId", "replicas", "leader", "producerId", "brokerEpoch", "offset", "prevLogicalTime", "topic", "consistency", "internalUUID", "epoch", "bogus"];
const fuzzValues: readonly unknown[] = [0, 1, 2, -1, 1.5, 9092, 70_000, 1e300, "1", "9092", "", "orders", "x", "active", "stale", "2023-11-14_22:13:20", "Tue, 14 Nov 2023 22:13:20 GMT", uuidOf(1), uuidOf(2), null, true, [], [1], [1, "2"], ["x"], {}, { a: 1 }, "9".repeat(30)];
const pathValues: readonly unknown[] = ["1", "0", "-1", "abc", "1.5", "orders", "nope", "2023-11-14_22:13:20", "1700000000", "99999999999999999999", " ", "%"];

function randomRecord(prng: Prng): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  const keysCount = prng.int(5);
  for (let k = 0; k < keysCount; k++) record[prng.pick(fuzzKeys)] = prng.pick(fuzzValues);
  return record;
}

function randomBody(prng: Prng): unknown {
  switch (prng.int(6)) {
    case 0:
      return undefined;
    case 1:
      return envelope(prng.pick(["RegisterBrokerRecord", "TopicRecord", "x"]), randomRecord(prng));
    case 2:
      return prng.pick(fuzzValues);
    default:
      return randomRecord(prng);
  }
}

function randomQuery(prng: Prng): string {
  const pairsCount = prng.int(3);
  const pairs = Array.from({ length: pairsCount }, () => `${prng.pick(fuzzKeys)}=${encodeURIComponent(String(prng.pick(fuzzValues)))}`);
  return pairs.length === 0 ? "" : `?${pairs.join("&")}`;
}
