import { assert } from "../shared/assert.js";
import type { ApplyOptions } from "./apply.js";
import { advanceOffset, applyCommand, validate } from "./apply.js";
import type { SessionCheck } from "./clientSessions.js";
import { checkClientSession } from "./clientSessions.js";
import type { ClientSession, MetadataCommand } from "./commands.js";
import { decodeEnvelope } from "./commands.js";
import type { ChangesOptions, MetadataChanges, MetadataImage, MetadataView } from "./history.js";
import { changesSince, changesSinceTime, metadataImage, trimHistory } from "./history.js";
import type { BrokerFilter, TopicPartition } from "./queries.js";
import { getBroker, getTopic, getTopicByUUID, listBrokers, listControllers, listPartitions, listProducers, listTopics } from "./queries.js";
import type { Broker, ControllerRegistration, ProducerIds } from "./records.js";
import { isControllerRecord } from "./records.js";
import type { ApplyResult, Rejection, TopicView } from "./results.js";
import type { SnapshotEncoder } from "./snapshot.js";
import { decodeSnapshot, encodeSnapshot, snapshotEncoder } from "./snapshot.js";
import type { MetadataState } from "./state.js";
import { createMetadataState } from "./state.js";

/** One committed log entry, as the Raft core hands it out (structurally the core's `Entry`). */
export interface LogEntry {
  readonly index: number;
  readonly term: number;
  readonly type: "normal" | "noop" | "membership";
  readonly data: Uint8Array;
}

/**
 * The shape a controller drives (structurally the controller's `StateMachine`): `apply` once per committed
 * entry in log order, `restore` when a snapshot replaces the state; `restore(snapshot())` on another node
 * yields the same state.
 */
export interface ReplicatedStateMachine<Result> {
  readonly appliedIndex: number;
  apply(entry: LogEntry): Result;
  snapshot(): Uint8Array;
  restore(data: Uint8Array, index: number): void;
}

export interface MetadataStateMachineOptions extends ApplyOptions {
  /**
   * Called, with every registered controller in id order, after an applied entry changed the registry
   * and after every restore (a snapshot may change it). The controller process keeps its transport's
   * peers and its API's member list from it; the call must not throw and must not apply anything.
   */
  readonly onControllersChanged?: (controllers: readonly ControllerRegistration[]) => void;
}

/**
 * The metadata state machine of a controller: the committed log applied to a `MetadataState`, with the
 * reads the API serves. Noop and membership entries only advance `appliedIndex`; a normal entry holds an
 * encoded `CommandEnvelope` and is applied at offset = its log index. Bytes that are not an envelope are a
 * rejection (INVALID_COMMAND), the same on every replica — never a throw.
 */
export class MetadataStateMachine implements ReplicatedStateMachine<ApplyResult | undefined> {
  private state: MetadataState = createMetadataState();

  constructor(private readonly options: MetadataStateMachineOptions = {}) {}

  get appliedIndex(): number {
    return this.state.offset;
  }

  /** The first offset a delta can be served from; older offsets get the full image. */
  get historyStartOffset(): number {
    return this.state.history.startOffset;
  }

  get nextProducerId(): number {
    return this.state.nextProducerId;
  }

  apply(entry: LogEntry): ApplyResult | undefined {
    assert(entry.index === this.appliedIndex + 1, `entry ${entry.index} applied after ${this.appliedIndex}`);
    if (entry.type !== "normal") {
      advanceOffset(this.state, entry.index);
      return undefined;
    }
    const decoded = decodeEnvelope(entry.data);
    if (!decoded.ok) {
      advanceOffset(this.state, entry.index);
      return decoded;
    }
    const result = applyCommand(this.state, decoded.envelope, entry.index, this.options);
    if (result.ok && result.records.some(isControllerRecord)) this.options.onControllersChanged?.(this.controllers());
    return result;
  }

  snapshot(): Uint8Array {
    return encodeSnapshot(this.state);
  }

  /**
   * The snapshot at `appliedIndex`, to encode a step at a time while entries go on being applied: the
   * encoder holds the state as it is now (snapshot.ts), and its bytes are what `snapshot()` gives now.
   */
  snapshotInSteps(): SnapshotEncoder {
    return snapshotEncoder(this.state);
  }

  restore(data: Uint8Array, index: number): void {
    this.state = decodeSnapshot(data, index);
    this.options.onControllersChanged?.(this.controllers());
  }

  /** The log was compacted up to `index` (after a snapshot there): older offsets get the full image. */
  compacted(index: number): void {
    trimHistory(this.state, index);
  }

  /** The leader's check before proposing: the same checks apply makes, nothing changed. */
  validate(command: MetadataCommand): Rejection | undefined {
    return validate(this.state, command);
  }

  /** Whether a client write would be new, a replay of a stored answer, or refused as stale. */
  checkClientSession(session: ClientSession): SessionCheck {
    return checkClientSession(this.state, session);
  }

  brokers(filter: BrokerFilter = {}): Broker[] {
    return listBrokers(this.state, filter);
  }

  broker(brokerId: number): Broker | undefined {
    return getBroker(this.state, brokerId);
  }

  topics(): TopicView[] {
    return listTopics(this.state);
  }

  topic(name: string): TopicView | undefined {
    return getTopic(this.state, name);
  }

  topicByUUID(topicUUID: string): TopicView | undefined {
    return getTopicByUUID(this.state, topicUUID);
  }

  partitions(topicName?: string): TopicPartition[] {
    return listPartitions(this.state, topicName);
  }

  producers(): ProducerIds[] {
    return listProducers(this.state);
  }

  /** Registered controllers in id order. */
  controllers(): ControllerRegistration[] {
    return listControllers(this.state);
  }

  controller(controllerId: number): ControllerRegistration | undefined {
    return this.state.controllers.get(controllerId);
  }

  image(view: MetadataView): MetadataImage {
    return metadataImage(this.state, view);
  }

  changesSince(offset: number, nowMs: number, options: ChangesOptions = {}): MetadataChanges {
    return changesSince(this.state, offset, nowMs, options);
  }

  changesSinceTime(timeMs: number, nowMs: number, options: ChangesOptions = {}): MetadataChanges {
    return changesSinceTime(this.state, timeMs, nowMs, options);
  }
}

/**
 * The controller registrations that `entries` propose, whether or not they are committed yet: the last
 * one per controller id, in id order. A controller restarted with a commit index behind its log reads
 * these to know where a controller added at runtime listens before it can apply the entries — else it
 * could not accept or answer that controller should it be the leader, and would never learn the commit
 * index from it. Only addresses: applying the entries later decides what the registry holds.
 */
export function controllerRegistrationsIn(entries: readonly LogEntry[]): ControllerRegistration[] {
  const byId = new Map<number, ControllerRegistration>();
  for (const entry of entries) {
    if (entry.type !== "normal") continue;
    const decoded = decodeEnvelope(entry.data);
    if (!decoded.ok || decoded.envelope.command.type !== "RegisterController") continue;
    const { controllerId, raftHost, raftPort, apiHost, apiPort } = decoded.envelope.command;
    byId.set(controllerId, { controllerId, raftHost, raftPort, apiHost, apiPort });
  }
  return [...byId.keys()].sort((a, b) => a - b).flatMap((id) => {
    const registration = byId.get(id);
    return registration === undefined ? [] : [registration];
  });
}
