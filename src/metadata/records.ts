/**
 * The metadata records of SPEC §3, in KIP-746's spirit: every change to the cluster's metadata is one or
 * more of these, each stamped with the leader's `timestamp` and the log `offset` it was applied at (the
 * Raft log index; one command may produce several records sharing one offset).
 */

/**
 * INIT: registered, not yet caught up. UNFENCED: heartbeating and caught up (shown as ALIVE by the older
 * API flavours; only these are "active"). FENCED: missed its heartbeat deadline, leads nothing. CLOSED: unregistered.
 */
export type BrokerStatus = "INIT" | "UNFENCED" | "FENCED" | "CLOSED";

export const brokerStatuses: readonly BrokerStatus[] = ["INIT", "UNFENCED", "FENCED", "CLOSED"];

/** The leader of a partition whose in-sync replica set is empty (Kafka's -1). */
export const noLeader = -1;

/**
 * The empty replica list every partition has for `removingReplicas` and `addingReplicas`, shared rather
 * than allocated per partition (a million partitions would hold two million empty arrays). Frozen: no
 * partition array is ever mutated, and this one cannot be.
 */
export const noReplicas: readonly number[] = Object.freeze([]);

/** Reads a status as clients spell it: any case, with ALIVE and ACTIVE meaning UNFENCED. */
export function parseBrokerStatus(text: string): BrokerStatus | undefined {
  const upper = text.toUpperCase();
  if (upper === "ALIVE" || upper === "ACTIVE") return "UNFENCED";
  return brokerStatuses.find((status) => status === upper);
}

/** A broker's registration: the fields of RegisterBrokerRecord, and the state's view of a broker. */
export interface Broker {
  /** Chosen by the leader at first registration (and again after CLOSED); kept across re-registrations. */
  readonly internalUUID: string;
  readonly brokerId: number;
  readonly brokerHost: string;
  readonly brokerPort: number;
  readonly securityProtocol: string;
  readonly rackId: string | null;
  readonly brokerStatus: BrokerStatus;
  /** The broker epoch: +1 on every registration record of this broker id, never reset (see brokerCommands.ts). */
  readonly epoch: number;
}

/** A change to a registered broker: the broker's fields after the change, with its new epoch. */
export interface BrokerRegistrationChange {
  readonly brokerId: number;
  readonly brokerHost: string;
  readonly brokerPort: number;
  readonly securityProtocol: string;
  readonly rackId: string | null;
  readonly brokerStatus: BrokerStatus;
  readonly epoch: number;
}

export interface TopicFields {
  readonly topicUUID: string;
  readonly name: string;
}

/**
 * A partition: the fields of PartitionRecord, and the state's view of a partition. Invariants: replicas
 * are distinct; ISR ⊆ replicas, in replica order, never empty once the partition has been led, and holds
 * a FENCED or CLOSED broker only as its last member, with `leader` = `noLeader` (see leadership.ts);
 * `leader` is an ISR member that is serving, or `noLeader`.
 */
export interface Partition {
  readonly partitionId: number;
  readonly topicUUID: string;
  readonly replicas: readonly number[];
  readonly ISR: readonly number[];
  /** Always empty: replica changes take effect at once (no reassignment in progress to track). */
  readonly removingReplicas: readonly number[];
  /** Always empty, as `removingReplicas`. */
  readonly addingReplicas: readonly number[];
  readonly leader: number;
  /** +1 on every change of leader, ISR or replicas. */
  readonly partitionEpoch: number;
}

export interface ProducerIds {
  readonly brokerId: number;
  /** The broker's epoch when it asked; equal to its current epoch then, or the request was refused. */
  readonly brokerEpoch: number;
  readonly producerId: number;
}

/**
 * Where a controller listens (KRaft's RegisterControllerRecord, KIP-919): its Raft transport and its HTTP
 * API. The Raft membership says who votes; this only says how to reach a controller added at runtime.
 */
export interface ControllerRegistration {
  /** The controller's Raft node id (a u32, as it travels in every transport message). */
  readonly controllerId: number;
  readonly raftHost: string;
  readonly raftPort: number;
  readonly apiHost: string;
  readonly apiPort: number;
}

export interface ControllerUnregistration {
  readonly controllerId: number;
}

interface RecordOf<Name extends string, Fields> {
  readonly type: "metadata";
  readonly name: Name;
  readonly fields: Fields;
  /** Epoch milliseconds chosen by the leader when it proposed the command. */
  readonly timestamp: number;
  /** The log index of the command that produced the record. */
  readonly offset: number;
}

/**
 * SPEC §3's five records plus those the design needs: RemoveTopicRecord (topic deletion, its partitions
 * go with it), PartitionChangeRecord (a partition's whole state after a change of leader, ISR or
 * replicas, so a reader needs no earlier record to apply it), and RegisterControllerRecord /
 * UnregisterControllerRecord (the addresses of controllers added at runtime). Fencing, unfencing and
 * unregistering a broker are BrokerRegistrationChangeRecords with the new `brokerStatus`.
 */
export type MetadataRecord =
  | RecordOf<"RegisterBrokerRecord", Broker>
  | RecordOf<"BrokerRegistrationChangeRecord", BrokerRegistrationChange>
  | RecordOf<"TopicRecord", TopicFields>
  | RecordOf<"RemoveTopicRecord", TopicFields>
  | RecordOf<"PartitionRecord", Partition>
  | RecordOf<"PartitionChangeRecord", Partition>
  | RecordOf<"ProducerIdsRecord", ProducerIds>
  | RecordOf<"RegisterControllerRecord", ControllerRegistration>
  | RecordOf<"UnregisterControllerRecord", ControllerUnregistration>;

export type MetadataRecordName = MetadataRecord["name"];

export type FieldsOf<Name extends MetadataRecordName> = Extract<MetadataRecord, { name: Name }>["fields"];

/** Where and when the records of one command were applied. */
export interface RecordPosition {
  readonly timestamp: number;
  readonly offset: number;
}

export function metadataRecord<Name extends MetadataRecordName>(name: Name, fields: FieldsOf<Name>, at: RecordPosition): MetadataRecord {
  return { type: "metadata", name, fields, timestamp: at.timestamp, offset: at.offset } as MetadataRecord;
}

/** Records producers and consumers see (SPEC §4: topics, partitions and brokers only). */
const clientRecordNames: ReadonlySet<MetadataRecordName> = new Set<MetadataRecordName>([
  "RegisterBrokerRecord",
  "BrokerRegistrationChangeRecord",
  "TopicRecord",
  "RemoveTopicRecord",
  "PartitionRecord",
  "PartitionChangeRecord",
]);

export function isClientRecord(record: MetadataRecord): boolean {
  return clientRecordNames.has(record.name);
}

export function isControllerRecord(record: MetadataRecord): boolean {
  return record.name === "RegisterControllerRecord" || record.name === "UnregisterControllerRecord";
}
