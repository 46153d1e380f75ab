import { assert, assertNever } from "../shared/assert.js";
import {
  applyChangeBrokerRegistration,
  applyFenceBroker,
  applyRegisterBroker,
  applyUnfenceBroker,
  applyUnregisterBroker,
  checkChangeBrokerRegistration,
  checkFenceBroker,
  checkRegisterBroker,
  checkUnfenceBroker,
  checkUnregisterBroker,
} from "./brokerCommands.js";
import { checkCount } from "./checks.js";
import { applyRegisterController, applyUnregisterController, checkRegisterController, checkUnregisterController } from "./controllerCommands.js";
import { checkClientSession, storeClientSession } from "./clientSessions.js";
import type { CommandEnvelope, MetadataCommand } from "./commands.js";
import type { HistoryBounds } from "./history.js";
import { appendToHistory } from "./history.js";
import { applyRegisterProducer, checkRegisterProducer } from "./producerCommands.js";
import type { RecordPosition } from "./records.js";
import type { Applied, ApplyResult, Rejection } from "./results.js";
import type { MetadataState } from "./state.js";
import {
  applyChangePartition,
  applyCreatePartition,
  applyCreateTopic,
  applyDeleteTopic,
  checkChangePartition,
  checkCreatePartition,
  checkCreateTopic,
  checkDeleteTopic,
} from "./topicCommands.js";

/**
 * Commands are checked twice (DESIGN §6): by the leader before proposing, for a fast answer, and again
 * here against the state at the command's place in the log — a command that became invalid in between is
 * applied as a rejection, the same on every replica. Apply is a function of (state, envelope, offset):
 * no clock, no randomness, nothing generated.
 */

/** The checks `applyCommand` makes, without changing anything: undefined when the command would apply. */
export function validate(state: MetadataState, command: MetadataCommand): Rejection | undefined {
  switch (command.type) {
    case "RegisterBroker":
      return checkRegisterBroker(state, command);
    case "ChangeBrokerRegistration":
      return checkChangeBrokerRegistration(state, command);
    case "UnregisterBroker":
      return checkUnregisterBroker(state, command);
    case "FenceBroker":
      return checkFenceBroker(state, command);
    case "UnfenceBroker":
      return checkUnfenceBroker(state, command);
    case "CreateTopic":
      return checkCreateTopic(state, command);
    case "DeleteTopic":
      return checkDeleteTopic(state, command);
    case "CreatePartition":
      return checkCreatePartition(state, command);
    case "ChangePartition":
      return checkChangePartition(state, command);
    case "RegisterProducer":
      return checkRegisterProducer(state, command);
    case "RegisterController":
      return checkRegisterController(state, command);
    case "UnregisterController":
      return checkUnregisterController(state, command);
    default:
      return assertNever(command, "command");
  }
}

export interface ApplyOptions {
  /** Bounds of the history; the defaults are `limits.metadata`'s. */
  readonly historyBounds?: HistoryBounds;
}

/**
 * Applies one command at log index `offset`: replays the stored answer for a repeated client write,
 * refuses a stale one, else validates and applies, stores the answer for the client, and appends the
 * records to the history.
 */
export function applyCommand(state: MetadataState, envelope: CommandEnvelope, offset: number, options: ApplyOptions = {}): ApplyResult {
  advanceOffset(state, offset);
  const badTimestamp = checkCount(envelope.timestamp, "timestamp");
  if (badTimestamp !== undefined) return badTimestamp;
  const { clientSession } = envelope;
  if (clientSession !== undefined) {
    const seen = checkClientSession(state, clientSession);
    if (seen.kind === "replay") return seen.result;
    if (seen.kind === "refused") return seen.rejection;
  }
  const result = validate(state, envelope.command) ?? perform(state, envelope.command, { timestamp: envelope.timestamp, offset });
  if (clientSession !== undefined) storeClientSession(state, clientSession, { result, timestampMs: envelope.timestamp });
  if (result.ok && result.records.length > 0) {
    state.recordTimestampMsMax = Math.max(state.recordTimestampMsMax, envelope.timestamp);
    appendToHistory(state, result.records, options.historyBounds);
  }
  return result;
}

/** Moves the state to log index `offset` (every entry does, whatever it holds). */
export function advanceOffset(state: MetadataState, offset: number): void {
  assert(Number.isSafeInteger(offset) && offset > state.offset, `entry ${offset} applied after ${state.offset}`);
  state.offset = offset;
}

function perform(state: MetadataState, command: MetadataCommand, at: RecordPosition): Applied {
  switch (command.type) {
    case "RegisterBroker":
      return applyRegisterBroker(state, command, at);
    case "ChangeBrokerRegistration":
      return applyChangeBrokerRegistration(state, command, at);
    case "UnregisterBroker":
      return applyUnregisterBroker(state, command, at);
    case "FenceBroker":
      return applyFenceBroker(state, command, at);
    case "UnfenceBroker":
      return applyUnfenceBroker(state, command, at);
    case "CreateTopic":
      return applyCreateTopic(state, command, at);
    case "DeleteTopic":
      return applyDeleteTopic(state, command, at);
    case "CreatePartition":
      return applyCreatePartition(state, command, at);
    case "ChangePartition":
      return applyChangePartition(state, command, at);
    case "RegisterProducer":
      return applyRegisterProducer(state, command, at);
    case "RegisterController":
      return applyRegisterController(state, command, at);
    case "UnregisterController":
      return applyUnregisterController(state, command, at);
    default:
      return assertNever(command, "command");
  }
}
