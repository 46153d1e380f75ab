import assert from "node:assert/strict";
import { test } from "node:test";
import { SendQueue } from "./sendQueue.js";

const payload = (sizeBytes: number, mark = 0): Uint8Array => new Uint8Array(sizeBytes).fill(mark);

test("SendQueue drops the oldest payloads past its count bound", () => {
  const queue = new SendQueue(3, 1000);
  const dropped = [1, 2, 3, 4, 5].map((mark) => queue.push(payload(1, mark)));
  assert.deepEqual(dropped, [0, 0, 0, 1, 1]);
  assert.deepEqual(queue.takeBatch(1000).map((p) => p[0]), [3, 4, 5]);
  assert.equal(queue.count, 0);
  assert.equal(queue.bytes, 0);
});

test("SendQueue drops as many old payloads as a large new one needs", () => {
  const queue = new SendQueue(100, 10);
  for (let i = 0; i < 5; i++) queue.push(payload(2));
  assert.equal(queue.push(payload(7)), 4);
  assert.equal(queue.bytes, 9);
});

test("SendQueue.takeBatch() stops at the byte bound but always takes one payload", () => {
  const queue = new SendQueue(100, 1000);
  queue.push(payload(50));
  queue.push(payload(50));
  queue.push(payload(50));
  assert.equal(queue.takeBatch(100).length, 2);
  assert.equal(queue.takeBatch(10).length, 1);
});

test("SendQueue keeps its bounds through many pushes and takes", () => {
  const queue = new SendQueue(10, 1000);
  let taken = 0;
  for (let i = 0; i < 10_000; i++) {
    queue.push(payload(1));
    assert.ok(queue.count <= 10);
    if (i % 7 === 0) taken += queue.takeBatch(3).length;
  }
  assert.ok(taken > 0);
  const heldCount = queue.count;
  assert.ok(heldCount > 0);
  assert.equal(queue.clear(), heldCount);
  assert.equal(queue.count, 0);
});
