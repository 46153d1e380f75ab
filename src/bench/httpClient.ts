// The HTTP/1.1 client of the comparison benches, the same for YAKt and etcd's JSON gateway so that the
// load generator costs the same per request. It is written on `node:net` rather than `node:http`: the
// load generator shares the machine's two cores with the servers it measures, and Node's http client
// spends most of its time per request on URL parsing, Agent bookkeeping, header objects and
// IncomingMessage streams (64–83 µs of CPU per request against a plain Node server at 32 requests in
// flight, where this client takes 23–24 µs). Here a request is one string written in one
// `socket.write`, and the answer goes through a small incremental parser that keeps only the status and
// the body.
//
// Up to `socketsCount` persistent connections (opened when needed, no Nagle delay), one request in
// flight on each (no pipelining), further requests wait in FIFO order. Answers are framed by
// Content-Length, by chunked encoding or by the end of the connection; `Connection: close` is honoured.
// A connection that fails, closes or answers something malformed is dropped from the pool and fails its
// request; a later request opens a new one. Bodies are read as UTF-8 text and checked, never parsed.
import { connect } from "node:net";
import type { Socket } from "node:net";

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

export type HttpMethod = "GET" | "POST" | "PATCH";

/** A response head over this many bytes, or a chunk-size or trailer line over `lineBytesMax`, is malformed. */
const headBytesMax = 64 * 1024;
const lineBytesMax = 4 * 1024;
const crlf = "\r\n";
const headEnd = "\r\n\r\n";

const enum Phase {
  Idle,
  Head,
  BodyByLength,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  BodyUntilClose,
}

/** One request of `send`, from the call until it is answered or fails. */
class Exchange {
  settled = false;
  timer: NodeJS.Timeout | undefined;
  connection: Connection | undefined;

  constructor(
    readonly method: HttpMethod,
    readonly path: string,
    readonly text: string,
    readonly resolve: (answer: HttpAnswer) => void,
    readonly reject: (error: Error) => void,
  ) {}

  /** Rejects with `${method} ${path}: ${reason}`. */
  fail(reason: string, cause?: unknown): void {
    this.failWith(`${this.method} ${this.path}: ${reason}`, cause);
  }

  failWith(message: string, cause?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.connection = undefined;
    this.reject(cause === undefined ? new Error(message) : new Error(message, { cause }));
  }

  succeed(answer: HttpAnswer): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.connection = undefined;
    this.resolve(answer);
  }
}

/** What the server sent that is not HTTP/1.1 as this client reads it. */
export class MalformedAnswer extends Error {}

/** One complete answer, as `ResponseParser.push` returns it. */
export interface ParsedAnswer {
  readonly status: number;
  readonly body: string;
  /** False when the server will close the connection (`Connection: close`, HTTP/1.0, body framed by the end). */
  readonly keepAlive: boolean;
  /** Bytes that followed the answer in the same chunk: with one request in flight, a protocol error. */
  readonly extraBytesCount: number;
}

/**
 * The incremental reader of the answers on one connection, one at a time: `expectAnswer()` when a request
 * is sent, then `push()` every chunk received until it returns the answer. Throws MalformedAnswer.
 */
export class ResponseParser {
  private pending: Buffer | undefined;
  private phase = Phase.Idle;
  private status = 0;
  private keepAlive = true;
  private remaining = 0;
  private bodyParts: Buffer[] = [];

  /** A request was sent: the bytes that follow are its answer. */
  expectAnswer(): void {
    this.phase = Phase.Head;
    this.pending = undefined;
    this.bodyParts = [];
  }

  /** Consumes `chunk`; returns the answer once it is complete, keeping an incomplete line or head for the next chunk. */
  push(chunk: Buffer): ParsedAnswer | undefined {
    let buffer = chunk;
    if (this.pending !== undefined) {
      buffer = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let offset = 0;
    const length = buffer.length;
    while (offset < length) {
      switch (this.phase) {
        case Phase.Idle:
          throw new MalformedAnswer(`${length - offset} bytes arrived with no request in flight`);
        case Phase.Head: {
          const end = buffer.indexOf(headEnd, offset, "latin1");
          if (end < 0) {
            if (length - offset > headBytesMax) throw new MalformedAnswer(`response head over ${headBytesMax} bytes`);
            this.pending = buffer.subarray(offset);
            return undefined;
          }
          this.readHead(buffer.toString("latin1", offset, end));
          offset = end + headEnd.length;
          if ((this.phase as Phase) === Phase.BodyByLength && this.remaining === 0) return this.complete(length - offset);
          break;
        }
        case Phase.BodyByLength: {
          const taken = Math.min(this.remaining, length - offset);
          this.bodyParts.push(buffer.subarray(offset, offset + taken));
          offset += taken;
          this.remaining -= taken;
          if (this.remaining === 0) return this.complete(length - offset);
          break;
        }
        case Phase.ChunkSize: {
          const end = buffer.indexOf(crlf, offset, "latin1");
          if (end < 0) {
            if (length - offset > lineBytesMax) throw new MalformedAnswer(`chunk-size line over ${lineBytesMax} bytes`);
            this.pending = buffer.subarray(offset);
            return undefined;
          }
          const line = buffer.toString("latin1", offset, end);
          offset = end + crlf.length;
          const semicolon = line.indexOf(";"); // a chunk extension follows, ignored
          const digits = (semicolon < 0 ? line : line.slice(0, semicolon)).trim();
          if (!/^[0-9a-fA-F]{1,8}$/.test(digits)) throw new MalformedAnswer(`chunk size ${JSON.stringify(line.slice(0, 40))}`);
          this.remaining = parseInt(digits, 16);
          this.phase = this.remaining === 0 ? Phase.Trailers : Phase.ChunkData;
          break;
        }
        case Phase.ChunkData: {
          const taken = Math.min(this.remaining, length - offset);
          this.bodyParts.push(buffer.subarray(offset, offset + taken));
          offset += taken;
          this.remaining -= taken;
          if (this.remaining === 0) this.phase = Phase.ChunkDataEnd;
          break;
        }
        case Phase.ChunkDataEnd: {
          if (buffer[offset] !== 0x0d || (length - offset >= crlf.length && buffer[offset + 1] !== 0x0a)) {
            throw new MalformedAnswer("chunk data not followed by CRLF");
          }
          if (length - offset < crlf.length) {
            this.pending = buffer.subarray(offset);
            return undefined;
          }
          offset += crlf.length;
          this.phase = Phase.ChunkSize;
          break;
        }
        case Phase.Trailers: {
          const end = buffer.indexOf(crlf, offset, "latin1");
          if (end < 0) {
            if (length - offset > lineBytesMax) throw new MalformedAnswer(`trailer line over ${lineBytesMax} bytes`);
            this.pending = buffer.subarray(offset);
            return undefined;
          }
          const empty = end === offset; // the empty line ends the trailers; trailer fields are skipped
          offset = end + crlf.length;
          if (empty) return this.complete(length - offset);
          break;
        }
        case Phase.BodyUntilClose:
          this.bodyParts.push(buffer.subarray(offset));
          offset = length;
          break;
      }
    }
    return undefined;
  }

  /** The connection ended: the answer when its body was framed by the end of the connection, else undefined. */
  end(): ParsedAnswer | undefined {
    return this.phase === Phase.BodyUntilClose ? this.complete(0) : undefined;
  }

  /** Reads the status line and the header fields this client needs; sets the phase the body starts in. */
  private readHead(head: string): void {
    const lines = head.split(crlf);
    const statusLine = lines[0] ?? "";
    const match = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: |$)/.exec(statusLine);
    if (match === null) throw new MalformedAnswer(`status line ${JSON.stringify(statusLine.slice(0, 80))}`);
    const status = Number(match[2]);
    let keepAlive = match[1] === "1";
    let contentLength: number | undefined;
    let transferEncoding: string | undefined;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] ?? "";
      const colon = line.indexOf(":");
      if (colon <= 0) throw new MalformedAnswer(`header line ${JSON.stringify(line.slice(0, 80))}`);
      const name = line.slice(0, colon).toLowerCase();
      if (name === "content-length") {
        const value = line.slice(colon + 1).trim();
        if (!/^\d{1,15}$/.test(value)) throw new MalformedAnswer(`content-length ${JSON.stringify(value.slice(0, 40))}`);
        const parsed = Number(value);
        if (contentLength !== undefined && contentLength !== parsed) throw new MalformedAnswer(`two content-lengths, ${contentLength} and ${parsed}`);
        contentLength = parsed;
      } else if (name === "transfer-encoding") {
        transferEncoding = line.slice(colon + 1).trim().toLowerCase();
      } else if (name === "connection") {
        for (const token of line.slice(colon + 1).split(",")) {
          const option = token.trim().toLowerCase();
          if (option === "close") keepAlive = false;
          else if (option === "keep-alive") keepAlive = true;
        }
      }
    }
    if (status < 200) {
      // An interim answer (100 Continue, 103 Early Hints): the final one follows.
      if (status === 101) throw new MalformedAnswer("101 Switching Protocols to a request that asked for no upgrade");
      return;
    }
    this.status = status;
    this.keepAlive = keepAlive;
    if (status === 204 || status === 304) {
      this.phase = Phase.BodyByLength;
      this.remaining = 0;
    } else if (transferEncoding !== undefined) {
      // Chunked when it is the last coding; any other coding runs until the connection closes (RFC 9112 §6.3).
      this.phase = /(?:^|,)\s*chunked$/.test(transferEncoding) ? Phase.ChunkSize : Phase.BodyUntilClose;
    } else if (contentLength !== undefined) {
      this.phase = Phase.BodyByLength;
      this.remaining = contentLength;
    } else {
      this.phase = Phase.BodyUntilClose;
    }
    if (this.phase === Phase.BodyUntilClose) this.keepAlive = false;
  }

  private complete(extraBytesCount: number): ParsedAnswer {
    const parts = this.bodyParts;
    this.bodyParts = [];
    this.phase = Phase.Idle;
    this.pending = undefined;
    const body = parts.length === 0 ? "" : parts.length === 1 ? (parts[0] as Buffer).toString("utf8") : Buffer.concat(parts).toString("utf8");
    return { status: this.status, body, keepAlive: this.keepAlive, extraBytesCount };
  }
}

/** One persistent connection of the pool, with at most one request in flight. */
class Connection {
  readonly socket: Socket;
  private readonly parser = new ResponseParser();
  private exchange: Exchange | undefined;
  private dropped = false;
  private socketError: Error | undefined;

  constructor(
    private readonly pool: KeepAliveClient,
    host: string,
    port: number,
  ) {
    this.socket = connect({ host, port });
    this.socket.setNoDelay(true);
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    this.socket.on("error", (error: Error) => {
      this.socketError ??= error;
    });
    this.socket.on("close", () => this.onClose());
  }

  /** Writes the request of `exchange`, in one write; its answer settles it. */
  start(exchange: Exchange): void {
    this.exchange = exchange;
    exchange.connection = this;
    this.parser.expectAnswer();
    this.socket.write(exchange.text);
  }

  /** Closes the connection and leaves the pool; its request, if any, fails with `reason`. */
  drop(reason: string | undefined): void {
    const exchange = this.exchange;
    this.exchange = undefined;
    if (exchange !== undefined && reason !== undefined) exchange.fail(reason);
    this.leavePool();
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.dropped) return;
    let answer: ParsedAnswer | undefined;
    try {
      answer = this.parser.push(chunk);
    } catch (error) {
      if (!(error instanceof MalformedAnswer)) throw error;
      this.drop(`malformed answer: ${error.message}`);
      return;
    }
    if (answer === undefined) return;
    const exchange = this.exchange;
    this.exchange = undefined;
    exchange?.succeed({ status: answer.status, body: answer.body });
    if (answer.keepAlive && answer.extraBytesCount === 0) this.pool.release(this);
    else this.drop(undefined);
  }

  private onClose(): void {
    const exchange = this.exchange;
    this.exchange = undefined;
    if (exchange !== undefined) {
      const error = this.socketError;
      const answer = error === undefined ? this.parser.end() : undefined;
      if (answer !== undefined) exchange.succeed({ status: answer.status, body: answer.body });
      else if (error !== undefined) exchange.fail(`connection failed: ${error.message}`, error);
      else exchange.fail("the connection closed before the answer was complete");
    }
    this.leavePool();
  }

  private leavePool(): void {
    if (this.dropped) return;
    this.dropped = true;
    this.pool.forget(this);
  }
}

/** A pool of keep-alive connections to one server. Close it when done. */
export class KeepAliveClient {
  private readonly host: string;
  private readonly port: number;
  private readonly hostHeader: string;
  private readonly pathPrefix: string;
  private readonly idle: Connection[] = [];
  private readonly queue: Exchange[] = [];
  private queueHead = 0;
  private readonly connections = new Set<Connection>();
  private closed = false;

  /**
   * `baseUrl`: `http://host:port`, optionally with a path prefix. `socketsCount`: at most this many
   * connections, so one per outstanding request of a closed loop.
   */
  constructor(
    baseUrl: string,
    private readonly socketsCount: number,
    private readonly requestTimeoutMs: number,
  ) {
    const url = new URL(baseUrl);
    if (url.protocol !== "http:") throw new Error(`KeepAliveClient speaks plain HTTP only, not ${url.protocol} (${baseUrl})`);
    if (!Number.isInteger(socketsCount) || socketsCount < 1) throw new Error(`socketsCount must be a positive integer, got ${socketsCount}`);
    this.host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    this.port = url.port === "" ? 80 : Number(url.port);
    this.hostHeader = url.host;
    // A base URL with a path (`http://host:port/prefix`) puts it before every request's path.
    this.pathPrefix = url.pathname.replace(/\/$/, "");
  }

  /**
   * Sends one request; rejects on a network failure, a malformed answer, or when it takes over
   * `requestTimeoutMs` from this call (waiting for a connection included).
   */
  send(method: HttpMethod, path: string, jsonBody?: string): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const target = this.pathPrefix + path;
      if (!isSafeTarget(target)) {
        reject(new Error(`${method} ${path}: the path may not contain spaces or control characters`));
        return;
      }
      const text =
        jsonBody === undefined
          ? `${method} ${target} HTTP/1.1\r\nHost: ${this.hostHeader}\r\n\r\n`
          : `${method} ${target} HTTP/1.1\r\nHost: ${this.hostHeader}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(jsonBody)}\r\n\r\n${jsonBody}`;
      const exchange = new Exchange(method, path, text, resolve, reject);
      if (this.closed) {
        exchange.fail("the client is closed");
        return;
      }
      exchange.timer = setTimeout(onTimeout, this.requestTimeoutMs, exchange, this.requestTimeoutMs);
      const connection = this.idle.pop();
      if (connection !== undefined) {
        connection.socket.ref();
        connection.start(exchange);
      } else if (this.connections.size < this.socketsCount) {
        this.open().start(exchange);
      } else {
        this.queue.push(exchange);
      }
    });
  }

  /** Sends one request and rejects unless the answer has status `expectedStatus`. */
  async expect(expectedStatus: number, method: HttpMethod, path: string, jsonBody?: string): Promise<string> {
    const answer = await this.send(method, path, jsonBody);
    if (answer.status !== expectedStatus) throw new Error(`${method} ${path} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
    return answer.body;
  }

  /** Closes every connection; requests in flight or waiting fail. */
  close(): void {
    this.closed = true;
    for (let i = this.queueHead; i < this.queue.length; i++) this.queue[i]?.fail("the client was closed before the request was sent");
    this.queue.length = 0;
    this.queueHead = 0;
    for (const connection of [...this.connections]) connection.drop("the client was closed before the answer arrived");
    this.idle.length = 0;
  }

  /** `connection` finished its answer and can take the next request. */
  release(connection: Connection): void {
    const next = this.dequeue();
    if (next !== undefined) {
      connection.start(next);
      return;
    }
    // An idle connection does not keep the process alive (as with a keep-alive Agent).
    connection.socket.unref();
    this.idle.push(connection);
  }

  /** `connection` is closed: it leaves the pool, and a waiting request gets a new one. */
  forget(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    const index = this.idle.indexOf(connection);
    if (index >= 0) this.idle.splice(index, 1);
    if (this.closed) return;
    const next = this.dequeue();
    if (next !== undefined) this.open().start(next);
  }

  private open(): Connection {
    const connection = new Connection(this, this.host, this.port);
    this.connections.add(connection);
    return connection;
  }

  /** The oldest waiting request that has not timed out. */
  private dequeue(): Exchange | undefined {
    while (this.queueHead < this.queue.length) {
      const exchange = this.queue[this.queueHead++] as Exchange;
      if (this.queueHead === this.queue.length) {
        this.queue.length = 0;
        this.queueHead = 0;
      } else if (this.queueHead >= 1024 && this.queueHead * 2 >= this.queue.length) {
        this.queue.splice(0, this.queueHead); // a queue that never empties does not grow without bound
        this.queueHead = 0;
      }
      if (!exchange.settled) return exchange;
    }
    return undefined;
  }
}

function onTimeout(exchange: Exchange, timeoutMs: number): void {
  const connection = exchange.connection;
  exchange.failWith(`${exchange.method} ${exchange.path} took over ${timeoutMs} ms`);
  // The answer may still come: the connection cannot be reused.
  connection?.drop(undefined);
}

/** Whether `target` has no control character, space or DEL, which would break the request line. */
function isSafeTarget(target: string): boolean {
  for (let i = 0; i < target.length; i++) {
    const code = target.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return false;
  }
  return true;
}
