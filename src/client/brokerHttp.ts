import { Agent, request as httpRequest } from "node:http";
import type { IncomingMessage } from "node:http";
import { fetchBytesMax } from "../broker/protocol.js";
import { parseRetryAfterMs } from "./retryPolicy.js";
import type { TransportFailure } from "./retryPolicy.js";

/**
 * Requests to brokers: JSON or the binary forms (broker/binaryProtocol.ts) over HTTP/1.1 on kept-alive
 * connections (docs/DATA_PLANE.md). Built on
 * node:http with a keep-alive Agent rather than the global fetch: on loopback it carried 2–5 times the
 * requests per second of fetch (1-record batches about 4,000/s against 600–1,200/s, 1,000-record
 * batches about 1,100/s against 350–700/s), and it does not send a request answered 421 a second time
 * by itself as fetch does.
 */

export type BrokerReply =
  | { readonly kind: "answer"; readonly status: number; readonly body: unknown; readonly retryAfterMs: number | undefined }
  /** No answer. `aborted`: the caller's signal fired (then `failure` is `broken`). */
  | { readonly kind: "failure"; readonly failure: TransportFailure; readonly message: string; readonly aborted: boolean };

export interface BrokerRequest {
  readonly method: "GET" | "POST";
  /** The broker's base URL, `http://host:port`. */
  readonly url: string;
  /** Path and query, e.g. `/v1/fetch?topic=t&partition=0&offset=7`. */
  readonly path: string;
  /** Sent as JSON; a Buffer is sent as it is, with `contentType`. */
  readonly body?: unknown;
  /** The content type of a Buffer `body`. */
  readonly contentType?: string;
  /** What the answer may be besides JSON (`application/x-yakt-batches`): such an answer's `body` is its bytes, a Buffer. */
  readonly accept?: string;
  /** From sending to the end of the answer; a fetch's must exceed its `maxWaitMs`. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** How producers and consumers reach brokers; tests may put something else in between. */
export interface BrokerTransport {
  send(request: BrokerRequest): Promise<BrokerReply>;
  /** Closes the kept-alive connections. */
  close(): void;
}

/** Bytes of one answer read: a whole fetch (JSON escaping may grow its records up to 6-fold) with room. */
const answerBytesMax = 8 * fetchBytesMax;
/** Connections kept to one broker: one per partition in flight is the most a client needs at once. */
const socketsPerBrokerMax = 64;

export class HttpBrokerTransport implements BrokerTransport {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: socketsPerBrokerMax });

  send(request: BrokerRequest): Promise<BrokerReply> {
    return new Promise((resolve) => {
      const raw = Buffer.isBuffer(request.body);
      const body = request.body === undefined ? undefined : raw ? (request.body as Buffer) : JSON.stringify(request.body);
      const headers: Record<string, string | number> = { accept: request.accept === undefined ? "application/json" : `${request.accept}, application/json` };
      if (body !== undefined) {
        headers["content-type"] = raw ? (request.contentType ?? "application/octet-stream") : "application/json";
        headers["content-length"] = Buffer.byteLength(body);
      }
      let settled = false;
      const settle = (reply: BrokerReply): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.signal?.removeEventListener("abort", onAbort);
        resolve(reply);
      };
      const fail = (failure: TransportFailure, message: string, aborted = false): void => settle({ kind: "failure", failure, message, aborted });
      const outgoing = httpRequest(`${request.url}${request.path}`, { method: request.method, agent: this.agent, headers }, (incoming) => {
        readAnswer(incoming).then(
          (answer) => settle(answer),
          (error: unknown) => fail("broken", `Cannot read the answer of broker ${request.url} as the connection failed: ${messageOf(error)}`),
        );
      });
      const timer = setTimeout(() => {
        fail("timeout", `Cannot get an answer from broker ${request.url} as none came within ${request.timeoutMs} ms`);
        outgoing.destroy();
      }, request.timeoutMs);
      const onAbort = (): void => {
        fail("broken", `Cannot get an answer from broker ${request.url} as the request was aborted`, true);
        outgoing.destroy();
      };
      if (request.signal?.aborted === true) {
        onAbort();
        return;
      }
      request.signal?.addEventListener("abort", onAbort, { once: true });
      outgoing.on("error", (error) => {
        const refused = isRefused(error);
        fail(refused ? "refused" : "broken", refused ? `Cannot reach broker ${request.url} as it refused the connection` : `Cannot get an answer from broker ${request.url} as the connection failed: ${messageOf(error)}`);
      });
      outgoing.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function readAnswer(incoming: IncomingMessage): Promise<BrokerReply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let sizeBytes = 0;
    incoming.on("data", (chunk: Buffer) => {
      sizeBytes += chunk.length;
      if (sizeBytes > answerBytesMax) {
        incoming.destroy(new Error(`the answer is larger than ${answerBytesMax} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    incoming.on("error", reject);
    incoming.on("aborted", () => reject(new Error("the answer was cut off")));
    incoming.on("end", () => {
      if (!incoming.complete) {
        reject(new Error("the answer was cut off"));
        return;
      }
      const retryAfter = incoming.headers["retry-after"];
      const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, sizeBytes);
      const binary = (incoming.headers["content-type"] ?? "").startsWith("application/x-yakt-");
      resolve({
        kind: "answer",
        status: incoming.statusCode ?? 0,
        body: binary ? bytes : parseBody(bytes.toString("utf8")),
        retryAfterMs: parseRetryAfterMs(typeof retryAfter === "string" ? retryAfter : null),
      });
    });
  });
}

function parseBody(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Refused, or no such host: either way the request never reached a broker. */
function isRefused(error: unknown): boolean {
  const code = typeof error === "object" && error !== null && "code" in error ? error.code : undefined;
  return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
