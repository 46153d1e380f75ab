import assert from "node:assert/strict";
import { test } from "node:test";
import type { HttpResult } from "./http.js";
import { checkTopics, judgeWrite } from "./metadataClient.js";
import type { TopicWrite } from "./metadataClient.js";

function record(name: string, outcome: TopicWrite["outcome"], fields: Partial<TopicWrite> = {}): TopicWrite {
  const acknowledged = outcome === "acknowledged";
  return {
    name,
    idempotencyKey: `w0:${name}`,
    outcome,
    attemptsCount: 1,
    maybeAppliedCount: outcome === "not_applied" ? 0 : 1,
    status: acknowledged ? 201 : undefined,
    body: undefined,
    nodeId: acknowledged ? 1 : undefined,
    lastFailure: outcome === "rejected" ? "node 1: 409 TOPIC_EXISTS" : undefined,
    elapsedMs: 1,
    topicUUID: acknowledged ? `uuid-${name}` : undefined,
    offset: acknowledged ? 10 : undefined,
    replayed: acknowledged ? false : undefined,
    ...fields,
  };
}

const topic = (name: string, topicUUID = `uuid-${name}`) => ({ name, topicUUID });

function response(status: number, body: unknown): HttpResult {
  return { kind: "response", status, body, headers: new Headers(), elapsedMs: 1 };
}

test("checkTopics() accepts topics holding every acknowledged write and some writes of unknown outcome", () => {
  const records = [record("a", "acknowledged"), record("b", "unknown"), record("c", "unknown"), record("d", "not_applied")];
  assert.deepEqual(checkTopics([topic("a"), topic("b", "other")], records), []);
});

test("checkTopics() reports a lost topic, one created again with another id, and a rejected retry", () => {
  const records = [record("a", "acknowledged"), record("b", "acknowledged"), record("c", "rejected", { attemptsCount: 2, maybeAppliedCount: 2 })];
  assert.deepEqual(checkTopics([topic("b", "uuid-second"), topic("c")], records), [
    "acknowledged topic a (offset 10, via node 1) is missing",
    "acknowledged topic b has topicUUID uuid-second, not uuid-b as its 201 said",
    "topic c was rejected after 2 attempts (2 maybe applied): node 1: 409 TOPIC_EXISTS",
  ]);
});

test("checkTopics() reports topics nobody may have written; unknown ones only when the records are complete", () => {
  const records = [record("a", "not_applied")];
  const topics = [topic("a"), topic("z"), topic("z")];
  assert.deepEqual(checkTopics(topics, records), ["topic z is listed twice", "topic a is present though every attempt was refused before proposal", "topic z is present but no writer wrote it"]);
  assert.deepEqual(checkTopics(topics, records, { complete: false }), ["topic z is listed twice", "topic a is present though every attempt was refused before proposal"]);
});

test("judgeWrite() acknowledges a 201 and a replayed 201 alike", () => {
  assert.deepEqual(judgeWrite(response(201, { topic: {}, offset: 7, replayed: false })), { kind: "acknowledged" });
  assert.deepEqual(judgeWrite(response(201, { topic: {}, offset: 0, replayed: true })), { kind: "acknowledged" });
});

test("judgeWrite() retries what may have been applied and what surely was not", () => {
  assert.deepEqual(judgeWrite({ kind: "failure", failure: "refused", message: "refused", elapsedMs: 1 }), { kind: "retry", maybeApplied: false, leaderId: undefined, reason: "refused" });
  assert.deepEqual(judgeWrite({ kind: "failure", failure: "timeout", message: "timed out", elapsedMs: 1 }), { kind: "retry", maybeApplied: true, leaderId: undefined, reason: "timed out" });
  assert.deepEqual(judgeWrite(response(503, { code: "FORWARD_FAILED", leaderId: 2, outcome: "unknown", retriable: true })), { kind: "retry", maybeApplied: true, leaderId: 2, reason: "503 FORWARD_FAILED" });
  assert.deepEqual(judgeWrite(response(503, { code: "LEADERSHIP_LOST", retriable: true })), { kind: "retry", maybeApplied: true, leaderId: undefined, reason: "503 LEADERSHIP_LOST" });
  assert.deepEqual(judgeWrite(response(503, { code: "NO_LEADER", outcome: "not_applied", retriable: true })), { kind: "retry", maybeApplied: false, leaderId: undefined, reason: "503 NO_LEADER" });
  assert.deepEqual(judgeWrite(response(421, { code: "NOT_LEADER", leaderId: 3 })), { kind: "retry", maybeApplied: false, leaderId: 3, reason: "421 NOT_LEADER" });
});

test("judgeWrite() gives up on a refusal that a retry cannot change", () => {
  assert.deepEqual(judgeWrite(response(409, { code: "TOPIC_EXISTS", message: "taken" })), { kind: "rejected", reason: "409 TOPIC_EXISTS: taken" });
  assert.deepEqual(judgeWrite(response(400, { code: "BAD_REQUEST", field: "body.name" })), { kind: "rejected", reason: "400 BAD_REQUEST" });
});
