import Fastify, { LogController } from "fastify";
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply } from "fastify";
import type { Type } from "typebox";
import { validationField, validatorCompiler } from "../api/validation.js";
import type { Broker } from "./broker.js";
import { BrokerError, brokerHttpStatusOf, brokerRetryAfterSecondsOf } from "./brokerError.js";
import {
  BrokerStatusAnswer,
  CommitOffsetsBody,
  FetchAnswer,
  FetchQuery,
  GroupMemberAnswer,
  GroupOffsetsAnswer,
  GroupOffsetsQuery,
  GroupParams,
  HeartbeatGroupBody,
  JoinGroupBody,
  LeaveGroupBody,
  OffsetsAnswer,
  OffsetsQuery,
  produceBodyBytesMax,
  ProduceAnswer,
  ProduceBody,
  ProducerIdAnswer,
  ReplicaFetchAnswer,
  ReplicaFetchBody,
} from "./protocol.js";
import type { BrokerErrorCode } from "./protocol.js";
import { acceptsBatches, batchesContentType, decodeProduceRequest, produceBatchContentType } from "./binaryProtocol.js";
import type { BatchesAnswerParts, DecodedProduce } from "./binaryProtocol.js";
import type { Static } from "typebox";

export interface BrokerServerDeps {
  readonly broker: Pick<
    Broker,
    "brokerId" | "produce" | "fetch" | "fetchEncoded" | "listOffset" | "replicaFetch" | "replicaFetchEncoded" | "newProducerId" | "joinGroup" | "heartbeatGroup" | "leaveGroup" | "commitOffsets" | "groupOffsets" | "status" | "urlOf"
  >;
  readonly logger?: FastifyBaseLogger | false;
  readonly bodyBytesMax?: number;
}

const answers = <T extends Parameters<typeof Type.Object>[0]>(schema: ReturnType<typeof Type.Object<T>>) => ({ 200: schema });

/**
 * The broker's HTTP API (docs/DATA_PLANE.md) as a Fastify app that is not yet listening: produce,
 * fetch, offsets, producer ids, consumer groups, follower fetch and status. Every error is
 * `{ code, message, ... }` with the status of `brokerHttpStatusOf`.
 */
export function buildBrokerApp(deps: BrokerServerDeps): FastifyInstance {
  const bodyBytesMax = deps.bodyBytesMax ?? produceBodyBytesMax;
  const app = Fastify({
    ...(deps.logger === undefined || deps.logger === false ? { logger: false } : { loggerInstance: deps.logger }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: bodyBytesMax,
    return503OnClosing: true,
    keepAliveTimeout: 65_000,
  });
  const { broker } = deps;
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(async (error: FastifyError | Error, request, reply) => {
    const { status, body } = errorResponse(error, bodyBytesMax, (id) => broker.urlOf(id));
    if (status >= 500 && body.code === "INTERNAL") request.log.error({ err: error }, "request failed");
    return sendError(reply, status, body);
  });
  app.setNotFoundHandler((request, reply) => {
    sendError(reply, 404, { code: "ROUTE_NOT_FOUND", message: `Cannot ${request.method} ${request.url} as no such route exists` });
  });

  // The binary produce body (binaryProtocol.ts) arrives as a Buffer within the body limit and is decoded
  // here, as strictly as the JSON form is checked by its schema: a bad one is BAD_REQUEST naming `body`.
  app.addContentTypeParser(produceBatchContentType, { parseAs: "buffer", bodyLimit: bodyBytesMax }, (_request, body, done) => {
    const decoded = decodeProduceRequest(body as Buffer);
    if (decoded.ok) done(null, decoded.value);
    else done(new BrokerError("BAD_REQUEST", `Cannot accept the binary produce request as ${decoded.reason}`, { field: "body" }), undefined);
  });

  app.get("/healthz", async () => ({ status: "ok", brokerId: broker.brokerId }));
  app.get("/v1/broker", { schema: { response: answers(BrokerStatusAnswer) } }, async () => broker.status());

  // JSON bodies are checked by the schema; binary ones by their parser above.
  app.post<{ Body: Static<typeof ProduceBody> | DecodedProduce }>(
    "/v1/produce",
    { schema: { body: { content: { "application/json": { schema: ProduceBody } } }, response: answers(ProduceAnswer) } },
    async (request) => broker.produce(request.body),
  );

  // `Accept: application/x-yakt-batches` asks for the stored frames as they are (binaryProtocol.ts); JSON otherwise.
  app.get<{ Querystring: Static<typeof FetchQuery> }>("/v1/fetch", { schema: { querystring: FetchQuery, response: answers(FetchAnswer) } }, async (request, reply) => {
    if (acceptsBatches(request.headers.accept)) return sendBatches(reply, await broker.fetchEncoded(request.query));
    const { topic, partition } = request.query;
    return { topic, partition, ...(await broker.fetch(request.query)) };
  });

  app.get<{ Querystring: Static<typeof OffsetsQuery> }>("/v1/offsets", { schema: { querystring: OffsetsQuery, response: answers(OffsetsAnswer) } }, async (request) => {
    const { topic, partition, at } = request.query;
    return { topic, partition, offset: broker.listOffset(topic, partition, at) };
  });

  app.post("/v1/producer-ids", { schema: { response: answers(ProducerIdAnswer) } }, async () => ({ producerId: await broker.newProducerId() }));

  app.post<{ Params: Static<typeof GroupParams>; Body: Static<typeof JoinGroupBody> }>(
    "/v1/groups/:group/join",
    { schema: { params: GroupParams, body: JoinGroupBody, response: answers(GroupMemberAnswer) } },
    async (request) => broker.joinGroup(request.params.group, request.body.topic, request.body.memberId),
  );
  app.post<{ Params: Static<typeof GroupParams>; Body: Static<typeof HeartbeatGroupBody> }>(
    "/v1/groups/:group/heartbeat",
    { schema: { params: GroupParams, body: HeartbeatGroupBody, response: answers(GroupMemberAnswer) } },
    async (request) => broker.heartbeatGroup(request.params.group, request.body.memberId),
  );
  app.post<{ Params: Static<typeof GroupParams>; Body: Static<typeof LeaveGroupBody> }>("/v1/groups/:group/leave", { schema: { params: GroupParams, body: LeaveGroupBody } }, async (request) => {
    await broker.leaveGroup(request.params.group, request.body.memberId);
    return { left: true };
  });
  app.post<{ Params: Static<typeof GroupParams>; Body: Static<typeof CommitOffsetsBody> }>(
    "/v1/groups/:group/offsets",
    { schema: { params: GroupParams, body: CommitOffsetsBody, response: answers(GroupOffsetsAnswer) } },
    async (request) => ({ group: request.params.group, topic: request.body.topic, offsets: await broker.commitOffsets(request.params.group, request.body) }),
  );
  app.get<{ Params: Static<typeof GroupParams>; Querystring: Static<typeof GroupOffsetsQuery> }>(
    "/v1/groups/:group/offsets",
    { schema: { params: GroupParams, querystring: GroupOffsetsQuery, response: answers(GroupOffsetsAnswer) } },
    async (request) => ({ group: request.params.group, topic: request.query.topic, offsets: await broker.groupOffsets(request.params.group, request.query.topic) }),
  );

  app.post<{ Body: Static<typeof ReplicaFetchBody> }>("/v1/replica/fetch", { schema: { body: ReplicaFetchBody, response: answers(ReplicaFetchAnswer) } }, async (request, reply) => {
    if (acceptsBatches(request.headers.accept)) return sendBatches(reply, await broker.replicaFetchEncoded(request.body));
    return broker.replicaFetch(request.body);
  });

  return app;
}

/**
 * Sends a batches answer as its header then its frames, two writes corked into one (the frames are
 * views of what the log read, often megabytes: joining them behind the header would copy them all).
 * Taken over from Fastify, which would want one payload; the answer is whole before this runs, so no
 * error can follow.
 */
function sendBatches(reply: FastifyReply, answer: BatchesAnswerParts): FastifyReply {
  const { header, frames } = answer;
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, { "content-type": batchesContentType, "content-length": header.length + frames.length });
  response.cork();
  response.write(header);
  response.end(frames);
  return reply;
}

interface ErrorBody {
  readonly code: BrokerErrorCode;
  readonly message: string;
  readonly [detail: string]: unknown;
}

function sendError(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  const retryAfterSeconds = brokerRetryAfterSecondsOf[body.code];
  if (retryAfterSeconds !== undefined) void reply.header("retry-after", String(retryAfterSeconds));
  return reply.code(status).send(body);
}

function errorResponse(error: FastifyError | Error, bodyBytesMax: number, urlOf: (brokerId: number) => string | undefined): { status: number; body: ErrorBody } {
  const coded = (code: BrokerErrorCode, message: string, details: Record<string, unknown> = {}): { status: number; body: ErrorBody } => ({
    status: brokerHttpStatusOf[code],
    body: { ...details, code, message },
  });
  if (error instanceof BrokerError) {
    const leaderId = error.details["leaderId"];
    const leaderUrl = typeof leaderId === "number" ? urlOf(leaderId) : undefined;
    return coded(error.code, error.message, { ...error.details, ...(leaderUrl === undefined ? {} : { leaderUrl }) });
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation !== undefined) {
    const first = fastifyError.validation[0];
    const where = fastifyError.validationContext ?? "request";
    const field = first === undefined ? where : validationField(where, first.instancePath, first.params);
    return coded("BAD_REQUEST", `Cannot accept the request as ${field} ${first?.message ?? "is invalid"}`, { field });
  }
  switch (fastifyError.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return coded("BODY_TOO_LARGE", `Cannot accept the request as its body is over the limit of ${bodyBytesMax} bytes`);
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return coded("INVALID_JSON", `Cannot parse the request body as JSON: ${fastifyError.message}`);
    default:
      break;
  }
  if (error.name === "AdminError") return coded("BROKER_NOT_READY", `Cannot complete the request as the quorum did not answer: ${error.message}`);
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && code in brokerHttpStatusOf) return coded(code as BrokerErrorCode, error.message);
  if (typeof fastifyError.statusCode === "number" && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) return coded("BAD_REQUEST", fastifyError.message);
  return coded("INTERNAL", "Cannot complete the request as the broker failed; see its log");
}
