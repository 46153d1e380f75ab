import type { BrokerErrorCode } from "../broker/protocol.js";
import type { Outcome, TransportFailure } from "./retryPolicy.js";

/**
 * What producers and consumers do after one request to a broker (docs/DATA_PLANE.md, "Errors"): pure
 * functions of the answer, so that the rules are tested without a server. The waits between attempts
 * are retryPolicy's `backoffDelayMs`.
 */

export type BrokerVerdict =
  /** A 2xx: the answer is the result. */
  | { readonly kind: "done" }
  /**
   * Worth another attempt after a back-off. `refresh`: the client's metadata is probably stale (the
   * leader moved, or this broker is going away). `leaderUrl`: the leader this broker knows of, to try
   * next. `outcome`: whether this attempt may have been applied, so that only idempotent requests are
   * sent again after an `unknown` one.
   */
  | {
      readonly kind: "retry";
      readonly refresh: boolean;
      readonly outcome: Outcome;
      readonly leaderUrl: string | undefined;
      readonly retryAfterMs: number | undefined;
    }
  /** NOT_COORDINATOR: the group's coordinator is another broker (`coordinatorUrl` when this one knows it). */
  | { readonly kind: "coordinator"; readonly coordinatorUrl: string | undefined; readonly retryAfterMs: number | undefined }
  /** ILLEGAL_GENERATION or UNKNOWN_MEMBER: the group moved on; join it again. */
  | { readonly kind: "rejoin"; readonly code: "ILLEGAL_GENERATION" | "UNKNOWN_MEMBER" }
  /** Anything else (bad requests, out-of-order sequences, 500s): final. */
  | { readonly kind: "fail" };

interface RetryRule {
  readonly refresh: boolean;
  readonly outcome: Outcome;
}

/**
 * The retriable codes. The NOT_* and *_EPOCH ones, and a broker going away, mean the metadata moved.
 * REQUEST_TIMED_OUT (acks=all not reached in time) and STORAGE_FAILED may leave the batch appended.
 */
const retryRules: Partial<Readonly<Record<BrokerErrorCode, RetryRule>>> = {
  NOT_LEADER_FOR_PARTITION: { refresh: true, outcome: "not_applied" },
  LEADER_NOT_AVAILABLE: { refresh: true, outcome: "not_applied" },
  UNKNOWN_TOPIC_OR_PARTITION: { refresh: true, outcome: "not_applied" },
  FENCED_LEADER_EPOCH: { refresh: true, outcome: "not_applied" },
  NOT_ENOUGH_REPLICAS: { refresh: false, outcome: "not_applied" },
  BROKER_NOT_READY: { refresh: false, outcome: "not_applied" },
  STOPPING: { refresh: true, outcome: "not_applied" },
  STORAGE_FAILED: { refresh: true, outcome: "unknown" },
  REQUEST_TIMED_OUT: { refresh: false, outcome: "unknown" },
};

/** Statuses that are retriable even without a coded body (a proxy, or a server that is closing). */
const retriableStatuses: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Judges one HTTP answer of a broker; `body` is its parsed JSON (or its text when it was not JSON). */
export function judgeBrokerAnswer(status: number, body: unknown, retryAfterMs: number | undefined): BrokerVerdict {
  if (status >= 200 && status < 300) return { kind: "done" };
  const fields = isRecord(body) ? body : {};
  const code = typeof fields["code"] === "string" ? (fields["code"] as BrokerErrorCode) : undefined;
  if (code === "NOT_COORDINATOR") return { kind: "coordinator", coordinatorUrl: urlField(fields, "coordinatorUrl"), retryAfterMs };
  if (code === "ILLEGAL_GENERATION" || code === "UNKNOWN_MEMBER") return { kind: "rejoin", code };
  const rule = code === undefined ? statusRule(status) : retryRules[code];
  if (rule === undefined) return { kind: "fail" };
  // A broker states the outcome when the code alone would mislead (NOT_LEADER_FOR_PARTITION after the append).
  const stated = fields["outcome"];
  const outcome: Outcome = stated === "unknown" || stated === "not_applied" ? stated : rule.outcome;
  return { kind: "retry", refresh: rule.refresh, outcome, leaderUrl: urlField(fields, "leaderUrl"), retryAfterMs };
}

/** No answer: the broker may be down or the leader may have moved; only a refused connection was surely not applied. */
export function judgeBrokerFailure(failure: TransportFailure): BrokerVerdict {
  return { kind: "retry", refresh: true, outcome: failure === "refused" ? "not_applied" : "unknown", leaderUrl: undefined, retryAfterMs: undefined };
}

function statusRule(status: number): RetryRule | undefined {
  if (status === 421) return { refresh: true, outcome: "not_applied" };
  if (!retriableStatuses.has(status)) return undefined;
  return { refresh: status === 503, outcome: "unknown" };
}

function urlField(fields: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = fields[name];
  return typeof value === "string" && value.length > 0 ? value.replace(/\/+$/, "") : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
