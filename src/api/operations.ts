import type { ClientSession, MetadataCommand } from "../metadata/commands.js";
import type { MetadataChanges } from "../metadata/history.js";
import type { MetadataStateMachine } from "../metadata/metadataStateMachine.js";
import { placeReplicas } from "../metadata/placement.js";
import type { Broker, BrokerStatus } from "../metadata/records.js";
import { parseBrokerStatus } from "../metadata/records.js";
import type { MetadataValue, Rejection } from "../metadata/results.js";
import { reject } from "../metadata/results.js";
import type { OffsetOrTime } from "../metadata/time.js";
import { parseOffsetOrTime } from "../metadata/time.js";
import type { Snapshot } from "../raft/types.js";
import type { HeartbeatAnswer, HeartbeatRequest, ReadConsistency, Written } from "../controller/metadataService.js";
import { MetadataError } from "../controller/metadataService.js";
import { ApiError } from "./errors.js";
import type {
  BrokerMetadataAnswerJson,
  ChangeBrokerRequest,
  ChangePartitionRequest,
  Changes,
  CreatePartitionRequest,
  CreateTopicRequest,
  Image,
  LogAnswerJson,
  MetadataRecordJson,
  RegisterBrokerRequest,
  RegisterProducerRequest,
  SnapshotInfo,
  TopicPartition,
} from "./schemas.js";

/** What the operations need from the controller's metadata service (a `MetadataService`). */
export interface MetadataApi {
  readonly stateMachine: MetadataStateMachine;
  write(build: (state: MetadataStateMachine, nowMs: number) => MetadataCommand | Rejection, clientSession?: ClientSession): Promise<Written>;
  readPoint(consistency?: ReadConsistency): Promise<number>;
  heartbeat(request: HeartbeatRequest): Promise<HeartbeatAnswer>;
  changes(since: OffsetOrTime, view: "broker" | "client"): MetadataChanges;
  newId(): string;
  takeSnapshot(): Promise<Snapshot>;
  latestSnapshot(): Snapshot;
}

/** Replicas per partition when a request gives none: three where there are three live brokers. */
const replicationFactorDefault = 3;
/** Records of one page of the log when the request does not say. */
const logLimitDefault = 100;

/**
 * The canonical operations of SPEC §4, independent of routes: the `/v1` routes and every compatibility
 * profile call these, so there is one implementation of each. Inputs are already validated against the
 * schemas; what the schemas cannot check (an unknown id, a stale epoch) throws a coded error.
 */
export function metadataOperations(api: MetadataApi) {
  const read = async (consistency: ReadConsistency | undefined): Promise<MetadataStateMachine> => {
    await api.readPoint(consistency);
    return api.stateMachine;
  };

  return {
    async registerBroker(request: RegisterBrokerRequest, session?: ClientSession) {
      const internalUUID = api.newId();
      const written = await api.write(
        () => ({
          type: "RegisterBroker",
          brokerId: request.brokerId,
          brokerHost: request.brokerHost,
          brokerPort: request.brokerPort,
          securityProtocol: request.securityProtocol ?? "PLAINTEXT",
          ...(request.rackId === undefined ? {} : { rackId: request.rackId }),
          internalUUID,
        }),
        session,
      );
      return { broker: brokerOf(written.value), ...writeFields(written) };
    },

    async listBrokers(status: string | undefined, consistency?: ReadConsistency) {
      const statuses = status === undefined ? undefined : parseStatuses(status);
      const state = await read(consistency);
      return { brokers: state.brokers(statuses === undefined ? {} : { statuses }) };
    },

    async getBroker(brokerId: number, consistency?: ReadConsistency) {
      const broker = (await read(consistency)).broker(brokerId);
      if (broker === undefined) throw new MetadataError(reject("UNKNOWN_BROKER", `Cannot find broker ${brokerId} as it is not registered`, "brokerId"));
      return { broker };
    },

    async changeBroker(brokerId: number, request: ChangeBrokerRequest, session?: ClientSession) {
      const written = await api.write(() => ({ type: "ChangeBrokerRegistration", brokerId, ...definedFields(request) }), session);
      return { broker: brokerOf(written.value), ...writeFields(written) };
    },

    async unregisterBroker(brokerId: number, session?: ClientSession) {
      const written = await api.write(() => ({ type: "UnregisterBroker", brokerId }), session);
      return { broker: brokerOf(written.value), ...writeFields(written) };
    },

    async createTopic(request: CreateTopicRequest, session?: ClientSession) {
      const topicUUID = api.newId();
      const written = await api.write((state) => {
        const partitionsCount = request.partitions ?? 0;
        if (partitionsCount === 0) return { type: "CreateTopic", name: request.name, topicUUID, partitions: [] };
        const placed = place(state, partitionsCount, request.replicationFactor, hashOf(topicUUID));
        if ("ok" in placed) return placed;
        return { type: "CreateTopic", name: request.name, topicUUID, partitions: placed };
      }, session);
      return { topic: topicOf(written.value), ...writeFields(written) };
    },

    async listTopics(consistency?: ReadConsistency) {
      return { topics: (await read(consistency)).topics() };
    },

    async getTopic(name: string, consistency?: ReadConsistency) {
      const topic = (await read(consistency)).topic(name);
      if (topic === undefined) throw unknownTopic(name);
      return { topic };
    },

    async deleteTopic(name: string, session?: ClientSession) {
      const written = await api.write(() => ({ type: "DeleteTopic", name }), session);
      return { topic: topicOf(written.value), ...writeFields(written) };
    },

    async listPartitions(topicName: string | undefined, consistency?: ReadConsistency) {
      const state = await read(consistency);
      if (topicName !== undefined && state.topic(topicName) === undefined) throw unknownTopic(topicName);
      return { partitions: state.partitions(topicName).map(({ topicName, partition }): TopicPartition => ({ topicName, ...partition, replicas: [...partition.replicas], ISR: [...partition.ISR], removingReplicas: [...partition.removingReplicas], addingReplicas: [...partition.addingReplicas] })) };
    },

    async createPartition(request: CreatePartitionRequest, session?: ClientSession) {
      const written = await api.write((state) => {
        const topic = state.topic(request.topicName);
        if (topic === undefined) return reject("UNKNOWN_TOPIC", `Cannot create a partition of topic ${request.topicName} as it does not exist`, "topicName");
        const base = { type: "CreatePartition" as const, topicName: request.topicName, ...(request.partitionId === undefined ? {} : { partitionId: request.partitionId }), ...(request.leader === undefined ? {} : { leader: request.leader }) };
        if (request.replicas !== undefined) return { ...base, replicas: request.replicas };
        const nextId = request.partitionId ?? topic.partitions.reduce((max, p) => Math.max(max, p.partitionId + 1), 0);
        const placed = place(state, 1, request.replicationFactor, hashOf(topic.topicUUID) + nextId);
        if ("ok" in placed) return placed;
        return { ...base, replicas: placed[0]?.replicas ?? [] };
      }, session);
      return { partition: partitionOf(written.value), ...writeFields(written) };
    },

    async changePartition(topicName: string, partitionId: number, request: ChangePartitionRequest, session?: ClientSession) {
      const written = await api.write((state) => {
        const topic = state.topic(topicName);
        if (topic === undefined) return reject("UNKNOWN_TOPIC", `Cannot change a partition of topic ${topicName} as it does not exist`, "name");
        const { isr, ...rest } = definedFields(request);
        return { type: "ChangePartition", topicUUID: topic.topicUUID, partitionId, ...rest, ...(isr === undefined ? {} : { isr }) };
      }, session);
      return { partition: partitionOf(written.value), ...writeFields(written) };
    },

    async registerProducer(request: RegisterProducerRequest, session?: ClientSession) {
      const written = await api.write(() => ({ type: "RegisterProducer", ...definedFields(request) }) as MetadataCommand, session);
      if (written.value.kind !== "producer") throw new Error(`RegisterProducer answered a ${written.value.kind}`);
      return { producer: written.value.producer, ...writeFields(written) };
    },

    async listProducers(consistency?: ReadConsistency) {
      return { producers: (await read(consistency)).producers() };
    },

    /** The broker heartbeat: runs on the leader (the route forwards it there). */
    async brokerMetadataFetch(request: { brokerId: number; brokerEpoch: number; offset?: number | string | undefined }): Promise<BrokerMetadataAnswerJson> {
      const since = parseSince(request.offset, "offset");
      const answer = await api.heartbeat({ brokerId: request.brokerId, brokerEpoch: request.brokerEpoch, since });
      return {
        brokerId: answer.broker.brokerId,
        brokerEpoch: answer.broker.epoch,
        brokerStatus: answer.broker.brokerStatus,
        heartbeatIntervalMs: answer.heartbeatIntervalMs,
        sessionTimeoutMs: answer.sessionTimeoutMs,
        ...changesJson(answer.changes),
      };
    },

    async clientMetadata(offset: number | string | undefined, consistency?: ReadConsistency): Promise<Changes> {
      const since = parseSince(offset, "offset");
      await read(consistency);
      return changesJson(api.changes(since, "client"));
    },

    async log(fromOffset: number | undefined, limit: number | undefined, consistency?: ReadConsistency): Promise<LogAnswerJson> {
      const state = await read(consistency);
      const from = fromOffset ?? state.historyStartOffset + 1;
      const startOffset = state.historyStartOffset;
      if (from <= startOffset) {
        throw new ApiError("OFFSET_COMPACTED", `Cannot read the log from offset ${from} as records up to ${startOffset} are no longer kept: take GET /v1/client-mgmt/metadata for the full image`, { startOffset, field: "fromOffset" });
      }
      const changes = state.changesSince(from - 1, 0, { view: "broker", deltaAgeMs: Number.MAX_SAFE_INTEGER });
      const all = changes.kind === "delta" ? changes.records : [];
      const page = wholeOffsets(all, limit ?? logLimitDefault);
      const last = page[page.length - 1];
      return { records: page as unknown as MetadataRecordJson[], startOffset, nextOffset: last === undefined ? Math.max(from, state.appliedIndex + 1) : last.offset + 1, currentOffset: state.appliedIndex };
    },

    listSnapshots() {
      const snapshot = api.latestSnapshot();
      return { snapshots: snapshot.meta.index === 0 ? [] : [snapshotInfo(snapshot)] };
    },

    async takeSnapshot() {
      return { snapshot: snapshotInfo(await api.takeSnapshot()) };
    },

    /** The content of a snapshot this node holds, decoded into the metadata image it captured. */
    async getSnapshot(id: string, restore: (data: Uint8Array, index: number) => Image) {
      const snapshot = api.latestSnapshot();
      if (snapshot.meta.index === 0 || snapshotId(snapshot) !== id) {
        throw new ApiError("UNKNOWN_SNAPSHOT", `Cannot find snapshot ${id} on this node: the latest is ${snapshot.meta.index === 0 ? "none" : snapshotId(snapshot)}`, { field: "id" });
      }
      return { snapshot: snapshotInfo(snapshot), metadata: restore(snapshot.data, snapshot.meta.index) };
    },
  };
}

export type MetadataOperations = ReturnType<typeof metadataOperations>;

/**
 * Integers from here on are epoch seconds, not offsets: 10⁹ s is September 2001, and a metadata log a
 * billion commands long is beyond any cluster this serves. Clients of the earlier flavours send whole
 * epoch seconds where others send offsets, through the same field.
 */
export const epochSecondsIntegerMin = 1_000_000_000;

/** Reads an offset or a time as SPEC §4.1 lists them; absent means "from the beginning". */
export function parseSince(input: number | string | undefined, field: string): OffsetOrTime {
  if (input === undefined) return { kind: "offset", offset: 0 };
  const parsed = parseOffsetOrTime(input);
  if (!parsed.ok) throw new ApiError("BAD_REQUEST", parsed.error, { field });
  const since = parsed.value;
  if (since.kind === "offset" && since.offset >= epochSecondsIntegerMin) return { kind: "time", epochMs: since.offset * 1000 };
  return since;
}

export function changesJson(changes: MetadataChanges): Changes {
  return changes.kind === "delta"
    ? { kind: "delta", currentOffset: changes.currentOffset, records: changes.records as unknown as MetadataRecordJson[] }
    : { kind: "snapshot", currentOffset: changes.currentOffset, snapshot: changes.snapshot as unknown as Image };
}

export function snapshotId(snapshot: Snapshot): string {
  return `${snapshot.meta.index}-${snapshot.meta.term}`;
}

function snapshotInfo(snapshot: Snapshot): SnapshotInfo {
  return { id: snapshotId(snapshot), index: snapshot.meta.index, term: snapshot.meta.term, bytes: snapshot.data.length };
}

/** Statuses as clients write them, comma-separated; "active" and "alive" mean UNFENCED. */
function parseStatuses(text: string): BrokerStatus[] {
  return text.split(",").map((part) => {
    const status = parseBrokerStatus(part.trim());
    if (status === undefined) throw new ApiError("BAD_REQUEST", `Cannot filter brokers by status ${JSON.stringify(part)}: expected active, INIT, UNFENCED, FENCED or CLOSED`, { field: "querystring.status" });
    return status;
  });
}

/** Places partitions on the UNFENCED brokers (SPEC §4: "live brokers"), Kafka-style. */
function place(state: MetadataStateMachine, partitionsCount: number, replicationFactor: number | undefined, startOffset: number) {
  const live = state.brokers({ statuses: ["UNFENCED"] });
  const factor = replicationFactor ?? Math.max(1, Math.min(replicationFactorDefault, live.length));
  const placed = placeReplicas(live.map((b) => ({ brokerId: b.brokerId, rackId: b.rackId ?? undefined })), partitionsCount, factor, startOffset);
  if (!placed.ok) return reject("INVALID_REPLICAS", placed.error.message, "replicationFactor");
  // No leader named: apply takes the first in-sync replica, which is replicas[0] unless a fence got there
  // first — naming it would turn that race into a refusal of a valid request.
  return placed.value.map(({ partitionId, replicas }) => ({ partitionId, replicas }));
}

/** A small number from a UUID, so that different topics start their leaders at different brokers. */
function hashOf(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (hash * 31 + text.charCodeAt(i)) % 1_000_003;
  return hash;
}

/** The first records up to `limit`, extended to the end of the last offset so a page never splits a command. */
function wholeOffsets<T extends { readonly offset: number }>(records: readonly T[], limit: number): T[] {
  if (records.length <= limit) return [...records];
  let end = limit;
  const lastOffset = records[limit - 1]?.offset;
  while (end < records.length && records[end]?.offset === lastOffset) end++;
  return records.slice(0, end);
}

function definedFields<T extends object>(request: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(request).filter(([, value]) => value !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

function writeFields(written: Written): { offset: number; replayed: boolean } {
  return { offset: written.offset, replayed: written.replayed };
}

function unknownTopic(name: string): MetadataError {
  return new MetadataError(reject("UNKNOWN_TOPIC", `Cannot find topic ${name} as it does not exist`, "name"));
}

function brokerOf(value: MetadataValue): Broker {
  if (value.kind !== "broker") throw new Error(`expected a broker answer, got ${value.kind}`);
  return value.broker;
}

function topicOf(value: MetadataValue) {
  if (value.kind !== "topic") throw new Error(`expected a topic answer, got ${value.kind}`);
  return value.topic;
}

function partitionOf(value: MetadataValue): TopicPartition {
  if (value.kind !== "partition") throw new Error(`expected a partition answer, got ${value.kind}`);
  const { topicName, partition } = value;
  return { topicName, ...partition, replicas: [...partition.replicas], ISR: [...partition.ISR], removingReplicas: [...partition.removingReplicas], addingReplicas: [...partition.addingReplicas] };
}
