import swagger from "@fastify/swagger";
import { limits } from "../shared/limits.js";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { LogController } from "fastify";
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { defaultCompatProfile, formatHostPort } from "../controller/config.js";
import type { CompatProfileName, HostPort, MemberAddress } from "../controller/config.js";
import type { ControllerStatus } from "../controller/controller.js";
import { ControllerError } from "../controller/errors.js";
import { MetadataError } from "../controller/metadataService.js";
import { MetadataStateMachine } from "../metadata/metadataStateMachine.js";
import { members as membersOf } from "../raft/membership.js";
import type { NodeId } from "../raft/types.js";
import type { TransportCounters } from "../transport/transport.js";
import { compatRoutes } from "./compat/compatRoutes.js";
import { ApiError, httpStatusOf, retryAfterSecondsOf } from "./errors.js";
import type { ApiErrorBody, ApiErrorCode } from "./errors.js";
import { forwardToLeader, forwardTimeoutMs, wasForwarded } from "./forward.js";
import type { MembershipApi } from "./membershipRoutes.js";
import { membershipRoutes } from "./membershipRoutes.js";
import { metadataRoutes } from "./metadataRoutes.js";
import { registerMetrics } from "./metrics.js";
import { LazyRequestLogger } from "./requestLogger.js";
import type { MetadataApi } from "./operations.js";
import { metadataOperations } from "./operations.js";
import { answers, ClusterStatusAnswer, TransferLeadershipAnswer } from "./schemas.js";
import type { ClusterStatus, Image } from "./schemas.js";
import { validationField, validatorCompiler } from "./validation.js";

/** What the HTTP layer needs from a controller: a narrow view, so the app is testable with `inject()`. */
export interface ControllerApi {
  /** This node's id. */
  readonly id: NodeId;
  /** Whether this node leads now, and the leader it knows of (0 for none): both cheap, read per write. */
  isLeader(): boolean;
  knownLeaderId(): NodeId;
  status(): ControllerStatus;
  transferLeadership(target?: NodeId): Promise<boolean>;
}

export interface AppDeps {
  readonly controller: ControllerApi;
  /** The metadata operations (a `MetadataService`). */
  readonly metadata: MetadataApi;
  /** Adding and removing controllers (a `MembershipService`). */
  readonly membership: MembershipApi;
  /**
   * Every controller whose addresses this node knows — the command line's and those registered in the
   * metadata log — for cluster status, leader hints and forwarding. Asked on every use: it changes when
   * controllers are added or removed.
   */
  readonly members: () => readonly MemberAddress[];
  readonly pid: number;
  readonly logger?: FastifyBaseLogger | false;
  /** Bytes of one request body; larger bodies get 413 BODY_TOO_LARGE. */
  readonly bodyBytesMax?: number;
  readonly transportCounters?: () => TransportCounters;
  /** Include process metrics in /metrics (one app per process; tests leave it off). */
  readonly processMetrics?: boolean;
  /** The compatibility profile (SPEC §4.1) that wins at the root where profiles collide; flask-a unless given. */
  readonly compatProfile?: CompatProfileName;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** A write that a follower sends on to the leader instead of answering NOT_LEADER. */
    readonly forwardToLeader?: boolean;
    /** How long a forwarded request of this route may take (`forwardTimeoutMs` unless given). */
    readonly forwardTimeoutMs?: number;
  }
}

/** Bytes of a request body: metadata requests are small (the largest, a topic with explicit replicas, is a few KiB). */
export const requestBodyBytesMax = 1024 * 1024;

export function apiUrl(address: HostPort): string {
  return `http://${formatHostPort(address.host === "0.0.0.0" ? { ...address, host: "127.0.0.1" } : address)}`;
}

/**
 * The controller's HTTP API as a Fastify app that is not yet listening (tests use `app.inject()`).
 * Routes: health, readiness, cluster status, leadership transfer, adding and removing controllers
 * (membershipRoutes.ts), the canonical metadata API (metadataRoutes.ts) and the compatibility profiles of
 * the earlier implementations over it (compat/).
 */
export function buildApp(deps: AppDeps): FastifyInstance {
  const bodyBytesMax = deps.bodyBytesMax ?? requestBodyBytesMax;
  const app = Fastify({
    ...(deps.logger === undefined || deps.logger === false ? { logger: false } : { loggerInstance: deps.logger }),
    // One log line per request would drown everything else under load.
    logController: new LogController({ disableRequestLogging: true }),
    // Each request's child logger is made only if the request logs (see LazyRequestLogger).
    childLoggerFactory: (logger, bindings, options) => new LazyRequestLogger(logger, bindings, options),
    bodyLimit: bodyBytesMax,
    // Path parameters as long as the longest name a route takes (Fastify's default of 100 would turn a
    // request for a topic of 101 to 249 characters into 414).
    routerOptions: { maxParamLength: limits.metadata.topicNameLengthMax },
    // Not Fastify's own 503 body while closing: the hooks below answer STOPPING from the catalogue.
    return503OnClosing: false,
  });
  // A request that arrives once the app has begun to close is refused before it starts anything, with
  // the catalogue's code, so a client knows to retry elsewhere and that nothing was applied.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  // A callback hook, not an async one: it runs on every request, and an async hook costs a promise each time.
  app.addHook("onRequest", (_request, reply, done) => {
    if (!closing) {
      done();
      return;
    }
    sendError(reply, 503, { code: "STOPPING", message: "Cannot serve as the node is stopping", outcome: "not_applied", retriable: true });
  });
  const leaderHint = (leaderId: NodeId): Record<string, unknown> => {
    const leader = deps.members().find((m) => m.id === leaderId);
    return leader === undefined ? {} : { leaderId, leaderUrl: apiUrl(leader.api) };
  };

  /** Passes `request` to `leader` and relays its answer; FORWARD_FAILED when the leader cannot be reached. */
  const forward = async (request: FastifyRequest, reply: FastifyReply, leader: MemberAddress, body: "parsed" | "unread"): Promise<FastifyReply> => {
    try {
      return await forwardToLeader(request, reply, apiUrl(leader.api), deps.controller.id, request.routeOptions.config.forwardTimeoutMs ?? forwardTimeoutMs, body);
    } catch (forwardError) {
      request.log.warn({ err: forwardError, leaderId: leader.id }, "forwarding to the leader failed");
      return sendError(reply, 503, { code: "FORWARD_FAILED", message: `Cannot reach the leader ${leader.id} to forward the write: ${String(forwardError)}`, leaderId: leader.id, leaderUrl: apiUrl(leader.api), outcome: "unknown", retriable: true });
    }
  };
  // Any controller accepts any write: a follower that knows the leader passes it on before reading its
  // body, and relays the answer. One that does not know it runs the route, which answers NO_LEADER.
  const forwardEarly = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (wasForwarded(request) || deps.controller.isLeader()) return undefined;
    const leaderId = deps.controller.knownLeaderId();
    const leader = deps.members().find((m) => m.id === leaderId);
    return leader === undefined ? undefined : forward(request, reply, leader, "unread");
  };
  app.addHook("onRoute", (route) => {
    if (route.config?.forwardToLeader !== true) return;
    const own = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [...own, forwardEarly];
  });

  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(async (error: FastifyError | Error, request, reply) => {
    const leader = error instanceof ControllerError && error.code === "NOT_LEADER" ? deps.members().find((m) => m.id === error.details.leaderId) : undefined;
    // A write that found this node no longer leading only once its handler ran goes on with its parsed body.
    if (leader !== undefined && request.routeOptions.config.forwardToLeader === true && !wasForwarded(request)) return forward(request, reply, leader, "parsed");
    const { status, body } = errorResponse(error, leaderHint, bodyBytesMax);
    if (status >= 500 && body.code === "INTERNAL") request.log.error({ err: error }, "request failed");
    return sendError(reply, status, body);
  });
  void app.register(swagger, {
    openapi: {
      info: { title: "YAKt controller API", version: "1", description: "The metadata quorum's HTTP API. Errors are JSON { code, message, ... }." },
    },
  });
  void app.register(swaggerUi, { routePrefix: "/docs" });
  registerMetrics(app, { status: () => deps.controller.status(), ...(deps.transportCounters === undefined ? {} : { transportCounters: deps.transportCounters }), processMetrics: deps.processMetrics === true });
  app.setNotFoundHandler((request, reply) => {
    sendError(reply, 404, { code: "ROUTE_NOT_FOUND", message: `Cannot ${request.method} ${request.url} as no such route exists` });
  });

  // Routes live in a plugin registered after the OpenAPI one, so that its route hook sees them all.
  void app.register(async (api) => {
    api.get("/healthz", async () => ({ status: "ok", nodeId: deps.controller.id }));

    api.get("/readyz", async (_request, reply) => {
      const status = deps.controller.status();
      if (status.leaderId === 0) {
        return sendError(reply, 503, { code: "NO_LEADER", message: "Cannot serve as no leader is known: an election is under way" });
      }
      return { status: "ready", nodeId: status.id, leaderId: status.leaderId };
    });

    api.get("/v1/cluster", { schema: { summary: "Quorum status: leader, term, commit index, each member's match index, lag and last contact", response: answers(200, ClusterStatusAnswer) } }, async () => clusterStatus(deps));

    api.post<{ Body: { targetId?: number } | undefined }>(
      "/v1/cluster/transfer-leadership",
      { config: { forwardToLeader: true }, schema: { body: { type: ["object", "null"], properties: { targetId: { type: "integer", minimum: 1 } }, additionalProperties: false }, response: answers(200, TransferLeadershipAnswer) } },
      async (request) => {
        const status = deps.controller.status();
        if (status.role !== "leader") throw new ControllerError(status.leaderId === 0 ? "NO_LEADER" : "NOT_LEADER", "Cannot transfer leadership as this node is not the leader", { leaderId: status.leaderId });
        const transferred = await deps.controller.transferLeadership(request.body?.targetId);
        return { transferred, leaderId: deps.controller.status().leaderId };
      },
    );

    await api.register(membershipRoutes, { membership: deps.membership });

    const operations = metadataOperations(deps.metadata);
    await api.register(metadataRoutes, { operations, snapshotImage });
    await api.register(compatRoutes, { operations, metadata: deps.metadata, rootProfile: deps.compatProfile ?? defaultCompatProfile });
  });

  return app;
}

/**
 * The quorum as this node sees it: every member of the Raft membership in force here (voters, then
 * learners with role "learner"), with its addresses where this node knows them.
 */
function clusterStatus(deps: AppDeps): ClusterStatus {
  const status = deps.controller.status();
  const known = new Map(deps.members().map((m) => [m.id, m]));
  const progress = new Map(status.progress.map((p) => [p.id, p]));
  const isLeader = status.role === "leader";
  const ids = membersOf(status.membership).sort((a, b) => a - b);
  const members = ids.map((id) => {
    const address = known.get(id);
    const p = progress.get(id);
    const self = id === status.id;
    const voter = status.membership.voters.includes(id);
    const role = !voter ? "learner" : self ? status.role : id === status.leaderId ? "leader" : "follower";
    const matchIndex = self ? status.lastIndex : (p?.matchIndex ?? null);
    return {
      id,
      voter,
      role,
      raftAddress: address === undefined ? null : formatHostPort(address.raft),
      apiUrl: address === undefined ? null : apiUrl(address.api),
      matchIndex,
      lag: isLeader && matchIndex !== null ? status.lastIndex - matchIndex : null,
      lastContactMs: self ? 0 : p === undefined ? null : p.ticksSinceContact * status.tickIntervalMs,
    };
  });
  const leader = known.get(status.leaderId);
  return {
    nodeId: status.id,
    pid: deps.pid,
    role: status.role,
    term: status.term,
    leaderId: status.leaderId,
    leaderUrl: leader === undefined ? null : apiUrl(leader.api),
    commitIndex: status.commitIndex,
    appliedIndex: deps.metadata.stateMachine.appliedIndex,
    lastIndex: status.lastIndex,
    snapshotIndex: status.snapshotIndex,
    election: {
      tickIntervalMs: status.tickIntervalMs,
      electionTimeoutMs: status.electionTimeoutTicks * status.tickIntervalMs,
      heartbeatIntervalMs: status.heartbeatIntervalTicks * status.tickIntervalMs,
    },
    members,
  };
}

/** The metadata image a snapshot holds, decoded on a scratch state machine. */
function snapshotImage(data: Uint8Array, index: number): Image {
  const stateMachine = new MetadataStateMachine();
  stateMachine.restore(data, index);
  return stateMachine.image("broker") as Image;
}

function sendError(reply: FastifyReply, status: number, body: ApiErrorBody): FastifyReply {
  const retryAfterSeconds = retryAfterSecondsOf[body.code];
  if (retryAfterSeconds !== undefined) void reply.header("retry-after", String(retryAfterSeconds));
  return reply.code(status).send(body);
}

/** Maps anything a route or Fastify throws to a status and a coded body. */
function errorResponse(error: FastifyError | Error, leaderHint: (leaderId: NodeId) => Record<string, unknown>, bodyBytesMax: number): { status: number; body: ApiErrorBody } {
  const coded = (code: ApiErrorCode, message: string, details: Record<string, unknown> = {}): { status: number; body: ApiErrorBody } => ({
    status: httpStatusOf[code],
    body: { ...details, code, message },
  });
  if (error instanceof ApiError) return coded(error.code, error.message, error.details);
  if (error instanceof MetadataError) return coded(error.code, error.message, error.field === undefined ? {} : { field: error.field });
  if (error instanceof ControllerError) {
    const leaderId = error.details.leaderId;
    const { outcome, field } = error.details;
    return coded(error.code, error.message, { ...(leaderId === undefined ? {} : leaderHint(leaderId)), ...(outcome === undefined ? {} : { outcome }), ...(field === undefined ? {} : { field }), retriable: error.retriable });
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
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return coded("UNSUPPORTED_MEDIA_TYPE", "Cannot accept the request as its content type is not application/json");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return coded("BAD_REQUEST", "Cannot accept the request as its Content-Length does not match its body");
    default:
      break;
  }
  if (typeof fastifyError.statusCode === "number" && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return coded("BAD_REQUEST", fastifyError.message);
  }
  return coded("INTERNAL", "Cannot complete the request as the server failed; see the node's log");
}

