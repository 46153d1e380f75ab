import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import type { Message, NodeId } from "../raft/types.js";
import { encodeMessage } from "./codec.js";
import { encodeFrame } from "./framing.js";
import { encodeHandshake } from "./handshake.js";
import { reconnectDelayMs, TcpTransport, type TcpTransportOptions } from "./tcpTransport.js";
import { tcpSocketFactory, type SocketFactory } from "./socketFactory.js";
import type { TransportLog } from "./transport.js";

const host = "127.0.0.1";
const waitMsMax = 10_000;

/** Resolves when `ready()` holds, checked after every event the node reports; fails after `waitMsMax`. */
class Observer {
  readonly messages: Message[] = [];
  readonly connected: NodeId[] = [];
  readonly disconnected: NodeId[] = [];
  readonly warnings: string[] = [];
  private waiters: Array<() => void> = [];

  readonly handlers = {
    onMessage: (m: Message) => this.record(() => this.messages.push(m)),
    onPeerConnected: (id: NodeId) => this.record(() => this.connected.push(id)),
    onPeerDisconnected: (id: NodeId) => this.record(() => this.disconnected.push(id)),
  };

  readonly log: TransportLog = {
    info: () => {},
    warn: (fields, message) => this.record(() => this.warnings.push(`${message} ${JSON.stringify(fields)}`)),
  };

  /** Checks after every event, and every few ms for conditions no event reports (counters). */
  async until(ready: () => boolean, what: string): Promise<void> {
    let poll: NodeJS.Timeout | undefined;
    try {
      await withTimeout(
        new Promise<void>((resolve) => {
          const check = (): void => {
            if (ready()) resolve();
            else this.waiters.push(check);
          };
          poll = setInterval(() => {
            if (ready()) resolve();
          }, 5);
          check();
        }),
        what,
      );
    } finally {
      clearInterval(poll);
    }
  }

  private record(action: () => void): void {
    action();
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${waitMsMax} ms waiting for ${what}`)), waitMsMax);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function heartbeat(from: NodeId, to: NodeId, readRound: number): Message {
  return { type: "Heartbeat", from, to, term: 1, leaderCommit: 0, readRound };
}

async function startNode(
  selfId: NodeId,
  observer: Observer,
  extra: Partial<Omit<TcpTransportOptions, "selfId" | "onMessage">> = {},
): Promise<TcpTransport> {
  const transport = new TcpTransport({
    selfId,
    listen: { host, port: 0 },
    peers: new Map(),
    log: observer.log,
    ...observer.handlers,
    ...extra,
  });
  await transport.start();
  return transport;
}

/** Two started transports that know each other. */
async function startPair(extra: Partial<Omit<TcpTransportOptions, "selfId" | "onMessage">> = {}) {
  const a = new Observer();
  const b = new Observer();
  const nodeA = await startNode(1, a, extra);
  const nodeB = await startNode(2, b, extra);
  nodeA.setPeer(2, nodeB.address());
  nodeB.setPeer(1, nodeA.address());
  return { a, b, nodeA, nodeB };
}

function rawConnect(port: number): Promise<Socket> {
  return withTimeout(
    new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host, port }, () => resolve(socket));
      socket.once("error", reject);
    }),
    "a raw connection",
  );
}

/** Writes `bytes` (and optionally ends) on a raw socket and waits until the transport closes it. */
async function expectClosedAfter(port: number, bytes: Uint8Array, endAfterWrite = false): Promise<void> {
  const socket = await rawConnect(port);
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.on("error", () => {}); // a reset from the transport is the expected outcome
  socket.write(bytes);
  if (endAfterWrite) socket.end();
  await withTimeout(closed, "the transport to close a bad connection");
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

test("two transports exchange messages both ways, in order", async () => {
  const { a, b, nodeA, nodeB } = await startPair();
  try {
    const count = 500;
    for (let i = 0; i < count; i++) {
      nodeA.send(heartbeat(1, 2, i));
      nodeB.send(heartbeat(2, 1, i));
    }
    await b.until(() => b.messages.length === count, "B to receive every message");
    await a.until(() => a.messages.length === count, "A to receive every message");
    assert.deepEqual(b.messages.map((m) => (m.type === "Heartbeat" ? m.readRound : -1)), Array.from({ length: count }, (_, i) => i));
    assert.deepEqual(a.messages.map((m) => (m.type === "Heartbeat" ? m.readRound : -1)), Array.from({ length: count }, (_, i) => i));
    assert.ok(b.messages.every((m) => m.from === 1 && m.to === 2));
    assert.equal(nodeA.counters().messagesSent, count);
    assert.equal(nodeB.counters().messagesReceived, count);
    assert.equal(nodeA.counters().messagesDropped, 0);
  } finally {
    await Promise.all([nodeA.stop(), nodeB.stop()]);
  }
});

test("entries travel as bytes through a real connection", async () => {
  const { b, nodeA, nodeB } = await startPair();
  try {
    const data = Uint8Array.from({ length: 300_000 }, (_, i) => i % 251);
    const m: Message = {
      type: "AppendEntries", from: 1, to: 2, term: 3, prevLogIndex: 9, prevLogTerm: 2, leaderCommit: 9,
      entries: [
        { index: 10, term: 3, type: "noop", data: new Uint8Array(0) },
        { index: 11, term: 3, type: "normal", data },
      ],
    };
    nodeA.send(m);
    await b.until(() => b.messages.length === 1, "the AppendEntries");
    assert.deepStrictEqual(b.messages[0], m);
  } finally {
    await Promise.all([nodeA.stop(), nodeB.stop()]);
  }
});

test("onPeerConnected and onPeerDisconnected fire when a peer comes and goes", async () => {
  const { a, b, nodeA, nodeB } = await startPair();
  try {
    nodeA.send(heartbeat(1, 2, 0));
    await b.until(() => b.messages.length === 1, "the first message");
    await a.until(() => a.connected.includes(2), "A to see B connected");
    assert.deepEqual(b.connected, [1]);
    await nodeB.stop();
    await a.until(() => a.disconnected.includes(2), "A to see B disconnect");
    assert.deepEqual(a.disconnected, [2]);
    assert.deepEqual(b.disconnected, [], "a stopped transport reports nothing");
  } finally {
    await Promise.all([nodeA.stop(), nodeB.stop()]);
  }
});

test("a peer restarted on the same port is reconnected to and messages flow again", async () => {
  const { a, b, nodeA, nodeB } = await startPair({ limits: { reconnectDelayMsMin: 10, reconnectDelayMsMax: 100 } });
  let restarted: TcpTransport | undefined;
  let resend: NodeJS.Timeout | undefined;
  try {
    nodeA.send(heartbeat(1, 2, 0));
    await b.until(() => b.messages.length === 1, "the first message");
    const { port } = nodeB.address();
    await nodeB.stop();
    await a.until(() => a.disconnected.includes(2), "A to see B go");

    const b2 = new Observer();
    restarted = await startNode(2, b2, { listen: { host, port }, peers: new Map([[1, nodeA.address()]]) });
    // Messages sent while the peer is away are lost (Raft resends); keep sending until one arrives.
    let round = 1;
    resend = setInterval(() => nodeA.send(heartbeat(1, 2, round++)), 20);
    await b2.until(() => b2.messages.length > 0, "a message after the restart");
    await a.until(() => a.connected.filter((id) => id === 2).length === 2, "A to see B connected again");
    assert.ok(nodeA.counters().reconnects >= 1);
  } finally {
    clearInterval(resend);
    await Promise.all([nodeA.stop(), nodeB.stop(), restarted?.stop()]);
  }
});

test("bad input closes only that connection while the transport keeps serving peers", async () => {
  const { a, nodeA, nodeB } = await startPair();
  try {
    const { port } = nodeA.address();
    const goodHandshake = encodeFrame(encodeHandshake({ senderId: 2, receiverId: 1, clusterId: "" }, 255));
    const cases: Array<{ what: string; bytes: Uint8Array; end?: boolean }> = [
      { what: "garbage", bytes: Uint8Array.from({ length: 64 }, (_, i) => (i * 37) % 256) },
      { what: "an oversize handshake frame", bytes: new Uint8Array([0, 0, 0x10, 0]) },
      { what: "a bad magic", bytes: encodeFrame(new Uint8Array([1, 2, 3, 4, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0])) },
      { what: "an unknown sender", bytes: encodeFrame(encodeHandshake({ senderId: 9, receiverId: 1, clusterId: "" }, 255)) },
      { what: "the wrong receiver", bytes: encodeFrame(encodeHandshake({ senderId: 2, receiverId: 3, clusterId: "" }, 255)) },
      { what: "another cluster", bytes: encodeFrame(encodeHandshake({ senderId: 2, receiverId: 1, clusterId: "other" }, 255)) },
      { what: "an oversize message frame", bytes: concat(goodHandshake, new Uint8Array([0xff, 0xff, 0xff, 0xff])) },
      { what: "a garbage message", bytes: concat(goodHandshake, encodeFrame(new Uint8Array([1, 99, 0]))) },
      { what: "a message from another sender", bytes: concat(goodHandshake, encodeFrame(encodeMessage(heartbeat(3, 1, 0)))) },
      { what: "a truncated frame", bytes: concat(goodHandshake, new Uint8Array([0, 0, 0, 50, 1, 2, 3])), end: true },
    ];
    let rejected = 0;
    for (const [i, c] of cases.entries()) {
      await expectClosedAfter(port, c.bytes, c.end ?? false);
      rejected++;
      await a.until(() => nodeA.counters().connectionsRejected === rejected, `the rejection of ${c.what} to be counted`);
      // The real peer is still served. (A connection impersonating it replaces its connection, as a
      // restarted peer's would, so a message may be lost while it reconnects: resend until one arrives.)
      const resend = setInterval(() => nodeB.send(heartbeat(2, 1, i)), 20);
      nodeB.send(heartbeat(2, 1, i));
      try {
        await a.until(() => a.messages.some((m) => m.type === "Heartbeat" && m.readRound === i), `a message after ${c.what}`);
      } finally {
        clearInterval(resend);
      }
    }
    assert.equal(a.warnings.filter((w) => w.startsWith("closing connection on bad input")).length, cases.length);
    assert.ok(a.warnings.some((w) => w.includes("frameTooLarge")));
    assert.ok(a.warnings.some((w) => w.includes("frameTruncated")));
  } finally {
    await Promise.all([nodeA.stop(), nodeB.stop()]);
  }
});

test("a connection that sends no handshake is closed after the handshake timeout", async () => {
  const a = new Observer();
  const nodeA = await startNode(1, a, { limits: { handshakeTimeoutMs: 50 } });
  try {
    await expectClosedAfter(nodeA.address().port, new Uint8Array(0));
    assert.equal(nodeA.counters().connectionsRejected, 1);
  } finally {
    await nodeA.stop();
  }
});

test("a full send queue drops the oldest messages and counts them instead of growing", async () => {
  const { b, nodeA, nodeB } = await startPair({ limits: { sendQueueCountMax: 10 } });
  try {
    // All sends happen before the connection can open, so they all wait in the queue.
    for (let i = 0; i < 100; i++) nodeA.send(heartbeat(1, 2, i));
    assert.equal(nodeA.counters().messagesDroppedQueueFull, 90);
    assert.equal(nodeA.counters().messagesDropped, 90);
    await b.until(() => b.messages.length === 10, "the queued messages");
    assert.deepEqual(b.messages.map((m) => (m.type === "Heartbeat" ? m.readRound : -1)), Array.from({ length: 10 }, (_, i) => 90 + i));
  } finally {
    await Promise.all([nodeA.stop(), nodeB.stop()]);
  }
});

test("send() drops and counts messages to unknown peers, to itself and after stop", async () => {
  const a = new Observer();
  const nodeA = await startNode(1, a);
  nodeA.send(heartbeat(1, 7, 0));
  nodeA.send(heartbeat(1, 1, 0));
  assert.equal(nodeA.counters().messagesDroppedUnknownPeer, 2);
  nodeA.send({ ...heartbeat(1, 7, 0), term: -1 });
  await nodeA.stop();
  nodeA.send(heartbeat(1, 7, 0));
  assert.equal(nodeA.counters().messagesDropped, 4);
});

test("messages to an unreachable peer are dropped and the transport keeps retrying", async () => {
  const probe = new Observer();
  // Take a free port, then free it, so connecting to it is refused.
  const placeholder = await startNode(5, probe);
  const { port } = placeholder.address();
  await placeholder.stop();
  const a = new Observer();
  const nodeA = await startNode(1, a, { peers: new Map([[5, { host, port }]]), limits: { reconnectDelayMsMin: 5, reconnectDelayMsMax: 20 } });
  try {
    nodeA.send(heartbeat(1, 5, 0));
    await a.until(() => nodeA.counters().reconnects >= 3, "a few reconnect attempts");
    assert.equal(nodeA.counters().messagesDroppedUnreachable, 1);
    assert.deepEqual(a.disconnected, [], "a peer never connected is never reported gone");
  } finally {
    await nodeA.stop();
  }
});

test("reconnectDelayMs() doubles from the minimum, stays within bounds and jitters", () => {
  for (const random of [0, 0.5, 0.999]) {
    for (let attempt = 1; attempt <= 40; attempt++) {
      const delay = reconnectDelayMs(attempt, random, 50, 1000);
      assert.ok(delay >= 50 && delay <= 1000, `attempt ${attempt}: ${delay}`);
    }
  }
  assert.equal(reconnectDelayMs(1, 0.5, 50, 1000), 50);
  assert.equal(reconnectDelayMs(3, 0.5, 50, 1000), 200);
  assert.equal(reconnectDelayMs(30, 0.5, 50, 1000), 1000);
  assert.notEqual(reconnectDelayMs(3, 0, 50, 1000), reconnectDelayMs(3, 0.9, 50, 1000));
});

test("messages sent in one turn of the event loop go out in one socket write, through the socket factory", async () => {
  const writes: number[] = [];
  const countingFactory: SocketFactory = {
    connect(address, onReady) {
      const socket = tcpSocketFactory.connect(address, onReady);
      const write = socket.write.bind(socket) as (chunk: Uint8Array) => boolean;
      socket.write = ((chunk: Uint8Array) => {
        writes.push(chunk.byteLength);
        return write(chunk);
      }) as typeof socket.write;
      return socket;
    },
    listen: (address, onConnection) => tcpSocketFactory.listen(address, onConnection),
  };
  const { b, nodeA, nodeB } = await startPair({ socketFactory: countingFactory });
  try {
    for (let i = 0; i < 100; i++) nodeA.send(heartbeat(1, 2, i));
    await b.until(() => b.messages.length === 100, "the batch");
    // The handshake, then every message in one write.
    assert.equal(writes.length, 2);
  } finally {
    await Promise.all([nodeA.stop(), nodeB.stop()]);
  }
});
