import type { Rejection } from "./results.js";
import { reject } from "./results.js";

/**
 * What the leader proposes. Everything the leader chooses — UUIDs, the timestamp, replica placement — is
 * in the command, so applying it is a pure function of the state and the command on every replica.
 * Ranges and state-dependent rules are checked by `validate` (apply.ts); `decodeEnvelope` only checks shape.
 */
export interface RegisterBroker {
  readonly type: "RegisterBroker";
  readonly brokerId: number;
  readonly brokerHost: string;
  readonly brokerPort: number;
  readonly securityProtocol: string;
  /** Empty or absent means no rack. */
  readonly rackId?: string;
  /** Used for a new registration (first, or after CLOSED); a live re-registration keeps the broker's own. */
  readonly internalUUID: string;
}

export interface ChangeBrokerRegistration {
  readonly type: "ChangeBrokerRegistration";
  readonly brokerId: number;
  readonly brokerHost?: string;
  readonly brokerPort?: number;
  readonly securityProtocol?: string;
  /** Empty clears the rack. */
  readonly rackId?: string;
}

export interface UnregisterBroker {
  readonly type: "UnregisterBroker";
  readonly brokerId: number;
}

/** `brokerEpoch` is the epoch the leader saw expire: a fence meant for an earlier incarnation is refused. */
export interface FenceBroker {
  readonly type: "FenceBroker";
  readonly brokerId: number;
  readonly brokerEpoch: number;
}

export interface UnfenceBroker {
  readonly type: "UnfenceBroker";
  readonly brokerId: number;
  readonly brokerEpoch: number;
}

export interface PartitionPlacement {
  readonly partitionId: number;
  readonly replicas: readonly number[];
  /** Absent: the first in-sync replica in replica order. */
  readonly leader?: number;
}

export interface CreateTopic {
  readonly type: "CreateTopic";
  readonly name: string;
  readonly topicUUID: string;
  readonly partitions: readonly PartitionPlacement[];
}

export interface DeleteTopic {
  readonly type: "DeleteTopic";
  readonly name: string;
}

export interface CreatePartition {
  readonly type: "CreatePartition";
  readonly topicName: string;
  /** Absent: one above the topic's highest partition id (0 for the first). */
  readonly partitionId?: number;
  readonly replicas: readonly number[];
  readonly leader?: number;
}

/** Absent fields keep their value (see topicCommands.ts for how ISR and leader follow a replica change). */
export interface ChangePartition {
  readonly type: "ChangePartition";
  readonly topicUUID: string;
  readonly partitionId: number;
  readonly leader?: number;
  readonly isr?: readonly number[];
  readonly replicas?: readonly number[];
  /** When given, the change applies only if the partition is still at this epoch (compare-and-set). */
  readonly expectedPartitionEpoch?: number;
}

export interface RegisterProducer {
  readonly type: "RegisterProducer";
  readonly brokerId: number;
  readonly brokerEpoch: number;
  /** Absent: the quorum allocates the next free id. */
  readonly producerId?: number;
}

/**
 * Registers a controller's addresses, replacing any it had (KRaft's RegisterControllerRecord). The
 * membership service proposes it before the controller joins the Raft membership, so every controller
 * knows where a new member listens before it has to talk to it.
 */
export interface RegisterController {
  readonly type: "RegisterController";
  readonly controllerId: number;
  readonly raftHost: string;
  readonly raftPort: number;
  readonly apiHost: string;
  readonly apiPort: number;
}

/** Forgets a controller's addresses once it has left the Raft membership. */
export interface UnregisterController {
  readonly type: "UnregisterController";
  readonly controllerId: number;
}

export type MetadataCommand =
  | RegisterBroker
  | ChangeBrokerRegistration
  | UnregisterBroker
  | FenceBroker
  | UnfenceBroker
  | CreateTopic
  | DeleteTopic
  | CreatePartition
  | ChangePartition
  | RegisterProducer
  | RegisterController
  | UnregisterController;

export type MetadataCommandType = MetadataCommand["type"];

/** Identifies one write of one client, so that a retried write is answered instead of applied again. */
export interface ClientSession {
  readonly clientId: string;
  readonly sequence: number;
}

export interface CommandEnvelope {
  readonly command: MetadataCommand;
  /** Epoch milliseconds chosen by the leader; becomes the timestamp of every record the command produces. */
  readonly timestamp: number;
  readonly clientSession?: ClientSession;
}

export type DecodedEnvelope = { readonly ok: true; readonly envelope: CommandEnvelope } | Rejection;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** JSON for now: readable in the log, and small enough at metadata rates. */
export function encodeEnvelope(envelope: CommandEnvelope): Uint8Array {
  return textEncoder.encode(JSON.stringify(envelope));
}

/** Never throws: bytes that are not a well-formed envelope are a rejection naming the first bad field. */
export function decodeEnvelope(data: Uint8Array): DecodedEnvelope {
  const parsed = parseJson(data);
  if (parsed === undefined) return invalid("Cannot decode command as it is not UTF-8 JSON");
  const problem = checkObject(parsed, envelopeSchema, "") ?? checkCommand(parsed);
  if (problem !== undefined) return problem;
  return { ok: true, envelope: parsed as unknown as CommandEnvelope };
}

function parseJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(textDecoder.decode(data)) as unknown;
  } catch {
    return undefined;
  }
}

type FieldType = "int" | "string" | "intList" | "placements" | "clientSession" | "object";

interface FieldSpec {
  readonly type: FieldType;
  readonly optional?: true;
}

type Schema = Readonly<Record<string, FieldSpec>>;

const required = (type: FieldType): FieldSpec => ({ type });
const optional = (type: FieldType): FieldSpec => ({ type, optional: true });

const envelopeSchema: Schema = { command: required("object"), timestamp: required("int"), clientSession: optional("clientSession") };
const sessionSchema: Schema = { clientId: required("string"), sequence: required("int") };
const placementSchema: Schema = { partitionId: required("int"), replicas: required("intList"), leader: optional("int") };

/** The shape of every command, `type` aside. */
const commandSchemas: Readonly<Record<MetadataCommandType, Schema>> = {
  RegisterBroker: {
    brokerId: required("int"),
    brokerHost: required("string"),
    brokerPort: required("int"),
    securityProtocol: required("string"),
    rackId: optional("string"),
    internalUUID: required("string"),
  },
  ChangeBrokerRegistration: {
    brokerId: required("int"),
    brokerHost: optional("string"),
    brokerPort: optional("int"),
    securityProtocol: optional("string"),
    rackId: optional("string"),
  },
  UnregisterBroker: { brokerId: required("int") },
  FenceBroker: { brokerId: required("int"), brokerEpoch: required("int") },
  UnfenceBroker: { brokerId: required("int"), brokerEpoch: required("int") },
  CreateTopic: { name: required("string"), topicUUID: required("string"), partitions: required("placements") },
  DeleteTopic: { name: required("string") },
  CreatePartition: { topicName: required("string"), partitionId: optional("int"), replicas: required("intList"), leader: optional("int") },
  ChangePartition: {
    topicUUID: required("string"),
    partitionId: required("int"),
    leader: optional("int"),
    isr: optional("intList"),
    replicas: optional("intList"),
    expectedPartitionEpoch: optional("int"),
  },
  RegisterProducer: { brokerId: required("int"), brokerEpoch: required("int"), producerId: optional("int") },
  RegisterController: {
    controllerId: required("int"),
    raftHost: required("string"),
    raftPort: required("int"),
    apiHost: required("string"),
    apiPort: required("int"),
  },
  UnregisterController: { controllerId: required("int") },
};

function checkCommand(envelope: unknown): Rejection | undefined {
  const command = (envelope as { command: Record<string, unknown> }).command;
  const type = command["type"];
  if (typeof type !== "string" || !Object.hasOwn(commandSchemas, type)) {
    return invalid(`Cannot decode command as its type is unknown: current value is ${JSON.stringify(type) ?? "absent"}`, "command.type");
  }
  return checkObject(command, { type: required("string"), ...commandSchemas[type as MetadataCommandType] }, "command.");
}

/** Checks that `value` is a plain object holding exactly the schema's fields, each of its type. */
function checkObject(value: unknown, schema: Schema, path: string): Rejection | undefined {
  if (!isRecord(value)) {
    const name = path.replace(/\.$/, "");
    return invalid(`Cannot decode ${name || "envelope"} as it is not an object`, name || undefined);
  }
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(schema, key)) return invalid(`Cannot decode command as field ${path}${key} is unknown`, path + key);
  }
  for (const [key, spec] of Object.entries(schema)) {
    const problem = checkField(value[key], spec, path + key);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function checkField(value: unknown, spec: FieldSpec, path: string): Rejection | undefined {
  if (value === undefined) return spec.optional ? undefined : invalid(`Cannot decode command as field ${path} is missing`, path);
  switch (spec.type) {
    case "int":
      return Number.isSafeInteger(value) ? undefined : wrongType(path, "an integer");
    case "string":
      return typeof value === "string" ? undefined : wrongType(path, "a string");
    case "intList":
      return Array.isArray(value) && value.every((item) => Number.isSafeInteger(item)) ? undefined : wrongType(path, "a list of integers");
    case "object":
      return isRecord(value) ? undefined : wrongType(path, "an object");
    case "clientSession":
      return checkObject(value, sessionSchema, `${path}.`);
    case "placements":
      return checkPlacements(value, path);
  }
}

function checkPlacements(value: unknown, path: string): Rejection | undefined {
  if (!Array.isArray(value)) return wrongType(path, "a list of partitions");
  for (const [i, item] of value.entries()) {
    const problem = checkObject(item, placementSchema, `${path}[${i}].`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function wrongType(path: string, expected: string): Rejection {
  return invalid(`Cannot decode command as field ${path} is not ${expected}`, path);
}

function invalid(message: string, field?: string): Rejection {
  return reject("INVALID_COMMAND", message, field);
}
