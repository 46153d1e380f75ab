import type { BrokerErrorCode } from "../broker/protocol.js";
import type { AdminErrorCode, Attempts } from "./adminError.js";
import { AdminError } from "./adminError.js";

/**
 * Codes the producer and consumer report themselves: `DELIVERY_TIMEOUT` (a record was not acknowledged
 * within `deliveryTimeoutMs`), `CLOSED` (the producer or consumer was closed), `RECORD_TOO_LARGE` (one
 * record is larger than a batch may be), `UNKNOWN_TOPIC` (the topic does not exist and is not to be
 * created), `NO_PARTITIONS` (the topic has none), `UNKNOWN_PARTITION` (a partition the topic does not have).
 */
export type DataPlaneClientCode = "DELIVERY_TIMEOUT" | "CLOSED" | "RECORD_TOO_LARGE" | "UNKNOWN_TOPIC" | "NO_PARTITIONS" | "UNKNOWN_PARTITION";

/** A broker's code, a controller's (through the admin client), or one of the client's own. */
export type DataPlaneErrorCode = BrokerErrorCode | AdminErrorCode | DataPlaneClientCode;

/**
 * Every failure of a `Producer` or `Consumer` call, shaped as `AdminError`: `status` is the HTTP status
 * of the answer (0 when there was none), `details` the whole error body (`leaderId`, `expectedSequence`,
 * …) or what the client knows, `attempts` how many requests it took.
 */
export class ClientError extends Error {
  override readonly name = "ClientError";
  readonly field: string | undefined;

  constructor(
    readonly code: DataPlaneErrorCode,
    readonly status: number,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
    readonly attempts: Attempts = { count: 1, exhausted: false },
  ) {
    super(message);
    this.field = typeof details["field"] === "string" ? details["field"] : undefined;
  }

  /** A broker's coded error body `{ code, message, … }`. */
  static fromBody(status: number, body: Readonly<Record<string, unknown>>, attempts: Attempts): ClientError {
    const code = typeof body["code"] === "string" ? (body["code"] as BrokerErrorCode) : "HTTP_ERROR";
    const message = typeof body["message"] === "string" ? body["message"] : `Cannot complete the request as the broker answered ${status}`;
    return new ClientError(code, status, message, body, attempts);
  }

  /** The same failure, from a call to the controllers. */
  static fromAdmin(error: AdminError): ClientError {
    return new ClientError(error.code, error.status, error.message, error.details, error.attempts);
  }

  /** `error` as a ClientError: AdminErrors are converted; anything else is a bug and is thrown again. */
  static of(error: unknown): ClientError {
    if (error instanceof ClientError) return error;
    if (error instanceof AdminError) return ClientError.fromAdmin(error);
    throw error;
  }
}
