/**
 * Why a partition log refused a request: operating conditions with a stable code, which the broker maps
 * onto its own error codes (broker/protocol.ts). Programmer errors are assertions instead, and bytes on
 * disk that no crash explains are `StorageCorruptionError` (storage/errors.ts).
 */
export class PartitionLogError extends Error {
  override readonly name = "PartitionLogError";

  constructor(
    readonly code: PartitionLogErrorCode,
    message: string,
    readonly details: PartitionLogErrorDetails = {},
  ) {
    super(message);
  }
}

export type PartitionLogErrorCode =
  /** A read or truncation at an offset outside [logStartOffset, logEndOffset]; both are in the details. */
  | "OFFSET_OUT_OF_RANGE"
  /** A producer's batch is neither the next in its sequence nor one of its recent batches; `expectedSequence`. */
  | "OUT_OF_ORDER_SEQUENCE"
  /** A batch's leader epoch is below the latest one in the log: its writer is a stale leader. `latestEpoch`. */
  | "FENCED_LEADER_EPOCH"
  /** Replicated batches that do not start at the log end (`logEndOffset`) or do not follow one another. */
  | "OFFSET_MISMATCH"
  /** A batch that breaks the format's rules or bounds: empty, too large, a bad id, sequence or timestamp. */
  | "INVALID_BATCH"
  /** Too many operations wait for this log's disk; retry after a back-off. */
  | "OVERLOADED"
  /** An earlier write or fsync failed: what is on disk is unknown, so the log must be reopened. */
  | "STORAGE_FAILED";

export interface PartitionLogErrorDetails {
  readonly logStartOffset?: number;
  readonly logEndOffset?: number;
  readonly expectedSequence?: number;
  readonly latestEpoch?: number;
}

export function invalidBatch(reason: string): PartitionLogError {
  return new PartitionLogError("INVALID_BATCH", `Cannot append batch as it is invalid: ${reason}`);
}
