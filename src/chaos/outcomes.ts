// What one HTTP exchange with the metadata API means for a register operation of a chaos client: pure,
// so the classification (the part a wrong guess would turn into a false alarm or a missed bug) is tested
// on its own.
import { errorCodeOf, isRecord } from "../e2e/http.js";
import type { HttpResult } from "../e2e/http.js";
import { assertNever } from "../shared/assert.js";

/**
 * `ok`: it took effect (a write) or answered (a read). `fail`: it certainly took no effect. `unknown`:
 * it may take effect, now or later — the history must allow both.
 */
export type Outcome = "ok" | "fail" | "unknown";

/** Codes a node answers before any entry exists, when the body carries no `outcome`. */
const notAppliedCodes: ReadonlySet<string> = new Set(["NOT_LEADER", "NO_LEADER", "TRANSFER_IN_PROGRESS", "OVERLOADED"]);

/**
 * One write attempt (a PATCH or POST):
 * - a 2xx took effect;
 * - a body's `outcome` is believed when present (`not_applied`: the entry was never proposed or was
 *   overwritten by another leader's entry; `unknown`: it may still commit, e.g. LEADERSHIP_LOST or
 *   FORWARD_FAILED, whose forwarded request may have reached the leader);
 * - a connection refused never reached a server;
 * - a timeout or a broken connection may have reached one;
 * - any other 4xx is a refusal by validation or by the state machine (applied as a rejection, changing nothing);
 * - any other 5xx is unknown, to be safe.
 */
export function classifyWrite(result: HttpResult): Outcome {
  if (result.kind === "failure") {
    switch (result.failure) {
      case "refused":
        return "fail";
      case "timeout":
      case "broken":
        return "unknown";
      default:
        return assertNever(result.failure, "HTTP failure");
    }
  }
  if (result.status >= 200 && result.status < 300) return "ok";
  const outcome = isRecord(result.body) ? result.body["outcome"] : undefined;
  if (outcome === "not_applied") return "fail";
  if (outcome === "unknown") return "unknown";
  if (notAppliedCodes.has(errorCodeOf(result.body) ?? "")) return "fail";
  if (errorCodeOf(result.body) === "FORWARD_FAILED") return "unknown";
  return result.status >= 400 && result.status < 500 ? "fail" : "unknown";
}

/** Several attempts at one write, with one Idempotency-Key: applied at most once between them. */
export function combineAttempts(outcomes: readonly Outcome[]): Outcome {
  if (outcomes.includes("ok")) return "ok";
  if (outcomes.includes("unknown")) return "unknown";
  return "fail";
}

/** What a read of `GET /v1/brokers/{id}` saw: the register's value, or nothing usable. */
export type ReadResult = { readonly outcome: "ok"; readonly value: string | null } | { readonly outcome: "fail"; readonly reason: string };

/**
 * One read attempt. A 200 gives the broker's `brokerPort` as the register's value; a 404 UNKNOWN_BROKER
 * is a linearizable answer too: the register does not exist (null). Anything else is "fail": a read
 * changes nothing, so a read without an answer can simply be left out of the history.
 */
export function classifyRead(result: HttpResult): ReadResult {
  if (result.kind === "failure") return { outcome: "fail", reason: result.message };
  if (result.status === 200 && isRecord(result.body) && isRecord(result.body["broker"])) {
    const port = result.body["broker"]["brokerPort"];
    if (typeof port === "number") return { outcome: "ok", value: String(port) };
  }
  if (result.status === 404 && errorCodeOf(result.body) === "UNKNOWN_BROKER") return { outcome: "ok", value: null };
  return { outcome: "fail", reason: `${result.status} ${JSON.stringify(result.body).slice(0, 200)}` };
}
