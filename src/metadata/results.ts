import type { Broker, ControllerRegistration, MetadataRecord, Partition, ProducerIds } from "./records.js";

/**
 * Why a command was refused. Stable codes; the HTTP status each is meant to map to is beside it (the API's
 * error catalogue holds the one real map).
 */
export type MetadataErrorCode =
  /** 400: the command or envelope is malformed or out of range; `field` names the culprit when there is one. */
  | "INVALID_COMMAND"
  /** 404 */
  | "UNKNOWN_BROKER"
  /** 404 */
  | "UNKNOWN_TOPIC"
  /** 404 */
  | "UNKNOWN_PARTITION"
  /** 404: no controller is registered under the id. */
  | "UNKNOWN_CONTROLLER"
  /** 409: the topic name (or the leader-chosen topicUUID) is taken. */
  | "TOPIC_EXISTS"
  /** 409 */
  | "PARTITION_EXISTS"
  /** 409: the broker's status does not allow the change (e.g. fencing a FENCED broker, changing a CLOSED one). */
  | "INVALID_BROKER_STATUS"
  /** 409: the brokerEpoch given is not the broker's current epoch. */
  | "STALE_BROKER_EPOCH"
  /** 409: the expected partitionEpoch is not the partition's current epoch. */
  | "STALE_PARTITION_EPOCH"
  /** 409: a client session sequence below the last one applied for that client. */
  | "STALE_CLIENT_SEQUENCE"
  /** 409: a requested producer id was already handed out (or lies below the allocation mark). */
  | "PRODUCER_ID_TAKEN"
  /** 422: replicas, ISR or leader name brokers that cannot hold them. */
  | "INVALID_REPLICAS"
  /** 422: the change would exceed a bound of `limits.metadata`. */
  | "LIMIT_EXCEEDED";

export const metadataErrorCodes: readonly MetadataErrorCode[] = [
  "INVALID_COMMAND",
  "UNKNOWN_BROKER",
  "UNKNOWN_TOPIC",
  "UNKNOWN_PARTITION",
  "UNKNOWN_CONTROLLER",
  "TOPIC_EXISTS",
  "PARTITION_EXISTS",
  "INVALID_BROKER_STATUS",
  "STALE_BROKER_EPOCH",
  "STALE_PARTITION_EPOCH",
  "STALE_CLIENT_SEQUENCE",
  "PRODUCER_ID_TAKEN",
  "INVALID_REPLICAS",
  "LIMIT_EXCEEDED",
];

export interface Rejection {
  readonly ok: false;
  readonly code: MetadataErrorCode;
  /** Shaped "Cannot <do what> as <why>: <detail>". */
  readonly message: string;
  readonly field?: string;
  /** Set when this is the stored answer to an earlier attempt of the same client write. */
  readonly replayed?: true;
}

export function reject(code: MetadataErrorCode, message: string, field?: string): Rejection {
  return field === undefined ? { ok: false, code, message } : { ok: false, code, message, field };
}

/** A topic with its partitions in id order. */
export interface TopicView {
  readonly name: string;
  readonly topicUUID: string;
  readonly partitions: readonly Partition[];
}

/** What the API answers for a command that was applied. */
export type MetadataValue =
  | { readonly kind: "broker"; readonly broker: Broker }
  | { readonly kind: "topic"; readonly topic: TopicView }
  | { readonly kind: "partition"; readonly topicName: string; readonly partition: Partition }
  | { readonly kind: "producer"; readonly producer: ProducerIds }
  | { readonly kind: "controller"; readonly controller: ControllerRegistration };

export interface Applied {
  readonly ok: true;
  /** The records the command produced, in order (empty when it changed nothing, or on a replay). */
  readonly records: readonly MetadataRecord[];
  readonly value: MetadataValue;
  readonly replayed?: true;
}

export type ApplyResult = Applied | Rejection;
