import { Type } from "typebox";
import type { Static } from "typebox";

/**
 * The broker's client-facing contract (docs/DATA_PLANE.md): HTTP/1.1 with keep-alive and JSON bodies,
 * one TypeBox schema per request and answer. Producers send a batch of records to one partition per
 * request; consumers fetch a range of offsets with a byte bound and an optional long-poll; followers
 * fetch from the partition leader the same way (`/v1/replica/fetch`), with encoded batches as base64.
 * Produce bodies and fetch answers also have a binary form (binaryProtocol.ts), which the producer,
 * the consumer and followers use.
 *
 * Keys and values are UTF-8 strings: what the command-line tools read and print, and JSON's own type.
 * Errors are `{ code, message, ...details }` with the codes of `BrokerErrorCode`.
 */

export const topicNameLengthMax = 249;
/** Records in one produce request. */
export const produceRecordsCountMax = 10_000;
/** Bytes of one produce request body. */
export const produceBodyBytesMax = 4 * 1024 * 1024;
/** Bytes one fetch answers at most (at least one batch is always answered, even a larger one). */
export const fetchBytesMax = 8 * 1024 * 1024;
/** The longest a fetch or replica fetch waits for data. */
export const fetchWaitMsMax = 30_000;
/** The longest a produce with acks=all waits for the in-sync replicas. */
export const produceTimeoutMsMax = 120_000;

const TopicName = Type.String({ minLength: 1, maxLength: topicNameLengthMax, pattern: "^[A-Za-z0-9._-]+$" });
const PartitionId = Type.Integer({ minimum: 0, maximum: 1_000_000 });

/** `all` (also -1): the in-sync replicas have it; 1: the leader has it on disk; 0: no answer is awaited beyond acceptance. */
export const AcksSchema = Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(-1), Type.Literal("all")]);

export const ProducedRecordSchema = Type.Object(
  {
    key: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    value: Type.String(),
    timestampMs: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

export const ProduceBody = Type.Object(
  {
    topic: TopicName,
    partition: PartitionId,
    acks: Type.Optional(AcksSchema),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: produceTimeoutMsMax })),
    /** From `POST /v1/producer-ids`; with `baseSequence`, makes retries of this batch idempotent. */
    producerId: Type.Optional(Type.Integer({ minimum: 0 })),
    /** The sequence of the batch's first record: 0 for a producer's first batch to this partition, then +records. */
    baseSequence: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647 })),
    records: Type.Array(ProducedRecordSchema, { minItems: 1, maxItems: produceRecordsCountMax }),
  },
  { additionalProperties: false },
);

export const ProduceAnswer = Type.Object({
  topic: Type.String(),
  partition: Type.Integer(),
  baseOffset: Type.Integer({ description: "Offset of the batch's first record" }),
  lastOffset: Type.Integer(),
  /** True when this answers a retry of a batch already appended (the original offsets). */
  duplicate: Type.Boolean(),
});

export const FetchQuery = Type.Object(
  {
    topic: TopicName,
    partition: PartitionId,
    offset: Type.Integer({ minimum: 0 }),
    maxBytes: Type.Optional(Type.Integer({ minimum: 1, maximum: fetchBytesMax })),
    /** Waits up to this long for records when none are readable yet (long-poll); 0 answers at once. */
    maxWaitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: fetchWaitMsMax })),
  },
  { additionalProperties: false },
);

export const ConsumedRecordSchema = Type.Object({
  offset: Type.Integer(),
  key: Type.Union([Type.String(), Type.Null()]),
  value: Type.String(),
  timestampMs: Type.Integer(),
});

export const FetchAnswer = Type.Object({
  topic: Type.String(),
  partition: Type.Integer(),
  /** Consumers see offsets below this only: every in-sync replica has them. */
  highWatermark: Type.Integer(),
  logStartOffset: Type.Integer(),
  /** Where the next fetch starts: after the last record answered, or `offset` when none were. */
  nextOffset: Type.Integer(),
  records: Type.Array(ConsumedRecordSchema),
});

export const OffsetsQuery = Type.Object(
  { topic: TopicName, partition: PartitionId, at: Type.Union([Type.Literal("earliest"), Type.Literal("latest")]) },
  { additionalProperties: false },
);

export const OffsetsAnswer = Type.Object({ topic: Type.String(), partition: Type.Integer(), offset: Type.Integer() });

export const ProducerIdAnswer = Type.Object({ producerId: Type.Integer() });

// ---------------------------------------------------------------- consumer groups

export const GroupParams = Type.Object({ group: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false });

export const CommitOffsetsBody = Type.Object(
  {
    topic: TopicName,
    /** The next offset to consume per partition (Kafka's convention: last processed + 1). */
    offsets: Type.Array(Type.Object({ partition: PartitionId, offset: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }), { minItems: 1, maxItems: 10_000 }),
    /** With `generation`: refused (ILLEGAL_GENERATION) unless the member is in the group at that generation. */
    memberId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    generation: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

/**
 * Group membership (kept in the coordinator's memory; members re-join after a coordinator change): a
 * member joins for a topic and gets the partitions it owns in this generation; heartbeats keep it in
 * and tell it when the generation changed (a member joined, left or missed its session); it then uses
 * the new assignment. Commits from an older generation are refused, so a member that lost a partition
 * cannot move that partition's offset.
 */
export const JoinGroupBody = Type.Object(
  {
    topic: TopicName,
    /** Absent on the first join: the coordinator assigns one. */
    memberId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  },
  { additionalProperties: false },
);

export const HeartbeatGroupBody = Type.Object(
  { memberId: Type.String({ minLength: 1, maxLength: 255 }), generation: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);

export const LeaveGroupBody = Type.Object({ memberId: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false });

export const GroupMemberAnswer = Type.Object({
  group: Type.String(),
  topic: Type.String(),
  memberId: Type.String(),
  generation: Type.Integer(),
  /** The partitions this member consumes in this generation. */
  partitions: Type.Array(Type.Integer()),
  /** Heartbeat at least this often or lose the membership. */
  sessionTimeoutMs: Type.Integer(),
});

export const GroupOffsetsQuery = Type.Object({ topic: TopicName }, { additionalProperties: false });

export const GroupOffsetsAnswer = Type.Object({
  group: Type.String(),
  topic: Type.String(),
  offsets: Type.Array(Type.Object({ partition: Type.Integer(), offset: Type.Integer() })),
});

// ---------------------------------------------------------------- replication between brokers

export const ReplicaFetchBody = Type.Object(
  {
    topic: TopicName,
    partition: PartitionId,
    replicaId: Type.Integer({ minimum: 0 }),
    /** The partition epoch the follower knows; a leader that knows an older one answers NOT_LEADER (it may be stale). */
    partitionEpoch: Type.Integer({ minimum: 0 }),
    fetchOffset: Type.Integer({ minimum: 0 }),
    /** Leader epoch of the follower's last batch (-1 for an empty log): checked against the leader's log (KIP-320). */
    lastFetchedEpoch: Type.Integer({ minimum: -1 }),
    maxBytes: Type.Optional(Type.Integer({ minimum: 1, maximum: fetchBytesMax })),
    maxWaitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: fetchWaitMsMax })),
  },
  { additionalProperties: false },
);

export const ReplicaFetchAnswer = Type.Object({
  highWatermark: Type.Integer(),
  logStartOffset: Type.Integer(),
  /** Set when the follower's log diverges: truncate to min(endOffset, own end) and fetch again. */
  divergingEpoch: Type.Optional(Type.Object({ epoch: Type.Integer(), endOffset: Type.Integer() })),
  /** Encoded batches, base64, exactly as the leader stored them (src/broker/partitionLog.ts). */
  batches: Type.String(),
});

// ---------------------------------------------------------------- status

export const BrokerStatusAnswer = Type.Object({
  brokerId: Type.Integer(),
  brokerEpoch: Type.Integer(),
  brokerStatus: Type.String(),
  metadataOffset: Type.Integer(),
  partitions: Type.Array(
    Type.Object({
      topic: Type.String(),
      partition: Type.Integer(),
      role: Type.Union([Type.Literal("leader"), Type.Literal("follower")]),
      leader: Type.Integer(),
      partitionEpoch: Type.Integer(),
      isr: Type.Array(Type.Integer()),
      logStartOffset: Type.Integer(),
      logEndOffset: Type.Integer(),
      highWatermark: Type.Integer(),
    }),
  ),
});

/** The broker's error codes; `retriable` ones succeed later (after a metadata refresh for the NOT_* ones). */
export type BrokerErrorCode =
  /** This broker does not lead the partition; `leaderId` and `leaderUrl` name the one it knows of (or none). */
  | "NOT_LEADER_FOR_PARTITION"
  /** The partition has no leader right now (its in-sync replicas are all down); retry after a back-off. */
  | "LEADER_NOT_AVAILABLE"
  /** This broker holds no replica of the topic or partition (it may not have heard of it yet). */
  | "UNKNOWN_TOPIC_OR_PARTITION"
  /** Fewer in-sync replicas than the broker's minimum for acks=all. */
  | "NOT_ENOUGH_REPLICAS"
  /** acks=all: the in-sync replicas did not all have the batch within `timeoutMs`; it may still commit. */
  | "REQUEST_TIMED_OUT"
  /** The batch's sequence is not the next one for this producer and partition; `expectedSequence` says which is. */
  | "OUT_OF_ORDER_SEQUENCE"
  /** `offset` is outside [logStartOffset, highWatermark]; both are in the answer. */
  | "OFFSET_OUT_OF_RANGE"
  /** A follower's view is older than the leader's (or the reverse); refresh metadata and retry. */
  | "FENCED_LEADER_EPOCH"
  /** This broker's group coordinator is not the one for the group; `coordinatorId` names it. */
  | "NOT_COORDINATOR"
  /** A group request from a member of an older generation, or from a member the group no longer has; re-join. */
  | "ILLEGAL_GENERATION"
  | "UNKNOWN_MEMBER"
  | "BROKER_NOT_READY"
  | "STORAGE_FAILED"
  | "STOPPING"
  | "BAD_REQUEST"
  | "INVALID_JSON"
  | "BODY_TOO_LARGE"
  | "ROUTE_NOT_FOUND"
  | "INTERNAL";

export type ProduceRequest = Static<typeof ProduceBody>;
export type ProduceAnswerJson = Static<typeof ProduceAnswer>;
export type FetchRequest = Static<typeof FetchQuery>;
export type FetchAnswerJson = Static<typeof FetchAnswer>;
export type ConsumedRecord = Static<typeof ConsumedRecordSchema>;
export type ProducedRecord = Static<typeof ProducedRecordSchema>;
export type OffsetsAnswerJson = Static<typeof OffsetsAnswer>;
export type CommitOffsetsRequest = Static<typeof CommitOffsetsBody>;
export type GroupOffsetsAnswerJson = Static<typeof GroupOffsetsAnswer>;
export type ReplicaFetchRequest = Static<typeof ReplicaFetchBody>;
export type ReplicaFetchAnswerJson = Static<typeof ReplicaFetchAnswer>;
export type JoinGroupRequest = Static<typeof JoinGroupBody>;
export type HeartbeatGroupRequest = Static<typeof HeartbeatGroupBody>;
export type GroupMemberAnswerJson = Static<typeof GroupMemberAnswer>;
export type BrokerStatusAnswerJson = Static<typeof BrokerStatusAnswer>;
export type Acks = Static<typeof AcksSchema>;
