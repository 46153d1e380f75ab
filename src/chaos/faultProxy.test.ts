import assert from "node:assert/strict";
import { once } from "node:events";
import { createConnection, createServer } from "node:net";
import type { Server, Socket } from "node:net";
import { test } from "node:test";
import { FaultProxy } from "./faultProxy.js";
import type { ProxyAddress, ProxyLimits } from "./faultProxy.js";

const host = "127.0.0.1";

/** An echo server on loopback: whatever a client sends comes back on the same connection. */
async function startEcho(): Promise<{ readonly server: Server; readonly address: ProxyAddress; readonly sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    socket.pipe(socket);
  });
  server.listen(0, host);
  await once(server, "listening");
  const address = server.address();
  assert.ok(address !== null && typeof address === "object");
  return { server, address: { host, port: address.port }, sockets };
}

async function withProxy(limits: Partial<ProxyLimits>, body: (proxy: FaultProxy, echo: { readonly address: ProxyAddress }) => Promise<void>): Promise<void> {
  const echo = await startEcho();
  const proxy = new FaultProxy({ target: echo.address, limits });
  await proxy.start();
  try {
    await body(proxy, echo);
  } finally {
    await proxy.close();
    for (const socket of echo.sockets) socket.destroy();
    await new Promise<void>((resolve) => echo.server.close(() => resolve()));
  }
}

async function connect(address: ProxyAddress): Promise<Socket> {
  const socket = createConnection({ host: address.host, port: address.port });
  socket.on("error", () => {});
  await once(socket, "connect");
  return socket;
}

/** Reads from `socket` until `bytes` bytes have arrived; rejects if it closes first. */
function readBytes(socket: Socket, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      received += chunk.byteLength;
      if (received >= bytes) {
        socket.off("data", onData);
        socket.off("close", onClose);
        resolve(Buffer.concat(chunks));
      }
    };
    const onClose = (): void => reject(new Error(`closed after ${received} of ${bytes} bytes`));
    socket.on("data", onData);
    socket.once("close", onClose);
  });
}

/** Resolves on 'close' whatever error came first (`events.once` would reject on the 'error'). */
function closedEvent(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

async function echoes(socket: Socket, text: string): Promise<string> {
  const reply = readBytes(socket, Buffer.byteLength(text));
  socket.write(text);
  return (await reply).toString();
}

test("a proxy forwards bytes both ways between a client and its target", async () => {
  await withProxy({}, async (proxy) => {
    const socket = await connect(proxy.address());
    assert.equal(await echoes(socket, "hello through the proxy"), "hello through the proxy");
    assert.ok(proxy.counters().bytesForwarded >= 2 * "hello through the proxy".length);
    socket.destroy();
  });
});

test("with latency every chunk still arrives, in the order it was sent", async () => {
  await withProxy({}, async (proxy) => {
    proxy.setLatency(20);
    const socket = await connect(proxy.address());
    const parts = Array.from({ length: 50 }, (_, i) => `<${i}>`);
    const expected = parts.join("");
    const reply = readBytes(socket, expected.length);
    for (const [i, part] of parts.entries()) {
      // Lower the latency half-way: later chunks must not overtake earlier ones.
      if (i === 25) proxy.setLatency(0);
      socket.write(part);
    }
    assert.equal((await reply).toString(), expected);
    socket.destroy();
  });
});

test("a blackhole cut keeps connections open but delivers nothing; heal closes them and new ones forward", async () => {
  await withProxy({}, async (proxy) => {
    const before = await connect(proxy.address());
    assert.equal(await echoes(before, "a"), "a");
    proxy.cut("blackhole");
    let beforeGotData = false;
    before.on("data", () => (beforeGotData = true));
    const discarded = proxy.nextDiscard();
    before.write("lost");
    await discarded;
    const held = await connect(proxy.address());
    const heldDiscarded = proxy.nextDiscard();
    held.write("also lost");
    await heldDiscarded;
    assert.equal(proxy.counters().connectionsHeld, 1);
    assert.equal(beforeGotData, false);

    const closed = Promise.all([closedEvent(before), closedEvent(held)]);
    proxy.heal();
    await closed;
    const after = await connect(proxy.address());
    assert.equal(await echoes(after, "back"), "back");
    after.destroy();
  });
});

test("a reject cut closes open connections and resets new ones; heal forwards again", async () => {
  await withProxy({}, async (proxy) => {
    const before = await connect(proxy.address());
    assert.equal(await echoes(before, "a"), "a");
    const closed = closedEvent(before);
    proxy.cut("reject");
    await closed;
    const refused = createConnection({ host, port: proxy.address().port });
    refused.on("error", () => {});
    await closedEvent(refused);
    assert.equal(proxy.counters().connectionsRejected, 1);
    proxy.heal();
    const after = await connect(proxy.address());
    assert.equal(await echoes(after, "b"), "b");
    after.destroy();
  });
});

test("dropConnections closes what is open and leaves the link working", async () => {
  await withProxy({}, async (proxy) => {
    const first = await connect(proxy.address());
    assert.equal(await echoes(first, "1"), "1");
    const closed = closedEvent(first);
    proxy.dropConnections();
    await closed;
    assert.equal(proxy.connectionsCount, 0);
    const second = await connect(proxy.address());
    assert.equal(await echoes(second, "2"), "2");
    second.destroy();
  });
});

test("a connection whose target is down is closed", async () => {
  const echo = await startEcho();
  await new Promise<void>((resolve) => echo.server.close(() => resolve()));
  const proxy = new FaultProxy({ target: echo.address });
  await proxy.start();
  try {
    const socket = createConnection({ host, port: proxy.address().port });
    socket.on("error", () => {});
    await closedEvent(socket);
    assert.equal(proxy.connectionsCount, 0);
  } finally {
    await proxy.close();
  }
});

test("the bytes waiting out their latency stay within delayedBytesMax plus one chunk", async () => {
  const delayedBytesMax = 64 * 1024;
  await withProxy({ delayedBytesMax }, async (proxy) => {
    proxy.setLatency(5);
    const socket = await connect(proxy.address());
    const payload = Buffer.alloc(2 * 1024 * 1024, 7);
    const reply = readBytes(socket, payload.byteLength);
    socket.write(payload);
    assert.equal((await reply).byteLength, payload.byteLength);
    // A chunk read from a socket is at most its 64 KiB high-water mark.
    assert.ok(proxy.counters().delayedBytesPeak <= delayedBytesMax + 64 * 1024, `peak ${proxy.counters().delayedBytesPeak}`);
    socket.destroy();
  });
});

test("setLatency refuses a negative or fractional latency", () => {
  const proxy = new FaultProxy({ target: { host, port: 1 } });
  assert.throws(() => proxy.setLatency(-1));
  assert.throws(() => proxy.setLatency(1.5));
});
