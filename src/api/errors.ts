import type { ControllerErrorCode } from "../controller/errors.js";
import type { MetadataErrorCode } from "../metadata/results.js";

/**
 * Every error code the HTTP API answers with, and its status: the one place codes meet HTTP. The
 * body is always `{ code, message, ...details }`; retriable answers carry `Retry-After`.
 */
export type ApiErrorCode =
  | ControllerErrorCode
  | MetadataErrorCode
  | "FORWARD_FAILED"
  | "BAD_REQUEST"
  | "INVALID_JSON"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "BODY_TOO_LARGE"
  | "NOT_FOUND"
  | "ROUTE_NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  /** The log no longer holds the offset asked for; `startOffset` is the oldest it could serve after. */
  | "OFFSET_COMPACTED"
  | "UNKNOWN_SNAPSHOT"
  | "INTERNAL";

export const httpStatusOf: Readonly<Record<ApiErrorCode, number>> = {
  NOT_LEADER: 421,
  NO_LEADER: 503,
  LEADERSHIP_LOST: 503,
  TRANSFER_IN_PROGRESS: 503,
  OVERLOADED: 429,
  ENTRY_TOO_LARGE: 413,
  READ_TIMEOUT: 503,
  STOPPING: 503,
  STORAGE_FAILED: 503,
  LEADER_NOT_READY: 503,
  MEMBERSHIP_CHANGE_PENDING: 409,
  INVALID_MEMBERSHIP_CHANGE: 409,
  CONTROLLER_EXISTS: 409,
  LEARNER_NOT_CAUGHT_UP: 503,
  FORWARD_FAILED: 503,
  INVALID_COMMAND: 400,
  UNKNOWN_BROKER: 404,
  UNKNOWN_TOPIC: 404,
  UNKNOWN_PARTITION: 404,
  UNKNOWN_CONTROLLER: 404,
  TOPIC_EXISTS: 409,
  PARTITION_EXISTS: 409,
  INVALID_BROKER_STATUS: 409,
  STALE_BROKER_EPOCH: 409,
  STALE_PARTITION_EPOCH: 409,
  STALE_CLIENT_SEQUENCE: 409,
  PRODUCER_ID_TAKEN: 409,
  INVALID_REPLICAS: 422,
  LIMIT_EXCEEDED: 422,
  OFFSET_COMPACTED: 410,
  UNKNOWN_SNAPSHOT: 404,
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  BODY_TOO_LARGE: 413,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  INTERNAL: 500,
};

/** Seconds a client should wait before retrying, for codes where a retry can succeed. */
export const retryAfterSecondsOf: Partial<Record<ApiErrorCode, number>> = {
  NO_LEADER: 1,
  LEADERSHIP_LOST: 1,
  TRANSFER_IN_PROGRESS: 1,
  OVERLOADED: 1,
  READ_TIMEOUT: 1,
  STOPPING: 1,
  STORAGE_FAILED: 1,
  FORWARD_FAILED: 1,
  LEADER_NOT_READY: 1,
  MEMBERSHIP_CHANGE_PENDING: 1,
  LEARNER_NOT_CAUGHT_UP: 1,
};

export interface ApiErrorBody {
  readonly code: ApiErrorCode;
  readonly message: string;
  readonly [detail: string]: unknown;
}

/** An error a route throws on purpose; the app's error handler turns it into its status and body. */
export class ApiError extends Error {
  override readonly name = "ApiError";

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}
