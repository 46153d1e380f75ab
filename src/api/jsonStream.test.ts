import assert from "node:assert/strict";
import { test } from "node:test";
import { jsonStream } from "./jsonStream.js";

async function text(value: unknown, chunkBytes?: number): Promise<{ readonly text: string; readonly chunksCount: number }> {
  const chunks: string[] = [];
  for await (const chunk of jsonStream(value, chunkBytes === undefined ? {} : { chunkBytes })) chunks.push(String(chunk));
  return { text: chunks.join(""), chunksCount: chunks.length };
}

test("jsonStream() writes exactly what JSON.stringify writes, whatever the depth and the members", async () => {
  const values: unknown[] = [
    null,
    7,
    "a \"quoted\" \u2028 line",
    [],
    {},
    [1, undefined, () => 1, { a: undefined }],
    { a: undefined, b: 1, c: [undefined], d: { e: { f: { g: [1, { h: 2 }] } } }, "k\"ey": true },
    { when: new Date(0), nested: { list: [{ deep: [[[1]]] }] } },
    { kind: "snapshot", currentOffset: 9, snapshot: { brokers: [{ brokerId: 1, rackId: null }], topics: [{ name: "t", partitions: [{ partitionId: 0, replicas: [1], ISR: [1] }] }] } },
  ];
  for (const value of values) assert.equal((await text(value)).text, JSON.stringify(value), JSON.stringify(value));
});

test("jsonStream() hands a large answer on in several pieces, each near the chunk size", async () => {
  const topics = Array.from({ length: 2_000 }, (_, i) => ({ name: `topic-${i}`, partitions: Array.from({ length: 10 }, (_, partitionId) => ({ partitionId, replicas: [1, 2, 3] })) }));
  const value = { kind: "snapshot", snapshot: { brokers: [], topics } };
  const streamed = await text(value, 16 * 1024);
  assert.equal(streamed.text, JSON.stringify(value));
  const expectedCount = Math.floor(streamed.text.length / (16 * 1024));
  assert.ok(streamed.chunksCount >= expectedCount && streamed.chunksCount <= expectedCount + 1, `${streamed.chunksCount} pieces for ${streamed.text.length} bytes`);
});
