import type { FastifyReply, FastifyRequest } from "fastify";
import { Agent, request as httpRequest } from "node:http";
import type { AgentOptions, IncomingHttpHeaders } from "node:http";

/** Header a forwarding node sets; a request carrying it is never forwarded again (no loops between nodes). */
export const forwardedByHeader = "x-yakt-forwarded-by";

/** A forwarded request that the leader has not answered by then fails with FORWARD_FAILED (unless its route says longer). */
export const forwardTimeoutMs = 10_000;

/** Request headers that travel with a forwarded write; everything else is this hop's business. */
const forwardedRequestHeaders = ["content-type", "accept", "idempotency-key"] as const;
/** Response headers relayed back to the client. */
const relayedResponseHeaders = ["content-type", "retry-after"] as const;

/** Whether this request already came from another controller. */
export function wasForwarded(request: FastifyRequest): boolean {
  return request.headers[forwardedByHeader] !== undefined;
}

/** Answers from the leader larger than this fail the forwarding (a write's answer is a few KiB). */
const forwardedAnswerBytesMax = 16 * 1024 * 1024;

/**
 * Forwarded writes reuse kept-alive connections to the leader, without Nagle's delay: under load a follower
 * forwards many writes at once, and a connection per request (or a small pool) would queue them.
 */
const leaderAgent = new Agent({ keepAlive: true, maxSockets: 1024, maxFreeSockets: 256, noDelay: true } as AgentOptions);

/**
 * Sends `request` on to the leader at `leaderUrl` and relays its answer, status and body unchanged. Throws
 * when the leader cannot be reached or does not answer within `timeoutMs`: the caller answers
 * FORWARD_FAILED (the write may or may not have reached the leader).
 */
export async function forwardToLeader(request: FastifyRequest, reply: FastifyReply, leaderUrl: string, selfId: number, timeoutMs = forwardTimeoutMs): Promise<FastifyReply> {
  const headers: Record<string, string> = { [forwardedByHeader]: String(selfId) };
  for (const name of forwardedRequestHeaders) {
    const value = request.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  const hasBody = request.body !== undefined && request.body !== null;
  const body = hasBody ? JSON.stringify(request.body) : undefined;
  if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
  const answer = await exchange(new URL(request.url, leaderUrl), request.method, headers, body, timeoutMs);
  void reply.code(answer.status);
  for (const name of relayedResponseHeaders) {
    const value = answer.headers[name];
    if (typeof value === "string") void reply.header(name, value);
  }
  return reply.send(answer.body);
}

interface LeaderAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One HTTP exchange with the leader over the kept-alive pool; rejects on a network error, a timeout or an oversized answer. */
function exchange(url: URL, method: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number): Promise<LeaderAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, { method, headers, agent: leaderAgent, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > forwardedAnswerBytesMax) {
          response.destroy(new Error(`the leader's answer is larger than ${forwardedAnswerBytesMax} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks).toString("utf8") }));
      response.on("error", reject);
      // A settled promise ignores this; an answer cut short closes without "end".
      response.on("close", () => {
        if (!response.complete) reject(new Error("the leader closed the connection before the whole answer"));
      });
    });
    outgoing.on("timeout", () => outgoing.destroy(new Error(`the leader did not answer within ${timeoutMs} ms`)));
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}
