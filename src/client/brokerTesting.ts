import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Clock } from "./clock.js";
import { acceptsBatches, batchesContentType, decodeProduceRequest, encodeBatchesAnswer, produceBatchContentType } from "../broker/binaryProtocol.js";
import { decodeEncodedRecords, encodeBatchFrames } from "../broker/storage/recordBatch.js";
import type { RecordBatch } from "../broker/storage/recordBatch.js";

/**
 * Test fixtures for producers and consumers: a fake data plane on 127.0.0.1 that speaks just enough of
 * src/broker/protocol.ts (produce with idempotence, fetch with long-poll, offsets, producer ids, one
 * group coordinator) and a fake controller answering the client metadata and topic creation, so that
 * the clients run over real connections. Faults are injected per request; a manual clock drives timers.
 */

export type FakeRoute = "produce" | "fetch" | "offsets" | "producer-ids" | "join" | "heartbeat" | "leave" | "commit" | "group-offsets" | "unknown";

export interface FakeBrokerRequest {
  readonly brokerId: number;
  readonly route: FakeRoute;
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly body: Readonly<Record<string, unknown>>;
  readonly group: string | undefined;
  /** The request's Accept header. */
  readonly accept: string | undefined;
}

/** What a broker does with one request instead of (or after) serving it. */
export type Fault =
  | { readonly kind: "answer"; readonly status: number; readonly body: Readonly<Record<string, unknown>>; readonly retryAfterSeconds?: number }
  /** Closes the connection without serving the request. */
  | { readonly kind: "drop" }
  /** Serves the request (a produce is appended), then closes the connection without answering. */
  | { readonly kind: "drop-after" };

export interface FakeRecord {
  readonly offset: number;
  readonly key: string | null;
  readonly value: string;
  readonly timestampMs: number;
  readonly producerId: number | undefined;
  readonly sequence: number | undefined;
}

interface IdempotentBatch {
  readonly baseSequence: number;
  readonly count: number;
  readonly baseOffset: number;
}

interface FakePartition {
  /** The broker that serves as leader. */
  leaderId: number;
  /** The leader the controllers' metadata names (lags `leaderId` when a test says so). */
  metadataLeaderId: number;
  partitionEpoch: number;
  readonly records: FakeRecord[];
  /** The last five batches per producer id, as a leader keeps them. */
  readonly batches: Map<number, IdempotentBatch[]>;
  readonly waiters: Set<() => void>;
}

interface FakeTopic {
  readonly name: string;
  readonly topicUUID: string;
  readonly partitions: FakePartition[];
}

interface FakeGroup {
  readonly topic: string;
  generation: number;
  readonly members: Set<string>;
  readonly offsets: Map<number, number>;
}

export interface FakeClusterOptions {
  readonly brokersCount?: number;
  /** The broker that coordinates every group; the others answer NOT_COORDINATOR naming it. */
  readonly coordinatorId?: number;
  readonly sessionTimeoutMs?: number;
}

/** Records kept per producer and partition for duplicate detection (docs/DATA_PLANE.md). */
const idempotentBatchesMax = 5;

export class FakeCluster {
  readonly brokers: { readonly id: number; readonly url: string }[] = [];
  controllerUrl = "";
  /** Every request a broker received, in order of arrival. */
  readonly requests: FakeBrokerRequest[] = [];
  readonly createTopicRequests: Readonly<Record<string, unknown>>[] = [];
  metadataRequestsCount = 0;
  /** Asked before each broker request is served; a fault replaces or follows serving it. */
  fault: ((request: FakeBrokerRequest) => Fault | undefined) | undefined;
  /** NOT_LEADER_FOR_PARTITION answers name the leader's URL (as real brokers do when they know it). */
  notLeaderHints = true;
  /**
   * A fetch that asks for `application/x-yakt-batches` gets it (as real brokers answer): the records as
   * stored frames of two records each, from even offsets, so the first may begin before the offset asked
   * for. False: every fetch is answered in JSON.
   */
  binaryFetch = true;
  coordinatorId: number;
  private readonly topics = new Map<string, FakeTopic>();
  private readonly groups = new Map<string, FakeGroup>();
  private readonly servers: Server[] = [];
  private readonly requestWatchers = new Set<(request: FakeBrokerRequest) => void>();
  private metadataOffset = 1;
  private nextProducerId = 1000;
  private nextMemberNumber = 1;
  private readonly sessionTimeoutMs: number;

  private constructor(options: FakeClusterOptions) {
    this.coordinatorId = options.coordinatorId ?? 1;
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 9_000;
  }

  static async start(options: FakeClusterOptions = {}): Promise<FakeCluster> {
    const cluster = new FakeCluster(options);
    for (let id = 1; id <= (options.brokersCount ?? 3); id++) {
      const url = await cluster.listen((request, response) => cluster.serveBroker(id, request, response));
      cluster.brokers.push({ id, url });
    }
    cluster.controllerUrl = await cluster.listen((request, response) => cluster.serveController(request, response));
    return cluster;
  }

  async close(): Promise<void> {
    for (const topic of this.topics.values()) for (const partition of topic.partitions) for (const wake of partition.waiters) wake();
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }

  // ------------------------------------------------------------ arranging a test

  /** Partition p's leader is `leaders[p]`, else broker (p mod brokers) + 1. */
  createTopic(name: string, partitionsCount: number, leaders: readonly number[] = []): void {
    const partitions: FakePartition[] = [];
    for (let p = 0; p < partitionsCount; p++) {
      const leaderId = leaders[p] ?? (p % this.brokers.length) + 1;
      partitions.push({ leaderId, metadataLeaderId: leaderId, partitionEpoch: 0, records: [], batches: new Map(), waiters: new Set() });
    }
    this.topics.set(name, { name, topicUUID: randomUUID(), partitions });
    this.metadataOffset++;
  }

  /** Makes `brokerId` the leader; the controllers' metadata says so too unless `metadata` is false. */
  moveLeader(topic: string, partition: number, brokerId: number, options: { readonly metadata?: boolean } = {}): void {
    const state = this.partition(topic, partition);
    state.leaderId = brokerId;
    state.partitionEpoch++;
    if (options.metadata !== false) this.publishLeader(topic, partition);
  }

  /** The controllers' metadata catches up with the serving leader. */
  publishLeader(topic: string, partition: number): void {
    const state = this.partition(topic, partition);
    state.metadataLeaderId = state.leaderId;
    this.metadataOffset++;
  }

  append(topic: string, partition: number, values: readonly (string | { readonly key: string | null; readonly value: string })[]): void {
    const state = this.partition(topic, partition);
    for (const value of values) {
      const record = typeof value === "string" ? { key: null, value } : value;
      state.records.push({ offset: state.records.length, ...record, timestampMs: 0, producerId: undefined, sequence: undefined });
    }
    this.wake(state);
  }

  records(topic: string, partition: number): readonly FakeRecord[] {
    return this.partition(topic, partition).records;
  }

  /** The group's committed offsets by partition. */
  committed(group: string): ReadonlyMap<number, number> {
    return this.groups.get(group)?.offsets ?? new Map();
  }

  members(group: string): readonly string[] {
    return [...(this.groups.get(group)?.members ?? [])].sort();
  }

  generation(group: string): number | undefined {
    return this.groups.get(group)?.generation;
  }

  /** A member that joins and never heartbeats: a new generation, with partitions taken from the others. */
  addPhantomMember(group: string, topic: string): string {
    const state = this.group(group, topic);
    const memberId = `phantom-${this.nextMemberNumber++}`;
    state.members.add(memberId);
    state.generation++;
    return memberId;
  }

  /** The coordinator drops a member (its session expired), and another member commits `offsets` in the next generation. */
  expireMemberAndCommit(group: string, memberId: string, offsets: ReadonlyMap<number, number>): void {
    const state = this.groups.get(group);
    if (state === undefined || !state.members.delete(memberId)) throw new Error(`no member ${memberId} in group ${group}`);
    state.generation++;
    for (const [partition, offset] of offsets) state.offsets.set(partition, offset);
  }

  /** The first request (already received or still to come) that `matches`. */
  waitForRequest(matches: (request: FakeBrokerRequest) => boolean): Promise<FakeBrokerRequest> {
    const seen = this.requests.find(matches);
    if (seen !== undefined) return Promise.resolve(seen);
    return this.nextRequest(matches);
  }

  /** The next request to come that `matches`. */
  nextRequest(matches: (request: FakeBrokerRequest) => boolean): Promise<FakeBrokerRequest> {
    return new Promise((resolve) => {
      const watcher = (request: FakeBrokerRequest): void => {
        if (!matches(request)) return;
        this.requestWatchers.delete(watcher);
        resolve(request);
      };
      this.requestWatchers.add(watcher);
    });
  }

  /** Requests of one route, in order. */
  requestsOf(route: FakeRoute): FakeBrokerRequest[] {
    return this.requests.filter((r) => r.route === route);
  }

  urlOf(brokerId: number): string {
    const broker = this.brokers.find((b) => b.id === brokerId);
    if (broker === undefined) throw new RangeError(`no broker ${brokerId}`);
    return broker.url;
  }

  // ------------------------------------------------------------ the controller

  private async serveController(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://fake");
    const body = await readJson(request);
    if (request.method === "GET" && url.pathname === "/v1/client-mgmt/metadata") {
      this.metadataRequestsCount++;
      sendJson(response, 200, { kind: "snapshot", currentOffset: this.metadataOffset, snapshot: { brokers: this.brokersJson(), topics: [...this.topics.values()].map((t) => this.topicJson(t)) } });
      return;
    }
    if (request.method === "POST" && url.pathname === "/v1/topics") {
      this.createTopicRequests.push(body);
      const name = String(body["name"]);
      if (this.topics.has(name)) {
        sendJson(response, 409, { code: "TOPIC_EXISTS", message: `Cannot create topic ${name} as it exists` });
        return;
      }
      this.createTopic(name, typeof body["partitions"] === "number" ? body["partitions"] : 0);
      sendJson(response, 201, { topic: this.topicJson(this.topics.get(name) as FakeTopic), offset: this.metadataOffset, replayed: false });
      return;
    }
    sendJson(response, 404, { code: "ROUTE_NOT_FOUND", message: `no route ${request.method} ${url.pathname}` });
  }

  private brokersJson(): unknown[] {
    return this.brokers.map((b) => ({ internalUUID: `uuid-${b.id}`, brokerId: b.id, brokerHost: "127.0.0.1", brokerPort: Number(new URL(b.url).port), securityProtocol: "PLAINTEXT", rackId: null, brokerStatus: "UNFENCED", epoch: 1 }));
  }

  private topicJson(topic: FakeTopic): Record<string, unknown> {
    const replicas = this.brokers.map((b) => b.id);
    return {
      name: topic.name,
      topicUUID: topic.topicUUID,
      partitions: topic.partitions.map((p, partitionId) => ({ partitionId, topicUUID: topic.topicUUID, replicas, ISR: replicas, removingReplicas: [], addingReplicas: [], leader: p.metadataLeaderId, partitionEpoch: p.partitionEpoch })),
    };
  }

  // ------------------------------------------------------------ the brokers

  private async serveBroker(brokerId: number, incoming: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(incoming.url ?? "/", "http://fake");
    const body = await readJson(incoming);
    const groupMatch = /^\/v1\/groups\/([^/]+)\/(join|heartbeat|leave|offsets)$/.exec(url.pathname);
    const request: FakeBrokerRequest = {
      brokerId,
      route: routeOf(incoming.method ?? "GET", url.pathname, groupMatch?.[2]),
      method: incoming.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body,
      group: groupMatch?.[1] === undefined ? undefined : decodeURIComponent(groupMatch[1]),
      accept: incoming.headers.accept,
    };
    this.requests.push(request);
    for (const watcher of [...this.requestWatchers]) watcher(request);
    const fault = this.fault?.(request);
    if (fault?.kind === "drop") {
      response.socket?.destroy();
      return;
    }
    if (fault?.kind === "answer") {
      sendJson(response, fault.status, fault.body, fault.retryAfterSeconds);
      return;
    }
    const [status, answer] = await this.serve(request, response);
    if (fault?.kind === "drop-after") {
      response.socket?.destroy();
      return;
    }
    if (response.writableEnded || response.destroyed) return;
    if (Buffer.isBuffer(answer)) {
      response.writeHead(status, { "content-type": batchesContentType, "content-length": answer.length });
      response.end(answer);
    } else sendJson(response, status, answer);
  }

  private async serve(request: FakeBrokerRequest, response: ServerResponse): Promise<[number, Record<string, unknown> | Buffer]> {
    switch (request.route) {
      case "produce":
        return this.produce(request);
      case "fetch":
        return this.fetch(request, response);
      case "offsets":
        return this.offsets(request);
      case "producer-ids":
        return [200, { producerId: this.nextProducerId++ }];
      case "join":
      case "heartbeat":
      case "leave":
      case "commit":
      case "group-offsets":
        return this.serveGroup(request);
      case "unknown":
        return [404, { code: "ROUTE_NOT_FOUND", message: `no route ${request.method} ${request.path}` }];
    }
  }

  private produce(request: FakeBrokerRequest): [number, Record<string, unknown>] {
    const { body } = request;
    const topic = String(body["topic"]);
    const partitionId = Number(body["partition"]);
    const state = this.topics.get(topic)?.partitions[partitionId];
    if (state === undefined) return [404, { code: "UNKNOWN_TOPIC_OR_PARTITION", message: `no partition ${topic}/${partitionId}` }];
    if (state.leaderId !== request.brokerId) return this.notLeader(topic, partitionId, state);
    const records = Array.isArray(body["records"]) ? (body["records"] as Record<string, unknown>[]) : [];
    const producerId = typeof body["producerId"] === "number" ? body["producerId"] : undefined;
    const baseSequence = typeof body["baseSequence"] === "number" ? body["baseSequence"] : undefined;
    if (producerId !== undefined && baseSequence !== undefined) {
      const kept = state.batches.get(producerId) ?? [];
      const same = kept.find((b) => b.baseSequence === baseSequence && b.count === records.length);
      if (same !== undefined) return [200, { topic, partition: partitionId, baseOffset: same.baseOffset, lastOffset: same.baseOffset + same.count - 1, duplicate: true }];
      const last = kept[kept.length - 1];
      const expectedSequence = last === undefined ? 0 : last.baseSequence + last.count;
      if (baseSequence !== expectedSequence) return [409, { code: "OUT_OF_ORDER_SEQUENCE", message: `Cannot append as the batch starts at sequence ${baseSequence}: expected ${expectedSequence}`, expectedSequence }];
      state.batches.set(producerId, [...kept, { baseSequence, count: records.length, baseOffset: state.records.length }].slice(-idempotentBatchesMax));
    }
    const baseOffset = state.records.length;
    records.forEach((r, i) => {
      state.records.push({
        offset: baseOffset + i,
        key: typeof r["key"] === "string" ? r["key"] : null,
        value: String(r["value"]),
        timestampMs: typeof r["timestampMs"] === "number" ? r["timestampMs"] : 0,
        producerId,
        sequence: baseSequence === undefined ? undefined : baseSequence + i,
      });
    });
    this.wake(state);
    return [200, { topic, partition: partitionId, baseOffset, lastOffset: state.records.length - 1, duplicate: false }];
  }

  private async fetch(request: FakeBrokerRequest, response: ServerResponse): Promise<[number, Record<string, unknown> | Buffer]> {
    const topic = request.query["topic"] ?? "";
    const partitionId = Number(request.query["partition"]);
    const offset = Number(request.query["offset"]);
    const maxWaitMs = Number(request.query["maxWaitMs"] ?? 0);
    const state = this.topics.get(topic)?.partitions[partitionId];
    if (state === undefined) return [404, { code: "UNKNOWN_TOPIC_OR_PARTITION", message: `no partition ${topic}/${partitionId}` }];
    if (state.leaderId !== request.brokerId) return this.notLeader(topic, partitionId, state);
    if (offset > state.records.length) {
      return [416, { code: "OFFSET_OUT_OF_RANGE", message: `offset ${offset} is outside [0, ${state.records.length}]`, logStartOffset: 0, highWatermark: state.records.length }];
    }
    if (offset === state.records.length && maxWaitMs > 0) await this.waitForRecords(state, maxWaitMs, response);
    if (this.binaryFetch && acceptsBatches(request.accept)) {
      const batches: RecordBatch[] = [];
      const bytes = (text: string): Uint8Array => Buffer.from(text, "utf8");
      for (let base = offset - (offset % 2); base < state.records.length; base += 2) {
        const records = state.records.slice(base, base + 2).map((r) => ({ key: r.key === null ? null : bytes(r.key), value: bytes(r.value), timestampMs: r.timestampMs }));
        batches.push({ baseOffset: base, leaderEpoch: 0, producerId: -1, baseSequence: -1, appendTimeMs: 0, records });
      }
      return [200, encodeBatchesAnswer({ highWatermark: state.records.length, logStartOffset: 0 }, encodeBatchFrames(batches))];
    }
    const records = state.records.slice(offset).map((r) => ({ offset: r.offset, key: r.key, value: r.value, timestampMs: r.timestampMs }));
    return [200, { topic, partition: partitionId, highWatermark: state.records.length, logStartOffset: 0, nextOffset: offset + records.length, records }];
  }

  private offsets(request: FakeBrokerRequest): [number, Record<string, unknown>] {
    const topic = request.query["topic"] ?? "";
    const partitionId = Number(request.query["partition"]);
    const state = this.topics.get(topic)?.partitions[partitionId];
    if (state === undefined) return [404, { code: "UNKNOWN_TOPIC_OR_PARTITION", message: `no partition ${topic}/${partitionId}` }];
    if (state.leaderId !== request.brokerId) return this.notLeader(topic, partitionId, state);
    return [200, { topic, partition: partitionId, offset: request.query["at"] === "earliest" ? 0 : state.records.length }];
  }

  private serveGroup(request: FakeBrokerRequest): [number, Record<string, unknown>] {
    const groupName = request.group ?? "";
    if (request.brokerId !== this.coordinatorId) {
      return [421, { code: "NOT_COORDINATOR", message: `broker ${request.brokerId} does not coordinate group ${groupName}`, coordinatorId: this.coordinatorId, coordinatorUrl: this.urlOf(this.coordinatorId) }];
    }
    const { body } = request;
    const memberId = typeof body["memberId"] === "string" ? body["memberId"] : undefined;
    switch (request.route) {
      case "join": {
        const group = this.group(groupName, String(body["topic"]));
        const joined = memberId !== undefined && group.members.has(memberId) ? memberId : `member-${this.nextMemberNumber++}`;
        if (!group.members.has(joined)) {
          group.members.add(joined);
          group.generation++;
        }
        return [200, this.memberAnswer(groupName, group, joined)];
      }
      case "heartbeat":
      case "leave": {
        const group = this.groups.get(groupName);
        if (group === undefined || memberId === undefined || !group.members.has(memberId)) return [409, { code: "UNKNOWN_MEMBER", message: `group ${groupName} has no member ${memberId}` }];
        if (request.route === "leave") {
          group.members.delete(memberId);
          group.generation++;
        }
        return [200, this.memberAnswer(groupName, group, memberId)];
      }
      case "commit": {
        const group = this.group(groupName, String(body["topic"]));
        if (memberId !== undefined && !group.members.has(memberId)) return [409, { code: "UNKNOWN_MEMBER", message: `group ${groupName} has no member ${memberId}` }];
        if (memberId !== undefined && body["generation"] !== group.generation) {
          return [409, { code: "ILLEGAL_GENERATION", message: `group ${groupName} is at generation ${group.generation}: current value is ${String(body["generation"])}` }];
        }
        const offsets = Array.isArray(body["offsets"]) ? (body["offsets"] as { partition: number; offset: number }[]) : [];
        for (const { partition, offset } of offsets) group.offsets.set(partition, offset);
        return [200, this.offsetsAnswer(groupName, group)];
      }
      case "group-offsets": {
        const group = this.groups.get(groupName);
        return [200, group === undefined ? { group: groupName, topic: request.query["topic"] ?? "", offsets: [] } : this.offsetsAnswer(groupName, group)];
      }
      default:
        return [404, { code: "ROUTE_NOT_FOUND", message: "no such group route" }];
    }
  }

  private memberAnswer(groupName: string, group: FakeGroup, memberId: string): Record<string, unknown> {
    return { group: groupName, topic: group.topic, memberId, generation: group.generation, partitions: this.assignment(group).get(memberId) ?? [], sessionTimeoutMs: this.sessionTimeoutMs };
  }

  private offsetsAnswer(groupName: string, group: FakeGroup): Record<string, unknown> {
    return { group: groupName, topic: group.topic, offsets: [...group.offsets].map(([partition, offset]) => ({ partition, offset })) };
  }

  /** Ranges over the sorted member ids, the first members taking one more when the count does not divide. */
  private assignment(group: FakeGroup): Map<string, number[]> {
    const members = [...group.members].sort();
    const partitionsCount = this.topics.get(group.topic)?.partitions.length ?? 0;
    const each = Math.floor(partitionsCount / Math.max(1, members.length));
    const extra = partitionsCount % Math.max(1, members.length);
    const assigned = new Map<string, number[]>();
    let next = 0;
    members.forEach((member, i) => {
      const count = each + (i < extra ? 1 : 0);
      assigned.set(member, Array.from({ length: count }, (_, j) => next + j));
      next += count;
    });
    return assigned;
  }

  private group(name: string, topic: string): FakeGroup {
    let group = this.groups.get(name);
    if (group === undefined) {
      group = { topic, generation: 0, members: new Set(), offsets: new Map() };
      this.groups.set(name, group);
    }
    return group;
  }

  private notLeader(topic: string, partition: number, state: FakePartition): [number, Record<string, unknown>] {
    const hint = this.notLeaderHints ? { leaderId: state.leaderId, leaderUrl: this.urlOf(state.leaderId) } : {};
    return [421, { code: "NOT_LEADER_FOR_PARTITION", message: `this broker does not lead ${topic}/${partition}`, ...hint }];
  }

  private partition(topic: string, partition: number): FakePartition {
    const state = this.topics.get(topic)?.partitions[partition];
    if (state === undefined) throw new RangeError(`no partition ${topic}/${partition}`);
    return state;
  }

  private waitForRecords(state: FakePartition, maxWaitMs: number, response: ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        state.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      state.waiters.add(done);
      response.on("close", done);
    });
  }

  private wake(state: FakePartition): void {
    for (const wake of [...state.waiters]) wake();
  }

  private async listen(handler: (request: IncomingMessage, response: ServerResponse) => Promise<void>): Promise<string> {
    const server = createServer((request, response) => {
      handler(request, response).catch((error: unknown) => {
        if (!response.headersSent) sendJson(response, 500, { code: "INTERNAL", message: String(error) });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
}

function routeOf(method: string, path: string, groupAction: string | undefined): FakeRoute {
  if (groupAction !== undefined) {
    if (groupAction === "offsets") return method === "GET" ? "group-offsets" : "commit";
    return groupAction as "join" | "heartbeat" | "leave";
  }
  if (method === "POST" && path === "/v1/produce") return "produce";
  if (method === "GET" && path === "/v1/fetch") return "fetch";
  if (method === "GET" && path === "/v1/offsets") return "offsets";
  if (method === "POST" && path === "/v1/producer-ids") return "producer-ids";
  return "unknown";
}

/**
 * The request body as an object: JSON as it is, and a binary produce request (broker/binaryProtocol.ts)
 * decoded into the fields of its JSON form, so that tests read both alike. A binary body that does not
 * decode is `{ invalidBinary: reason }`.
 */
async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  if (request.headers["content-type"] === produceBatchContentType) {
    const decoded = decodeProduceRequest(Buffer.concat(chunks));
    if (!decoded.ok) return { invalidBinary: decoded.reason };
    const { encodedRecords, recordsCount, ...fields } = decoded.value;
    const records = decodeEncodedRecords(recordsCount, encodedRecords);
    const text = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
    return { ...fields, binary: true, records: records.map((r) => ({ key: r.key === null ? null : text(r.key), value: text(r.value), timestampMs: r.timestampMs })) };
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.length === 0) return {};
  const parsed: unknown = JSON.parse(text);
  return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
}

function sendJson(response: ServerResponse, status: number, body: unknown, retryAfterSeconds?: number): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = { "content-type": "application/json", "content-length": Buffer.byteLength(text) };
  if (retryAfterSeconds !== undefined) headers["retry-after"] = retryAfterSeconds;
  response.writeHead(status, headers);
  response.end(text);
}

// ---------------------------------------------------------------- time

interface ManualTimer {
  readonly dueMs: number;
  readonly order: number;
  readonly callback: () => void;
}

/**
 * A clock that moves only when told. `advance(ms)` fires the timers that fall due, in order, letting
 * IO run between them. With `autoAdvance`, a timer instead fires on the next turn of the event loop
 * with time jumped to its due time: back-offs and deadlines pass at once, in order of arrival.
 */
export class ManualClock implements Clock {
  private now = 0;
  private nextOrder = 0;
  private readonly timers = new Set<ManualTimer>();
  /** Every delay asked for, in order. */
  readonly delays: number[] = [];

  constructor(private readonly options: { readonly autoAdvance?: boolean } = {}) {}

  nowMs(): number {
    return this.now;
  }

  setTimer(callback: () => void, delayMs: number): () => void {
    this.delays.push(delayMs);
    const timer: ManualTimer = { dueMs: this.now + delayMs, order: this.nextOrder++, callback };
    if (this.options.autoAdvance === true) {
      let cancelled = false;
      setImmediate(() => {
        if (cancelled) return;
        this.now = Math.max(this.now, timer.dueMs);
        callback();
      });
      return () => {
        cancelled = true;
      };
    }
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }

  /** Timers waiting to fire. */
  get pendingCount(): number {
    return this.timers.size;
  }

  async advance(ms: number): Promise<void> {
    const targetMs = this.now + ms;
    for (;;) {
      const due = [...this.timers].filter((t) => t.dueMs <= targetMs).sort((a, b) => a.dueMs - b.dueMs || a.order - b.order)[0];
      if (due === undefined) break;
      this.timers.delete(due);
      this.now = due.dueMs;
      due.callback();
      await settle();
    }
    this.now = targetMs;
    await settle();
  }
}

/** Lets pending callbacks and loopback IO that is already under way run. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
