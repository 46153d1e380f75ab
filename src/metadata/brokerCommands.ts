import { assert } from "../shared/assert.js";
import { limits } from "../shared/limits.js";
import { checkCount, checkId, checkPort, checkText } from "./checks.js";
import type { ChangeBrokerRegistration, FenceBroker, RegisterBroker, UnfenceBroker, UnregisterBroker } from "./commands.js";
import { removeBrokerFromPartitions, restoreLeadership } from "./leadership.js";
import type { Broker, BrokerStatus, MetadataRecord, RecordPosition } from "./records.js";
import { metadataRecord } from "./records.js";
import type { Applied, Rejection } from "./results.js";
import { reject } from "./results.js";
import type { MetadataState } from "./state.js";

/**
 * Broker registration (KIP-631/KIP-746 records, SPEC §4 semantics).
 *
 * Broker epoch: SPEC §3 says the epoch is "incremented on every change", so it is a per-broker counter
 * that grows by one with every registration record of that broker id — registration, re-registration,
 * ChangeBrokerRegistration, fence, unfence, unregister — and is never reset, not even after CLOSED.
 * (KIP-746 only assigns a new epoch at registration; here every change does, so any broker-side request
 * stamped with an epoch from before a change is refused as stale and the broker learns the new epoch
 * from the change record.) The first registration gets epoch 1.
 *
 * Re-registration: a restarted broker registers again under its id. If the id is not CLOSED this is the
 * same broker coming back: it keeps its internalUUID, takes the new endpoint, gets epoch + 1 and status
 * INIT, and — not being caught up — leaves every ISR (as a fence would). If the id is CLOSED it is a new
 * registration of that id with the leader's new internalUUID, still at epoch + 1. Registering never fails
 * because the id is taken.
 */

const liveStatuses: readonly BrokerStatus[] = ["INIT", "UNFENCED", "FENCED"];

export function checkRegisterBroker(state: MetadataState, command: RegisterBroker): Rejection | undefined {
  return (
    checkId(command.brokerId, "brokerId") ??
    checkText(command.brokerHost, "brokerHost") ??
    checkPort(command.brokerPort, "brokerPort") ??
    checkText(command.securityProtocol, "securityProtocol", { allowEmpty: true }) ??
    (command.rackId === undefined ? undefined : checkText(command.rackId, "rackId", { allowEmpty: true })) ??
    checkText(command.internalUUID, "internalUUID") ??
    checkRoomForBroker(state, command.brokerId)
  );
}

export function applyRegisterBroker(state: MetadataState, command: RegisterBroker, at: RecordPosition): Applied {
  const current = state.brokers.get(command.brokerId);
  const returning = current !== undefined && current.brokerStatus !== "CLOSED";
  const broker: Broker = {
    internalUUID: returning ? current.internalUUID : command.internalUUID,
    brokerId: command.brokerId,
    brokerHost: command.brokerHost,
    brokerPort: command.brokerPort,
    securityProtocol: command.securityProtocol,
    rackId: rackOf(command.rackId),
    brokerStatus: "INIT",
    epoch: (current?.epoch ?? 0) + 1,
  };
  state.brokers.set(broker.brokerId, broker);
  const records = [metadataRecord("RegisterBrokerRecord", broker, at), ...removeBrokerFromPartitions(state, broker.brokerId, at)];
  return { ok: true, records, value: { kind: "broker", broker } };
}

export function checkChangeBrokerRegistration(state: MetadataState, command: ChangeBrokerRegistration): Rejection | undefined {
  const { brokerHost, brokerPort, securityProtocol, rackId } = command;
  const nothingToChange = brokerHost === undefined && brokerPort === undefined && securityProtocol === undefined && rackId === undefined;
  return (
    checkId(command.brokerId, "brokerId") ??
    (nothingToChange
      ? reject("INVALID_COMMAND", "Cannot change broker registration as no field to change is given: expected brokerHost, brokerPort, securityProtocol or rackId")
      : undefined) ??
    (brokerHost === undefined ? undefined : checkText(brokerHost, "brokerHost")) ??
    (brokerPort === undefined ? undefined : checkPort(brokerPort, "brokerPort")) ??
    (securityProtocol === undefined ? undefined : checkText(securityProtocol, "securityProtocol", { allowEmpty: true })) ??
    (rackId === undefined ? undefined : checkText(rackId, "rackId", { allowEmpty: true })) ??
    checkBrokerStatus(state, command.brokerId, liveStatuses, "change")
  );
}

export function applyChangeBrokerRegistration(state: MetadataState, command: ChangeBrokerRegistration, at: RecordPosition): Applied {
  const current = liveBroker(state, command.brokerId);
  return changeRegistration(state, {
    ...current,
    brokerHost: command.brokerHost ?? current.brokerHost,
    brokerPort: command.brokerPort ?? current.brokerPort,
    securityProtocol: command.securityProtocol ?? current.securityProtocol,
    rackId: command.rackId === undefined ? current.rackId : rackOf(command.rackId),
  }, at);
}

export function checkUnregisterBroker(state: MetadataState, command: UnregisterBroker): Rejection | undefined {
  return checkId(command.brokerId, "brokerId") ?? checkBrokerStatus(state, command.brokerId, liveStatuses, "unregister");
}

/** CLOSED, out of every ISR; the registration stays visible, and the answer carries its internalUUID. */
export function applyUnregisterBroker(state: MetadataState, command: UnregisterBroker, at: RecordPosition): Applied {
  const current = liveBroker(state, command.brokerId);
  return changeRegistration(state, { ...current, brokerStatus: "CLOSED" }, at);
}

export function checkFenceBroker(state: MetadataState, command: FenceBroker): Rejection | undefined {
  return checkEpochCommand(state, command, ["INIT", "UNFENCED"], "fence");
}

/** FENCED leads nothing and is in no ISR (SPEC §3); its partitions move to other in-sync replicas. */
export function applyFenceBroker(state: MetadataState, command: FenceBroker, at: RecordPosition): Applied {
  const current = liveBroker(state, command.brokerId);
  return changeRegistration(state, { ...current, brokerStatus: "FENCED" }, at);
}

export function checkUnfenceBroker(state: MetadataState, command: UnfenceBroker): Rejection | undefined {
  return checkEpochCommand(state, command, ["INIT", "FENCED"], "unfence");
}

/**
 * The broker leads again the leaderless partitions it was the last in-sync replica of; elsewhere it
 * rejoins ISRs through ChangePartition once its partition leaders see it caught up.
 */
export function applyUnfenceBroker(state: MetadataState, command: UnfenceBroker, at: RecordPosition): Applied {
  const current = liveBroker(state, command.brokerId);
  const applied = changeRegistration(state, { ...current, brokerStatus: "UNFENCED" }, at);
  return { ...applied, records: [...applied.records, ...restoreLeadership(state, command.brokerId, at)] };
}

/** Refuses unless the broker exists with one of `allowed` statuses. */
export function checkBrokerStatus(state: MetadataState, brokerId: number, allowed: readonly BrokerStatus[], action: string): Rejection | undefined {
  const broker = state.brokers.get(brokerId);
  if (broker === undefined) return reject("UNKNOWN_BROKER", `Cannot ${action} broker ${brokerId} as it is not registered`, "brokerId");
  if (allowed.includes(broker.brokerStatus)) return undefined;
  return reject("INVALID_BROKER_STATUS", `Cannot ${action} broker ${brokerId} as its status is ${broker.brokerStatus}: expected one of ${allowed.join(", ")}`, "brokerId");
}

/** The epoch a broker-side request carries must be the broker's current one (SPEC §3, ProducerIdsRecord). */
export function checkBrokerEpoch(state: MetadataState, brokerId: number, brokerEpoch: number, action: string): Rejection | undefined {
  const epoch = state.brokers.get(brokerId)?.epoch;
  if (epoch === brokerEpoch) return undefined;
  return reject("STALE_BROKER_EPOCH", `Cannot ${action} as brokerEpoch ${brokerEpoch} is not broker ${brokerId}'s: current value is ${epoch}`, "brokerEpoch");
}

function checkEpochCommand(state: MetadataState, command: FenceBroker | UnfenceBroker, allowed: readonly BrokerStatus[], action: string): Rejection | undefined {
  return (
    checkId(command.brokerId, "brokerId") ??
    checkCount(command.brokerEpoch, "brokerEpoch") ??
    checkBrokerStatus(state, command.brokerId, allowed, action) ??
    checkBrokerEpoch(state, command.brokerId, command.brokerEpoch, `${action} broker ${command.brokerId}`)
  );
}

function checkRoomForBroker(state: MetadataState, brokerId: number): Rejection | undefined {
  if (state.brokers.has(brokerId) || state.brokers.size < limits.metadata.brokersCountMax) return undefined;
  return reject("LIMIT_EXCEEDED", `Cannot register broker ${brokerId} as the cluster holds the most brokers allowed: current value is ${state.brokers.size}`, "brokerId");
}

/** Writes a changed registration with epoch + 1; a broker that stops serving also leaves every ISR. */
function changeRegistration(state: MetadataState, next: Broker, at: RecordPosition): Applied {
  const broker: Broker = { ...next, epoch: next.epoch + 1 };
  state.brokers.set(broker.brokerId, broker);
  const { brokerId, brokerHost, brokerPort, securityProtocol, rackId, brokerStatus, epoch } = broker;
  const registration = metadataRecord("BrokerRegistrationChangeRecord", { brokerId, brokerHost, brokerPort, securityProtocol, rackId, brokerStatus, epoch }, at);
  // An array literal, not push(...): a broker may be in the ISR of a million partitions, far more
  // arguments than one call may take.
  const leaves = brokerStatus === "FENCED" || brokerStatus === "CLOSED";
  const records: MetadataRecord[] = leaves ? [registration, ...removeBrokerFromPartitions(state, brokerId, at)] : [registration];
  return { ok: true, records, value: { kind: "broker", broker } };
}

function liveBroker(state: MetadataState, brokerId: number): Broker {
  const broker = state.brokers.get(brokerId);
  assert(broker !== undefined && broker.brokerStatus !== "CLOSED", `broker ${brokerId} must be registered and not CLOSED once validated`);
  return broker;
}

function rackOf(rackId: string | undefined): string | null {
  return rackId === undefined || rackId === "" ? null : rackId;
}
