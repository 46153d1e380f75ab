import assert from "node:assert/strict";
import { test } from "node:test";
import type { Message, NodeId } from "../raft/types.js";
import { MemoryNetwork } from "./memoryTransport.js";

function heartbeat(from: NodeId, to: NodeId, readRound: number): Message {
  return { type: "Heartbeat", from, to, term: 1, leaderCommit: 0, readRound };
}

function recorder() {
  const messages: Message[] = [];
  const events: string[] = [];
  return {
    messages,
    events,
    handlers: {
      onMessage: (m: Message) => messages.push(m),
      onPeerConnected: (id: NodeId) => events.push(`up ${id}`),
      onPeerDisconnected: (id: NodeId) => events.push(`down ${id}`),
    },
  };
}

test("MemoryTransport delivers copies in order only when pumped (manual delivery)", async () => {
  const network = new MemoryNetwork({ delivery: "manual" });
  const a = recorder();
  const b = recorder();
  const nodeA = network.createTransport(1, a.handlers);
  const nodeB = network.createTransport(2, b.handlers);
  await nodeA.start();
  await nodeB.start();
  const sent = [heartbeat(1, 2, 1), heartbeat(1, 2, 2)];
  for (const m of sent) nodeA.send(m);
  assert.deepEqual(b.messages, []);
  network.pumpUntilIdle();
  assert.deepStrictEqual(b.messages, sent);
  assert.notEqual(b.messages[0], sent[0], "the receiver gets a copy, as from a wire");
  assert.deepEqual(a.events, ["up 2"]);
  assert.deepEqual(b.events, ["up 1"]);
  assert.equal(nodeA.counters().messagesSent, 2);
  assert.equal(nodeB.counters().messagesReceived, 2);
});

test("MemoryTransport delivers on its own with microtask delivery", async () => {
  const network = new MemoryNetwork();
  const b = recorder();
  const nodeA = network.createTransport(1, recorder().handlers);
  const nodeB = network.createTransport(2, b.handlers);
  await nodeA.start();
  await nodeB.start();
  nodeA.send(heartbeat(1, 2, 7));
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(b.messages.length, 1);
});

test("MemoryTransport reports a stopped peer and drops what was sent to it", async () => {
  const network = new MemoryNetwork({ delivery: "manual" });
  const a = recorder();
  const nodeA = network.createTransport(1, a.handlers);
  const nodeB = network.createTransport(2, recorder().handlers);
  await nodeA.start();
  await nodeB.start();
  network.pumpUntilIdle();
  nodeA.send(heartbeat(1, 2, 1));
  await nodeB.stop();
  network.pumpUntilIdle();
  assert.deepEqual(a.events, ["up 2", "down 2"]);
  assert.equal(nodeA.counters().messagesDroppedUnreachable, 1);
  nodeA.send(heartbeat(1, 9, 1));
  assert.equal(nodeA.counters().messagesDroppedUnknownPeer, 1);
});

test("MemoryNetwork bounds the messages waiting for one node", async () => {
  const network = new MemoryNetwork({ delivery: "manual", pendingCountMax: 3 });
  const nodeA = network.createTransport(1, recorder().handlers);
  const b = recorder();
  const nodeB = network.createTransport(2, b.handlers);
  await nodeA.start();
  await nodeB.start();
  for (let i = 0; i < 5; i++) nodeA.send(heartbeat(1, 2, i));
  assert.equal(nodeA.counters().messagesDroppedQueueFull, 2);
  network.pumpUntilIdle();
  assert.equal(b.messages.length, 3);
});
