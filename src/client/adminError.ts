import type { ApiErrorCode } from "../api/errors.js";

/**
 * Codes of failures the client itself reports, when no controller gave a usable answer:
 * `UNREACHABLE` (every attempt failed to connect, or broke off without an answer), `TIMEOUT` (the last
 * attempt had no answer within `requestTimeoutMs`), `ABORTED` (the caller's signal fired),
 * `BAD_RESPONSE` (an answer that is not the API's JSON), `HTTP_ERROR` (an error status without a
 * coded body, e.g. from a proxy or a server that is closing).
 */
export type ClientErrorCode = "UNREACHABLE" | "TIMEOUT" | "ABORTED" | "BAD_RESPONSE" | "HTTP_ERROR";

export type AdminErrorCode = ApiErrorCode | ClientErrorCode;

/** How many requests a call made, and whether it failed because it ran out of attempts. */
export interface Attempts {
  readonly count: number;
  /** True when every attempt got a retriable failure; false when the last answer was final. */
  readonly exhausted: boolean;
}

/**
 * Every failure of an `AdminClient` call. `status` is the HTTP status of the answer (0 when there was
 * none); `details` is the whole error body (`leaderId`, `outcome`, `startOffset`, …).
 */
export class AdminError extends Error {
  override readonly name = "AdminError";
  readonly field: string | undefined;

  constructor(
    readonly code: AdminErrorCode,
    readonly status: number,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
    readonly attempts: Attempts = { count: 1, exhausted: false },
  ) {
    super(message);
    this.field = typeof details["field"] === "string" ? details["field"] : undefined;
  }

  /** An error from a coded error body `{ code, message, … }`. */
  static fromBody(status: number, body: Readonly<Record<string, unknown>>, attempts: Attempts): AdminError {
    const code = typeof body["code"] === "string" ? (body["code"] as ApiErrorCode) : "HTTP_ERROR";
    const message = typeof body["message"] === "string" ? body["message"] : `Cannot complete the request as the controller answered ${status}`;
    return new AdminError(code, status, message, body, attempts);
  }
}
