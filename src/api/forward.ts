import type { FastifyReply, FastifyRequest } from "fastify";

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
  const response = await fetch(new URL(request.url, leaderUrl), {
    method: request.method,
    headers,
    ...(hasBody ? { body: JSON.stringify(request.body) } : {}),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await response.text();
  void reply.code(response.status);
  for (const name of relayedResponseHeaders) {
    const value = response.headers.get(name);
    if (value !== null) void reply.header(name, value);
  }
  return reply.send(body);
}
