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
import { getBroker, getTopic, getTopicByUUID, listBrokers, listPartitions, listProducers, listTopics } from "./queries.js";
import type { Broker, ProducerIds } from "./records.js";
import type { ApplyResult, Rejection, TopicView } from "./results.js";
import { decodeSnapshot, encodeSnapshot } from "./snapshot.js";
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

/**
 * The metadata state machine of a controller: the committed log applied to a `MetadataState`, with the
 * reads the API serves. Noop and membership entries only advance `appliedIndex`; a normal entry holds an
 * encoded `CommandEnvelope` and is applied at offset = its log index. Bytes that are not an envelope are a
 * rejection (INVALID_COMMAND), the same on every replica — never a throw.
 */
export class MetadataStateMachine implements ReplicatedStateMachine<ApplyResult | undefined> {
  private state: MetadataState = createMetadataState();

  constructor(private readonly options: ApplyOptions = {}) {}

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
    return applyCommand(this.state, decoded.envelope, entry.index, this.options);
  }

  snapshot(): Uint8Array {
    return encodeSnapshot(this.state);
  }

  restore(data: Uint8Array, index: number): void {
    this.state = decodeSnapshot(data, index);
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
