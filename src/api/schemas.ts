import { Type } from "typebox";
import type { Static, TSchema } from "typebox";
import { limits } from "../shared/limits.js";
import { partitionsCountMax } from "../metadata/placement.js";
import type { CompactImage } from "./compactImage.js";

/**
 * The canonical API's contract: one TypeBox schema per request part and response, which Fastify uses to
 * validate requests, to type the handlers, to serialise answers and to write the OpenAPI document.
 * Clients import the `Static` types from here.
 */

const { idMax, stringLengthMax, topicNameLengthMax, replicasCountMax } = limits.metadata;

const Id = (description: string) => Type.Integer({ minimum: 0, maximum: idMax, description });
const Text = (description: string) => Type.String({ maxLength: stringLengthMax, description });
const BrokerIdList = (description: string) => Type.Array(Id("a broker id"), { maxItems: replicasCountMax, description });

export const BrokerStatusSchema = Type.Union([Type.Literal("INIT"), Type.Literal("UNFENCED"), Type.Literal("FENCED"), Type.Literal("CLOSED")]);

export const BrokerSchema = Type.Object({
  internalUUID: Type.String(),
  brokerId: Type.Integer(),
  brokerHost: Type.String(),
  brokerPort: Type.Integer(),
  securityProtocol: Type.String(),
  rackId: Type.Union([Type.String(), Type.Null()]),
  brokerStatus: BrokerStatusSchema,
  epoch: Type.Integer({ description: "The broker epoch: +1 on every registration or change of this broker" }),
});

export const PartitionSchema = Type.Object({
  partitionId: Type.Integer(),
  topicUUID: Type.String(),
  replicas: Type.Array(Type.Integer()),
  ISR: Type.Array(Type.Integer()),
  removingReplicas: Type.Array(Type.Integer()),
  addingReplicas: Type.Array(Type.Integer()),
  leader: Type.Integer({ description: "The leader broker, -1 when the ISR is empty" }),
  partitionEpoch: Type.Integer(),
});

export const TopicPartitionSchema = Type.Object({ topicName: Type.String(), ...PartitionSchema.properties });

export const TopicSchema = Type.Object({ name: Type.String(), topicUUID: Type.String(), partitions: Type.Array(PartitionSchema) });

export const ProducerSchema = Type.Object({ brokerId: Type.Integer(), brokerEpoch: Type.Integer(), producerId: Type.Integer() });

/** A record of the metadata log (SPEC §3): the fields depend on `name`. */
export const RecordSchema = Type.Object({
  type: Type.Literal("metadata"),
  name: Type.String(),
  fields: Type.Object({}, { additionalProperties: true }),
  timestamp: Type.Integer({ description: "Epoch milliseconds chosen by the leader" }),
  offset: Type.Integer({ description: "The log index the record was committed at" }),
});

export const ImageSchema = Type.Object({
  brokers: Type.Array(BrokerSchema),
  topics: Type.Array(TopicSchema),
  producers: Type.Optional(Type.Array(ProducerSchema)),
});

/** Changes since an offset: the records missed, or the whole image when they are not all kept. */
const changesProperties = {
  kind: Type.Union([Type.Literal("delta"), Type.Literal("snapshot")]),
  currentOffset: Type.Integer({ description: "The offset the answer brings the caller to" }),
  records: Type.Optional(Type.Array(RecordSchema)),
  snapshot: Type.Optional(ImageSchema),
};
export const ChangesSchema = Type.Object(changesProperties);

/** `?format=` of the MetadataFetch routes: how a full image is written (compactImage.ts). */
export const MetadataFormatSchema = Type.Union([Type.Literal("spec"), Type.Literal("compact")], {
  description: "spec (the default): partitions as PartitionRecord objects; compact: partitions as tuples under their topic (a full image only; deltas are the same)",
});

/** A partition of the compact form: `[partitionId, leader, partitionEpoch, replicas, ISR]`, plus `removingReplicas, addingReplicas` when either is non-empty. */
const CompactPartitionSchema = Type.Array(Type.Union([Type.Integer(), Type.Array(Type.Integer())]), {
  minItems: 5,
  maxItems: 7,
  description: "[partitionId, leader, partitionEpoch, replicas, ISR] or [partitionId, leader, partitionEpoch, replicas, ISR, removingReplicas, addingReplicas]",
});

export const CompactImageSchema = Type.Object({
  brokers: Type.Array(BrokerSchema),
  topics: Type.Array(Type.Object({ name: Type.String(), topicUUID: Type.String(), partitions: Type.Array(CompactPartitionSchema) })),
  producers: Type.Optional(Type.Array(ProducerSchema)),
});

/** Changes as answered to `?format=compact`: a full image in the compact form, a delta as in the SPEC form. */
const compactChangesProperties = {
  kind: changesProperties.kind,
  currentOffset: changesProperties.currentOffset,
  format: Type.Literal("compact"),
  records: changesProperties.records,
  snapshot: Type.Optional(CompactImageSchema),
};
export const CompactChangesSchema = Type.Object(compactChangesProperties);

/** Every write answers with the log offset it was applied at; `replayed` when it was a retry. */
const writeProperties = {
  offset: Type.Integer({ description: "Log index of the write (0 when replayed)" }),
  replayed: Type.Boolean({ description: "True when this answers a retry of a write already applied" }),
};

// ---------------------------------------------------------------- requests

/** Flags for GET routes: a stale read is served from this node's state without asking the leader. */
export const ConsistencyQuery = Type.Object(
  { consistency: Type.Optional(Type.Union([Type.Literal("linearizable"), Type.Literal("stale")])) },
  { additionalProperties: false },
);

export const RegisterBrokerBody = Type.Object(
  {
    brokerId: Id("The broker's id, chosen by the broker"),
    brokerHost: Text("Host clients reach the broker at"),
    brokerPort: Type.Integer({ minimum: 1, maximum: 65_535 }),
    securityProtocol: Type.Optional(Text("PLAINTEXT unless given")),
    rackId: Type.Optional(Text("Rack for rack-aware placement; empty for none")),
  },
  { additionalProperties: false },
);

export const ChangeBrokerBody = Type.Object(
  {
    brokerHost: Type.Optional(Text("New host")),
    brokerPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_535 })),
    securityProtocol: Type.Optional(Text("New security protocol")),
    rackId: Type.Optional(Text("New rack; empty clears it")),
  },
  { additionalProperties: false },
);

export const BrokerParams = Type.Object({ brokerId: Id("A broker id") });

export const BrokersQuery = Type.Object(
  {
    status: Type.Optional(Type.String({ maxLength: 64, description: "active (= UNFENCED, also ALIVE), INIT, UNFENCED, FENCED or CLOSED; comma-separated for several" })),
    consistency: ConsistencyQuery.properties.consistency,
  },
  { additionalProperties: false },
);

export const CreateTopicBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: topicNameLengthMax }),
    partitions: Type.Optional(Type.Integer({ minimum: 0, maximum: partitionsCountMax, description: "Partitions to create with the topic, placed on live brokers (none when absent)" })),
    replicationFactor: Type.Optional(Type.Integer({ minimum: 1, maximum: replicasCountMax, description: "Replicas per partition: min(3, live brokers) when absent" })),
  },
  { additionalProperties: false },
);

export const TopicParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: topicNameLengthMax }) });

export const CreatePartitionBody = Type.Object(
  {
    topicName: Type.String({ minLength: 1, maxLength: topicNameLengthMax }),
    partitionId: Type.Optional(Id("One above the topic's highest when absent")),
    replicas: Type.Optional(BrokerIdList("Replica broker ids; placed on live brokers when absent")),
    replicationFactor: Type.Optional(Type.Integer({ minimum: 1, maximum: replicasCountMax, description: "Used when replicas is absent" })),
    leader: Type.Optional(Id("The first replica when absent")),
  },
  { additionalProperties: false },
);

export const PartitionsQuery = Type.Object(
  { topic: Type.Optional(Type.String({ minLength: 1, maxLength: topicNameLengthMax })), consistency: ConsistencyQuery.properties.consistency },
  { additionalProperties: false },
);

export const PartitionParams = Type.Object({ name: TopicParams.properties.name, partitionId: Id("A partition id") });

export const ChangePartitionBody = Type.Object(
  {
    leader: Type.Optional(Type.Integer({ minimum: -1, maximum: idMax })),
    isr: Type.Optional(BrokerIdList("The new in-sync replica set")),
    replicas: Type.Optional(BrokerIdList("The new replica set")),
    expectedPartitionEpoch: Type.Optional(Type.Integer({ minimum: 0, description: "Apply only if the partition is still at this epoch" })),
  },
  { additionalProperties: false },
);

export const RegisterProducerBody = Type.Object(
  {
    brokerId: Id("The broker asking"),
    brokerEpoch: Type.Integer({ minimum: 0, description: "Must be the broker's current epoch" }),
    producerId: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: "Allocated when absent" })),
  },
  { additionalProperties: false },
);

const OffsetOrTime = Type.Union([Type.Number(), Type.String({ maxLength: 64 })], {
  description: "A metadata offset, or a time: epoch seconds (a number with a fraction, or any integer from 10^9), YYYY-mm-dd_HH:MM:SS (UTC) or an RFC 1123 date",
});

export const BrokerMetadataFetchBody = Type.Object(
  { brokerId: Id("The broker heartbeating"), brokerEpoch: Type.Integer({ minimum: 0 }), offset: Type.Optional(OffsetOrTime) },
  { additionalProperties: false },
);

export const ClientMetadataQuery = Type.Object(
  {
    offset: Type.Optional(Type.String({ maxLength: 64, description: "A metadata offset, or a time: epoch seconds, YYYY-mm-dd_HH:MM:SS (UTC) or an RFC 1123 date" })),
    consistency: ConsistencyQuery.properties.consistency,
    format: Type.Optional(MetadataFormatSchema),
  },
  { additionalProperties: false },
);

export const BrokerMetadataFetchQuery = Type.Object({ format: Type.Optional(MetadataFormatSchema) }, { additionalProperties: false });

export const LogQuery = Type.Object(
  {
    fromOffset: Type.Optional(Type.Integer({ minimum: 0, description: "First offset to return (inclusive)" })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: "Records per page (whole offsets are never split)" })),
    consistency: ConsistencyQuery.properties.consistency,
  },
  { additionalProperties: false },
);

export const SnapshotParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** Raft node ids travel as u32 in every transport message. */
const ControllerId = Type.Integer({ minimum: 1, maximum: 0xffff_ffff, description: "A controller's id (its Raft node id)" });
/** A host name of at most 253 characters, or an IPv6 address in brackets, and a port. */
const HostPortText = (description: string) => Type.String({ minLength: 1, maxLength: 300, description });

export const MemberRoleSchema = Type.Union([Type.Literal("voter"), Type.Literal("observer")], {
  description: "voter: counts toward every quorum and may lead; observer: a Raft learner that only receives the log",
});

export const AddMemberBody = Type.Object(
  {
    id: ControllerId,
    raftAddress: HostPortText("HOST:PORT (or [IPV6]:PORT) where the controller's Raft transport listens"),
    apiAddress: HostPortText("HOST:PORT (or [IPV6]:PORT) where its HTTP API listens"),
    role: Type.Optional(MemberRoleSchema),
  },
  { additionalProperties: false },
);

export const MemberParams = Type.Object({ id: ControllerId });

// ---------------------------------------------------------------- responses

export const BrokerAnswer = Type.Object({ broker: BrokerSchema });
export const BrokerWriteAnswer = Type.Object({ broker: BrokerSchema, ...writeProperties });
export const BrokersAnswer = Type.Object({ brokers: Type.Array(BrokerSchema) });
export const TopicAnswer = Type.Object({ topic: TopicSchema });
export const TopicWriteAnswer = Type.Object({ topic: TopicSchema, ...writeProperties });
export const TopicsAnswer = Type.Object({ topics: Type.Array(TopicSchema) });
export const PartitionWriteAnswer = Type.Object({ partition: TopicPartitionSchema, ...writeProperties });
export const PartitionsAnswer = Type.Object({ partitions: Type.Array(TopicPartitionSchema) });
export const ProducerWriteAnswer = Type.Object({ producer: ProducerSchema, ...writeProperties });
export const ProducersAnswer = Type.Object({ producers: Type.Array(ProducerSchema) });

const heartbeatProperties = {
  brokerId: Type.Integer(),
  brokerEpoch: Type.Integer({ description: "The broker's current epoch: use it in later requests" }),
  brokerStatus: BrokerStatusSchema,
  heartbeatIntervalMs: Type.Integer(),
  sessionTimeoutMs: Type.Integer(),
};
export const BrokerMetadataAnswer = Type.Object({ ...heartbeatProperties, ...changesProperties });
export const BrokerMetadataCompactAnswer = Type.Object({ ...heartbeatProperties, ...compactChangesProperties });

export const LogAnswer = Type.Object({
  records: Type.Array(RecordSchema),
  startOffset: Type.Integer({ description: "Offsets at or below this are no longer kept" }),
  nextOffset: Type.Integer({ description: "fromOffset for the next page" }),
  currentOffset: Type.Integer(),
});

export const SnapshotInfoSchema = Type.Object({ id: Type.String(), index: Type.Integer(), term: Type.Integer(), bytes: Type.Integer() });
export const SnapshotsAnswer = Type.Object({ snapshots: Type.Array(SnapshotInfoSchema) });
export const SnapshotAnswer = Type.Object({ snapshot: SnapshotInfoSchema });
export const SnapshotContentAnswer = Type.Object({ snapshot: SnapshotInfoSchema, metadata: ImageSchema });

export const ClusterMemberSchema = Type.Object({
  id: Type.Integer(),
  voter: Type.Boolean(),
  role: Type.String({ description: "leader, follower, preCandidate or candidate for a voter; learner for an observer" }),
  raftAddress: Type.Union([Type.String(), Type.Null()], { description: "Null where the answering node does not know the member's addresses" }),
  apiUrl: Type.Union([Type.String(), Type.Null()]),
  matchIndex: Type.Union([Type.Integer(), Type.Null()], { description: "Null where the answering node does not track it (a follower knows only its own)" }),
  lag: Type.Union([Type.Integer(), Type.Null()]),
  lastContactMs: Type.Union([Type.Integer(), Type.Null()]),
});

export const ClusterStatusAnswer = Type.Object({
  nodeId: Type.Integer(),
  pid: Type.Integer(),
  role: Type.Union([Type.Literal("follower"), Type.Literal("preCandidate"), Type.Literal("candidate"), Type.Literal("leader")]),
  term: Type.Integer(),
  leaderId: Type.Integer({ description: "0 when the answering node knows no leader" }),
  leaderUrl: Type.Union([Type.String(), Type.Null()]),
  commitIndex: Type.Integer(),
  appliedIndex: Type.Integer(),
  lastIndex: Type.Integer(),
  snapshotIndex: Type.Integer(),
  election: Type.Object({ tickIntervalMs: Type.Integer(), electionTimeoutMs: Type.Integer(), heartbeatIntervalMs: Type.Integer() }),
  members: Type.Array(ClusterMemberSchema),
});

export const TransferLeadershipAnswer = Type.Object({ transferred: Type.Boolean(), leaderId: Type.Integer() });

/** The Raft membership once a change committed. */
export const MembershipSchema = Type.Object({ voters: Type.Array(Type.Integer()), learners: Type.Array(Type.Integer({ description: "Observers" })) });

export const AddMemberAnswer = Type.Object({
  membership: MembershipSchema,
  member: Type.Object({ id: Type.Integer(), role: MemberRoleSchema, raftAddress: Type.String(), apiAddress: Type.String() }),
});

export const RemoveMemberAnswer = Type.Object({
  membership: MembershipSchema,
  removedId: Type.Integer(),
  unregistered: Type.Boolean({ description: "Whether its registered addresses were dropped too (not when a leader removed itself)" }),
});

export const ErrorAnswer = Type.Object(
  { code: Type.String(), message: Type.String(), field: Type.Optional(Type.String()) },
  { additionalProperties: true, description: "Every error: a stable code, a message, and details such as the field or the leader" },
);

export type Broker = Static<typeof BrokerSchema>;
export type TopicPartition = Static<typeof TopicPartitionSchema>;
export type Topic = Static<typeof TopicSchema>;
export type Producer = Static<typeof ProducerSchema>;
export type MetadataRecordJson = Static<typeof RecordSchema>;
export type Image = Static<typeof ImageSchema>;
export type Changes = Static<typeof ChangesSchema>;
export type MetadataFormat = Static<typeof MetadataFormatSchema>;
/** As `CompactChangesSchema`, with the partitions typed as the tuples they are. */
export type CompactChanges = Omit<Static<typeof CompactChangesSchema>, "snapshot"> & { snapshot?: CompactImage };
export type SnapshotInfo = Static<typeof SnapshotInfoSchema>;
export type RegisterBrokerRequest = Static<typeof RegisterBrokerBody>;
export type ChangeBrokerRequest = Static<typeof ChangeBrokerBody>;
export type CreateTopicRequest = Static<typeof CreateTopicBody>;
export type CreatePartitionRequest = Static<typeof CreatePartitionBody>;
export type ChangePartitionRequest = Static<typeof ChangePartitionBody>;
export type RegisterProducerRequest = Static<typeof RegisterProducerBody>;
export type BrokerMetadataFetchRequest = Static<typeof BrokerMetadataFetchBody>;
export type BrokerWriteAnswerJson = Static<typeof BrokerWriteAnswer>;
export type TopicWriteAnswerJson = Static<typeof TopicWriteAnswer>;
export type PartitionWriteAnswerJson = Static<typeof PartitionWriteAnswer>;
export type ProducerWriteAnswerJson = Static<typeof ProducerWriteAnswer>;
export type BrokerMetadataAnswerJson = Static<typeof BrokerMetadataAnswer>;
export type BrokerMetadataCompactAnswerJson = Omit<Static<typeof BrokerMetadataCompactAnswer>, "snapshot"> & { snapshot?: CompactImage };
export type LogAnswerJson = Static<typeof LogAnswer>;
export type ClusterStatus = Static<typeof ClusterStatusAnswer>;
export type ClusterMember = Static<typeof ClusterMemberSchema>;
export type TransferLeadershipAnswerJson = Static<typeof TransferLeadershipAnswer>;
export type AddMemberRequest = Static<typeof AddMemberBody>;
export type AddMemberAnswerJson = Static<typeof AddMemberAnswer>;
export type RemoveMemberAnswerJson = Static<typeof RemoveMemberAnswer>;

/** Responses of a route: the success schema under its status, errors under 4xx/5xx. */
export function answers(status: 200 | 201, schema: TSchema): Record<string, TSchema> {
  return { [status]: schema, "4xx": ErrorAnswer, "5xx": ErrorAnswer };
}
