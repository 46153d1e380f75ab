import type { RaftError } from "../raft/errors.js";
import type { NodeId } from "../raft/types.js";
import { assertNever } from "../shared/assert.js";

/**
 * Why a controller could not do what was asked: operating conditions, each with a stable code. The
 * HTTP layer maps codes to statuses in one place. `retriable` says whether the same request may
 * succeed later (on this node or on `leaderId`); `outcome` says whether a write may have been applied
 * anyway ("unknown": retry only if the write is idempotent).
 */
export class ControllerError extends Error {
  override readonly name = "ControllerError";

  constructor(
    readonly code: ControllerErrorCode,
    message: string,
    readonly details: ControllerErrorDetails = {},
  ) {
    super(message);
  }

  get retriable(): boolean {
    return retriableCodes.has(this.code);
  }
}

export type ControllerErrorCode =
  /** This node is a follower; `leaderId` is the leader it knows of. */
  | "NOT_LEADER"
  /** No leader is known right now (an election is under way); retry shortly. */
  | "NO_LEADER"
  /** The leader stepped down before the write committed; it may or may not commit. */
  | "LEADERSHIP_LOST"
  /** Leadership is moving to another node; retry once it has. */
  | "TRANSFER_IN_PROGRESS"
  /** Too much is waiting to commit or to be read; retry after a back-off. */
  | "OVERLOADED"
  /** The write is larger than one log entry may be. */
  | "ENTRY_TOO_LARGE"
  /** A linearizable read could not be confirmed in time (the leader may have changed). */
  | "READ_TIMEOUT"
  /** The node is shutting down. */
  | "STOPPING"
  /** The node's disk failed; it must restart. */
  | "STORAGE_FAILED"
  /** A new leader has not yet committed an entry of its term, which a membership change must wait for. */
  | "LEADER_NOT_READY"
  /** Another membership change has not committed yet; changes go one at a time (dissertation §4.1). */
  | "MEMBERSHIP_CHANGE_PENDING"
  /** The change does not fit the current membership (removing the last voter, adding a voter twice, …). */
  | "INVALID_MEMBERSHIP_CHANGE"
  /** The controller to add is already a member in the role asked for. */
  | "CONTROLLER_EXISTS"
  /** A learner did not catch up with the leader in time to be promoted; it stays a learner. */
  | "LEARNER_NOT_CAUGHT_UP";

export interface ControllerErrorDetails {
  readonly leaderId?: NodeId;
  readonly outcome?: "not_applied" | "unknown";
  /** The request field the error is about, as a path like `body.raftAddress`. */
  readonly field?: string;
}

const retriableCodes: ReadonlySet<ControllerErrorCode> = new Set([
  "NOT_LEADER",
  "NO_LEADER",
  "LEADERSHIP_LOST",
  "TRANSFER_IN_PROGRESS",
  "OVERLOADED",
  "READ_TIMEOUT",
  "STOPPING",
  "STORAGE_FAILED",
  "LEADER_NOT_READY",
  "MEMBERSHIP_CHANGE_PENDING",
  "LEARNER_NOT_CAUGHT_UP",
]);

/** A follower's or leaderless node's answer to a write. */
export function notLeaderError(leaderId: NodeId, action: "write" | "read" = "write"): ControllerError {
  if (leaderId === 0) return new ControllerError("NO_LEADER", `Cannot ${action} as no leader is known: an election is under way`, { outcome: "not_applied" });
  return new ControllerError("NOT_LEADER", `Cannot ${action} as this node is not the leader: current leader is ${leaderId}`, { leaderId, outcome: "not_applied" });
}

/** Translates the core's refusal of a proposal or read into the controller's catalogue. */
export function fromRaftError(error: RaftError): ControllerError {
  switch (error.code) {
    case "NotLeader":
      return notLeaderError(error.leaderId);
    case "LeadershipTransferInProgress":
      return new ControllerError("TRANSFER_IN_PROGRESS", "Cannot write as leadership is being transferred", { leaderId: error.leaderId, outcome: "not_applied" });
    case "UncommittedBytesExceeded":
      return new ControllerError("OVERLOADED", `Cannot write as ${error.uncommittedBytes} bytes are waiting to commit: limit is ${error.limitBytes}`, { outcome: "not_applied" });
    case "EntryTooLarge":
      return new ControllerError("ENTRY_TOO_LARGE", `Cannot write as the entry is ${error.sizeBytes} bytes: limit is ${error.limitBytes}`, { outcome: "not_applied" });
    case "TooManyPendingReads":
      return new ControllerError("OVERLOADED", `Cannot read as ${error.limitCount} reads are already waiting`);
    case "LeaderNotReady":
      return new ControllerError("LEADER_NOT_READY", "Cannot change the membership as this leader has not yet committed an entry of its term: retry shortly", { outcome: "not_applied" });
    case "MembershipChangePending":
      return new ControllerError("MEMBERSHIP_CHANGE_PENDING", `Cannot change the membership as the change at index ${error.pendingIndex} has not committed yet`, { outcome: "not_applied" });
    case "InvalidMembershipChange":
      return new ControllerError("INVALID_MEMBERSHIP_CHANGE", `Cannot change the membership as ${error.reason}`, { outcome: "not_applied" });
    case "InvalidTransferTarget":
    case "InvalidCompaction":
      throw new Error(`The core refused a proposal with ${error.code}, which only transfer and compaction requests get`);
    default:
      return assertNever(error, "raft error");
  }
}
