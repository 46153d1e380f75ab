import { AssertionError } from "../shared/assert.js";
import type { ApplyOptions } from "./apply.js";
import { applyCommand } from "./apply.js";
import type { ClientSession, CommandEnvelope, MetadataCommand, RegisterBroker, RegisterController } from "./commands.js";
import type { Broker, ControllerRegistration, Partition, ProducerIds } from "./records.js";
import type { Applied, ApplyResult, MetadataErrorCode, Rejection, TopicView } from "./results.js";
import type { MetadataState } from "./state.js";
import { createMetadataState } from "./state.js";

/** Fixtures for the metadata tests: a state driven at increasing offsets by a fake leader clock. */

/** 2023-11-14T22:13:20Z: any fixed instant works, tests never read the real clock. */
export const startMs = 1_700_000_000_000;

export interface Driver {
  state: MetadataState;
  /** The next log index to apply at. */
  nextOffset: number;
  /** The leader's clock: each command is stamped with it, then it moves on by `stepMs`. */
  nowMs: number;
  readonly stepMs: number;
  readonly options: ApplyOptions;
}

export function createDriver(options: { readonly stepMs?: number; readonly apply?: ApplyOptions } = {}): Driver {
  return { state: createMetadataState(), nextOffset: 1, nowMs: startMs, stepMs: options.stepMs ?? 1000, options: options.apply ?? {} };
}

export interface RunOptions {
  readonly clientSession?: ClientSession;
  readonly timestamp?: number;
}

/** Applies one command at the next offset, stamped with the driver's clock. */
export function run(driver: Driver, command: MetadataCommand, options: RunOptions = {}): ApplyResult {
  const envelope: CommandEnvelope = {
    command,
    timestamp: options.timestamp ?? driver.nowMs,
    ...(options.clientSession === undefined ? {} : { clientSession: options.clientSession }),
  };
  const result = applyCommand(driver.state, envelope, driver.nextOffset, driver.options);
  driver.nextOffset++;
  driver.nowMs += driver.stepMs;
  return result;
}

export function mustApply(driver: Driver, command: MetadataCommand, options: RunOptions = {}): Applied {
  const result = run(driver, command, options);
  if (!result.ok) throw new AssertionError(`${command.type} must apply: ${result.code} ${result.message}`);
  return result;
}

export function mustReject(driver: Driver, command: MetadataCommand, code: MetadataErrorCode, options: RunOptions = {}): Rejection {
  const result = run(driver, command, options);
  if (result.ok) throw new AssertionError(`${command.type} must be rejected with ${code}, but applied`);
  if (result.code !== code) throw new AssertionError(`${command.type} must be rejected with ${code}, not ${result.code}: ${result.message}`);
  return result;
}

/** A well-formed UUID that is a function of `n`, as the leader would have generated. */
export function uuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
}

export function registerBroker(brokerId: number, overrides: Partial<Omit<RegisterBroker, "type">> = {}): RegisterBroker {
  return {
    type: "RegisterBroker",
    brokerId,
    brokerHost: `broker-${brokerId}.local`,
    brokerPort: 9092 + brokerId,
    securityProtocol: "PLAINTEXT",
    internalUUID: uuid(1000 + brokerId),
    ...overrides,
  };
}

/** Controller `id` on loopback: Raft at 9100 + id, API at 9000 + id. */
export function registerController(controllerId: number, overrides: Partial<Omit<RegisterController, "type">> = {}): RegisterController {
  return { type: "RegisterController", controllerId, raftHost: "127.0.0.1", raftPort: 9100 + controllerId, apiHost: "127.0.0.1", apiPort: 9000 + controllerId, ...overrides };
}

/** Registers and unfences brokers `ids`; returns their epochs after unfencing. */
export function liveBrokers(driver: Driver, ids: readonly number[]): Map<number, number> {
  const epochs = new Map<number, number>();
  for (const id of ids) {
    const { epoch } = brokerOf(mustApply(driver, registerBroker(id)));
    epochs.set(id, brokerOf(mustApply(driver, { type: "UnfenceBroker", brokerId: id, brokerEpoch: epoch })).epoch);
  }
  return epochs;
}

export function brokerOf(result: Applied): Broker {
  if (result.value.kind !== "broker") throw new AssertionError(`expected a broker, got a ${result.value.kind}`);
  return result.value.broker;
}

export function topicOf(result: Applied): TopicView {
  if (result.value.kind !== "topic") throw new AssertionError(`expected a topic, got a ${result.value.kind}`);
  return result.value.topic;
}

export function partitionOf(result: Applied): Partition {
  if (result.value.kind !== "partition") throw new AssertionError(`expected a partition, got a ${result.value.kind}`);
  return result.value.partition;
}

export function producerOf(result: Applied): ProducerIds {
  if (result.value.kind !== "producer") throw new AssertionError(`expected a producer, got a ${result.value.kind}`);
  return result.value.producer;
}

export function controllerOf(result: Applied): ControllerRegistration {
  if (result.value.kind !== "controller") throw new AssertionError(`expected a controller, got a ${result.value.kind}`);
  return result.value.controller;
}
