import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer } from "node:http";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { createServer as createNetServer } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { test } from "node:test";
import { KeepAliveClient, MalformedAnswer, ResponseParser } from "./httpClient.js";

interface TestServer {
  readonly url: string;
  /** Connections the server accepted so far. */
  connectionsCount(): number;
  close(): Promise<void>;
}

/** A `node:http` server on 127.0.0.1 calling `answer` with each request and its whole body. */
async function httpServer(answer: (request: IncomingMessage, response: ServerResponse, body: string) => void): Promise<TestServer> {
  const server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => answer(request, response, Buffer.concat(chunks).toString("utf8")));
  });
  let connectionsCount = 0;
  server.on("connection", () => connectionsCount++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connectionsCount: () => connectionsCount,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

/**
 * A raw TCP server on 127.0.0.1: `onRequest` gets each request head (the client's GETs have no body)
 * with its socket, in the order they arrive on that connection.
 */
async function rawServer(onRequest: (head: string, socket: Socket) => void): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true); // an answer written in two parts is not held back by Nagle's algorithm
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      for (let end = received.indexOf("\r\n\r\n"); end >= 0; end = received.indexOf("\r\n\r\n")) {
        const head = received.slice(0, end);
        received = received.slice(end + 4);
        onRequest(head, socket);
      }
    });
  });
  let connectionsCount = 0;
  server.on("connection", () => connectionsCount++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connectionsCount: () => connectionsCount,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}

/** The path of a request head's request line. */
function pathOf(head: string): string {
  return head.split(" ")[1] ?? "";
}

/** An answer with a Content-Length, as bytes. */
function lengthAnswer(body: string, status = "200 OK", extraHeaders = ""): Buffer {
  return Buffer.from(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\n${extraHeaders}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, "utf8");
}

const utf8Body = '{"city":"Zürich","check":"✓","rocket":"🚀"}';

/** Answers the parser must read, each exactly as a server could send it. */
const sampleAnswers: ReadonlyArray<{ name: string; bytes: Buffer; status: number; body: string; keepAlive: boolean }> = [
  { name: "Content-Length, UTF-8 body", bytes: lengthAnswer(utf8Body), status: 200, body: utf8Body, keepAlive: true },
  {
    name: "chunked with an extension and trailers, mixed-case headers",
    bytes: Buffer.from(
      'HTTP/1.1 201 Created\r\nTRANSFER-encoding: Chunked\r\nDate: x\r\n\r\n7;name="v"\r\n{"a":"Z\r\n' +
        '8\r\nürich"}\r\n0;last\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n',
      "utf8",
    ),
    status: 201,
    body: '{"a":"Zürich"}',
    keepAlive: true,
  },
  {
    name: "an interim 100 Continue, then the answer with Connection: close",
    bytes: Buffer.concat([Buffer.from("HTTP/1.1 100 Continue\r\n\r\n"), lengthAnswer("{}", "404 Not Found", "Connection: close\r\n")]),
    status: 404,
    body: "{}",
    keepAlive: false,
  },
  { name: "204 with no body", bytes: Buffer.from("HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n"), status: 204, body: "", keepAlive: true },
  { name: "Content-Length: 0", bytes: Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"), status: 200, body: "", keepAlive: true },
];

test("ResponseParser reads every sample answer split at any one or two byte offsets", () => {
  const parser = new ResponseParser();
  for (const sample of sampleAnswers) {
    const n = sample.bytes.length;
    for (let i = 0; i <= n; i++) {
      for (let j = i; j <= n; j++) {
        parser.expectAnswer();
        const parts = [sample.bytes.subarray(0, i), sample.bytes.subarray(i, j), sample.bytes.subarray(j)];
        const results = parts.map((part) => parser.push(part));
        const last = results.findLastIndex((result) => result !== undefined);
        assert.equal(results.filter((result) => result !== undefined).length, 1, `${sample.name}, split at ${i} and ${j}`);
        assert.deepEqual(results[last], { status: sample.status, body: sample.body, keepAlive: sample.keepAlive, extraBytesCount: 0 }, `${sample.name}, split at ${i} and ${j}`);
        // The answer completes with the part holding its last byte: nothing is left for later parts.
        assert.ok(parts.slice(last + 1).every((part) => part.length === 0), `${sample.name}, split at ${i} and ${j}`);
      }
    }
  }
});

test("ResponseParser counts bytes after the answer, rejects bytes with no request in flight, and reads a body framed by the end", () => {
  const parser = new ResponseParser();
  parser.expectAnswer();
  const two = Buffer.concat([lengthAnswer('{"one":1}'), lengthAnswer('{"two":2}')]);
  assert.deepEqual(parser.push(two), { status: 200, body: '{"one":1}', keepAlive: true, extraBytesCount: lengthAnswer('{"two":2}').length });
  assert.throws(() => parser.push(Buffer.from("HTTP/1.1 200 OK\r\n")), /bytes arrived with no request in flight/);

  parser.expectAnswer();
  assert.equal(parser.push(Buffer.from("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello ")), undefined);
  assert.equal(parser.push(Buffer.from("world")), undefined);
  assert.deepEqual(parser.end(), { status: 200, body: "hello world", keepAlive: false, extraBytesCount: 0 });
  parser.expectAnswer();
  assert.equal(parser.push(lengthAnswer("{}").subarray(0, 30)), undefined);
  assert.equal(parser.end(), undefined, "a body framed by Content-Length is incomplete when the connection ends");
});

test("ResponseParser names what is wrong in a malformed answer", () => {
  const malformed: ReadonlyArray<[string, RegExp]> = [
    ["HTTP/1.1 abc\r\n\r\n", /^status line "HTTP\/1.1 abc"$/],
    ["SSH-2.0-OpenSSH\r\n\r\n", /^status line/],
    ["HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", /^header line "no colon here"$/],
    ["HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n", /^content-length "12x"$/],
    ["HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", /^two content-lengths, 1 and 2$/],
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", /^chunk size "zz"$/],
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX", /^chunk data not followed by CRLF$/],
    ["HTTP/1.1 101 Switching Protocols\r\n\r\n", /101 Switching Protocols/],
    [`HTTP/1.1 200 OK\r\nX: ${"y".repeat(70_000)}`, /^response head over 65536 bytes$/],
  ];
  for (const [text, expected] of malformed) {
    const parser = new ResponseParser();
    parser.expectAnswer();
    assert.throws(
      () => parser.push(Buffer.from(text)),
      (error: unknown) => error instanceof MalformedAnswer && expected.test(error.message),
      JSON.stringify(text.slice(0, 60)),
    );
  }
});

test("GET, POST and PATCH reach a node:http server with their method, path, headers and JSON body intact", async () => {
  const seen: Array<{ method: string | undefined; url: string | undefined; headers: IncomingHttpHeaders; body: string }> = [];
  const server = await httpServer((request, response, body) => {
    seen.push({ method: request.method, url: request.url, headers: request.headers, body });
    response.writeHead(request.method === "GET" ? 200 : 201, { "content-type": "application/json" });
    response.end(JSON.stringify({ echo: body, method: request.method }));
  });
  const client = new KeepAliveClient(server.url, 2, 10_000);
  try {
    const host = server.url.slice("http://".length);
    assert.deepEqual(await client.send("GET", "/v1/topics/orders?consistency=stale"), { status: 200, body: JSON.stringify({ echo: "", method: "GET" }) });
    const posted = JSON.stringify({ name: "orders", partitions: 3 });
    assert.equal(await client.expect(201, "POST", "/v1/topics", posted), JSON.stringify({ echo: posted, method: "POST" }));
    const patched = JSON.stringify({ rackId: "r".repeat(200) });
    assert.equal(await client.expect(201, "PATCH", "/v1/brokers/7", patched), JSON.stringify({ echo: patched, method: "PATCH" }));

    assert.equal(seen.length, 3);
    const [get, post, patch] = seen;
    assert.equal(get?.method, "GET");
    assert.equal(get?.url, "/v1/topics/orders?consistency=stale");
    assert.equal(get?.headers.host, host);
    assert.equal(get?.headers["content-type"], undefined);
    assert.equal(get?.headers["content-length"], undefined);
    assert.equal(get?.headers["transfer-encoding"], undefined);
    for (const [request, method, url, body] of [[post, "POST", "/v1/topics", posted], [patch, "PATCH", "/v1/brokers/7", patched]] as const) {
      assert.equal(request?.method, method);
      assert.equal(request?.url, url);
      assert.equal(request?.headers.host, host);
      assert.equal(request?.headers["content-type"], "application/json");
      assert.equal(request?.headers["content-length"], String(Buffer.byteLength(body)));
      assert.equal(request?.body, body);
    }
    await assert.rejects(client.expect(200, "POST", "/v1/topics", "{}"), /^Error: POST \/v1\/topics answered 201: \{"echo":"\{\}","method":"POST"\}$/);
  } finally {
    client.close();
    await server.close();
  }
});

test("UTF-8 bodies go out with their byte length and come back whole", async () => {
  const server = await httpServer((request, response, body) => {
    assert.equal(request.headers["content-length"], String(Buffer.byteLength(body)));
    response.end(JSON.stringify({ echo: body }));
  });
  const client = new KeepAliveClient(server.url, 1, 10_000);
  try {
    const body = JSON.stringify({ name: utf8Body, more: "日本語".repeat(5_000) });
    assert.equal(await client.expect(200, "POST", "/echo", body), JSON.stringify({ echo: body }));
  } finally {
    client.close();
    await server.close();
  }
});

test("answers by Content-Length, chunked and with no body, large and small, from node:http", async () => {
  const large = JSON.stringify({ values: Array.from({ length: 20_000 }, (_, i) => `v${i}-ü`) });
  const server = await httpServer((request, response) => {
    if (request.url === "/length") {
      response.end(large); // one write: Node frames it by Content-Length
    } else if (request.url === "/chunked") {
      response.writeHead(200, { "content-type": "application/json" });
      response.write(large.slice(0, 1_000)); // several writes and no length: chunked
      response.write(large.slice(1_000, 70_000));
      response.end(large.slice(70_000));
    } else {
      response.writeHead(204);
      response.end();
    }
  });
  const client = new KeepAliveClient(server.url, 1, 10_000);
  try {
    for (let round = 0; round < 3; round++) {
      assert.equal(await client.expect(200, "GET", "/length"), large);
      assert.equal(await client.expect(200, "GET", "/chunked"), large);
      assert.deepEqual(await client.send("GET", "/empty"), { status: 204, body: "" });
    }
    assert.equal(server.connectionsCount(), 1);
  } finally {
    client.close();
    await server.close();
  }
});

test("an answer split at every byte offset over a connection is read whole, on one kept-alive connection", async () => {
  const answers = sampleAnswers.filter((sample) => sample.keepAlive);
  const server = await rawServer((head, socket) => {
    const [index, offset] = pathOf(head).slice(1).split("/").map(Number) as [number, number];
    const bytes = (answers[index] as (typeof answers)[number]).bytes;
    socket.write(bytes.subarray(0, offset), () => socket.write(bytes.subarray(offset)));
  });
  const client = new KeepAliveClient(server.url, 1, 10_000);
  try {
    for (const [index, sample] of answers.entries()) {
      for (let offset = 1; offset < sample.bytes.length; offset++) {
        assert.deepEqual(await client.send("GET", `/${index}/${offset}`), { status: sample.status, body: sample.body }, `${sample.name}, split at ${offset}`);
      }
    }
    assert.equal(server.connectionsCount(), 1);
  } finally {
    client.close();
    await server.close();
  }
});

test("sequential requests reuse one kept-alive connection", async () => {
  const server = await httpServer((request, response) => response.end(JSON.stringify({ url: request.url })));
  const client = new KeepAliveClient(server.url, 8, 10_000);
  try {
    for (let i = 0; i < 100; i++) assert.equal(await client.expect(200, "GET", `/r/${i}`), JSON.stringify({ url: `/r/${i}` }));
    assert.equal(server.connectionsCount(), 1);
  } finally {
    client.close();
    await server.close();
  }
});

test("3N concurrent requests use at most N connections, one request each, and all are answered", async () => {
  const socketsCount = 4;
  const held: Array<() => void> = [];
  let inFlightMax = 0;
  const server = await httpServer((request, response) => {
    held.push(() => response.end(JSON.stringify({ url: request.url })));
    inFlightMax = Math.max(inFlightMax, held.length);
    // Answers go out a group of N at a time, so that N requests are in flight at once.
    if (held.length === socketsCount) for (const answer of held.splice(0)) answer();
  });
  const client = new KeepAliveClient(server.url, socketsCount, 10_000);
  try {
    const paths = Array.from({ length: 3 * socketsCount }, (_, i) => `/c/${i}`);
    const bodies = await Promise.all(paths.map((path) => client.expect(200, "GET", path)));
    assert.deepEqual(bodies, paths.map((url) => JSON.stringify({ url })));
    assert.equal(server.connectionsCount(), socketsCount);
    assert.equal(inFlightMax, socketsCount);
  } finally {
    client.close();
    await server.close();
  }
});

test("a connection closed mid-answer or refused fails that request, and the next request opens a new connection", async () => {
  const server = await rawServer((head, socket) => {
    if (pathOf(head) === "/drop") socket.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    else if (pathOf(head) === "/reset") socket.resetAndDestroy();
    else socket.write(lengthAnswer('{"ok":true}'));
  });
  const client = new KeepAliveClient(server.url, 1, 10_000);
  try {
    assert.equal(await client.expect(200, "GET", "/ok"), '{"ok":true}');
    await assert.rejects(client.send("GET", "/drop"), { message: "GET /drop: the connection closed before the answer was complete" });
    assert.equal(await client.expect(200, "GET", "/ok"), '{"ok":true}');
    await assert.rejects(client.send("PATCH", "/reset", "{}"), /^Error: PATCH \/reset: connection failed: .*ECONNRESET/);
    assert.equal(await client.expect(200, "GET", "/ok"), '{"ok":true}');
    assert.equal(server.connectionsCount(), 3);
  } finally {
    client.close();
    await server.close();
  }

  const closed = await rawServer(() => {});
  await closed.close();
  const refused = new KeepAliveClient(closed.url, 1, 10_000);
  try {
    await assert.rejects(refused.send("POST", "/v3/kv/put", "{}"), /^Error: POST \/v3\/kv\/put: connection failed: connect ECONNREFUSED 127\.0\.0\.1:/);
    await assert.rejects(refused.send("GET", "/again"), /^Error: GET \/again: connection failed: connect ECONNREFUSED/);
  } finally {
    refused.close();
  }
});

test("a malformed answer fails its request with what was wrong, and the connection is not reused", async () => {
  const server = await rawServer((head, socket) => {
    if (pathOf(head) === "/bad") socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nnot-hex\r\n");
    else socket.write(lengthAnswer("{}"));
  });
  const client = new KeepAliveClient(server.url, 1, 10_000);
  try {
    await assert.rejects(client.send("GET", "/bad"), { message: 'GET /bad: malformed answer: chunk size "not-hex"' });
    assert.equal(await client.expect(200, "GET", "/good"), "{}");
    assert.equal(server.connectionsCount(), 2);
  } finally {
    client.close();
    await server.close();
  }
});

test("an answer with Connection: close, or framed by the end of the connection, is read and the next request opens a new connection", async () => {
  const server = await httpServer((request, response) => {
    response.setHeader("connection", "close");
    response.end(JSON.stringify({ url: request.url }));
  });
  const client = new KeepAliveClient(server.url, 2, 10_000);
  try {
    for (let i = 0; i < 3; i++) assert.equal(await client.expect(200, "GET", `/close/${i}`), JSON.stringify({ url: `/close/${i}` }));
    assert.equal(server.connectionsCount(), 3);
  } finally {
    client.close();
    await server.close();
  }

  const raw = await rawServer((head, socket) => socket.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"path":"${pathOf(head)}"}`));
  const rawClient = new KeepAliveClient(raw.url, 1, 10_000);
  try {
    assert.equal(await rawClient.expect(200, "GET", "/until-close"), '{"path":"/until-close"}');
    assert.equal(await rawClient.expect(200, "GET", "/again"), '{"path":"/again"}');
    assert.equal(raw.connectionsCount(), 2);
  } finally {
    rawClient.close();
    await raw.close();
  }
});

test("a request that takes over the timeout fails with the time it took and its connection is closed", async () => {
  const serverSockets: Socket[] = [];
  const server = await rawServer((_head, socket) => serverSockets.push(socket)); // never answers
  const client = new KeepAliveClient(server.url, 1, 50);
  try {
    await assert.rejects(client.send("PATCH", "/v1/brokers/1", "{}"), { message: "PATCH /v1/brokers/1 took over 50 ms" });
    const socket = serverSockets[0];
    assert.ok(socket !== undefined);
    if (!socket.closed) await once(socket, "close");
  } finally {
    client.close();
    await server.close();
  }
});

test("close() fails the request in flight and those waiting, and later requests", async () => {
  let received: () => void = () => {};
  const firstReceived = new Promise<void>((resolve) => (received = resolve));
  const server = await rawServer(() => received()); // never answers
  const client = new KeepAliveClient(server.url, 1, 10_000);
  try {
    const inFlight = client.send("GET", "/first");
    const waiting = [client.send("POST", "/second", "{}"), client.send("GET", "/third")];
    await firstReceived;
    client.close();
    await assert.rejects(inFlight, { message: "GET /first: the client was closed before the answer arrived" });
    await assert.rejects(waiting[0] as Promise<unknown>, { message: "POST /second: the client was closed before the request was sent" });
    await assert.rejects(waiting[1] as Promise<unknown>, { message: "GET /third: the client was closed before the request was sent" });
    await assert.rejects(client.send("GET", "/later"), { message: "GET /later: the client is closed" });
    assert.equal(server.connectionsCount(), 1);
  } finally {
    client.close();
    await server.close();
  }
});

test("a path with a space or a control character is refused before anything is sent", async () => {
  const client = new KeepAliveClient("http://127.0.0.1:9", 1, 10_000);
  try {
    await assert.rejects(client.send("GET", "/a b"), { message: "GET /a b: the path may not contain spaces or control characters" });
    await assert.rejects(client.send("GET", "/a\r\nX-Injected: 1"), /may not contain spaces or control characters/);
  } finally {
    client.close();
  }
});
