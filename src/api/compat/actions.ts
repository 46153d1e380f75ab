import { Type } from "typebox";
import { MetadataError } from "../../controller/metadataService.js";
import type { Broker } from "../../metadata/records.js";
import { reject } from "../../metadata/results.js";
import { ApiError } from "../errors.js";
import type { MetadataApi, MetadataOperations } from "../operations.js";
import { changesJson } from "../operations.js";
import {
  BrokerMetadataFetchBody,
  BrokerParams,
  ChangeBrokerBody,
  ConsistencyQuery,
  CreatePartitionBody,
  CreateTopicBody,
  PartitionParams,
  PartitionsQuery,
  RegisterBrokerBody,
  RegisterProducerBody,
  TopicParams,
} from "../schemas.js";
import { brokerRecord, changesAnswer, heartbeatAnswer, imageRecords, partitionRecord, producerRecord, topicRecord } from "./answers.js";
import type { CompatInput } from "./input.js";
import { badRequest, canonical, sinceArgument } from "./input.js";

/**
 * One adapter per canonical operation, shared by every profile: it reads the flavour's request into the
 * canonical one, calls the canonical operation (operations.ts) and reshapes the answer (answers.ts).
 * Profiles differ only in their routes, their key matching and what a bare integer offset means.
 */

export interface CompatContext {
  readonly operations: MetadataOperations;
  /** For the two reads with no canonical route of their own: the broker view without a heartbeat, and the whole image. */
  readonly metadata: MetadataApi;
}

export interface CompatAction {
  /** A write goes to the leader: a follower forwards it (route config `forwardToLeader`). */
  readonly write: boolean;
  /** Keys read from the query or the body, canonical spelling first. */
  readonly keys: readonly string[];
  /** Keys accepted and never read: the record's fields the quorum sets itself, for which old clients sent placeholders. */
  readonly ignored: readonly string[];
  run(input: CompatInput, context: CompatContext): Promise<unknown>;
}

/** RegisterBrokerRecord's server-set fields (SPEC §3). */
const brokerServerKeys = ["internalUUID", "brokerStatus", "epoch"];
const brokerClientKeys = ["brokerId", "brokerHost", "brokerPort", "securityProtocol", "rackId"];
/** A partition id alone, with the canonical bounds of one. */
const PartitionIdParams = Type.Object({ partitionId: PartitionParams.properties.partitionId });
/** PartitionRecord's fields the quorum derives (ISR and epoch) or never has in flight (reassignments). */
const partitionServerKeys = ["ISR", "removingReplicas", "addingReplicas", "partitionEpoch"];

// ------------------------------------------------------------------------------------------ brokers

export const registerBroker: CompatAction = {
  write: true,
  keys: brokerClientKeys,
  ignored: brokerServerKeys,
  async run(input, { operations }) {
    const request = canonical(input, RegisterBrokerBody, {
      brokerId: input.int("brokerId"),
      brokerHost: input.text("brokerHost"),
      brokerPort: input.int("brokerPort"),
      securityProtocol: input.text("securityProtocol"),
      rackId: input.text("rackId"),
    });
    const { broker, offset } = await operations.registerBroker(request, input.session);
    return brokerWritten(broker, offset);
  },
};

export const changeBroker: CompatAction = {
  write: true,
  keys: brokerClientKeys,
  ignored: brokerServerKeys,
  async run(input, { operations }) {
    const brokerId = brokerIdOf(input);
    const change = canonical(input, ChangeBrokerBody, {
      brokerHost: input.text("brokerHost"),
      brokerPort: input.int("brokerPort"),
      securityProtocol: input.text("securityProtocol"),
      rackId: input.text("rackId"),
    });
    const { broker, offset } = await operations.changeBroker(brokerId, change, input.session);
    return brokerWritten(broker, offset);
  },
};

/** Unregisters (CLOSED); a client that sends the whole broker record along is not refused for it. */
export const unregisterBroker: CompatAction = {
  write: true,
  keys: ["brokerId"],
  ignored: [...brokerServerKeys, ...brokerClientKeys.filter((key) => key !== "brokerId")],
  async run(input, { operations }) {
    const { broker, offset } = await operations.unregisterBroker(brokerIdOf(input), input.session);
    return brokerWritten(broker, offset);
  },
};

/** Brokers whose status is in `statuses` (comma-separated, as GET /v1/brokers?status= takes them); all when undefined. */
export function listBrokers(statuses: string | undefined): CompatAction {
  return read([], async (input, { operations }) => {
    const { brokers } = await operations.listBrokers(statuses, consistencyOf(input));
    return brokers.map(brokerRecord);
  });
}

export const getBroker: CompatAction = read(["brokerId"], async (input, { operations }) => {
  const { broker } = await operations.getBroker(brokerIdOf(input), consistencyOf(input));
  return brokerRecord(broker);
});

export const allBrokers = listBrokers(undefined);

/** One broker when `brokerId` is given, else all of them (go-rest's GET /brokers). */
export const getBrokerOrAll: CompatAction = read(["brokerId"], async (input, context) => {
  return input.find("brokerId") === undefined ? allBrokers.run(input, context) : getBroker.run(input, context);
});

// ------------------------------------------------------------------------------------------ topics

export const createTopic: CompatAction = {
  write: true,
  keys: ["name", "topicName", "partitions", "replicationFactor"],
  ignored: ["topicUUID"],
  async run(input, { operations }) {
    const request = canonical(input, CreateTopicBody, {
      name: input.text("name", "topicName"),
      partitions: input.int("partitions"),
      replicationFactor: input.int("replicationFactor"),
    });
    const { topic, offset } = await operations.createTopic(request, input.session);
    return { topicUUID: topic.topicUUID, offset };
  },
};

export const listTopics: CompatAction = read([], async (input, { operations }) => {
  const { topics } = await operations.listTopics(consistencyOf(input));
  return topics.map(topicRecord);
});

export const getTopic: CompatAction = read(["name", "topicName"], async (input, { operations }) => {
  const { topic } = await operations.getTopic(topicNameOf(input), consistencyOf(input));
  return topicRecord(topic);
});

/** One topic when `name` is given, else all of them (go-rest's GET /topics). */
export const getTopicOrAll: CompatAction = read(["name", "topicName"], async (input, context) => {
  return input.find("name", "topicName") === undefined ? listTopics.run(input, context) : getTopic.run(input, context);
});

export const deleteTopic: CompatAction = {
  write: true,
  keys: ["name", "topicName"],
  ignored: ["topicUUID"],
  async run(input, { operations }) {
    const { topic, offset } = await operations.deleteTopic(topicNameOf(input), input.session);
    return { topicUUID: topic.topicUUID, offset };
  },
};

// ------------------------------------------------------------------------------------------ partitions

/**
 * The topic is named by `topicName` or, as in SPEC §3's PartitionRecord, by `topicUUID`. The leader is a
 * broker id, or the broker's internalUUID (the course spec's "uuid of broker who is leader"). Placeholders
 * the course spec's example records hold (`replicas: []`, `leader: ""`) mean "not given".
 */
export const createPartition: CompatAction = {
  write: true,
  keys: ["topicName", "topicUUID", "partitionId", "replicas", "leader", "replicationFactor"],
  ignored: partitionServerKeys,
  async run(input, { operations }) {
    const replicas = input.intList("replicas");
    const request = canonical(input, CreatePartitionBody, {
      topicName: input.text("topicName") ?? (await topicNameOfUUID(input, operations)),
      partitionId: input.int("partitionId"),
      replicas: Array.isArray(replicas) && replicas.length === 0 ? undefined : replicas,
      replicationFactor: input.int("replicationFactor"),
      leader: await leaderOf(input, operations),
    });
    const { partition, offset } = await operations.createPartition(request, input.session);
    return { topicUUID: partition.topicUUID, partitionId: partition.partitionId, offset };
  },
};

/** Every partition, or a topic's with `topic`. */
export const listPartitions: CompatAction = read(["topic"], async (input, { operations }) => {
  return (await partitionsOf(input, operations)).map(partitionRecord);
});

/** Partitions with one id, in every topic (or in `topic`): a partition id alone names one per topic. */
export const getPartitions: CompatAction = read(["partitionId", "topic"], async (input, { operations }) => {
  const { partitionId } = canonical(input, PartitionIdParams, { partitionId: input.int("partitionId") });
  const partitions = (await partitionsOf(input, operations)).filter((partition) => partition.partitionId === partitionId);
  if (partitions.length === 0) throw new MetadataError(reject("UNKNOWN_PARTITION", `Cannot find partition ${partitionId} as no topic has it`, input.whereOf("partitionId")));
  return partitions.map(partitionRecord);
});

/** Kafka never deletes a partition on its own, and neither does the canonical API: only with its topic. */
export const deletePartition: CompatAction = {
  write: false,
  keys: ["partitionId"],
  ignored: [],
  async run(input) {
    throw new ApiError("METHOD_NOT_ALLOWED", `Cannot delete partition ${String(input.find("partitionId")?.value)} as partitions are only removed with their topic: delete the topic instead`, { field: input.whereOf("partitionId") });
  },
};

// ------------------------------------------------------------------------------------------ producers

/**
 * Registers a producer for a broker. Old clients did not know broker epochs: an absent `brokerEpoch`
 * (or 0, which no broker ever has) means the broker's current one. `producerId` 0 means "allocate one",
 * as producer ids start at 1.
 */
export const registerProducer: CompatAction = {
  write: true,
  keys: ["brokerId", "brokerEpoch", "producerId"],
  ignored: [],
  async run(input, { operations }) {
    const brokerId = brokerIdOf(input);
    const request = canonical(input, RegisterProducerBody, {
      brokerId,
      brokerEpoch: await brokerEpochOf(input, brokerId, operations),
      producerId: zeroAsAbsent(input.int("producerId")),
    });
    const { producer, offset } = await operations.registerProducer(request, input.session);
    return { producerId: producer.producerId, offset };
  },
};

/** Every producer id, or those of one broker with `brokerId`. */
export const listProducers: CompatAction = read(["brokerId"], async (input, { operations }) => {
  const brokerId = input.find("brokerId") === undefined ? undefined : brokerIdOf(input);
  const { producers } = await operations.listProducers(consistencyOf(input));
  return producers.filter((producer) => brokerId === undefined || producer.brokerId === brokerId).map(producerRecord);
});

// ------------------------------------------------------------------------------------------ metadata fetch

/** The broker heartbeat (MetadataFetch, SPEC §4); an absent or 0 `brokerEpoch` is the broker's current one. */
export const brokerHeartbeat: CompatAction = {
  write: true,
  keys: ["brokerId", "brokerEpoch", "offset"],
  ignored: [],
  async run(input, { operations }) {
    const brokerId = brokerIdOf(input);
    const since = input.since("offset");
    const request = canonical(input, BrokerMetadataFetchBody, { brokerId, brokerEpoch: await brokerEpochOf(input, brokerId, operations) });
    return heartbeatAnswer(await operations.brokerMetadataFetch({ ...request, offset: sinceArgument(since) }));
  },
};

/**
 * Changes since an offset in the broker view, without a heartbeat: the earlier flavours served it on a
 * GET that names no broker, so there is no session to renew.
 */
export function brokerChanges(offsetKey: string): CompatAction {
  return read([offsetKey], async (input, { metadata }) => {
    const since = input.since(offsetKey) ?? { kind: "offset", offset: 0 };
    await metadata.readPoint(consistencyOf(input));
    return changesAnswer(changesJson(metadata.changes(since, "broker")));
  });
}

/** Changes since an offset in the client view: topics, partitions and brokers (SPEC §4 client MetadataFetch). */
export function clientChanges(offsetKey: string): CompatAction {
  return read([offsetKey], async (input, { operations }) => {
    return changesAnswer(await operations.clientMetadata(sinceArgument(input.since(offsetKey)), consistencyOf(input)));
  });
}

/** The whole metadata image as records, read at one point. */
export const wholeMetadata: CompatAction = read([], async (input, { metadata }) => {
  await metadata.readPoint(consistencyOf(input));
  return imageRecords(metadata.stateMachine.image("broker"));
});

// ------------------------------------------------------------------------------------------ helpers

function read(keys: readonly string[], run: CompatAction["run"]): CompatAction {
  return { write: false, keys: [...keys, "consistency"], ignored: [], run };
}

function brokerWritten(broker: Broker, offset: number) {
  return { internalUUID: broker.internalUUID, epoch: broker.epoch, offset };
}

function brokerIdOf(input: CompatInput): number {
  return canonical(input, BrokerParams, { brokerId: input.int("brokerId") }).brokerId;
}

function topicNameOf(input: CompatInput): string {
  return canonical(input, TopicParams, { name: input.text("name", "topicName") }).name;
}

function consistencyOf(input: CompatInput) {
  return canonical(input, ConsistencyQuery, { consistency: input.text("consistency") }).consistency;
}

async function partitionsOf(input: CompatInput, operations: MetadataOperations) {
  const { topic, consistency } = canonical(input, PartitionsQuery, { topic: input.text("topic"), consistency: input.text("consistency") });
  return (await operations.listPartitions(topic, consistency)).partitions;
}

async function topicNameOfUUID(input: CompatInput, operations: MetadataOperations): Promise<string | undefined> {
  const located = input.find("topicUUID");
  if (located === undefined) return undefined;
  if (typeof located.value !== "string") throw badRequest(located.where, "must be a topic's UUID", located.value);
  const topic = (await operations.listTopics()).topics.find((t) => t.topicUUID === located.value);
  if (topic === undefined) throw new MetadataError(reject("UNKNOWN_TOPIC", `Cannot create a partition of topic ${located.value} as no topic has that topicUUID`, located.where));
  return topic.name;
}

async function leaderOf(input: CompatInput, operations: MetadataOperations): Promise<unknown> {
  const leader = input.int("leader");
  if (typeof leader !== "string") return leader;
  if (leader === "") return undefined;
  const broker = (await operations.listBrokers(undefined)).brokers.find((b) => b.internalUUID === leader);
  if (broker === undefined) throw new MetadataError(reject("UNKNOWN_BROKER", `Cannot make broker ${leader} the leader as no broker has that internalUUID`, input.whereOf("leader")));
  return broker.brokerId;
}

async function brokerEpochOf(input: CompatInput, brokerId: number, operations: MetadataOperations): Promise<unknown> {
  const given = zeroAsAbsent(input.int("brokerEpoch"));
  return given ?? (await operations.getBroker(brokerId)).broker.epoch;
}

function zeroAsAbsent(value: unknown): unknown {
  return value === 0 ? undefined : value;
}
