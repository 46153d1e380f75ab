import assert from "node:assert/strict";
import { test } from "node:test";
import { batchesContentType, encodeBatchesAnswer } from "./binaryProtocol.js";
import { BrokerError } from "./brokerError.js";
import { readAnswer } from "./leaderFetch.js";
import { encodeBatchFrames } from "./storage/recordBatch.js";

const frames = encodeBatchFrames([{ baseOffset: 4, leaderEpoch: 1, producerId: 9, baseSequence: 0, appendTimeMs: 5, records: [{ key: null, value: new Uint8Array([7, 8]), timestampMs: 5 }] }]);

test("a leader's binary answer and its JSON answer give the follower the same outcome", () => {
  const binary = readAnswer(200, batchesContentType, encodeBatchesAnswer({ highWatermark: 5, logStartOffset: 0 }, frames));
  const json = readAnswer(200, "application/json; charset=utf-8", Buffer.from(JSON.stringify({ highWatermark: 5, logStartOffset: 0, batches: frames.toString("base64") })));
  for (const outcome of [binary, json]) {
    assert.equal(outcome.kind, "batches");
    assert.ok(outcome.kind === "batches");
    assert.deepEqual([outcome.highWatermark, outcome.logStartOffset, Buffer.from(outcome.bytes)], [5, 0, frames]);
  }
  const divergingBinary = readAnswer(200, batchesContentType, encodeBatchesAnswer({ highWatermark: 3, logStartOffset: 0, divergingEpoch: { epoch: 2, endOffset: 3 } }, new Uint8Array(0)));
  const divergingJson = readAnswer(200, "application/json", Buffer.from(JSON.stringify({ highWatermark: 3, logStartOffset: 0, divergingEpoch: { epoch: 2, endOffset: 3 }, batches: "" })));
  assert.deepEqual(divergingBinary, divergingJson);
  assert.deepEqual(divergingBinary, { kind: "diverging", epoch: 2, endOffset: 3, highWatermark: 3, logStartOffset: 0 });
});

test("a coded error answer is a BrokerError with its code; an answer that does not read is INTERNAL", () => {
  const error = (run: () => unknown): BrokerError => {
    try {
      run();
    } catch (caught) {
      assert.ok(caught instanceof BrokerError);
      return caught;
    }
    assert.fail("no error");
  };
  const notLeader = error(() => readAnswer(421, "application/json", Buffer.from(JSON.stringify({ code: "NOT_LEADER_FOR_PARTITION", message: "not me" }))));
  assert.deepEqual([notLeader.code, notLeader.message], ["NOT_LEADER_FOR_PARTITION", "not me"]);
  assert.equal(error(() => readAnswer(200, batchesContentType, Buffer.from("garbage"))).code, "INTERNAL");
  assert.equal(error(() => readAnswer(502, "text/html", Buffer.from("<html>"))).code, "INTERNAL");
});
