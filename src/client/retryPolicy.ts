import type { ApiErrorCode } from "../api/errors.js";
import { retryAfterSecondsOf } from "../api/errors.js";

/**
 * When the admin client retries, where, and how long it waits: pure functions of an answer, so that
 * the rules are tested without a server. The codes are those of src/api/errors.ts.
 */

/** What to do after one attempt. */
export type Verdict =
  /** A 2xx: the answer is the result. */
  | { readonly kind: "done" }
  /** 421 NOT_LEADER naming the leader: ask it at once. */
  | { readonly kind: "redirect"; readonly leaderUrl: string }
  /**
   * Worth another attempt after a back-off. `outcome` says whether this attempt may have been applied
   * (a retry is then safe only for idempotent requests); `otherNode` that this node cannot help, so the
   * next attempt goes to another one.
   */
  | { readonly kind: "retry"; readonly outcome: Outcome; readonly otherNode: boolean; readonly retryAfterMs: number | undefined }
  /** Anything else (4xx, 500): thrown at once. */
  | { readonly kind: "fail" };

export type Outcome = "not_applied" | "unknown";

/** Why an attempt got no answer: `refused` never reached the server; the others may have. */
export type TransportFailure = "refused" | "timeout" | "broken";

/** Codes that say "try again shortly": the ones the API sends Retry-After with. */
const retriableCodes: ReadonlySet<ApiErrorCode> = new Set(Object.keys(retryAfterSecondsOf) as ApiErrorCode[]);

/** Codes a node answers before proposing anything, when the body does not say `outcome` itself. */
const notAppliedCodes: ReadonlySet<ApiErrorCode> = new Set<ApiErrorCode>(["NOT_LEADER", "NO_LEADER", "TRANSFER_IN_PROGRESS", "OVERLOADED", "READ_TIMEOUT"]);

/** Codes of a node that is going away: the next attempt is better spent on another one. */
const nodeDownCodes: ReadonlySet<ApiErrorCode> = new Set<ApiErrorCode>(["STOPPING", "STORAGE_FAILED"]);

/** Statuses that are retriable even without a coded body (a proxy, or Fastify closing its server). */
const retriableStatuses: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Judges one HTTP answer; `body` is its parsed JSON (or its text when it was not JSON). */
export function judgeAnswer(status: number, body: unknown, retryAfterMs: number | undefined): Verdict {
  if (status >= 200 && status < 300) return { kind: "done" };
  const fields = isRecord(body) ? body : {};
  const code = typeof fields["code"] === "string" ? (fields["code"] as ApiErrorCode) : undefined;
  if (status === 421 || code === "NOT_LEADER") {
    const leaderUrl = fields["leaderUrl"];
    if (typeof leaderUrl === "string" && leaderUrl.length > 0) return { kind: "redirect", leaderUrl };
    return { kind: "retry", outcome: "not_applied", otherNode: true, retryAfterMs };
  }
  const retriable = code === undefined ? retriableStatuses.has(status) : retriableCodes.has(code);
  if (!retriable) return { kind: "fail" };
  const stated = fields["outcome"];
  const outcome: Outcome = stated === "not_applied" || stated === "unknown" ? stated : code !== undefined && notAppliedCodes.has(code) ? "not_applied" : "unknown";
  const otherNode = code === undefined ? status === 503 : nodeDownCodes.has(code);
  return { kind: "retry", outcome, otherNode, retryAfterMs };
}

/** A failed connection always moves on to another node; only a refused one is known not to have applied. */
export function judgeFailure(failure: TransportFailure): Verdict {
  return { kind: "retry", outcome: failure === "refused" ? "not_applied" : "unknown", otherNode: true, retryAfterMs: undefined };
}

export interface BackoffBounds {
  /** The ceiling of the first wait; each retry doubles it. */
  readonly backoffMsMin: number;
  /** No wait is longer, whatever the server's Retry-After says. */
  readonly backoffMsMax: number;
}

/** Doubling stops here: 2^30 × any sensible minimum is far above any maximum. */
const backoffExponentMax = 30;

/**
 * The wait before retry number `retryCount` (1 for the first): exponential from `backoffMsMin`, with
 * "equal jitter" (half of it fixed, half drawn from `random`) so that clients that failed together do
 * not come back together; at least the server's Retry-After; never above `backoffMsMax`.
 */
export function backoffDelayMs(retryCount: number, bounds: BackoffBounds, random: () => number, retryAfterMs?: number): number {
  const ceilingMs = Math.min(bounds.backoffMsMax, bounds.backoffMsMin * 2 ** Math.min(Math.max(0, retryCount - 1), backoffExponentMax));
  const jitteredMs = ceilingMs / 2 + (random() * ceilingMs) / 2;
  return Math.round(Math.min(bounds.backoffMsMax, Math.max(jitteredMs, retryAfterMs ?? 0)));
}

/** Retry-After as delta-seconds (what the API sends); an HTTP date or anything else is ignored. */
export function parseRetryAfterMs(header: string | null): number | undefined {
  if (header === null || !/^\d{1,6}$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
