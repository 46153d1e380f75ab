import assert from "node:assert/strict";
import { test } from "node:test";
import type { FastifyInstance } from "fastify";
import { createPrng } from "../shared/prng.js";
import type { Prng } from "../shared/prng.js";
import { Broker, defaultBrokerSettings } from "./broker.js";
import type { BrokerDeps, QuorumApi } from "./broker.js";
import { BrokerError } from "./brokerError.js";
import { buildBrokerApp } from "./server.js";
import { batchesContentType, encodeProduceRequest, produceBatchContentType } from "./binaryProtocol.js";

// The broker's HTTP layer on a real Broker that has not heard from the quorum yet (no replicas): what
// the server makes of bad input, and the one error → HTTP mapping. Requests go through app.inject().

const quorumDown = (): Promise<never> => Promise.reject(new BrokerError("BROKER_NOT_READY", "Cannot reach the quorum in this test"));
const quorum: QuorumApi = {
  registerBroker: quorumDown,
  brokerMetadataFetch: quorumDown,
  changePartition: quorumDown,
  registerProducer: quorumDown,
  createTopic: quorumDown,
};

function brokerApp(options: { readonly bodyBytesMax?: number } = {}): FastifyInstance {
  const deps: BrokerDeps = {
    quorum,
    openLog: () => Promise.reject(new Error("no log is opened in this test")),
    fetchFromLeader: () => Promise.reject(new Error("no follower fetches in this test")),
    nowMs: () => 0,
    wallClockMs: () => 0,
    newMemberId: () => "member-1",
    log: { info: () => {}, warn: () => {}, error: () => {} },
  };
  const broker = new Broker({ ...defaultBrokerSettings, brokerId: 1, dataDir: "/nonexistent", advertisedHost: "127.0.0.1", advertisedPort: 9201, replicaFetchBytesMax: 1024, replicaFetchWaitMs: 10 }, deps);
  return buildBrokerApp({ broker, logger: false, ...(options.bodyBytesMax === undefined ? {} : { bodyBytesMax: options.bodyBytesMax }) });
}

const produce = { topic: "orders", partition: 0, records: [{ value: "v" }] };

test("a produce to a partition this broker does not hold is UNKNOWN_TOPIC_OR_PARTITION (404), naming it", async () => {
  const response = await brokerApp().inject({ method: "POST", url: "/v1/produce", payload: produce });
  assert.equal(response.statusCode, 404);
  assert.equal(response.json().code, "UNKNOWN_TOPIC_OR_PARTITION");
  assert.match(response.json().message, /orders/);
});

test("malformed JSON is INVALID_JSON (400); wrong types and unknown properties are BAD_REQUEST naming the field", async () => {
  const app = brokerApp();
  const malformed = await app.inject({ method: "POST", url: "/v1/produce", headers: { "content-type": "application/json" }, payload: '{"topic": "orders",' });
  assert.deepEqual([malformed.statusCode, malformed.json().code], [400, "INVALID_JSON"]);

  const cases: readonly [unknown, string][] = [
    [{ ...produce, partition: "0" }, "body.partition"],
    [{ ...produce, records: [{ value: 5 }] }, "body.records.0.value"],
    [{ ...produce, records: [] }, "body.records"],
    [{ ...produce, acks: 2 }, "body.acks"],
    [{ ...produce, topic: "../etc" }, "body.topic"],
    [{ ...produce, colour: "red" }, "body.colour"],
    [{ partition: 0, records: [{ value: "v" }] }, "body.topic"],
  ];
  for (const [payload, field] of cases) {
    const response = await app.inject({ method: "POST", url: "/v1/produce", payload: payload as Record<string, unknown> });
    assert.equal(response.statusCode, 400, JSON.stringify(payload));
    assert.deepEqual([response.json().code, response.json().field], ["BAD_REQUEST", field], JSON.stringify(payload));
  }
  const query = await app.inject({ method: "GET", url: "/v1/fetch?topic=orders&partition=0&offset=-1" });
  assert.deepEqual([query.statusCode, query.json().code, query.json().field], [400, "BAD_REQUEST", "querystring.offset"]);
});

test("a body over the limit is BODY_TOO_LARGE (413); an unknown route is ROUTE_NOT_FOUND (404)", async () => {
  const app = brokerApp({ bodyBytesMax: 1024 });
  const large = await app.inject({ method: "POST", url: "/v1/produce", payload: { ...produce, records: [{ value: "x".repeat(2048) }] } });
  assert.deepEqual([large.statusCode, large.json().code], [413, "BODY_TOO_LARGE"]);
  const unknown = await app.inject({ method: "GET", url: "/v1/nothing" });
  assert.deepEqual([unknown.statusCode, unknown.json().code], [404, "ROUTE_NOT_FOUND"]);
});

test("a binary produce body is read by its content type: a good one reaches the broker, a bad one is BAD_REQUEST naming body", async () => {
  const app = brokerApp({ bodyBytesMax: 1024 });
  const headers = { "content-type": produceBatchContentType };
  const good = encodeProduceRequest({ topic: "orders", partition: 0, acks: -1, producerId: 7, baseSequence: 0 }, [{ key: "k", value: "v", timestampMs: 1 }]);
  const reached = await app.inject({ method: "POST", url: "/v1/produce", headers, payload: good });
  assert.deepEqual([reached.statusCode, reached.json().code], [404, "UNKNOWN_TOPIC_OR_PARTITION"], "decoded, then refused by the broker for its partition");
  const badBodies: readonly Buffer[] = [Buffer.alloc(0), good.subarray(0, good.length - 1), Buffer.from('{"topic":"orders"}'), Buffer.concat([good, Buffer.from([1])])];
  for (const payload of badBodies) {
    const response = await app.inject({ method: "POST", url: "/v1/produce", headers, payload });
    assert.equal(response.statusCode, 400, `${payload.length} bytes`);
    assert.deepEqual([response.json().code, response.json().field], ["BAD_REQUEST", "body"]);
    assert.match(response.json().message, /^Cannot accept the binary produce request as /);
  }
  const large = encodeProduceRequest({ topic: "orders", partition: 0, acks: 1 }, [{ key: null, value: "x".repeat(2048), timestampMs: 1 }]);
  const tooLarge = await app.inject({ method: "POST", url: "/v1/produce", headers, payload: large });
  assert.deepEqual([tooLarge.statusCode, tooLarge.json().code], [413, "BODY_TOO_LARGE"]);
});

test("a fetch or replica fetch asking for the binary form still gets its errors as coded JSON", async () => {
  const app = brokerApp();
  const accept = { accept: `${batchesContentType}, application/json` };
  const fetch = await app.inject({ method: "GET", url: "/v1/fetch?topic=orders&partition=0&offset=0", headers: accept });
  assert.deepEqual([fetch.statusCode, fetch.headers["content-type"]?.toString().split(";")[0], fetch.json().code], [404, "application/json", "UNKNOWN_TOPIC_OR_PARTITION"]);
  const replica = await app.inject({
    method: "POST",
    url: "/v1/replica/fetch",
    headers: accept,
    payload: { topic: "orders", partition: 0, replicaId: 2, partitionEpoch: 0, fetchOffset: 0, lastFetchedEpoch: -1 },
  });
  assert.deepEqual([replica.statusCode, replica.json().code], [404, "UNKNOWN_TOPIC_OR_PARTITION"]);
});

test("a producer id while the quorum cannot be reached is BROKER_NOT_READY (503) with Retry-After", async () => {
  const response = await brokerApp().inject({ method: "POST", url: "/v1/producer-ids" });
  assert.deepEqual([response.statusCode, response.json().code], [503, "BROKER_NOT_READY"]);
  assert.equal(response.headers["retry-after"], "1");
});

/** Bodies and queries of every shape: valid values, wrong types, huge and hostile strings. */
function randomValue(prng: Prng, depth: number): unknown {
  const pick = prng.int(depth > 2 ? 7 : 9);
  const strings = ["", "orders", "../../etc/passwd", "__consumer_offsets", "\u0000", "x".repeat(300), "all", "-1", "1e309"];
  const numbers = [0, 1, -1, 2 ** 31, 2 ** 53, 1.5, Number.MAX_SAFE_INTEGER, -0];
  switch (pick) {
    case 0:
      return null;
    case 1:
      return prng.int(2) === 0;
    case 2:
    case 3:
      return numbers[prng.int(numbers.length)];
    case 4:
    case 5:
    case 6:
      return strings[prng.int(strings.length)];
    case 7:
      return Array.from({ length: prng.int(3) }, () => randomValue(prng, depth + 1));
    default: {
      const keys = ["topic", "partition", "records", "value", "key", "acks", "offset", "memberId", "producerId", "baseSequence", "fetchOffset", "brokerId", "offsets", "timeoutMs"];
      const object: Record<string, unknown> = {};
      for (let i = prng.int(5); i > 0; i--) object[keys[prng.int(keys.length)] ?? "topic"] = randomValue(prng, depth + 1);
      return object;
    }
  }
}

test("400 generated requests over every route never make the broker answer 500, and every error is coded JSON", async () => {
  const app = brokerApp();
  const prng = createPrng(20_261_206);
  const routes: readonly ["GET" | "POST", string][] = [
    ["POST", "/v1/produce"],
    ["GET", "/v1/fetch"],
    ["GET", "/v1/offsets"],
    ["POST", "/v1/producer-ids"],
    ["POST", "/v1/groups/g/join"],
    ["POST", "/v1/groups/g/heartbeat"],
    ["POST", "/v1/groups/g/leave"],
    ["POST", "/v1/groups/g/offsets"],
    ["GET", "/v1/groups/g/offsets"],
    ["POST", "/v1/replica/fetch"],
  ];
  const statuses = new Map<number, number>();
  for (let i = 0; i < 400; i++) {
    const [method, url] = routes[prng.int(routes.length)] ?? ["GET", "/v1/fetch"];
    const value = randomValue(prng, 0);
    const response =
      method === "GET"
        ? await app.inject({ method, url, query: Object.fromEntries(Object.entries(typeof value === "object" && value !== null ? value : {}).map(([k, v]) => [k, String(v)])) })
        : await app.inject({ method, url, headers: { "content-type": "application/json" }, payload: JSON.stringify(value) ?? "null" });
    assert.ok(response.statusCode < 500 || response.json().code !== "INTERNAL", `${method} ${url} ${JSON.stringify(value)} → ${response.statusCode} ${response.body}`);
    statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
    if (response.statusCode >= 400) assert.equal(typeof response.json().code, "string", response.body);
  }
  // Not only schema refusals: some requests reach the broker's own checks.
  assert.ok([...statuses.keys()].some((status) => status !== 400), `statuses: ${JSON.stringify([...statuses])}`);
});
