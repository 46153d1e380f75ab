import type { FastifyReply, FastifyRequest } from "fastify";
import { Agent, request as httpRequest } from "node:http";
import type { AgentOptions, IncomingMessage } from "node:http";
import type { Readable } from "node:stream";

/** Header a forwarding node sets; a request carrying it is never forwarded again (no loops between nodes). */
export const forwardedByHeader = "x-yakt-forwarded-by";

/** A forwarded request that the leader has not answered by then fails with FORWARD_FAILED (unless its route says longer). */
export const forwardTimeoutMs = 10_000;

/** Request headers that travel with a forwarded write; everything else is this hop's business. */
const forwardedRequestHeaders = ["content-type", "accept", "idempotency-key"] as const;
/** Response headers relayed back to the client (the body is relayed byte for byte, so its length holds). */
const relayedResponseHeaders = ["content-type", "content-length", "retry-after"] as const;

/** Whether this request already came from another controller. */
export function wasForwarded(request: FastifyRequest): boolean {
  return request.headers[forwardedByHeader] !== undefined;
}

/**
 * Forwarded writes reuse kept-alive connections to the leader, without Nagle's delay: under load a follower
 * forwards many writes at once, and a connection per request (or a small pool) would queue them.
 */
const leaderAgent = new Agent({ keepAlive: true, maxSockets: 1024, maxFreeSockets: 256, noDelay: true } as AgentOptions);

/**
 * Sends `request` on to the leader at `leaderUrl` and relays its answer, status and body unchanged. Throws
 * when the leader cannot be reached or does not answer within `timeoutMs`: the caller answers
 * FORWARD_FAILED (the write may or may not have reached the leader).
 *
 * Two forms. `body: "parsed"` sends the body this node parsed, serialized again (a write found to need
 * forwarding only once its handler ran). `body: "unread"` streams the request's body from the socket as
 * it arrives, unparsed: a follower forwarding a write before parsing it spends nothing on its JSON, and the
 * leader checks it as it checks any write.
 */
export async function forwardToLeader(request: FastifyRequest, reply: FastifyReply, leaderUrl: string, selfId: number, timeoutMs: number, body: "parsed" | "unread"): Promise<FastifyReply> {
  const headers: Record<string, string> = { [forwardedByHeader]: String(selfId) };
  for (const name of forwardedRequestHeaders) {
    const value = request.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  let sent: string | Readable | undefined;
  if (body === "unread") {
    const length = request.headers["content-length"];
    const chunked = request.headers["transfer-encoding"] !== undefined;
    if (typeof length === "string") headers["content-length"] = length;
    // No Content-Length and no Transfer-Encoding: no body (RFC 9112 §6.3), and none is sent on.
    if (typeof length === "string" || chunked) sent = request.raw;
  } else if (request.body !== undefined && request.body !== null) {
    sent = JSON.stringify(request.body);
    headers["content-length"] = String(Buffer.byteLength(sent));
  }
  const answer = await exchange(new URL(request.url, leaderUrl), request.method, headers, sent, timeoutMs);
  void reply.code(answer.statusCode ?? 502);
  for (const name of relayedResponseHeaders) {
    const value = answer.headers[name];
    if (typeof value === "string") void reply.header(name, value);
  }
  return reply.send(answer);
}

/**
 * One HTTP exchange with the leader over the kept-alive pool. Resolves once the leader's answer begins,
 * with its body still to come: the body is relayed as it arrives, so an answer of any size (a full
 * metadata image for a broker's heartbeat is tens of MiB at a million partitions) passes through without
 * being held whole. Rejects on a network error or when no answer begins within `timeoutMs`; once the
 * answer has begun, the same bound applies to silence between its pieces, and a leader that stops
 * mid-answer cuts the relayed answer short too, which the client sees as a broken answer (outcome unknown).
 */
function exchange(url: URL, method: string, headers: Record<string, string>, body: string | Readable | undefined, timeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, { method, headers, agent: leaderAgent, timeout: timeoutMs }, resolve);
    outgoing.on("timeout", () => outgoing.destroy(new Error(`the leader did not answer within ${timeoutMs} ms`)));
    outgoing.on("error", reject);
    if (typeof body === "string" || body === undefined) {
      outgoing.end(body);
      return;
    }
    // A client that goes away mid-body leaves the leader a cut request, which it refuses.
    body.on("error", (error) => outgoing.destroy(error));
    body.on("aborted", () => outgoing.destroy(new Error("the client went away before its body was sent")));
    body.pipe(outgoing);
  });
}
