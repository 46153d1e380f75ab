import type { BrokerErrorCode } from "./protocol.js";

/**
 * Why a broker could not do what was asked: an operating condition with a stable code (see
 * docs/DATA_PLANE.md). The server maps codes to HTTP statuses in one place (`brokerHttpStatusOf`).
 */
export class BrokerError extends Error {
  override readonly name = "BrokerError";

  constructor(
    readonly code: BrokerErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

export const brokerHttpStatusOf: Readonly<Record<BrokerErrorCode, number>> = {
  NOT_LEADER_FOR_PARTITION: 421,
  LEADER_NOT_AVAILABLE: 503,
  UNKNOWN_TOPIC_OR_PARTITION: 404,
  NOT_ENOUGH_REPLICAS: 503,
  REQUEST_TIMED_OUT: 504,
  OUT_OF_ORDER_SEQUENCE: 409,
  OFFSET_OUT_OF_RANGE: 416,
  FENCED_LEADER_EPOCH: 409,
  NOT_COORDINATOR: 421,
  ILLEGAL_GENERATION: 409,
  UNKNOWN_MEMBER: 409,
  BROKER_NOT_READY: 503,
  STORAGE_FAILED: 503,
  STOPPING: 503,
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  BODY_TOO_LARGE: 413,
  ROUTE_NOT_FOUND: 404,
  INTERNAL: 500,
};

/** Seconds to wait before a retry, for codes a retry can get past. */
export const brokerRetryAfterSecondsOf: Partial<Record<BrokerErrorCode, number>> = {
  LEADER_NOT_AVAILABLE: 1,
  NOT_ENOUGH_REPLICAS: 1,
  BROKER_NOT_READY: 1,
  STORAGE_FAILED: 1,
  STOPPING: 1,
};
