import assert from "node:assert/strict";
import { test } from "node:test";
import { parseOffsetOrTime } from "../../metadata/time.js";
import { ApiError } from "../errors.js";
import { CreatePartitionBody } from "../schemas.js";
import { canonical, readInput, sinceArgument } from "./input.js";
import type { InputRules, RequestParts } from "./input.js";

const rules: InputRules = { keyMatching: "exact", integerIs: "offset", keys: ["brokerId", "brokerPort", "topicName", "replicas", "offset"], ignored: ["epoch"] };
const parts = (body: unknown, params: unknown = {}, query: unknown = {}): RequestParts => ({ params, query, body, session: undefined });

function refusal(run: () => unknown): { field: unknown; message: string } {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.code, "BAD_REQUEST");
    return { field: error.details["field"], message: error.message };
  }
  assert.fail("expected a BAD_REQUEST");
}

test("a key is looked up in the path, then the query, then the body; null is absent; numbers may be strings", () => {
  const input = readInput(parts({ brokerId: 3, brokerPort: "9092", offset: null }, { brokerId: "1" }, { brokerId: "2" }), rules);
  assert.equal(input.int("brokerId"), 1);
  assert.equal(input.whereOf("brokerId"), "params.brokerId");
  assert.equal(input.int("brokerPort"), 9092);
  assert.equal(input.find("offset"), undefined);
  assert.equal(input.whereOf("offset"), "body.offset");
  assert.equal(input.int("brokerPort", "port"), 9092);
  const fromQuery = readInput(parts(undefined, {}, { brokerId: "2" }), rules);
  assert.deepEqual(fromQuery.find("brokerId"), { value: "2", where: "querystring.brokerId" });
});

test("the spec envelope is read from its fields; ignored server-set keys are accepted; unknown keys are refused", () => {
  const input = readInput(parts({ type: "metadata", name: "RegisterBrokerRecord", fields: { brokerId: "4", epoch: 0 }, timestamp: "" }), rules);
  assert.equal(input.int("brokerId"), 4);
  assert.equal(input.whereOf("brokerId"), "body.fields.brokerId");
  assert.equal(input.find("epoch"), undefined, "ignored keys are never read");
  assert.equal(refusal(() => readInput(parts({ fields: { brokerid: 1 } }), rules)).field, "body.fields.brokerid");
  assert.equal(refusal(() => readInput(parts({ brokerId: 1 }, {}, { other: "x" }), rules)).field, "querystring.other");
  assert.equal(refusal(() => readInput(parts({ fields: {}, type: 3 }), rules)).field, "body.type");
  assert.equal(refusal(() => readInput(parts("text"), rules)).field, "body");
  const caseInsensitive = readInput(parts({ BROKERID: "5" }), { ...rules, keyMatching: "caseInsensitive" });
  assert.equal(caseInsensitive.int("brokerId"), 5);
  assert.equal(caseInsensitive.whereOf("brokerId"), "body.BROKERID");
});

test("canonical() checks the canonical schema and names the client's field, nested positions included", () => {
  const input = readInput(parts({ fields: { topicName: "t", replicas: ["1", "x"] } }), rules);
  const { field, message } = refusal(() => canonical(input, CreatePartitionBody, { topicName: input.text("topicName"), replicas: input.intList("replicas") }));
  assert.equal(field, "body.fields.replicas.1");
  assert.equal(message, `Cannot accept the request as body.fields.replicas.1 must be integer: current value is "x"`);
  const missing = refusal(() => canonical(input, CreatePartitionBody, { replicas: [1] }));
  assert.deepEqual(missing, { field: "body.fields.topicName", message: "Cannot accept the request as body.fields.topicName is required" });
  assert.deepEqual(canonical(input, CreatePartitionBody, { topicName: "t", replicas: [1], leader: undefined }), { topicName: "t", replicas: [1] });
});

test("an offset is read with the flavour's meaning of a bare integer and handed on in an encoding that reads back the same", () => {
  assert.deepEqual(readInput(parts({ offset: "1700000000" }), rules).since("offset"), { kind: "offset", offset: 1_700_000_000 });
  const epochSeconds = readInput(parts({ offset: "1700000000" }), { ...rules, integerIs: "epochSeconds" }).since("offset");
  assert.deepEqual(epochSeconds, { kind: "time", epochMs: 1_700_000_000_000 });
  assert.equal(refusal(() => readInput(parts({ offset: "soon" }), rules).since("offset")).field, "body.offset");
  for (const since of [{ kind: "offset", offset: 42 }, { kind: "time", epochMs: 1_700_000_000_007 }, { kind: "time", epochMs: 999 }] as const) {
    const argument = sinceArgument(since);
    assert.ok(argument !== undefined);
    assert.deepEqual(parseOffsetOrTime(argument), { ok: true, value: since }, String(argument));
  }
  assert.equal(sinceArgument(undefined), undefined);
});
