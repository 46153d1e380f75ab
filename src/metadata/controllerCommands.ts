import { assert } from "../shared/assert.js";
import { limits } from "../shared/limits.js";
import { checkPort, checkText } from "./checks.js";
import type { RegisterController, UnregisterController } from "./commands.js";
import type { ControllerRegistration, RecordPosition } from "./records.js";
import { metadataRecord } from "./records.js";
import type { Applied, Rejection } from "./results.js";
import { reject } from "./results.js";
import type { MetadataState } from "./state.js";

/**
 * The controller registry (KRaft's RegisterControllerRecord, KIP-919): where each controller added at
 * runtime listens, replicated in the metadata log so that every controller — and every controller
 * restarted later from its log or a snapshot — can reach it.
 *
 * The registry is an address book, not the membership: the Raft core's membership says who votes and
 * who learns. A registration is proposed before the controller is added to the membership, so its
 * address is known everywhere before anyone has to talk to it.
 *
 * Removal deletes the registration (UnregisterControllerRecord) rather than marking it removed: an
 * address that nobody will dial again is of no use, and leaving it would only fill the bounded
 * registry. It is proposed after the controller has left the membership, never before, so that a
 * removal that fails half-way leaves a member that can still be reached. A leader that removed itself
 * steps down before it could unregister itself; its registration stays until someone removes that id
 * again (harmless meanwhile: the core never sends to a node that is not a member).
 */

/** Raft node ids travel as u32 in every transport message; 0 means "no node". */
const controllerIdMax = 0xffff_ffff;

export function checkRegisterController(state: MetadataState, command: RegisterController): Rejection | undefined {
  return (
    checkControllerId(command.controllerId) ??
    checkText(command.raftHost, "raftHost") ??
    checkPort(command.raftPort, "raftPort") ??
    checkText(command.apiHost, "apiHost") ??
    checkPort(command.apiPort, "apiPort") ??
    checkRoomForController(state, command.controllerId)
  );
}

/** Registers the controller, or replaces the addresses it was registered with. */
export function applyRegisterController(state: MetadataState, command: RegisterController, at: RecordPosition): Applied {
  const { controllerId, raftHost, raftPort, apiHost, apiPort } = command;
  const controller: ControllerRegistration = { controllerId, raftHost, raftPort, apiHost, apiPort };
  state.controllers.set(controllerId, controller);
  return { ok: true, records: [metadataRecord("RegisterControllerRecord", controller, at)], value: { kind: "controller", controller } };
}

export function checkUnregisterController(state: MetadataState, command: UnregisterController): Rejection | undefined {
  const { controllerId } = command;
  return (
    checkControllerId(controllerId) ??
    (state.controllers.has(controllerId) ? undefined : reject("UNKNOWN_CONTROLLER", `Cannot unregister controller ${controllerId} as it is not registered`, "controllerId"))
  );
}

/** Forgets the controller's addresses; the answer carries the registration that was dropped. */
export function applyUnregisterController(state: MetadataState, command: UnregisterController, at: RecordPosition): Applied {
  const { controllerId } = command;
  const controller = state.controllers.get(controllerId);
  assert(controller !== undefined, `controller ${controllerId} must be registered once validated`);
  state.controllers.delete(controllerId);
  return { ok: true, records: [metadataRecord("UnregisterControllerRecord", { controllerId }, at)], value: { kind: "controller", controller } };
}

function checkControllerId(value: number): Rejection | undefined {
  if (Number.isSafeInteger(value) && value >= 1 && value <= controllerIdMax) return undefined;
  return reject("INVALID_COMMAND", `Cannot accept controllerId as it is not an integer in [1, ${controllerIdMax}]: current value is ${value}`, "controllerId");
}

function checkRoomForController(state: MetadataState, controllerId: number): Rejection | undefined {
  const countMax = limits.metadata.controllersCountMax;
  if (state.controllers.has(controllerId) || state.controllers.size < countMax) return undefined;
  return reject("LIMIT_EXCEEDED", `Cannot register controller ${controllerId} as the registry holds the most controllers allowed: current value is ${state.controllers.size}`, "controllerId");
}
