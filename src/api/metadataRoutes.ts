import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ClientSession } from "../metadata/commands.js";
import { limits } from "../shared/limits.js";
import { Type } from "typebox";
import { compactFormat, compactImage } from "./compactImage.js";
import { ApiError } from "./errors.js";
import { jsonStream } from "./jsonStream.js";
import type { MetadataOperations } from "./operations.js";
import {
  answers,
  BrokerAnswer,
  BrokerMetadataAnswer,
  BrokerMetadataCompactAnswer,
  BrokerMetadataFetchBody,
  BrokerMetadataFetchQuery,
  BrokerParams,
  BrokersAnswer,
  BrokersQuery,
  BrokerWriteAnswer,
  ChangeBrokerBody,
  ChangePartitionBody,
  ChangesSchema,
  ClientMetadataQuery,
  CompactChangesSchema,
  ConsistencyQuery,
  CreatePartitionBody,
  CreateTopicBody,
  LogAnswer,
  LogQuery,
  PartitionParams,
  PartitionsAnswer,
  PartitionsQuery,
  PartitionWriteAnswer,
  ProducersAnswer,
  ProducerWriteAnswer,
  RegisterBrokerBody,
  RegisterProducerBody,
  SnapshotAnswer,
  SnapshotContentAnswer,
  SnapshotParams,
  SnapshotsAnswer,
  TopicAnswer,
  TopicParams,
  TopicsAnswer,
  TopicWriteAnswer,
} from "./schemas.js";
import type { Changes, CompactChanges, Image, MetadataFormat } from "./schemas.js";

export interface MetadataRoutesOptions {
  readonly operations: MetadataOperations;
  /** Decodes a snapshot's bytes into the metadata image it holds (for GET /v1/snapshots/{id}). */
  readonly snapshotImage: (data: Uint8Array, index: number) => Image;
}

/** Header that makes a write exactly-once: a retry with the same key is answered, not applied again. */
export const idempotencyKeyHeader = "idempotency-key";

const write = { config: { forwardToLeader: true } } as const;

/**
 * The canonical `/v1` metadata routes of SPEC §4. Writes are forwarded to the leader by the app's error
 * handler; GETs are linearizable unless `?consistency=stale`.
 */
export async function metadataRoutes(app: FastifyInstance, options: MetadataRoutesOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const ops = options.operations;

  // ------------------------------------------------------------ brokers
  api.post("/v1/brokers", { ...write, schema: { tags: ["brokers"], summary: "Register a broker (a restarted one gets a higher epoch)", body: RegisterBrokerBody, response: answers(201, BrokerWriteAnswer) } }, async (request, reply) => {
    return reply.code(201).send(await ops.registerBroker(request.body, clientSession(request)));
  });
  api.get("/v1/brokers", { schema: { tags: ["brokers"], summary: "List brokers (?status=active for the UNFENCED ones)", querystring: BrokersQuery, response: answers(200, BrokersAnswer) } }, async (request) => {
    return ops.listBrokers(request.query.status, request.query.consistency);
  });
  api.get("/v1/brokers/:brokerId", { schema: { tags: ["brokers"], summary: "Get a broker", params: BrokerParams, querystring: ConsistencyQuery, response: answers(200, BrokerAnswer) } }, async (request) => {
    return ops.getBroker(request.params.brokerId, request.query.consistency);
  });
  api.patch("/v1/brokers/:brokerId", { ...write, schema: { tags: ["brokers"], summary: "Change a broker's registration (epoch + 1)", params: BrokerParams, body: ChangeBrokerBody, response: answers(200, BrokerWriteAnswer) } }, async (request) => {
    return ops.changeBroker(request.params.brokerId, request.body, clientSession(request));
  });
  api.delete("/v1/brokers/:brokerId", { ...write, schema: { tags: ["brokers"], summary: "Unregister a broker (CLOSED, kept in the history)", params: BrokerParams, response: answers(200, BrokerWriteAnswer) } }, async (request) => {
    return ops.unregisterBroker(request.params.brokerId, clientSession(request));
  });

  // ------------------------------------------------------------ topics and partitions
  api.post("/v1/topics", { ...write, schema: { tags: ["topics"], summary: "Create a topic, with partitions placed on live brokers when asked", body: CreateTopicBody, response: answers(201, TopicWriteAnswer) } }, async (request, reply) => {
    return reply.code(201).send(await ops.createTopic(request.body, clientSession(request)));
  });
  api.get("/v1/topics", { schema: { tags: ["topics"], summary: "List topics with their partitions", querystring: ConsistencyQuery, response: answers(200, TopicsAnswer) } }, async (request, reply) => {
    return streamed(reply, await ops.listTopics(request.query.consistency));
  });
  api.get("/v1/topics/:name", { schema: { tags: ["topics"], summary: "Get a topic by name", params: TopicParams, querystring: ConsistencyQuery, response: answers(200, TopicAnswer) } }, async (request) => {
    return ops.getTopic(request.params.name, request.query.consistency);
  });
  api.delete("/v1/topics/:name", { ...write, schema: { tags: ["topics"], summary: "Delete a topic and its partitions", params: TopicParams, response: answers(200, TopicWriteAnswer) } }, async (request) => {
    return ops.deleteTopic(request.params.name, clientSession(request));
  });
  api.get("/v1/topics/:name/partitions", { schema: { tags: ["topics"], summary: "List a topic's partitions", params: TopicParams, querystring: ConsistencyQuery, response: answers(200, PartitionsAnswer) } }, async (request) => {
    return ops.listPartitions(request.params.name, request.query.consistency);
  });
  api.patch("/v1/topics/:name/partitions/:partitionId", { ...write, schema: { tags: ["topics"], summary: "Change a partition's leader, ISR or replicas (partitionEpoch + 1)", params: PartitionParams, body: ChangePartitionBody, response: answers(200, PartitionWriteAnswer) } }, async (request) => {
    return ops.changePartition(request.params.name, request.params.partitionId, request.body, clientSession(request));
  });
  api.post("/v1/partitions", { ...write, schema: { tags: ["topics"], summary: "Create a partition of a topic", body: CreatePartitionBody, response: answers(201, PartitionWriteAnswer) } }, async (request, reply) => {
    return reply.code(201).send(await ops.createPartition(request.body, clientSession(request)));
  });
  api.get("/v1/partitions", { schema: { tags: ["topics"], summary: "List partitions (?topic= for one topic's)", querystring: PartitionsQuery, response: answers(200, PartitionsAnswer) } }, async (request, reply) => {
    return streamed(reply, await ops.listPartitions(request.query.topic, request.query.consistency));
  });

  // ------------------------------------------------------------ producers
  api.post("/v1/producers", { ...write, schema: { tags: ["producers"], summary: "Register a producer from a broker (brokerEpoch must be current)", body: RegisterProducerBody, response: answers(201, ProducerWriteAnswer) } }, async (request, reply) => {
    return reply.code(201).send(await ops.registerProducer(request.body, clientSession(request)));
  });
  api.get("/v1/producers", { schema: { tags: ["producers"], summary: "List producer ids", querystring: ConsistencyQuery, response: answers(200, ProducersAnswer) } }, async (request) => {
    return ops.listProducers(request.query.consistency);
  });

  // ------------------------------------------------------------ metadata fetch and the log
  api.post(
    "/v1/broker-mgmt/metadata-fetch",
    {
      ...write,
      schema: {
        tags: ["metadata"],
        summary: "Broker heartbeat: renews its session and returns changes since offset (or the full image; ?format=compact for partitions as tuples)",
        body: BrokerMetadataFetchBody,
        querystring: BrokerMetadataFetchQuery,
        response: answers(200, Type.Union([BrokerMetadataAnswer, BrokerMetadataCompactAnswer])),
      },
    },
    async (request, reply) => {
      return streamed(reply, inFormat(await ops.brokerMetadataFetch(request.body), request.query.format));
    },
  );
  api.get(
    "/v1/client-mgmt/metadata",
    {
      schema: {
        tags: ["metadata"],
        summary: "Topics, partitions and brokers changed since offset (or the full image; ?format=compact for partitions as tuples)",
        querystring: ClientMetadataQuery,
        response: answers(200, Type.Union([ChangesSchema, CompactChangesSchema])),
      },
    },
    async (request, reply) => {
      return streamed(reply, inFormat(await ops.clientMetadata(request.query.offset, request.query.consistency), request.query.format));
    },
  );
  api.get("/v1/log", { schema: { tags: ["metadata"], summary: "The metadata log from an offset, a page at a time", querystring: LogQuery, response: answers(200, LogAnswer) } }, async (request) => {
    return ops.log(request.query.fromOffset, request.query.limit, request.query.consistency);
  });

  // ------------------------------------------------------------ snapshots (of the node asked)
  api.get("/v1/snapshots", { schema: { tags: ["snapshots"], summary: "Snapshots this node holds", response: answers(200, SnapshotsAnswer) } }, async () => ops.listSnapshots());
  api.post("/v1/snapshots", { schema: { tags: ["snapshots"], summary: "Snapshot this node's state now and compact its log", response: answers(201, SnapshotAnswer) } }, async (_request, reply) => {
    return reply.code(201).send(await ops.takeSnapshot());
  });
  api.get("/v1/snapshots/:id", { schema: { tags: ["snapshots"], summary: "A snapshot's metadata image", params: SnapshotParams, response: answers(200, SnapshotContentAnswer) } }, async (request, reply) => {
    return streamed(reply, await ops.getSnapshot(request.params.id, options.snapshotImage));
  });
}

/**
 * A MetadataFetch answer in the format asked for: the SPEC form as it is (the default), or with
 * `format: "compact"` and a full image's partitions as tuples (compactImage.ts). Deltas are the same.
 */
function inFormat(answer: Changes, format: MetadataFormat | undefined): object {
  if (format !== compactFormat) return answer;
  const { snapshot, ...rest } = answer;
  const compact: Omit<CompactChanges, "kind" | "currentOffset"> = { format: compactFormat, ...(snapshot === undefined ? {} : { snapshot: compactImage(snapshot) }) };
  return { ...rest, ...compact };
}

/**
 * Sends an answer that may hold the whole metadata image — every topic with its partitions, or up to the
 * history's bound of records — as streamed JSON (jsonStream.ts) rather than through the schema
 * serializer: a million partitions would otherwise hold the event loop for seconds. The route's response
 * schema still documents the shape.
 */
function streamed(reply: FastifyReply, answer: object): FastifyReply {
  return reply.type("application/json; charset=utf-8").send(jsonStream(answer));
}

/**
 * The client session of a write from its Idempotency-Key header. `<clientId>:<sequence>` is a numbered
 * write of a client (the state keeps one answer per client; sequences must not go down); any other key is
 * a one-off write, kept as its own client at sequence 1.
 */
export function clientSession(request: FastifyRequest): ClientSession | undefined {
  const key = request.headers[idempotencyKeyHeader];
  if (key === undefined) return undefined;
  const text = Array.isArray(key) ? key[0] : key;
  if (text === undefined || text.length === 0 || text.length > limits.metadata.stringLengthMax - 2) {
    throw new ApiError("BAD_REQUEST", `Cannot accept Idempotency-Key as it must be 1 to ${limits.metadata.stringLengthMax - 2} characters`, { field: "headers.idempotency-key" });
  }
  const numbered = /^(.+):(\d{1,15})$/.exec(text);
  if (numbered?.[1] !== undefined && numbered[2] !== undefined) return { clientId: `c/${numbered[1]}`, sequence: Number(numbered[2]) };
  return { clientId: `k/${text}`, sequence: 1 };
}
